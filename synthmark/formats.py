"""Sniffing and the format registry: magic bytes (then extension) -> :class:`Format`.

The registry is data: one :class:`Format` row per container, naming the module that handles
it. Modules are imported lazily, so ``import synthmark`` stays light. Safety limits live here as
module constants.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from synthmark.errors import CorruptFileError, InputError, TooLargeError, UnsupportedFormatError

__all__ = [
    "FORMATS",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_PIXELS",
    "Format",
    "format_for_path",
    "read_bytes",
    "sniff",
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
    and ``codec`` the module implementing the container protocol.
    """

    name: str
    media_type: str
    modality: str
    extensions: tuple[str, ...]
    codec: str
    magic: tuple[tuple[int, bytes], ...]

    def matches(self, head: bytes) -> bool:
        return all(head[offset : offset + len(sig)] == sig for offset, sig in self.magic)

    def module(self) -> ModuleType:
        """The codec module (imported on first use)."""
        return importlib.import_module(self.codec)


FORMATS: tuple[Format, ...] = (
    Format("jpeg", "image/jpeg", "image", (".jpg", ".jpeg", ".jpe"), "synthmark.image._jpeg", ((0, b"\xff\xd8\xff"),)),
    Format("png", "image/png", "image", (".png",), "synthmark.image._png", ((0, b"\x89PNG\r\n\x1a\n"),)),
    Format("webp", "image/webp", "image", (".webp",), "synthmark.image._webp", ((0, b"RIFF"), (8, b"WEBP"))),
)

# Recognised so the error can say what the file is, but not (yet) labeled.
_KNOWN_UNSUPPORTED: tuple[tuple[int, bytes, str], ...] = (
    (0, b"GIF8", "GIF"),
    (0, b"II*\0", "TIFF"),
    (0, b"MM\0*", "TIFF"),
    (0, b"BM", "BMP"),
    (4, b"ftypheic", "HEIC"),
    (4, b"ftypavif", "AVIF"),
    (4, b"ftyp", "MP4/MOV"),
    (8, b"WAVE", "WAV"),
    (0, b"ID3", "MP3"),
    (0, b"fLaC", "FLAC"),
    (0, b"OggS", "Ogg"),
    (0, b"%PDF", "PDF"),
    (0, b"PK\x03\x04", "ZIP/Office"),
    (0, b"\x1aE\xdf\xa3", "Matroska/WebM"),
)


def _supported() -> str:
    return " ".join(ext for fmt in FORMATS for ext in fmt.extensions[:1])


def sniff(head: bytes, *, path: str | os.PathLike[str] | None = None) -> Format:
    """The :class:`Format` of a file from its first bytes (at least 16 are needed).

    Raises :class:`CorruptFileError` for empty input and :class:`UnsupportedFormatError`, listing
    the supported formats, for anything else unknown.
    """
    if not head:
        raise CorruptFileError("file is empty (0 bytes)", path=path, fix="pass a real media file")
    for fmt in FORMATS:
        if fmt.matches(head):
            return fmt
    what = next((name for off, sig, name in _KNOWN_UNSUPPORTED if head[off : off + len(sig)] == sig), None)
    described = f"{what} files are" if what else "this file's format is"
    raise UnsupportedFormatError(
        f"{described} not supported",
        path=path,
        fix=f"supported: {_supported()}",
    )


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
    """The whole file, refusing files over ``limit`` bytes and translating OS errors."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise TooLargeError(
                    f"file is {size} bytes, over the {limit}-byte limit",
                    path=path,
                    fix="raise synthmark.formats.MAX_FILE_BYTES if this file is trusted",
                )
            return handle.read()
    except IsADirectoryError as exc:
        raise UnsupportedFormatError("is a directory", path=path, fix="pass a file") from exc
    except FileNotFoundError as exc:
        raise InputError("no such file", path=path, fix="check the path") from exc
    except PermissionError as exc:
        raise InputError("permission denied", path=path, fix="check the file's permissions") from exc
