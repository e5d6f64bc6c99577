"""MP3 container: the AIGC label in an ID3v2 ``TXXX`` frame with description ``AIGC``.

Uses mutagen on an in-memory file. Only the ID3v2 tag at the start of the file is rewritten; the
MPEG frames after it (and an ID3v1 or APE tag at the end) are copied unchanged. The tag keeps its
version: ID3v2.3 stays 2.3 and 2.4 stays 2.4 (mutagen cannot write 2.2, which becomes 2.3); an MP3
without a tag gets an ID3v2.4 tag. Every other frame is kept.
"""

from __future__ import annotations

import io
from typing import Any

import mutagen.id3
import mutagen.mp3

from synthmark.aigc import AIGCLabel
from synthmark.audio._flac import inconsistent, translated
from synthmark.errors import CorruptFileError
from synthmark.metadata import Carrier

__all__ = ["DESCRIPTION", "audio_start", "check", "read_carriers", "write_label"]

#: The TXXX description that names the label frame.
DESCRIPTION = "AIGC"
# mutagen's annotations are partial: its classes are used untyped here.
ID3: Any = mutagen.id3.ID3
TXXX: Any = mutagen.id3.TXXX
MP3: Any = mutagen.mp3.MP3
_TAIL = 128


def audio_start(data: bytes) -> int:
    """Offset of the first byte after the leading ID3v2 tag (0 when there is none)."""
    if len(data) < 10 or data[:3] != b"ID3":
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return min(10 + size + footer, len(data))


def _tags(data: bytes, path: str | None) -> Any:
    """The leading ID3v2 tag, or None when the file has none."""
    if data[:3] != b"ID3":
        return None
    end = audio_start(data)
    if len(data) < 10 or end >= len(data):
        raise CorruptFileError("MP3 is truncated inside its ID3 tag", path=path, fix="re-export the audio")
    if data[5] & 0x10 and data[end - 10 : end - 7] != b"3DI":
        raise CorruptFileError("MP3 ID3 tag says it has a footer but has none", path=path, fix="re-export the audio")
    with translated("MP3", path):
        try:
            tags: Any = ID3(io.BytesIO(data))
            return tags
        except mutagen.id3.ID3NoHeaderError:
            return None


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the ID3 tag parses and MPEG audio frames follow."""
    _tags(data, path)
    with translated("MP3", path):
        MP3(io.BytesIO(data))


def _is_label(frame: object) -> bool:
    return isinstance(frame, TXXX) and frame.desc.strip().upper() == DESCRIPTION


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every ``TXXX`` frame described ``AIGC`` (any case), as an ``"id3-txxx"`` carrier."""
    check(data, path=path)
    tags = _tags(data, path)
    if tags is None:
        return []
    carriers = []
    for frame in tags.getall("TXXX"):
        if not _is_label(frame):
            continue
        values = [str(v) for v in frame.text]
        problem = None if len(values) == 1 else f"TXXX AIGC frame holds {len(values)} values, not one"
        carriers.append(Carrier("id3-txxx", values[0] if values else "", problem))
    return carriers


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one ``TXXX:AIGC`` frame holding ``label`` (bare JSON, UTF-8 in
    ID3v2.4, UTF-16 in 2.3); other frames and the MPEG frames unchanged."""
    check(data, path=path)
    tags = _tags(data, path)
    version = 4
    if tags is None:
        tags = ID3()
    elif tags.version[1] < 4:
        version = 3
    for key in [key for key, frame in tags.items() if _is_label(frame)]:
        del tags[key]
    tags.add(TXXX(encoding=mutagen.id3.Encoding.UTF8, desc=DESCRIPTION, text=[label.to_json()]))
    # mutagen saves only the tag region: a 128-byte zero tail stands in for the audio so that no
    # ID3v1 tag at the real end of the file can be touched (mutagen offers no "keep as is").
    start = audio_start(data)
    buffer = io.BytesIO(data[:start] + bytes(_TAIL))
    with translated("MP3", path):
        tags.save(buffer, v2_version=version)
    out = buffer.getvalue()[:-_TAIL] + data[start:]
    if out[audio_start(out) :] != data[start:] or [c.text for c in read_carriers(out, path=path)] != [label.to_json()]:
        raise inconsistent("MP3 ID3", path)
    return out
