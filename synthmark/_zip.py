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

import zipfile
import zlib

from synthmark.errors import CorruptFileError, TooLargeError, UnsupportedFormatError

_STEP = 1 << 20


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
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UnsupportedFormatError(
            f"member {name} uses compression method {info.compress_type}",
            path=path,
            fix="store or deflate it (the methods every ZIP tool writes)",
        )
    out = bytearray()
    try:
        with package.open(info) as stream:
            while len(out) <= limit:
                step = stream.read(_STEP)
                if not step:
                    break
                out += step
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise CorruptFileError(f"member {name} is damaged ({exc})", path=path, fix=fix) from exc
    if len(out) > limit:
        raise TooLargeError(
            f"member {name} inflates to more than {limit} bytes",
            path=path,
            fix="this is a zip bomb or a damaged file; re-save the document",
        )
    return bytes(out)
