"""The explicit audio label of GB 45438-2025 clause 5.3: a rhythm prompt or a voice prompt.

* :func:`rhythm_prompt` makes the rhythm "short-long-short-short" (Morse ``·−··``: "A" ``·−``
  and "I" ``··`` run together): short = 1 unit, long = 3 units, 1-unit gaps (no 3-unit Morse
  letter gap, as in the public implementation the spec cites), a sine tone with 5 ms
  raised-cosine fades.
* :func:`voice_prompt` gives the bundled spoken clip: Mandarin "人工智能生成" (both required
  elements) or the English "AI generated content" (``language="en"``), resampled to any rate.
* :func:`add_explicit_label` puts a prompt at the start, the end, both, or a position in the
  middle of a programme, with silence between, 10 ms fades at every join, and the prompt's
  loudness matched to the programme's.
* :func:`label_turn` gives just the prompt segment for one turn of a voice assistant or a
  streaming TTS backend, ready to be played before (or after) the turn.
* :func:`find_rhythm_prompt` finds rhythm prompts of any unit (60-200 ms) and tone (300-4000 Hz).
* :func:`find_voice_prompt` finds synthmark's own bundled voice prompts (template matching of
  their spectra, playback speed 0.94-1.06), after lossy coding, resampling, filtering, noise
  and mixing; it does not recognise other spoken labels (that needs speech recognition).

Arrays are ``(n,)`` or ``(n, channels)`` (frames first, as soundfile and PyAV's packed layout),
``float32``/``float64`` in [-1, 1] or ``int16``; results have the input's dtype and shape kind, and
inputs are never modified. Levels are RMS in dBFS with a full-scale square wave at 0 dB (a
full-scale sine is -3 dB), measured on the signal's active parts by :func:`active_level`.
"""

from __future__ import annotations

import io
import itertools
import math
import wave
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np
import numpy.typing as npt

from synthmark.errors import RenderError

__all__ = [
    "DEFAULT_FREQUENCY",
    "DEFAULT_LEVEL_DB",
    "DEFAULT_UNIT",
    "PATTERN",
    "PEAK_LIMIT",
    "RHYTHM_EDGE_SCAN",
    "RHYTHM_FULL_SCAN",
    "VOICE_LANGUAGES",
    "VOICE_SPEEDS",
    "RhythmMatch",
    "VoiceMatch",
    "active_level",
    "add_explicit_label",
    "find_rhythm_prompt",
    "find_voice_prompt",
    "label_turn",
    "rhythm_prompt",
    "voice_prompt",
]

Float = npt.NDArray[np.float64]
Runs = list[tuple[int, int]]

#: Tone lengths of the rhythm in units (short, long, short, short); the gaps are 1 unit each.
PATTERN = (1, 3, 1, 1)
#: Default unit (seconds) and tone (Hz, C6): 9 units = 1.08 s in all.
DEFAULT_UNIT = 0.12
DEFAULT_FREQUENCY = 1046.5
#: Prompt level (dBFS RMS of its active parts) when there is nothing to match.
DEFAULT_LEVEL_DB = -20.0
#: Languages of the bundled voice prompts and their texts.
VOICE_LANGUAGES = {"zh": "人工智能生成", "en": "AI generated content"}
#: Largest sample magnitude a prompt is given (-1 dBFS); louder peaks are limited.
PEAK_LIMIT = 10 ** (-1 / 20)

_TONE_FADE = 0.005
_JOIN_FADE = 0.010
_VOICE_FILES = {"zh": "voice_zh.wav", "en": "voice_en.wav"}
# Loudness meter: 20 ms blocks, absolute gate -70 dBFS, relative gate 20 dB under the gated mean.
_BLOCK = 0.02
# Peak limiter: gain steps of 2.5 ms, at most 12 dB of gain reduction on a prompt's peaks.
_LIMITER_BLOCK = 0.0025
_LIMITER_ATTACK_DB = 1.5
_LIMITER_RELEASE_DB = 0.25
_MAX_LIMITING_DB = 12.0
_ABSOLUTE_GATE_DB = -70.0
_RELATIVE_GATE_DB = -20.0
# Detector: analysis at 12 kHz, Hann windows every 5 ms: 25 ms for units under 95 ms, 50 ms
# for longer ones (finer frequency resolution: less music in the tone's bin).
_ANALYSIS_RATE = 12_000
_HOP = 0.005
_WINDOWS = ((0.025, (0.0, 0.095)), (0.050, (0.095, 10.0)))
# Every second bin's envelope is searched: each envelope bin already covers its neighbours.
_STRIDE = 2
_UNITS = (0.060, 0.200)
_FREQUENCIES = (300.0, 4000.0)
_MIN_CORRELATION = 0.78
_MIN_CONTRAST_DB = 4.0
_DETECT_BLOCK = 30.0
_MIN_SEPARATION_DB = 3.0
_MAX_SPREAD_DB = 6.0
_MAX_DRIFT_BINS = 0.5


# ---------------------------------------------------------------------------------------------
# Arrays in and out


def _check_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 1000:
        raise RenderError(f"invalid sample rate {sample_rate!r}", fix="pass the rate in Hz as an int >= 1000")
    return int(sample_rate)


def _as_float(samples: np.ndarray, what: str = "samples") -> Float:
    """``samples`` as float64 ``(n, channels)`` in [-1, 1] (a new array)."""
    if not isinstance(samples, np.ndarray):
        raise RenderError(f"{what} must be a numpy array, not {type(samples).__name__}", fix="pass an ndarray")
    if samples.ndim not in (1, 2) or (samples.ndim == 2 and samples.shape[1] < 1):
        raise RenderError(f"unsupported {what} shape {samples.shape}", fix="pass (n,) or (n, channels)")
    if samples.dtype == np.int16:
        out = samples.astype(np.float64) / 32768.0
    elif samples.dtype in (np.float32, np.float64):
        out = samples.astype(np.float64)
    else:
        raise RenderError(f"unsupported {what} dtype {samples.dtype}", fix="pass float32/float64 in [-1, 1] or int16")
    return out if out.ndim == 2 else out[:, None]


def _restore(out: Float, like: np.ndarray) -> np.ndarray:
    """``out`` (float64, 2-D) in ``like``'s dtype and dimensionality."""
    if like.dtype == np.int16:
        result: np.ndarray = np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)
    else:
        result = out.astype(like.dtype)
    return result[:, 0] if like.ndim == 1 else result


def _fade(x: Float, *, fade_in: int = 0, fade_out: int = 0) -> Float:
    """A copy of ``x`` with raised-cosine fades of the given lengths (samples) at its ends."""
    out: Float = x.copy()
    for length, at_start in ((fade_in, True), (fade_out, False)):
        n = min(length, len(out))
        if n <= 0:
            continue
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
        if at_start:
            out[:n] *= ramp[:, None]
        else:
            out[len(out) - n :] *= ramp[::-1, None]
    return out


def active_level(samples: np.ndarray, sample_rate: int) -> float:
    """RMS level (dBFS, full-scale square = 0 dB) of the active parts of ``samples``.

    The signal (all channels' power averaged) is cut into 20 ms blocks; blocks under -70 dBFS
    and then blocks more than 20 dB under the mean of the rest are left out, as in ITU-R BS.1770
    gating, so pauses do not lower the figure. ``-inf`` for silence.
    """
    x = _as_float(samples)
    return _level(x, _check_rate(sample_rate))


def _level(x: Float, sample_rate: int) -> float:
    if len(x) == 0:
        return -math.inf
    power = np.mean(x * x, axis=1)
    block = max(1, round(sample_rate * _BLOCK))
    full = len(power) // block
    blocks = power[: full * block].reshape(full, block).mean(axis=1)
    if len(power) > full * block:
        blocks = np.append(blocks, power[full * block :].mean())
    gated = blocks[blocks > 10 ** (_ABSOLUTE_GATE_DB / 10)]
    if len(gated) == 0:
        return -math.inf
    gated = gated[gated > gated.mean() * 10 ** (_RELATIVE_GATE_DB / 10)]
    return float(10 * np.log10(gated.mean()))


