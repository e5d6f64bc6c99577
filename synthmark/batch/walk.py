"""The streaming walk of a batch's source: a folder tree, zip and tar archives, or both.

:func:`walk` yields one :class:`Entry` per file, in a stable order (each folder's names
sorted), without ever holding the whole tree: folders are listed one at a time, tar archives
are read as a stream (``.tar.gz`` included), zip archives from their central directory.
Nothing is followed or extracted that could leave the tree:

* symlinks (to files or folders), FIFOs, sockets and devices are yielded as *refused* entries
  (recorded in the ledger, never opened);
* archive members with an absolute name, a drive letter, a backslash, a NUL or a ``..``
  component, link members (tar symlinks and hard links, zip symlinks), device and FIFO
  members, encrypted or duplicate members are refused the same way;
* a member or file over :data:`synthmark.formats.MAX_FILE_BYTES` is refused as too large
  before any byte of it is read (the zip size is checked again while inflating).

An entry's bytes are read only when asked for (:meth:`Entry.read`), so a file the ledger
already has is skipped without being read; for archive members the reader is valid until the
walk moves on.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from synthmark._zip import ZIP_ERRORS, open_archive, read_member
from synthmark.errors import CorruptFileError, InputError, TooLargeError, UnsafePathError, UnsupportedFormatError
from synthmark.formats import MAX_FILE_BYTES, os_error

__all__ = ["ARCHIVE_SUFFIXES", "LEDGER_NAME", "Entry", "Filter", "count", "is_archive", "safe_member_name", "walk"]

#: Names that make a file an archive to expand (by name: a .docx is a zip but not an archive).
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
#: The ledger's default file name inside DEST; it and its SQLite companions are never walked.
LEDGER_NAME = ".synthmark-batch.sqlite"


def is_archive(name: str) -> bool:
    """Whether ``name`` is expanded as an archive (by its suffix, case-insensitive)."""
    return name.lower().endswith(ARCHIVE_SUFFIXES)


@dataclass(frozen=True)
class Filter:
    """``--include`` / ``--exclude`` glob patterns (:mod:`fnmatch`: ``*`` also crosses ``/``).

    A pattern matches an entry's relative POSIX path or its base name; an entry is walked when
    it matches some include pattern (every entry when there are none) and no exclude pattern.
    Archives themselves are expanded regardless; their members are filtered.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def wants(self, rel: str) -> bool:
        name = rel.rsplit("/", 1)[-1]

        def hit(patterns: Sequence[str]) -> bool:
            return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)

        return (not self.include or hit(self.include)) and not hit(self.exclude)


@dataclass(frozen=True)
class Entry:
    """One file of the source.

    ``rel`` is its POSIX path relative to SRC (an archive member: the archive's relative path,
    then the member's, e.g. ``batch1.zip/img/a.jpg``; members of an archive given as SRC itself
    have just the member path); the output goes to ``DEST/rel``. ``path`` is the file on disk
    (folder entries) or None (members). ``size`` in bytes and ``mtime_ns`` come from the
    directory or the archive header. ``refused`` (an :class:`~synthmark.errors.InputError`) is
    set when the entry must not be read; it is then recorded as failed.
    """

    rel: str
    path: str | None
    size: int
    mtime_ns: int
    refused: InputError | None = None
    _reader: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)

    def read(self) -> bytes:
        """The entry's bytes (members: only while the walk is on this entry)."""
        if self.refused is not None:
            raise self.refused
        if self._reader is not None:
            return self._reader()
        from synthmark.formats import read_bytes

        return read_bytes(self.path or self.rel)


def safe_member_name(name: str) -> str | None:
    """The normalised relative POSIX path of an archive member, or None when it could escape
    (absolute, drive letter, backslash, NUL, ``..``) or names nothing."""
    if not name or "\0" in name or "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def _refused(rel: str, path: str | None, size: int, mtime_ns: int, error: InputError) -> Entry:
    return Entry(rel, path, size, mtime_ns, refused=error)


def _not_utf8(rel: str, path: str | None = None) -> Entry | None:
    """The refused entry of a name that is not valid UTF-8, else None.

    The OS and tarfile keep undecodable bytes as surrogates, which no output path, ledger row or
    report can hold; the entry's name shows them as ``\\xNN`` escapes.
    """
    try:
        rel.encode("utf-8")
        return None
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        error = UnsafePathError("file name is not valid UTF-8", path=shown, fix="rename it to a UTF-8 name")
        return _refused(shown, None if path is None else shown, 0, 0, error)


