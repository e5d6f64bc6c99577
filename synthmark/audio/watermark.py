"""The invisible audio watermark: keyed, loudness-adaptive modulation of time-frequency cells,
tiled in time so that any excerpt of a few seconds carries the whole 64-bit payload.

Design (numbers are this module's defaults):

* **Grid.** A short-time Fourier transform with 8 ms hops (16 ms sqrt-Hann frames, whatever
  the sample rate) is cut into cells of 4 frames (32 ms) by 24 bands spread evenly over
  200-4000 Hz (about 158 Hz each: the band every codec, 16 kHz resampling and a 4 kHz
  low-pass keep). 16 cells in time (0.51 s) make one **tile**; the tile repeats for the whole
  clip, so a 10 s excerpt holds nearly twenty copies of the payload.
* **Mark.** Each cell's magnitudes are scaled by ``1 + a`` or ``1 - a``: 306 cells carry the
  coded payload bits of :mod:`synthmark.payload`, the other 78 a keyed **pilot**. The depth
  ``a`` is set frame by frame: the mark's energy in a frame is ``target_snr`` (27 dB) under the
  frame's own energy, spread so that its magnitude is about the same in every band (quiet
  bands get a deeper relative change, loud ones a shallower), and never more than
  :data:`MAX_ALPHA` of a band's own level. The rule looks only at the current frame, so the
  streaming embedder makes exactly the same mark as the whole-file one; silence stays silent.
* **Detection** needs only the key: per cell the log of its energy, minus the cell-row mean
  (loudness changes cancel), minus a linear prediction from its twelve neighbours in time
  and frequency fitted to the clip itself by least squares (what a speech formant or a held
  note makes predictable is removed; the keyed signs of neighbours are independent, so the
  mark is not), clipped and weighted by the inverse local variance; folded over the tile
  period; the cell phase and tile offset found by correlating with the pilot (any cut or
  shift); then the payload read and checked (soft Viterbi, keyed MAC, at most 2 attempts
  per key). With ``speed_search`` the detector also undoes playback at other speeds (tempo
  and pitch together, +-6 %): band edges and frame times are rescaled on the power
  spectrogram, a 0.5 % grid is scanned with the pilot, and the best speed refined.

Measured (README, ``python -m benchmarks --only audio``): every 10 s excerpt of the bundled
speech and music recordings keeps the exact payload after the codecs, resampling, gain,
filters and shifts of the suite; see the README for the transformations still short.

Magnitude modulation ignores polarity, channel layout and sample rate; the same tile is
applied to every channel, each in proportion to its own sound.
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

#: Frame hop, seconds; frames are sqrt-Hann, two hops long (perfect reconstruction by
#: overlap-add).
HOP_SECONDS = 0.008
#: Cell size: frames per cell in time, bands per tile in frequency, cells per tile in time.
CELL_FRAMES, BANDS, TILE_CELLS = 4, 24, 16
#: The marked band, Hz: what MP3/AAC/Opus at low rates, 16 kHz resampling and a 4 kHz low-pass
#: all keep.
BAND_HZ = (200.0, 4000.0)
#: Default quality target: energy of the mark in each frame under the frame's energy, dB (the
#: whole clip's SNR lands 0.5-2 dB under it on music, above it on speech).
DEFAULT_SNR = 25.5
#: Largest relative magnitude change in any band (0.35: +2.6 / -3.7 dB), whatever the SNR
#: target allows; reached only in bands far quieter than the frame's loudest.
MAX_ALPHA = 0.35
#: Shortest audio the watermark is embedded in or looked for, seconds.
MIN_SECONDS = 2.0
#: Sample rates accepted, Hz.
RATE_RANGE = (8000, 192000)
#: How much audio the detector reads at most, seconds (from the start).
MAX_ANALYSIS_SECONDS = 60.0
_PILOT_GATE = 3.5
#: Playback speeds tried by ``detect_watermark(..., speed_search=True)`` after 1.0: a 0.5 % grid
#: over +-6 % (resampling that changes tempo and pitch together), then refined around the best.
SPEED_RANGE, SPEED_STEP = 0.06, 0.005
#: Neighbours (cells in time, bands) from which the detector predicts a cell's log energy.
_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1), (-2, 0), (2, 0), (0, -2), (0, 2))
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


def _band_energy(spectra: np.ndarray, grid: _Grid) -> np.ndarray:
    """(frames, BANDS) energy per frame and marked band of (frames, bins) spectra."""
    inside = grid.band_of_bin >= 0
    power = np.abs(spectra[:, inside]) ** 2
    bands = np.zeros((len(power), BANDS), np.float64)
    np.add.at(bands.T, grid.band_of_bin[inside], power.T)
    return bands


def _depths(spectra: np.ndarray, grid: _Grid, target_snr: float) -> np.ndarray:
    """(frames, BANDS) relative modulation depth per frame and band.

    Per frame: depth ``min(MAX_ALPHA, lam / sqrt(E_band))`` -- the same mark magnitude in every
    band until a band's cap is reached -- with ``lam`` found by bisection so that the mark's
    energy, sum of depth^2 * E_band, is the frame's energy times 10^(-target_snr/10). Looks at
    one frame only (the streaming embedder relies on it)."""
    power = np.abs(spectra) ** 2
    bands = _band_energy(spectra, grid) + 1e-30
    budget = 10 ** (-target_snr / 10) * power.sum(axis=1, keepdims=True)
    inverse_root = 1.0 / np.sqrt(bands)
    low = np.zeros((len(bands), 1))
    high = np.full((len(bands), 1), MAX_ALPHA) * np.sqrt(bands.max(axis=1, keepdims=True))  # all bands capped
    for _ in range(30):
        middle = 0.5 * (low + high)
        spent = np.sum(np.minimum(MAX_ALPHA, middle * inverse_root) ** 2 * bands, axis=1, keepdims=True)
        over = spent > budget
        high = np.where(over, middle, high)
        low = np.where(over, low, middle)
    depths: np.ndarray = np.minimum(MAX_ALPHA, low * inverse_root).astype(np.float32)
    return depths


def _gain(spectra: np.ndarray, grid: _Grid, signs: np.ndarray, target_snr: float) -> np.ndarray:
    """(frames, bins) signed relative change for one channel's (frames, bins) spectra: each bin
    gets its band's depth times the tile's sign."""
    depth = _depths(spectra, grid, target_snr)
    bins = np.maximum(grid.band_of_bin, 0)
    gain: np.ndarray = signs * depth[:, bins]
    return gain


def embed_watermark(
    samples: np.ndarray,
    sample_rate: int,
    key: WatermarkKey,
    content_id: int,
    *,
    target_snr: float = DEFAULT_SNR,
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
        dB of each frame's sound over the mark in that frame (default 27; a stronger mark with a
        lower value). The relative change per band is capped at :data:`MAX_ALPHA`, so sound with
        little energy in 200-4000 Hz ends above the target.

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
    out = data.copy()
    for c, spec in enumerate(spectra):
        delta = np.fft.irfft(spec * _gain(spec, grid, signs, target_snr), n=grid.n_fft, axis=1).astype(np.float32)
        out[:, c] += _overlap_add(delta, grid, len(data))
    return _back(out, how)


# --------------------------------------------------------------------------- detection


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average along time (axis 0) over ``width`` rows, same length."""
    padded = np.pad(values, ((width // 2, width // 2), (0, 0)), mode="edge")
    cumulative = np.cumsum(np.vstack([np.zeros((1, values.shape[1]), values.dtype), padded]), axis=0)
    averaged: np.ndarray = (cumulative[width:] - cumulative[:-width])[: len(values)] / width
    return averaged


def _cell_evidence(bands: np.ndarray, phase: int) -> np.ndarray:
    """(cells, BANDS) weighted evidence per cell, for cells starting ``phase`` frames in.

    Log cell energy minus the row mean (a gain or loudness change cancels), minus its least-
    squares prediction from :data:`_NEIGHBOURS` (fitted on this clip: it removes what the
    sound makes predictable, not the keyed mark, whose neighbours' signs are independent),
    clipped at 3 robust deviations and divided by the local variance (onsets, noisy passages
    and silence count less)."""
    count = (len(bands) - phase) // CELL_FRAMES
    cells = bands[phase : phase + count * CELL_FRAMES].reshape(count, CELL_FRAMES, BANDS).sum(axis=1)
    level = cells.mean(axis=1)
    floor = max(float(level.mean()) * 1e-6, 1e-30)  # 60 dB under the clip's average
    logs = np.log(cells + floor)
    logs -= logs.mean(axis=1, keepdims=True)
    padded = np.pad(logs, 2, mode="edge")
    around = np.stack([padded[2 + dt : 2 + dt + count, 2 + db : 2 + db + BANDS] for dt, db in _NEIGHBOURS], axis=-1)
    live = level > floor * 1e3  # silence carries no mark
    if np.count_nonzero(live) < 4 * len(_NEIGHBOURS):
        return np.zeros((count, BANDS))
    weights = np.linalg.lstsq(around[live].reshape(-1, len(_NEIGHBOURS)), logs[live].reshape(-1), rcond=None)[0]
    residual = logs - around @ weights
    spread = 1.4826 * float(np.median(np.abs(residual[live]))) + 1e-9
    np.clip(residual, -3 * spread, 3 * spread, out=residual)
    evidence: np.ndarray = residual / (_smooth(residual**2, 9) + 0.25 * spread**2)
    evidence[~live] = 0.0
    return evidence


def _bands_at_speed(power: np.ndarray, grid: _Grid, sample_rate: int, speed: float) -> np.ndarray:
    """(frames, BANDS) band energies of audio played ``speed`` times too fast, mapped back to
    the embedder's grid: band edges scaled by ``speed`` (fractional bins shared by overlap)
    and frame rows read at ``i / speed`` (linear interpolation)."""
    freqs = np.fft.rfftfreq(grid.n_fft, 1.0 / sample_rate)
    step = freqs[1]
    edges = np.linspace(BAND_HZ[0], BAND_HZ[1], BANDS + 1) * speed
    low = np.maximum(freqs[:, None] - step / 2, edges[None, :-1])
    high = np.minimum(freqs[:, None] + step / 2, edges[None, 1:])
    bands = power @ (np.clip(high - low, 0.0, None) / step)
    position = np.arange(int((len(bands) - 1) * speed)) / speed
    first = position.astype(int)
    fraction = (position - first)[:, None]
    mapped: np.ndarray = bands[first] * (1.0 - fraction) + bands[np.minimum(first + 1, len(bands) - 1)] * fraction
    return mapped


def _speeds() -> list[float]:
    """The coarse speed grid, nearest 1.0 first (1.0 itself excluded)."""
    offsets = np.arange(SPEED_STEP, SPEED_RANGE + 1e-9, SPEED_STEP)
    return [1.0 + sign * float(offset) for offset in offsets for sign in (1, -1)]


@dataclass(frozen=True)
class AudioWatermarkReport(payload.WatermarkReport):
    """What :func:`detect_watermark` found (see :class:`synthmark.payload.WatermarkReport`),
    plus ``offset``: the tile phase found, in seconds, and ``speed``: the playback speed the
    mark was found at (1.0 unless the audio was sped up or slowed down)."""

    offset: float | None = None
    speed: float | None = None

    def _geometry(self) -> dict[str, Any]:
        return {
            "offset": None if self.offset is None else round(self.offset, 3),
            "speed": None if self.speed is None else round(self.speed, 4),
        }


def _folded(bands: np.ndarray) -> list[np.ndarray]:
    """Per cell phase (0..CELL_FRAMES-1), the evidence summed over every tile period:
    (TILE_CELLS, BANDS), each band's mean removed."""
    out = []
    for phase in range(CELL_FRAMES):
        evidence = _cell_evidence(bands, phase)
        whole = -(-len(evidence) // TILE_CELLS) * TILE_CELLS
        padded = np.zeros((whole, BANDS))
        padded[: len(evidence)] = evidence
        folded = padded.reshape(-1, TILE_CELLS, BANDS).sum(axis=0)
        out.append(folded - folded.mean(axis=0, keepdims=True))
    return out


def _read(folded: list[np.ndarray], key: WatermarkKey) -> list[tuple[float, np.ndarray, int]]:
    """(pilot z, payload soft values, frame offset) at the two best of the CELL_FRAMES x
    TILE_CELLS alignments of the pilot."""
    layout = _layout(key)
    pilot = np.zeros(_CELLS)
    pilot[layout.pilot] = layout.pilot_sign
    pilot_cells = pilot.reshape(BANDS, TILE_CELLS).T  # (TILE_CELLS, BANDS)
    # circular correlation over the cell shift, per phase: (phases, TILE_CELLS)
    spectra = np.fft.rfft(np.stack(folded), axis=1) * np.conj(np.fft.rfft(pilot_cells, axis=0))[None]
    scores = np.fft.irfft(spectra.sum(axis=2), n=TILE_CELLS, axis=1).reshape(-1)
    order = np.argsort(scores)[::-1]
    # z against the alignments away from the best few (neighbouring phases of the right
    # alignment see part of the pilot)
    rest = scores[order[2 * CELL_FRAMES :]]
    readings = []
    for index in order[:2]:
        phase, shift = divmod(int(index), TILE_CELLS)
        cells = np.roll(folded[phase], -shift, axis=0).T.reshape(-1)  # band-major
        pilot_values = cells[layout.pilot] * layout.pilot_sign
        noise = float(np.std(pilot_values - pilot_values.mean())) + 1e-12
        soft = cells[layout.payload] * layout.payload_sign / noise
        z = float((scores[index] - rest.mean()) / (rest.std() + 1e-12))
        readings.append((z, soft, phase + shift * CELL_FRAMES))
    return readings


def detect_watermark(
    samples: np.ndarray,
    sample_rate: int,
    keys: WatermarkKey | Sequence[WatermarkKey] | Iterable[WatermarkKey],
    *,
    speed_search: bool = False,
) -> AudioWatermarkReport:
    """Look for a synthmark audio watermark made with any of ``keys`` (no original needed).

    Reads at most the first :data:`MAX_ANALYSIS_SECONDS`; needs at least 2 s of sound; the
    whole payload is read from any 10 s excerpt of a marked clip (see the README's table).
    ``speed_search`` also tries playback speeds within +-6 % (audio sped up or slowed down
    with its pitch, e.g. ``speed105``) when the mark is not found at 1.0; it costs about 25
    times the detection time on unmarked audio.
    """
    key_list = [keys] if isinstance(keys, WatermarkKey) else list(keys)
    data, _ = _as_float(samples)
    if not RATE_RANGE[0] <= sample_rate <= RATE_RANGE[1] or len(data) < MIN_SECONDS * sample_rate:
        return AudioWatermarkReport(False, details={"reason": "audio too short or rate out of range"})
    data = data[: int(MAX_ANALYSIS_SECONDS * sample_rate)]
    grid = _grid(sample_rate)
    spectra = np.fft.rfft(_frames(np.ascontiguousarray(data.mean(axis=1)), grid), axis=1)
    searched = 1 + (2 * round(SPEED_RANGE / SPEED_STEP) + 4 if speed_search else 0)
    search = _Search(key_list, searched)
    report = search.at(_folded(_band_energy(spectra, grid)), 1.0, grid.hop / sample_rate)
    if report is None and speed_search:
        power = np.abs(spectra) ** 2

        def folded_at(speed: float) -> list[np.ndarray]:
            return _folded(_bands_at_speed(power, grid, sample_rate, speed))

        coarse = {speed: folded_at(speed) for speed in _speeds()}
        best = max(coarse, key=lambda speed: max(search.pilot_z(coarse[speed], key) for key in key_list))
        for speed in (best, best - SPEED_STEP / 4, best + SPEED_STEP / 4, best - SPEED_STEP / 2, best + SPEED_STEP / 2):
            report = search.at(coarse.get(speed) or folded_at(speed), speed, grid.hop / sample_rate / speed)
            if report is not None:
                break
    return report if report is not None else search.not_found()


class _Search:
    """The key loop of :func:`detect_watermark` over one or more speed hypotheses, keeping the
    strongest reading for the not-found report and counting MAC checks."""

    def __init__(self, keys: list[WatermarkKey], hypotheses: int) -> None:
        self.keys, self.hypotheses = keys, hypotheses
        self.attempts = 0
        self.strongest: tuple[float, WatermarkKey, np.ndarray] | None = None

    @staticmethod
    def pilot_z(folded: list[np.ndarray], key: WatermarkKey) -> float:
        return _read(folded, key)[0][0]

    def at(self, folded: list[np.ndarray], speed: float, seconds_per_frame: float) -> AudioWatermarkReport | None:
        for key in self.keys:
            for z, soft, shift in _read(folded, key):
                if self.strongest is None or z > self.strongest[0]:
                    self.strongest = (z, key, soft)
                if z < _PILOT_GATE:
                    continue
                self.attempts += 1
                decoded = payload.decode(soft, key)
                if decoded.valid:
                    return AudioWatermarkReport(
                        found=True,
                        key_id=key.key_id,
                        content_id=decoded.content_id,
                        p_value=_p_value(z, len(self.keys) * self.hypotheses),
                        pilot_z=z,
                        raw_id=decoded.raw_id,
                        attempts=self.attempts,
                        offset=shift * seconds_per_frame,
                        speed=speed,
                    )
        return None

    def not_found(self) -> AudioWatermarkReport:
        if self.strongest is None:
            return AudioWatermarkReport(False)
        z, key, soft = self.strongest
        return AudioWatermarkReport(
            False,
            p_value=_p_value(z, len(self.keys) * self.hypotheses),
            pilot_z=z,
            raw_id=payload.decode(soft, key, list_size=1).raw_id,
            attempts=self.attempts,
        )


def _p_value(z: float, hypotheses: int) -> float:
    """Bound on P(best pilot z over all alignments and ``hypotheses`` (keys x speeds) >= z) for
    unmarked audio."""
    return min(1.0, hypotheses * TILE_CELLS * CELL_FRAMES * 0.5 * math.erfc(z / math.sqrt(2.0)))


class StreamingEmbedder:
    """Block-in, block-out embedder for live audio (e.g. streaming TTS).

    Feed blocks of any size with :meth:`process`; each call returns the marked samples that are
    final so far (latency: at most two 8 ms hops); :meth:`finish` returns the rest. Memory is
    bounded: only the last hop of input and of overlap is kept. The depth of the mark is chosen
    frame by frame from that frame alone, so the concatenated output equals
    :func:`embed_watermark` of the whole stream with the same ``target_snr``.
    """

    def __init__(
        self, sample_rate: int, channels: int, key: WatermarkKey, content_id: int, *, target_snr: float = DEFAULT_SNR
    ) -> None:
        if not RATE_RANGE[0] <= sample_rate <= RATE_RANGE[1]:
            raise WatermarkError(f"sample rate {sample_rate} Hz is outside {RATE_RANGE[0]}-{RATE_RANGE[1]} Hz")
        if channels < 1:
            raise WatermarkError("audio has 0 channels", fix="pass at least one channel")
        self.sample_rate, self.channels = sample_rate, channels
        self._grid = _grid(sample_rate)
        self._key, self._coded = key, payload.encode(content_id, key)
        self._target_snr = target_snr
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
        gain = _gain(spectrum, grid, signs[None], self._target_snr)  # channels as rows
        delta = np.fft.irfft(spectrum * gain, n=grid.n_fft, axis=1).T.astype(np.float32)
        delta *= window[:, None]
        completed = self._window_input[:hop] + delta[:hop] + self._tail
        self._tail = delta[hop:].copy()
        self._window_input[:hop] = self._window_input[hop:]
        self._filled = hop
        self._frame += 1
        return completed if self._frame > 1 else np.zeros((0, self.channels), np.float32)
