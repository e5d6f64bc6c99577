"""The streaming frame API for video generators: :class:`VideoLabeler` takes frames with their
timestamps, one at a time or in batches, and returns them labeled (explicit label where the
schedule asks, invisible watermark in every frame). Memory is bounded: it keeps the laid-out
label and the watermark pattern for the current frame size, nothing per frame.

The schedule is measured from the video's **first presented frame**, not from timestamp 0: a
file whose first frame is shown at 5 s (a stream offset), or whose edit list or negative
timestamps (priming, pre-roll) hide the first coded frames, keeps its timestamps through the
pipeline, and the label covers ``[first, first + seconds)`` of what a player shows. The first
presented frame is the earliest timestamp the labeler is given (frames given in decoding order,
B-frames after the frame they precede, are placed by their presentation times), or ``start=``
when the caller knows it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from synthmark.errors import InputError, RenderError
from synthmark.image.visible import LabelPlacement, LabelStyle, PreparedLabel, prepare_label
from synthmark.keys import WatermarkKey
from synthmark.video.watermark import DEFAULT_PSNR, FrameWatermarker

__all__ = ["MIN_OPENING_SECONDS", "VideoLabelStyle", "VideoLabeler"]

#: GB 45438 5.4: the label stays in the opening frames for at least 2 s at normal speed.
MIN_OPENING_SECONDS = 2.0

VisibleMode = Literal["opening", "persistent"]


@dataclass(frozen=True)
class VideoLabelStyle:
    """When and how the explicit label shows in a video.

    ``mode``: ``"opening"`` (the first ``seconds`` of the video; >= 2, default 3 to stay clear
    of the minimum after trimming of the first frame by a player) or ``"persistent"`` (every
    frame). ``also_at``: extra placements, each a start time in seconds (negative: from the
    end, which needs ``duration``) shown for ``seconds``. ``image``: the text, position,
    height and plate, as for images (text height >= 5 % of the short side).
    """

    mode: VisibleMode = "opening"
    seconds: float = 3.0
    also_at: tuple[float, ...] = ()
    image: LabelStyle = field(default_factory=lambda: LabelStyle(position="top-left"))

    def __post_init__(self) -> None:
        if self.mode not in ("opening", "persistent"):
            raise RenderError(f"unknown video label mode {self.mode!r}", fix="use opening or persistent")
        if self.seconds < MIN_OPENING_SECONDS:
            raise RenderError(
                f"the label shows for {self.seconds} s, under GB 45438's {MIN_OPENING_SECONDS:.0f} s",
                fix="pass seconds >= 2",
            )

    def shows_at(self, time: float, duration: float | None) -> bool:
        """Whether a frame shown ``time`` seconds after the video's first presented frame carries
        the label (``duration``: the video's length from that frame, for placements from the
        end). Times before the first frame (negative) are in the opening."""
        if self.mode == "persistent" or time < self.seconds:
            return True
        for start in self.also_at:
            if start < 0:
                if duration is None:
                    raise InputError(
                        "a placement from the end needs the video's duration", fix="pass duration= to the labeler"
                    )
                start = max(0.0, duration + start)
            if start <= time < start + self.seconds:
                return True
        return False


class VideoLabeler:
    """Labels the frames of one video as a generator produces them.

    Parameters
    ----------
    visible:
        A :class:`VideoLabelStyle`, or None for no explicit label.
    key, content_id:
        The :class:`~synthmark.keys.WatermarkKey` and 64-bit id to watermark every frame with,
        or None for no watermark.
    duration:
        The video's length in seconds from its first presented frame, if known (needed only for
        placements from the end).
    target_psnr:
        Per-frame quality target of the watermark, dB (default 41).
    rotation:
        The video's display rotation, degrees counter-clockwise (a multiple of 90; PyAV/FFmpeg's
        display matrix): the label is drawn upright as the video is shown, not as it is coded.
    start:
        The presentation time, in the frames' own timeline, of the video's first presented
        frame. None (the default): the earliest timestamp given so far, so a video whose
        timestamps start at 5 s, or below 0, is labeled from its first frame, and frames given
        in decoding order (B-frames) are placed by their presentation times. Give it when
        labeling one part of a longer video (``start=0.0`` for a part that begins later).

    Frames are H x W x 3 uint8 RGB arrays or PyAV ``VideoFrame`` objects (any pixel format; the
    same kind comes back, with the same pts, time base and size); timestamps are presentation
    times in seconds, in any timeline (a PyAV frame's own ``time`` by default): the schedule
    counts from the first presented frame (see ``start``). Frames need not all have one size.
    After the last frame, :meth:`finish` raises if the label was asked for and no frame got it
    (:func:`synthmark.video._io.transcode` calls it before writing the file).

    >>> import numpy as np
    >>> labeler = VideoLabeler(VideoLabelStyle(), None, None)
    >>> frame = np.full((360, 640, 3), 90, np.uint8)
    >>> bool((labeler.label(frame, 0.0) != frame).any()), bool((labeler.label(frame, 5.0) != frame).any())
    (True, False)
    >>> late = VideoLabeler(VideoLabelStyle(), None, None)  # a video whose first frame is at 5 s
    >>> [bool((late.label(frame, t) != frame).any()) for t in (5.0, 7.9, 8.0)], late.start
    ([True, True, False], 5.0)
    """

    def __init__(
        self,
        visible: VideoLabelStyle | None = VideoLabelStyle(),
        key: WatermarkKey | None = None,
        content_id: int | None = None,
        *,
        duration: float | None = None,
        target_psnr: float = DEFAULT_PSNR,
        rotation: int = 0,
        start: float | None = None,
    ) -> None:
        if (key is None) != (content_id is None):
            raise InputError("key and content_id go together", fix="pass both, or neither for no watermark")
        if rotation % 90:
            raise InputError(
                f"display rotation {rotation} is not a multiple of 90 degrees", fix="pass 0, 90, 180 or 270"
            )
        if visible is not None and duration is None and any(at < 0 for at in visible.also_at):
            # checked here: the first frame past the opening may come only after many frames
            raise InputError("a placement from the end needs the video's duration", fix="pass duration= to the labeler")
        if start is not None and not math.isfinite(start):
            raise InputError(f"start must be a finite time in seconds, got {start}", fix="pass a number or None")
        self.visible = visible
        self.duration = duration
        self._start_given = start is not None
        #: The presentation time of the first presented frame (None before the first frame
        #: unless given): the schedule counts from here.
        self.start: float | None = start
        self._turns = (rotation // 90) % 4
        self._marker = (
            None if key is None or content_id is None else FrameWatermarker(key, content_id, target_psnr=target_psnr)
        )
        self._label: PreparedLabel | None = None
        self._label_size: tuple[int, ...] = ()
        self.frames = 0
        self.labeled_frames = 0
        #: Presentation times, in seconds after :attr:`start`, of the first and the last frame
        #: given the explicit label (None before one is).
        self.labeled_from: float | None = None
        self.labeled_until: float | None = None

    @property
    def placement(self) -> LabelPlacement | None:
        """Where the label goes in frames of the current size (None before the first label)."""
        return None if self._label is None else self._label.placement

    def _shows(self, time: float) -> bool:
        """Whether the frame presented at ``time`` gets the explicit label; moves :attr:`start`
        back to ``time`` when it is the earliest yet (unless ``start`` was given)."""
        if not math.isfinite(time):
            raise InputError(f"frame timestamp {time} is not a finite number of seconds", fix="pass real timestamps")
        if not self._start_given and (self.start is None or time < self.start):
            self.start = time
        if self.visible is None:
            return False
        origin = time if self.start is None else self.start
        return self.visible.shows_at(time - origin, self.duration)

    def _count_label(self, time: float) -> None:
        after = time - (time if self.start is None else self.start)  # start is set by _shows
        self.labeled_frames += 1
        self.labeled_from = after if self.labeled_from is None else min(self.labeled_from, after)
        self.labeled_until = after if self.labeled_until is None else max(self.labeled_until, after)

    def finish(self, path: str | None = None) -> None:
        """Check the explicit label, after the last frame: with a visible style and frames
        given, at least one frame must have carried it, else :class:`RenderError` (a result
        must never claim a label no frame shows). ``path`` names the file in the message."""
        if self.visible is not None and self.frames and not self.labeled_frames:
            where = "" if self.start is None else f" (first frame at {self.start:.3f} s)"
            raise RenderError(
                f"no frame of the {self.frames} given carried the explicit label{where}",
                path=path,
                fix="give frames their presentation times, and start= only if it is the first frame's time",
            )

    def _label_for(self, frame: np.ndarray) -> PreparedLabel:
        if self._label is None or self._label_size != frame.shape[:2]:
            self._label = prepare_label(frame, self.visible.image if self.visible else LabelStyle())
            self._label_size = frame.shape[:2]
        return self._label

    def label_array(self, frame: np.ndarray, time: float) -> np.ndarray:
        """The labeled copy of an H x W x 3 uint8 RGB ``frame`` shown at ``time`` seconds."""
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise InputError(
                f"expected an H x W x 3 uint8 RGB frame, got {getattr(frame, 'shape', type(frame).__name__)}",
                fix="pass rgb24 arrays or PyAV VideoFrames",
            )
        out = frame
        if self._shows(time):
            shown = np.rot90(frame, self._turns)  # as displayed
            out = np.rot90(self._label_for(shown).apply(shown.copy()), -self._turns)
            out = np.ascontiguousarray(out)
            self._count_label(time)
        if self._marker is not None:
            out = self._marker.mark(out)
        elif out is frame:
            out = frame.copy()
        self.frames += 1
        return out

    def __call__(self, frame: np.ndarray, time: float) -> np.ndarray:
        """:meth:`label_array`: a labeler is the ``frame_fn`` of :func:`synthmark.video._io.transcode`
        (with :meth:`luma` as its fast path)."""
        return self.label_array(frame, time)

    def yuv420(self, planes: np.ndarray, time: float, full_range: bool) -> np.ndarray:
        """The fast path for 8-bit 4:2:0 video (see :data:`synthmark.video._io.FrameFn`): the
        frame's planes as PyAV lays them out ((H * 3 / 2) x W: Y, then U and V), labeled in
        place -- the label composited in YUV, the mark added to Y -- with no colour conversion."""
        height, width = planes.shape[0] * 2 // 3, planes.shape[1]
        luma = planes[:height]
        if self._shows(time):
            quarter = height // 4
            u = planes[height : height + quarter].reshape(height // 2, width // 2)
            v = planes[height + quarter :].reshape(height // 2, width // 2)
            turned = [np.rot90(plane, self._turns) for plane in (luma, u, v)]  # views, as displayed
            self._label_for(turned[0]).apply_yuv420(*turned, full_range=full_range)  # plate chosen on luma
            self._count_label(time)
        if self._marker is not None:
            planes[:height] = self._marker.mark_luma(luma, full_range=full_range)
        self.frames += 1
        return planes

    def label(self, frame: Any, time: float | None = None) -> Any:
        """One frame: an RGB array (with ``time``, seconds) or a PyAV ``VideoFrame`` (``time``
        defaults to the frame's own presentation time; a frame without one needs ``time``);
        the same kind back."""
        if isinstance(frame, np.ndarray):
            if time is None:
                raise InputError("a frame array needs its timestamp", fix="pass time= in seconds")
            return self.label_array(frame, time)
        import av

        if not isinstance(frame, av.VideoFrame):
            raise InputError(f"cannot label a {type(frame).__name__}", fix="pass an RGB array or a PyAV VideoFrame")
        when = time if time is not None else frame.time
        if when is None:
            raise InputError("this VideoFrame has no timestamp (pts)", fix="set its pts and time_base, or pass time=")
        rgb = self.label_array(frame.to_ndarray(format="rgb24"), float(when))
        out = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if frame.format.name != "rgb24":
            out = out.reformat(format=frame.format.name)
        out.pts = frame.pts
        if frame.time_base is not None:  # a frame made from an array has none
            out.time_base = frame.time_base
        return out

    def label_batch(self, frames: Iterable[Any], times: Sequence[float] | None = None) -> list[Any]:
        """Several frames in order (``times`` one per frame, or None for PyAV frames)."""
        frame_list = list(frames)
        if times is not None and len(times) != len(frame_list):
            raise InputError(
                f"{len(frame_list)} frames but {len(times)} timestamps", fix="pass one timestamp per frame"
            )
        return [self.label(frame, None if times is None else times[i]) for i, frame in enumerate(frame_list)]
