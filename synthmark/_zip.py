"""Reading one ZIP member within a hard cap, whatever its headers claim.

:meth:`zipfile.ZipFile.read` inflates a member in one call of up to 2 GiB, so a member that
declares 1 KB and inflates to gigabytes (a zip bomb lying about its size) reaches gigabytes of
memory before anything can refuse it. :func:`read_member` inflates in 1 MiB steps and stops one
byte past ``limit`` (and :mod:`zipfile` itself stops at the declared size, where the CRC check then
fails). Only stored and deflated members are read: bzip2 and LZMA members would inflate a whole
compressed step at once, unbounded. A damaged member (bad CRC, broken deflate stream, truncated data) becomes a
:class:`~synthmark.errors.CorruptFileError` naming the member.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from synthmark.errors import CorruptFileError, TooLargeError, UnsupportedFormatError

_STEP = 1 << 20
#: What :mod:`zipfile` raises on a damaged archive or member (NotImplementedError: an unknown
#: "version needed to extract" or compression method; RuntimeError: encryption).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


def check_method(info: zipfile.ZipInfo, *, path: str | None) -> None:
    """Refuse a member that is neither stored nor deflated (:class:`UnsupportedFormatError`)."""
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UnsupportedFormatError(
            f"member {info.filename} uses compression method {info.compress_type}",
            path=path,
            fix="store or deflate it (the methods every ZIP tool writes)",
        )


def read_member(
    package: zipfile.ZipFile, member: str | zipfile.ZipInfo, *, limit: int, path: str | None, fix: str
) -> bytes:
    """The inflated bytes of ``member`` (at most ``limit`` bytes, else :class:`TooLargeError`).

    ``path`` is the file the user named (the error names it and the member); ``fix`` tells how
    to repair a damaged package.
    """
    try:
        info = member if isinstance(member, zipfile.ZipInfo) else package.getinfo(member)
    except KeyError as exc:
        raise CorruptFileError(f"member {member} is missing", path=path, fix=fix) from exc
    name = info.filename
    check_method(info, path=path)
    out = bytearray()
    try:
        with package.open(info) as stream:
            while len(out) <= limit:
                step = stream.read(_STEP)
                if not step:
                    break
                out += step
    except ZIP_ERRORS as exc:
        raise CorruptFileError(f"member {name} is damaged ({exc})", path=path, fix=fix) from exc
    if len(out) > limit:
        raise TooLargeError(
            f"member {name} inflates to more than {limit} bytes",
            path=path,
            fix="this is a zip bomb or a damaged file; re-save the document",
        )
    return bytes(out)


_CENTRAL = b"PK\x01\x02"
_UTF8_FLAG = 0x800


class _NamesAsStored:
    """A file object for :class:`zipfile.ZipFile` that lets an archive open when some central
    directory names claim UTF-8 (flag bit 11) but are not: zipfile would refuse the whole
    archive. Such a name's flag is cleared in the bytes zipfile reads (it then decodes as cp437)
    and ``undecodable`` maps that cp437 name to the stored bytes with surrogate escapes, so the
    caller can refuse that member alone. The file on disk is never changed."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.undecodable: dict[str, str] = {}

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        return self._clear_false_flags(data) if data[:4] == _CENTRAL else data

    def _clear_false_flags(self, directory: bytes) -> bytes:
        out, pos = bytearray(directory), 0
        while out[pos : pos + 4] == _CENTRAL and pos + 46 <= len(out):
            (flags,) = struct.unpack_from("<H", out, pos + 8)
            sizes = struct.unpack_from("<HHH", out, pos + 28)
            name = bytes(out[pos + 46 : pos + 46 + sizes[0]])
            if flags & _UTF8_FLAG:
                try:
                    name.decode("utf-8")
                except UnicodeDecodeError:
                    struct.pack_into("<H", out, pos + 8, flags & ~_UTF8_FLAG)
                    self.undecodable[name.decode("cp437")] = name.decode("utf-8", "surrogateescape")
            pos += 46 + sum(sizes)
        return bytes(out)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def seekable(self) -> bool:
        return True


@contextlib.contextmanager
def open_archive(path: str | os.PathLike[str]) -> Iterator[tuple[zipfile.ZipFile, dict[str, str]]]:
    """A zip archive opened for reading, and its members whose names are not UTF-8 though
    flagged so (zipfile's name -> the stored name with surrogate escapes)."""
    with open(path, "rb") as file:
        stream = _NamesAsStored(file)
        with zipfile.ZipFile(stream) as archive:
            yield archive, stream.undecodable
