"""Video files through PyAV (FFmpeg): probe, streaming transcode, frame sampling, remux.

Everything here streams: frames are decoded, handed over and encoded one at a time, so memory
does not grow with the length of the video (no whole-video arrays).

* :func:`probe` says what a file holds (:class:`VideoInfo`).
* :func:`transcode` decodes the main video stream, passes each frame through a callback (an
  ``H×W×3`` RGB ``uint8`` array and its time in seconds), encodes it (libx264 at CRF
  :data:`DEFAULT_CRF` unless told otherwise) and muxes it with every other stream: audio is
  copied packet for packet, or decoded, passed through an audio callback and re-encoded; subtitle,
  data and attachment streams are copied where the output container takes them (dropped with a
  warning otherwise). Kept: timestamps (variable frame rates included), the frame rate, the
  rotation (display matrix), the colour properties (range, primaries, transfer, matrix), stream
  languages/dispositions and the container's tags (MP4/MOV with ``use_metadata_tags``, so
  custom keys such as ``AIGC`` survive). The output is written atomically (temporary file beside
  it, fsync, rename): a failure leaves nothing at the output path.
* :func:`iter_frames` samples frames for detectors (every n-th, or at given times, seeking to
  the keyframe before each far-away time) without converting the frames it skips.
* :func:`remux_bytes` copies every stream into a fresh container with new tags (no re-encode).

Output containers follow the output's suffix (:data:`MUXERS`); encoders are data
(:data:`ENCODERS`).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from synthmark._atomic import check_output
from synthmark.errors import (
    CorruptFileError,
    InputError,
    OutputNotWritableError,
    TooLargeError,
    UnsupportedFormatError,
)

__all__ = [
    "DEFAULT_CRF",
    "ENCODERS",
    "MAX_PIXELS",
    "MAX_SECONDS",
    "MUXERS",
    "AudioFn",
    "Encoder",
    "FrameFn",
    "ProgressFn",
    "SampledFrame",
    "StreamInfo",
    "TranscodeResult",
    "VideoInfo",
    "iter_frames",
    "probe",
    "remux_bytes",
    "transcode",
]

RGBFrame = npt.NDArray[np.uint8]
#: ``frame_fn(rgb, seconds) -> rgb``: an ``H×W×3`` ``uint8`` RGB frame (as coded: the display
#: rotation is metadata, not applied) and its presentation time; returns a frame of the same
#: kind. The size may change, but must stay the same for every frame and be even.
FrameFn = Callable[[RGBFrame, float], RGBFrame]
# A frame_fn may also have a ``yuv420(planes, seconds, full_range) -> planes`` method: for 8-bit
# 4:2:0 video it is called instead, with the frame's planes as PyAV's ``to_ndarray`` lays them
# out (a copy: (H * 3 / 2) × W, Y then U then V), skipping two colour conversions per frame.
# Frames come in presentation order (as the decoder gives them) with their own presentation
# times, which need not start at 0. A ``finish(path)`` method, if any, is called after the last
# frame, before the output is kept: an exception there leaves nothing at the output path.
_YUV420_FORMATS = frozenset({"yuv420p", "yuvj420p"})
#: ``audio_fn(samples, sample_rate, seconds) -> samples``: ``float32`` ``(n, channels)`` in
#: [-1, 1], one decoded chunk at a time; returns the same shape.
AudioFn = Callable[[npt.NDArray[np.float32], int, float], npt.NDArray[np.float32]]
#: ``progress(frames_done, frames_total_or_None)``.
ProgressFn = Callable[[int, "int | None"], None]

#: Longest video accepted, in seconds (12 hours).
MAX_SECONDS = 12 * 3600
#: Largest frame accepted, in pixels (8K UHD is 33 MP).
MAX_PIXELS = 8192 * 8192
#: libx264's CRF when none is given: visually transparent, so a watermark embedded in the frames
#: keeps its strength for the robustness suite's own re-encodes (``h264-30`` and below).
DEFAULT_CRF = 18


@dataclass(frozen=True)
class Encoder:
    """A video encoder: the CRF used when none is given, the largest CRF, and fixed options."""

    name: str
    default_crf: int
    max_crf: int
    options: tuple[tuple[str, str], ...] = ()


#: Video encoders :func:`transcode` drives, by PyAV name.
ENCODERS: dict[str, Encoder] = {
    "libx264": Encoder("libx264", DEFAULT_CRF, 51, (("preset", "medium"),)),
    "libx265": Encoder("libx265", 20, 51, (("preset", "medium"), ("x265-params", "log-level=error"))),
    # Constant quality in libvpx needs a zero target bit rate.
    "libvpx-vp9": Encoder("libvpx-vp9", 24, 63, (("b", "0"), ("deadline", "good"), ("cpu-used", "4"), ("row-mt", "1"))),
}

#: Output suffix -> FFmpeg muxer.
MUXERS: dict[str, str] = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".qt": "mov",
    ".mkv": "matroska",
    ".mk3d": "matroska",
    ".webm": "webm",
}
# Audio encoder when the input's audio codec cannot go into the output container.
_DEFAULT_AUDIO = {"mp4": "aac", "mov": "aac", "matroska": "aac", "webm": "libopus"}
# Decoder name -> the encoder that writes the same codec again.
_AUDIO_ENCODER = {"aac": "aac", "opus": "libopus", "libopus": "libopus", "mp3": "libmp3lame", "mp3float": "libmp3lame"}
_MOV_FLAGS = "+faststart+use_metadata_tags"
# Container and stream tags FFmpeg writes itself (or that would lie after a re-encode).
_DROPPED_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder", "duration", "rotate"})
# AVColorSpace -> the libswscale matrix (SWS_CS_*) for RGB <-> YUV conversions.
_SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
# Leading bytes of the containers handled: an FFmpeg failure on one is a damaged file.
_MAGIC = ((4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"wide"), (0, b"\x1aE\xdf\xa3"))
# A file is called truncated when it decodes to less than it declares by more than both.
_TRUNCATION_SECONDS = 0.5
_TRUNCATION_FRACTION = 0.05
# Packets held back until the video encoder exists (its size is known at the first frame).
_MAX_PENDING = 50_000
# iter_frames seeks instead of decoding on when the next time is this far ahead, in seconds.
_SEEK_AHEAD = 2.0


@dataclass(frozen=True)
class StreamInfo:
    """One stream: ``index`` in the file, ``kind`` (``"video"``, ``"audio"``, ``"subtitle"``,
    ``"data"``, ``"attachment"``), the codec name and the language tag if any."""

    index: int
    kind: str
    codec: str | None
    language: str | None


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` found: the container (FFmpeg demuxer name), the main video stream
    (codec, coded size in pixels, average frame rate, frame count if the file says it, pixel
    format, display rotation in degrees counter-clockwise, colour properties as FFmpeg's enum
    values), the duration in seconds, every stream, and the container's tags."""

    container: str
    codec: str
    width: int
    height: int
    fps: Fraction | None
    frames: int | None
    duration: float | None
    pix_fmt: str | None
    rotation: int
    color_range: int
    color_primaries: int
    color_trc: int
    colorspace: int
    streams: tuple[StreamInfo, ...]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TranscodeResult:
    """What :func:`transcode` wrote: the output path, frames encoded, the output's size in
    pixels, and warnings (streams dropped because the output container cannot hold them)."""

    path: Path
    frames: int
    width: int
    height: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SampledFrame:
    """A frame from :func:`iter_frames`: its index in decoding order, its time in seconds and the
    RGB ``uint8`` ``H×W×3`` image (as coded, rotation not applied)."""

    index: int
    time: float
    image: RGBFrame


