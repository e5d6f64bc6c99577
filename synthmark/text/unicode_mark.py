"""The invisible Unicode mark of plain text: the 64-bit payload written in variation selectors
after sentence ends, repeated so that any excerpt of a few sentences carries it.

Why variation selectors (VS1-VS256: U+FE00-FE0F and U+E0100-E01EF) rather than zero-width
characters (ZWSP, ZWNJ, ZWJ, WJ):

* 256 of them, so one character carries a byte: a copy is 13 characters (a lead selector and
  12 bytes), where binary zero-width coding needs 96+;
* they are nonspacing marks (bidi class NSM) and default-ignorable: they take the direction of
  the character before them, so they never reorder right-to-left text, and renderers draw
  nothing for a selector that selects no variant. ZWJ and ZWNJ change Arabic and Indic shaping
  and emoji sequences, and ZWSP adds a line-break opportunity;
* NFKC leaves them alone (they have no decomposition) and they are not whitespace, so
  normalising and collapsing whitespace keep them.

Where a copy goes: right after sentence-ending punctuation (``. ! ? … 。 ！ ？ ؟ ۔``, after any
closing quotes or brackets), never inside a word, so searching for words and phrases still
finds them. Each copy starts with a lead selector from the supplementary range (U+E01EF), so
it never forms one of the standardized variation sequences registered for CJK punctuation
(which use VS1/VS2), and it is never placed after an ideograph or an emoji.

Payload coding: version (4 bits) | content id (64) | MAC (28, the key's
:meth:`~synthmark.keys.WatermarkKey.mac`, as in :mod:`synthmark.payload`), XOR-scrambled with a
keyed stream, 12 bytes. Only the key holder can read or make a copy that checks. There is no
error-correcting code: characters are either there or removed, never noisy, and a damaged copy
simply fails its MAC while the other copies are read.

False positives: each distinct candidate copy is one MAC check (probability 2^-28); at most
:data:`MAX_CANDIDATES` (64) are checked per text and key, so the false-positive rate is at most
64 x 2^-28 = 2.4e-7 per text and key, the same bound as the other modalities.

What removes it, honestly: stripping invisible characters (default-ignorable code points, or
"variation selectors" in any sanitiser) removes every copy; so does retyping, OCR, a
translation or a paraphrase, and some rich-text editors and messaging apps that drop
unassigned-looking selectors. NFKC, whitespace changes, excerpts of three or more sentences,
and copying through HTML keep it.

>>> from synthmark.keys import WatermarkKey
>>> key = WatermarkKey(bytes(range(32)))
>>> marked = embed_unicode_mark("One. Two! Three? Four.", key, 0x0123456789ABCDEF)
>>> _strip_marks(marked) == "One. Two! Three? Four."
True
>>> detect_unicode_mark(marked, key).payload_hex
'0123456789abcdef'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from synthmark.errors import WatermarkError
from synthmark.keys import WatermarkKey
from synthmark.payload import ID_BITS, MAC_BITS, VERSION, WatermarkReport

__all__ = [
    "COPY_CHARS",
    "MAX_CANDIDATES",
    "UnicodeMarkReport",
    "detect_unicode_mark",
    "embed_unicode_mark",
]

_VERSION_BITS = 4
_INFO_BYTES = (_VERSION_BITS + ID_BITS + MAC_BITS) // 8  # 12
#: Characters per copy: the lead selector and 12 payload bytes.
COPY_CHARS = 1 + _INFO_BYTES
#: Most distinct candidate copies checked against the MAC per text and key.
MAX_CANDIDATES = 64
#: Where sentence ends are further apart than this (UTF-8 bytes; half as many characters in
#: documents with markup), copies also go at line ends.
MAX_GAP_BYTES = 600
_LEAD = "\U000e01ef"
# byte value -> selector: 0-15 -> VS1-VS16 (U+FE00-FE0F), 16-255 -> VS17-VS256 (U+E0100-E01EF).
_BYTE_CHAR = [chr(0xFE00 + b) if b < 16 else chr(0xE0100 + b - 16) for b in range(256)]
_CHAR_BYTE = {c: b for b, c in enumerate(_BYTE_CHAR)}
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef"
_RUN = re.compile(f"[{_SELECTORS}]{{{COPY_CHARS},}}")
_ANY = re.compile(f"[{_SELECTORS}]+")
# A copy as written: the literal lead lets the regex engine skip ahead with a fast search.
_COPY = re.compile(f"{_LEAD}[{_SELECTORS}]{{{_INFO_BYTES}}}")
_LINE_END = re.compile(r"(?<=[^\s\ufe00-\ufe0f\U000e0100-\U000e01ef])(?=\r?\n|$)")

# Sentence ends, found on the UTF-8 bytes with numpy (a regex over the str runs at ~90 MB/s).
# Latin/Arabic ends (. ! ? … ؟ ۔) count when followed, after any closing quotes or brackets, by
# whitespace or the end of the text; CJK full stops (。！？) always count (no space follows).
_LATIN_ENDS = (b".", b"!", b"?", "…".encode(), "؟".encode(), "۔".encode())
_CJK_ENDS = ("。".encode(), "！".encode(), "？".encode())
_CLOSERS = tuple(c.encode() for c in "\"')]”’»」』）》")
_CLOSER_LEAD = np.zeros(256, dtype=bool)
_CLOSER_LEAD[[c[0] for c in _CLOSERS]] = True
_CLOSER2 = int.from_bytes("»".encode(), "big")
_CLOSER3 = np.array([int.from_bytes(c, "big") for c in _CLOSERS if len(c) == 3])
_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(b" \t\n\r\f\v")] = True


_LAST_BYTE = np.zeros(256, dtype=bool)
_LAST_BYTE[[t[-1] for t in (*_LATIN_ENDS, *_CJK_ENDS)]] = True


def _ends_of(buf: np.ndarray, hits: np.ndarray, token: bytes) -> np.ndarray:
    """Byte offsets just after each occurrence of the 1-3 byte sequence ``token``, among the
    candidate offsets ``hits`` of last bytes."""
    n = len(token)
    hits = hits[(buf[hits] == token[-1]) & (hits >= n - 1)]
    for back in range(1, n):
        hits = hits[buf[hits - back] == token[-1 - back]]
    return hits + 1


def _skip_closers(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``pos`` moved past up to two closing quotes or brackets (``."'`` or ``。」）``)."""
    padded = np.concatenate([buf, np.zeros(3, np.uint8)])
    for _ in range(2):
        at = np.minimum(pos, len(buf))
        b0, b1, b2 = (padded[at + i].astype(np.int64) for i in range(3))
        step = np.where(_CLOSER_LEAD[b0] & (b0 < 0x80), 1, 0)
        step[(b0 << 8 | b1) == _CLOSER2] = 2
        step[np.isin(b0 << 16 | b1 << 8 | b2, _CLOSER3)] = 3
        step[pos >= len(buf)] = 0
        if not step.any():
            break
        pos = pos + step
    return pos


