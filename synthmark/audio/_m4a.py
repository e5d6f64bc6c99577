"""MP4/M4A container (ISO BMFF and QuickTime): the AIGC label as QuickTime metadata.

Written in the form ffmpeg writes with ``-movflags use_metadata_tags``: a ``moov/udta/meta`` box
whose handler is ``mdta``, a ``keys`` box naming the key ``AIGC`` (namespace ``mdta``) and an
``ilst`` item numbered after that key holding a ``data`` box of well-known type 1 (UTF-8) with
the bare JSON. Read as well: the iTunes-style freeform atom ``----:com.apple.iTunes:AIGC`` that
mutagen and other taggers write (carrier ``"mp4-freeform"``), and ``mdta`` metadata directly in
``moov`` (Apple's place for it).

The box surgery is done here, with bounds checks on every size:

* only ``moov`` is rebuilt; every other top-level box (``ftyp``, ``mdat``, ``moof``...) is copied
  byte for byte, so the coded audio never changes;
* a ``udta/meta`` with the iTunes handler (``mdir``) is left where it is and the ``mdta`` meta
  box goes after it, so iTunes-style readers (mutagen, Apple) still find their tags first while
  ffmpeg reads both; an ``mdta`` meta already there is updated in place, keeping its other keys;
* when ``moov`` changes size, a ``free`` box right after it absorbs the difference if it can
  (and a shrinking ``moov`` leaves a ``free`` box behind); otherwise every absolute offset that
  points past ``moov`` moves by the difference: ``stco``/``co64`` chunk offsets ("fast start"
  files with sample data after ``moov``), and in fragmented files the ``tfhd`` base data
  offsets and the ``mfra/tfra`` moof offsets.

Exactly one label: an existing ``AIGC`` key is replaced (duplicates dropped), and an existing
freeform ``AIGC`` atom is rewritten to the same label so that no carrier contradicts the new one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, MetadataError
from synthmark.metadata import Carrier

__all__ = ["KEY", "Node", "check", "parse_moov", "read_carriers", "track_handlers", "write_label"]

#: The metadata key (namespace ``mdta``) and freeform name that carry the label.
KEY = b"AIGC"
#: Most boxes in one container and deepest nesting followed; real files are far below both.
MAX_BOXES = 100_000
MAX_DEPTH = 32
_CONTAINERS = frozenset(
    {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"udta", b"edts", b"dinf", b"mvex", b"ilst", b"tref", b"----"}
)
# First child types that tell a QuickTime meta box (no version/flags) from an ISO one.
_QT_META_CHILDREN = frozenset({b"hdlr", b"keys", b"ilst", b"free", b"mhdr"})
_HDLR_MDTA = bytes(8) + b"mdta" + bytes(12) + b"\0"  # as ffmpeg writes it
_UTF8 = 1
_UTF16 = 2


@dataclass
class Node:
    """One box of ``moov``'s tree: ``prefix`` is the payload before the children (a meta box's
    version and flags), or the whole payload of a leaf; ``tail`` holds bytes after the last
    child that form no box (QuickTime's 32-bit zero terminator)."""

    type: bytes
    prefix: bytes = b""
    children: list[Node] | None = None
    tail: bytes = b""
    large: bool = False

    def encode(self) -> bytes:
        body = self.prefix
        if self.children is not None:
            body += b"".join(child.encode() for child in self.children) + self.tail
        size = 8 + len(body)
        if self.large or size > 0xFFFFFFFF:
            return struct.pack(">I4sQ", 1, self.type, size + 8) + body
        return struct.pack(">I4s", size, self.type) + body

    def find(self, kind: bytes) -> Node | None:
        return next((c for c in self.children or () if c.type == kind), None)

    def all(self, kind: bytes) -> list[Node]:
        return [c for c in self.children or () if c.type == kind]

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children or ():
            yield from child.walk()


@dataclass(frozen=True)
class _Span:
    type: bytes
    start: int
    header: int
    end: int

    @property
    def body(self) -> int:
        return self.start + self.header

    @property
    def large(self) -> bool:
        return self.header == 16


def _corrupt(what: str, path: str | None) -> CorruptFileError:
    return CorruptFileError(f"MP4 {what}", path=path, fix="re-export or remux the file from its source")


def _name(kind: bytes) -> str:
    return kind.decode("latin-1").encode("unicode_escape").decode("ascii")


def _spans(data: bytes, start: int, end: int, path: str | None, where: str) -> tuple[list[_Span], int]:
    """The boxes in ``data[start:end]`` and where the last one ends."""
    spans: list[_Span] = []
    pos = start
    while end - pos >= 8:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise _corrupt(f"box '{_name(kind)}' at byte {pos}{where} is truncated", path)
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:  # extends to the end of its container
            size = end - pos
        if size < header or pos + size > end:
            raise _corrupt(f"box '{_name(kind)}' at byte {pos}{where} runs past its container (truncated?)", path)
        spans.append(_Span(kind, pos, header, pos + size))
        if len(spans) > MAX_BOXES:
            raise _corrupt(f"has more than {MAX_BOXES} boxes in one container", path)
        pos += size
    if any(data[pos:end]):
        raise _corrupt(f"has {end - pos} stray bytes at byte {pos}{where}", path)
    return spans, pos


def _meta_skip(data: bytes, span: _Span) -> int:
    """4 for an ISO meta box (version and flags first), 0 for a QuickTime one."""
    return 0 if data[span.body + 4 : span.body + 8] in _QT_META_CHILDREN else 4


def _node(data: bytes, span: _Span, depth: int, path: str | None, *, item: bool = False) -> Node:
    if depth > MAX_DEPTH:
        raise _corrupt(f"nests boxes deeper than {MAX_DEPTH} levels", path)
    if span.type == b"meta":
        skip = _meta_skip(data, span)
    elif span.type in _CONTAINERS or item:
        skip = 0
    else:
        return Node(span.type, data[span.body : span.end], large=span.large)
    if span.end - span.body < skip:
        raise _corrupt(f"meta box at byte {span.start} is too short", path)
    where = f" inside '{_name(span.type)}'"
    try:
        spans, stop = _spans(data, span.body + skip, span.end, path, where)
    except CorruptFileError:
        if item:  # an ilst item that is not made of boxes: kept as it is, read as nothing
            return Node(span.type, data[span.body : span.end], large=span.large)
        raise
    is_ilst = span.type == b"ilst"
    children = [_node(data, s, depth + 1, path, item=is_ilst) for s in spans]
    return Node(span.type, data[span.body : span.body + skip], children, data[stop : span.end], span.large)


@dataclass
class _File:
    top: list[_Span]
    moov_index: int
    moov: Node = field(repr=False)


def _parse(data: bytes, path: str | None) -> _File:
    if len(data) < 8:
        raise _corrupt("is too short to hold a box", path)
    top, _ = _spans(data, 0, len(data), path, "")
    moovs = [i for i, s in enumerate(top) if s.type == b"moov"]
    if not moovs:
        raise _corrupt("has no moov box (not an MP4/QuickTime file, or truncated)", path)
    if len(moovs) > 1:
        raise _corrupt(f"has {len(moovs)} moov boxes, where one is allowed", path)
    moov = _node(data, top[moovs[0]], 0, path)
    return _File(top, moovs[0], moov)


def parse_moov(data: bytes, *, path: str | None = None) -> Node:
    """The ``moov`` box's tree; raises :class:`CorruptFileError` for malformed input."""
    return _parse(data, path).moov


def track_handlers(data: bytes, *, path: str | None = None) -> list[bytes]:
    """The handler type of every track (``b"soun"``, ``b"vide"``...), in file order."""
    handlers = []
    for trak in parse_moov(data, path=path).all(b"trak"):
        mdia = trak.find(b"mdia")
        hdlr = mdia.find(b"hdlr") if mdia else None
        handlers.append(hdlr.prefix[8:12] if hdlr is not None else b"")
    return handlers


def _handler(meta: Node) -> bytes:
    hdlr = meta.find(b"hdlr")
    return hdlr.prefix[8:12] if hdlr is not None else b""


def _metas(moov: Node) -> list[Node]:
    """Metadata boxes at movie level: ``moov/udta/meta`` first, then ``moov/meta``."""
    udta = moov.find(b"udta")
    return (udta.all(b"meta") if udta else []) + moov.all(b"meta")


def _keys(node: Node | None, path: str | None) -> list[tuple[bytes, bytes]]:
    """(namespace, name) of each entry of a ``keys`` box, index 1 first."""
    if node is None:
        return []
    payload = node.prefix
    if len(payload) < 8:
        raise _corrupt("keys box is too short", path)
    (count,) = struct.unpack_from(">I", payload, 4)
    keys: list[tuple[bytes, bytes]] = []
    pos = 8
    for _ in range(count):
        if pos + 8 > len(payload):
            raise _corrupt(f"keys box declares {count} keys but holds {len(keys)}", path)
        size, namespace = struct.unpack_from(">I4s", payload, pos)
        if size < 8 or pos + size > len(payload):
            raise _corrupt(f"key {len(keys) + 1} runs past its keys box", path)
        keys.append((namespace, payload[pos + 8 : pos + size]))
        pos += size
    return keys


def _keys_box(keys: list[tuple[bytes, bytes]]) -> Node:
    entries = b"".join(struct.pack(">I4s", 8 + len(name), ns) + name for ns, name in keys)
    return Node(b"keys", bytes(4) + struct.pack(">I", len(keys)) + entries)


def _is_label_key(key: tuple[bytes, bytes]) -> bool:
    return key[0] == b"mdta" and key[1] == KEY


def _index(item: Node) -> int:
    return int(struct.unpack(">I", item.type)[0])


def _value(item: Node) -> tuple[str, str | None] | None:
    """(text, problem) of an ilst item's value; None when it holds no data box."""
    values = item.all(b"data")
    if not values:
        return None
    payload = values[0].prefix
    if len(payload) < 8:
        return "", "data box is too short"
    kind = int.from_bytes(payload[1:4], "big")
    raw = payload[8:]
    problem = None if len(values) == 1 else f"AIGC item holds {len(values)} values, not one"
    if kind == _UTF16:
        return raw.decode("utf-16-be", errors="replace"), problem or "AIGC value is UTF-16, not UTF-8 (type 1)"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), "AIGC value is not valid UTF-8"
    if kind != _UTF8:
        problem = problem or f"AIGC value has type {kind}, not UTF-8 (1)"
    return text, problem