# --- opening and errors -------------------------------------------------------------------------


def _head(source: str | os.PathLike[str] | io.BytesIO, name: str | None) -> bytes:
    if isinstance(source, io.BytesIO):
        return source.getvalue()[:16]
    from synthmark.formats import os_error

    try:
        with open(source, "rb") as handle:
            return handle.read(16)
    except OSError as exc:
        raise os_error(exc, name) from exc


def _open(source: str | os.PathLike[str] | io.BytesIO, name: str | None) -> Any:
    """An input container of a supported kind (MP4/MOV/M4V, Matroska, WebM), with FFmpeg's
    failures translated: on a file of a supported kind they mean damage."""
    head = _head(source, name)
    if not head:
        raise CorruptFileError("file is empty (0 bytes)", path=name, fix="pass a real video file")
    if not any(head[offset : offset + len(sig)] == sig for offset, sig in _MAGIC):
        raise UnsupportedFormatError(
            "not a video format synthmark reads", path=name, fix=f"supported: {' '.join(MUXERS)}"
        )
    try:
        return av.open(source, mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise CorruptFileError(
            f"damaged or truncated video file (FFmpeg: {_reason(exc)})",
            path=name,
            fix="re-export the file from its source, or copy it again",
        ) from exc


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc).strip()


def _main_video(container: Any, name: str | None) -> Any:
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams and (not len(container.streams) or any(s.codec_context is None for s in container.streams)):
        raise CorruptFileError(
            "no stream could be read (damaged or truncated header)", path=name, fix="re-export the file from its source"
        )
    if not streams:
        raise UnsupportedFormatError("the file has no video stream", path=name, fix="pass a video file")
    stream = streams[0]
    ctx = stream.codec_context
    if ctx.width * ctx.height > MAX_PIXELS:
        raise TooLargeError(
            f"frames are {ctx.width}x{ctx.height}, over the {MAX_PIXELS}-pixel limit",
            path=name,
            fix="raise synthmark.video._io.MAX_PIXELS if this file is trusted",
        )
    return stream


