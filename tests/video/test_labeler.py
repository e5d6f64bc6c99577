"""The frame API (VideoLabeler) and the file pipeline: label schedule and size measured on the
output, timestamps and other streams kept, bounded memory, bad input."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest

import synthmark
from fixtures.clips import make_clip
from synthmark import video
from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, InputError, RenderError, SynthmarkError
from synthmark.image.visible import MIN_HEIGHT, LabelStyle
from synthmark.keys import WatermarkKey
from synthmark.video._io import iter_frames, probe

KEY = WatermarkKey(hashlib.sha256(b"synthmark video labeler tests").digest())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5 s 640x360 H.264 + AAC of a real photo and a real recording, 30 fps."""
    return make_clip("kenburns_meadow.mp4", tmp_path_factory.mktemp("lab"), seconds=5.0, width=640, height=360)


def _label_mask(original: np.ndarray, labeled: np.ndarray) -> np.ndarray:
    return np.abs(original.astype(np.int16) - labeled).max(axis=2) > 40


def test_opening_label_lasts_at_least_2s_and_is_tall_enough(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "labeled.mp4"
    done = video.label_video(clip, out, visible=video.VideoLabelStyle(seconds=2.0))
    placement = done["placement"]
    assert placement.text_height >= MIN_HEIGHT * 360
    before = {round(f.time, 3): f.image for f in iter_frames(clip)}
    shown = [
        f.time for f in iter_frames(out) if _label_mask(before[round(f.time, 3)], f.image).mean() > 0.005
    ]  # frames where the label's plate and text changed the picture
    assert min(shown) == 0.0
    assert max(shown) + 1 / 30 >= 2.0  # the last labeled frame is on screen until 2 s
    assert max(shown) < 2.1  # and the label is gone after
    assert done["labeled_frames"] == len(shown) == 60


def test_persistent_and_end_placements() -> None:
    frame = np.full((360, 640, 3), 120, np.uint8)
    persistent = video.VideoLabeler(video.VideoLabelStyle(mode="persistent"))
    assert all((persistent.label(frame, t) != frame).any() for t in (0.0, 7.5, 100.0))
    ending = video.VideoLabeler(video.VideoLabelStyle(also_at=(-3.0,)), duration=10.0)
    shown = [t for t in np.arange(0, 10, 0.5) if (ending.label(frame, float(t)) != frame).any()]
    assert shown == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5]
    with pytest.raises(InputError, match="duration"):
        video.VideoLabeler(video.VideoLabelStyle(also_at=(-3.0,))).label(frame, 5.0)
    with pytest.raises(RenderError, match="2 s"):
        video.VideoLabelStyle(seconds=1.5)


def test_pyav_frames_keep_pts_time_base_and_format(clip: Path) -> None:
    labeler = video.VideoLabeler(video.VideoLabelStyle(), KEY, 7)
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            out = labeler.label(frame)
            assert isinstance(out, av.VideoFrame)
            assert (out.pts, out.time_base, out.format.name) == (frame.pts, frame.time_base, frame.format.name)
            assert (out.width, out.height) == (frame.width, frame.height)
            if labeler.frames == 10:
                break
    batch = labeler.label_batch([np.zeros((360, 640, 3), np.uint8)] * 3, [5.0, 5.04, 5.08])
    assert len(batch) == 3 and labeler.frames == 13
    with pytest.raises(InputError, match="timestamp"):
        labeler.label(np.zeros((360, 640, 3), np.uint8))
    with pytest.raises(InputError, match="3 frames but 2"):
        labeler.label_batch([np.zeros((360, 640, 3), np.uint8)] * 3, [0.0, 1.0])


def test_memory_stays_bounded_whatever_the_length() -> None:
    labeler = video.VideoLabeler(video.VideoLabelStyle(mode="persistent"), KEY, 9)
    frame = np.random.default_rng(0).integers(0, 255, (360, 640, 3), dtype=np.uint8)
    tracemalloc.start()
    for i in range(40):
        labeler.label(frame, i / 25)
    _, after_40 = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for i in range(40, 400):
        labeler.label(frame, i / 25)
    _, after_400 = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after_400 <= after_40 * 1.1  # the peak does not grow with the number of frames


def test_label_file_keeps_streams_timestamps_and_reads_back(tmp_path: Path) -> None:
    source = make_clip("kenburns_clock.mkv", tmp_path, seconds=4.0, width=640, height=360)
    out = tmp_path / "out.mkv"
    label = AIGCLabel.new("synthmark-tests", produce_id="video-1")
    result = synthmark.label_file(source, out, label, key=KEY)
    assert result.layers == ("visible", "watermark", "metadata")
    before, after = probe(source), probe(out)
    assert [s.kind for s in after.streams] == [s.kind for s in before.streams]  # video, audio, subtitles
    assert after.fps == before.fps and abs((after.duration or 0) - (before.duration or 0)) < 0.1
    assert [round(f.time, 3) for f in iter_frames(out)] == [round(f.time, 3) for f in iter_frames(source)]
    report = synthmark.verify_file(out, keys=[KEY])
    assert report.verdict == "confirmed" and report.evidence["watermark"].found
    assert report.label == label


def test_rotated_video_label_is_upright(tmp_path: Path) -> None:
    source = make_clip("rotated_dogs.mov", tmp_path, seconds=3.0, width=640, height=360)
    out = tmp_path / "out.mov"
    done = video.label_video(source, out, visible=video.VideoLabelStyle(image=LabelStyle(position="top-left")))
    assert probe(out).rotation == probe(source).rotation == 90
    coded = next(iter_frames(out, times=[0.5])).image
    original = next(iter_frames(source, times=[0.5])).image
    shown, shown_before = np.rot90(coded, 1), np.rot90(original, 1)  # as a player displays it
    mask = _label_mask(shown_before, shown)
    ys, xs = np.nonzero(mask)
    # in the displayed (portrait) picture the label sits at the top left, wider than tall
    assert ys.max() < shown.shape[0] * 0.25 and xs.max() < shown.shape[1] * 0.6
    assert (xs.max() - xs.min()) > (ys.max() - ys.min())
    assert done["placement"].top == done["placement"].left


def test_corrupt_and_truncated_video_leave_nothing(clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    label = AIGCLabel.new("synthmark-tests", produce_id="bad")
    for name, broken in (("cut.mp4", data[: len(data) // 3]), ("noise.mp4", data[:32] + bytes(4096))):
        src, out = tmp_path / name, tmp_path / f"out-{name}"
        src.write_bytes(broken)
        with pytest.raises(SynthmarkError) as info:
            synthmark.label_file(src, out, label, key=KEY)
        assert isinstance(info.value, (CorruptFileError, InputError)) or "damaged" in str(info.value)
        assert str(src) in str(info.value) and not out.exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("out-")] == []
