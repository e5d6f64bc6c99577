"""The audio robustness suite of ``shared/spec/robustness.md``: what "the mark survives" means.

Every transformation is a pure function ``(samples, sample_rate, rng) -> (samples, sample_rate)``:

* input: ``float32`` (or any float) array of shape ``(n_samples, channels)``, values in [-1, 1],
  and its sample rate in Hz (8–192 kHz); the array is never modified in place;
* output: a new C-contiguous ``float32`` array ``(n', channels)`` clipped to [-1, 1] (never a view
  of the input) and its sample rate. Every transformation here returns the input's rate, and
  every one but ``crop10s``, ``shift`` and ``speed105`` returns the input's length;
* ``rng``: a :class:`numpy.random.Generator`; only ``noise20``, ``crop10s`` and ``mix`` draw from
  it, so the same seed always gives the same output.

The names are stable (reports are compared across versions) and :data:`AUDIO_SUITE` lists them in
the order of the specification. Lossy steps use the real encoders through PyAV (LAME for MP3,
FFmpeg's AAC encoder, libopus), not simulations. A codec that cannot run at the input's rate
(Opus: 48 kHz; MP3: at most 48 kHz) gets the audio resampled to the nearest rate it takes and
back. FFmpeg's decoders remove each codec's start-up delay (MP3 gapless header, M4A edit list,
Opus pre-skip), so codec outputs are aligned sample for sample with the input; the encoder's
end padding is cut off.

>>> import numpy as np
>>> from synthmark.transforms.audio import AUDIO_SUITE, apply_audio
>>> tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype(np.float32)[:, None]
>>> samples, rate = apply_audio("gain-10", tone, 48000)
>>> samples.shape, rate, round(float(abs(samples).max()), 3)
((48000, 1), 48000, 0.158)
>>> apply_audio("shift", tone, 48000)[0].shape
(65760, 1)
>>> list(AUDIO_SUITE)[:4]
['identity', 'mp3-128', 'mp3-64', 'aac-128']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from synthmark.audio._io import CODECS, MAX_RATE, MIN_RATE, decode_audio, default_layout, encode_as
from synthmark.errors import InputError, SynthmarkError

__all__ = [
    "AUDIO_SUITE",
    "CROP_SECONDS",
    "HIGHPASS_HZ",
    "LOWPASS_HZ",
    "MIX_LEVEL_DB",
    "MIX_SOURCE",
    "NOISE_SNR_DB",
    "RESAMPLE_RATE",
    "SHIFT_SECONDS",
    "SPEED",
    "AudioTransform",
    "aac_128",
    "apply_audio",
    "crop10s",
    "gain_minus10",
    "gain_plus6",
    "highpass200",
    "identity",
    "lowpass4k",
    "mix",
    "mix_with",
    "mp3_64",
    "mp3_128",
    "noise20",
    "opus_32",
    "resample16k",
    "shift",
    "snr_db",
    "speed105",
]

AudioSamples = npt.NDArray[np.float32]
#: The signature every transformation of the suite has.
AudioTransform = Callable[[AudioSamples, int, np.random.Generator], tuple[AudioSamples, int]]

#: Rate ``resample16k`` goes down to, in Hz.
RESAMPLE_RATE = 16_000
#: Signal-to-noise ratio of ``noise20``, in dB.
NOISE_SNR_DB = 20.0
#: Cut-off of ``lowpass4k`` (-6 dB point), in Hz; the cosine transition is ``LOWPASS_WIDTH_HZ`` wide.
LOWPASS_HZ = 4_000.0
LOWPASS_WIDTH_HZ = 400.0
#: Cut-off of ``highpass200`` (-6 dB point), in Hz; the cosine transition is ``HIGHPASS_WIDTH_HZ`` wide.
HIGHPASS_HZ = 200.0
HIGHPASS_WIDTH_HZ = 40.0
#: Window of ``crop10s``, in seconds (TC260 2023 guide).
CROP_SECONDS = 10.0
#: Silence ``shift`` prepends, in seconds.
SHIFT_SECONDS = 0.37
#: Level of the interfering audio of ``mix`` relative to the signal's power, in dB.
MIX_LEVEL_DB = -10.0
#: The unrelated recording ``mix`` adds: 15 s of instrumental music (SuperTuxKart "Hacienda" by
#: Claude Werner, CC BY-SA 3.0; see fixtures/audio/README.md). Found relative to the source tree;
#: set this to another file, or build a transform with :func:`mix_with`, where it is not there.
MIX_SOURCE = Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "mix_interferer.flac"
#: Playback speed factor of ``speed105``.
SPEED = 1.05

# Longest impulse response the FFT filters must hold without wrap-around, in seconds: a raised
# cosine transition of 40 Hz rings for about 1/40 s, so a quarter second is ten times that.
_FILTER_PAD_SECONDS = 0.25


# --- helpers -----------------------------------------------------------------------------------


def _check_audio(samples: npt.NDArray[Any], sample_rate: int) -> AudioSamples:
    """``samples`` typed as float32 ``(n, channels)``, or :class:`InputError` naming what is wrong."""
    if (
        not isinstance(samples, np.ndarray)
        or not np.issubdtype(samples.dtype, np.floating)
        or samples.ndim != 2
        or samples.shape[0] < 1
        or samples.shape[1] < 1
    ):
        got = f"shape {getattr(samples, 'shape', None)} dtype {getattr(samples, 'dtype', type(samples).__name__)}"
        raise InputError(
            f"expected a float array of shape (n_samples, channels), got {got}",
            fix="decode with synthmark.audio._io.decode_audio, or reshape mono audio with samples[:, None]",
        )
    if not np.all(np.isfinite(samples)):
        raise InputError("samples contain NaN or infinite values", fix="replace them before transforming")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer):
        raise InputError(f"sample rate must be an integer in Hz, got {sample_rate!r}", fix="pass e.g. 44100")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise InputError(
            f"sample rate {sample_rate} Hz is outside {MIN_RATE}–{MAX_RATE} Hz", fix="pass the audio's real rate"
        )
    return samples.astype(np.float32, copy=False)


def _finish(samples: npt.NDArray[Any]) -> AudioSamples:
    """A new C-contiguous float32 array clipped to [-1, 1]."""
    out = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return np.ascontiguousarray(out)


def _fit(samples: npt.NDArray[Any], length: int) -> npt.NDArray[Any]:
    """``samples`` cut or zero-padded at the end to ``length`` rows."""
    if samples.shape[0] >= length:
        return samples[:length]
    pad = np.zeros((length - samples.shape[0], samples.shape[1]), dtype=samples.dtype)
    return np.concatenate([samples, pad], axis=0)


def _resample(samples: AudioSamples, from_rate: int, to_rate: int, length: int | None = None) -> AudioSamples:
    """Resample with FFmpeg's swresample (default filter), compensating its delay.

    The output has ``length`` rows (default ``round(n · to_rate / from_rate)``).
    """
    n, channels = samples.shape
    length = round(n * to_rate / from_rate) if length is None else length
    if from_rate == to_rate:
        return np.array(_fit(samples, length), dtype=np.float32)
    # swresample needs a channel layout; counts without one are resampled channel by channel.
    groups = [list(range(channels))] if channels <= 8 else [[c] for c in range(channels)]
    parts = []
    for group in groups:
        layout = default_layout(len(group))
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=to_rate)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, group].T), format="fltp", layout=layout)
        frame.sample_rate = from_rate
        frame.pts = 0
        frame.time_base = Fraction(1, from_rate)
        frames = resampler.resample(frame) + resampler.resample(None)
        parts.append(np.concatenate([f.to_ndarray() for f in frames], axis=1).T)
    return np.asarray(_fit(np.concatenate(parts, axis=1), length), dtype=np.float32)


def _codec_rate(encoder: str, rate: int) -> int:
    """``rate`` if the encoder takes it, else the lowest rate above it it takes (else its highest)."""
    rates = sorted(av.Codec(encoder, "w").audio_rates or ())
    if not rates or rate in rates:
        return rate
    return next((r for r in rates if r >= rate), rates[-1])


def _codec_round_trip(samples: AudioSamples, rate: int, container: str, encoder: str, bit_rate: int) -> AudioSamples:
    """Encode with the real encoder, decode, and return audio at ``rate`` with the input's length.

    Channels beyond what the codec carries (MP3: 2) are coded in independent pairs, as separate
    files would be.
    """
    n, channels = samples.shape
    coded_rate = _codec_rate(encoder, rate)
    audio = _resample(samples, rate, coded_rate)
    step = CODECS[encoder].max_channels or channels
    parts = []
    for first in range(0, channels, step):
        data = encode_as(audio[:, first : first + step], coded_rate, container, encoder, bit_rate=bit_rate)
        # The decoder may deliver another rate than was coded (Opus always decodes to 48 kHz).
        decoded, info = decode_audio(data)
        parts.append(_resample(decoded, info.sample_rate, rate, length=n))
    return np.concatenate(parts, axis=1)


def _fast_length(n: int) -> int:
    """The smallest 2^a·3^b·5^c ≥ n (the FFT sizes numpy's pocketfft handles fastest)."""
    best = 1 << max(0, (n - 1).bit_length())
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            size = power35
            while size < n:
                size *= 2
            best = min(best, size)
            power35 *= 3
        power5 *= 5
    return best


def _cosine_step(freqs: npt.NDArray[np.float64], centre: float, width: float) -> npt.NDArray[np.float64]:
    """1 below ``centre − width/2``, 0 above ``centre + width/2``, a raised cosine between."""
    position = np.clip((freqs - (centre - width / 2)) / width, 0.0, 1.0)
    return np.asarray(0.5 * (1.0 + np.cos(np.pi * position)), dtype=np.float64)


def _fft_filter(
    samples: AudioSamples, rate: int, response: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]]
) -> AudioSamples:
    """Zero-phase filtering by a real frequency response, with zero padding (no wrap-around)."""
    n = samples.shape[0]
    size = _fast_length(n + round(_FILTER_PAD_SECONDS * rate))
    spectrum = np.fft.rfft(samples.astype(np.float64), n=size, axis=0)
    freqs: npt.NDArray[np.float64] = np.fft.rfftfreq(size, 1.0 / rate).astype(np.float64)
    spectrum *= response(freqs)[:, None]
    return np.asarray(np.fft.irfft(spectrum, n=size, axis=0)[:n], dtype=np.float32)


