"""Plain text (UTF-8): the explicit label as a paragraph and the Unicode mark after sentence
ends. Plain text has no container, so no metadata label (GB 45438 relies on the explicit label
and, if wanted, an invisible text mark there)."""

from __future__ import annotations

from synthmark.aigc import AIGCLabel
from synthmark.errors import MetadataError
from synthmark.metadata import Carrier
from synthmark.payload import Mark
from synthmark.text._common import decode_text, encode_text, mark_spans, style_of, unmarked
from synthmark.text.explicit import Block, add_explicit_label, mark_edges, text_blocks

#: Plain text has nowhere to keep a metadata label.
CARRIES_METADATA = False


def check(data: bytes, *, path: str | None = None) -> None:
    decode_text(data, path)


def supports_explicit(data: bytes, *, path: str | None = None) -> bool:
    return True


def text_of(data: bytes, *, path: str | None = None) -> str:
    """The text a reader sees (and the detectors read)."""
    return decode_text(data, path)


def explicit_blocks(data: bytes, *, path: str | None = None) -> list[Block]:
    """The paragraphs (split at blank lines), the first and the last marked as the edges."""
    return mark_edges(text_blocks(decode_text(data, path)))


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    decode_text(data, path)
    return []


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    raise MetadataError(
        "plain text has no metadata container",
        path=path,
        fix="use the explicit label and the Unicode mark, or save the text as Markdown (.md)",
    )


def relabel(data: bytes, style: object, mark: Mark | None, *, path: str | None = None) -> bytes:
    """The explicit label (a paragraph at the start or end) and/or the Unicode mark."""
    text = decode_text(data, path)
    text_style = style_of(style)
    if text_style is not None:
        text = add_explicit_label(text, text_style)
    if mark is not None:
        text = unmarked(text)
        text = mark_spans(text, mark, None, path)
    return encode_text(text)
