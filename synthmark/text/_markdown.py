"""Markdown: the AIGC label in the YAML front matter (TC260 text guide), the explicit label as a
paragraph after the front matter (never inside a code block), the Unicode mark in the prose.

The front matter is edited as text, not re-serialised: every other key keeps its exact bytes.
The label is written as a block mapping with the seven fields as double-quoted scalars::

    ---
    title: My post
    AIGC:
      Label: "1"
      ContentProducer: "001191110102MACQD9K64010000"
      ...
    ---

Readers accept that, a flow mapping (``AIGC: {"Label": "1", ...}``, the JSON form) and a
quoted JSON string (``AIGC: '{"Label":"1",...}'``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from synthmark.aigc import AIGCLabel
from synthmark.metadata import Carrier
from synthmark.payload import Mark
from synthmark.text._common import decode_text, encode_text, mark_spans, style_of, unmarked
from synthmark.text.explicit import (
    Block,
    has_label,
    insert_paragraph,
    label_text,
    mark_edges,
    newline_of,
    paragraph_boundary,
    text_blocks,
)

CARRIES_METADATA = True

_FRONT = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(?P<body>(?:.*\r?\n)*?)(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)")
_AIGC_KEY = re.compile(r"AIGC[ \t]*:(?P<rest>.*)$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)[^`\n](?:.*?[^`\n])??\1|`[^`\n]*`")
_INDENTED = re.compile(r"^(?: {4}|\t).*$", re.MULTILINE)
# Comments and raw HTML are not shown by a Markdown renderer: never a visible label.
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


@dataclass(frozen=True)
class _Layout:
    """Where the parts of a Markdown document are (character offsets)."""

    body_start: int  # after the front matter (0 without one)
    front: tuple[int, int] | None  # the front matter's YAML lines
    code: list[tuple[int, int]]  # fenced code blocks
    open_fence: str | None  # the fence left open at the end of the document, if any


def _layout(text: str) -> _Layout:
    front = _FRONT.match(text)
    start = front.end() if front else 0
    code: list[tuple[int, int]] = []
    fence: str | None = None
    opened = 0
    pos = start
    for line in text[start:].splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence is None and match:
            fence, opened = match.group(1), pos
        elif (
            fence is not None
            and match
            and match.group(1)[0] == fence[0]
            and len(match.group(1)) >= len(fence)
            and not line.strip().strip(fence[0])
        ):
            code.append((opened, pos + len(line)))
            fence = None
        pos += len(line)
    if fence is not None:
        code.append((opened, len(text)))
    return _Layout(start, front.span("body") if front else None, code, fence)


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(lo <= pos < hi for lo, hi in spans)


def _prose(text: str, layout: _Layout) -> list[tuple[int, int]]:
    """The spans the Unicode mark may go into: the body outside code (fenced, indented, inline)."""
    blocked = sorted(
        layout.code
        + [m.span() for m in _INLINE_CODE.finditer(text, layout.body_start)]
        + [m.span() for m in _INDENTED.finditer(text, layout.body_start)]
    )
    spans, pos = [], layout.body_start
    for lo, hi in blocked:
        if lo > pos:
            spans.append((pos, lo))
        pos = max(pos, hi)
    if pos < len(text):
        spans.append((pos, len(text)))
    return spans


def check(data: bytes, *, path: str | None = None) -> None:
    decode_text(data, path)


def _blocks(text: str) -> list[Block]:
    """The body's paragraphs in order (front matter left out; fenced and indented code as
    ``"inert"``; HTML comments removed), the first and the last prose paragraph marked as the
    edges."""
    layout = _layout(text)
    blocks: list[Block] = []
    pos = layout.body_start
    for lo, hi in [*layout.code, (len(text), len(text))]:
        for block in text_blocks(_COMMENT.sub(" ", text[pos:lo])):
            lines = [line for line in block.text.splitlines() if line.strip()]
            indented = all(_INDENTED.fullmatch(line) for line in lines)
            blocks.append(Block(block.text, "inert") if indented else block)
        if hi > lo:
            blocks.append(Block(text[lo:hi], "inert"))
        pos = max(pos, hi)
    return mark_edges(blocks)


def explicit_blocks(data: bytes, *, path: str | None = None) -> list[Block]:
    return _blocks(decode_text(data, path))


def supports_explicit(data: bytes, *, path: str | None = None) -> bool:
    return True


def text_of(data: bytes, *, path: str | None = None) -> str:
    return decode_text(data, path)


# -- the front matter --------------------------------------------------------------------------


def _scalar(value: str) -> str:
    """A YAML scalar as text: double-quoted (JSON escapes), single-quoted, or plain."""
    value = value.strip()
    if value.startswith('"'):
        try:
            decoded = json.loads(value)
            return decoded if isinstance(decoded, str) else value
        except (ValueError, RecursionError):
            return value.strip('"')
    if value.startswith("'") and value.endswith("'") and len(value) >= 2:
        return value[1:-1].replace("''", "'")
    return re.sub(r"\s+#.*$", "", value)


def _flow(value: str) -> str:
    """A flow mapping ``{Label: "1", ...}`` (JSON or YAML keys) as JSON text."""
    try:
        json.loads(value)
        return value
    except RecursionError:  # hostile nesting: parse_label reports it as a problem of the value
        return value
    except ValueError:
        pass
    pairs = re.findall(r"""\s*([^:,{}\s]+|"[^"]*"|'[^']*')\s*:\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,}]*)""", value)
    return json.dumps({_scalar(k): _scalar(v) for k, v in pairs}, ensure_ascii=False)