def _gain(samples: AudioSamples, decibels: float) -> AudioSamples:
    return _finish(samples.astype(np.float64) * 10.0 ** (decibels / 20.0))


def _mix(
    samples: AudioSamples, rate: int, rng: np.random.Generator, other: AudioSamples, other_rate: int
) -> AudioSamples:
    n, channels = samples.shape
    other = _resample(other, other_rate, rate)
    if other.shape[1] != channels:
        other = np.repeat(other.mean(axis=1, keepdims=True), channels, axis=1)
    # A random stretch of the interferer, looped if it is shorter than the signal.
    start = int(rng.integers(0, other.shape[0]))
    segment = other[(start + np.arange(n)) % other.shape[0]].astype(np.float64)
    signal = samples.astype(np.float64)
    signal_power = float(np.mean(signal**2))
    other_power = float(np.mean(segment**2))
    if signal_power == 0.0 or other_power == 0.0:
        return _finish(signal)
    scale = math.sqrt(signal_power / other_power * 10.0 ** (MIX_LEVEL_DB / 10.0))
    return _finish(signal + scale * segment)


@lru_cache(maxsize=4)
def _load_interferer(path: Path) -> tuple[AudioSamples, int]:
    if not path.is_file():
        raise InputError(
            "the interfering recording of the 'mix' transformation is missing",
            path=path,
            fix="set synthmark.transforms.audio.MIX_SOURCE to an audio file, or use mix_with(samples, rate)",
        )
    samples, info = decode_audio(path)
    samples.setflags(write=False)
    return samples, info.sample_rate


