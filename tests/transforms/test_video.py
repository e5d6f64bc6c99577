"""The video suite of shared/spec/robustness.md: every transformation runs on a real clip and
gives a decodable file of the expected codec, size, frame rate and duration."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from fixtures.clips import make_clip
from synthmark.errors import SynthmarkError
from synthmark.transforms import video
from synthmark.video._io import probe

SPEC = ["h264-23", "h264-30", "h265-28", "vp9", "scale720", "scale480", "trim5s", "fps25", "crop80", "social"]
# name -> (codec, width, height, fps, seconds, audio codec) for a 320x180, 30 fps, 6 s input
EXPECTED = {
    "h264-23": ("h264", 320, 180, 30, 6.0, "aac"),
    "h264-30": ("h264", 320, 180, 30, 6.0, "aac"),
    "h265-28": ("hevc", 320, 180, 30, 6.0, "aac"),
    "vp9": ("vp9", 320, 180, 30, 6.0, "opus"),
    "scale720": ("h264", 1280, 720, 30, 6.0, "aac"),
    "scale480": ("h264", 854, 480, 30, 6.0, "aac"),
    "trim5s": ("h264", 320, 180, 30, 5.0, "aac"),
    "fps25": ("h264", 320, 180, 25, 6.0, "aac"),
    "crop80": ("h264", 256, 144, 30, 6.0, "aac"),
    "social": ("h264", 320, 180, 30, 6.0, "aac"),
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip("kenburns_meadow.mp4", tmp_path_factory.mktemp("suite"), seconds=6.0)


def test_names_are_the_specifications() -> None:
    assert list(video.VIDEO_SUITE) == SPEC == list(EXPECTED)


@pytest.mark.parametrize("name", SPEC)
def test_each_transformation_gives_a_decodable_file(name: str, clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / f"out{video.output_suffix(name)}"
    result = video.transform_file(name, clip, dst, rng=7)
    codec, width, height, fps, seconds, audio = EXPECTED[name]
    info = probe(dst)
    assert (info.codec, info.width, info.height, info.fps) == (codec, width, height, fps)
    assert info.duration is not None and abs(info.duration - seconds) < 0.1
    assert result.frames == round(seconds * fps)
    assert [s.codec for s in info.streams if s.kind == "audio"] == [audio]
    with av.open(str(dst)) as container:
        assert sum(1 for _ in container.decode(video=0)) == result.frames


def test_trim_offset_comes_from_rng_and_social_never_enlarges(clip: Path, tmp_path: Path) -> None:
    frames = [video.apply_video("trim5s", clip.read_bytes(), rng=seed) for seed in (1, 2)]
    assert frames[0] != frames[1]  # different 5 s windows
    with av.open(io.BytesIO(frames[0])) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    rotated = make_clip("rotated_dogs.mov", tmp_path, seconds=1.0, width=640, height=360)
    out = tmp_path / "social.mp4"
    video.transform_file("social", rotated, out)
    info = probe(out)
    assert (info.width, info.height, info.rotation) == (640, 360, 90)  # short side 360 < 720: kept
    video.transform_file("scale480", rotated, out)
    assert (probe(out).width, probe(out).height) == (854, 480)


def test_unknown_name(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(SynthmarkError, match="h264-23"):
        video.transform_file("jpeg50", clip, tmp_path / "x.mp4")