def _limit(x: Float, sample_rate: int) -> Float:
    """``x`` with its peaks brought under :data:`PEAK_LIMIT` by a look-ahead limiter.

    The gain each 2.5 ms block needs is held for its neighbours, ramps down ahead of a peak at
    most 1.5 dB per block and recovers at most 0.25 dB per block (about 100 dB/s) after it,
    then is interpolated linearly between block centres: never more gain than any sample
    allows, and no gain changes within a voice's pitch period, so peaks are tucked in without
    clipping's distortion."""
    envelope = np.max(np.abs(x), axis=1)
    if len(envelope) == 0 or float(envelope.max()) <= PEAK_LIMIT:
        return x
    needed = np.minimum(1.0, PEAK_LIMIT / np.maximum(envelope, 1e-12))
    block = max(1, round(sample_rate * _LIMITER_BLOCK))
    count = -(-len(needed) // block)
    padded = np.pad(needed, (0, count * block - len(needed)), constant_values=1.0)
    gains_db = 20 * np.log10(padded.reshape(count, block).min(axis=1))
    gains_db = np.minimum(gains_db, np.minimum(np.r_[0.0, gains_db[:-1]], np.r_[gains_db[1:], 0.0]))
    for i in range(count - 2, -1, -1):  # look-ahead: start turning down before the peak
        gains_db[i] = min(gains_db[i], gains_db[i + 1] + _LIMITER_ATTACK_DB)
    for i in range(1, count):  # release: recover slowly after it
        gains_db[i] = min(gains_db[i], gains_db[i - 1] + _LIMITER_RELEASE_DB)
    centres = (np.arange(count) + 0.5) * block
    curve = np.interp(np.arange(len(needed)), centres, 10 ** (gains_db / 20))
    limited: Float = x * np.minimum(curve, needed)[:, None]
    return limited


def _set_level(prompt: Float, sample_rate: int, target_db: float) -> Float:
    """``prompt`` at ``target_db`` (active RMS). Peaks over -1 dBFS are limited, by at most
    12 dB; a prompt that would need more is turned down as a whole instead."""
    current = _level(prompt, sample_rate)
    if not math.isfinite(current):
        raise RenderError("the prompt is silent", fix="pass a prompt clip with sound in it")
    most = 20 * math.log10(PEAK_LIMIT / float(np.max(np.abs(prompt)))) + _MAX_LIMITING_DB
    gain = min(target_db - current, most)
    leveled = _limit(prompt * 10 ** (gain / 20), sample_rate)
    for _ in range(3):  # limiting lowers the level a little: make up for it within the cap
        step = min(target_db - _level(leveled, sample_rate), most - gain)
        if step < 0.05:
            break
        gain += step
        leveled = _limit(prompt * 10 ** (gain / 20), sample_rate)
    return leveled


# ---------------------------------------------------------------------------------------------
# The prompts


def _tone_spans(unit: float, letter_gap: int = 1) -> list[tuple[float, float]]:
    """(start, length) of each tone in units."""
    spans = []
    at = 0.0
    for i, length in enumerate(PATTERN):
        spans.append((at, float(length)))
        at += length + (letter_gap if i == 1 else 1)
    return spans


def rhythm_prompt(
    sample_rate: int,
    *,
    unit: float = DEFAULT_UNIT,
    frequency: float = DEFAULT_FREQUENCY,
    level_db: float = DEFAULT_LEVEL_DB,
    channels: int = 1,
) -> np.ndarray:
    """The rhythm prompt "short-long-short-short" as float32 ``(n, channels)``.

    Parameters
    ----------
    sample_rate:
        Output rate in Hz.
    unit:
        Length of a short tone, and of every gap, in seconds (default 0.12; 0.02-1.0). A long
        tone is 3 units; the whole prompt is 9 units (1.08 s by default), starting and ending
        with sound.
    frequency:
        Tone frequency in Hz (default 1046.5, C6), under half the sample rate.
    level_db:
        RMS of the tones in dBFS (full-scale square = 0 dB; default -20, a sine peak of 0.14).
    channels:
        Number of identical channels.

    Examples
    --------
    >>> prompt = rhythm_prompt(48000)
    >>> prompt.shape, prompt.dtype
    ((51840, 1), dtype('float32'))
    """
    rate = _check_rate(sample_rate)
    if not 0.02 <= unit <= 1.0:
        raise RenderError(f"rhythm unit {unit!r} s is out of range", fix="use 0.02 to 1.0 s (default 0.12)")
    if not 20.0 <= frequency < rate / 2:
        raise RenderError(f"tone frequency {frequency!r} Hz is out of range", fix=f"use 20 Hz to {rate // 2} Hz")
    if not -120.0 <= level_db <= 0.0:
        raise RenderError(f"level {level_db!r} dBFS is out of range", fix="use -120 to 0 dBFS")
    if channels < 1:
        raise RenderError(f"invalid channel count {channels!r}", fix="use 1 or more")
    total = round(9 * unit * rate)
    out = np.zeros(total)
    amplitude = math.sqrt(2) * 10 ** (level_db / 20)
    fade = round(_TONE_FADE * rate)
    for start, length in _tone_spans(unit):
        begin, count = round(start * unit * rate), round(length * unit * rate)
        tone = amplitude * np.sin(2 * np.pi * frequency * np.arange(count) / rate)
        out[begin : begin + count] = _fade(tone[:, None], fade_in=fade, fade_out=fade)[:, 0]
    return np.repeat(out[:, None], channels, axis=1).astype(np.float32)


@lru_cache(maxsize=4)
def _voice_clip(language: str) -> tuple[bytes, int]:
    name = _VOICE_FILES.get(language)
    if name is None:
        raise RenderError(
            f"no bundled voice prompt for language {language!r}",
            fix=f"use one of {', '.join(_VOICE_FILES)}, or pass your own clip with prompt=",
        )
    raw = (resources.files("synthmark.audio") / "prompts" / name).read_bytes()
    with wave.open(io.BytesIO(raw)) as clip:
        return clip.readframes(clip.getnframes()), clip.getframerate()


def _resample(x: Float, source: int, target: int) -> Float:
    """Band-limited resampling by zero-padding or truncating the spectrum (the clips start and
    end in silence, so the FFT's periodic extension adds nothing)."""
    if source == target or len(x) == 0:
        same: Float = x.copy()
        return same
    count = max(1, round(len(x) * target / source))
    spectrum = np.fft.rfft(x, axis=0)
    resized = np.zeros((count // 2 + 1, x.shape[1]), dtype=complex)
    keep = min(len(spectrum), len(resized))
    resized[:keep] = spectrum[:keep]
    return np.fft.irfft(resized, count, axis=0) * (count / len(x))


def voice_prompt(sample_rate: int, *, language: str = "zh", channels: int = 1) -> np.ndarray:
    """The bundled voice prompt as float32 ``(n, channels)`` at ``sample_rate``.

    ``language="zh"``: "人工智能生成" (2.7 s, 136 characters/min); ``"en"``: "AI generated
    content" (1.7 s). Both are espeak-ng speech stored at 16 kHz (see ``prompts/README.md``),
    peak-normalised to -3 dBFS; :func:`add_explicit_label` sets their loudness.

    Examples
    --------
    >>> voice_prompt(16000).shape
    (43123, 1)
    """
    rate = _check_rate(sample_rate)
    if channels < 1:
        raise RenderError(f"invalid channel count {channels!r}", fix="use 1 or more")
    frames, source = _voice_clip(language)
    clip = (np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0)[:, None]
    mono = _resample(clip, source, rate)
    return np.repeat(mono, channels, axis=1).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Placing prompts


Kind = Literal["rhythm", "voice"]
Level = Literal["match"] | float


def _prompt(
    programme: Float,
    sample_rate: int,
    *,
    kind: str,
    language: str,
    prompt: np.ndarray | None,
    level: Level,
) -> Float:
    """The prompt for ``programme``'s channels, leveled and faded (float64, 2-D)."""
    channels = programme.shape[1]
    if prompt is not None:
        clip = _as_float(prompt, "prompt")
        if clip.shape[1] == 1 and channels > 1:
            clip = np.repeat(clip, channels, axis=1)
        if clip.shape[1] != channels:
            raise RenderError(
                f"prompt has {clip.shape[1]} channels, the programme {channels}", fix="pass a mono or matching prompt"
            )
        fade = round(_JOIN_FADE * sample_rate)
        clip = _fade(clip, fade_in=fade, fade_out=fade)
    elif kind == "rhythm":
        clip = rhythm_prompt(sample_rate, channels=channels).astype(np.float64)
    elif kind == "voice":
        clip = voice_prompt(sample_rate, language=language, channels=channels).astype(np.float64)
    else:
        raise RenderError(f"unknown prompt kind {kind!r}", fix="use 'rhythm' or 'voice', or pass prompt=")
    if isinstance(level, str):
        if level != "match":
            raise RenderError(f"unknown level {level!r}", fix="use 'match' or a level in dBFS")
        target = _level(programme, sample_rate)
        if not math.isfinite(target):
            target = DEFAULT_LEVEL_DB
    elif isinstance(level, (int, float)) and not isinstance(level, bool) and -120.0 <= level <= 0.0:
        target = float(level)
    else:
        raise RenderError(f"invalid level {level!r}", fix="use 'match' or a level from -120 to 0 dBFS")
    return _set_level(clip, sample_rate, target)


def _gap(gap: float, sample_rate: int, channels: int) -> Float:
    if isinstance(gap, bool) or not isinstance(gap, (int, float)) or not 0.0 <= gap <= 60.0:
        raise RenderError(f"invalid gap {gap!r} s", fix="use 0 to 60 seconds")
    return np.zeros((round(gap * sample_rate), channels))


def add_explicit_label(
    samples: np.ndarray,
    sample_rate: int,
    *,
    kind: Kind = "rhythm",
    at: Literal["start", "end", "both"] | float = "start",
    gap: float = 0.2,
    language: str = "zh",
    prompt: np.ndarray | None = None,
    level: Level = "match",
) -> np.ndarray:
    """``samples`` with an audible AI prompt inserted (GB 45438-2025 5.3).

    Parameters
    ----------
    samples:
        The programme, ``(n,)`` or ``(n, channels)``, float32/float64 in [-1, 1] or int16. Not
        modified.
    sample_rate:
        Its rate in Hz.
    kind:
        ``"rhythm"`` (:func:`rhythm_prompt`, default) or ``"voice"`` (:func:`voice_prompt`).
    at:
        ``"start"`` (default), ``"end"``, ``"both"``, or a position in seconds from 0 to the
        programme's duration where the programme is split for the prompt.
    gap:
        Silence in seconds between the prompt and the programme on each side (default 0.2).
    language:
        Voice prompt language, ``"zh"`` (default) or ``"en"``.
    prompt:
        Your own prompt clip (mono or with the programme's channels, same rate); it replaces
        ``kind``. It must itself be a compliant voice or rhythm prompt.
    level:
        ``"match"`` (default): the prompt gets the RMS level of the programme's active parts
        (see :func:`active_level`; -20 dBFS for a silent programme); or a level in dBFS. Peaks
        that would pass -1 dBFS are limited (smooth look-ahead gain, at most 12 dB); a prompt
        needing more is quieter than asked.

    Returns
    -------
    numpy.ndarray
        A new array, longer than ``samples``, with the same dtype, dimensionality and channels.
        The programme's samples are copied unchanged except for 10 ms raised-cosine fades where
        it meets a gap, so no join clicks.

    Examples
    --------
    >>> programme = np.zeros((48000, 2), dtype=np.float32)
    >>> add_explicit_label(programme, 48000).shape  # 1.08 s prompt + 0.2 s gap + 1 s
    (109440, 2)
    """
    rate = _check_rate(sample_rate)
    x = _as_float(samples)
    clip = _prompt(x, rate, kind=kind, language=language, prompt=prompt, level=level)
    silence = _gap(gap, rate, x.shape[1])
    fade = round(_JOIN_FADE * rate)
    if at == "start":
        parts = [clip, silence, _fade(x, fade_in=fade)]
    elif at == "end":
        parts = [_fade(x, fade_out=fade), silence, clip]
    elif at == "both":
        parts = [clip, silence, _fade(x, fade_in=fade, fade_out=fade), silence, clip]
    elif isinstance(at, (int, float)) and not isinstance(at, bool) and 0 <= at <= len(x) / rate:
        split = round(at * rate)
        before, after = x[:split], x[split:]
        parts = [clip, silence] if len(before) == 0 else [_fade(before, fade_out=fade), silence, clip]
        if len(after):
            parts += [silence, _fade(after, fade_in=fade)]
    else:
        raise RenderError(
            f"invalid prompt position {at!r}",
            fix=f"use 'start', 'end', 'both' or seconds from 0 to {len(x) / rate:.3f}",
        )
    return _restore(np.concatenate(parts), samples)


def label_turn(
    samples: np.ndarray | None,
    sample_rate: int,
    *,
    kind: Kind = "rhythm",
    position: Literal["before", "after"] = "before",
    gap: float = 0.2,
    language: str = "zh",
    prompt: np.ndarray | None = None,
    level: Level = "match",
    channels: int = 1,
    dtype: npt.DTypeLike = np.float32,
) -> np.ndarray:
    """The prompt segment for one turn of a voice assistant or streaming TTS (GB 45438 5.3: "in
    voice assistants, per turn").

    Returns the prompt followed by ``gap`` seconds of silence (``position="before"``) or preceded
    by it (``"after"``), ready to be played or concatenated next to the turn, so a streaming
    backend never needs the whole turn. ``samples`` is the turn, or just its first chunk: only
    its level (``level="match"``), channels and dtype are used; with ``samples=None`` the segment
    has ``channels`` and ``dtype`` and the prompt sits at ``level`` (-20 dBFS for ``"match"``).
    The segment starts and ends in silence; a turn that does not start or end near silence
    should be faded by the caller. Other options are those of :func:`add_explicit_label`.

    Examples
    --------
    >>> segment = label_turn(None, 24000)
    >>> segment.shape, segment.dtype
    ((30720, 1), dtype('float32'))
    """
    rate = _check_rate(sample_rate)
    if samples is None:
        if channels < 1:
            raise RenderError(f"invalid channel count {channels!r}", fix="use 1 or more")
        like = np.zeros((0, channels), dtype=dtype)
    else:
        like = samples
    x = _as_float(like)
    clip = _prompt(x, rate, kind=kind, language=language, prompt=prompt, level=level)
    silence = _gap(gap, rate, x.shape[1])
    if position == "before":
        segment = np.concatenate([clip, silence])
    elif position == "after":
        segment = np.concatenate([silence, clip])
    else:
        raise RenderError(f"invalid turn position {position!r}", fix="use 'before' or 'after'")
    return _restore(segment, like)


# ---------------------------------------------------------------------------------------------
# Finding rhythm prompts


@dataclass(frozen=True)
class RhythmMatch:
    """One rhythm prompt found: ``start``/``end`` in seconds from the start of the input (first
    tone onset to last tone end), tone ``frequency`` in Hz, ``unit`` in seconds, and
    ``confidence`` in [0, 1] (the correlation of the tone's on/off envelope with the rhythm)."""

    start: float
    end: float
    frequency: float
    unit: float
    confidence: float


def _mono(samples: np.ndarray) -> Float:
    x = _as_float(samples)
    mono: Float = x.mean(axis=1)
    return mono


def _levels(x: Float, lo_bin: int, hi_bin: int, n_fft: int, hop: int, window: int) -> tuple[Float, Float]:
    """(magnitude spectrogram, tone envelope in dB) for bins lo_bin..hi_bin (frames x bins).

    The envelope is each bin's level (the louder of it and its two neighbours, so a tone between
    bins counts fully) in dB over the block's median level (or its peak level - 60 dB if higher),
    clipped to [0, 40]."""
    padded = np.pad(x, (window // 2, window // 2))
    count = 1 + max(0, len(padded) - window) // hop
    frames = np.lib.stride_tricks.sliding_window_view(padded, window)[::hop][:count]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(window), n_fft, axis=1))
    level = 20 * np.log10(spectrum[:, lo_bin - 1 : hi_bin + 2] + 1e-9)
    peak = np.maximum(level[:, 1:-1], np.maximum(level[:, :-2], level[:, 2:]))
    floor = max(float(np.median(level)), float(level.max()) - 60.0)  # digital silence is no floor
    return spectrum[:, lo_bin : hi_bin + 1], np.clip(peak - floor, 0.0, 40.0)


def _template(unit: int, letter_gap: int) -> tuple[Float, int]:
    """On/off template (frames) of the rhythm with 2 units of silence on each side; offset of
    the first tone."""
    spans = _tone_spans(1.0, letter_gap)
    length = int(spans[-1][0] + spans[-1][1]) + 4
    template = np.zeros(length * unit)
    for start, size in spans:
        template[int(start + 2) * unit : int(start + 2 + size) * unit] = 1.0
    return template, 2 * unit


def _segments(template: Float, trim: int) -> tuple[Runs, Runs]:
    """(tone runs, silent runs) of a template as (start, end) frames, ``trim`` frames shorter at
    each end so the analysis window's smear at the edges is left out."""
    edges = np.flatnonzero(np.diff(np.concatenate([[-1.0], template, [-1.0]])))
    on: Runs = []
    off: Runs = []
    for begin, end in itertools.pairwise(edges):
        run = (int(begin) + trim, int(end) - trim)
        if run[1] > run[0]:
            (on if template[begin] > 0.5 else off).append(run)
    return on, off


def _separation(column: npt.NDArray[np.floating], start: int, on: Runs, off: Runs) -> tuple[float, float]:
    """(quietest tone minus loudest silence, loudest tone minus quietest tone) in dB."""
    tones = [float(column[start + a : start + b].mean()) for a, b in on]
    gaps = [float(column[start + a : start + b].mean()) for a, b in off]
    return min(tones) - max(gaps), max(tones) - min(tones)


def _drift(spectrum: Float, first: int, on: Runs, column: int) -> float:
    """How far the tones' frequencies stray, in bins: the spread of the four tones' median
    peak positions (parabolic interpolation near ``column`` in each frame)."""
    lo, hi = max(1, column - 2), min(spectrum.shape[1] - 1, column + 3)
    medians = []
    for a, b in on:
        rows = spectrum[max(0, first + a) : max(0, first + b)]
        if len(rows) == 0:
            return math.inf
        level = np.log(rows[:, lo - 1 : hi + 1] + 1e-12)
        peak = np.argmax(level[:, 1:-1], axis=1) + 1
        index = np.arange(len(rows))
        left, centre, right = level[index, peak - 1], level[index, peak], level[index, peak + 1]
        curvature = left - 2 * centre + right
        offset = np.where(curvature < 0, 0.5 * (left - right) / np.where(curvature < 0, curvature, -1.0), 0.0)
        medians.append(float(np.median(peak + offset)))
    return max(medians) - min(medians)


def _accept(correlation: float, separation: float, spread: float, drift: float) -> bool:
    """Whether a candidate is a rhythm prompt (see :func:`find_rhythm_prompt`)."""
    return (
        correlation >= _MIN_CORRELATION
        and separation >= _MIN_SEPARATION_DB
        and spread <= _MAX_SPREAD_DB
        and drift <= _MAX_DRIFT_BINS
    )


@dataclass(frozen=True)
class _Analysis:
    """One block's spectrogram (frames x bins lo_bin.., magnitudes) and tone envelope (dB, every
    :data:`_STRIDE`-th bin, ``pad`` silent frames added at each end); frame i is centred at
    i * hop samples."""

    spectrum: Float
    envelope: npt.NDArray[np.float32]
    lo_bin: int
    n_fft: int
    hop: int
    window: int
    pad: int

    @classmethod
    def of(cls, x: Float, rate: int, freq_range: tuple[float, float], seconds: float, pad: int) -> _Analysis:
        hop = round(rate * _HOP)
        window = round(rate * seconds)
        n_fft = 1 << (window - 1).bit_length()
        lo_bin = max(1, math.floor(freq_range[0] * n_fft / rate))
        hi_bin = max(lo_bin, min(n_fft // 2 - 2, math.ceil(freq_range[1] * n_fft / rate)))
        spectrum, levels = _levels(x, lo_bin, hi_bin, n_fft, hop, window)
        envelope = np.pad(levels[:, ::_STRIDE], ((pad, pad), (0, 0))).astype(np.float32)
        return cls(spectrum, envelope, lo_bin, n_fft, hop, window, pad)


def _detect_block(
    x: Float, rate: int, offset: float, units: list[int], freq_range: tuple[float, float]
) -> list[tuple[float, RhythmMatch]]:
    """Rhythm prompts in one block of mono audio at the analysis rate, with their scores.

    Units under 95 ms are analysed with 25 ms windows, longer ones with 50 ms windows: the
    longer the tones, the finer the frequency resolution they allow, and the less music leaks
    into the tone's bin. Timing found with the long window is refined on the 25 ms analysis."""
    pad = 2 * max(units)
    fine = _Analysis.of(x, rate, freq_range, _WINDOWS[0][0], pad)
    found: list[tuple[float, RhythmMatch]] = []
    for seconds, (lo_unit, hi_unit) in _WINDOWS:
        group = [u for u in units if lo_unit <= u * _HOP < hi_unit]
        if group:
            analysis = fine if seconds == _WINDOWS[0][0] else _Analysis.of(x, rate, freq_range, seconds, pad)
            found += _detect_group(analysis, fine, rate, offset, group)
    return found


def _detect_group(
    analysis: _Analysis, fine: _Analysis, rate: int, offset: float, units: list[int]
) -> list[tuple[float, RhythmMatch]]:
    envelope, pad = analysis.envelope, analysis.pad
    frames = len(envelope)
    size = 1 << (frames + 16 * max(units)).bit_length()
    env_spectrum = np.fft.rfft(envelope, size, axis=0)
    zero = np.zeros((1, envelope.shape[1]))
    sums = np.concatenate([zero, np.cumsum(envelope, axis=0, dtype=np.float64)])
    squares = np.concatenate([zero, np.cumsum(np.square(envelope, dtype=np.float64), axis=0)])
    trim = max(1, analysis.window // analysis.hop // 2)
    found: list[tuple[float, RhythmMatch]] = []
    for unit in units:
        for letter_gap in (1, 3):
            template, lead = _template(unit, letter_gap)
            length = len(template)
            if length > frames:
                continue
            on = float(template.sum())
            centred = (template - on / length).astype(np.float32)
            norm = float(np.sqrt(np.sum(centred**2)))
            kernel = np.fft.rfft(centred[::-1], size)
            # raw[s] = sum of the envelope x centred template over the window starting at s.
            raw = np.fft.irfft(env_spectrum * kernel[:, None], size, axis=0)[length - 1 : frames]
            window_sum = sums[length:] - sums[:-length]
            variance = (squares[length:] - squares[:-length] - window_sum**2 / length).astype(np.float32)
            # Tones' mean level minus silences' mean level is raw * length / (on * (length - on)).
            loud_enough = raw >= _MIN_CONTRAST_DB * on * (length - on) / length
            score = np.where(loud_enough, raw / (norm * np.sqrt(np.maximum(variance, 1e-6))), 0.0)
            best_bin = np.argmax(score, axis=1)
            best = score[np.arange(len(score)), best_bin]
            on_runs, off_runs = _segments(template, trim)
            for start in np.flatnonzero(best >= _MIN_CORRELATION):
                if best[start] < best[max(0, start - unit) : start + unit + 1].max():
                    continue  # not the local maximum in time
                column = int(best_bin[start])
                separation, spread = _separation(envelope[:, column], int(start), on_runs, off_runs)
                confidence = float(best[start])
                drift = _drift(analysis.spectrum, int(start) - pad, on_runs, _STRIDE * column)
                if not _accept(confidence, separation, spread, drift):
                    continue
                where = _Where(int(start) + lead - pad, _STRIDE * column + analysis.lo_bin, unit, letter_gap)
                if fine is not analysis:
                    where = _refine(fine, where, where.bin * rate / analysis.n_fft, rate)
                spectrum, lo_bin, n_fft = analysis.spectrum, analysis.lo_bin, analysis.n_fft
                found.append(
                    (confidence, _match(spectrum, lo_bin, where, rate, n_fft, analysis.hop, offset, confidence))
                )
    return found


def _refine(fine: _Analysis, where: _Where, frequency: float, rate: int) -> _Where:
    """``where`` with its onset and unit re-fitted (within 2 frames of unit, 6 of onset) on the
    short-window envelope, whose edges are sharper."""
    column = round((frequency * fine.n_fft / rate - fine.lo_bin) / _STRIDE)
    column = min(max(column, 0), fine.envelope.shape[1] - 1)
    best = (-2.0, where.first, where.unit)
    for unit in range(max(2, where.unit - 2), where.unit + 3):
        template, lead = _template(unit, where.letter_gap)
        centred = template - template.mean()
        for first in range(where.first - 6, where.first + 7):
            start = first - lead + fine.pad
            if start < 0 or start + len(template) > len(fine.envelope):
                continue
            values = fine.envelope[start : start + len(template), column].astype(np.float64)
            spread = float(np.sqrt(np.sum((values - values.mean()) ** 2)))
            score = float(values @ centred) / (spread * float(np.sqrt(centred @ centred))) if spread > 0 else -1.0
            if score > best[0]:
                best = (score, first, unit)
    return _Where(best[1], where.bin, best[2], where.letter_gap)


@dataclass(frozen=True)
class _Where:
    first: int  # frame of the first tone's onset
    bin: int  # spectrum bin of the tone
    unit: int  # frames
    letter_gap: int  # units


def _match(
    spectrum: Float, lo_bin: int, where: _Where, rate: int, n_fft: int, hop: int, offset: float, confidence: float
) -> RhythmMatch:
    """The match's times and tone frequency: the peak of the tones' power over the silences'
    power, refined by a parabola through the peak bin and its neighbours."""
    template, lead = _template(where.unit, where.letter_gap)
    start = where.first - lead
    inside = [i for i in range(len(template)) if 0 <= start + i < len(spectrum)]
    on = [start + i for i in inside if template[i] > 0.5]
    off = [start + i for i in inside if template[i] < 0.5]
    power = spectrum**2
    excess = power[on].mean(axis=0) - (power[off].mean(axis=0) if off else 0.0)
    centre = where.bin - lo_bin
    lo, hi = max(0, centre - 4), min(len(excess), centre + 5)
    peak = lo + int(np.argmax(excess[lo:hi]))
    delta = 0.0
    if 0 < peak < len(excess) - 1 and np.all(excess[peak - 1 : peak + 2] > 0):
        a, b, c = np.log(excess[peak - 1 : peak + 2])
        denominator = a - 2 * b + c
        delta = float(0.5 * (a - c) / denominator) if denominator < 0 else 0.0
    seconds = hop / rate
    begin = offset + where.first * seconds
    return RhythmMatch(
        start=round(begin, 4),
        end=round(begin + (8 + where.letter_gap) * where.unit * seconds, 4),
        frequency=round((lo_bin + peak + delta) * rate / n_fft, 1),
        unit=round(where.unit * seconds, 4),
        confidence=round(min(1.0, confidence), 3),
    )


def find_rhythm_prompt(
    samples: np.ndarray,
    sample_rate: int,
    *,
    unit: float | None = None,
    frequency: float | None = None,
) -> list[RhythmMatch]:
    """Every rhythm prompt "short-long-short-short" in ``samples``, in time order.

    Parameters
    ----------
    samples:
        ``(n,)`` or ``(n, channels)`` (channels are averaged), float in [-1, 1] or int16.
    sample_rate:
        Its rate in Hz.
    unit:
        The unit in seconds if known; by default any unit from 60 to 200 ms (5 ms steps).
    frequency:
        The tone frequency in Hz if known; by default any tone from 300 to 4000 Hz.

    Both gap styles are found: 1-unit gaps throughout (:func:`rhythm_prompt`) and a 3-unit
    Morse letter gap between "·−" and "··".

    How: the signal is analysed at 12 kHz (or its own rate if lower) in Hann windows every
    5 ms (25 ms long for units under 95 ms, 50 ms for longer ones); each frequency bin's level
    in dB is a tone envelope, correlated (Pearson) with the rhythm's on/off template, 2 silent
    units on each side, for every unit. A match needs a correlation of at least 0.78, tones on
    average 4 dB over the silences, the quietest tone 3 dB over the loudest silence, the four
    tones within 6 dB of each other and within half a bin of the same frequency. Speech and
    music, whose partials neither hold one pitch nor keep this rhythm, fail these: no match in
    the five fixtures (158 s of speech and music) nor in 84 Debian system sounds (159 s).
    A prompt much quieter than music at its own frequency can be missed: at -30 dBFS, 15-18 dB
    under the fixtures' music and speech, about 2 in 3 default prompts (1046.5 Hz) are found,
    nearly all at 1.5 kHz and above, few at 500 Hz and below.

    Examples
    --------
    >>> rate = 16000
    >>> quiet = np.zeros(rate, dtype=np.float32)
    >>> labeled = add_explicit_label(quiet, rate, level=-20.0)
    >>> [(round(m.start, 1), m.unit, abs(m.frequency - 1046.5) < 3) for m in find_rhythm_prompt(labeled, rate)]
    [(0.0, 0.12, True)]
    """
    rate = _check_rate(sample_rate)
    mono = _mono(samples)
    if unit is not None and not 0.02 <= unit <= 1.0:
        raise RenderError(f"rhythm unit {unit!r} s is out of range", fix="use 0.02 to 1.0 s")
    analysis_rate = min(rate, _ANALYSIS_RATE)
    nyquist_room = analysis_rate / 2 - 200
    if frequency is None:
        freq_range = (_FREQUENCIES[0], min(_FREQUENCIES[1], nyquist_room))
    elif 20.0 <= frequency <= nyquist_room:
        freq_range = (frequency * 0.97, frequency * 1.03)
    else:
        raise RenderError(f"tone frequency {frequency!r} Hz is out of range", fix=f"use 20 to {nyquist_room:.0f} Hz")
    hop = _HOP
    if unit is None:
        units = list(range(round(_UNITS[0] / hop), round(_UNITS[1] / hop) + 1))
    else:
        units = [max(2, round(unit / hop))]
    block = round(_DETECT_BLOCK * rate)
    overlap = round((13 * max(units) * hop + 1.0) * rate)
    found: list[tuple[float, RhythmMatch]] = []
    start = 0
    while True:
        piece = mono[start : start + block + overlap]
        if len(piece) == 0:
            break
        resampled = _resample(piece[:, None], rate, analysis_rate)[:, 0] if rate != analysis_rate else piece
        found += _detect_block(resampled, analysis_rate, start / rate, units, freq_range)
        if start + block + overlap >= len(mono):
            break
        start += block
    accepted: list[RhythmMatch] = []
    for _, match in sorted(found, key=lambda item: -item[0]):
        if all(match.end <= other.start or match.start >= other.end for other in accepted):
            accepted.append(match)
    return sorted(accepted, key=lambda m: m.start)


# ---------------------------------------------------------------------------------------------
# Finding synthmark's own voice prompts

#: Playback speeds :func:`find_voice_prompt` undoes: resampling (tempo and pitch together), as a
#: tape or a "1.05x" resampler plays it; 1.05 is 5 % faster. A pitch-keeping time stretch is
#: not modelled (see :func:`find_voice_prompt`).
VOICE_SPEEDS = (0.94, 1.06)
#: ``synthmark.audio.find_explicit`` runs :func:`find_rhythm_prompt` (about 20x real time on one
#: core) over the whole of a recording up to this long (seconds); on a longer one, over the first
#: and the last :data:`RHYTHM_EDGE_SCAN` seconds only, where ``add_explicit_label`` puts a start or
#: end prompt. The voice prompt detector (several hundred times real time) always scans it all.
RHYTHM_FULL_SCAN = 600.0
RHYTHM_EDGE_SCAN = 120.0

# Voice detector. Everything is analysed at 8 kHz mono, frames every 10 ms.
_V_RATE = 8000
_V_HOP = 80
# Stage 1 (every frame, every prompt, 7 speeds): a 28-band mel spectrogram, 250-3800 Hz, 32 ms
# Hann windows, in dB with a floor 30 dB under the loudest frame within 1 s; each band centred
# over the template's length (so a filter or an equaliser does not matter) and correlated with
# the prompt's (normalised cross-correlation, by FFT). Peaks >= 0.6 are candidates.
_V_MEL_FFT = 256
_V_MEL_BANDS = 28
_V_MEL_RANGE = (250.0, 3800.0)
_V_COARSE_FLOOR_DB = 30.0
_V_REFERENCE_FRAMES = 100
_V_COARSE_SPEEDS = tuple(round(0.94 + 0.02 * i, 3) for i in range(7))
_V_CANDIDATE = 0.6
_V_PEAK_DISTANCE = 50
# Stage 2 (each candidate): a 64 ms-window spectrum, 250-3000 Hz in 15.6 Hz bins (the voice's
# harmonics resolved), in dB with a floor 20 dB under the window's loudest frame, centred per
# bin and per frame (so filters and the prompt limiter's slow gain changes drop out); only the
# 30 % loudest cells of the template are compared (where the prompt stands above added noise or
# music). Searched over speeds in 0.005 steps (+-0.02 around stage 1's), +-5 frames and 2.5 ms
# sub-frame steps.
_V_FINE_FFT = 512
_V_FINE_RANGE = (250.0, 3000.0)
_V_FINE_FLOOR_DB = 20.0
_V_FINE_STEP = 0.005
_V_FINE_REACH = 4
_V_PHASES = 4
_V_SHIFT = 5
_V_MASK = 0.3
_V_SEGMENT = 0.45
# Acceptance (see find_voice_prompt for the measurements behind them).
_V_MIN_SCORE = 0.84
_V_MIN_SEGMENT = 0.70
_V_MAX_EDGE_DB = -8.0
# The bundled clips start and end with 30 ms of silence (prompts/README.md: ``pad 0.03 0.03``);
# the edge check measures 5-25 ms into each, in 250-3000 Hz, against 20 ms blocks of the speech.
_V_LEAD = 0.03
_V_EDGE = (0.005, 0.025)
_V_LEVEL_BLOCK = 160
_V_BLOCK = 60.0


@dataclass(frozen=True)
class VoiceMatch:
    """One of synthmark's voice prompts found by :func:`find_voice_prompt`.

    ``start``/``end``: the spoken part, seconds from the start of the input (the clip's 30 ms
    lead-in and lead-out of silence left out); ``language``: which bundled prompt (``"zh"``
    "人工智能生成", ``"en"`` "AI generated content"), ``text`` its words; ``speed``: the playback
    speed it was found at (0.94-1.06, 1.0 as made; 1.05 is 5 % faster and higher); ``score``: the
    stage-2 correlation with the prompt, 0.84-1.0 for a match (1.0 for the unaltered clip);
    ``weakest_part``: the lowest correlation of its ~0.45 s parts (every syllable must be there);
    ``edge_db``: the louder of the clip's silent lead-in and lead-out, dB relative to its speech
    (an embedded phrase has speech there)."""

    start: float
    end: float
    language: str
    text: str
    speed: float
    score: float
    weakest_part: float
    edge_db: float


def _mel_bank(n_fft: int, bands: int, low: float, high: float) -> Float:
    """Triangular mel filters, (n_fft // 2 + 1, bands), each summing to 1."""

    def mel(f: Float) -> Float:
        out: Float = 2595.0 * np.log10(1.0 + f / 700.0)
        return out

    freqs = np.arange(n_fft // 2 + 1) * _V_RATE / n_fft
    points = mel(np.array([low, high]))
    edges = 700.0 * (10 ** (np.linspace(points[0], points[1], bands + 2) / 2595.0) - 1.0)
    bank = np.zeros((len(freqs), bands))
    for b in range(bands):
        left, centre, right = edges[b], edges[b + 1], edges[b + 2]
        bank[:, b] = np.clip(np.minimum((freqs - left) / (centre - left), (right - freqs) / (right - centre)), 0, None)
    bank /= np.maximum(bank.sum(axis=0, keepdims=True), 1e-12)
    return bank


_MEL_BANK = _mel_bank(_V_MEL_FFT, _V_MEL_BANDS, *_V_MEL_RANGE)
_FINE_BINS = (round(_V_FINE_RANGE[0] * _V_FINE_FFT / _V_RATE), round(_V_FINE_RANGE[1] * _V_FINE_FFT / _V_RATE))


def _power_frames(x: Float, first: int, count: int, n_fft: int) -> Float:
    """Power spectra (count, n_fft // 2 + 1) of Hann windows centred at ``first + k * hop``
    samples of ``x`` (zeros outside it)."""
    begin = first - n_fft // 2
    need = (count - 1) * _V_HOP + n_fft
    segment = np.zeros(need)
    lo, hi = max(0, begin), min(len(x), begin + need)
    if hi > lo:
        segment[lo - begin : hi - begin] = x[lo:hi]
    frames = np.lib.stride_tricks.sliding_window_view(segment, n_fft)[::_V_HOP][:count]
    spectrum = np.fft.rfft(frames * np.hanning(n_fft), axis=1)
    power: Float = spectrum.real**2 + spectrum.imag**2
    return power


def _coarse_features(x: Float) -> Float:
    """Stage-1 features of 8 kHz audio: (frames, bands) mel levels in dB, frame i centred at
    sample i * hop, floored 30 dB under the loudest frame within +-1 s."""
    count = len(x) // _V_HOP + 1
    mel = _power_frames(x, 0, count, _V_MEL_FFT) @ _MEL_BANK
    energy = np.pad(mel.mean(axis=1), _V_REFERENCE_FRAMES)
    reference = np.lib.stride_tricks.sliding_window_view(energy, 2 * _V_REFERENCE_FRAMES + 1).max(axis=1)
    floor = np.maximum(reference * 10 ** (-_V_COARSE_FLOOR_DB / 10), 1e-12)
    levels: Float = 10 * np.log10(mel + floor[:, None])
    return levels


def _fine_levels(power: Float, reference: float) -> Float:
    """Stage-2 levels in dB: ``power`` floored 20 dB under ``reference`` (a frame's mean power)."""
    levels: Float = 10 * np.log10(power + max(reference * 10 ** (-_V_FINE_FLOOR_DB / 10), 1e-20))
    return levels


def _double_centre(levels: Float) -> Float:
    """``levels`` less each frame's mean and each bin's mean (plus the grand mean)."""
    centred: Float = levels - levels.mean(axis=1, keepdims=True) - levels.mean(axis=0, keepdims=True) + levels.mean()
    return centred


@dataclass(frozen=True)
class _VoiceTemplate:
    """A bundled prompt played at ``speed``, analysed as the detector analyses audio."""

    language: str
    speed: float
    samples: int  # the clip's length at 8 kHz
    coarse: Float  # (frames, bands), each band centred
    coarse_norm: float
    mask: npt.NDArray[np.bool_]  # (frames, bins): the cells stage 2 compares
    cells: npt.NDArray[np.intp]  # the same cells as flat indices
    fine: Float  # (frames, bins) double-centred stage-2 levels
    values: Float  # fine[mask], zero mean, unit norm
    parts: tuple[tuple[int, int], ...]  # frame ranges of the ~0.45 s parts


@lru_cache(maxsize=96)
def _voice_template(language: str, speed: float) -> _VoiceTemplate:
    frames, source = _voice_clip(language)
    clip = (np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0)[:, None]
    # Played at ``speed``: its samples read at speed x the rate, resampled to the analysis rate.
    x = _resample(clip, round(source * speed), _V_RATE)[:, 0]
    count = -(-len(x) // _V_HOP)
    coarse = _coarse_features(np.pad(x, _V_RATE))[_V_RATE // _V_HOP :][:count]
    coarse = coarse - coarse.mean(axis=0)
    power = _power_frames(x, 0, count, _V_FINE_FFT)[:, _FINE_BINS[0] : _FINE_BINS[1]]
    levels = _fine_levels(power, float(power.mean(axis=1).max()))
    mask = levels >= np.quantile(levels, 1.0 - _V_MASK)
    fine = _double_centre(levels)
    values = fine[mask] - fine[mask].mean()
    values /= math.sqrt(_dot(values, values))
    n_parts = max(1, round(len(x) / _V_RATE / speed / _V_SEGMENT))
    edges = np.linspace(0, count, n_parts + 1).astype(int)
    parts = tuple((int(a), int(b)) for a, b in itertools.pairwise(edges))
    norm = math.sqrt(float(np.sum(coarse**2)))
    return _VoiceTemplate(language, speed, len(x), coarse, norm, mask, np.flatnonzero(mask), fine, values, parts)


def _dot(a: Float, b: Float) -> float:
    """The dot product of two vectors (einsum: BLAS is slow on short vectors in some builds)."""
    return float(np.einsum("i,i->", a, b))


def _coarse_scores(
    features: Float, spectrum: npt.NDArray[np.complex128], sums: tuple[Float, Float], t: _VoiceTemplate
) -> Float:
    """Stage-1 correlation of ``t`` with the features at every start frame (-1 where it does
    not fit), by FFT; ``spectrum`` is the features' FFT along time, ``sums`` their cumulative
    sums and sums of squares (with a zero first row)."""
    frames, length = len(features), len(t.coarse)
    scores = np.full(frames, -1.0)
    if length > frames:
        return scores
    size = 2 * (spectrum.shape[0] - 1)
    raw = np.fft.irfft((spectrum * _coarse_kernel(t.language, t.speed, size)).sum(axis=1), size)[length - 1 : frames]
    total, squares = sums
    window, window_sq = total[length:] - total[:-length], squares[length:] - squares[:-length]
    variance = window_sq - np.sum(window**2, axis=1) / length
    scores[: len(raw)] = raw / (t.coarse_norm * np.sqrt(np.maximum(variance, 1e-9)))
    return scores


@lru_cache(maxsize=64)
def _coarse_kernel(language: str, speed: float, size: int) -> npt.NDArray[np.complex128]:
    """FFT (length ``size``) of the time-reversed stage-1 template."""
    kernel: npt.NDArray[np.complex128] = np.fft.rfft(_voice_template(language, speed).coarse[::-1], size, axis=0)
    return kernel


def _part_scores(levels: Float, t: _VoiceTemplate) -> list[float]:
    """Correlation of each ~0.45 s part of the window with the template's, on the compared cells."""
    centred = _double_centre(levels)
    out = []
    for a, b in t.parts:
        mask = t.mask[a:b]
        x, y = centred[a:b][mask], t.fine[a:b][mask]
        if len(x) < 2:
            continue
        x, y = x - x.mean(), y - y.mean()
        out.append(_dot(x, y) / math.sqrt(max(_dot(x, x) * _dot(y, y), 1e-24)))
    return out


def _edge_db(x: Float, start: int, t: _VoiceTemplate) -> float:
    """The louder of the clip's lead-in and lead-out (5-25 ms into each, 250-3000 Hz) in dB
    relative to the mean power of its speech's 20 ms blocks within 20 dB of the loudest."""
    n = t.samples
    segment = np.zeros(n)
    lo, hi = max(0, start), min(len(x), start + n)
    if hi > lo:
        segment[lo - start : hi - start] = x[lo:hi]
    spectrum = np.fft.rfft(segment)
    freqs = np.fft.rfftfreq(n, 1.0 / _V_RATE)
    spectrum[(freqs < _V_FINE_RANGE[0]) | (freqs > _V_FINE_RANGE[1])] = 0.0
    band = np.fft.irfft(spectrum, n)
    a, b, lead = (round(v / t.speed * _V_RATE) for v in (*_V_EDGE, _V_LEAD))
    body = band[lead : n - lead]
    count = len(body) // _V_LEVEL_BLOCK
    blocks = np.mean(body[: count * _V_LEVEL_BLOCK].reshape(count, _V_LEVEL_BLOCK) ** 2, axis=1)
    active = float(blocks[blocks > blocks.max() * 1e-2].mean()) if count and blocks.max() > 0 else 0.0
    edge = max(float(np.mean(band[a:b] ** 2)), float(np.mean(band[n - b : n - a] ** 2)))
    return 10 * math.log10((edge + 1e-30) / (active + 1e-30))


def _refine_voice(x: Float, first: int, language: str, speed: float) -> tuple[float, int, _VoiceTemplate]:
    """Stage 2 around a candidate (clip start near sample ``first``, speed near ``speed``): the
    best (score, clip start sample, template). Speeds and frame shifts are searched on the frame
    grid first, then the best speed and shift +-1 step at every sub-frame phase."""
    centre = round((speed - 1.0) / _V_FINE_STEP)
    lowest, highest = round((VOICE_SPEEDS[0] - 1.0) / _V_FINE_STEP), round((VOICE_SPEEDS[1] - 1.0) / _V_FINE_STEP)
    steps = [k for k in range(centre - _V_FINE_REACH, centre + _V_FINE_REACH + 1) if lowest <= k <= highest]
    templates = {k: _voice_template(language, round(1.0 + k * _V_FINE_STEP, 3)) for k in steps}
    longest = max(len(t.fine) for t in templates.values())

    def levels_at(phase: int) -> tuple[int, Float]:
        begin = first + phase * _V_HOP // _V_PHASES - _V_SHIFT * _V_HOP
        power = _power_frames(x, begin, longest + 2 * _V_SHIFT + 2, _V_FINE_FFT)[:, _FINE_BINS[0] : _FINE_BINS[1]]
        return begin, _fine_levels(power, float(power[_V_SHIFT : _V_SHIFT + longest].mean(axis=1).max()))

    def score(levels: Float, shift: int, t: _VoiceTemplate) -> float:
        window = np.take(_double_centre(levels[shift : shift + len(t.fine)]), t.cells)
        window -= window.mean()
        norm = math.sqrt(_dot(window, window))
        return _dot(window, t.values) / norm if norm > 0 else -1.0

    begin, levels = levels_at(0)
    grid = [(score(levels, shift, t), k, shift) for k, t in templates.items() for shift in range(2 * _V_SHIFT + 1)]
    _, step, shift = max(grid)
    best: tuple[float, int, _VoiceTemplate] = (-2.0, first, templates[step])
    for phase in range(_V_PHASES):
        begin, levels = levels_at(phase)
        for k in (step - 1, step, step + 1):
            if k not in templates:
                continue
            for s in range(max(0, shift - 1), min(2 * _V_SHIFT, shift + 1) + 1):
                value = score(levels, s, templates[k])
                if value > best[0]:
                    best = (value, begin + s * _V_HOP, templates[k])
    return best


def _find_voice_block(x: Float, offset: float, languages: tuple[str, ...]) -> list[VoiceMatch]:
    """Voice prompts in one block of 8 kHz mono audio starting ``offset`` seconds into the input."""
    features = _coarse_features(x)
    frames = len(features)
    shortest = min(len(_voice_template(lang, _V_COARSE_SPEEDS[-1]).coarse) for lang in languages)
    if frames < shortest:
        return []
    longest = max(len(_voice_template(lang, _V_COARSE_SPEEDS[0]).coarse) for lang in languages)
    size = 1 << (frames + longest).bit_length()
    spectrum = np.fft.rfft(features, size, axis=0)
    zero = np.zeros((1, features.shape[1]))
    sums = (
        np.concatenate([zero, np.cumsum(features, axis=0)]),
        np.concatenate([zero, np.cumsum(features**2, axis=0)]).sum(axis=1),
    )
    found = []
    for language in languages:
        templates = [_voice_template(language, speed) for speed in _V_COARSE_SPEEDS]
        scores = np.stack([_coarse_scores(features, spectrum, sums, t) for t in templates])
        best, which = scores.max(axis=0), scores.argmax(axis=0)
        for start in np.flatnonzero(best >= _V_CANDIDATE):
            if best[start] < best[max(0, start - _V_PEAK_DISTANCE) : start + _V_PEAK_DISTANCE + 1].max():
                continue
            score, first, t = _refine_voice(x, int(start) * _V_HOP, language, templates[int(which[start])].speed)
            if score < _V_MIN_SCORE:
                continue
            power = _power_frames(x, first, len(t.fine), _V_FINE_FFT)[:, _FINE_BINS[0] : _FINE_BINS[1]]
            parts = _part_scores(_fine_levels(power, float(power.mean(axis=1).max())), t)
            weakest = min(parts, default=-1.0)
            edge = _edge_db(x, first, t)
            if weakest < _V_MIN_SEGMENT or edge > _V_MAX_EDGE_DB:
                continue
            lead = _V_LEAD / t.speed
            begin = offset + first / _V_RATE
            found.append(
                VoiceMatch(
                    start=round(begin + lead, 3),
                    end=round(begin + t.samples / _V_RATE - lead, 3),
                    language=language,
                    text=VOICE_LANGUAGES[language],
                    speed=t.speed,
                    score=round(min(1.0, score), 3),
                    weakest_part=round(min(1.0, weakest), 3),
                    edge_db=round(edge, 1),
                )
            )
    return found


def _smooth(n: int) -> bool:
    """Whether ``n`` has no prime factor over 7 (numpy's FFT is fast on such lengths)."""
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


def _resample_length(n: int, rate: int) -> int:
    """A length >= ``n`` samples at ``rate`` that is, like its length at 8 kHz, a whole number
    with no prime factor over 7: zero-padded to it, a block resamples fast by FFT."""
    common = math.gcd(rate, _V_RATE)
    step, target = rate // common, _V_RATE // common
    if not _smooth(step * target):  # an odd rate: make the input length fast at least
        return next(m for m in itertools.count(n) if _smooth(m))
    k = -(-n // step)
    while not _smooth(k):
        k += 1
    return k * step


def _block_at_analysis_rate(samples: np.ndarray, begin: int, end: int, rate: int) -> Float:
    """``samples[begin:end]``, channels averaged, as float64 at 8 kHz. The block is zero-padded
    to a fast FFT length before the (FFT) resampling, and the padding cut off again."""
    chunk = samples[begin:end]
    if chunk.ndim == 1:
        mono = chunk.astype(np.float64)
    else:
        mono = chunk[:, 0].astype(np.float64)
        for channel in range(1, chunk.shape[1]):
            mono += chunk[:, channel]
        mono /= chunk.shape[1]
    if chunk.dtype == np.int16:
        mono /= 32768.0
    if rate == _V_RATE:
        return mono
    padded = np.pad(mono, (0, _resample_length(len(mono), rate) - len(mono)))
    return _resample(padded[:, None], rate, _V_RATE)[: round(len(mono) * _V_RATE / rate), 0]


def find_voice_prompt(
    samples: np.ndarray, sample_rate: int, *, languages: tuple[str, ...] = ("zh", "en")
) -> list[VoiceMatch]:
    """Every one of synthmark's own voice prompts (:func:`voice_prompt`) in ``samples``, in time order.

    Parameters
    ----------
    samples:
        ``(n,)`` or ``(n, channels)`` (channels are averaged), float in [-1, 1] or int16, any
        length; at least 8 kHz for the prompt's 250-3000 Hz to be there.
    sample_rate:
        Its rate in Hz.
    languages:
        The bundled prompts to look for (default both, ``"zh"`` and ``"en"``).

    How: the audio is cut into 60 s blocks (overlapping by the longest prompt plus 1 s, so a
    prompt across a block edge is seen whole) and analysed at 8 kHz in frames every 10 ms.
    Stage 1 correlates a 28-band log-mel spectrogram (250-3800 Hz, each band centred, so an
    equaliser or a filter drops out) with each prompt played at 7 speeds from 0.94 to 1.06
    (resampling: tempo and pitch together), by FFT over every frame; peaks of 0.6 or more are
    candidates. Stage 2 re-analyses each candidate with 64 ms windows (harmonics resolved,
    250-3000 Hz), each frame's and each bin's mean removed (so filters and gain changes, the
    prompt limiter's included, drop out), compares only the prompt's loudest 30 % of cells
    (where it stands above noise or music mixed in), over speeds in 0.005 steps, +-5 frames and
    2.5 ms phases. A match needs a score (correlation) of at least 0.84, every ~0.45 s part of
    the prompt at least 0.70 (one word different fails) and the clip's 30 ms lead-in and
    lead-out at least 8 dB quieter than its speech (the words said inside a longer phrase fail).

    Measured (by hand; ``tests/audio/test_voice_prompt.py`` runs a subset): each prompt at both
    ends (0.2 s and no gap) and in the middle of 10 s of the four fixture recordings, through
    every transformation of ``synthmark.transforms.audio`` but the crop (MP3 128/64, AAC, Opus
    32, 16 kHz, gain +6/-10, noise 20 dB, 4 kHz low-pass, 200 Hz high-pass, shift, mix 10 dB
    under, 5 % faster; noise and mix with 5 seeds): 880 of 880 found, at the right place and
    language; lowest score 0.873 (gain +6 clipping a prompt that was limited to match the loud
    electronic master), lowest part 0.82, loudest lead-in -11.3 dB (mix). Playback speeds 0.94
    to 1.06 and input rates 16-48 kHz, mono and stereo, as well. On 220 minutes of real speech
    (Asterisk prompts in English, Spanish, French, Italian and Russian), game music and sounds,
    and the fixtures: no match, highest stage-2 score 0.12. Of 59 espeak-ng 1.51 recordings
    that are not the prompt (other phrases; the same words in other voices or at other rates;
    the words inside longer phrases), 57 were refused: one word different (人工智能合成) by its
    weakest part (0.01); the en-gb-x-rp voice by its score (0.79); cmn at 142 words/min by its
    weakest part (0.696); 由人工智能生成 and 人工智能生成内容 by their lead-in or lead-out (-4.4 dB or
    louder). The two it cannot tell apart: en at 148 words/min (1.3 % off the prompt's rate,
    score 0.97) and "AI generated contents" (the prompt and a sibilant above the band it
    analyses). Said by espeak-ng with its own command, the prompt is found, also before a pause
    and more words.

    Not found: a pitch-keeping time stretch (only resampling-type speed changes are undone;
    FFmpeg's atempo at 0.98-1.02 left 10 of 16 prompts found, at 0.97 and 1.03 none), a prompt
    cut by an edit, prompts much quieter than music over them,
    other voices' or other words' spoken labels (``find_explicit`` says so).

    Speed (one core): about 300x real time at 44.1-48 kHz stereo (the resampling to 8 kHz is
    most of it), 850x at 16 kHz, 1000x and more at 8 kHz; each candidate (a prompt, or
    something close to one) costs 0.02-0.1 s more.

    Examples
    --------
    >>> rate = 16000
    >>> quiet = np.zeros(rate, dtype=np.float32)
    >>> labeled = add_explicit_label(quiet, rate, kind="voice", language="en", at="end", level=-20.0)
    >>> [(m.language, round(m.start, 2), m.score > 0.99) for m in find_voice_prompt(labeled, rate)]
    [('en', 1.23, True)]
    """
    rate = _check_rate(sample_rate)
    for language in languages:
        if language not in _VOICE_FILES:
            raise RenderError(f"no bundled voice prompt for language {language!r}", fix="use 'zh' and/or 'en'")
    _as_float(samples[:0] if isinstance(samples, np.ndarray) else samples)  # validates type, dtype, shape
    if not languages or len(samples) == 0:
        return []
    longest = max(len(voice_prompt(_V_RATE, language=lang)) for lang in languages) / _V_RATE / VOICE_SPEEDS[0]
    block = round(_V_BLOCK * rate)
    overlap = round((longest + 1.0) * rate)
    found: list[VoiceMatch] = []
    start = 0
    while True:
        x = _block_at_analysis_rate(samples, start, start + block + overlap, rate)
        found += _find_voice_block(x, start / rate, tuple(languages))
        if start + block + overlap >= len(samples):
            break
        start += block
    accepted: list[VoiceMatch] = []
    for match in sorted(found, key=lambda m: -m.score):
        if all(match.end <= other.start or match.start >= other.end for other in accepted):
            accepted.append(match)
    return sorted(accepted, key=lambda m: m.start)
