"""Magic bytes of the video containers, as data for ``synthmark.formats`` to merge.

Each :data:`VIDEO_MAGIC` row is ``(magic, name, media_type, extensions, codec, accepts)``:
``magic`` is a tuple of ``(offset, signature)`` pairs that must all match (the shape of
``synthmark.formats.Format.magic``) and ``accepts`` a test on the whole file for what the first
bytes cannot tell:

* MP4 (ISO BMFF) shares its ``ftyp`` box with M4A audio and HEIF/AVIF images. A file is video
  when a track's handler is ``vide`` (:func:`is_video_mp4`); an audio-only ``isom`` file is left
  to the audio rows, which ``synthmark.formats`` lists after these. ``qt  `` (QuickTime) and
  ``M4V`` brands are always video here: no other modality claims them.
* Matroska and WebM share the EBML magic; the EBML header's ``DocType`` says which
  (:func:`ebml_doctype`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

__all__ = ["VIDEO_MAGIC", "VideoMagic", "ebml_doctype", "is_video_mp4"]


class VideoMagic(NamedTuple):
    """One signature of a video container (see the module docstring)."""

    magic: tuple[tuple[int, bytes], ...]
    name: str
    media_type: str
    extensions: tuple[str, ...]
    codec: str
    accepts: Callable[[bytes], bool] | None = None

    def matches(self, data: bytes) -> bool:
        head = data[:16]
        if not all(head[offset : offset + len(sig)] == sig for offset, sig in self.magic):
            return False
        return self.accepts is None or self.accepts(data)


#: ``ftyp`` major brands of still images (HEIF, AVIF) and of audio-only files.
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})

_EBML = b"\x1aE\xdf\xa3"
_DOCTYPE = b"\x42\x82"


def is_video_mp4(data: bytes) -> bool:
    """Whether an ``ftyp`` file is video: a ``vide`` track, or (when the tracks cannot be read) a
    brand that is neither an image nor an audio brand, so the damage is reported by the video
    module that then handles it."""
    from synthmark.audio._m4a import track_handlers
    from synthmark.errors import SynthmarkError

    brand = data[8:12]
    if brand in _IMAGE_BRANDS:
        return False
    try:
        handlers = track_handlers(data)
    except SynthmarkError:
        return brand not in _AUDIO_BRANDS
    if b"vide" in handlers:
        return True
    return not handlers and brand not in _AUDIO_BRANDS


def ebml_doctype(data: bytes) -> str | None:
    """The ``DocType`` of the EBML header at the start of ``data`` (``"matroska"``, ``"webm"``),
    or ``None`` when the header is missing or cannot be read. Bounds-checked; reads the header only."""
    from synthmark.video._mkv import EBMLError, read_vint

    if not data.startswith(_EBML):
        return None
    try:
        size, width = read_vint(data, 4)
        end = min(len(data), 4 + width + size)
        pos = 4 + width
        while pos < end:
            ident, id_width = read_vint(data, pos, keep_marker=True)
            length, len_width = read_vint(data, pos + id_width)
            body = pos + id_width + len_width
            if ident == 0x4282:
                return data[body : body + length].rstrip(b"\0").decode("ascii", "replace")
            pos = body + length
    except EBMLError:
        return None
    return None


def _is_webm(data: bytes) -> bool:
    return ebml_doctype(data) == "webm"


_MP4 = ("mp4", "video/mp4", (".mp4", ".m4v"), "synthmark.video._mp4")
_MOV = ("mov", "video/quicktime", (".mov", ".qt"), "synthmark.video._mp4")
_M4V = ("m4v", "video/x-m4v", (".m4v",), "synthmark.video._mp4")
_WEBM = ("webm", "video/webm", (".webm",), "synthmark.video._mkv")
_MKV = ("mkv", "video/x-matroska", (".mkv", ".mk3d"), "synthmark.video._mkv")

#: Video container signatures, most specific first. QuickTime files from before ``ftyp`` start
#: with ``moov``, ``wide`` or ``mdat``.
VIDEO_MAGIC: tuple[VideoMagic, ...] = (
    VideoMagic(((4, b"ftypqt  "),), *_MOV),
    VideoMagic(((4, b"moov"),), *_MOV),
    VideoMagic(((4, b"wide"),), *_MOV),
    VideoMagic(((4, b"mdat"),), *_MOV),
    VideoMagic(((4, b"ftypM4V"),), *_M4V),
    VideoMagic(((4, b"ftyp"),), *_MP4, accepts=is_video_mp4),
    VideoMagic(((0, _EBML),), *_WEBM, accepts=_is_webm),
    VideoMagic(((0, _EBML),), *_MKV),
)
