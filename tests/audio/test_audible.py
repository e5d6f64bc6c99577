"""The explicit audio label (GB 45438-2025 5.3): rhythm and voice prompts, placement, fades,
loudness, dtypes and channels, the per-turn API, and the rhythm detector's hits and misses."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from synthmark.audio.audible import (
    DEFAULT_FREQUENCY,
    DEFAULT_UNIT,
    PEAK_LIMIT,
    RhythmMatch,
    active_level,
    add_explicit_label,
    find_rhythm_prompt,
    label_turn,
    rhythm_prompt,
    voice_prompt,
)
from synthmark.errors import RenderError
from tests.audio.test_containers import FIXTURES, decode, encode

FADE = 0.010


def _load(name: str, start: float = 0.0, seconds: float | None = None) -> tuple[np.ndarray, int]:
    """A fixture (or an excerpt of it) as (n, channels) float32, and its rate."""
    samples, rate = decode((FIXTURES / name).read_bytes())
    end = None if seconds is None else round((start + seconds) * rate)
    return np.ascontiguousarray(samples.T[round(start * rate) : end]), rate


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    return _load("speech_en_female.flac", 0.0, 3.0)  # 44.1 kHz mono, speech from 0.5 s


@pytest.fixture(scope="module")
def music() -> tuple[np.ndarray, int]:
    return _load("music_orchestral.flac", 0.0, 4.0)  # 44.1 kHz stereo, active level -15.5 dBFS


def _runs(mono: np.ndarray) -> list[tuple[int, int, bool]]:
    """(start, length, sounding) runs of a prompt whose silences are exact zeros (a tone's
    own zero samples, such as its first one, count as sounding)."""
    sounding = np.convolve(mono != 0, np.ones(5), mode="same") > 0
    edges = np.flatnonzero(np.diff(sounding.astype(int))) + 1
    bounds = [0, *edges.tolist(), len(mono)]
    return [(a, b - a, bool(sounding[a])) for a, b in itertools.pairwise(bounds)]


def _codec(samples: np.ndarray, rate: int, fmt: str, codec: str) -> np.ndarray:
    """``samples`` (n, channels) through a lossy codec at 64 kb/s and back."""
    data = encode(samples.T, rate, fmt, codec, codec_options={"b": "64000"})
    decoded, _ = decode(data)
    return np.ascontiguousarray(decoded.T)


# --------------------------------------------------------------------------------------------
# The prompts


@pytest.mark.parametrize(
    ("rate", "unit", "frequency"), [(48000, DEFAULT_UNIT, DEFAULT_FREQUENCY), (16000, 0.08, 800.0)]
)
@pytest.mark.clause("audio-explicit")
def test_rhythm_lengths_and_timing(rate: int, unit: float, frequency: float) -> None:
    prompt = rhythm_prompt(rate, unit=unit, frequency=frequency)
    assert prompt.dtype == np.float32 and prompt.shape == (round(9 * unit * rate), 1)
    runs = _runs(prompt[:, 0])
    step = unit * rate
    assert [r[2] for r in runs] == [True, False, True, False, True, False, True]  # starts and ends with tone
    assert [round(r[1] / step, 2) for r in runs] == [1, 1, 3, 1, 1, 1, 1]  # short-long-short-short
    spectrum = np.abs(np.fft.rfft(prompt[:, 0]))
    assert abs(np.argmax(spectrum) * rate / len(prompt) - frequency) < 2


def test_rhythm_level_fades_and_channels() -> None:
    rate = 48000
    prompt = rhythm_prompt(rate, level_db=-20.0, channels=3)
    assert prompt.shape[1] == 3 and np.array_equal(prompt[:, 0], prompt[:, 2])
    middle = prompt[round(0.4 * rate) : round(0.5 * rate), 0]  # inside the long tone
    assert 20 * np.log10(np.sqrt(np.mean(middle.astype(np.float64) ** 2))) == pytest.approx(-20.0, abs=0.05)
    assert abs(active_level(prompt, rate) - -20.0) < 0.3
    fade = round(0.005 * rate)
    for start, _length, sounding in _runs(prompt[:, 0]):
        if sounding:  # 5 ms raised-cosine fade-in: starts from 0, reaches full level after 5 ms
            assert abs(prompt[start, 0]) < 1e-3 and np.max(np.abs(prompt[start : start + fade // 5, 0])) < 0.02
    peak = float(np.max(np.abs(prompt)))
    assert np.max(np.abs(np.diff(prompt[:, 0]))) <= 2 * np.pi * DEFAULT_FREQUENCY / rate * peak * 1.01  # no clicks


@pytest.mark.parametrize(
    "options", [{"unit": 0.01}, {"unit": 2.0}, {"frequency": 30000.0}, {"level_db": 3.0}, {"channels": 0}]
)
def test_rhythm_rejects_bad_options(options: dict[str, float]) -> None:
    with pytest.raises(RenderError):
        rhythm_prompt(48000, **options)  # type: ignore[arg-type]


@pytest.mark.clause("audio-explicit")
def test_voice_prompts() -> None:
    zh16, zh48 = voice_prompt(16000), voice_prompt(48000, channels=2)
    en16 = voice_prompt(16000, language="en")
    assert zh16.dtype == np.float32 and zh16.shape == (43123, 1)
    assert zh48.shape == (3 * 43123, 2) and np.array_equal(zh48[:, 0], zh48[:, 1])
    assert 2.5 < len(zh16) / 16000 < 3.0 and 1.4 < len(en16) / 16000 < 2.0  # 6 characters at ~136/min
    assert abs(active_level(zh48, 48000) - active_level(zh16, 16000)) < 0.3  # the resampler keeps the level
    assert np.max(np.abs(zh16)) <= 1.0
    with pytest.raises(RenderError, match="language 'fr'"):
        voice_prompt(16000, language="fr")
    readme = (Path(__file__).resolve().parents[2] / "synthmark" / "audio" / "prompts" / "README.md").read_text()
    assert "espeak-ng -v cmn -s 140" in readme and "1.51" in readme and "GPL-3.0 §2" in readme


# --------------------------------------------------------------------------------------------
# Placing prompts


def _prompt_length(rate: int) -> int:
    return round(9 * DEFAULT_UNIT * rate)


@pytest.mark.parametrize("at", ["start", "end", "both", 0.7])
def test_placement(speech: tuple[np.ndarray, int], at: str | float) -> None:
    samples, rate = speech
    gap = round(0.2 * rate)
    plen, n, fade = _prompt_length(rate), len(samples), round(FADE * rate)
    out = add_explicit_label(samples, rate, at=at)  # type: ignore[arg-type]
    count = 2 if at == "both" else 1
    assert len(out) == n + count * plen + (2 if isinstance(at, float) else count) * gap
    found = find_rhythm_prompt(out, rate)
    assert len(found) == count
    if at == "start":
        assert found[0].start < 0.01 and np.array_equal(out[plen + gap + fade :], samples[fade:])
    elif at == "end":
        assert abs(found[0].start - (n + gap) / rate) < 0.01 and np.array_equal(out[: n - fade], samples[: n - fade])
    elif at == "both":
        assert found[0].start < 0.01 and abs(found[1].start - (plen + 2 * gap + n) / rate) < 0.01
    else:
        split = round(0.7 * rate)
        assert abs(found[0].start - (split + gap) / rate) < 0.01
        assert np.array_equal(out[: split - fade], samples[: split - fade])
        assert np.array_equal(out[split + plen + 2 * gap + fade :], samples[split + fade :])


def test_joins_do_not_click(music: tuple[np.ndarray, int]) -> None:
    samples, rate = music
    middle = samples[rate : 3 * rate, 0]
    split = rate + int(np.argmax(np.abs(middle)))  # cut where the music is loudest
    at = split / rate
    gap, plen = round(0.2 * rate), _prompt_length(rate)
    naive = np.concatenate([samples[:split], np.zeros((gap, 2), np.float32), samples[split:]])
    assert np.max(np.abs(np.diff(naive[split - 2 : split + 2], axis=0))) > 0.1  # a hard cut would click
    out = add_explicit_label(samples, rate, at=at)
    hard_cut = np.max(np.abs(np.diff(naive[split - 2 : split + 2], axis=0)))
    joins = [split, split + gap, split + gap + plen, split + 2 * gap + plen]
    for join in joins:
        window = out[join - round(0.002 * rate) : join + round(0.002 * rate)]
        assert np.max(np.abs(np.diff(window, axis=0))) < 0.15 * hard_cut, join
    prompt = out[split + gap : split + gap + plen]
    steepest = max(np.max(np.abs(np.diff(samples, axis=0))), np.max(np.abs(np.diff(prompt, axis=0))))
    assert np.max(np.abs(np.diff(out, axis=0))) <= steepest + 1e-6  # no step anywhere


@pytest.mark.parametrize("kind", ["rhythm", "voice"])
@pytest.mark.parametrize("programme", ["speech", "music"])
def test_loudness_matches_programme(
    kind: str, programme: str, speech: tuple[np.ndarray, int], music: tuple[np.ndarray, int]
) -> None:
    samples, rate = speech if programme == "speech" else music
    out = add_explicit_label(samples, rate, kind=kind, at="end")  # type: ignore[arg-type]
    prompt = out[len(samples) + round(0.2 * rate) :]
    assert abs(active_level(prompt, rate) - active_level(samples, rate)) < 1.0


def test_fixed_level_and_peak_limit(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    out = add_explicit_label(samples, rate, level=-30.0)
    assert abs(active_level(out[: _prompt_length(rate)], rate) - -30.0) < 0.5
    loud = np.sign(np.sin(np.arange(rate) * 0.05)).astype(np.float32)[:, None] * 0.99  # a square wave
    shouted = add_explicit_label(loud, rate, kind="voice")
    assert np.max(np.abs(shouted[: -len(loud)])) <= PEAK_LIMIT + 1e-6
    with pytest.raises(RenderError):
        add_explicit_label(samples, rate, level=5.0)
    with pytest.raises(RenderError):
        add_explicit_label(samples, rate, level="loud")  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("shape", ["mono-1d", "mono-2d", "stereo", "six"])
def test_dtypes_and_channels(speech: tuple[np.ndarray, int], dtype: type, shape: str) -> None:
    mono, rate = speech
    channels = {"mono-1d": 1, "mono-2d": 1, "stereo": 2, "six": 6}[shape]
    samples = np.repeat(mono, channels, axis=1) * np.linspace(1.0, 0.5, channels)[None, :]
    if dtype is np.int16:
        samples = np.round(samples * 32767)
    samples = samples.astype(dtype)
    if shape == "mono-1d":
        samples = samples[:, 0]
    before = samples.copy()
    out = add_explicit_label(samples, rate, at="end")
    assert np.array_equal(samples, before)  # the input is never modified
    assert out.dtype == samples.dtype and out.ndim == samples.ndim
    assert out.shape[1:] == samples.shape[1:]
    fade = round(FADE * rate)
    assert np.array_equal(out[: len(samples) - fade], samples[: len(samples) - fade])  # bit-exact copy
    tail = out[len(samples) + round(0.2 * rate) :]
    if tail.ndim == 2:
        assert all(np.array_equal(tail[:, 0], tail[:, c]) for c in range(tail.shape[1]))
    assert find_rhythm_prompt(out, rate)


def test_bad_inputs(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    for bad in (samples.astype(np.int32), samples[None], [0.0, 1.0]):
        with pytest.raises(RenderError):
            add_explicit_label(bad, rate)  # type: ignore[arg-type]
    for options in ({"at": "middle"}, {"at": 99.0}, {"gap": -1.0}, {"kind": "beep"}):
        with pytest.raises(RenderError):
            add_explicit_label(samples, rate, **options)  # type: ignore[arg-type]
    with pytest.raises(RenderError):
        add_explicit_label(samples, 0)


def test_user_prompt(music: tuple[np.ndarray, int]) -> None:
    samples, rate = music
    clip = rhythm_prompt(rate, unit=0.09, frequency=1500.0)[:, 0].astype(np.float64) * 3  # mono, loud
    out = add_explicit_label(samples, rate, prompt=clip, at="start")
    (match,) = find_rhythm_prompt(out, rate)
    assert match.unit == 0.09 and abs(match.frequency - 1500) < 5
    with pytest.raises(RenderError, match="channels"):
        add_explicit_label(samples, rate, prompt=np.zeros((100, 3), np.float32))
    with pytest.raises(RenderError, match="silent"):
        add_explicit_label(samples, rate, prompt=np.zeros(100, np.float32))


def test_label_turn_for_streaming(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    segment = label_turn(None, 24000)
    assert segment.shape == (round(1.28 * 24000), 1) and segment.dtype == np.float32
    turn = np.round(np.repeat(samples[rate // 2 :], 2, axis=1) * 32767).astype(np.int16)  # speech from its start
    first_chunk = turn[: rate // 2]
    before = label_turn(first_chunk, rate)
    after = label_turn(first_chunk, rate, position="after", kind="voice", gap=0.1)
    assert before.dtype == np.int16 and before.shape[1] == 2
    assert not before[-round(0.2 * rate) :].any() and not after[: round(0.1 * rate)].any()
    stream = np.concatenate([before, turn])  # what a streaming backend plays
    assert [m.start < 0.01 for m in find_rhythm_prompt(stream, rate)] == [True]
    assert abs(active_level(before, rate) - active_level(first_chunk, rate)) < 1.0
    with pytest.raises(RenderError):
        label_turn(None, rate, position="during")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Finding rhythm prompts


def _with_prompt(samples: np.ndarray, rate: int, at: float, **options: float) -> np.ndarray:
    prompt = rhythm_prompt(rate, channels=samples.shape[1], **options)  # type: ignore[arg-type]
    mixed = samples.copy()
    start = round(at * rate)
    mixed[start : start + len(prompt)] += prompt
    return mixed


def _check(found: list[RhythmMatch], start: float, unit: float, frequency: float) -> None:
    assert len(found) == 1, found
    match = found[0]
    assert abs(match.start - start) < 0.03 and abs(match.unit - unit) < 0.006
    assert abs(match.frequency - frequency) < 0.015 * frequency and match.confidence > 0.8
    assert abs(match.end - match.start - 9 * unit) < 0.01


@pytest.mark.parametrize("codec", ["mp3", "aac"])
@pytest.mark.clause("audio-explicit")
def test_detector_survives_lossy_coding(speech: tuple[np.ndarray, int], codec: str) -> None:
    samples, rate = speech
    labeled = add_explicit_label(samples, rate, at=0.7)
    coded = _codec(labeled, rate, "mp3" if codec == "mp3" else "adts", "libmp3lame" if codec == "mp3" else "aac")
    _check(find_rhythm_prompt(coded, rate), 0.9, DEFAULT_UNIT, DEFAULT_FREQUENCY)


@pytest.mark.parametrize(
    ("name", "start", "unit", "frequency"),
    [
        ("music_orchestral.flac", 0.0, DEFAULT_UNIT, DEFAULT_FREQUENCY),
        ("music_orchestral.flac", 0.0, 0.07, 1500.0),
        ("music_orchestral.flac", 0.0, 0.2, 3500.0),
        ("music_electronic.flac", 5.0, DEFAULT_UNIT, DEFAULT_FREQUENCY),
        ("music_electronic.flac", 5.0, 0.07, 1500.0),
    ],
)
def test_detector_finds_quiet_prompt_under_music(name: str, start: float, unit: float, frequency: float) -> None:
    """The prompt at -30 dBFS under music whose active level is -15.5 (orchestral) or -12.6 dBFS
    (electronic, a loud master): 15 to 17 dB under the music, then through MP3 at 64 kb/s."""
    samples, rate = _load(name, start, 5.0)
    mixed = _with_prompt(samples, rate, 1.0, unit=unit, frequency=frequency, level_db=-30.0)
    _check(find_rhythm_prompt(mixed, rate), 1.0, unit, frequency)
    coded = _codec(mixed, rate, "mp3", "libmp3lame")
    _check(find_rhythm_prompt(coded, rate), 1.0, unit, frequency)


def test_detector_with_known_unit_and_frequency(music: tuple[np.ndarray, int]) -> None:
    samples, rate = music
    mixed = _with_prompt(samples, rate, 1.0, level_db=-30.0)
    _check(find_rhythm_prompt(mixed, rate, unit=0.12, frequency=1046.5), 1.0, 0.12, 1046.5)
    assert find_rhythm_prompt(mixed, rate, frequency=2000.0) == []
    assert find_rhythm_prompt(mixed, rate, unit=0.07) == []


def test_detector_finds_morse_letter_gap_and_several_prompts() -> None:
    rate, unit = 16000, 0.1
    tone = rhythm_prompt(rate, unit=unit)[:, 0]
    short, long_ = tone[: round(unit * rate)], tone[round(2 * unit * rate) : round(5 * unit * rate)]
    silence = np.zeros(round(unit * rate), np.float32)
    morse = np.concatenate([short, silence, long_, silence, silence, silence, short, silence, short])  # ·−  ··
    quiet = np.random.default_rng(0).normal(0, 1e-3, 6 * rate).astype(np.float32)
    quiet[rate : rate + len(morse)] += morse
    quiet[4 * rate : 4 * rate + len(tone)] += tone
    found = find_rhythm_prompt(quiet, rate)
    assert [round(m.start, 1) for m in found] == [1.0, 4.0]
    assert found[0].end - found[0].start == pytest.approx(11 * unit, abs=0.01)


def test_detector_across_analysis_blocks() -> None:
    rate = 8000
    signal = np.random.default_rng(1).normal(0, 0.01, 40 * rate).astype(np.float32)[:, None]
    labeled = _with_prompt(signal, rate, 29.5, frequency=700.0)  # straddles the 30 s block edge
    _check(find_rhythm_prompt(labeled, rate), 29.5, DEFAULT_UNIT, 700.0)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.flac")))
def test_detector_silent_on_unlabeled_audio(name: str) -> None:
    samples, rate = _load(name)  # the whole fixture: 15 to 44 s of speech or music
    assert find_rhythm_prompt(samples, rate) == []


@pytest.mark.parametrize("language", ["zh", "en"])
def test_detector_silent_on_voice_prompts_and_noise(language: str) -> None:
    assert find_rhythm_prompt(voice_prompt(16000, language=language), 16000) == []
    noise = np.random.default_rng(2).normal(0, 0.1, (3 * 16000, 1)).astype(np.float32)
    assert find_rhythm_prompt(noise, 16000) == []
    assert find_rhythm_prompt(np.zeros(16000, np.int16), 16000) == []


@pytest.mark.clause("wording")
def test_an_english_only_voice_label_is_refused():
    from synthmark.audio import AudibleStyle
    from synthmark.errors import WordingError

    with pytest.raises(WordingError, match="lacks the 生成/合成 element"):
        AudibleStyle("voice", language="en")
    assert AudibleStyle("voice").language == "zh" and AudibleStyle("rhythm", language="en").kind == "rhythm"
