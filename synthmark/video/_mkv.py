"""Matroska and WebM: the AIGC label as a global ``Tags/Tag/SimpleTag`` named ``AIGC``.

The label is a ``SimpleTag`` with ``TagName`` ``AIGC`` and ``TagString`` the bare JSON, inside a
``Tag`` whose ``Targets`` names no track, edition, chapter or attachment (the whole segment, the
form FFmpeg writes container metadata in and reads back as ``container.metadata["AIGC"]``).

The element surgery is done here, with bounds checks on every size, and never touches a
``Cluster``, so the coded video and audio keep their bytes and their positions:

* the ``Tags`` element that gets the label is rebuilt (other ``Tag`` and ``SimpleTag`` elements
  are copied byte for byte, a ``CRC-32`` child is recomputed); it stays where it is when it fits
  there with the ``Void`` elements after it, and otherwise the old one becomes a ``Void`` and the
  new one goes at the end of the ``Segment``, whose size grows;
* a moved or new ``Tags`` element is pointed to from the ``SeekHead`` (its ``Void`` padding
  absorbs the entry), as players find elements after the first ``Cluster`` only that way. Seek
  and cue positions are relative to the segment's data, so nothing else moves;
* where no ``SeekHead`` can take the entry, the file is remuxed with PyAV (stream copy: every
  packet keeps its bytes) with the label as container metadata, and read back.

Exactly one label: every ``SimpleTag`` named ``AIGC`` (any case, any ``Tag``) is removed before
the new one is added.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, MetadataError
from synthmark.metadata import Carrier

__all__ = ["KEY", "EBMLError", "check", "read_carriers", "read_label", "read_vint", "write_label"]

#: The ``TagName`` that carries the label.
KEY = "AIGC"
#: Most elements followed in one master element, and deepest nesting; real files are far below.
MAX_ELEMENTS = 2_000_000
MAX_DEPTH = 16

EBML = 0x1A45DFA3
DOCTYPE = 0x4282
SEGMENT = 0x18538067
SEEKHEAD = 0x114D9B74
SEEK = 0x4DBB
SEEKID = 0x53AB
SEEKPOSITION = 0x53AC
INFO = 0x1549A966
TRACKS = 0x1654AE6B
CLUSTER = 0x1F43B675
CUES = 0x1C53BB6B
TAGS = 0x1254C367
TAG = 0x7373
TARGETS = 0x63C0
TARGETTYPEVALUE = 0x68CA
SIMPLETAG = 0x67C8
TAGNAME = 0x45A3
TAGSTRING = 0x4487
TAGBINARY = 0x4485
VOID = 0xEC
CRC32 = 0xBF
CHAPTERS = 0x1043A770
ATTACHMENTS = 0x1941A469

# Level-1 IDs: an element of unknown size (a live-streamed Cluster) ends where one of them starts.
_TOP_IDS = frozenset({SEEKHEAD, INFO, TRACKS, CLUSTER, CUES, TAGS, CHAPTERS, ATTACHMENTS, SEGMENT, EBML})
# Targets children that narrow a Tag to a track, edition, chapter or attachment.
_TARGET_UIDS = frozenset({0x63C5, 0x63C9, 0x63C4, 0x63C6})
_DOCTYPES = ("matroska", "webm")


class EBMLError(ValueError):
    """Malformed EBML (internal: translated to :class:`CorruptFileError` at the module's edge)."""


def read_vint(data: bytes, pos: int, *, keep_marker: bool = False) -> tuple[int, int]:
    """The EBML variable-length integer at ``data[pos]``: (value, width in bytes).

    ``keep_marker`` keeps the length marker bit (element IDs are written that way). Raises
    :class:`EBMLError` past the end of ``data`` or for a first byte of 0 (no marker).
    """
    if pos >= len(data):
        raise EBMLError(f"cut off at byte {pos}")
    first = data[pos]
    if first == 0:
        raise EBMLError(f"invalid length marker at byte {pos}")
    width = 9 - first.bit_length()
    if pos + width > len(data):
        raise EBMLError(f"cut off at byte {pos}")
    value = first if keep_marker else first & ((1 << (8 - width)) - 1)
    for byte in data[pos + 1 : pos + width]:
        value = value << 8 | byte
    return value, width


def _encode_id(ident: int) -> bytes:
    return ident.to_bytes((ident.bit_length() + 7) // 8, "big")


def _encode_size(size: int, width: int = 0) -> bytes:
    """``size`` as a vint of at least ``width`` bytes (all-ones values are reserved)."""
    needed = next(w for w in range(1, 9) if size < (1 << (7 * w)) - 1)
    width = max(width, needed)
    if width > 8:
        raise MetadataError("an element is too large for EBML", fix="report this file to synthmark")
    return ((1 << (7 * width)) | size).to_bytes(width, "big")


def _element(ident: int, body: bytes, width: int = 0) -> bytes:
    return _encode_id(ident) + _encode_size(len(body), width) + body


def _void(total: int) -> bytes:
    """A Void element exactly ``total`` (>= 2) bytes long."""
    width = 1 if total - 2 <= 126 else 8
    return _element(VOID, bytes(total - 1 - width), width)


def _fill(ident: int, body: bytes, room: int) -> bytes | None:
    """The element padded with a Void to exactly ``room`` bytes, or ``None`` if it cannot fit.
    A slack of one byte, too small for a Void, is taken by a wider size field."""
    for width in range(1, 9):
        try:
            encoded = _element(ident, body, width)
        except MetadataError:
            return None
        slack = room - len(encoded)
        if slack == 0:
            return encoded
        if slack >= 2:
            return encoded + _void(slack)
        if slack < 0:
            return None
    return None


@dataclass(frozen=True)
class _El:
    id: int
    start: int
    body: int
    end: int


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int | None]:
    """(id, body start, size or None for unknown) of the element at ``pos``."""
    ident, id_width = read_vint(data, pos, keep_marker=True)
    if id_width > 4:
        raise EBMLError(f"element ID at byte {pos} is {id_width} bytes long (at most 4)")
    size, size_width = read_vint(data, pos + id_width)
    body = pos + id_width + size_width
    if body > end:
        raise EBMLError(f"element 0x{ident:X} at byte {pos} is cut off")
    unknown = size == (1 << (7 * size_width)) - 1
    return ident, body, None if unknown else size


def _children(data: bytes, start: int, end: int) -> list[_El]:
    """The elements in ``data[start:end]``; an element of unknown size (only a Cluster may be)
    ends where the next level-1 element starts."""
    elements: list[_El] = []
    pos = start
    while pos < end:
        ident, body, size = _header(data, pos, end)
        if size is None:
            if ident != CLUSTER:
                raise EBMLError(f"element 0x{ident:X} at byte {pos} has an unknown size")
            stop = _unknown_end(data, body, end)
        elif body + size > end:
            raise EBMLError(f"element 0x{ident:X} at byte {pos} runs past its parent (truncated?)")
        else:
            stop = body + size
        elements.append(_El(ident, pos, body, stop))
        if len(elements) > MAX_ELEMENTS:
            raise EBMLError(f"more than {MAX_ELEMENTS} elements in one master element")
        pos = stop
    return elements


def _unknown_end(data: bytes, start: int, end: int) -> int:
    pos = start
    while pos < end:
        ident, body, size = _header(data, pos, end)
        if ident in _TOP_IDS:
            return pos
        if size is None or body + size > end:
            raise EBMLError(f"element 0x{ident:X} at byte {pos} runs past its cluster (truncated?)")
        pos = body + size
    return end


@dataclass(frozen=True)
class _Layout:
    doctype: str
    segment: _El
    known_size: bool
    size_width: int
    children: list[_El]


def _corrupt(what: str, path: str | None) -> CorruptFileError:
    return CorruptFileError(f"Matroska {what}", path=path, fix="re-export or remux the file from its source")


def _layout(data: bytes, path: str | None) -> _Layout:
    if not data.startswith(_encode_id(EBML)):
        raise _corrupt("file must start with an EBML header (not a Matroska/WebM file)", path)
    try:
        top = _top(data)
        header = top[0]
        doctype = ""
        for child in _children(data, header.body, header.end):
            if child.id == DOCTYPE:
                doctype = data[child.body : child.end].rstrip(b"\0").decode("ascii", "replace")
        if doctype not in _DOCTYPES:
            raise EBMLError(f"DocType is {doctype!r}, not matroska or webm")
        segment = next((el for el in top if el.id == SEGMENT), None)
        if segment is None:
            raise EBMLError("has no Segment (truncated?)")
        _, size_width = read_vint(data, segment.start + 4)
        _, _, size = _header(data, segment.start, len(data))
        children = _children(data, segment.body, segment.end)
    except EBMLError as exc:
        raise _corrupt(str(exc), path) from None
    return _Layout(doctype, segment, size is not None, size_width, children)


def _top(data: bytes) -> list[_El]:
    """Level-0 elements; an unknown-size Segment runs to the end of the file."""
    elements: list[_El] = []
    pos = 0
    while pos < len(data):
        ident, body, size = _header(data, pos, len(data))
        if size is None and ident == SEGMENT:
            end = len(data)
        elif size is None:
            raise EBMLError(f"element 0x{ident:X} at byte {pos} has an unknown size")
        elif body + size > len(data):
            what = "Segment" if ident == SEGMENT else f"element 0x{ident:X}"
            raise EBMLError(f"{what} at byte {pos} declares {size} bytes but the file ends first (truncated)")
        else:
            end = body + size
        elements.append(_El(ident, pos, body, end))
        if ident == SEGMENT:
            break  # a second segment (chained files) is kept as it is
        pos = end
    if not elements or elements[0].id != EBML:
        raise EBMLError("has no EBML header")
    return elements


def _tag_parts(data: bytes, tag: _El) -> tuple[bool, list[_El]]:
    """(targets the whole segment, the Tag's children)."""
    children = _children(data, tag.body, tag.end)
    whole = True
    for child in children:
        if child.id == TARGETS:
            for target in _children(data, child.body, child.end):
                level = int.from_bytes(data[target.body : target.end], "big")
                if target.id in _TARGET_UIDS or (target.id == TARGETTYPEVALUE and level != 50):
                    whole = False
    return whole, children


def _simple(data: bytes, simple: _El) -> tuple[str, str, str | None]:
    """(name, value, problem) of a SimpleTag."""
    name, value, problem = "", "", None
    for child in _children(data, simple.body, simple.end):
        raw = data[child.body : child.end]
        if child.id == TAGNAME:
            name = raw.rstrip(b"\0").decode("utf-8", "replace")
        elif child.id == TAGSTRING:
            try:
                value = raw.rstrip(b"\0").decode("utf-8")
            except UnicodeDecodeError:
                value, problem = raw.decode("utf-8", "replace"), "AIGC value is not valid UTF-8"
        elif child.id == TAGBINARY:
            value, problem = raw.decode("utf-8", "replace"), "AIGC value is a TagBinary, not a TagString"
    return name, value, problem


def _is_label(data: bytes, el: _El) -> bool:
    return el.id == SIMPLETAG and _simple(data, el)[0].upper() == KEY


def _carriers(data: bytes, layout: _Layout) -> list[Carrier]:
    carriers = []
    for tags in (c for c in layout.children if c.id == TAGS):
        for tag in _children(data, tags.body, tags.end):
            if tag.id != TAG:
                continue
            for child in _tag_parts(data, tag)[1]:
                if child.id == SIMPLETAG:
                    name, value, problem = _simple(data, child)
                    if name.upper() == KEY:
                        carriers.append(Carrier("mkv-tag", value, problem))
    return carriers


def _read(data: bytes, path: str | None) -> tuple[_Layout, list[Carrier]]:
    layout = _layout(data, path)
    try:
        return layout, _carriers(data, layout)
    except EBMLError as exc:
        raise _corrupt(f"Tags element is damaged: {exc}", path) from None


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the EBML structure (and every ``Tags``) is sound."""
    _read(data, path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every ``SimpleTag`` named ``AIGC`` (carrier ``"mkv-tag"``), in file order."""
    return _read(data, path)[1]


def read_label(data: bytes, *, path: str | None = None) -> str | None:
    """The text of the first ``AIGC`` SimpleTag, or ``None``."""
    carriers = read_carriers(data, path=path)
    return carriers[0].text if carriers else None


# --- writing ------------------------------------------------------------------------------------


def _with_crc(data: bytes, children: list[_El], parts: list[bytes]) -> bytes:
    """A master body from ``parts``, with a fresh CRC-32 first when the original had one."""
    rest = b"".join(parts)
    if children and children[0].id == CRC32:
        return _element(CRC32, struct.pack("<I", zlib.crc32(rest))) + rest
    return rest


def _rebuild_tags(data: bytes, tags: _El, extra: bytes | None) -> bytes:
    """The body of ``tags`` without AIGC SimpleTags, with ``extra`` (a SimpleTag) added to its
    first whole-segment Tag (a new Tag when it has none)."""
    children = _children(data, tags.body, tags.end)
    parts: list[bytes] = []
    for child in children:
        if child.id == CRC32:
            continue
        if child.id != TAG:
            parts.append(data[child.start : child.end])
            continue
        whole, tag_children = _tag_parts(data, tag=child)
        kept = [c for c in tag_children if not _is_label(data, c)]
        if extra is not None and whole:
            tag_parts = [data[c.start : c.end] for c in kept if c.id != CRC32] + [extra]
            parts.append(_element(TAG, _with_crc(data, kept, tag_parts)))
            extra = None
        elif len(kept) != len(tag_children):
            if any(c.id == SIMPLETAG for c in kept):
                parts.append(
                    _element(TAG, _with_crc(data, kept, [data[c.start : c.end] for c in kept if c.id != CRC32]))
                )
        else:
            parts.append(data[child.start : child.end])
    if extra is not None:
        parts.insert(0, _element(TAG, _element(TARGETS, b"") + extra))
    return _with_crc(data, children, parts)


def _room(layout: _Layout, index: int) -> int:
    """Bytes from child ``index``'s start to the end of the Void elements right after it."""
    end = layout.children[index].end
    for child in layout.children[index + 1 :]:
        if child.id != VOID:
            break
        end = child.end
    return end - layout.children[index].start


def _seek_entries(data: bytes, seekhead: _El) -> list[tuple[_El, bytes, int | None]]:
    """(Seek element, SeekID bytes, SeekPosition) of each entry."""
    entries = []
    for seek in _children(data, seekhead.body, seekhead.end):
        if seek.id != SEEK:
            continue
        ident, position = b"", None
        for child in _children(data, seek.body, seek.end):
            if child.id == SEEKID:
                ident = data[child.body : child.end]
            elif child.id == SEEKPOSITION:
                position = int.from_bytes(data[child.body : child.end], "big")
        entries.append((seek, ident, position))
    return entries


def _seek(position: int) -> bytes:
    return _element(SEEK, _element(SEEKID, _encode_id(TAGS)) + _element(SEEKPOSITION, position.to_bytes(8, "big")))


def _new_seekhead(data: bytes, layout: _Layout, old: int | None, new: int) -> tuple[int, bytes] | None:
    """(child index, replacement bytes) of the SeekHead pointing to Tags at ``new`` (relative to
    the segment's data) instead of ``old``; ``None`` when no SeekHead has room for it."""
    heads = [i for i, c in enumerate(layout.children) if c.id == SEEKHEAD]
    entries = {i: _seek_entries(data, layout.children[i]) for i in heads}
    target = next((i for i in heads if any(e[1] == _encode_id(TAGS) for e in entries[i])), heads[0] if heads else None)
    if target is None:
        return None
    head = layout.children[target]
    children = _children(data, head.body, head.end)
    replaced = {e[0].start for e in entries[target] if e[1] == _encode_id(TAGS) and old is not None and e[2] == old}
    parts = [_seek(new) if c.start in replaced else data[c.start : c.end] for c in children if c.id != CRC32]
    if not replaced:
        parts.append(_seek(new))
    filled = _fill(SEEKHEAD, _with_crc(data, children, parts), _room(layout, target))
    return None if filled is None else (target, filled)


def _relabel(data: bytes, text: str, path: str | None) -> bytes | None:
    """The file with the label, edited in place; ``None`` when it needs a remux."""
    layout, _ = _read(data, path)
    extra = _element(SIMPLETAG, _element(TAGNAME, KEY.encode()) + _element(TAGSTRING, text.encode("utf-8")))
    tags_at = [i for i, c in enumerate(layout.children) if c.id == TAGS]
    edits: dict[int, bytes] = {}  # child index -> bytes replacing it and the Voids after it
    for i in tags_at[1:]:
        body = _rebuild_tags(data, layout.children[i], None)
        filled = _fill(TAGS, body, _room(layout, i))
        if filled is None:  # pragma: no cover - removing tags never grows an element
            return None
        edits[i] = filled
    body = (
        _rebuild_tags(data, layout.children[tags_at[0]], extra)
        if tags_at
        else _element(TAG, _element(TARGETS, b"") + extra)
    )
    appended = b""
    if tags_at and (filled := _fill(TAGS, body, _room(layout, tags_at[0]))) is not None:
        edits[tags_at[0]] = filled
    else:
        old = None
        if tags_at:
            edits[tags_at[0]] = _void(_room(layout, tags_at[0]))
            old = layout.children[tags_at[0]].start - layout.segment.body
        appended = _element(TAGS, body)
        new = layout.segment.end - layout.segment.body
        head = _new_seekhead(data, layout, old, new)
        if head is None:
            return None
        edits[head[0]] = head[1]
    out = bytearray()
    if layout.known_size:
        size = layout.segment.end - layout.segment.body + len(appended)
        out += data[: layout.segment.start] + _encode_id(SEGMENT) + _encode_size(size, layout.size_width)
    else:
        out += data[: layout.segment.body]
    pos = layout.segment.body
    for index in sorted(edits):
        child = layout.children[index]
        out += data[pos : child.start] + edits[index]
        pos = child.start + _room(layout, index)
    out += data[pos : layout.segment.end] + appended + data[layout.segment.end :]
    return bytes(out)


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one ``AIGC`` SimpleTag holding the label, clusters untouched (see the
    module docstring); a file whose SeekHead has no room is remuxed by stream copy instead."""
    text = label.to_json()
    try:
        out = _relabel(data, text, path)
    except EBMLError as exc:  # damage in an element only writing looks into (SeekHead, Tag)
        raise _corrupt(str(exc), path) from None
    if out is None:
        from synthmark.video._io import remux_bytes

        _read(data, path)
        out = remux_bytes(data, {KEY: text}, path=path, drop=(KEY,))
    carriers = read_carriers(out, path=path)
    if [c.text for c in carriers] != [text]:
        raise MetadataError(  # pragma: no cover - a bug guard
            "the Matroska AIGC tag did not read back after writing", path=path, fix="report this bug"
        )
    return out
