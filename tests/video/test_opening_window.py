"""The opening label counts from the first presented frame, whatever the timestamps (issue 13,
item 2): a stream offset of 5 s, negative start timestamps, an MP4 edit list skipping the first
0.5 s, a variable frame rate and B-frame reordering. Measured on the decoded output: each
frame's presentation time relative to the output's first frame, and whether the label's box
differs from the unlabeled source frame."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

import synthmark
from fixtures.clips import CLIPS, MAKER, make_clip
from synthmark import video
from synthmark.aigc import AIGCLabel
from synthmark.errors import InputError, RenderError
from synthmark.image.visible import LabelPlacement
from synthmark.video._io import iter_frames, transcode

WIDTH, HEIGHT = 640, 360
SECONDS = 4.0  # each clip outlasts the default 3 s opening by 1 s
OPENING = 3.0  # VideoLabelStyle's default
EPS = 1e-3


# --- fixtures -----------------------------------------------------------------------------------


def _remux(src: Path, dst: Path, shift: float, muxer: str = "mp4") -> Path:
    """``src`` with every stream's timestamps moved by ``shift`` seconds, packets copied (what
    ``ffmpeg -c copy -output_ts_offset SHIFT`` does). The MP4 muxer writes an edit list for
    negative timestamps; Matroska keeps a positive offset as it is."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=muxer) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.size == 0:
                continue
            ticks = round(shift / packet.time_base)
            packet.pts = None if packet.pts is None else packet.pts + ticks
            packet.dts = None if packet.dts is None else packet.dts + ticks
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the ISO-BMFF boxes in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes | bytearray, start: int, end: int, kind: bytes) -> tuple[int, int]:
    return next((s, e) for k, s, e in _boxes(data, start, end) if k == kind)


def _timescale(data: bytes | bytearray, payload: int) -> int:
    """The timescale of an mvhd or mdhd box (version 0 or 1)."""
    return int(struct.unpack_from(">I", data, payload + (20 if data[payload] == 1 else 12))[0])


def _video_elst(data: bytes | bytearray) -> tuple[int, int, int]:
    """(offset of the video track's first elst entry, movie timescale, media timescale)."""
    moov = _child(data, 0, len(data), b"moov")
    movie_scale = _timescale(data, _child(data, *moov, b"mvhd")[0])
    for kind, start, end in _boxes(data, *moov):
        if kind != b"trak":
            continue
        mdia = _child(data, start, end, b"mdia")
        if bytes(data[_child(data, *mdia, b"hdlr")[0] + 8 : _child(data, *mdia, b"hdlr")[0] + 12]) != b"vide":
            continue
        media_scale = _timescale(data, _child(data, *mdia, b"mdhd")[0])
        elst = _child(data, *_child(data, start, end, b"edts"), b"elst")[0]
        assert data[elst] == 0 and struct.unpack_from(">I", data, elst + 4)[0] == 1  # one version-0 edit
        return elst + 8, movie_scale, media_scale
    raise AssertionError("no video track")


def _skip_with_edit_list(src: Path, dst: Path, skip: float) -> Path:
    """``src`` (an MP4 whose video track has one edit) with that edit starting ``skip`` seconds
    later into the media: a lossless trim, as editors export it. The frames skipped stay in
    the file (the first keyframe is at 0, so they are decoded and dropped)."""
    data = bytearray(src.read_bytes())
    entry, movie_scale, media_scale = _video_elst(data)
    duration, media_time = struct.unpack_from(">Ii", data, entry)
    struct.pack_into(">Ii", data, entry, duration - round(skip * movie_scale), media_time + round(skip * media_scale))
    dst.write_bytes(data)
    return dst


def _encode(dst: Path, pts: list[int], time_base: Fraction, x264: str) -> Path:
    """Frames of the meadow photo's pan at ``pts`` (in ``time_base``), H.264 in MP4."""
    bgr = cv2.imread(str(MAKER.PHOTOS / CLIPS["kenburns_meadow.mp4"].photo))
    assert bgr is not None
    photo = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    with av.open(str(dst), "w", format="mp4") as container:
        stream = container.add_stream(
            "libx264", rate=30, options={"crf": "23", "preset": "veryfast", "x264-params": x264}
        )
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.time_base = time_base
        for when, rgb in zip(pts, MAKER.frames(photo, WIDTH, HEIGHT, len(pts)), strict=True):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = when, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return dst


