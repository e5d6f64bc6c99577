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
from synthmark.text.explicit import Block, has_label, label_text, mark_edges, newline_of, text_blocks

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
# The label element synthmark writes (its marker class), and what the label reader needs to
# cut a page into what a reader sees as paragraphs.
_LABEL_ELEMENT = re.compile(
    rf"<(?P<tag>[A-Za-z][\w-]*)\b(?P<attrs>[^>]*\bclass\s*=\s*([\"'])(?:[^\"']*\s)?{LABEL_CLASS}(?:\s[^\"']*)?\3[^>]*)>"
    r"(?P<inner>.*?)</(?P=tag)\s*>",
    re.IGNORECASE | re.DOTALL,
)
_INVISIBLE_ELEMENTS = re.compile(
    r"<(script|style|title|template|noscript|head)\b.*?</\1\s*>|<!--.*?(?:-->|\Z)", re.IGNORECASE | re.DOTALL
)
_CODE_ELEMENTS = re.compile(r"<(pre|code|textarea)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_HIDDEN_ATTRS = re.compile(
    r"\shidden(?=[\s/>=]|$)|\bstyle\s*=\s*([\"'])[^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE
)
_OPEN_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)\b([^>]*)>")
_BLOCK_TAGS = re.compile(
    r"</?(?:address|article|aside|blockquote|body|caption|dd|details|dialog|div|dl|dt|fieldset|figcaption|figure|"
    r"footer|form|h[1-6]|header|hr|html|li|main|nav|ol|p|section|summary|table|tbody|td|tfoot|th|thead|tr|ul)\b[^>]*>",
    re.IGNORECASE,
)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
# Elements whose start tag ends an open one (the common cases of HTML's optional end tags).
_CLOSED_BY = {
    "p": ("p",),
    "li": ("li", "p"),
    "dt": ("dt", "dd", "p"),
    "dd": ("dt", "dd", "p"),
    "tr": ("tr", "td", "th"),
    "td": ("td", "th"),
    "th": ("td", "th"),
    "option": ("option",),
}
_LINE_BREAK = re.compile(r"<br\b[^>]*>", re.IGNORECASE)
_SENTINEL = re.compile(r"\x00(\d+)\x00")
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


def _without_hidden(text: str) -> str:
    """``text`` without the elements a browser does not show (``hidden``, ``display:none``,
    ``visibility:hidden``) and what they contain. One pass over the tags with a stack of open
    elements (linear in the size, however the tags nest or fail to close): a closing tag closes
    the nearest open element of its name and those opened inside it."""
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # (name, hides its content)
    hidden = 0  # how many open elements hide their content
    pos = 0
    for match in _OPEN_TAG.finditer(text):
        if not hidden:
            out.append(text[pos : match.start()])
        pos = match.end()
        closing, name, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if closing:
            at = next((i for i in range(len(stack) - 1, -1, -1) if stack[i][0] == name), None)
            if at is not None:
                hidden -= sum(hides for _, hides in stack[at:])
                del stack[at:]
            if not hidden:
                out.append(match.group(0))
            continue
        while stack and stack[-1][0] in _CLOSED_BY.get(name, ()):  # <p>a<p>b: the first p ends
            hidden -= stack.pop()[1]
        hides = bool(_HIDDEN_ATTRS.search(attrs))
        if not hidden and not hides:
            out.append(match.group(0))
        if name not in _VOID and not attrs.rstrip().endswith("/"):
            stack.append((name, hides))
            hidden += hides
    if not hidden:
        out.append(text[pos:])
    return "".join(out)


def _flat(fragment: str) -> str:
    """The text of an HTML fragment as rendered on one line: tags removed (inline markup joins
    words), references decoded, white space collapsed."""
    return " ".join(html.unescape(_MARKUP.sub("", _LINE_BREAK.sub(" ", fragment))).split())


def _blocks(text: str) -> list[Block]:
    """What a reader sees, cut into blocks: the label elements synthmark writes (``"label"``),
    ``<pre>``/``<code>``/``<textarea>`` content (``"inert"``) and the paragraphs between block
    elements, the first and the last marked as the edges. Head, scripts, styles, comments and
    hidden elements are left out."""
    # NUL marks the kept blocks below; in the page it is U+FFFD, as HTML parsers read it.
    shown = _without_hidden(_INVISIBLE_ELEMENTS.sub(" ", text.replace("\x00", "\ufffd")))
    special: list[Block] = []

    def keep(block: Block) -> str:
        special.append(block)
        return f"\n\n\x00{len(special) - 1}\x00\n\n"

    shown = _LABEL_ELEMENT.sub(lambda m: keep(Block(_flat(m.group("inner")), "label", "label element")), shown)
    shown = _CODE_ELEMENTS.sub(lambda m: keep(Block(_flat(m.group(2)), "inert")), shown)
    shown = _LINE_BREAK.sub("\n", _BLOCK_TAGS.sub("\n\n", shown))
    blocks: list[Block] = []
    for part in text_blocks(shown):
        sentinel = _SENTINEL.fullmatch(part.text.strip())
        if sentinel:
            blocks.append(special[int(sentinel.group(1))])
        else:
            flat = _flat(part.text.replace("\x00", ""))
            if flat:
                blocks.append(Block(flat))
    return mark_edges(blocks)


def explicit_blocks(data: bytes, *, path: str | None = None) -> list[Block]:
    return _blocks(decode_text(data, path))


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
    offset (middle). A document that already shows a compliant label at a label position (its
    first or last paragraph, or a label element) is left as is."""
    text_style = style_of(style)
    if text_style is None:
        return text
    if has_label(_blocks(text)):
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
