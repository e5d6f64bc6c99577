"""The audio watermark on the real recordings: quality, streaming = whole file, the
transformations it survives on a 30 s music clip, false positives, bad inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from synthmark.audio._io import decode_audio
from synthmark.audio.watermark import StreamingEmbedder, detect_watermark, embed_watermark
from synthmark.errors import WatermarkError
from synthmark.keys import WatermarkKey, generate_key
from synthmark.transforms.audio import AUDIO_SUITE, snr_db

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"
KEY = WatermarkKey(hashlib.sha256(b"synthmark tests").digest())  # fixed: results are repeatable
CID = 0xA0D10_5EED_1234


@pytest.fixture(scope="module")
def music() -> tuple[np.ndarray, int, np.ndarray]:
    samples, info = decode_audio(AUDIO / "music_electronic.flac")
    return samples, info.sample_rate, embed_watermark(samples, info.sample_rate, KEY, CID)


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int, np.ndarray]:
    samples, info = decode_audio(AUDIO / "speech_en_female.flac")
    return samples, info.sample_rate, embed_watermark(samples, info.sample_rate, KEY, CID)


def test_quality_and_round_trip(music, speech):
    for samples, rate, marked in (music, speech):
        assert snr_db(samples, marked) >= 25.0
        report = detect_watermark(marked, rate, KEY)
        assert report.found and report.content_id == CID and report.key_id == KEY.key_id and report.p_value < 1e-6


# What the mark survives in a 10 s excerpt (README table: speech is short after noise20 and
# mix, every clip after speed105).
CLAIMED = [
    "identity", "mp3-128", "mp3-64", "aac-128", "opus-32", "resample16k", "gain+6", "gain-10",
    "lowpass4k", "highpass200", "shift",
]  # fmt: skip


def _excerpt(samples: np.ndarray, rate: int, start_seconds: float) -> np.ndarray:
    start = int(start_seconds * rate)
    return samples[start : start + 10 * rate]


@pytest.mark.parametrize("name", CLAIMED)
@pytest.mark.parametrize("clip", ["music", "speech"])
@pytest.mark.clause("watermark-robustness")
def test_survives_in_a_10s_excerpt(request, clip, name):
    _, rate, marked = request.getfixturevalue(clip)
    part = marked[: 14 * rate]  # transform 14 s, then look at a 10 s window inside it
    attacked, attacked_rate = AUDIO_SUITE[name](part, rate, np.random.default_rng(0))
    report = detect_watermark(_excerpt(attacked, attacked_rate, 2.7), attacked_rate, KEY)
    assert report.found and report.content_id == CID, f"{clip} {name}: pilot z {report.pilot_z:.1f}"


@pytest.mark.parametrize("name", ["noise20", "mix", "crop10s"])
def test_survives_on_music(music, name):
    _, rate, marked = music
    attacked, attacked_rate = AUDIO_SUITE[name](marked, rate, np.random.default_rng(0))
    if name != "crop10s":
        attacked = _excerpt(attacked, attacked_rate, 11.3)
    assert len(attacked) <= 10 * attacked_rate
    report = detect_watermark(attacked, attacked_rate, KEY)
    assert report.found and report.content_id == CID, f"{name}: pilot z {report.pilot_z:.1f}"


@pytest.mark.parametrize("clip", ["music", "speech"])
def test_speed_search_finds_speed105(request, clip):
    _, rate, marked = request.getfixturevalue(clip)
    attacked, attacked_rate = AUDIO_SUITE["speed105"](marked[: 14 * rate], rate, np.random.default_rng(0))
    excerpt = _excerpt(attacked, attacked_rate, 1.9)
    assert not detect_watermark(excerpt, attacked_rate, KEY).found  # not without the search
    report = detect_watermark(excerpt, attacked_rate, KEY, speed_search=True)
    assert report.found and report.content_id == CID and abs(report.speed - 1.05) < 0.006


def test_streaming_equals_whole_file():
    samples, info = decode_audio(AUDIO / "speech_en_female.flac")
    samples = samples[: info.sample_rate * 6]
    whole = embed_watermark(samples, info.sample_rate, KEY, CID)
    stream = StreamingEmbedder(info.sample_rate, samples.shape[1], KEY, CID)
    rng = np.random.default_rng(1)
    parts, at = [], 0
    while at < len(samples):
        size = int(rng.integers(1, 3000))
        parts.append(stream.process(samples[at : at + size]))
        at += size
    parts.append(stream.finish())
    streamed = np.concatenate(parts)
    assert streamed.shape == whole.shape and np.abs(streamed - whole).max() < 1e-5
    with pytest.raises(WatermarkError, match="finished"):
        stream.process(samples[:10])


def test_no_false_positives_on_unmarked_recordings_100_keys():
    keys = [generate_key() for _ in range(100)]
    for name in ("music_orchestral.flac", "speech_it_male.flac", "speech_en_female.flac"):
        samples, info = decode_audio(AUDIO / name)
        assert not detect_watermark(samples, info.sample_rate, keys).found
        assert not detect_watermark(
            samples[: 10 * info.sample_rate], info.sample_rate, keys[:20], speed_search=True
        ).found


def test_wrong_key_and_int16(music):
    samples, rate, marked = music
    assert not detect_watermark(marked, rate, generate_key()).found
    as16 = (samples * 32767).astype(np.int16)
    out = embed_watermark(as16, rate, KEY, CID)
    assert out.dtype == np.int16 and out.shape == as16.shape


@pytest.mark.parametrize(
    ("samples", "rate", "words"),
    [
        (np.zeros((8000, 1), np.float32), 44100, "minimum"),
        (np.zeros((441000, 1), np.float32), 4000, "sample rate"),
        (np.zeros((441000, 0), np.float32), 44100, "0 channels"),
        (np.zeros(441000, np.int32), 44100, "dtype"),
    ],
)
def test_bad_inputs(samples, rate, words):
    with pytest.raises(WatermarkError, match=words):
        embed_watermark(samples, rate, KEY, CID)


def test_pydub_audio_segment_in_same_kind_out(music):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydub: no system FFmpeg (not needed here), audioop deprecated
        from pydub import AudioSegment

    from synthmark import audio

    samples, rate, _ = music
    ints = (samples * 32767).astype(np.int16)
    segment = AudioSegment(data=ints.tobytes(), sample_width=2, frame_rate=rate, channels=samples.shape[1])
    marked = audio.embed_watermark(segment, None, KEY, CID)
    assert isinstance(marked, AudioSegment) and marked.frame_rate == rate and marked.channels == segment.channels
    assert abs(len(marked) - len(segment)) <= 1
    assert audio.detect_watermark(marked, None, KEY).content_id == CID
    labeled = audio.add_explicit_label(segment, kind="rhythm", at="start")
    assert isinstance(labeled, AudioSegment) and len(labeled) > len(segment)
    with pytest.raises(WatermarkError, match="sample rate"):
        audio.embed_watermark(samples, None, KEY, CID)
