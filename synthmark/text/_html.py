"""HTML: the AIGC label in ``<meta name="AIGC" content="...">`` in the head, the explicit label
as a visible ``<p>`` element (never a comment) after ``<body>`` or before ``</body>``, the
Unicode mark in the text nodes (not in markup, scripts, styles, ``<pre>``, ``<code>`` or
``<textarea>``).

The document is edited as text: every other byte is kept. The label's JSON is escaped for an
attribute value (``&quot;``), the bare seven-field object, as the carrier is named AIGC.
"""

from __future__ import annotations

import html
import re

from synthmark.aigc import AIGCLabel
from synthmark.metadata import Carrier
from synthmark.payload import Mark
from synthmark.text._common import decode_text, encode_text, mark_spans, style_of, unmarked
from synthmark.text.explicit import has_compliant_phrase, label_text, newline_of

CARRIES_METADATA = True
#: The class of the explicit label element synthmark writes.
LABEL_CLASS = "aigc-label"

_RAW = re.compile(r"<(script|style|textarea|pre|code|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<[!?/]?[A-Za-z][^>]*>|<![^>]*>", re.DOTALL)
_META = re.compile(r"<meta\b[^>]*?\bname\s*=\s*([\"']?)AIGC\1[^>]*>[ \t]*(?:\r?\n)?", re.IGNORECASE)
_CONTENT = re.compile(r"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_HTML = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"\A(?:\ufeff)?\s*<!doctype[^>]*>", re.IGNORECASE)
_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)
_HTML_CLOSE = re.compile(r"</html\s*>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(?:p|div|h[1-6]|ul|ol|table|blockquote|section|article|figure)\s*>", re.IGNORECASE)


def check(data: bytes, *, path: str | None = None) -> None:
    decode_text(data, path)


def supports_explicit(data: bytes, *, path: str | None = None) -> bool:
    return True


def _blocked(text: str) -> list[tuple[int, int]]:
    """Markup, and elements whose content is not prose."""
    spans = [m.span() for m in _RAW.finditer(text)]
    spans += [m.span() for m in _MARKUP.finditer(text) if not any(lo <= m.start() < hi for lo, hi in spans)]
    return sorted(spans)


def _prose(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for lo, hi in _blocked(text):
        if lo > pos:
            out.append((pos, lo))
        pos = max(pos, hi)
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def visible_text(text: str) -> str:
    """The document's text as a reader sees it (scripts, styles and markup removed, entities
    decoded), for the explicit-label detector."""
    without_raw = re.sub(r"<(script|style|title)\b.*?</\1\s*>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    return html.unescape(_MARKUP.sub(" ", without_raw))


def text_of(data: bytes, *, path: str | None = None) -> str:
    """The document with character references decoded (the Unicode mark may be escaped)."""
    return html.unescape(decode_text(data, path))


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Each ``<meta name="AIGC">`` element's content."""
    text = decode_text(data, path)
    carriers = []
    for match in _META.finditer(text):
        content = _CONTENT.search(match.group(0))
        value = "" if content is None else next(g for g in content.groups() if g is not None)
        carriers.append(Carrier("html-meta", html.unescape(value), None if content else "meta without content"))
    return carriers


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """Exactly one ``<meta name="AIGC">``, first in the head (one is made when missing)."""
    text = _META.sub("", decode_text(data, path))
    nl = newline_of(text)
    meta = f'<meta name="AIGC" content="{html.escape(label.to_json(), quote=True)}">'
    head = _HEAD.search(text)
    if head:
        return encode_text(text[: head.end()] + nl + meta + text[head.end() :])
    opening = _HTML.search(text) or _DOCTYPE.search(text)
    at = opening.end() if opening else (1 if text.startswith("\ufeff") else 0)
    return encode_text(text[:at] + f"{nl}<head>{meta}</head>{nl}" + text[at:])


def add_label(text: str, style: object) -> str:
    """A visible ``<p class="aigc-label">`` with the phrase: after ``<body>`` (start), before
    ``</body>`` (end), or after the first block element that closes at or after a character
    offset (middle). A document that already shows a compliant phrase is left as is."""
    text_style = style_of(style)
    if text_style is None:
        return text
    if has_compliant_phrase(visible_text(text)):
        return text
    nl = newline_of(text)
    element = f'<p class="{LABEL_CLASS}">{html.escape(label_text(text_style))}</p>'
    where = text_style.position
    if where not in ("start", "end"):
        blocked = [span for span in _blocked(text) if not _BLOCK_END.fullmatch(text[span[0] : span[1]])]
        for match in _BLOCK_END.finditer(text, max(int(where), 0)):
            if not any(lo <= match.start() < hi for lo, hi in blocked):
                return text[: match.end()] + nl + element + text[match.end() :]
        where = "end"
    if where == "start":
        opening = _BODY_OPEN.search(text)
        if opening is None:
            head_end = re.search(r"</head\s*>", text, re.IGNORECASE)
            opening = head_end or _HTML.search(text) or _DOCTYPE.search(text)
        at = opening.end() if opening else (1 if text.startswith("\ufeff") else 0)
        return text[:at] + (nl + element if at else element + nl) + text[at:]
    closings = [*_BODY_CLOSE.finditer(text)] or [*_HTML_CLOSE.finditer(text)]
    closing = closings[-1] if closings else None
    if closing is None:
        return text + ("" if text.endswith("\n") else nl) + element + nl
    return text[: closing.start()] + element + nl + text[closing.start() :]


def relabel(data: bytes, style: object, mark: Mark | None, *, path: str | None = None) -> bytes:
    text = add_label(decode_text(data, path), style)
    if mark is not None:
        text = unmarked(text)
        text = mark_spans(text, mark, _prose(text), path)
    return encode_text(text)
