"""Recognising text documents: the rows :mod:`synthmark.formats` registers, and content sniffing
for the formats without a fixed signature (plain text, Markdown, HTML, Office ZIP packages).

Light on purpose: :mod:`synthmark.formats` imports this module, so it imports only the stdlib
and the leaf :mod:`synthmark._zip`.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from synthmark._zip import ZIP_ERRORS

__all__ = ["TEXT_FORMATS", "TextFormatRow", "sniff_text"]


@dataclass(frozen=True)
class TextFormatRow:
    """One text format: name, IANA media type, suffixes (first = default), codec module, and the
    magic signature (empty: recognised by :func:`sniff_text`)."""

    name: str
    media_type: str
    extensions: tuple[str, ...]
    codec: str
    magic: tuple[tuple[int, bytes], ...] = ()


_OOXML = "application/vnd.openxmlformats-officedocument."
TEXT_FORMATS: tuple[TextFormatRow, ...] = (
    TextFormatRow("pdf", "application/pdf", (".pdf",), "synthmark.text._pdf", ((0, b"%PDF-"),)),
    TextFormatRow("docx", _OOXML + "wordprocessingml.document", (".docx",), "synthmark.text._office"),
    TextFormatRow("xlsx", _OOXML + "spreadsheetml.sheet", (".xlsx",), "synthmark.text._office"),
    TextFormatRow("pptx", _OOXML + "presentationml.presentation", (".pptx",), "synthmark.text._office"),
    TextFormatRow("html", "text/html", (".html", ".htm", ".xhtml"), "synthmark.text._html"),
    TextFormatRow("markdown", "text/markdown", (".md", ".markdown"), "synthmark.text._markdown"),
    TextFormatRow("text", "text/plain", (".txt", ".text"), "synthmark.text._plain"),
)
_BY_SUFFIX = {ext: row.name for row in TEXT_FORMATS for ext in row.extensions}
# The main part of each OOXML package type.
_OFFICE_PARTS = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx"))
_HTML_START = re.compile(rb"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
# Control characters that never occur in text files (NUL..BS, VT, SO..US except ESC, DEL).
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_SNIFF_BYTES = 1 << 16


def _office(data: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
    except ZIP_ERRORS:
        return None
    if "[Content_Types].xml" not in names:
        return None
    return next((kind for part, kind in _OFFICE_PARTS if part in names), None)


def _is_text(data: bytes) -> bool:
    head = data[:_SNIFF_BYTES]
    if _BINARY.search(head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is fine.
        return len(data) > _SNIFF_BYTES and exc.start >= len(head) - 3
    return True


def sniff_text(data: bytes, *, path: str | os.PathLike[str] | None = None) -> str | None:
    """The name of the text format of ``data`` (``"docx"``, ``"html"``, ``"text"``...), or None.

    Office packages are told apart by their main part. UTF-8 text (no control characters) is
    HTML when it starts like HTML or is named ``.html``/``.htm``, Markdown when named ``.md`` or
    when it opens with a YAML front-matter block, plain text otherwise; a file whose name has
    another suffix (``.svg``, ``.json``) is not taken for text.
    """
    suffix = Path(os.fspath(path)).suffix.lower() if path is not None else None
    if data[:4] == b"PK\x03\x04":
        # A damaged package named .docx is still a DOCX (its reader then says what is wrong).
        return _office(data) or (_BY_SUFFIX.get(suffix or "") if suffix in (".docx", ".xlsx", ".pptx") else None)
    named = _BY_SUFFIX.get(suffix or "")
    if data and named in ("html", "markdown", "text") and not _BINARY.search(data[:_SNIFF_BYTES]):
        return named  # a text file in another encoding: its decoder says how to fix it
    if not data or not _is_text(data):
        return None
    body = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    if named is not None:
        return None
    if suffix:
        return None
    if _HTML_START.match(body[:4096]):
        return "html"
    if re.match(rb"---[ \t]*\r?\n", body):
        return "markdown"
    if body.lstrip()[:1] == b"<":
        return None  # XML, SVG and other markup are not plain text
    return "text"
