"""The invisible audio watermark: keyed magnitude modulation of time-frequency cells, tiled in
time so that any excerpt of a few seconds carries the whole 64-bit payload.

Design (numbers are this module's defaults):

* **Grid.** A short-time Fourier transform with 16 ms hops (32 ms sqrt-Hann frames, whatever
  the sample rate) is cut into cells of 4 frames (64 ms) by 32 bands spread evenly over
  200-7000 Hz. 16 cells in time (1.02 s) make one **tile**; the tile repeats for the whole
  clip, so a 10 s excerpt holds nearly ten copies of the payload.
* **Mark.** Each cell's magnitudes are scaled by ``1 + alpha`` or ``1 - alpha``: 306 cells
  carry the coded payload bits of :mod:`synthmark.payload`, the other 206 a keyed **pilot**.
  The change is proportional to the sound in the cell (silence stays silent; loud cells hide
  it), the phase is untouched, and ``alpha`` is set per clip to land on ``target_snr``
  (default 26 dB against the unmarked audio), capped so the modulation stays under 1.3 dB.
* **Detection** needs only the key: per-bin log-magnitudes minus their average over one tile
  period and the frame's mean (a loudness change or an equaliser cancels), weighted by
  inverse local variance, summed per band, folded over the tile period (the mark adds up, the
  sound does not), the time offset found by correlating with the pilot (any cut or shift),
  then the payload read and checked (soft Viterbi, keyed MAC, at most 2 attempts per key).

Measured limits (README): on music the payload is reliable from 20-30 s excerpts, not yet
from 10 s; on band-limited speech it is not yet reliable. The TC260 10 s target is not met.

Magnitude modulation ignores polarity, channel layout and sample rate; the same tile is
added to every channel, each in proportion to its own sound.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from synthmark import payload
from synthmark.errors import WatermarkError
from synthmark.keys import WatermarkKey
from synthmark.payload import CODED_BITS

__all__ = [
    "DEFAULT_SNR",
    "AudioWatermarkReport",
    "StreamingEmbedder",
    "detect_watermark",
    "embed_watermark",
]

#: Frame hop and frame length, seconds; frames are sqrt-Hann, two hops long (perfect
#: reconstruction by overlap-add).
HOP_SECONDS = 0.016
#: Cell size: frames per cell in time, bands per tile in frequency, cells per tile in time.
CELL_FRAMES, BANDS, TILE_CELLS = 4, 32, 16
#: The marked band, Hz (a 4 kHz low-pass or 8 kHz resampling erases the top, which the code
#: corrects as it can).
BAND_HZ = (200.0, 7000.0)
#: Default quality target: SNR of the marked audio against the original, dB.
DEFAULT_SNR = 26.0
#: Largest relative magnitude change (0.16 = 1.3 dB) whatever the SNR target allows.
MAX_ALPHA = 0.16
#: Shortest audio the watermark is embedded in or looked for, seconds.
MIN_SECONDS = 2.0
#: Sample rates accepted, Hz.
RATE_RANGE = (8000, 192000)
#: How much audio the detector reads at most, seconds (from the start).
MAX_ANALYSIS_SECONDS = 60.0
_PILOT_GATE = 3.5
_CELLS = BANDS * TILE_CELLS


@dataclass(frozen=True)
class _Grid:
    """The STFT grid at one sample rate: hop and frame length (samples), and each frequency
    bin's band (-1 outside the marked band)."""

    hop: int
    n_fft: int
    band_of_bin: np.ndarray


def _smooth_number(target: int) -> int:
    """The integer nearest ``target`` whose only prime factors are 2, 3 and 5 (fast FFTs)."""
    for step in range(target):
        for candidate in (target - step, target + step):
            value = candidate
            for prime in (2, 3, 5):
                while value > 1 and value % prime == 0:
                    value //= prime
            if value == 1:
                return candidate
    return target


@lru_cache(maxsize=16)
def _grid(sample_rate: int) -> _Grid:
    hop = max(8, _smooth_number(round(sample_rate * HOP_SECONDS)))
    n_fft = 2 * hop
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = np.linspace(BAND_HZ[0], BAND_HZ[1], BANDS + 1)
    band = np.searchsorted(edges, freqs, side="right") - 1
    band[(freqs < BAND_HZ[0]) | (freqs >= BAND_HZ[1])] = -1
    return _Grid(hop, n_fft, band)


@lru_cache(maxsize=16)
def _window(n_fft: int) -> np.ndarray:
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