def _declared_seconds(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None


def _check_length(container: Any, stream: Any, name: str | None) -> None:
    declared = _declared_seconds(container, stream)
    if declared is not None and declared > MAX_SECONDS:
        raise TooLargeError(
            f"video is {declared:.0f} s long, over the {MAX_SECONDS} s limit",
            path=name,
            fix="split it, or raise synthmark.video._io.MAX_SECONDS if it is trusted",
        )


def _first_frame(container: Any, stream: Any, name: str | None) -> Any:
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError as exc:
        raise CorruptFileError(
            f"damaged video data (FFmpeg: {_reason(exc)})", path=name, fix="re-export the file from its source"
        ) from exc
    raise CorruptFileError("the video stream holds no frames", path=name, fix="re-export the file from its source")


def _display_matrix(frame: Any) -> list[int] | None:
    """The frame's display matrix (9 int32 values), if it carries one."""
    for side in frame.side_data:
        if str(side.type).endswith("DISPLAYMATRIX"):
            raw = bytes(side)
            if len(raw) == 36:
                return [int(v) for v in np.frombuffer(raw, dtype="<i4")]
    return None


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """What the video file at ``path`` holds (decodes one frame, for the rotation).

    Raises :class:`CorruptFileError` (empty, damaged, no frames), :class:`UnsupportedFormatError`
    (not a video), :class:`TooLargeError` (over :data:`MAX_PIXELS` or :data:`MAX_SECONDS`) or
    :class:`InputError` (unreadable path).
    """
    name = os.fspath(path)
    with _open(name, name) as container:
        stream = _main_video(container, name)
        _check_length(container, stream, name)
        frames = int(stream.frames) or None
        first = _first_frame(container, stream, name)
        ctx = stream.codec_context
        streams = tuple(
            StreamInfo(s.index, s.type, s.codec_context.name if s.type != "attachment" else None, s.language)
            for s in container.streams
        )
        return VideoInfo(
            container=container.format.name,
            codec=ctx.name,
            width=ctx.width,
            height=ctx.height,
            fps=stream.average_rate or stream.guessed_rate,
            frames=frames,
            duration=_declared_seconds(container, stream),
            pix_fmt=ctx.pix_fmt,
            rotation=int(first.rotation),
            color_range=int(first.color_range),
            color_primaries=int(first.color_primaries),
            color_trc=int(first.color_trc),
            colorspace=int(first.colorspace),
            streams=streams,
            tags=dict(container.metadata),
        )


# --- frames <-> arrays --------------------------------------------------------------------------


def _to_rgb(frame: Any) -> RGBFrame:
    # PyAV converts with the frame's own matrix and range (BT.709 HD stays BT.709).
    array: RGBFrame = frame.to_ndarray(format="rgb24")
    return array


def _from_rgb(array: Any, like: Any, pix_fmt: str, name: str | None) -> Any:
    if (
        not isinstance(array, np.ndarray)
        or array.dtype != np.uint8
        or array.ndim != 3
        or array.shape[2] != 3
        or array.shape[0] % 2
        or array.shape[1] % 2
    ):
        got = f"{type(array).__name__} {getattr(array, 'shape', '')} {getattr(array, 'dtype', '')}".strip()
        raise InputError(
            f"frame_fn returned {got}, not an even-sized H×W×3 uint8 array",
            path=name,
            fix="return RGB uint8 frames with an even width and height",
        )
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
    space = int(like.colorspace)
    out = frame.reformat(
        format=pix_fmt,
        dst_colorspace=_SWS_MATRIX.get(space),
        dst_color_range=int(like.color_range) or None,
    )
    out.colorspace = space
    out.color_range = int(like.color_range)
    out.pts = like.pts
    out.time_base = like.time_base
    return out


def _through_yuv(frame: Any, yuv_fn: Any, time: float, name: str | None) -> Any:
    """``frame`` (8-bit 4:2:0, even size), shown at ``time``, after ``yuv_fn(planes, seconds,
    full_range)``."""
    planes = frame.to_ndarray()  # (H * 3 / 2, W): Y, then U and V
    full_range = int(frame.color_range) == 2 or frame.format.name == "yuvj420p"
    planes = yuv_fn(planes, time, full_range)
    if not isinstance(planes, np.ndarray) or planes.shape != (frame.height * 3 // 2, frame.width):
        raise InputError(
            f"frame_fn.yuv420 returned {getattr(planes, 'shape', type(planes).__name__)}, not the frame's planes",
            path=name,
            fix="return the planes array in its own shape",
        )
    out = av.VideoFrame.from_ndarray(planes, format=frame.format.name)
    out.colorspace, out.color_range = frame.colorspace, frame.color_range
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


def _audio_array(frame: Any) -> npt.NDArray[np.float32]:
    data = frame.to_ndarray(format="fltp") if frame.format.name != "fltp" else frame.to_ndarray()
    return np.ascontiguousarray(np.asarray(data, dtype=np.float32).T)


# --- transcoding --------------------------------------------------------------------------------


def _muxer_for(path: Path) -> str:
    try:
        return MUXERS[path.suffix.lower()]
    except KeyError:
        raise UnsupportedFormatError(
            f"cannot write video as {path.suffix or '(no suffix)'!r}",
            path=path,
            fix=f"name the output with one of: {' '.join(MUXERS)}",
        ) from None


def _tags(metadata: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in metadata.items() if k.lower() not in _DROPPED_TAGS}


class _Writer:
    """The output side of one transcode: streams, pending packets, the lazily opened encoder."""

    def __init__(self, output: Any, name: str | None) -> None:
        self.output = output
        self.name = name
        self.pending: list[Any] = []
        self.ready = False

    def mux(self, packet: Any) -> None:
        if not self.ready:
            self.pending.append(packet)
            if len(self.pending) > _MAX_PENDING:
                raise CorruptFileError(
                    "no video frame in the first part of the file", path=self.name, fix="re-export the file"
                )
            return
        self.output.mux(packet)

    def start(self) -> None:
        self.ready = True
        for packet in self.pending:
            self.output.mux(packet)
        self.pending.clear()


def _filter_graph(stream: Any, filters: Sequence[tuple[str, str]]) -> Any:
    graph = av.filter.Graph()
    nodes = [graph.add_buffer(template=stream)]
    nodes += [graph.add(filter_name, args) for filter_name, args in filters]
    nodes.append(graph.add("buffersink"))
    graph.link_nodes(*nodes)
    graph.configure()
    return graph


def transcode(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    frame_fn: FrameFn | None = None,
    *,
    audio_fn: AudioFn | None = None,
    codec: str = "libx264",
    crf: int | None = None,
    preset: str | None = None,
    filters: Sequence[tuple[str, str]] = (),
    start: float | None = None,
    duration: float | None = None,
    audio_codec: str | None = None,
    audio_bit_rate: int | None = None,
    progress: ProgressFn | None = None,
    overwrite: bool = False,
) -> TranscodeResult:
    """Re-encode the main video stream of ``src`` into ``dst``, frame by frame, keeping the rest.

    Parameters
    ----------
    src, dst:
        Input and output paths. The output container follows ``dst``'s suffix (:data:`MUXERS`);
        ``dst`` is written atomically and must not exist unless ``overwrite``.
    frame_fn:
        Called on every frame (see :data:`FrameFn`); ``None`` re-encodes the frames as they are.
    audio_fn:
        Called on every decoded audio chunk of every audio stream (see :data:`AudioFn`); those
        streams are then re-encoded. ``None`` copies audio packets unchanged when the output
        container takes the codec.
    codec:
        Video encoder, a key of :data:`ENCODERS` (default libx264).
    crf:
        Constant rate factor (lower is better; default the encoder's ``default_crf``, 18 for
        libx264).
    preset:
        Encoder speed preset (x264/x265 ``preset``, libvpx ``cpu-used``), default the table's.
    filters:
        FFmpeg video filters applied before ``frame_fn``, as ``(name, args)`` pairs, e.g.
        ``[("scale", "-2:720"), ("fps", "25")]``.
    start, duration:
        Keep only ``[start, start + duration)`` seconds; timestamps then start at 0.
    audio_codec, audio_bit_rate:
        Re-encode audio with this encoder (e.g. ``"aac"``) at this bit rate in bits/s.
    progress:
        Called after every encoded frame with (frames done, total if known).
    overwrite:
        Replace an existing ``dst``.

    Returns
    -------
    TranscodeResult

    Raises
    ------
    CorruptFileError
        Empty, damaged or truncated input (nothing is left at ``dst``).
    UnsupportedFormatError
        Not a video, no video stream, unknown encoder or output suffix.
    InputError
        ``frame_fn`` returned something other than an even-sized ``H×W×3`` ``uint8`` array.
    OutputError
        ``dst`` exists (without ``overwrite``), is the input, or cannot be written.
    """
    name = os.fspath(src)
    target = check_output(dst, overwrite=overwrite, inputs=(src,))
    muxer = _muxer_for(target)
    encoder = ENCODERS.get(codec)
    if encoder is None:
        raise UnsupportedFormatError(f"unknown video encoder {codec!r}", fix=f"use one of: {', '.join(ENCODERS)}")
    quality = encoder.default_crf if crf is None else crf
    if not 0 <= quality <= encoder.max_crf:
        raise InputError(f"CRF {quality} is out of range for {codec}", fix=f"use 0 to {encoder.max_crf}")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot write here ({exc.strerror})", path=target, fix="check the folder's permissions"
        ) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _open(name, name) as container:
            result = _transcode(
                container,
                tmp,
                muxer,
                name,
                frame_fn,
                audio_fn,
                encoder,
                quality,
                preset,
                filters,
                start,
                duration,
                audio_codec,
                audio_bit_rate,
                progress,
            )
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputNotWritableError(
            f"cannot write the output ({exc.strerror or exc})", path=target, fix="free space or choose another folder"
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    frames, width, height, warnings = result
    return TranscodeResult(target, frames, width, height, tuple(warnings))


def _transcode(
    container: Any,
    tmp: Path,
    muxer: str,
    name: str | None,
    frame_fn: FrameFn | None,
    audio_fn: AudioFn | None,
    encoder: Encoder,
    crf: int,
    preset: str | None,
    filters: Sequence[tuple[str, str]],
    start: float | None,
    duration: float | None,
    audio_codec: str | None,
    audio_bit_rate: int | None,
    progress: ProgressFn | None,
) -> tuple[int, int, int, list[str]]:
    video = _main_video(container, name)
    _check_length(container, video, name)
    video.codec_context.thread_type = "AUTO"
    declared = _declared_seconds(container, video)
    begin = max(0.0, start or 0.0)
    end = None if duration is None else begin + duration
    if declared is not None and begin >= declared > 0:
        raise InputError(
            f"start {begin:.2f} s is past the end ({declared:.2f} s)", path=name, fix="choose an earlier start"
        )
    total = int(video.frames) or None
    if filters or start is not None or duration is not None:
        total = None
    warnings: list[str] = []
    options = {"movflags": _MOV_FLAGS} if muxer in ("mp4", "mov") else {}
    with av.open(str(tmp), mode="w", format=muxer, options=options) as output:
        output.metadata.update(_tags(container.metadata))
        writer = _Writer(output, name)
        routes: dict[int, tuple[str, Any]] = {}
        audio_encoders: dict[int, Any] = {}
        if encoder.name not in output.supported_codecs:
            raise UnsupportedFormatError(
                f"{muxer} cannot hold {encoder.name} video",
                path=name,
                fix="choose another codec (WebM takes libvpx-vp9) or another output suffix",
            )
        state = _VideoState(
            writer, output, video, name, frame_fn, encoder, crf, preset, filters, begin, total, progress
        )
        for stream in container.streams:
            if stream is video:
                state.add_stream()
                continue
            route = _route(stream, output, muxer, audio_fn, audio_codec, audio_bit_rate, start, duration, warnings)
            if route is not None:
                routes[stream.index] = route
                if route[0] == "encode":
                    audio_encoders[stream.index] = route[1]
        if start is None and duration is None:
            _copy_chapters(container, output, warnings)
        if begin > 0:
            container.seek(int(begin * av.time_base), backward=True)
        wanted = [video, *(s for s in container.streams if s.index in routes and routes[s.index][0] != "attach")]
        last_time = None
        try:
            for packet in container.demux(wanted):
                index = packet.stream.index
                if packet.stream is video:
                    for frame in packet.decode():
                        last_time = frame.time if frame.time is not None else last_time
                        if not state.take(frame, end):
                            break
                    else:
                        continue
                    break
                route = routes[index]
                if route[0] == "copy":
                    _copy_packet(packet, route[1], writer, begin, end, start is not None)
                else:
                    for audio_frame in packet.decode():
                        _encode_audio(audio_frame, route[1], writer, audio_fn, begin, end)
            state.finish()
            for out in audio_encoders.values():
                for packet in out.encode(None):
                    writer.mux(packet)
        except av.FFmpegError as exc:
            raise CorruptFileError(
                f"damaged video data (FFmpeg: {_reason(exc)})", path=name, fix="re-export the file from its source"
            ) from exc
        if not state.frames:
            raise CorruptFileError(
                "no video frame could be decoded" + (" in the chosen segment" if start else ""),
                path=name,
                fix="re-export the file from its source",
            )
        if end is None and declared is not None and last_time is not None:
            shortfall = declared - last_time - 1.0 / float(video.average_rate or 25)
            if shortfall > max(_TRUNCATION_SECONDS, _TRUNCATION_FRACTION * declared):
                raise CorruptFileError(
                    f"truncated: video decodes to {last_time:.2f} s but the file declares {declared:.2f} s",
                    path=name,
                    fix="the file was cut short; copy or export it again",
                )
        finish = getattr(frame_fn, "finish", None)
        if callable(finish):
            finish(name)  # e.g. the labeler: no frame carried the label asked for
        writer.start()
    return state.frames, state.width, state.height, warnings


def _copy_chapters(container: Any, output: Any, warnings: list[str]) -> None:
    try:
        chapters = container.chapters()
        if chapters:
            output.set_chapters(chapters)
    except (AttributeError, TypeError, ValueError, av.FFmpegError) as exc:  # pragma: no cover - odd chapters
        warnings.append(f"chapters were not copied ({exc})")


def _route(
    stream: Any,
    output: Any,
    muxer: str,
    audio_fn: AudioFn | None,
    audio_codec: str | None,
    audio_bit_rate: int | None,
    start: float | None,
    duration: float | None,
    warnings: list[str],
) -> tuple[str, Any] | None:
    """How one non-main stream goes to the output: ("copy", out stream), ("encode", out
    stream), ("attach", None) or None (dropped, with a warning)."""
    kind = stream.type
    supported = output.supported_codecs
    if kind == "attachment":
        if muxer == "matroska":
            output.add_attachment(
                stream.metadata.get("filename", f"attachment{stream.index}"), stream.mimetype or "", stream.data
            )
            return ("attach", None)
        warnings.append(f"attachment stream {stream.index} dropped ({muxer} cannot hold attachments)")
        return None
    name = stream.codec_context.name
    if kind == "audio":
        if audio_fn is None and audio_codec is None and name in supported:
            return ("copy", _copy_stream(output, stream))
        chosen = audio_codec or _AUDIO_ENCODER.get(name)
        if chosen is None or chosen not in supported or (muxer == "webm" and chosen not in ("libopus", "libvorbis")):
            chosen = _DEFAULT_AUDIO[muxer]
        out = output.add_stream(chosen, rate=_encoder_rate(chosen, stream.codec_context.sample_rate))
        out.layout = stream.codec_context.layout
        out.bit_rate = audio_bit_rate or max(int(stream.codec_context.bit_rate or 0), 96_000)
        out.metadata.update(_tags(stream.metadata))
        _copy_disposition(stream, out)
        return ("encode", out)
    if kind in ("subtitle", "data", "video"):
        if name in supported or kind != "subtitle":
            try:
                return ("copy", _copy_stream(output, stream))
            except (av.FFmpegError, ValueError) as exc:
                warnings.append(f"{kind} stream {stream.index} ({name}) dropped ({exc})")
                return None
        warnings.append(f"{kind} stream {stream.index} ({name}) dropped ({muxer} cannot hold it)")
        return None
    warnings.append(f"{kind} stream {stream.index} dropped")
    return None


def _encoder_rate(encoder: str, rate: int) -> int:
    if encoder == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
        return 48000
    return rate


def _copy_stream(output: Any, stream: Any) -> Any:
    out = output.add_stream_from_template(stream)
    out.metadata.update(_tags(stream.metadata))
    _copy_disposition(stream, out)
    return out


def _copy_disposition(stream: Any, out: Any) -> None:
    with contextlib.suppress(AttributeError, TypeError):  # read-only in some PyAV versions
        out.disposition = stream.disposition


def _copy_packet(packet: Any, out: Any, writer: _Writer, begin: float, end: float | None, trimmed: bool) -> None:
    if packet.size == 0:  # the demuxer's end-of-stream marker
        return
    if trimmed:
        tb = packet.time_base
        when = float((packet.pts if packet.pts is not None else packet.dts) * tb)
        if when < begin - 1e-6 or (end is not None and when >= end):
            return
        shift = round(begin / tb)
        packet.pts = None if packet.pts is None else packet.pts - shift
        packet.dts = None if packet.dts is None else packet.dts - shift
    packet.stream = out
    writer.mux(packet)


def _encode_audio(
    frame: Any, out: Any, writer: _Writer, audio_fn: AudioFn | None, begin: float, end: float | None
) -> None:
    time = float(frame.time) if frame.time is not None else 0.0
    if time < begin - 1e-6 or (end is not None and time >= end):
        return
    if audio_fn is not None:
        samples = _audio_array(frame)
        result = np.asarray(audio_fn(samples, int(frame.sample_rate), time), dtype=np.float32)
        if result.shape != samples.shape:
            raise InputError(
                f"audio_fn returned shape {result.shape} for a chunk of {samples.shape}",
                fix="return an array of the shape given",
            )
        new = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(np.clip(result, -1, 1).T), format="fltp", layout=frame.layout
        )
        new.sample_rate = frame.sample_rate
        new.pts, new.time_base = frame.pts, frame.time_base
        frame = new
    if begin:
        frame.pts = frame.pts - round(begin / frame.time_base) if frame.pts is not None else None
    for packet in out.encode(frame):
        writer.mux(packet)


class _VideoState:
    """The main video stream's path: trim, filters, frame_fn, lazily opened encoder."""

    def __init__(
        self,
        writer: _Writer,
        output: Any,
        stream: Any,
        name: str | None,
        frame_fn: FrameFn | None,
        encoder: Encoder,
        crf: int,
        preset: str | None,
        filters: Sequence[tuple[str, str]],
        begin: float,
        total: int | None,
        progress: ProgressFn | None,
    ) -> None:
        self.writer, self.output, self.stream, self.name = writer, output, stream, name
        self.frame_fn, self.encoder, self.crf, self.preset = frame_fn, encoder, crf, preset
        self.graph = _filter_graph(stream, filters) if filters else None
        # An fps filter sets the output's nominal rate.
        self.fps = next((Fraction(args) for filter_name, args in filters if filter_name == "fps"), None)
        self.begin, self.total, self.progress = begin, total, progress
        self.out: Any = None
        self.opened = False
        self.matrix: list[int] | None = None
        self.first: Any = None
        self.frames = self.width = self.height = 0
        # The presentation time of the last frame handed to frame_fn: a frame the decoder gives
        # without a timestamp is taken to be shown then (never at 0, which would move the
        # start of the label schedule).
        self.time: float | None = None

    def take(self, frame: Any, end: float | None) -> bool:
        """Handle one decoded frame; False once past ``end``."""
        time = float(frame.time) if frame.time is not None else 0.0
        if self.first is None:
            self.matrix = _display_matrix(frame)
            self.first = frame
        if time < self.begin - 1e-6:
            return True
        if end is not None and time >= end - 1e-6:
            return False
        if self.begin and frame.pts is not None:
            frame.pts -= round(self.begin / frame.time_base)
        if self.graph is None:
            self._encode(frame)
        else:
            self.graph.vpush(frame)
            self._drain()
        return True

    def _drain(self) -> None:
        graph = self.graph
        while graph is not None:
            try:
                self._encode(graph.vpull())
            except (av.BlockingIOError, av.EOFError):
                return

    def finish(self) -> None:
        if self.graph is not None:
            self.graph.vpush(None)
            self._drain()
        if self.opened:
            for packet in self.out.encode(None):
                self.writer.mux(packet)

    def add_stream(self) -> None:
        """Add the output video stream in the input's place; it is set up at the first frame."""
        options = dict(self.encoder.options)
        options["crf"] = str(self.crf)
        if self.preset is not None:
            options["cpu-used" if self.encoder.name == "libvpx-vp9" else "preset"] = self.preset
        rate = self.fps or self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        self.out = self.output.add_stream(self.encoder.name, rate=rate, options=options)
        self.out.metadata.update(_tags(self.stream.metadata))
        _copy_disposition(self.stream, self.out)

    def _open(self, frame: Any) -> None:
        out, ctx = self.out, self.stream.codec_context
        if self.fps is not None:
            out.codec_context.framerate = self.fps
        out.width, out.height = frame.width, frame.height
        formats = {f.name for f in out.codec_context.codec.video_formats or ()}
        out.pix_fmt = frame.format.name if frame.format.name in formats else "yuv420p"
        out.codec_context.time_base = frame.time_base or self.stream.time_base
        out.time_base = out.codec_context.time_base
        first = self.first if self.first is not None else frame
        out.codec_context.color_range = int(first.color_range)
        out.codec_context.color_primaries = int(first.color_primaries)
        out.codec_context.color_trc = int(first.color_trc)
        out.codec_context.colorspace = int(first.colorspace)
        if ctx.sample_aspect_ratio:
            out.codec_context.sample_aspect_ratio = ctx.sample_aspect_ratio
        if self.matrix is not None:
            out.set_display_matrix(self.matrix)
        self.opened, self.width, self.height = True, frame.width, frame.height
        self.writer.start()

    def _encode(self, frame: Any) -> None:
        converted = None
        if frame.time is not None:
            self.time = float(frame.time)
        time = self.time if self.time is not None else 0.0
        yuv_fn = getattr(self.frame_fn, "yuv420", None)
        if yuv_fn is not None and frame.format.name in _YUV420_FORMATS and not (frame.width % 2 or frame.height % 2):
            converted = _through_yuv(frame, yuv_fn, time, self.name)
        if converted is not None:
            frame = converted
        elif self.frame_fn is not None:
            pix_fmt = (
                self.out.pix_fmt
                if self.opened
                else (frame.format.name if frame.format.name.startswith("yuv") else "yuv420p")
            )
            frame = _from_rgb(self.frame_fn(_to_rgb(frame), time), frame, pix_fmt, self.name)
        if not self.opened:
            self._open(frame)
        elif (frame.width, frame.height) != (self.width, self.height):
            raise InputError(
                f"frame size changed from {self.width}x{self.height} to {frame.width}x{frame.height}",
                path=self.name,
                fix="return frames of one size from frame_fn",
            )
        if frame.format.name != self.out.pix_fmt:
            frame = frame.reformat(format=self.out.pix_fmt)
        for packet in self.out.encode(frame):
            self.writer.mux(packet)
        self.frames += 1
        if self.progress is not None:
            self.progress(self.frames, self.total)


# --- sampling frames ----------------------------------------------------------------------------


def iter_frames(
    path: str | os.PathLike[str],
    *,
    every_n: int | None = None,
    times: Sequence[float] | None = None,
    max_frames: int | None = None,
    skip_b_frames: bool = False,
    until: float | None = None,
) -> Iterator[SampledFrame]:
    """Frames of the main video stream as RGB arrays, for detectors.

    Give ``every_n`` (every n-th decoded frame, starting with the first) or ``times`` (the frame
    shown at each time, in seconds: the first frame whose display interval reaches it; times are
    visited in increasing order, seeking to the keyframe before any that is more than 2 s ahead),
    or neither (every frame). ``max_frames`` stops after that many, ``until`` at that time
    (seconds). ``skip_b_frames`` (with ``every_n`` or neither) leaves out bidirectionally
    predicted frames, which encoders quantise hardest: the I and P frames keep the most detail.
    Frames that are not returned are decoded but never converted to RGB.

    Times (``times``, ``until`` and each frame's ``time``) count from the first presented frame
    (the stream's start time), whatever the file's timestamps start at: a clip whose first frame
    is at 5 s gives its opening frame at 0.0.
    """
    if every_n is not None and times is not None:
        raise InputError("give every_n or times, not both", fix="choose one way of sampling")
    if every_n is not None and every_n < 1:
        raise InputError(f"every_n must be at least 1, got {every_n}", fix="pass a positive step")
    name = os.fspath(path)
    limit = max_frames if max_frames is not None else None
    with _open(name, name) as container:
        stream = _main_video(container, name)
        _check_length(container, stream, name)
        stream.codec_context.thread_type = "AUTO"
        origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        try:
            if times is None:
                yield from _every(container, stream, every_n or 1, limit, skip_b_frames, until, origin)
            else:
                yield from _at_times(container, stream, sorted(times), limit, origin)
        except av.FFmpegError as exc:
            raise CorruptFileError(
                f"damaged video data (FFmpeg: {_reason(exc)})", path=name, fix="re-export the file from its source"
            ) from exc


def _every(
    container: Any, stream: Any, step: int, limit: int | None, skip_b: bool, until: float | None, origin: float
) -> Iterator[SampledFrame]:
    given = 0
    for index, frame in enumerate(container.decode(stream)):
        time = float(frame.time if frame.time is not None else origin) - origin
        if until is not None and time >= until:
            return
        if skip_b and frame.pict_type == av.video.frame.PictureType.B:
            continue
        if index % step == 0:
            yield SampledFrame(index, time, _to_rgb(frame))
            given += 1
            if limit is not None and given >= limit:
                return


def _at_times(
    container: Any, stream: Any, times: list[float], limit: int | None, origin: float
) -> Iterator[SampledFrame]:
    step = 1.0 / float(stream.average_rate or stream.guessed_rate or 25)
    frames: Iterator[Any] | None = None
    position = -1.0
    index = -1
    for given, wanted in enumerate(times, 1):
        if frames is None or wanted < position or wanted - position > _SEEK_AHEAD:
            container.seek(max(0, int((origin + wanted) * av.time_base)), backward=True)
            frames = iter(container.decode(stream))
            index = -1
        chosen = None
        for frame in frames:
            index += 1
            position = float(frame.time if frame.time is not None else origin) - origin
            if position + step / 2 >= wanted:
                chosen = frame
                break
        if chosen is None:
            return
        yield SampledFrame(index, position, _to_rgb(chosen))
        if limit is not None and given >= limit:
            return


# --- remuxing -----------------------------------------------------------------------------------


def remux_bytes(
    data: bytes,
    tags: Mapping[str, str],
    *,
    muxer: str | None = None,
    drop: Sequence[str] = (),
    path: str | None = None,
) -> bytes:
    """``data`` with every stream copied packet for packet into a new container whose tags are
    the input's (minus ``drop``, compared without case) updated with ``tags``.

    ``muxer`` defaults to the input's kind (``mp4``, ``mov``, ``matroska`` or ``webm``).
    Attachments are kept in Matroska; chapters are not.
    """
    with _open(io.BytesIO(data), path) as container:
        if muxer is None:
            muxer = _muxer_of(container, data)
        buffer = io.BytesIO()
        options = {"movflags": "+use_metadata_tags"} if muxer in ("mp4", "mov") else {}
        dropped = {k.lower() for k in drop}
        try:
            with av.open(buffer, mode="w", format=muxer, options=options) as output:
                output.metadata.update({k: v for k, v in _tags(container.metadata).items() if k.lower() not in dropped})
                output.metadata.update(dict(tags))
                streams: dict[int, Any] = {}
                for stream in container.streams:
                    if stream.type == "attachment":
                        if muxer == "matroska":
                            output.add_attachment(
                                stream.metadata.get("filename", f"attachment{stream.index}"),
                                stream.mimetype or "",
                                stream.data,
                            )
                        continue
                    streams[stream.index] = _copy_stream(output, stream)
                for packet in container.demux(*[container.streams[i] for i in streams]):
                    if packet.size == 0:  # the demuxer's end-of-stream marker
                        continue
                    packet.stream = streams[packet.stream.index]
                    output.mux(packet)
        except (av.FFmpegError, ValueError) as exc:  # ValueError: PyAV on a stream it cannot copy
            raise CorruptFileError(
                f"cannot remux the file (FFmpeg: {_reason(exc)})", path=path, fix="re-export the file from its source"
            ) from exc
    return buffer.getvalue()


def _muxer_of(container: Any, data: bytes) -> str:
    if data[:4] == b"\x1aE\xdf\xa3":
        from synthmark.video._sniff import ebml_doctype

        return "webm" if ebml_doctype(data) == "webm" else "matroska"
    return "mov" if data[8:12] == b"qt  " else "mp4"