def _vfr_pts(seconds: float) -> list[int]:
    """Frame starts in 1/30 s: durations alternating 1/30 and 1/10 s."""
    pts, now = [], 0
    while now < seconds * 30:
        pts.append(now)
        now += 1 if len(pts) % 2 else 3
    return pts


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The timestamp cases, 640x360: the test clip (the meadow pan with its music, 4 s, H.264
    with B-frames + AAC) shifted to 5 s, shifted to -0.5 s, trimmed by an edit list (3.5 s
    presented), and two clips encoded here: variable frame rate, and B-frames from the start."""
    folder = tmp_path_factory.mktemp("opening")
    base = make_clip("kenburns_meadow.mp4", folder, seconds=SECONDS, width=WIDTH, height=HEIGHT)
    return {
        "source.mp4": base,
        "start5.mp4": _remux(base, folder / "start5.mp4", 5.0),
        "start5.mkv": _remux(base, folder / "start5.mkv", 5.0, "matroska"),
        "negative.mp4": _remux(base, folder / "negative.mp4", -0.5),
        "edit_list.mp4": _skip_with_edit_list(base, folder / "edit_list.mp4", 0.5),
        "vfr.mp4": _encode(folder / "vfr.mp4", _vfr_pts(SECONDS), Fraction(1, 30), "bframes=0"),
        "bframes.mp4": _encode(
            folder / "bframes.mp4",
            list(range(round(SECONDS * 30))),
            Fraction(1, 30),
            "bframes=3:b-adapt=0:b-pyramid=normal:keyint=48",
        ),
    }


# --- measuring the output -----------------------------------------------------------------------


def _presented(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(frame.time) for frame in container.decode(video=0)]


def _measure(source: Path, out: Path, box: LabelPlacement) -> list[tuple[float, bool]]:
    """(time after the output's first presented frame, label shown) for every output frame:
    shown when the label's box differs from the unlabeled source frame at the same time by a
    mean of more than 30 levels (the plate and text give 120-140, the re-encode about 2)."""
    before = {round(f.time, 3): f.image for f in iter_frames(source)}
    after = [(f.time, f.image) for f in iter_frames(out)]
    assert [round(t, 3) for t, _ in after] == sorted(before)  # every frame kept, timestamps too
    first = after[0][0]
    rows, cols = slice(box.top, box.top + box.height), slice(box.left, box.left + box.width)
    measured = []
    for time, image in after:
        original = before[round(time, 3)][rows, cols].astype(np.int16)
        measured.append((time - first, float(np.abs(original - image[rows, cols]).max(axis=2).mean()) > 30))
    return measured


def _assert_opening(measured: list[tuple[float, bool]], opening: float = OPENING) -> tuple[float, float, float]:
    """The label is on every frame that starts in [first, first + opening) and on none after;
    returns (first labeled, last labeled, first unlabeled) times after the first frame."""
    shown = [t for t, on in measured if on]
    hidden = [t for t, on in measured if not on]
    assert shown and hidden, measured  # the clip outlasts the window, so "not after" is measured
    assert [on for _, on in measured] == [t < opening - EPS for t, _ in measured], measured
    assert shown[0] == 0.0  # from the first presented frame
    assert hidden[0] >= opening - EPS  # the last labeled frame stays on screen until `opening`
    return shown[0], shown[-1], hidden[0]


# --- the file pipeline --------------------------------------------------------------------------

CASES = ["start5.mp4", "negative.mp4", "edit_list.mp4", "vfr.mp4", "bframes.mp4"]


def test_fixtures_have_the_timestamps_they_claim(clips: dict[str, Path]) -> None:
    assert _presented(clips["start5.mp4"])[0] == pytest.approx(5.0)
    assert _presented(clips["start5.mkv"])[0] == pytest.approx(5.0)
    with av.open(str(clips["negative.mp4"])) as container:  # packets start at -0.5 s
        first = next(p for p in container.demux(video=0) if p.pts is not None)
        assert float(first.pts * first.time_base) == pytest.approx(-0.5)
    # the edit list skips 0.5 s: the first presented frame is the source's frame at 0.5 s
    edited, whole = next(iter_frames(clips["edit_list.mp4"])), list(iter_frames(clips["source.mp4"]))
    assert edited.time == 0.0 and len(_presented(clips["edit_list.mp4"])) == len(whole) - 15
    assert np.abs(edited.image.astype(np.int16) - whole[15].image).mean() < 1
    steps = np.round(np.diff(_presented(clips["vfr.mp4"])) * 30).astype(int)
    assert set(steps[0::2]) == {1} and set(steps[1::2]) == {3}  # 1/30 s, 1/10 s, 1/30 s, ...
    with av.open(str(clips["bframes.mp4"])) as container:
        coded = [p.pts for p in container.demux(video=0) if p.pts is not None]
    assert coded != sorted(coded)  # decoding order is not presentation order
    with av.open(str(clips["bframes.mp4"])) as container:
        kinds = [str(f.pict_type) for f in container.decode(video=0)]
    assert kinds.count(str(av.video.frame.PictureType.B)) > len(kinds) // 2


@pytest.mark.parametrize("name", CASES)
@pytest.mark.clause("video-explicit")
def test_opening_label_covers_the_first_3s_presented(name: str, clips: dict[str, Path], tmp_path: Path) -> None:
    """Before the fix, start5.mp4 got no labeled frame at all (the schedule counted from 0 s)."""
    source = clips[name]
    out = tmp_path / f"labeled{source.suffix}"
    done = video.label_video(source, out)
    measured = _measure(source, out, done["placement"])
    _assert_opening(measured)
    assert done["labeled_frames"] == sum(on for _, on in measured)


def test_label_file_on_an_offset_matroska_claims_only_what_it_shows(clips: dict[str, Path], tmp_path: Path) -> None:
    source, out = clips["start5.mkv"], tmp_path / "labeled.mkv"
    label = AIGCLabel.new("synthmark-tests", produce_id="offset-1")
    result = synthmark.label_file(source, out, label)
    assert result.layers == ("visible", "metadata") and result.placement is not None
    assert _presented(out)[0] == pytest.approx(5.0)  # the offset is kept
    _assert_opening(_measure(source, out, result.placement))


def test_no_labeled_frame_is_an_error_not_a_result(clips: dict[str, Path], tmp_path: Path) -> None:
    """A labeler told the video starts at 0 s, given frames from 5 s on, labels nothing: the
    pipeline raises and writes nothing rather than report the visible layer."""
    out = tmp_path / "never.mp4"
    labeler = video.VideoLabeler(video.VideoLabelStyle(), start=0.0)
    with pytest.raises(RenderError, match="no frame of the 120 given carried the explicit label"):
        transcode(clips["start5.mp4"], out, labeler)
    assert not out.exists() and not list(tmp_path.iterdir())


# --- the frame API ------------------------------------------------------------------------------

FRAME = np.full((HEIGHT, WIDTH, 3), 110, np.uint8)


def _labeled(labeler: video.VideoLabeler, times: list[float]) -> list[float]:
    return [t for t in times if (labeler.label(FRAME, t) != FRAME).any()]


@pytest.mark.parametrize("first", [5.0, -0.5, 0.0])
def test_schedule_counts_from_the_earliest_time(first: float) -> None:
    times = [first + i / 30 for i in range(150)]
    labeler = video.VideoLabeler(video.VideoLabelStyle())
    assert _labeled(labeler, times) == [t for t in times if t - first < OPENING - EPS]
    assert labeler.start == first and labeler.labeled_from == 0.0
    assert labeler.labeled_until == pytest.approx(89 / 30)


def test_decoding_order_is_placed_by_presentation_time(clips: dict[str, Path]) -> None:
    """Frames given in decoding order (B-frames after the P frame they precede) are labeled by
    their presentation times: the same frames as in presentation order."""
    with av.open(str(clips["bframes.mp4"])) as container:
        coded = [float(p.pts * p.time_base) + 5.0 for p in container.demux(video=0) if p.pts is not None]
    labeler = video.VideoLabeler(video.VideoLabelStyle())
    assert sorted(_labeled(labeler, coded)) == [t for t in sorted(coded) if t - 5.0 < OPENING - EPS]
    # a leading frame that comes after a later one (open GOP) moves the start back
    late_first = video.VideoLabeler(video.VideoLabelStyle())
    assert _labeled(late_first, [5.1, 5.0, 7.99, 8.0, 8.05]) == [5.1, 5.0, 7.99]
    assert late_first.start == 5.0


def test_persistent_and_extra_placements_count_from_the_first_frame() -> None:
    times = [5.0 + i / 10 for i in range(100)]  # 5 s to 14.9 s
    persistent = video.VideoLabeler(video.VideoLabelStyle(mode="persistent"))
    assert _labeled(persistent, times) == times
    extra = video.VideoLabeler(video.VideoLabelStyle(seconds=2.0, also_at=(4.0, -3.0)), duration=10.0)
    shown = [round(t - 5.0, 1) for t in _labeled(extra, times)]
    expected = [round(i / 10, 1) for i in range(100) if i < 20 or 40 <= i < 60 or 70 <= i < 90]
    assert shown == expected  # [0, 2), [4, 6) and [7, 9) after the first frame; 10 s long


def test_explicit_start_and_finish() -> None:
    part = video.VideoLabeler(video.VideoLabelStyle(), start=0.0)  # a part of a longer video
    assert _labeled(part, [10.0, 10.5]) == [] and part.start == 0.0
    with pytest.raises(RenderError, match="no frame of the 2 given"):
        part.finish("part.mp4")
    early = video.VideoLabeler(video.VideoLabelStyle(), start=1.0)
    assert _labeled(early, [0.5, 1.0, 3.9, 4.0]) == [0.5, 1.0, 3.9]  # before the start: shown
    early.finish()
    video.VideoLabeler(video.VideoLabelStyle()).finish()  # no frames, nothing to check
    video.VideoLabeler(None).label(FRAME, 9.0)  # no label asked for
    with pytest.raises(InputError, match="finite"):
        video.VideoLabeler(video.VideoLabelStyle()).label(FRAME, float("nan"))


def test_pyav_frames_use_their_own_presentation_times(clips: dict[str, Path]) -> None:
    labeler = video.VideoLabeler(video.VideoLabelStyle())
    shown: list[float] = []
    with av.open(str(clips["start5.mp4"])) as container:
        for frame in container.decode(video=0):
            out = labeler.label(frame)
            box = labeler.placement
            assert box is not None  # laid out at the first frame
            rows, cols = slice(box.top, box.top + box.height), slice(box.left, box.left + box.width)
            change = (
                out.to_ndarray(format="rgb24")[rows, cols].astype(np.int16)
                - frame.to_ndarray(format="rgb24")[rows, cols]
            )
            if np.abs(change).max(axis=2).mean() > 30:
                shown.append(float(frame.time) - 5.0)
    assert shown[0] == 0.0 and shown[-1] == pytest.approx(89 / 30) and len(shown) == 90
    blank: Any = av.VideoFrame.from_ndarray(FRAME, format="rgb24")  # no pts
    with pytest.raises(InputError, match="no timestamp"):
        labeler.label(blank)
    assert isinstance(labeler.label(blank, 5.5), av.VideoFrame)


@pytest.mark.parametrize("name", ["start5.mp4", "start5.mkv"])
def test_detectors_sample_from_the_first_presented_frame(name: str, clips: dict[str, Path]) -> None:
    """iter_frames counts times from the first presented frame, so a clip starting at 5 s is
    sampled over its whole opening, not at its first frame again and again."""
    from synthmark.video._io import iter_frames

    sampled = list(iter_frames(clips[name], times=[0.0, 1.0, 2.0, 3.0]))
    assert [round(f.time, 2) for f in sampled] == [0.0, 1.0, 2.0, 3.0]
    assert len({f.image.tobytes() for f in sampled}) == 4
    assert [round(f.time, 2) for f in iter_frames(clips[name], every_n=30, until=2.5)] == [0.0, 1.0, 2.0]