@dataclass(frozen=True)
class _Layout:
    """Which cells of the tile (band-major index ``band * TILE_CELLS + cell``) carry the payload
    bits (in bit order) and the pilot, with their keyed signs."""

    payload: np.ndarray
    payload_sign: np.ndarray
    pilot: np.ndarray
    pilot_sign: np.ndarray


@lru_cache(maxsize=32)
def _layout(key: WatermarkKey) -> _Layout:
    rng = key.rng("audio", "layout")
    order = rng.permutation(_CELLS)
    signs = rng.choice(np.array([-1.0, 1.0], np.float32), _CELLS)
    data, pilot = order[:CODED_BITS], order[CODED_BITS:]
    return _Layout(data, signs[data], pilot, signs[pilot])


def tile_signs(key: WatermarkKey, coded: np.ndarray) -> np.ndarray:
    """The tile as a (BANDS, TILE_CELLS) array of +1/-1: pilot, and payload bits times their
    keyed signs."""
    layout = _layout(key)
    tile = np.zeros(_CELLS, np.float32)
    tile[layout.pilot] = layout.pilot_sign
    tile[layout.payload] = layout.payload_sign * (2.0 * coded.astype(np.float32) - 1.0)
    return tile.reshape(BANDS, TILE_CELLS)


def _frames(signal: np.ndarray, grid: _Grid) -> np.ndarray:
    """Windowed frames (n_frames, n_fft) of a mono float32 signal padded by one hop each side;
    frame ``i`` is centred on sample ``i * hop``."""
    padded = np.concatenate([np.zeros(grid.hop, np.float32), signal, np.zeros(grid.n_fft, np.float32)])
    count = len(signal) // grid.hop + 1
    strided = np.lib.stride_tricks.as_strided(
        padded, shape=(count, grid.n_fft), strides=(padded.strides[0] * grid.hop, padded.strides[0])
    )
    return strided * _window(grid.n_fft)


def _overlap_add(frames: np.ndarray, grid: _Grid, length: int) -> np.ndarray:
    """Inverse of :func:`_frames` for windowed frames (sqrt-Hann again, 50 % overlap)."""
    frames = frames * _window(grid.n_fft)
    hop = grid.hop
    out = np.zeros((len(frames) + 1) * hop, np.float32)
    out[: len(frames) * hop] += frames[:, :hop].reshape(-1)
    out[hop : (len(frames) + 1) * hop] += frames[:, hop:].reshape(-1)
    return out[hop : hop + length]


