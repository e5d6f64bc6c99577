"""The audio robustness suite on real recordings: shapes, purity, determinism, and what each step does."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from synthmark.audio._io import decode_audio, encode_as
from synthmark.errors import InputError, SynthmarkError
from synthmark.transforms import audio as audio_module
from synthmark.transforms.audio import AUDIO_SUITE, apply_audio, mix_with, snr_db

from ..conftest import lag

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
RATE = 44100

# The names and order of shared/spec/robustness.md's audio table.
SPEC_NAMES = [
    "identity",
    "mp3-128",
    "mp3-64",
    "aac-128",
    "opus-32",
    "resample16k",
    "gain+6",
    "gain-10",
    "noise20",
    "lowpass4k",
    "highpass200",
    "crop10s",
    "shift",
    "mix",
    "speed105",
]

# Length of each output for a 12 s input at 44.1 kHz (529 200 samples).
EXPECTED_LENGTH = {
    "crop10s": 441_000,
    "shift": 529_200 + 16_317,  # round(0.37 × 44100)
    "speed105": 504_000,  # 529200 × 44100 / 46305
}


def load(name: str, seconds: float = 12.0) -> np.ndarray:
    samples, info = decode_audio(AUDIO / name)
    assert info.sample_rate == RATE
    return samples[: round(seconds * RATE)].copy()


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    samples = load("music_electronic.flac")
    assert samples.shape == (529_200, 2)
    return samples


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    samples = load("speech_en_female.flac")
    assert samples.shape == (529_200, 1)
    return samples


def band_energy(samples: np.ndarray, low: float, high: float, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64), axis=0)) ** 2
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    return float(spectrum[(freqs >= low) & (freqs < high)].sum())


def test_suite_names_and_order_follow_the_spec() -> None:
    assert list(AUDIO_SUITE) == SPEC_NAMES


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_shape_dtype_purity_and_determinism(music: np.ndarray, name: str) -> None:
    before = music.copy()
    writable = music.copy()  # a writable input must not be written to either
    out, rate = apply_audio(name, writable, RATE, rng=7)
    assert rate == RATE
    assert out.dtype == np.float32
    assert out.shape == (EXPECTED_LENGTH.get(name, music.shape[0]), 2)
    assert out.flags.c_contiguous and out.flags.writeable
    assert not np.shares_memory(out, writable)
    assert float(np.abs(out).max()) <= 1.0
    np.testing.assert_array_equal(writable, before)
    again, _ = apply_audio(name, music, RATE, rng=7)
    np.testing.assert_array_equal(again, out)


@pytest.mark.parametrize("name", ["noise20", "crop10s", "mix"])
def test_random_transformations_depend_on_the_seed(speech: np.ndarray, name: str) -> None:
    first, _ = apply_audio(name, speech, RATE, rng=1)
    assert not np.array_equal(first, apply_audio(name, speech, RATE, rng=2)[0])
    # A generator seeded the same way is the same as the int seed.
    np.testing.assert_array_equal(AUDIO_SUITE[name](speech, RATE, np.random.default_rng(1))[0], first)


def test_identity_is_exact(speech: np.ndarray) -> None:
    np.testing.assert_array_equal(apply_audio("identity", speech, RATE)[0], speech)


@pytest.mark.parametrize(
    ("name", "container", "codec", "bit_rate"),
    [
        ("mp3-128", "mp3", "libmp3lame", 128_000),
        ("mp3-64", "mp3", "libmp3lame", 64_000),
        ("aac-128", "m4a", "aac", 128_000),
    ],
)
def test_codecs_are_real_encodes_at_that_rate(
    speech: np.ndarray, name: str, container: str, codec: str, bit_rate: int
) -> None:
    out, _ = apply_audio(name, speech, RATE)
    data = encode_as(speech, RATE, container, codec, bit_rate=bit_rate)
    decoded, info = decode_audio(data)
    assert info.bit_rate is not None and 0.95 * bit_rate < info.bit_rate < 1.05 * bit_rate
    np.testing.assert_array_equal(out, np.clip(decoded[: speech.shape[0]], -1, 1))


@pytest.mark.parametrize("name", ["mp3-128", "mp3-64", "aac-128", "opus-32"])
def test_codec_outputs_are_aligned_and_lossy(music: np.ndarray, name: str) -> None:
    out, _ = apply_audio(name, music, RATE)
    assert lag(music, out) == 0  # encoder delay removed: watermark sync is not shifted
    assert 5 < snr_db(music, out) < 40


def test_lower_bit_rates_lose_more(music: np.ndarray) -> None:
    clip = music[: 6 * RATE]
    scores = {name: snr_db(clip, apply_audio(name, clip, RATE)[0]) for name in ("mp3-128", "mp3-64", "opus-32")}
    assert scores["mp3-128"] > scores["mp3-64"] > scores["opus-32"]


def test_opus_runs_at_48k_and_comes_back(music: np.ndarray) -> None:
    out, rate = apply_audio("opus-32", music, RATE)
    assert rate == RATE and out.shape == music.shape
    # The same audio coded directly at 48 kHz, 32 kbit/s, is what came back (up to resampling).
    data = encode_as(audio_module._resample(music, RATE, 48_000), 48_000, "ogg", "libopus", bit_rate=32_000)
    decoded, info = decode_audio(data)
    assert info.bit_rate is not None and 25_000 < info.bit_rate < 45_000
    back = audio_module._resample(decoded, 48_000, RATE, length=music.shape[0])
    assert snr_db(back, out) > 40


def test_resample16k_drops_content_above_8k(music: np.ndarray) -> None:
    out, _ = apply_audio("resample16k", music, RATE)
    assert band_energy(out, 8_100, 22_050) < 1e-3 * band_energy(music, 8_100, 22_050)
    kept = band_energy(out, 50, 7_000) / band_energy(music, 50, 7_000)
    assert kept == pytest.approx(1.0, abs=0.02)
    assert lag(music, out) == 0


def test_gains(speech: np.ndarray) -> None:
    quieter, _ = apply_audio("gain-10", speech, RATE)
    np.testing.assert_allclose(quieter, speech * 10 ** (-10 / 20), rtol=1e-6, atol=1e-7)
    louder, _ = apply_audio("gain+6", speech, RATE)
    assert float(np.abs(louder).max()) == 1.0  # speech peaks at 0.71: the loudest samples clip
    unclipped = np.abs(speech) < 0.5
    np.testing.assert_allclose(louder[unclipped], speech[unclipped] * 10 ** (6 / 20), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fixture", ["speech", "music"])
def test_noise20_has_the_stated_snr(request: pytest.FixtureRequest, fixture: str) -> None:
    samples = request.getfixturevalue(fixture)
    out, _ = apply_audio("noise20", samples, RATE, rng=3)
    assert snr_db(samples, out) == pytest.approx(20.0, abs=0.1)
    residual = out.astype(np.float64) - samples
    assert abs(float(residual.mean())) < 1e-3
    # White: as much noise power below a quarter of the band as in the top quarter.
    ratio = band_energy(residual, 0, RATE / 8) / band_energy(residual, 3 * RATE / 8, RATE / 2)
    assert ratio == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("fixture", ["speech", "music"])
def test_lowpass4k_removes_the_top_and_keeps_the_bottom(request: pytest.FixtureRequest, fixture: str) -> None:
    samples = request.getfixturevalue(fixture)
    out, _ = apply_audio("lowpass4k", samples, RATE)
    assert band_energy(samples, 4_500, 22_050) > 1e-3 * band_energy(samples, 0, 22_050)  # there was some
    assert band_energy(out, 4_500, 22_050) < 1e-4 * band_energy(samples, 4_500, 22_050)
    assert band_energy(out, 0, 3_500) / band_energy(samples, 0, 3_500) == pytest.approx(1.0, abs=0.01)
    assert lag(samples, out) == 0  # zero phase


@pytest.mark.parametrize("fixture", ["speech", "music"])
def test_highpass200_removes_the_bottom_and_keeps_the_top(request: pytest.FixtureRequest, fixture: str) -> None:
    samples = request.getfixturevalue(fixture)
    out, _ = apply_audio("highpass200", samples, RATE)
    assert band_energy(out, 0, 150) < 1e-4 * band_energy(samples, 0, 150)
    assert band_energy(out, 300, 22_050) / band_energy(samples, 300, 22_050) == pytest.approx(1.0, abs=0.01)
    assert abs(float(out.mean())) < 1e-4  # no DC


def test_filters_do_not_wrap_around() -> None:
    # A click at the very end must not leak to the start (circular convolution would put it there).
    click = np.zeros((RATE, 1), np.float32)
    click[-1] = 0.9
    for name in ("lowpass4k", "highpass200"):
        out, _ = apply_audio(name, click, RATE)
        assert float(np.abs(out[: RATE // 2]).max()) < 1e-6


def test_crop10s_is_a_window_at_the_drawn_position(music: np.ndarray) -> None:
    start = int(np.random.default_rng(11).integers(0, music.shape[0] - 441_000 + 1))
    out, _ = apply_audio("crop10s", music, RATE, rng=11)
    np.testing.assert_array_equal(out, music[start : start + 441_000])


def test_crop10s_keeps_short_audio_whole(speech: np.ndarray) -> None:
    short = speech[: 8 * RATE]
    np.testing.assert_array_equal(apply_audio("crop10s", short, RATE, rng=0)[0], short)


def test_shift_prepends_silence(speech: np.ndarray) -> None:
    out, _ = apply_audio("shift", speech, RATE)
    assert not out[:16_317].any()
    np.testing.assert_array_equal(out[16_317:], speech)
    assert lag(out, speech, search=20_000) == -16_317


@pytest.mark.parametrize("fixture", ["speech", "music"])
def test_mix_adds_unrelated_music_10db_down(request: pytest.FixtureRequest, fixture: str) -> None:
    samples = request.getfixturevalue(fixture)
    out, _ = apply_audio("mix", samples, RATE, rng=5)
    assert snr_db(samples, out) == pytest.approx(10.0, abs=0.1)
    # What was added is the interfering recording, not noise: a stretch of it matches exactly.
    interferer, _ = decode_audio(audio_module.MIX_SOURCE)
    added = (out.astype(np.float64) - samples)[:RATE, 0]
    reference = interferer[:, 0] if samples.shape[1] == 2 else interferer.mean(axis=1)
    start = int(np.random.default_rng(5).integers(0, interferer.shape[0]))
    window = reference[start : start + RATE].astype(np.float64)
    assert np.corrcoef(added, window)[0, 1] > 0.99


def test_mix_with_a_given_recording(speech: np.ndarray, music: np.ndarray) -> None:
    transform = mix_with(music[:, :1], RATE)
    out, rate = transform(speech, RATE, np.random.default_rng(0))
    assert rate == RATE and out.shape == speech.shape
    assert snr_db(speech, out) == pytest.approx(10.0, abs=0.1)


def test_mix_names_a_missing_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, speech: np.ndarray) -> None:
    monkeypatch.setattr(audio_module, "MIX_SOURCE", tmp_path / "gone.flac")
    with pytest.raises(InputError, match="mix") as err:
        apply_audio("mix", speech, RATE)
    assert "gone.flac" in str(err.value) and "mix_with" in str(err.value)


def test_speed105_is_5_percent_faster_and_higher() -> None:
    rate = 48000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(2 * rate) / rate)).astype(np.float32)[:, None]
    out, out_rate = apply_audio("speed105", tone, rate)
    assert out_rate == rate and out.shape == (round(2 * rate / 1.05), 1)
    spectrum = np.abs(np.fft.rfft(out[:, 0] * np.hanning(out.shape[0])))
    peak = np.fft.rfftfreq(out.shape[0], 1 / rate)[np.argmax(spectrum)]
    assert peak == pytest.approx(1050, abs=1)


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 96_000])
def test_codecs_at_other_rates_stay_aligned(speech: np.ndarray, rate: int) -> None:
    samples = audio_module._resample(speech[: 3 * RATE], RATE, rate)
    for name in ("mp3-128", "aac-128", "opus-32"):
        out, out_rate = apply_audio(name, samples, rate)
        assert out_rate == rate and out.shape == samples.shape
        # Above 48 kHz the codec runs at half the rate: one sample there is half a coded sample.
        assert abs(lag(samples, out)) <= (1 if rate > 48_000 else 0)
        assert snr_db(samples, out) > 8


def test_other_rates_and_channel_counts() -> None:
    # 96 kHz 5.1: MP3 (2 channels, 48 kHz at most) codes pairs at 48 kHz and comes back.
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal((96_000, 6))).astype(np.float32)
    for name in ("mp3-128", "opus-32", "resample16k", "speed105"):
        out, rate = apply_audio(name, samples, 96_000)
        assert rate == 96_000 and out.shape[1] == 6
    low = (0.1 * rng.standard_normal((8_000, 1))).astype(np.float32)
    for name in SPEC_NAMES:
        out, rate = apply_audio(name, low, 8_000, rng=0)
        assert rate == 8_000 and out.shape[1] == 1


def test_unknown_name_lists_the_suite(speech: np.ndarray) -> None:
    with pytest.raises(SynthmarkError, match="unknown transformation 'mp3-320'") as err:
        apply_audio("mp3-320", speech, RATE)
    assert "opus-32" in str(err.value)


@pytest.mark.parametrize(
    ("samples", "rate", "match"),
    [
        (np.zeros((100, 1), np.int16), RATE, "float array"),
        (np.zeros(100, np.float32), RATE, "n_samples, channels"),
        (np.zeros((0, 2), np.float32), RATE, "n_samples, channels"),
        (np.full((100, 1), np.nan, np.float32), RATE, "NaN"),
        (np.zeros((100, 1), np.float32), 1000, "outside"),
        (np.zeros((100, 1), np.float32), 44100.0, "integer"),
    ],
)
def test_bad_input_is_an_input_error(samples: np.ndarray, rate: int, match: str) -> None:
    with pytest.raises(InputError, match=match):
        apply_audio("gain-10", samples, rate)


def test_snr_db() -> None:
    x = np.ones((100, 2), np.float32)
    assert snr_db(x, x) == math.inf
    assert snr_db(x, x * 1.1) == pytest.approx(20.0)
    assert snr_db(np.zeros_like(x), x) == -math.inf
    with pytest.raises(InputError, match="shape"):
        snr_db(x, x[:50])