def _too_large(rel: str, size: int) -> TooLargeError:
    return TooLargeError(
        f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit",
        path=rel,
        fix="raise synthmark.formats.MAX_FILE_BYTES if this file is trusted",
    )


def _skip_own(name: str) -> bool:
    # The ledger, its SQLite companions and lock, and temporary outputs of an interrupted run.
    return name.startswith(LEDGER_NAME)


def walk(src: str | os.PathLike[str], filt: Filter = Filter(), *, skip: Sequence[str] = ()) -> Iterator[Entry]:
    """Every file under ``src`` (a folder or an archive), streamed; see the module docstring.

    ``skip`` are absolute paths not to descend into (DEST when it lies inside SRC).
    """
    root = Path(src)
    if root.is_file() and is_archive(root.name):
        yield from _walk_archive(root, "", filt)
        return
    skipped = {os.path.realpath(p) for p in skip}
    yield from _walk_dir(os.fspath(root), "", filt, skipped)


def _walk_dir(folder: str, prefix: str, filt: Filter, skipped: set[str]) -> Iterator[Entry]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        yield _refused(prefix.rstrip("/") or ".", folder, 0, 0, os_error(exc, folder))
        return
    for entry in entries:
        rel = prefix + entry.name
        undecodable = _not_utf8(rel, entry.path)
        if undecodable is not None:
            yield undecodable
            continue
        if _skip_own(entry.name) or (skipped and os.path.realpath(entry.path) in skipped):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            if filt.wants(rel):
                yield _refused(rel, entry.path, 0, 0, os_error(exc, entry.path))
            continue
        if stat.S_ISLNK(info.st_mode):
            if filt.wants(rel):
                yield _refused(
                    rel,
                    entry.path,
                    0,
                    info.st_mtime_ns,
                    UnsafePathError(
                        "symlink refused (never followed)", path=rel, fix="copy the target into SRC instead"
                    ),
                )
        elif stat.S_ISDIR(info.st_mode):
            yield from _walk_dir(entry.path, rel + "/", filt, skipped)
        elif not stat.S_ISREG(info.st_mode):
            if filt.wants(rel):
                yield _refused(
                    rel,
                    entry.path,
                    0,
                    info.st_mtime_ns,
                    UnsafePathError("not a regular file (FIFO, socket or device)", path=rel, fix="remove it from SRC"),
                )
        elif is_archive(entry.name):
            yield from _walk_archive(Path(entry.path), rel + "/", filt)
        elif filt.wants(rel):
            if info.st_size > MAX_FILE_BYTES:
                yield _refused(rel, entry.path, info.st_size, info.st_mtime_ns, _too_large(rel, info.st_size))
            else:
                yield Entry(rel, entry.path, info.st_size, info.st_mtime_ns)


def _walk_archive(archive: Path, prefix: str, filt: Filter) -> Iterator[Entry]:
    where = prefix.rstrip("/") or archive.name
    try:
        if archive.name.lower().endswith(".zip"):
            yield from _walk_zip(archive, prefix, filt)
        else:
            yield from _walk_tar(archive, prefix, filt)
    except OSError as exc:
        yield _refused(where, os.fspath(archive), 0, 0, os_error(exc, archive))
    except (*ZIP_ERRORS, tarfile.TarError) as exc:
        # The members read before the damage were yielded; the archive itself is recorded.
        yield _refused(
            where + "/",
            os.fspath(archive),
            0,
            0,
            CorruptFileError(f"archive is damaged ({exc})", path=archive, fix="re-create or re-download it"),
        )


def _member_entry(
    prefix: str, name: str, size: int, mtime_ns: int, seen: set[str], filt: Filter
) -> tuple[str, Entry | None]:
    """The member's relative path and, when it must be refused, its refused entry."""
    undecodable = _not_utf8(prefix + name)
    if undecodable is not None:
        return undecodable.rel, undecodable
    safe = safe_member_name(name)
    if safe is None:
        rel = prefix + "".join(c if c.isprintable() else "?" for c in name)
        return rel, _refused(
            rel,
            None,
            size,
            mtime_ns,
            UnsafePathError(
                f"archive member name {name!r} would leave the output folder (absolute or '..')",
                path=rel,
                fix="rebuild the archive with relative member names",
            ),
        )
    rel = prefix + safe
    if rel in seen:
        return rel, _refused(
            rel,
            None,
            size,
            mtime_ns,
            UnsafePathError("duplicate archive member (a later copy would overwrite)", path=rel, fix="rebuild it"),
        )
    seen.add(rel)
    if size > MAX_FILE_BYTES:
        return rel, _refused(rel, None, size, mtime_ns, _too_large(rel, size))
    return rel, None