def _entries(body: str) -> list[tuple[int, int, str]]:
    """Each top-level ``AIGC:`` entry of the front matter: (start, end) in ``body`` and its
    value as label text (JSON)."""
    lines = body.splitlines(keepends=True)
    found: list[tuple[int, int, str]] = []
    pos = 0
    i = 0
    while i < len(lines):
        match = _AIGC_KEY.match(lines[i].rstrip("\r\n"))
        if not match:
            pos += len(lines[i])
            i += 1
            continue
        start, rest = pos, match.group("rest").strip()
        pos += len(lines[i])
        i += 1
        block: list[str] = []
        while i < len(lines) and (lines[i][:1] in (" ", "\t") or (not lines[i].strip() and _more_indented(lines, i))):
            block.append(lines[i])
            pos += len(lines[i])
            i += 1
        if rest and not rest.startswith("#"):
            value = _flow(rest) if rest.startswith("{") else _scalar(rest)
        else:
            fields = {}
            for line in block:
                pair = re.match(r"\s+([^:#\s][^:]*?)\s*:\s?(.*)$", line.rstrip("\r\n"))
                if pair:
                    fields[_scalar(pair.group(1))] = _scalar(pair.group(2))
            value = json.dumps(fields, ensure_ascii=False)
        found.append((start, pos, value))
    return found


def _more_indented(lines: list[str], i: int) -> bool:
    following = next((line for line in lines[i:] if line.strip()), "")
    return following[:1] in (" ", "\t")


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """The front matter's ``AIGC`` entries (one carrier each)."""
    text = decode_text(data, path)
    front = _FRONT.match(text)
    if not front:
        return []
    return [Carrier("front-matter", value) for _, _, value in _entries(front.group("body"))]


def _block(label: AIGCLabel, nl: str) -> str:
    lines = ["AIGC:"] + [f"  {name}: {json.dumps(value)}" for name, value in label.to_dict().items()]
    return nl.join(lines) + nl


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """Exactly one ``AIGC`` entry in the front matter (added at its end, replacing any other);
    a document without front matter gets one. Everything else keeps its bytes."""
    text = decode_text(data, path)
    nl = newline_of(text)
    front = _FRONT.match(text)
    if not front:
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        return encode_text(bom + "---" + nl + _block(label, nl) + "---" + nl + text[len(bom) :])
    lo, hi = front.span("body")
    body = front.group("body")
    kept, pos = [], 0
    for start, end, _ in _entries(body):
        kept.append(body[pos:start])
        pos = end
    kept.append(body[pos:])
    new_body = "".join(kept)
    if new_body and not new_body.endswith("\n"):
        new_body += nl
    return encode_text(text[:lo] + new_body + _block(label, nl) + text[hi:])


# -- the explicit label and the Unicode mark ---------------------------------------------------


def add_label(text: str, style: object) -> str:
    """The explicit label as a paragraph of the body: after the front matter (start), after
    everything, closing a code block left open (end), or at the first paragraph boundary at or
    after a character offset that is not inside a code block (middle)."""
    text_style = style_of(style)
    if text_style is None:
        return text
    phrase = label_text(text_style)
    layout = _layout(text)
    if has_label(_blocks(text)):
        return text
    where = text_style.position
    nl = newline_of(text)
    if where == "end" and layout.open_fence is not None:
        closed = text if text.endswith(("\n", "\r")) else text + nl
        return closed + layout.open_fence + nl + nl + phrase + nl
    if where not in ("start", "end"):
        at = paragraph_boundary(text, max(int(where), layout.body_start), lambda p: not _inside(p, layout.code))
        if at >= len(text):
            where = "end"
        else:
            return text[:at] + phrase + nl + nl + text[at:]
    return insert_paragraph(text, phrase, where, start=layout.body_start)


def relabel(data: bytes, style: object, mark: Mark | None, *, path: str | None = None) -> bytes:
    text = add_label(decode_text(data, path), style)
    if mark is not None:
        text = unmarked(text)
        text = mark_spans(text, mark, _prose(text, _layout(text)), path)
    return encode_text(text)
