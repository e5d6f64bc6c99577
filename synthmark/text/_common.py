"""Helpers shared by the text format modules: decoding, the mark and label hooks."""

from __future__ import annotations

from collections.abc import Sequence

from synthmark.errors import CorruptFileError, LabelError, WatermarkError
from synthmark.payload import Mark
from synthmark.text.explicit import TextLabelStyle
from synthmark.text.unicode_mark import _strip_marks, embed_unicode_mark

__all__ = ["decode_text", "encode_text", "mark_spans"]

_BOM = "\ufeff"


def decode_text(data: bytes, path: str | None) -> str:
    """UTF-8 text of ``data`` (a byte-order mark is kept as U+FEFF, so it is written back)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(
            f"not valid UTF-8 at byte {exc.start}", path=path, fix="convert the file to UTF-8 first"
        ) from exc


def encode_text(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def mark_spans(text: str, mark: Mark, spans: Sequence[tuple[int, int]] | None, path: str | None) -> str:
    """``text`` (already free of marks) with the Unicode mark in the prose ``spans`` (None: all)."""
    try:
        return embed_unicode_mark(text, mark.key, mark.content_id, allowed=spans)
    except WatermarkError as exc:
        raise WatermarkError(exc.message, path=path, fix=exc.fix) from exc


def unmarked(text: str) -> str:
    """``text`` without earlier copies of the Unicode mark (re-marking replaces, never adds)."""
    return _strip_marks(text)


def style_of(style: object) -> TextLabelStyle | None:
    """A :class:`TextLabelStyle` from whatever the labeling pipeline passes: a text style, an
    image :class:`~synthmark.image.LabelStyle` (its ``text`` and ``second_line``; top positions
    mean the start of the document, the others its end), a phrase, or None."""
    if style is None or isinstance(style, TextLabelStyle):
        return style
    if isinstance(style, str):
        return TextLabelStyle(style)
    text = getattr(style, "text", None)
    if isinstance(text, str):
        position = str(getattr(style, "position", "top"))
        return TextLabelStyle(
            text, getattr(style, "second_line", None), "start" if position.startswith("top") else "end"
        )
    raise LabelError(f"not a text label style: {style!r}", fix="pass a TextLabelStyle, a phrase or None")