def _sentence_ends(data: bytes) -> np.ndarray:
    """Sorted byte offsets of the sentence ends of UTF-8 ``data`` (where a copy goes)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    hits = np.flatnonzero(_LAST_BYTE[buf])
    latin = _skip_closers(buf, np.concatenate([_ends_of(buf, hits, t) for t in _LATIN_ENDS]))
    at_end = latin >= len(buf)
    latin = latin[at_end | _SPACE[buf[np.minimum(latin, len(buf) - 1)]]]
    cjk = _skip_closers(buf, np.concatenate([_ends_of(buf, hits, t) for t in _CJK_ENDS]))
    return np.sort(np.concatenate([latin, cjk]))


def _char_offsets(text: str, data: bytes, byte_pos: np.ndarray) -> np.ndarray:
    """Character offsets of sorted byte offsets into ``data`` = ``text.encode()``: each byte
    offset less the UTF-8 continuation bytes before it."""
    if len(data) == len(text) or not len(byte_pos):  # ASCII
        return byte_pos
    continuation = ((np.frombuffer(data, dtype=np.uint8) & 0xC0) == 0x80).view(np.uint8)
    bounds = np.concatenate([[0], byte_pos[byte_pos < len(data)]])
    per_segment = np.add.reduceat(continuation, bounds, dtype=np.int64)[:-1]
    before = np.concatenate([np.cumsum(per_segment), np.full((byte_pos >= len(data)).sum(), -1)])
    before[before < 0] = len(data) - len(text)
    return np.asarray(byte_pos - before)


def _line_ends(text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    return np.array([m.start() for lo, hi in spans for m in _LINE_END.finditer(text, lo, hi)], dtype=np.int64)


def _line_ends_bytes(buf: np.ndarray) -> np.ndarray:
    """Byte offsets of the ends of non-blank lines (before CR LF / LF, and the end of the text)."""
    ends = np.append(np.flatnonzero(buf == 10), len(buf))
    ends = ends - ((ends > 0) & (buf[np.maximum(ends - 1, 0)] == 13))
    last = buf[np.maximum(ends - 1, 0)]
    return np.asarray(ends[(ends > 0) & ~_SPACE[last]])


def _fill_gaps(chosen: np.ndarray, candidates: np.ndarray, size: int, gap: int) -> np.ndarray:
    """``chosen`` plus line ends wherever two copies (or a copy and an end of the text) are more
    than ``gap`` apart: lists, tables and verse have few sentence ends."""
    bounds = np.concatenate([[0], chosen, [size]]).astype(np.int64)
    extra: list[int] = []
    for i in np.flatnonzero(np.diff(bounds) > gap).tolist():
        lo, hi = int(bounds[i]), int(bounds[i + 1])
        last = lo
        inside = candidates[np.searchsorted(candidates, lo, "right") : np.searchsorted(candidates, hi, "left")]
        for pos in inside.tolist():
            if pos - last >= gap // 2:
                extra.append(pos)
                last = pos
    return np.sort(np.concatenate([chosen, np.array(extra, dtype=np.int64)])) if extra else chosen


def _scramble(key: WatermarkKey) -> np.ndarray:
    return key.rng("text", "unicode-mark", "scramble").integers(0, 256, _INFO_BYTES, dtype=np.uint8)


def _copy(key: WatermarkKey, cid: int) -> str:
    if not 0 <= cid < 1 << ID_BITS:
        raise WatermarkError(f"content id must be in [0, 2**64), got {cid}", fix="pass a 64-bit content id")
    mac = key.mac(bytes([VERSION]) + cid.to_bytes(8, "big"), MAC_BITS)
    info = (VERSION << (ID_BITS + MAC_BITS)) | (cid << MAC_BITS) | mac
    raw = np.frombuffer(info.to_bytes(_INFO_BYTES, "big"), dtype=np.uint8) ^ _scramble(key)
    return _LEAD + "".join(_BYTE_CHAR[b] for b in raw.tolist())


def _read_copy(chars: str, key: WatermarkKey, scramble: np.ndarray) -> int | None:
    raw = np.array([_CHAR_BYTE[c] for c in chars[1:COPY_CHARS]], dtype=np.uint8) ^ scramble
    info = int.from_bytes(raw.tobytes(), "big")
    version = info >> (ID_BITS + MAC_BITS)
    cid = (info >> MAC_BITS) & ((1 << ID_BITS) - 1)
    mac = info & ((1 << MAC_BITS) - 1)
    if version == VERSION and key.mac(bytes([version]) + cid.to_bytes(8, "big"), MAC_BITS) == mac:
        return cid
    return None


def _strip_marks(text: str) -> str:
    """``text`` without any variation-selector run of a copy's length or longer: used inside
    synthmark to compare visible characters and to replace its own earlier copies. Private on
    purpose: synthmark offers no tool that strips labels (art. 10 of the Measures)."""
    return _RUN.sub("", text) if _LEAD in text else text


def embed_unicode_mark(
    text: str,
    key: WatermarkKey,
    content_id: int,
    *,
    every: int = 2,
    allowed: Sequence[tuple[int, int]] | None = None,
) -> str:
    """``text`` with a copy of the payload after every ``every``-th sentence end (the first
    included), at the ends of lines where sentence ends are more than :data:`MAX_GAP_BYTES`
    apart (lists, tables, verse), or at the end when it has neither.

    ``every`` = 2 (default) puts a complete copy in every two consecutive sentences, so any
    excerpt of three whole sentences carries one; 1 doubles the density. ``allowed`` limits
    the copies to these ``(start, end)`` character spans (prose outside code and markup).
    Marks made with the same ``key`` are replaced, so re-marking never accumulates copies; a
    text carrying marks that do not read with ``key`` (another producer's) is refused, never
    overwritten. The visible characters are unchanged. Raises :class:`WatermarkError` for a
    text with nowhere to put a copy or with a foreign mark.
    """
    if every < 1:
        raise WatermarkError(f"every must be >= 1, got {every}", fix="pass every=1 or more")
    if _LEAD in text:
        if allowed is not None or not detect_unicode_mark(text, key).found:
            raise WatermarkError(
                "the text already carries an invisible mark this key does not read (another producer's)",
                fix="label it without the watermark (synthmark never replaces another producer's mark)",
            )
        text = _strip_marks(text)
    copy = _copy(key, content_id)
    data = text.encode("utf-8", "surrogatepass")
    ends = _sentence_ends(data)
    if allowed is None and len(ends):
        # Insert into the bytes and decode once: cheaper than mapping to character offsets.
        buf = np.frombuffer(data, dtype=np.uint8)
        cuts = _fill_gaps(ends[::every], _line_ends_bytes(buf), len(data), MAX_GAP_BYTES).tolist()
        parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        return copy.encode("utf-8").join(parts).decode("utf-8", "surrogatepass")
    spans = [(0, len(text))] if allowed is None else list(allowed)
    positions = _char_offsets(text, data, ends)
    if len(positions) and allowed is not None:
        lows = np.array([lo for lo, _ in spans])
        highs = np.array([hi for _, hi in spans])
        which = np.searchsorted(lows, positions, side="right") - 1
        keep = (which >= 0) & (positions <= highs[np.maximum(which, 0)])
        positions = positions[keep]
    lines = _line_ends(text, spans)
    chosen: list[int] = (
        _fill_gaps(positions[::every], lines, len(text), MAX_GAP_BYTES // 2).tolist()
        if len(positions)
        else lines.tolist()
    )
    if not chosen:
        ends_of_spans = [hi for lo, hi in spans if text[lo:hi].strip()]
        if not ends_of_spans:
            raise WatermarkError("the text is empty or blank", fix="mark text with at least one visible character")
        last_lo = max(lo for lo, hi in spans if text[lo:hi].strip())
        chosen = [last_lo + len(text[last_lo : max(ends_of_spans)].rstrip())]
    return copy.join([text[a:b] for a, b in zip([0, *chosen], [*chosen, len(text)], strict=True)])


@dataclass(frozen=True)
class UnicodeMarkReport(WatermarkReport):
    """:class:`~synthmark.payload.WatermarkReport` of the Unicode mark; ``details`` has
    ``copies`` (copies that checked) and ``candidates`` (copy-length selector runs seen)."""

    def _geometry(self) -> dict[str, object]:
        return {"layer": "unicode", "copies": self.details.get("copies", 0)}


def _candidates(text: str) -> Counter[str]:
    return Counter(_COPY.findall(text)) if _LEAD in text else Counter()


def detect_unicode_mark(text: str, keys: WatermarkKey | Sequence[WatermarkKey]) -> UnicodeMarkReport:
    """Look for the Unicode mark of any of ``keys`` in ``text``; no original needed.

    ``found`` only when a copy's MAC checks (false-positive rate <= 2.4e-7 per text and key).
    The most frequent distinct candidates are checked first, at most :data:`MAX_CANDIDATES`
    per key.
    """
    key_list = [keys] if isinstance(keys, WatermarkKey) else list(keys)
    candidates = _candidates(text)
    ranked = [run for run, _ in candidates.most_common(MAX_CANDIDATES)]
    attempts = 0
    for key in key_list:
        scramble = _scramble(key)
        for run in ranked:
            attempts += 1
            cid = _read_copy(run, key, scramble)
            if cid is not None:
                copies = sum(n for r, n in candidates.items() if _read_copy(r, key, scramble) == cid)
                return UnicodeMarkReport(
                    True,
                    key.key_id,
                    cid,
                    p_value=MAX_CANDIDATES * 2.0**-MAC_BITS,
                    raw_id=cid,
                    attempts=attempts,
                    details={"copies": copies, "candidates": sum(candidates.values())},
                )
    raw = _best_guess(ranked[0], key_list[0]) if ranked and key_list else None
    return UnicodeMarkReport(False, attempts=attempts, raw_id=raw, details={"candidates": sum(candidates.values())})


def _best_guess(run: str, key: WatermarkKey) -> int:
    raw = np.array([_CHAR_BYTE[c] for c in run[1:COPY_CHARS]], dtype=np.uint8) ^ _scramble(key)
    return (int.from_bytes(raw.tobytes(), "big") >> MAC_BITS) & ((1 << ID_BITS) - 1)


def count_selectors(text: str) -> int:
    """How many variation selectors ``text`` holds (any, including emoji presentation ones)."""
    return sum(len(m.group(0)) for m in _ANY.finditer(text))
