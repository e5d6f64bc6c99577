"""The video robustness suite of ``shared/spec/robustness.md``: file in, file out, through PyAV.

Every transformation is a function ``(src, dst, rng) -> TranscodeResult`` that reads the video
file ``src`` and writes ``dst`` (atomically, replacing it) with real encoders (libx264, libx265,
libvpx-vp9, AAC, Opus), streaming frame by frame so long videos need little memory. The output
container follows ``dst``'s suffix; :func:`output_suffix` gives each transformation's natural
one (``.webm`` for ``vp9``, ``.mp4`` for the rest). Audio is copied unless a transformation says
otherwise (``vp9`` re-encodes it to Opus for WebM, ``social`` to AAC 96 kbit/s, ``trim5s`` cuts
it with the video).

The transformations that are not about a codec (``scale*``, ``trim5s``, ``fps25``, ``crop80``)
re-encode with libx264 at :data:`GEOMETRY_CRF` (visually transparent), so they measure the
geometric change, not a codec. Sizes: ``scale720``/``scale480`` set the frame's short side to
720/480 px (the width of a portrait frame), keeping the aspect ratio with even sides; ``social``
does the same with 720 but never enlarges; ``crop80`` keeps the central 80 % of each side
(rounded down to even). Only ``trim5s`` draws from ``rng`` (the segment's start, uniform over the
video); :func:`trim_at` makes a trim at a fixed offset.

>>> list(VIDEO_SUITE)
['h264-23', 'h264-30', 'h265-28', 'vp9', 'scale720', 'scale480', 'trim5s', 'fps25', 'crop80', 'social']
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from synthmark.errors import SynthmarkError
from synthmark.video._io import DEFAULT_CRF, TranscodeResult, probe, transcode

__all__ = [
    "GEOMETRY_CRF",
    "SOCIAL_AUDIO_BIT_RATE",
    "SOCIAL_CRF",
    "TRIM_SECONDS",
    "VIDEO_SUITE",
    "VideoTransform",
    "apply_video",
    "crop80",
    "fps25",
    "h264_23",
    "h264_30",
    "h265_28",
    "output_suffix",
    "scale480",
    "scale720",
    "social",
    "transform_file",
    "trim5s",
    "trim_at",
    "vp9",
]

Source = str | os.PathLike[str]
#: The signature every transformation of the suite has.
VideoTransform = Callable[[Source, Source, np.random.Generator], TranscodeResult]

#: libx264 CRF of the re-encode after a geometric change.
GEOMETRY_CRF = DEFAULT_CRF
#: Length of the ``trim5s`` segment, in seconds (TC260 2023 guide).
TRIM_SECONDS = 5.0
#: ``social``: H.264 CRF and AAC bit rate (bits/s).
SOCIAL_CRF = 28
SOCIAL_AUDIO_BIT_RATE = 96_000
#: CRF of the ``vp9`` transformation (libvpx constant quality).
VP9_CRF = 32


def h264_23(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """libx264 at CRF 23 (FFmpeg's default), preset medium."""
    return transcode(src, dst, codec="libx264", crf=23, overwrite=True)


def h264_30(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """libx264 at CRF 30."""
    return transcode(src, dst, codec="libx264", crf=30, overwrite=True)


def h265_28(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """libx265 at CRF 28 (x265's default), preset medium."""
    return transcode(src, dst, codec="libx265", crf=28, overwrite=True)


def vp9(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """libvpx-vp9 at constant quality CRF :data:`VP9_CRF`; in WebM the audio becomes Opus."""
    return transcode(src, dst, codec="libvpx-vp9", crf=VP9_CRF, overwrite=True)


def _short_side(src: Source, side: int, *, enlarge: bool = True) -> tuple[str, str]:
    """The scale filter giving the frame a short side of ``side`` px (even sides)."""
    info = probe(src)
    if not enlarge:
        side = min(side, info.width, info.height)
    side -= side % 2
    return ("scale", f"-2:{side}" if info.width >= info.height else f"{side}:-2")


def scale720(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """Short side to 720 px (aspect kept), libx264 CRF :data:`GEOMETRY_CRF`."""
    return transcode(src, dst, filters=[_short_side(src, 720)], crf=GEOMETRY_CRF, overwrite=True)


def scale480(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """Short side to 480 px (aspect kept), libx264 CRF :data:`GEOMETRY_CRF`."""
    return transcode(src, dst, filters=[_short_side(src, 480)], crf=GEOMETRY_CRF, overwrite=True)


def trim_at(offset: float) -> VideoTransform:
    """A ``trim5s`` that keeps [``offset``, ``offset`` + 5) s (clamped to the video)."""

    def trim(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
        duration = probe(src).duration or TRIM_SECONDS
        start = min(max(0.0, offset), max(0.0, duration - TRIM_SECONDS))
        return transcode(src, dst, start=start, duration=TRIM_SECONDS, crf=GEOMETRY_CRF, overwrite=True)

    return trim


def trim5s(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """A 5 s segment starting at a uniform random offset (the whole video when it is shorter);
    timestamps start at 0, audio is cut with it."""
    duration = probe(src).duration or TRIM_SECONDS
    return trim_at(float(rng.uniform(0.0, max(0.0, duration - TRIM_SECONDS))))(src, dst, rng)


def fps25(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """Frame rate to 25 fps (FFmpeg's ``fps`` filter: nearest frame, drops or repeats)."""
    return transcode(src, dst, filters=[("fps", "25")], crf=GEOMETRY_CRF, overwrite=True)


def crop80(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """The central 80 % of each side (even sizes), libx264 CRF :data:`GEOMETRY_CRF`."""
    info = probe(src)
    width, height = int(info.width * 0.8) // 2 * 2, int(info.height * 0.8) // 2 * 2
    return transcode(src, dst, filters=[("crop", f"{width}:{height}")], crf=GEOMETRY_CRF, overwrite=True)


def social(src: Source, dst: Source, rng: np.random.Generator) -> TranscodeResult:
    """What upload pipelines do: short side to 720 px (never enlarged), H.264 CRF 28, AAC 96 kbit/s."""
    return transcode(
        src,
        dst,
        filters=[_short_side(src, 720, enlarge=False)],
        crf=SOCIAL_CRF,
        audio_codec="aac",
        audio_bit_rate=SOCIAL_AUDIO_BIT_RATE,
        overwrite=True,
    )


#: The suite, as data, in the order of the specification's table. Keys are the stable names.
VIDEO_SUITE: dict[str, VideoTransform] = {
    "h264-23": h264_23,
    "h264-30": h264_30,
    "h265-28": h265_28,
    "vp9": vp9,
    "scale720": scale720,
    "scale480": scale480,
    "trim5s": trim5s,
    "fps25": fps25,
    "crop80": crop80,
    "social": social,
}

_SUFFIX = {"vp9": ".webm"}


def output_suffix(name: str) -> str:
    """The container suffix a transformation writes by default (``.webm`` for vp9, else ``.mp4``)."""
    _lookup(name)
    return _SUFFIX.get(name, ".mp4")


def _lookup(name: str) -> VideoTransform:
    try:
        return VIDEO_SUITE[name]
    except KeyError:
        raise SynthmarkError(f"unknown transformation {name!r}", fix=f"use one of: {', '.join(VIDEO_SUITE)}") from None


def transform_file(
    name: str, src: Source, dst: Source, *, rng: np.random.Generator | int | None = None
) -> TranscodeResult:
    """Apply the transformation called ``name`` to the video file ``src``, writing ``dst``.

    ``rng`` is a :class:`numpy.random.Generator`, a seed, or ``None`` (fresh entropy); only
    ``trim5s`` uses it. Raises :class:`SynthmarkError` for an unknown name and the errors of
    :func:`synthmark.video._io.transcode` for unusable input.
    """
    return _lookup(name)(src, dst, np.random.default_rng(rng))


def apply_video(name: str, data: bytes, *, rng: np.random.Generator | int | None = None) -> bytes:
    """:func:`transform_file` on bytes: the transformed file's bytes (in :func:`output_suffix`'s
    container). The input is written to a temporary folder, removed afterwards."""
    transform = _lookup(name)
    with tempfile.TemporaryDirectory(prefix="synthmark-video-") as folder:
        src = Path(folder) / "input"
        src.write_bytes(data)
        dst = Path(folder) / f"output{output_suffix(name)}"
        transform(src, dst, np.random.default_rng(rng))
        return dst.read_bytes()