def _gain_field(key: WatermarkKey, coded: np.ndarray, grid: _Grid, first_frame: int, count: int) -> np.ndarray:
    """Per (frame, bin) sign of the mark for frames ``first_frame ..`` (0 outside the band)."""
    tile = tile_signs(key, coded)
    cells = ((np.arange(first_frame, first_frame + count) // CELL_FRAMES) % TILE_CELLS)[:, None]
    bands = grid.band_of_bin[None, :]
    return np.where(bands >= 0, tile[np.maximum(bands, 0), cells], 0.0).astype(np.float32)


def _as_float(samples: np.ndarray) -> tuple[np.ndarray, Any]:
    """(n, channels) float32 in [-1, 1] and how to give the caller back their kind."""
    if not isinstance(samples, np.ndarray) or samples.ndim not in (1, 2):
        raise WatermarkError("expected samples as an (n,) or (n, channels) array", fix="pass a numpy array")
    data = samples.reshape(len(samples), -1)
    if data.shape[1] == 0:
        raise WatermarkError("audio has 0 channels", fix="pass at least one channel")
    if data.dtype == np.int16:
        return data.astype(np.float32) / 32768.0, (samples.shape, np.int16)
    if data.dtype not in (np.float32, np.float64):
        raise WatermarkError(f"unsupported sample dtype {data.dtype}", fix="pass float32 in [-1, 1] or int16")
    return data.astype(np.float32), (samples.shape, samples.dtype)


def _back(values: np.ndarray, how: Any) -> np.ndarray:
    shape, dtype = how
    if dtype == np.int16:
        return np.clip(np.rint(values * 32768.0), -32768, 32767).astype(np.int16).reshape(shape)
    return np.clip(values, -1.0, 1.0).astype(dtype).reshape(shape)


def _check(sample_rate: int, length: int) -> None:
    if not RATE_RANGE[0] <= sample_rate <= RATE_RANGE[1]:
        raise WatermarkError(
            f"sample rate {sample_rate} Hz is outside {RATE_RANGE[0]}-{RATE_RANGE[1]} Hz",
            fix="resample the audio, or pass the right rate",
        )
    if length < MIN_SECONDS * sample_rate:
        raise WatermarkError(
            f"{length / sample_rate:.2f} s of audio is under the watermark's {MIN_SECONDS:.0f} s minimum",
            fix="watermark the whole clip, or label short clips with the audible prompt only",
        )


def _alpha(spectra: list[np.ndarray], signs: np.ndarray, total_energy: float, target_snr: float) -> float:
    """Modulation depth that puts the mark's energy at ``target_snr`` dB under the audio's."""
    marked = sum(float(np.sum(np.abs(spec[signs != 0]) ** 2)) for spec in spectra)
    if marked <= 0.0:
        return 0.0
    # Overlap-add with sqrt-Hann frames keeps energy: sum of |STFT|^2 over bins ~ energy * n_fft / 2.
    return min(MAX_ALPHA, math.sqrt(10 ** (-target_snr / 10) * total_energy / marked))


def embed_watermark(
    samples: np.ndarray,
    sample_rate: int,
    key: WatermarkKey,
    content_id: int,
    *,
    target_snr: float = DEFAULT_SNR,
    alpha: float | None = None,
) -> np.ndarray:
    """Embed the 64-bit ``content_id`` as an inaudible keyed watermark.

    Parameters
    ----------
    samples:
        (n,) or (n, channels) float32/float64 in [-1, 1] or int16; at least 2 s; not modified.
    sample_rate:
        Hz, 8000-192000.
    key, content_id:
        The :class:`~synthmark.keys.WatermarkKey` and an integer in [0, 2**64).
    target_snr:
        dB of the audio over the mark (default 26; the modulation is capped at 1.3 dB, so
        audio with little sound in 300-3800 Hz ends above the target).
    alpha:
        Fixed relative magnitude change instead of the one ``target_snr`` gives (as the
        :class:`StreamingEmbedder` needs), capped at :data:`MAX_ALPHA`.

    Returns
    -------
    The same shape and dtype.
    """
    data, how = _as_float(samples)
    _check(sample_rate, len(data))
    grid = _grid(sample_rate)
    coded = payload.encode(content_id, key)
    spectra = [np.fft.rfft(_frames(np.ascontiguousarray(data[:, c]), grid), axis=1) for c in range(data.shape[1])]
    signs = _gain_field(key, coded, grid, 0, len(spectra[0]))
    scale = float(np.sum(_window(grid.n_fft) ** 2))  # |STFT|^2 sums to energy x this
    if alpha is None:
        alpha = _alpha(spectra, signs, float(np.sum(data.astype(np.float64) ** 2)) * scale, target_snr)
    alpha = min(alpha, MAX_ALPHA)
    out = data.copy()
    for c, spec in enumerate(spectra):
        delta = np.fft.irfft(spec * (alpha * signs), n=grid.n_fft, axis=1).astype(np.float32)
        out[:, c] += _overlap_add(delta, grid, len(data))
    return _back(out, how)


# --------------------------------------------------------------------------- detection


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average along time (axis 0) over ``width`` frames, same length."""
    padded = np.pad(values, ((width // 2, width // 2), (0, 0)), mode="edge")
    cumulative = np.cumsum(np.vstack([np.zeros((1, values.shape[1]), np.float32), padded]), axis=0)
    averaged: np.ndarray = (cumulative[width:] - cumulative[:-width])[: len(values)] / np.float32(width)
    return averaged


def _cell_values(mono: np.ndarray, grid: _Grid) -> np.ndarray:
    """(frames, BANDS) evidence per frame and band. Per frequency bin: log magnitude minus its
    average over one tile period (the mark then adds the same constant along a bin, removed
    after folding, instead of leaking neighbouring cells into each cell), minus the frame's
    mean (loudness changes cancel), clipped at 3 robust deviations and weighted by the inverse
    local variance (silence, onsets and noisy passages count less); then averaged per band.
    The mark is a +-alpha step in every bin of a cell."""
    inside = grid.band_of_bin >= 0
    magnitude = np.abs(np.fft.rfft(_frames(mono, grid), axis=1)[:, inside]).astype(np.float32)
    floor = max(float(np.sqrt(np.mean(magnitude**2))) * 1e-3, 1e-9)  # 60 dB under the clip's level
    logs = np.log(np.maximum(magnitude, floor))
    residual = logs - _smooth(logs, TILE_CELLS * CELL_FRAMES + 1)
    residual -= residual.mean(axis=1, keepdims=True)
    spread = 1.4826 * np.median(np.abs(residual)) + 1e-6
    np.clip(residual, -3 * spread, 3 * spread, out=residual)
    weight = 1.0 / (_smooth(residual**2, 33) + 0.25 * spread**2)
    weight[magnitude.mean(axis=1) <= 10 * floor] = 0.0  # silence carries no mark
    evidence = residual * weight * spread**2
    bands = np.zeros((len(evidence), BANDS), np.float32)
    np.add.at(bands.T, grid.band_of_bin[inside], evidence.T)
    return bands


@dataclass(frozen=True)
class AudioWatermarkReport(payload.WatermarkReport):
    """What :func:`detect_watermark` found (see :class:`synthmark.payload.WatermarkReport`),
    plus ``offset``: the tile phase found, in seconds."""

    offset: float | None = None

    def _geometry(self) -> dict[str, Any]:
        return {"offset": None if self.offset is None else round(self.offset, 3)}


def _fold(values: np.ndarray) -> np.ndarray:
    """Sum every tile period: (TILE_CELLS * CELL_FRAMES, BANDS), each band's mean removed."""
    period = TILE_CELLS * CELL_FRAMES
    whole = -(-len(values) // period) * period
    padded = np.zeros((whole, BANDS), np.float32)
    padded[: len(values)] = values
    folded: np.ndarray = padded.reshape(-1, period, BANDS).sum(axis=0)
    return folded - folded.mean(axis=0, keepdims=True)


def _read(folded: np.ndarray, key: WatermarkKey) -> list[tuple[float, np.ndarray, int]]:
    """(pilot z, payload soft values, frame offset) for the two best offsets of the pilot."""
    layout = _layout(key)
    period = TILE_CELLS * CELL_FRAMES
    expected = np.zeros(_CELLS, np.float32)
    expected[layout.pilot] = layout.pilot_sign
    pilot_frames = np.repeat(expected.reshape(BANDS, TILE_CELLS), CELL_FRAMES, axis=1).T  # (period, BANDS)
    # circular correlation over the time offset, summed over bands
    corr = np.fft.irfft(
        np.sum(np.fft.rfft(folded, axis=0) * np.conj(np.fft.rfft(pilot_frames, axis=0)), axis=1), n=period
    )
    # z-score against the offsets away from the peak (a cell is 4 frames, so the correlation
    # peak is several frames wide and would inflate a plain standard deviation)
    peak = int(np.argmax(corr))
    distance = np.abs((np.arange(period) - peak + period // 2) % period - period // 2)
    others = corr[distance > 2 * CELL_FRAMES]
    z = (corr - others.mean()) / (others.std() + 1e-12)
    readings = []
    candidates = [peak] + [int(i) for i in np.argsort(np.where(distance > 2 * CELL_FRAMES, z, -np.inf))[::-1][:1]]
    for shift in candidates:
        aligned = np.roll(folded, -int(shift), axis=0)
        cells = aligned.reshape(TILE_CELLS, CELL_FRAMES, BANDS).sum(axis=1).T.reshape(-1)  # band-major
        pilot_values = cells[layout.pilot] * layout.pilot_sign
        noise = float(np.std(pilot_values - pilot_values.mean())) + 1e-12
        soft = cells[layout.payload] * layout.payload_sign / noise
        readings.append((float(z[shift]), soft, int(shift)))
    return readings


def detect_watermark(
    samples: np.ndarray,
    sample_rate: int,
    keys: WatermarkKey | Sequence[WatermarkKey] | Iterable[WatermarkKey],
) -> AudioWatermarkReport:
    """Look for a synthmark audio watermark made with any of ``keys`` (no original needed).

    Reads at most the first :data:`MAX_ANALYSIS_SECONDS`; needs about 2 s of sound, and the
    whole payload is reliable from about 10 s of a marked clip (see the README's table).
    """
    key_list = [keys] if isinstance(keys, WatermarkKey) else list(keys)
    data, _ = _as_float(samples)
    if not RATE_RANGE[0] <= sample_rate <= RATE_RANGE[1] or len(data) < MIN_SECONDS * sample_rate:
        return AudioWatermarkReport(False, details={"reason": "audio too short or rate out of range"})
    data = data[: int(MAX_ANALYSIS_SECONDS * sample_rate)]
    grid = _grid(sample_rate)
    folded = _fold(_cell_values(np.ascontiguousarray(data.mean(axis=1)), grid))
    attempts = 0
    strongest: tuple[float, WatermarkKey, np.ndarray] | None = None
    for key in key_list:
        for z, soft, shift in _read(folded, key):
            if strongest is None or z > strongest[0]:
                strongest = (z, key, soft)
            if z < _PILOT_GATE:
                continue
            attempts += 1
            decoded = payload.decode(soft, key)
            if decoded.valid:
                return AudioWatermarkReport(
                    found=True,
                    key_id=key.key_id,
                    content_id=decoded.content_id,
                    p_value=_p_value(z, len(key_list)),
                    pilot_z=z,
                    raw_id=decoded.raw_id,
                    attempts=attempts,
                    offset=shift * grid.hop / sample_rate,
                )
    if strongest is None:
        return AudioWatermarkReport(False)
    z, key, soft = strongest
    return AudioWatermarkReport(
        False,
        p_value=_p_value(z, len(key_list)),
        pilot_z=z,
        raw_id=payload.decode(soft, key, list_size=1).raw_id,
        attempts=attempts,
    )


def _p_value(z: float, keys: int) -> float:
    """Bound on P(best pilot z over all offsets and ``keys`` keys >= z) for unmarked audio."""
    return min(1.0, keys * TILE_CELLS * CELL_FRAMES * 0.5 * math.erfc(z / math.sqrt(2.0)))


class StreamingEmbedder:
    """Block-in, block-out embedder for live audio (e.g. streaming TTS).

    Feed blocks of any size with :meth:`process`; each call returns the marked samples that are
    final so far (latency: at most two 16 ms hops); :meth:`finish` returns the rest. Memory is
    bounded: only the last hop of input and of overlap is kept. The concatenated output equals
    :func:`embed_watermark` of the whole stream with the same ``alpha`` — a stream's loudness is
    not known in advance, so ``alpha`` is fixed (0.09 gives about 26 dB SNR on speech).
    """

    def __init__(
        self, sample_rate: int, channels: int, key: WatermarkKey, content_id: int, *, alpha: float = 0.09
    ) -> None:
        if not RATE_RANGE[0] <= sample_rate <= RATE_RANGE[1]:
            raise WatermarkError(f"sample rate {sample_rate} Hz is outside {RATE_RANGE[0]}-{RATE_RANGE[1]} Hz")
        if channels < 1:
            raise WatermarkError("audio has 0 channels", fix="pass at least one channel")
        self.sample_rate, self.channels = sample_rate, channels
        self._grid = _grid(sample_rate)
        self._key, self._coded = key, payload.encode(content_id, key)
        self._alpha = min(alpha, MAX_ALPHA)
        hop = self._grid.hop
        self._window_input = np.zeros((2 * hop, channels), np.float32)  # input of the next frame
        self._filled = hop  # the first frame starts one hop before sample 0 (zeros)
        self._tail = np.zeros((hop, channels), np.float32)  # second half of the last frame's mark
        self._frame = 0
        self._received = 0
        self._done = False

    def process(self, block: np.ndarray) -> np.ndarray:
        """Marked samples (float32, (n, channels)) that are final after ``block``."""
        if self._done:
            raise WatermarkError("the stream is finished", fix="start a new StreamingEmbedder")
        data, _ = _as_float(block)
        if data.shape[1] != self.channels:
            raise WatermarkError(f"block has {data.shape[1]} channels, the stream {self.channels}")
        self._received += len(data)
        out = []
        hop = self._grid.hop
        while len(data):
            take = min(2 * hop - self._filled, len(data))
            self._window_input[self._filled : self._filled + take] = data[:take]
            self._filled += take
            data = data[take:]
            if self._filled == 2 * hop:
                out.append(self._step())
        return np.concatenate(out) if out else np.zeros((0, self.channels), np.float32)

    def finish(self) -> np.ndarray:
        """The remaining marked samples (the stream then ends)."""
        hop = self._grid.hop
        out = []
        last = self._received // hop  # the whole-file embedder's last frame
        while self._frame <= last:
            self._window_input[self._filled :] = 0.0
            self._filled = 2 * hop
            out.append(self._step())
        rest = self._received - last * hop  # after the last frame's centre: input + its tail
        out.append(self._window_input[:rest] + self._tail[:rest])
        self._done = True
        return np.concatenate(out)

    def _step(self) -> np.ndarray:
        """Mark one frame; return the hop of output it completes (none for the first frame)."""
        grid, hop = self._grid, self._grid.hop
        signs = _gain_field(self._key, self._coded, grid, self._frame, 1)[0]
        window = _window(grid.n_fft)
        spectrum = np.fft.rfft(self._window_input.T * window, axis=1)
        delta = np.fft.irfft(spectrum * (self._alpha * signs), n=grid.n_fft, axis=1).T.astype(np.float32)
        delta *= window[:, None]
        completed = self._window_input[:hop] + delta[:hop] + self._tail
        self._tail = delta[hop:].copy()
        self._window_input[:hop] = self._window_input[hop:]
        self._filled = hop
        self._frame += 1
        return completed if self._frame > 1 else np.zeros((0, self.channels), np.float32)
