"""Sniffing and the format registry: magic bytes (then extension) -> :class:`Format`.

The registry is data: one :class:`Format` row per container, naming the module that handles
it. Modules are imported lazily, so ``import synthmark`` stays light. Safety limits live here as
module constants.
"""

from __future__ import annotations

import importlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from synthmark.audio._sniff import AUDIO_MAGIC
from synthmark.errors import CorruptFileError, InputError, TooLargeError, UnsafePathError, UnsupportedFormatError
from synthmark.text._sniff import TEXT_FORMATS, sniff_text

if TYPE_CHECKING:
    from synthmark.protocols import Source

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_PIXELS",
    "Format",
    "format_for_path",
    "load_source",
    "os_error",
    "provenance_only_media_type",
    "read_bytes",
    "sniff",
    "sniff_modality",
]

#: Largest image (width x height) synthmark decodes; larger files raise :class:`TooLargeError`.
#: 150 megapixels covers 8K (33 MP) and large panoramas, and stays under Pillow's own
#: decompression-bomb error (178 MP).
MAX_IMAGE_PIXELS = 150_000_000
#: Largest file synthmark reads into memory for metadata work, in bytes (1 GiB).
MAX_FILE_BYTES = 1 << 30


@dataclass(frozen=True)
class Format:
    """One container format synthmark handles.

    ``name`` is the short name (``"jpeg"``), ``media_type`` the IANA type, ``modality`` one of
    ``image``/``audio``/``video``/``text``, ``extensions`` the usual suffixes (first = default)
    and ``codec`` the module implementing the container protocol. ``accepts``, when set, is a
    test on the whole file for what the magic cannot tell (an MP4 with a video track from an
    M4A, WebM from Matroska).
    """

    name: str
    media_type: str
    modality: str
    extensions: tuple[str, ...]
    codec: str
    magic: tuple[tuple[int, bytes], ...]
    accepts: Callable[[bytes], bool] | None = None

    def matches(self, head: bytes) -> bool:
        # Formats without a signature (plain text, Office packages) are recognised by content.
        return bool(self.magic) and all(head[offset : offset + len(sig)] == sig for offset, sig in self.magic)

    def module(self) -> ModuleType:
        """The codec module (imported on first use)."""
        return importlib.import_module(self.codec)


FORMATS: tuple[Format, ...] = (
    Format("jpeg", "image/jpeg", "image", (".jpg", ".jpeg", ".jpe"), "synthmark.image._jpeg", ((0, b"\xff\xd8\xff"),)),
    Format("png", "image/png", "image", (".png",), "synthmark.image._png", ((0, b"\x89PNG\r\n\x1a\n"),)),
    Format("webp", "image/webp", "image", (".webp",), "synthmark.image._webp", ((0, b"RIFF"), (8, b"WEBP"))),
)
# Video containers are added at the end of this module, before the audio rows.
# Audio containers (several signatures per format: MP3 with or without ID3, RIFF/RF64/BW64 WAV,
# MP4 brands); the rows live beside their modules in synthmark/audio/_sniff.py.
FORMATS += tuple(Format(row.name, row.media_type, "audio", row.extensions, row.codec, row.magic) for row in AUDIO_MAGIC)
# Text documents (PDF by signature; Office packages, HTML, Markdown and plain text by content and
# name, see synthmark/text/_sniff.py).
FORMATS += tuple(Format(row.name, row.media_type, "text", row.extensions, row.codec, row.magic) for row in TEXT_FORMATS)