def _walk_zip(archive: Path, prefix: str, filt: Filter) -> Iterator[Entry]:
    import calendar

    seen: set[str] = set()
    with open_archive(archive) as (handle, undecodable):
        for info in handle.infolist():
            if info.is_dir():
                continue
            mtime_ns = calendar.timegm((*info.date_time, 0, 0, 0)) * 1_000_000_000
            name = undecodable.get(info.filename, info.filename)  # not UTF-8: refused below
            rel, refused = _member_entry(prefix, name, info.file_size, mtime_ns, seen, filt)
            if not filt.wants(rel):
                continue
            if refused is not None:
                yield refused
                continue
            # Unix type bits, when the archiver set any: only regular files pass.
            kind = stat.S_IFMT(info.external_attr >> 16)
            if kind and kind != stat.S_IFREG:
                yield _refused(
                    rel,
                    None,
                    info.file_size,
                    mtime_ns,
                    UnsafePathError("archive member is a link or special file", path=rel, fix="store the file itself"),
                )
                continue
            if info.flag_bits & 0x1:
                yield _refused(
                    rel,
                    None,
                    info.file_size,
                    mtime_ns,
                    UnsupportedFormatError("encrypted zip member", path=rel, fix="decrypt the archive first"),
                )
                continue

            def read(info: zipfile.ZipInfo = info, rel: str = rel) -> bytes:
                # Inflated in steps up to the limit: a member lying about its size is caught.
                return read_member(handle, info, limit=MAX_FILE_BYTES, path=rel, fix="re-create the archive")

            yield Entry(rel, None, info.file_size, mtime_ns, _reader=read)


def _walk_tar(archive: Path, prefix: str, filt: Filter) -> Iterator[Entry]:
    seen: set[str] = set()
    # Stream mode ("r|*"): members in order, nothing kept, compressed archives included.
    with tarfile.open(archive, mode="r|*") as handle:
        for member in handle:
            if member.isdir():
                continue
            mtime_ns = int(member.mtime) * 1_000_000_000
            rel, refused = _member_entry(prefix, member.name, member.size, mtime_ns, seen, filt)
            if not filt.wants(rel):
                continue
            if refused is not None:
                yield refused
                continue
            if not member.isfile():
                kind = "link" if member.issym() or member.islnk() else "special file"
                yield _refused(
                    rel,
                    None,
                    0,
                    mtime_ns,
                    UnsafePathError(f"archive member is a {kind} (never followed)", path=rel, fix="store the file"),
                )
                continue

            def read(member: tarfile.TarInfo = member, rel: str = rel) -> bytes:
                stream = handle.extractfile(member)
                if stream is None:
                    raise CorruptFileError("tar member has no data", path=rel, fix="re-create the archive")
                return stream.read()

            yield Entry(rel, None, member.size, mtime_ns, _reader=read)


def count(src: str | os.PathLike[str], filt: Filter = Filter(), *, skip: Sequence[str] = ()) -> tuple[int, int] | None:
    """Files and bytes :func:`walk` will yield, from a stat-only pass (for the progress bar's
    ETA); None when that would mean reading a compressed tar archive through."""
    files = size = 0
    root = Path(src)
    if root.is_file() and not root.name.lower().endswith(".zip") and is_archive(root.name):
        return None
    for entry in _count_walk(root, filt, skip):
        if entry is None:
            return None
        files += 1
        size += entry
    return files, size


def _count_walk(root: Path, filt: Filter, skip: Sequence[str]) -> Iterator[int | None]:
    if root.is_file() and root.name.lower().endswith(".zip"):
        try:
            with open_archive(root) as (handle, _):
                for info in handle.infolist():
                    if not info.is_dir() and filt.wants(info.filename):
                        yield info.file_size
        except ZIP_ERRORS:
            yield 0
        return
    skipped = {os.path.realpath(p) for p in skip}
    stack = [(os.fspath(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            listing = list(os.scandir(folder))
        except OSError:
            continue
        for entry in listing:
            rel = prefix + entry.name
            if _skip_own(entry.name) or (skipped and os.path.realpath(entry.path) in skipped):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, rel + "/"))
            elif is_archive(entry.name) and entry.is_file(follow_symlinks=False):
                if not entry.name.lower().endswith(".zip"):
                    yield None
                    return
                yield from _count_walk(Path(entry.path), Filter(), ())
            elif filt.wants(rel):
                try:
                    yield entry.stat(follow_symlinks=False).st_size
                except OSError:
                    yield 0
