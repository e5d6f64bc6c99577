"""Video: the opening-frames label, the frame watermark and the metadata label for MP4/MOV/M4V,
MKV and WebM.

The verbs every modality shares:

* :class:`VideoLabeler` — the streaming frame API for generators: frames (RGB arrays or PyAV
  frames) with their timestamps in, labeled frames out (explicit label on the schedule of a
  :class:`VideoLabelStyle`, watermark in every frame), memory bounded;
* :func:`embed_watermark` / :func:`detect_watermark` — the keyed watermark on frames;
* :func:`label_video` — the file pipeline: decode, label, encode (H.264 by default), mux with
  every other stream, timestamps, rotation and colour properties kept;
* :func:`read_metadata` / :func:`write_metadata` — the AIGC label in the container, without
  re-encoding (MP4 ``moov/udta/meta`` key ``AIGC``, Matroska SimpleTag ``AIGC``).

PyAV (FFmpeg) is imported on first use.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from synthmark._lazy import lazy_attributes
from synthmark.aigc import AIGCLabel
from synthmark.errors import LowCapacityError, SynthmarkError
from synthmark.keys import WatermarkKey
from synthmark.media import Media
from synthmark.metadata import MetadataReading, interpret, write_checked
from synthmark.payload import Mark
from synthmark.protocols import ExplicitStyles, Source

if TYPE_CHECKING:
    from synthmark.aisource import ProvenanceMetadata
    from synthmark.image.visible import LabelPlacement, LabelStyle
    from synthmark.video.labeler import MIN_OPENING_SECONDS, VideoLabeler, VideoLabelStyle
    from synthmark.video.watermark import FrameWatermarker, VideoWatermarkReport

__all__ = [
    "EXPLICIT_LAYER",
    "LATER_SAMPLES",
    "MIN_OPENING_SECONDS",
    "OPENING_SAMPLES",
    "WATERMARK_OPTIONS",
    "FrameWatermarker",
    "Mark",
    "VideoLabelStyle",
    "VideoLabeler",
    "VideoWatermarkReport",
    "detect_watermark",
    "embed_watermark",
    "evaluate_robustness",
    "explicit_style",
    "find_explicit",
    "find_watermark",
    "iter_frames",
    "label_video",
    "read_metadata",
    "read_provenance_metadata",
    "relabel_content",
    "transcode",
    "write_metadata",
]


#: The Modality contract (synthmark.protocols): the explicit label's layer name, the options
#: find_watermark takes beyond the keys.
EXPLICIT_LAYER = "visible"
WATERMARK_OPTIONS = frozenset({"frames", "max_frames"})


def explicit_style(styles: ExplicitStyles) -> VideoLabelStyle | None:
    """The frames' label: the visible style's text and placement, shown as ``styles.video``
    says (default: the opening frames); None when the visible label is off."""
    from synthmark.video.labeler import VideoLabelStyle

    if styles.visible is None:
        return None
    if styles.video is None:
        return VideoLabelStyle(image=styles.visible)
    return dataclasses.replace(styles.video, image=styles.visible)  # type: ignore[no-any-return]


# The frame-level pieces import the image modality, which imports the format registry, which
# imports this package for its magic bytes: they load on first use.
_LAZY = {
    "MIN_OPENING_SECONDS": "synthmark.video.labeler",
    "VideoLabeler": "synthmark.video.labeler",
    "VideoLabelStyle": "synthmark.video.labeler",
    "FrameWatermarker": "synthmark.video.watermark",
    "VideoWatermarkReport": "synthmark.video.watermark",
    "iter_frames": "synthmark.video._io",
    "transcode": "synthmark.video._io",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


def video_format(data: bytes, *, path: str | None) -> Any:
    """The video :class:`~synthmark.formats.Format` of ``data``; other media raise
    :class:`UnsupportedFormatError`."""
    from synthmark.formats import sniff_modality  # not at import: formats reads this package's magic table

    return sniff_modality(data, "video", path=path)


def _load(source: Source) -> tuple[bytes, str | None]:
    from synthmark.formats import load_source

    return load_source(source)


def embed_watermark(
    frames: Iterable[np.ndarray], key: WatermarkKey, content_id: int, **options: Any
) -> Iterator[np.ndarray]:
    """The frames (H x W x 3 uint8 RGB) marked one at a time, lazily: the same keyed pattern in
    every frame (see :mod:`synthmark.video.watermark`); ``options`` go to
    :class:`FrameWatermarker`."""
    from synthmark.video.watermark import FrameWatermarker

    marker = FrameWatermarker(key, content_id, **options)
    return (marker.mark(frame) for frame in frames)


def detect_watermark(
    frames: Iterable[np.ndarray], keys: WatermarkKey | Sequence[WatermarkKey] | Iterable[WatermarkKey]
) -> VideoWatermarkReport:
    """Look for the watermark in a sample of frames of one video (see
    :func:`synthmark.video.watermark.detect_watermark`)."""
    from synthmark.video.watermark import detect_watermark as detect_frames

    return detect_frames(frames, keys)


def read_metadata(source: Source, *, strict: bool = False) -> MetadataReading:
    """The AIGC metadata label of a video file, read leniently (problems reported, not raised)."""
    data, path = _load(source)
    fmt = video_format(data, path=path)
    return interpret(fmt.module().read_carriers(data, path=path), strict=strict)


def write_metadata(source: Source, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """The file's bytes with exactly one AIGC label; no stream is re-encoded and other tags are
    kept. The label is read back before returning; ``path`` names bytes in errors."""
    data, source_path = _load(source)
    path = path or source_path
    return write_checked(video_format(data, path=path).module(), data, label, path=path)


def _sample_times(duration: float | None, count: int) -> list[float]:
    """``count`` times spread evenly over the clip (at most its first minute), away from the
    very first and last frames."""
    length = max(0.1, min(duration or 10.0, 60.0))
    return [length * (i + 0.5) / count for i in range(count)]


def find_watermark(
    source: Source, keys: list[WatermarkKey], *, frames: int = 12, max_frames: int = 240
) -> VideoWatermarkReport:
    """:func:`detect_watermark` on a file, sampling as few frames as suffice: first ``frames``
    frames spread over (at most) its first minute, decoded by seeking; when that finds nothing,
    the I and P frames of that minute (up to ``max_frames``, evenly): heavy re-encodes keep the
    mark in them and quantise B frames hardest. Frames not sampled are never converted."""
    from synthmark.video._io import iter_frames, probe

    with _as_path(source) as path:
        info = probe(path)
        first = detect_watermark((f.image for f in iter_frames(path, times=_sample_times(info.duration, frames))), keys)
        total = info.frames or round((info.duration or 0) * float(info.fps or 25))
        if first.found or total <= frames:
            return first
        span = min(info.duration or 60.0, 60.0)
        step = max(1, round(span * float(info.fps or 25) / max_frames))
        sampled = iter_frames(path, every_n=step, skip_b_frames=True, until=span, max_frames=max_frames)
        second = detect_watermark((f.image for f in sampled), keys)
        return second if second.found or second.pilot_z > first.pilot_z else first


#: Times sampled for the opening label (GB 45438: the opening frames, >= 2 s), seconds.
OPENING_SAMPLES = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)
#: Later samples, as fractions of the duration (a persistent or mid-video label).
LATER_SAMPLES = (0.25, 0.5, 0.75)


def find_explicit(source: Source, *, scan: Literal["edges", "full"] = "edges") -> dict[str, Any]:
    """The explicit-label evidence of a video: label text read by OCR in sampled frames.

    Frames are taken at :data:`OPENING_SAMPLES` seconds and at :data:`LATER_SAMPLES` of the
    duration (seeking; one frame in memory at a time), turned as the video is displayed, and
    read with the same call as images (:func:`synthmark.ocr.read_labels`, ``scan`` as there).

    Returns ``found``, ``checked`` (True), ``kind`` (``"text"`` or None), ``scan``, ``labels``
    (each label's :meth:`~synthmark.ocr.VisibleLabel.to_dict` plus ``t``, the frame's time in
    seconds), ``times`` (the frame times read), ``seen_from`` / ``seen_until`` (the first frame
    time with a label and the last of the unbroken run of sampled frames from there, seconds,
    or None), ``opening_ok`` (a label in the first presented frame and in every opening sample
    through 2 s after it -- the whole clip when it is shorter) and ``limited``.
    """
    from synthmark.ocr import read_labels
    from synthmark.video._io import iter_frames, probe
    from synthmark.video.labeler import MIN_OPENING_SECONDS

    with _as_path(source) as path:
        info = probe(path)
        duration = info.duration or 0.0
        step = 1.0 / float(info.fps or 25)
        # The opening must reach 2 s, or the last frame of a shorter clip.
        reach = max(0.0, min(MIN_OPENING_SECONDS, duration - step))
        times = sorted(
            {t for t in OPENING_SAMPLES if t < max(duration, step)}
            | {round(reach, 3)}
            | {round(f * duration, 3) for f in LATER_SAMPLES}
        )
        turns = (info.rotation // 90) % 4
        sampled: list[tuple[float, bool]] = []
        labels: list[dict[str, Any]] = []
        limited = False
        for frame in iter_frames(path, times=times):
            if sampled and frame.time <= sampled[-1][0]:
                continue  # two asked times fell on one frame
            reading = read_labels(np.ascontiguousarray(np.rot90(frame.image, turns)), scan=scan)
            limited |= reading.limited
            sampled.append((frame.time, bool(reading.labels)))
            labels += [{**label.to_dict(), "t": round(frame.time, 3)} for label in reading.labels]
    seen_from = seen_until = None
    for t, seen in sampled:
        if seen and seen_from is None:
            seen_from = seen_until = t
        elif seen_from is not None:
            if not seen:
                break
            seen_until = t
    start = sampled[0][0] if sampled else 0.0
    opening = [seen for t, seen in sampled if t - start <= MIN_OPENING_SECONDS + step / 2]
    reaches = any(t - start >= reach - step for t, _ in sampled)
    return {
        "found": bool(labels),
        "checked": True,
        "kind": "text" if labels else None,
        "scan": scan,
        "labels": labels,
        "times": [round(t, 3) for t, _ in sampled],
        "seen_from": None if seen_from is None else round(seen_from, 3),
        "seen_until": None if seen_until is None else round(seen_until, 3),
        "opening_ok": bool(opening) and all(opening) and reaches,
        "limited": limited,
    }


class _as_path:
    """A context giving a filesystem path for ``source``: its own path, or a temporary copy of
    bytes / a file object (removed on exit)."""

    def __init__(self, source: Source, *, suffix: str | None = None) -> None:
        self._source, self._suffix = source, suffix
        self._temp: str | None = None

    def __enter__(self) -> str:
        if isinstance(self._source, (str, os.PathLike)):
            return os.fspath(self._source)
        if isinstance(self._source, Media) and self._source.on_disk and self._source.path:
            return self._source.path  # video decodes stream from the file itself
        data, path = _load(self._source)
        suffix = self._suffix or (video_format(data, path=path).extensions[0])
        handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)
        with handle:
            handle.write(data)
        self._temp = handle.name
        return handle.name

    def __exit__(self, *exc: object) -> None:
        if self._temp is not None:
            Path(self._temp).unlink(missing_ok=True)


def label_video(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    visible: VideoLabelStyle | str | None = "opening",
    mark: Mark | None = None,
    codec: str | None = None,
    crf: int | None = None,
    progress: Any = None,
    overwrite: bool = False,
    check_watermark: bool = True,
) -> dict[str, Any]:
    """Decode ``src``, label every frame (:class:`VideoLabeler`), encode with ``codec`` (default
    H.264, or VP9 for WebM) at ``crf`` (default: the encoder's transparent setting, 18 for
    H.264) and mux into ``dst``
    (atomic) with every other stream, timestamps, rotation and colour properties kept.

    With ``mark`` and ``check_watermark`` the mark is read back from the written file; if it
    does not read back, ``dst`` is removed and :class:`LowCapacityError` raised. ``visible`` is
    a :class:`VideoLabelStyle`, ``"opening"`` / ``"persistent"`` (the default style in that
    mode) or None.
    Returns what was done: frames, frames with the visible label, output size, warnings.
    """
    from synthmark.video._io import probe, transcode
    from synthmark.video.labeler import VideoLabeler, VideoLabelStyle

    if isinstance(visible, str):
        visible = VideoLabelStyle(mode=visible)  # type: ignore[arg-type]  # checked by the style
    info = probe(src)
    if codec is None:
        codec = "libvpx-vp9" if Path(dst).suffix.lower() == ".webm" else "libx264"
    labeler = VideoLabeler(
        visible,
        None if mark is None else mark.key,
        None if mark is None else mark.content_id,
        duration=info.duration,
        rotation=info.rotation,
    )
    result = transcode(src, dst, labeler, codec=codec, crf=crf, progress=progress, overwrite=overwrite)
    if mark is not None and check_watermark:
        report = find_watermark(dst, [mark.key])
        if not report.found or report.content_id != mark.content_id:
            Path(dst).unlink(missing_ok=True)
            raise LowCapacityError(
                "the watermark does not read back from the labeled video (frames too small or flat)",
                path=os.fspath(src),
                fix="label it without --key (the other layers still apply)",
            )
    return {
        "frames": result.frames,
        "labeled_frames": labeler.labeled_frames,
        "width": result.width,
        "height": result.height,
        "warnings": list(result.warnings),
        "placement": labeler.placement,
    }


def relabel_content(
    data: bytes,
    style: LabelStyle | VideoLabelStyle | None,
    mark: Mark | None = None,
    *,
    path: str | None = None,
    progress: Any = None,
) -> tuple[bytes, LabelPlacement | None]:
    """Add the explicit label (an image :class:`LabelStyle` means the opening-frames label in
    that style) and/or the watermark: one decode and one encode in the input's container.
    Returns the new bytes and where the label went in the frames. The metadata label is written
    after this by the caller."""
    from synthmark.image.visible import LabelStyle
    from synthmark.video.labeler import VideoLabelStyle

    fmt = video_format(data, path=path)
    fmt.module().check(data, path=path)
    if isinstance(style, LabelStyle):
        style = VideoLabelStyle(image=style)
    with tempfile.TemporaryDirectory(prefix="synthmark-video-") as folder:
        suffix = (
            Path(path).suffix.lower() if path and Path(path).suffix.lower() in fmt.extensions else fmt.extensions[0]
        )
        src, dst = Path(folder) / f"in{suffix}", Path(folder) / f"out{suffix}"
        src.write_bytes(data)
        try:
            done = label_video(src, dst, visible=style, mark=mark, progress=progress)
        except SynthmarkError as exc:
            exc.about(path, instead_of=(str(src), str(dst)))
            raise
        return dst.read_bytes(), done["placement"]


def read_provenance_metadata(source: Source) -> ProvenanceMetadata:
    """AI origin declared in the file's ordinary metadata: IPTC digital source type and
    generator tools in any XMP packet it holds (see :mod:`synthmark.aisource`)."""
    from synthmark import aisource

    return aisource.read(_load(source)[0])


def evaluate_robustness(path: str | os.PathLike[str], key: WatermarkKey, **options: Any) -> Any:
    """The video suite of ``shared/spec/robustness.md`` against the mark in the file at
    ``path`` (a :class:`~synthmark.transforms.report.RobustnessReport`; options as
    :func:`synthmark.transforms.report.evaluate_file`)."""
    from synthmark.transforms.report import evaluate_video_file

    return evaluate_video_file(path, key, **options)