# --- the suite ---------------------------------------------------------------------------------


def identity(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """No change: an exact float32 copy."""
    samples = _check_audio(samples, sample_rate)
    return np.array(samples, dtype=np.float32, order="C"), sample_rate


def mp3_128(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """MP3 (LAME, CBR 128 kbit/s per stereo pair) encode/decode; rates over 48 kHz coded at 48 kHz."""
    samples = _check_audio(samples, sample_rate)
    return _finish(_codec_round_trip(samples, sample_rate, "mp3", "libmp3lame", 128_000)), sample_rate


def mp3_64(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """MP3 (LAME, CBR 64 kbit/s per stereo pair) encode/decode; rates over 48 kHz coded at 48 kHz."""
    samples = _check_audio(samples, sample_rate)
    return _finish(_codec_round_trip(samples, sample_rate, "mp3", "libmp3lame", 64_000)), sample_rate


def aac_128(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """AAC-LC at 128 kbit/s (FFmpeg's encoder) in an M4A file, encode/decode."""
    samples = _check_audio(samples, sample_rate)
    return _finish(_codec_round_trip(samples, sample_rate, "m4a", "aac", 128_000)), sample_rate


def opus_32(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Opus (libopus, VBR, 32 kbit/s) in Ogg; coded at 48 kHz (or the input's rate if Opus has it)."""
    samples = _check_audio(samples, sample_rate)
    return _finish(_codec_round_trip(samples, sample_rate, "ogg", "libopus", 32_000)), sample_rate


def resample16k(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Resample to 16 kHz and back to the input's rate (swresample; content above 8 kHz is lost)."""
    samples = _check_audio(samples, sample_rate)
    low = _resample(samples, sample_rate, RESAMPLE_RATE)
    return _finish(_resample(low, RESAMPLE_RATE, sample_rate, length=samples.shape[0])), sample_rate


def gain_plus6(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Volume +6 dB (× 1.995), clipped to [-1, 1]."""
    return _gain(_check_audio(samples, sample_rate), 6.0), sample_rate


def gain_minus10(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Volume −10 dB (× 0.316)."""
    return _gain(_check_audio(samples, sample_rate), -10.0), sample_rate


def noise20(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """White Gaussian noise at 20 dB SNR: noise power = signal power / 100.

    The signal power is the mean square over all samples and channels; the noise is independent
    per sample and channel. Silent input stays silent. The sum is clipped to [-1, 1].
    """
    samples = _check_audio(samples, sample_rate)
    signal = samples.astype(np.float64)
    sigma = math.sqrt(float(np.mean(signal**2)) / 10.0 ** (NOISE_SNR_DB / 10.0))
    return _finish(signal + rng.standard_normal(signal.shape) * sigma), sample_rate


def lowpass4k(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Zero-phase low-pass: gain 1 up to 3.8 kHz, 0 from 4.2 kHz, raised cosine between (−6 dB at 4 kHz).

    Applied in the frequency domain with zero padding, so nothing wraps around.
    """
    samples = _check_audio(samples, sample_rate)

    def response(freqs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return _cosine_step(freqs, LOWPASS_HZ, LOWPASS_WIDTH_HZ)

    return _finish(_fft_filter(samples, sample_rate, response)), sample_rate


def highpass200(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Zero-phase high-pass: gain 0 up to 180 Hz, 1 from 220 Hz, raised cosine between (−6 dB at 200 Hz).

    Applied in the frequency domain with zero padding, so nothing wraps around; removes DC.
    """
    samples = _check_audio(samples, sample_rate)

    def response(freqs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return 1.0 - _cosine_step(freqs, HIGHPASS_HZ, HIGHPASS_WIDTH_HZ)

    return _finish(_fft_filter(samples, sample_rate, response)), sample_rate


def crop10s(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Keep a window of round(10 s · rate) samples starting at a sample drawn uniformly from ``rng``.

    Audio of 10 s or less is kept whole (``rng`` is then not used).
    """
    samples = _check_audio(samples, sample_rate)
    n = samples.shape[0]
    window = round(CROP_SECONDS * sample_rate)
    if n <= window:
        return np.array(samples, dtype=np.float32, order="C"), sample_rate
    start = int(rng.integers(0, n - window + 1))
    return np.array(samples[start : start + window], dtype=np.float32, order="C"), sample_rate


def shift(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Prepend round(0.37 s · rate) samples of digital silence (the output is that much longer)."""
    samples = _check_audio(samples, sample_rate)
    silence = np.zeros((round(SHIFT_SECONDS * sample_rate), samples.shape[1]), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate([silence, samples], axis=0)), sample_rate


def mix(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """Add unrelated music 10 dB below the signal's power, clipped to [-1, 1].

    The music is :data:`MIX_SOURCE` (15 s of an instrumental track), resampled to the input's
    rate, downmixed to mono and copied to every channel when the channel counts differ, looped
    to the input's length from a start drawn from ``rng``, and scaled so its mean power is the
    signal's (over all samples and channels) minus 10 dB. Silent input stays silent.
    """
    samples = _check_audio(samples, sample_rate)
    other, other_rate = _load_interferer(MIX_SOURCE)
    return _mix(samples, sample_rate, rng, other, other_rate), sample_rate


def mix_with(other: npt.NDArray[Any], other_rate: int) -> AudioTransform:
    """A ``mix`` transformation that adds ``other`` (float ``(n, channels)`` at ``other_rate`` Hz)
    instead of :data:`MIX_SOURCE`, with the same rules."""
    interferer = np.array(_check_audio(other, other_rate), dtype=np.float32)

    def mix_other(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
        samples = _check_audio(samples, sample_rate)
        return _mix(samples, sample_rate, rng, interferer, other_rate), sample_rate

    return mix_other


def speed105(samples: AudioSamples, sample_rate: int, rng: np.random.Generator) -> tuple[AudioSamples, int]:
    """5 % faster, pitch 5 % higher: read as if recorded at round(1.05 · rate) Hz, resampled to ``rate``.

    The output has round(n · rate / round(1.05 · rate)) samples (≈ n / 1.05) at the input's rate.
    Plain resampling (no time-stretching that keeps the pitch), like a tape or turntable played fast.
    """
    samples = _check_audio(samples, sample_rate)
    return _finish(_resample(samples, round(SPEED * sample_rate), sample_rate)), sample_rate


def snr_db(reference: npt.NDArray[Any], test: npt.NDArray[Any]) -> float:
    """Signal-to-noise ratio of ``test`` against ``reference``, in dB: 10·log10(Σ ref² / Σ (ref − test)²).

    Both arrays must have the same shape; sums run over all samples and channels. Identical
    arrays give ``inf``; a silent reference with a different test gives ``-inf``.

    >>> import numpy as np
    >>> x = np.ones((100, 1), np.float32)
    >>> round(snr_db(x, x * 1.1), 3)
    20.0
    """
    ref = np.asarray(reference, dtype=np.float64)
    other = np.asarray(test, dtype=np.float64)
    if ref.shape != other.shape:
        raise InputError(
            f"cannot compare audio of shape {ref.shape} with {other.shape}",
            fix="cut both to the same length and channel count",
        )
    noise = float(np.sum((ref - other) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


#: The suite, as data, in the order of the specification's table. Keys are the stable names.
AUDIO_SUITE: dict[str, AudioTransform] = {
    "identity": identity,
    "mp3-128": mp3_128,
    "mp3-64": mp3_64,
    "aac-128": aac_128,
    "opus-32": opus_32,
    "resample16k": resample16k,
    "gain+6": gain_plus6,
    "gain-10": gain_minus10,
    "noise20": noise20,
    "lowpass4k": lowpass4k,
    "highpass200": highpass200,
    "crop10s": crop10s,
    "shift": shift,
    "mix": mix,
    "speed105": speed105,
}


def apply_audio(
    name: str,
    samples: AudioSamples,
    sample_rate: int,
    *,
    rng: np.random.Generator | int | None = None,
) -> tuple[AudioSamples, int]:
    """Apply the transformation called ``name`` to ``samples``.

    Parameters
    ----------
    name:
        One of the keys of :data:`AUDIO_SUITE` (``"mp3-128"``, ``"gain+6"``, ...).
    samples:
        Float array ``(n_samples, channels)``, values in [-1, 1]; not modified.
    sample_rate:
        The samples' rate in Hz (8–192 kHz).
    rng:
        A :class:`numpy.random.Generator`, a seed, or ``None`` for fresh OS entropy. Used only by
        the random transformations (``noise20``, ``crop10s``, ``mix``).

    Returns
    -------
    (numpy.ndarray, int)
        A new ``float32`` array ``(n', channels)`` in [-1, 1] and its sample rate.

    Raises
    ------
    SynthmarkError
        ``name`` is not in the suite.
    InputError
        ``samples`` is not a finite float ``(n, channels)`` array, or the rate is out of range.
    """
    try:
        transform = AUDIO_SUITE[name]
    except KeyError:
        raise SynthmarkError(f"unknown transformation {name!r}", fix=f"use one of: {', '.join(AUDIO_SUITE)}") from None
    return transform(samples, sample_rate, np.random.default_rng(rng))