def _freeform_name(item: Node) -> bytes | None:
    name = item.find(b"name")
    return None if name is None else name.prefix[4:]


def _carriers(moov: Node, path: str | None) -> list[Carrier]:
    carriers = []
    for meta in _metas(moov):
        ilst = meta.find(b"ilst")
        if ilst is None:
            continue
        if _handler(meta) == b"mdta":
            keys = _keys(meta.find(b"keys"), path)
            for item in ilst.children or ():
                index = _index(item)
                if 1 <= index <= len(keys) and _is_label_key(keys[index - 1]):
                    value = _value(item)
                    if value is not None:
                        carriers.append(Carrier("mp4-keys", *value))
        else:
            for item in ilst.all(b"----"):
                if _freeform_name(item) == KEY:
                    value = _value(item)
                    if value is not None:
                        carriers.append(Carrier("mp4-freeform", *value))
    return carriers


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the box structure (and any ``keys`` box) is sound."""
    _carriers(_parse(data, path).moov, path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """The ``mdta`` key ``AIGC`` (``"mp4-keys"``) and ``----:...:AIGC`` atoms (``"mp4-freeform"``)."""
    return _carriers(_parse(data, path).moov, path)


def _data_box(text: str) -> Node:
    return Node(b"data", struct.pack(">II", _UTF8, 0) + text.encode("utf-8"))


def _set_keys_label(meta: Node, text: str, path: str | None) -> None:
    """Make ``meta`` (handler mdta) hold exactly one ``AIGC`` key with value ``text``."""
    children = meta.children if meta.children is not None else []
    keys_node, ilst = meta.find(b"keys"), meta.find(b"ilst")
    keys = _keys(keys_node, path)
    kept: list[tuple[bytes, bytes]] = []
    renumber: dict[int, int] = {}
    for index, key in enumerate(keys, 1):
        if not _is_label_key(key):
            kept.append(key)
            renumber[index] = len(kept)
    kept.append((b"mdta", KEY))
    items = []
    for item in ilst.children or () if ilst is not None else ():
        # Items of the old label key go; so do items naming no key, whose number could clash.
        if _index(item) in renumber:
            item.type = struct.pack(">I", renumber[_index(item)])
            items.append(item)
    items.append(Node(struct.pack(">I", len(kept)), children=[_data_box(text)]))
    new_keys = _keys_box(kept)
    if keys_node is None:
        at = next((i + 1 for i, c in enumerate(children) if c.type == b"hdlr"), 0)
        children.insert(at, new_keys)
    else:
        keys_node.prefix = new_keys.prefix
    if ilst is None:
        at = next(i + 1 for i, c in enumerate(children) if c.type == b"keys")
        children.insert(at, Node(b"ilst", children=items))
    else:
        ilst.children = items
    meta.children = children


def _set_freeform_label(ilst: Node, text: str) -> None:
    """Rewrite the first ``----:...:AIGC`` atom to ``text`` and drop further copies."""
    seen = False
    kept = []
    for item in ilst.children or ():
        if item.type == b"----" and _freeform_name(item) == KEY:
            if seen:
                continue
            seen = True
            item.children = [c for c in item.children or () if c.type != b"data"] + [_data_box(text)]
        kept.append(item)
    ilst.children = kept


def _relabel(moov: Node, text: str, path: str | None) -> None:
    udta = moov.find(b"udta")
    if udta is None:
        udta = Node(b"udta", children=[])
        moov.children = [*(moov.children or []), udta]
    metas = _metas(moov)
    keyed = [m for m in metas if _handler(m) == b"mdta"]
    primary = next((m for m in udta.all(b"meta") if _handler(m) == b"mdta"), None)
    if primary is None:
        primary = Node(b"meta", bytes(4), [Node(b"hdlr", _HDLR_MDTA)])
        udta.children = [*(udta.children or []), primary]
        keyed.append(primary)
    for meta in keyed:
        if meta is primary or any(_is_label_key(k) for k in _keys(meta.find(b"keys"), path)):
            _set_keys_label(meta, text, path)
    for meta in metas:
        ilst = meta.find(b"ilst")
        if _handler(meta) != b"mdta" and ilst is not None:
            _set_freeform_label(ilst, text)


def _chunk_offset_boxes(moov: Node) -> list[Node]:
    return [n for n in moov.walk() if n.type in (b"stco", b"co64")]


def _shift_offsets(moov: Node, after: int, delta: int, path: str | None) -> None:
    """Move every chunk offset at or past ``after`` by ``delta`` bytes."""
    for box in _chunk_offset_boxes(moov):
        wide = box.type == b"co64"
        offsets = [offset + delta if offset >= after else offset for offset in _offsets(box, path)]
        if not wide and offsets and max(offsets) > 0xFFFFFFFF:
            raise MetadataError(
                "a chunk offset would overflow its 32-bit stco field",
                path=path,
                fix="remux the file with the moov box after the media data",
            )
        packed = struct.pack(f">{len(offsets)}{'Q' if wide else 'I'}", *offsets)
        box.prefix = box.prefix[:8] + packed + box.prefix[8 + len(packed) :]


def _fragment_offsets(data: bytes, top: list[_Span], path: str | None) -> list[tuple[int, str]]:
    """Where movie fragments hold absolute file offsets: (file position, struct format) of each
    ``tfhd`` base data offset and each ``mfra/tfra`` moof offset."""
    fields: list[tuple[int, str]] = []
    for span in top:
        if span.type not in (b"moof", b"mfra"):
            continue
        for outer in _spans(data, span.body, span.end, path, f" inside '{_name(span.type)}'")[0]:
            if outer.type == b"traf":
                for inner in _spans(data, outer.body, outer.end, path, " inside 'traf'")[0]:
                    # tfhd: version/flags, track_ID, then base_data_offset when flag 0x000001 is set
                    if inner.type == b"tfhd" and inner.end - inner.body >= 16 and data[inner.body + 3] & 0x01:
                        fields.append((inner.body + 8, ">Q"))
            elif outer.type == b"tfra":
                fields += _tfra_offsets(data, outer, path)
    return fields


def _tfra_offsets(data: bytes, tfra: _Span, path: str | None) -> list[tuple[int, str]]:
    if tfra.end - tfra.body < 12:
        raise _corrupt("tfra box is too short", path)
    version = data[tfra.body]
    sizes = data[tfra.body + 11]
    count = int(struct.unpack_from(">I", data, tfra.body + 12)[0]) if tfra.end - tfra.body >= 16 else 0
    wide = 8 if version == 1 else 4
    entry = 2 * wide + ((sizes >> 4) & 3) + ((sizes >> 2) & 3) + (sizes & 3) + 3
    pos = tfra.body + 16
    if pos + count * entry > tfra.end:
        raise _corrupt("tfra box declares more entries than it holds", path)
    return [(pos + i * entry + wide, ">Q" if wide == 8 else ">I") for i in range(count)]


def _free(size: int) -> bytes:
    return struct.pack(">I4s", size, b"free") + bytes(size - 8)


def _assemble(data: bytes, parsed: _File, path: str | None) -> bytes:
    old = parsed.top[parsed.moov_index]
    new = parsed.moov.encode()
    delta = len(new) - (old.end - old.start)
    head, rest = data[: old.start], data[old.end :]
    if delta == 0 or not rest:
        return head + new + rest
    following = parsed.top[parsed.moov_index + 1] if parsed.moov_index + 1 < len(parsed.top) else None
    if following is not None and following.type in (b"free", b"skip") and not following.large:
        room = following.end - following.start - delta
        if room == 0:
            return head + new + data[following.end :]
        if room >= 8:
            return head + new + _free(room) + data[following.end :]
    if delta <= -8:
        return head + new + _free(-delta) + rest
    # The moov grows (or shrinks by under 8 bytes) with boxes after it: every absolute offset
    # that points past it moves by the same amount (chunk offsets in moov, fragment offsets after).
    _shift_offsets(parsed.moov, old.end, delta, path)
    moved = bytearray(rest)
    for position, fmt in _fragment_offsets(data, parsed.top[parsed.moov_index + 1 :], path):
        (offset,) = struct.unpack_from(fmt, data, position)
        if offset >= old.end:
            if offset + delta > (0xFFFFFFFF if fmt == ">I" else 0xFFFFFFFFFFFFFFFF):
                raise MetadataError(
                    "a fragment offset would overflow its 32-bit field",
                    path=path,
                    fix="remux the file with free space after the moov box",
                )
            struct.pack_into(fmt, moved, position - old.end, offset + delta)
    return head + parsed.moov.encode() + bytes(moved)


def _offsets(box: Node, path: str | None) -> list[int]:
    wide = box.type == b"co64"
    if len(box.prefix) < 8:
        raise _corrupt(f"{box.type.decode()} box is too short", path)
    (count,) = struct.unpack_from(">I", box.prefix, 4)
    step = 8 if wide else 4
    if 8 + count * step > len(box.prefix):
        raise _corrupt(f"{box.type.decode()} box declares more offsets than it holds", path)
    return list(struct.unpack_from(f">{count}{'Q' if wide else 'I'}", box.prefix, 8))


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with the label as the ``mdta`` key ``AIGC`` in ``moov/udta/meta``.

    Other keys and tags are kept, any freeform ``AIGC`` atom is rewritten to the same label, and
    every box outside ``moov`` is copied unchanged (see the module docstring for the offsets).
    """
    parsed = _parse(data, path)
    text = label.to_json()
    _relabel(parsed.moov, text, path)
    out = _assemble(data, parsed, path)
    carriers = read_carriers(out, path=path)
    if not carriers or any(c.text != text for c in carriers) or sum(c.name == "mp4-keys" for c in carriers) < 1:
        raise MetadataError(  # pragma: no cover - a bug guard
            "the MP4 AIGC key did not read back after writing", path=path, fix="report this bug"
        )
    return out
