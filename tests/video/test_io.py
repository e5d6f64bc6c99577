"""The streaming transcode: streams, timestamps, rotation, colour and tags kept; callbacks;
damaged input and atomic output; frame sampling."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from synthmark.errors import CorruptFileError, InputError, OutputExistsError, UnsupportedFormatError
from synthmark.video import _io, _mkv, _mp4


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [round(float(f.time), 6) for f in container.decode(video=0)]


def stream_packets(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as container:
        streams = [s for s in container.streams if s.type == kind]
        return [bytes(p) for p in container.demux(*streams) if p.size] if streams else []


def invert(rgb: np.ndarray, seconds: float) -> np.ndarray:
    return 255 - rgb


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".webm", ".mov"])
def test_transcode_keeps_streams_timestamps_rotation_colour_and_tags(
    suffix: str, clips: dict[str, Path], tmp_path: Path
) -> None:
    src = clips[suffix]
    dst = tmp_path / f"out{suffix}"
    progress: list[tuple[int, int | None]] = []
    codec = "libvpx-vp9" if suffix == ".webm" else "libx264"
    result = _io.transcode(src, dst, invert, codec=codec, progress=lambda done, total: progress.append((done, total)))
    before, after = _io.probe(src), _io.probe(dst)
    assert result.frames == len(frame_times(src)) == progress[-1][0] and result.warnings == ()
    assert [d for d, _ in progress] == list(range(1, result.frames + 1))
    assert progress[-1][1] in (None, result.frames)
    assert [(s.kind, s.codec, s.language) for s in after.streams] == [
        (s.kind, s.codec, s.language) for s in before.streams
    ]
    assert frame_times(dst) == frame_times(src)
    assert after.fps == before.fps and (after.width, after.height) == (before.width, before.height)
    assert after.rotation == before.rotation == (90 if suffix == ".mov" else 0)
    colour = ("color_range", "color_primaries", "color_trc", "colorspace")
    assert [getattr(after, c) for c in colour] == [getattr(before, c) for c in colour] == [1, 1, 1, 1]
    assert after.tags.get("title") == before.tags.get("title")
    for kind in ("audio", "subtitle"):
        assert stream_packets(dst, kind) == stream_packets(src, kind)  # copied, not re-encoded
    # frame_fn ran on every frame, in the right colours (BT.709 both ways)
    first_in = next(_io.iter_frames(src, max_frames=1)).image.astype(int)
    first_out = next(_io.iter_frames(dst, max_frames=1)).image.astype(int)
    assert np.abs((255 - first_in) - first_out).mean() < 6


def test_label_survives_transcode_in_mp4(clips: dict[str, Path], tmp_path: Path, label: object) -> None:
    from synthmark.aigc import AIGCLabel

    assert isinstance(label, AIGCLabel)
    labeled = tmp_path / "labeled.mp4"
    labeled.write_bytes(_mp4.write_label(clips[".mp4"].read_bytes(), label))
    out = tmp_path / "out.mp4"
    _io.transcode(labeled, out, preset="ultrafast")
    assert _mp4.read_label(out.read_bytes()) == label.to_json()  # use_metadata_tags keeps the key
    mkv = tmp_path / "labeled.mkv"
    mkv.write_bytes(_mkv.write_label(clips[".mkv"].read_bytes(), label))
    _io.transcode(mkv, tmp_path / "out.mkv", preset="ultrafast")
    assert _mkv.read_label((tmp_path / "out.mkv").read_bytes()) == label.to_json()


def test_audio_callback_and_size_change(clips: dict[str, Path], tmp_path: Path) -> None:
    seen: list[tuple[tuple[int, ...], int]] = []

    def quieter(samples: np.ndarray, rate: int, seconds: float) -> np.ndarray:
        seen.append((samples.shape, rate))
        return samples * 0.5

    def crop(rgb: np.ndarray, seconds: float) -> np.ndarray:
        return rgb[10:-10, 20:-20]

    dst = tmp_path / "out.mp4"
    result = _io.transcode(clips[".mp4"], dst, crop, audio_fn=quieter, preset="ultrafast")
    assert (result.width, result.height) == (280, 160) == (_io.probe(dst).width, _io.probe(dst).height)
    assert seen and all(shape[1] == 2 and rate == 48000 for shape, rate in seen)
    assert stream_packets(dst, "audio") != stream_packets(clips[".mp4"], "audio")

    with pytest.raises(InputError, match="even-sized"):
        _io.transcode(clips[".mp4"], tmp_path / "bad.mp4", lambda rgb, t: rgb[:, :, 0])
    assert not (tmp_path / "bad.mp4").exists()


def test_subtitles_dropped_with_a_warning_where_the_container_cannot_hold_them(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    result = _io.transcode(clips[".mkv"], tmp_path / "out.mp4", preset="ultrafast")
    assert any("subtitle" in w for w in result.warnings)
    with pytest.raises(UnsupportedFormatError, match="libvpx-vp9"):
        _io.transcode(clips[".mkv"], tmp_path / "out.webm")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_corrupt_and_truncated_input_leave_nothing(suffix: str, clips: dict[str, Path], tmp_path: Path) -> None:
    data = clips[suffix].read_bytes()
    cases = {"empty": b"", "head": data[:200], "half": data[: len(data) // 2], "noise": b"\x1aE\xdf\xa3" + bytes(999)}
    for name, broken in cases.items():
        src = tmp_path / f"{name}{suffix}"
        src.write_bytes(broken)
        dst = tmp_path / f"out-{name}{suffix}"
        with pytest.raises(CorruptFileError) as info:
            _io.transcode(src, dst, invert, preset="ultrafast")
        assert info.value.path == str(src) and info.value.fix, name
        assert not dst.exists(), name
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_output_rules(clips: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"keep")
    with pytest.raises(OutputExistsError):
        _io.transcode(clips[".mp4"], dst)
    assert dst.read_bytes() == b"keep"
    with pytest.raises(UnsupportedFormatError, match="cannot write video"):
        _io.transcode(clips[".mp4"], tmp_path / "out.avi")
    with pytest.raises(UnsupportedFormatError, match="encoder"):
        _io.transcode(clips[".mp4"], tmp_path / "x.mp4", codec="mpeg2video")
    with pytest.raises(UnsupportedFormatError, match="not a video"):
        text = tmp_path / "notes.txt"
        text.write_text("hello " * 100)
        _io.probe(text)


def test_trim_and_fps_filter(clips: dict[str, Path], tmp_path: Path) -> None:
    dst = tmp_path / "trim.mp4"
    result = _io.transcode(clips[".mp4"], dst, start=0.5, duration=1.0, filters=[("fps", "25")], preset="ultrafast")
    times = frame_times(dst)
    assert result.frames == len(times) == 25 and times[0] == 0.0
    info = _io.probe(dst)
    assert info.fps == 25 and info.duration is not None and abs(info.duration - 1.0) < 0.1


def test_iter_frames(clips: dict[str, Path]) -> None:
    src = clips[".mp4"]  # 2 s at 30 fps
    every = list(_io.iter_frames(src, every_n=10))
    assert [f.index for f in every] == list(range(0, 60, 10))
    assert every[0].image.shape == (180, 320, 3) and every[0].image.dtype == np.uint8
    at = list(_io.iter_frames(src, times=[1.5, 0.2, 1.0]))
    assert [round(f.time, 3) for f in at] == [0.2, 1.0, 1.5]
    assert len(list(_io.iter_frames(src, max_frames=3))) == 3
    # the frame found by seeking is the frame decoded in order
    ordered = {round(f.time, 3): f.image for f in _io.iter_frames(src)}
    assert all(np.array_equal(f.image, ordered[round(f.time, 3)]) for f in at)
    with pytest.raises(InputError):
        list(_io.iter_frames(src, every_n=2, times=[1.0]))


def test_remux_bytes_keeps_packets(clips: dict[str, Path]) -> None:
    data = clips[".mov"].read_bytes()
    out = _io.remux_bytes(data, {"comment": "hello"})
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["comment"] == "hello"
        assert next(container.decode(video=0)).rotation == 90


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_errors_name_the_users_file_not_a_working_copy(suffix: str, clips: dict[str, Path]) -> None:
    from synthmark.image.visible import LabelStyle
    from synthmark.video import relabel_content

    data = bytearray(clips[suffix].read_bytes())
    noise = np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8)
    for i, value in zip(np.random.default_rng(4).integers(len(data) // 4, len(data), 4000), noise, strict=True):
        data[i] = value  # the container still parses; the frames do not decode
    with pytest.raises(CorruptFileError) as info:
        relabel_content(bytes(data), LabelStyle(), path=f"holiday{suffix}")
    assert info.value.path == f"holiday{suffix}" and "synthmark-video-" not in str(info.value)
