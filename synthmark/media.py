"""One media file, read once: its bytes, its name, its format, and what has been decoded of it.

Every modality verb takes a :data:`~synthmark.protocols.Source`; a :class:`Media` is one too.
Passing the same :class:`Media` to several verbs (as :func:`synthmark.verify_file` does for its
layers) reads the file from disk once, sniffs it once and decodes its content once per kind
(pixels, samples, text): each verb asks :meth:`Media.cached` for what it needs.

>>> media = Media.of(b"Just words.")
>>> media.cached("length", lambda: len(media.data)), media.decodes
(11, {'length': 1})
>>> media.cached("length", lambda: -1), media.decodes
(11, {'length': 1})
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

if TYPE_CHECKING:
    from synthmark.formats import Format

__all__ = ["Media"]

_T = TypeVar("_T")


class Media:
    """A file's bytes and name, normalised once; decoded content cached per kind.

    ``path`` names the file in errors; ``on_disk`` says whether ``path`` is a file on disk
    holding ``data`` (so a decoder that streams, such as video's, may open it instead of a
    temporary copy). ``decodes`` counts how often each kind was made (once, by design).
    Thread-safe: two verbs asking for the same kind at once decode it once.
    """

    def __init__(self, data: bytes, path: str | os.PathLike[str] | None = None, *, on_disk: bool = False) -> None:
        self.data = data
        self.path = None if path is None else os.fspath(path)
        self.on_disk = on_disk and self.path is not None
        self.decodes: dict[Hashable, int] = {}
        self._cache: dict[Hashable, Any] = {}
        self._format: Format | None = None
        self._lock = threading.RLock()

    @classmethod
    def of(cls, source: Media | str | os.PathLike[str] | bytes | BinaryIO) -> Media:
        """``source`` itself if it is a :class:`Media`, else a new one (a path is read once,
        bounded by :data:`synthmark.formats.MAX_FILE_BYTES`)."""
        if isinstance(source, Media):
            return source
        from synthmark.formats import load_source

        data, path = load_source(source)
        return cls(data, path, on_disk=isinstance(source, (str, os.PathLike)))

    @property
    def format(self) -> Format:
        """The registry row of the file (sniffed on first use)."""
        if self._format is None:
            from synthmark.formats import sniff

            self._format = sniff(self.data, path=self.path)
        return self._format

    def cached(self, kind: Hashable, make: Callable[[], _T]) -> _T:
        """``make()`` the first time ``kind`` is asked for, the same object afterwards. An
        error is not cached (the next call tries again). Callers must not modify what they get."""
        with self._lock:
            if kind not in self._cache:
                self._cache[kind] = make()
                self.decodes[kind] = self.decodes.get(kind, 0) + 1
            return self._cache[kind]  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"Media({self.path or '<bytes>'}, {len(self.data)} bytes)"
