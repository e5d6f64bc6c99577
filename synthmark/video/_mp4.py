"""MP4, MOV and M4V video: the AIGC label as QuickTime ``mdta`` metadata, without re-encoding.

The same carrier and the same box surgery as M4A audio (:mod:`synthmark.audio._m4a`, one
implementation for both): a ``moov/udta/meta`` box with handler ``mdta``, a ``keys`` box naming
``AIGC`` and an ``ilst`` item holding the bare JSON as UTF-8, the form FFmpeg writes with
``-movflags use_metadata_tags`` (without that flag FFmpeg drops the key when it remuxes, which is
why every write is read back). Only ``moov`` is rebuilt; ``mdat`` (the coded video and audio) is
copied byte for byte and chunk offsets are moved when ``moov`` sits before it.
"""

from __future__ import annotations

from synthmark.aigc import AIGCLabel
from synthmark.audio import _m4a
from synthmark.metadata import Carrier

__all__ = ["KEY", "check", "read_carriers", "read_label", "write_label"]

KEY = _m4a.KEY


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`~synthmark.errors.CorruptFileError` unless the box structure is sound."""
    _m4a.check(data, path=path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """The ``mdta`` key ``AIGC`` (``"mp4-keys"``) and ``----:...:AIGC`` atoms (``"mp4-freeform"``)."""
    return _m4a.read_carriers(data, path=path)


def read_label(data: bytes, *, path: str | None = None) -> str | None:
    """The text of the first AIGC carrier, or ``None``."""
    carriers = read_carriers(data, path=path)
    return carriers[0].text if carriers else None


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one AIGC label in ``moov/udta/meta`` (other keys and tags kept, media
    data unchanged); read back before returning."""
    return _m4a.write_label(data, label, path=path)