# Recognised so the error can say what the file is, but not (yet) labeled: (offset, magic, name,
# media type). Those with a media type c2pa-python reads are still verified, as far as their
# bytes allow without decoding (see provenance_only_media_type).
_KNOWN_UNSUPPORTED: tuple[tuple[int, bytes, str, str | None], ...] = (
    (0, b"GIF8", "GIF", "image/gif"),
    (0, b"II*\0", "TIFF", "image/tiff"),
    (0, b"MM\0*", "TIFF", "image/tiff"),
    (0, b"BM", "BMP", None),
    *((4, b"ftyp" + brand, "HEIF/HEIC", "image/heic") for brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim")),
    (4, b"ftypavif", "AVIF", "image/avif"),
    (4, b"ftypavis", "AVIF", "image/avif"),
    (0, b"\xff\x0a", "JPEG XL", "image/jxl"),
    (4, b"JXL \r\n\x87\n", "JPEG XL", "image/jxl"),
    (0, b"%PDF", "PDF", None),
    (0, b"PK\x03\x04", "ZIP/Office", None),
)
_AVI = ((0, b"RIFF"), (8, b"AVI "))


def provenance_only_media_type(data: bytes) -> str | None:
    """The media type of a file synthmark cannot decode but c2pa-python reads (GIF, TIFF,
    HEIF/HEIC, AVIF, JPEG XL, AVI), so that ``verify`` still reads its C2PA manifest and XMP;
    None for anything else."""
    head = data[:16]
    if all(head[off : off + len(sig)] == sig for off, sig in _AVI):
        return "video/x-msvideo"
    return next((kind for off, sig, _, kind in _KNOWN_UNSUPPORTED if head[off : off + len(sig)] == sig), None)


def _supported() -> str:
    return " ".join(dict.fromkeys(fmt.extensions[0] for fmt in FORMATS))


def _after_id3(data: bytes) -> bytes:
    """``data`` past a leading ID3v2 tag (MP3 files start with one, and C2PA puts one in front
    of FLAC to hold its manifest), or ``data`` itself."""
    if len(data) < 10 or not data.startswith(b"ID3"):
        return data
    size = 10 + ((data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F))
    return data[size:] if data[5] & 0x10 == 0 else data[size + 10 :]


def sniff(data: bytes, *, path: str | os.PathLike[str] | None = None) -> Format:
    """The :class:`Format` of a file from its bytes (the first 16 suffice, except after a leading
    ID3v2 tag, which is skipped to tell a tagged FLAC from an MP3, and for ``ftyp`` and EBML files,
    told apart by their track handlers or DocType: pass the whole file, an MP4's ``moov`` may be last).

    Raises :class:`CorruptFileError` for empty input and :class:`UnsupportedFormatError`, listing
    the supported formats, for anything else unknown.
    """
    if not data:
        raise CorruptFileError("file is empty (0 bytes)", path=path, fix="pass a real media file")
    inner = _after_id3(data)
    if inner is not data and inner[:4] == b"fLaC":
        data = inner
    head = data[:16]
    for fmt in FORMATS:
        if fmt.matches(head) and (fmt.accepts is None or fmt.accepts(data)):
            return fmt
    text = sniff_text(data, path=path)
    if text is not None:
        return next(fmt for fmt in FORMATS if fmt.name == text)
    what = next((name for off, sig, name, _ in _KNOWN_UNSUPPORTED if head[off : off + len(sig)] == sig), None)
    described = f"{what} files are" if what else "this file's format is"
    raise UnsupportedFormatError(
        f"{described} not supported",
        path=path,
        fix=f"supported: {_supported()}",
    )


def sniff_modality(data: bytes, modality: str, *, path: str | os.PathLike[str] | None = None) -> Format:
    """:func:`sniff`, refusing (:class:`UnsupportedFormatError`) a file of another modality."""
    fmt = sniff(data, path=path)
    if fmt.modality != modality:
        raise UnsupportedFormatError(
            f"{fmt.media_type} is not {modality}", path=path, fix="use the functions of its own modality"
        )
    return fmt


def load_source(source: Source) -> tuple[bytes, str | None]:
    """The bytes of ``source`` (a path, bytes, a binary file object or a
    :class:`~synthmark.media.Media`) and its path if it has one (for error messages). Reads are
    bounded by :data:`MAX_FILE_BYTES`."""
    from synthmark.media import Media

    if isinstance(source, Media):
        return source.data, source.path
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    if isinstance(source, (str, os.PathLike)):
        return read_bytes(source), os.fspath(source)
    name = getattr(source, "name", None)
    name = name if isinstance(name, str) else None
    data = source.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise TooLargeError(
            f"the stream holds more than {MAX_FILE_BYTES} bytes",
            path=name,
            fix="raise synthmark.formats.MAX_FILE_BYTES if this file is trusted",
        )
    return data, name


def format_for_path(path: str | os.PathLike[str]) -> Format:
    """The :class:`Format` whose extensions include ``path``'s suffix (for naming outputs)."""
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS:
        if suffix in fmt.extensions:
            return fmt
    raise UnsupportedFormatError(
        f"unsupported extension {suffix or '(none)'!r}", path=path, fix=f"supported: {_supported()}"
    )


def read_bytes(path: str | os.PathLike[str], *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole file, refusing anything but a regular file (a FIFO would block, ``/dev/zero``
    never ends) and files over ``limit`` bytes (never reading more than ``limit + 1``), and
    translating OS errors."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UnsafePathError(
                "is not a regular file (a device, pipe or socket)", path=path, fix="pass a regular file"
            )
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise os_error(exc, path) from exc
    if len(data) > limit:
        raise TooLargeError(
            f"file is over the {limit}-byte limit",
            path=path,
            fix="raise synthmark.formats.MAX_FILE_BYTES if this file is trusted",
        )
    return data


def os_error(exc: OSError, path: str | os.PathLike[str] | None) -> InputError:
    """The :class:`InputError` that says what an ``OSError`` from opening ``path`` means."""
    if isinstance(exc, IsADirectoryError):
        return UnsupportedFormatError("is a directory", path=path, fix="pass a file")
    if isinstance(exc, FileNotFoundError):
        return InputError("no such file", path=path, fix="check the path")
    if isinstance(exc, PermissionError):
        return InputError("permission denied", path=path, fix="check the file's permissions")
    return InputError(f"cannot read the file ({exc.strerror or exc})", path=path, fix="check the path")


# Video containers (MP4/MOV/M4V, Matroska, WebM; synthmark/video/_sniff.py) go before the audio
# rows: an MP4 with a video track is video, an audio-only one falls through to the M4A rows.
# Imported last because the video package imports the image package, which imports this module.
from synthmark.video._sniff import VIDEO_MAGIC  # noqa: E402

FORMATS = (
    tuple(fmt for fmt in FORMATS if fmt.modality == "image")
    + tuple(
        Format(row.name, row.media_type, "video", row.extensions, row.codec, row.magic, row.accepts)
        for row in VIDEO_MAGIC
    )
    + tuple(fmt for fmt in FORMATS if fmt.modality != "image")
)
