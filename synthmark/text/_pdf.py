"""PDF: the AIGC label as the document-information key ``/AIGC`` (TC260 text guide), written
with pypdf (the ``text`` extra) as an *incremental update*: the original bytes are kept as they
are and a new information dictionary, cross-reference section and trailer are appended, so
earlier signatures and every object of the document stay intact.

No explicit label is drawn into PDF pages yet, and no invisible mark is embedded (page text is
drawn glyphs; add both where the document is authored). Encrypted PDFs are refused.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, InputError, MetadataError, WatermarkError
from synthmark.metadata import Carrier
from synthmark.payload import Mark

CARRIES_METADATA = True
KEY = "/AIGC"


def _pypdf(path: str | None) -> Any:
    try:
        import pypdf
    except ImportError as exc:
        raise InputError(
            "reading and writing PDF labels needs pypdf",
            path=path,
            fix="reinstall synthmark (pypdf is one of its dependencies)",
        ) from exc
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # pypdf warns on every odd but readable file
    return pypdf


def _reader(data: bytes, path: str | None) -> Any:
    pypdf = _pypdf(path)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        if not encrypted:
            len(reader.pages)
    except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise CorruptFileError(f"cannot read the PDF ({exc})", path=path, fix="re-export the PDF") from exc
    if encrypted:
        raise InputError("the PDF is encrypted", path=path, fix="label the unencrypted document, then encrypt it")
    return reader


def check(data: bytes, *, path: str | None = None) -> None:
    _reader(data, path)


def supports_explicit(data: bytes, *, path: str | None = None) -> bool:
    return False


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """The ``/AIGC`` entry of the current document-information dictionary, if any."""
    reader = _reader(data, path)
    try:
        info = reader.metadata
        value = None if info is None else info.get(KEY)
    except Exception as exc:  # pypdf raises many types on damaged trailers
        raise CorruptFileError(f"cannot read the document information ({exc})", path=path, fix="re-export it") from exc
    if value is None:
        return []
    text = value.get_object() if hasattr(value, "get_object") else value
    return [Carrier("pdf-info", str(text))]


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """The PDF with ``/AIGC`` set in its information dictionary, as an incremental update
    (the input bytes are a prefix of the output)."""
    pypdf = _pypdf(path)
    _reader(data, path)
    try:
        writer = pypdf.PdfWriter(io.BytesIO(data), incremental=True)
        writer.add_metadata({KEY: label.to_json()})
        out = io.BytesIO()
        writer.write(out)
    except (pypdf.errors.PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise MetadataError(f"cannot update the PDF ({exc})", path=path, fix="re-export the PDF and retry") from exc
    result = out.getvalue()
    if not result.startswith(data):
        raise MetadataError("the update did not keep the original bytes", path=path, fix="report this file")
    return result


def text_of(data: bytes, *, path: str | None = None) -> str:
    """The text pypdf extracts from the pages (for the explicit-label and Unicode-mark detectors)."""
    reader = _reader(data, path)
    try:
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as exc:  # text extraction is best effort across many font encodings
        raise CorruptFileError(f"cannot extract the text ({exc})", path=path, fix="re-export the PDF") from exc


def relabel(data: bytes, style: object, mark: Mark | None, *, path: str | None = None) -> bytes:
    if mark is not None:
        raise WatermarkError(
            "the invisible text mark is written into plain text, Markdown and HTML only",
            path=path,
            fix="mark the text before it is typeset",
        )
    return data
