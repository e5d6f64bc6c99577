"""FLAC container: the AIGC label as the Vorbis comment ``AIGC=``.

Uses mutagen on an in-memory file. Only the metadata blocks are rewritten; STREAMINFO, SEEKTABLE,
PICTURE, CUESHEET, APPLICATION blocks, the other comments and every audio frame are kept. The
Vorbis-comment helpers here are shared with the Ogg container.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mutagen.flac
from mutagen import MutagenError

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError
from synthmark.metadata import Carrier

__all__ = ["FIELD", "audio_start", "check", "read_carriers", "vorbis_carriers", "write_label"]

#: The Vorbis comment field name of the label (field names are case-insensitive).
FIELD = "AIGC"
# mutagen's annotations are partial: its classes are used untyped here.
FLAC: Any = mutagen.flac.FLAC
# What mutagen raises on malformed input besides its own errors.
_PARSE_ERRORS = (MutagenError, EOFError, ValueError, struct.error, IndexError, KeyError, OverflowError, TypeError)


@contextmanager
def translated(kind: str, path: str | None) -> Iterator[None]:
    """Turn mutagen's (and its parsers') exceptions into :class:`CorruptFileError`."""
    try:
        yield
    except _PARSE_ERRORS as exc:
        raise CorruptFileError(
            f"{kind} cannot be parsed ({type(exc).__name__}: {exc})",
            path=path,
            fix="re-export the audio from its source",
        ) from exc


def vorbis_carriers(tags: Any) -> list[Carrier]:
    """Every ``AIGC=`` comment of a mutagen Vorbis-comment object (None: no comments)."""
    if tags is None:
        return []
    return [Carrier("vorbis-comment", str(value)) for key, value in tags if str(key).upper() == FIELD]


def set_vorbis_label(tags: Any, label: AIGCLabel) -> None:
    """Replace every ``AIGC`` comment (any case) with one holding ``label``'s bare JSON."""
    tags[FIELD] = [label.to_json()]  # mutagen drops all case variants of the key first


def inconsistent(kind: str, path: str | None) -> CorruptFileError:
    """The error when mutagen's reading of a damaged file would not relabel it cleanly."""
    return CorruptFileError(
        f"{kind} tag structure is inconsistent: relabeling would not leave exactly one label and the audio untouched",
        path=path,
        fix="re-export the audio from its source",
    )


def verify(out: bytes, label: AIGCLabel, carriers: list[Carrier], kind: str, path: str | None) -> bytes:
    """``out`` after checking it holds exactly ``label`` (mutagen is lenient with damaged tags)."""
    if [c.text for c in carriers] != [label.to_json()]:
        raise inconsistent(kind, path)
    return out


def _metadata_end(data: bytes, path: str | None) -> int:
    """Offset of the first audio frame, after ``fLaC`` and the metadata blocks (checked: a
    34-byte STREAMINFO first, every block inside the file, a last-block flag, audio after)."""

    def corrupt(what: str) -> CorruptFileError:
        return CorruptFileError(f"FLAC {what}", path=path, fix="re-export the audio from its source")

    pos = 0
    if data[:3] == b"ID3" and len(data) >= 10:  # a leading ID3v2 tag (syncsafe size)
        pos = 10 + sum((byte & 0x7F) << (7 * (3 - i)) for i, byte in enumerate(data[6:10]))
    if data[pos : pos + 4] != b"fLaC":
        raise corrupt("does not start with fLaC")
    pos += 4
    first = True
    while True:
        if pos + 4 > len(data):
            raise corrupt("is truncated in its metadata blocks")
        header, size = data[pos], int.from_bytes(data[pos + 1 : pos + 4], "big")
        if first and (header & 0x7F != 0 or size != 34):
            raise corrupt("does not begin with a STREAMINFO block")
        if header & 0x7F == 127:
            raise corrupt(f"has an invalid metadata block type at byte {pos}")
        first = False
        pos += 4 + size
        if pos > len(data):
            raise corrupt("is truncated inside a metadata block")
        if header & 0x80:
            break
    if pos >= len(data):
        raise corrupt("has no audio frames")
    return pos


def audio_start(data: bytes) -> int:
    """Offset of the first audio frame (0 when the metadata blocks cannot be followed)."""
    try:
        return _metadata_end(data, None)
    except CorruptFileError:
        return 0


def _load(data: bytes, path: str | None) -> Any:
    _metadata_end(data, path)
    with translated("FLAC", path):
        flac: Any = FLAC(io.BytesIO(data))
    return flac


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the FLAC metadata blocks parse and audio follows."""
    _load(data, path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every ``AIGC=`` Vorbis comment, as a ``"vorbis-comment"`` carrier."""
    return vorbis_carriers(_load(data, path).tags)


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one ``AIGC=`` comment holding ``label``; a file without a comment
    block gets one. Other blocks, comments and the audio frames are unchanged."""
    flac = _load(data, path)
    if flac.tags is None:
        flac.add_tags()
    set_vorbis_label(flac.tags, label)
    buffer = io.BytesIO(data)
    with translated("FLAC", path):
        flac.save(buffer)
    out = buffer.getvalue()
    if out[audio_start(out) :] != data[audio_start(data) :]:
        raise inconsistent("FLAC", path)
    return verify(out, label, read_carriers(out, path=path), "FLAC", path)
