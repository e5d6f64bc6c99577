"""PDF: the AIGC label as the document-information key ``/AIGC`` (TC260 text guide) and the
explicit label on the first page, both written with pypdf as *incremental updates*: the original
bytes are kept as they are and new objects, a cross-reference section and a trailer are
appended, so earlier signatures and every object of the document stay intact.

The explicit label is a ``FreeText`` annotation named ``aigc-label`` (``/NM``) on the first
page — top left for the start, bottom right for the end, upright on rotated pages — with its
own appearance stream (a white plate, a thin border and the phrase in the bundled Noto Sans CJK
SC, a subset of the label's glyphs embedded as a CID-keyed CFF font with a ``ToUnicode`` map,
so the text can be copied and searched), printable and locked against moving and editing.
Its ``/Contents`` carries the phrase for readers. An annotation rather than new page content
because adding an annotation is the change a signed document allows (ISO 32000-1 12.8.2.2,
DocMDP permission 3) while altering page content invalidates every signature.

No invisible mark is embedded (page text is drawn glyphs; mark the text before it is typeset).
Encrypted PDFs are refused.
"""

from __future__ import annotations

import hashlib
import io
import logging
from typing import Any

from synthmark.aigc import AIGCLabel
from synthmark.errors import (
    CorruptFileError,
    InputError,
    LabelDoesNotFitError,
    MetadataError,
    RenderError,
    WatermarkError,
)
from synthmark.metadata import Carrier
from synthmark.payload import Mark
from synthmark.text._common import style_of
from synthmark.text.explicit import Block, BlockKind, TextLabelStyle, has_label, label_text, mark_edges

CARRIES_METADATA = True
KEY = "/AIGC"
#: The name (``/NM``) of the label annotation synthmark adds.
LABEL_NAME = "aigc-label"
#: Text size of the label, as a fraction of the page's short side (A4: 17.9 pt), at least
#: :data:`MIN_POINTS`; smaller when the phrase would not fit across the page.
PAGE_TEXT_HEIGHT = 0.03
MIN_POINTS = 8.0
# Annotation flags (ISO 32000-1 table 165): printed, and locked against moving, deleting and
# editing in viewers that honour it; invisible, hidden and no-view ones are not shown.
_PRINT, _LOCKED, _LOCKED_CONTENTS = 4, 128, 512
_NOT_SHOWN = 1 | 2 | 32


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
    except Exception as exc:  # pypdf raises many types on damaged files (IndexError, RecursionError...)
        raise CorruptFileError(f"cannot read the PDF ({exc})", path=path, fix="re-export the PDF") from exc
    if encrypted:
        raise InputError("the PDF is encrypted", path=path, fix="label the unencrypted document, then encrypt it")
    return reader


def check(data: bytes, *, path: str | None = None) -> None:
    _reader(data, path)


def supports_explicit(data: bytes, *, path: str | None = None) -> bool:
    """PDFs take the explicit label (an annotation on the first page)."""
    return True


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
    except Exception as exc:  # pypdf raises many types on damaged files (IndexError, RecursionError...)
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


def explicit_blocks(data: bytes, *, path: str | None = None) -> list[Block]:
    """What a reader sees, for the label reader: the lines of the first and the last page (the
    document's first and last line are its edges; other lines are wraps, not paragraphs, so
    never a label) and every annotation shown with an appearance and ``/Contents`` (synthmark's
    ``aigc-label`` is its label element; others count when they read as a label)."""
    reader = _reader(data, path)
    try:
        pages = reader.pages
        lines: list[Block] = []
        for index in sorted({0, len(pages) - 1}):
            text = pages[index].extract_text() or ""
            lines += [Block(line, "text", f"page {index + 1}") for line in text.splitlines() if line.strip()]
        blocks = [b if b.kind != "text" else Block(b.text, "inert", b.where) for b in mark_edges(lines)]
        for number, page in enumerate(pages, start=1):
            for ref in page.get("/Annots") or []:
                annotation = ref.get_object()
                contents = annotation.get("/Contents")
                if not isinstance(contents, str) or not contents.strip():
                    continue
                shown = not int(annotation.get("/F", 0)) & _NOT_SHOWN and "/AP" in annotation
                ours = annotation.get("/NM") == LABEL_NAME
                kind: BlockKind = ("label" if ours else "edge") if shown else "inert"
                blocks.append(Block(str(contents), kind, f"page {number} annotation"))
    except Exception as exc:  # pypdf raises many types on damaged pages
        raise CorruptFileError(f"cannot read the pages ({exc})", path=path, fix="re-export the PDF") from exc
    return blocks


def _subset_tag(phrase: str) -> str:
    """Six capitals naming the embedded subset (ISO 32000-1 9.6.4), the same for the same text."""
    digest = hashlib.sha256(phrase.encode("utf-8")).digest()
    return "".join(chr(65 + b % 26) for b in digest[:6])


def _geometry(page: Any, advance_em: float, height_em: float, start: bool, path: str | None) -> tuple[float, ...]:
    """(size, width, height, a, b, c, d, e, f) of the label: the text size and the plate's size
    in points, and the matrix taking the plate's upright box to the page's user space, so it
    sits in the visible top-left (start) or bottom-right (end) corner of the first page, upright
    however the page is rotated (``/Rotate``)."""
    box = page.cropbox
    left, bottom = float(box.left), float(box.bottom)
    page_w, page_h = float(box.width), float(box.height)
    rotate = int(page.get("/Rotate", 0) or 0) % 360
    shown_w, shown_h = (page_h, page_w) if rotate in (90, 270) else (page_w, page_h)
    size = max(MIN_POINTS, PAGE_TEXT_HEIGHT * min(shown_w, shown_h))
    pad = 0.3
    if (advance_em + 2 * pad + 1.0) * size > shown_w:  # a margin of half the size on each side
        size = shown_w / (advance_em + 2 * pad + 1.0)
    if size < 4.0:
        raise LabelDoesNotFitError(
            f"the label does not fit across the {shown_w:.0f} pt wide first page",
            path=path,
            fix="use a shorter wording",
        )
    width, height, margin = (advance_em + 2 * pad) * size, (height_em + 2 * pad) * size, 0.5 * size
    x0, y0 = (margin, shown_h - margin - height) if start else (shown_w - margin - width, margin)
    # Shown coordinates (x0 + u, y0 + v) back to the page's user space, for each rotation.
    matrices = {
        0: (1, 0, 0, 1, x0, y0),
        90: (0, 1, -1, 0, page_w - y0, x0),
        180: (-1, 0, 0, -1, page_w - x0, page_h - y0),
        270: (0, -1, 1, 0, y0, page_h - x0),
    }
    a, b, c, d, e, f = matrices.get(rotate, matrices[0])
    return size, width, height, a, b, c, d, e + left, f + bottom


def _label(data: bytes, style: TextLabelStyle, path: str | None) -> bytes:
    """The PDF with the label annotation on its first page, as an incremental update."""
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    from synthmark.text import _font

    pypdf = _pypdf(path)
    phrase = label_text(style)
    font = _font.subset(phrase, path=path)
    codes = [font.cids[ch] for ch in phrase]
    advance_em = sum(font.widths[c] for c in codes) / 1000
    height_em = (font.ascent - font.descent) / 1000
    try:
        writer = pypdf.PdfWriter(io.BytesIO(data), incremental=True)
        page = writer.pages[0]
        size, width, height, *matrix = _geometry(page, advance_em, height_em, style.position == "start", path)

        def number(value: float) -> FloatObject:
            return FloatObject(round(value, 4))

        def stream(content: bytes, entries: dict[str, Any]) -> Any:
            made = DecodedStreamObject()
            made.set_data(content)
            made.update({NameObject(k): v for k, v in entries.items()})
            return writer._add_object(made.flate_encode())

        name = NameObject(f"/{_subset_tag(phrase)}+{font.name}")
        font_file = stream(font.cff, {"/Subtype": NameObject("/CIDFontType0C")})
        descriptor = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/FontDescriptor"),
                    NameObject("/FontName"): name,
                    NameObject("/Flags"): NumberObject(4),
                    NameObject("/FontBBox"): ArrayObject(NumberObject(v) for v in font.bbox),
                    NameObject("/ItalicAngle"): NumberObject(0),
                    NameObject("/Ascent"): NumberObject(font.ascent),
                    NameObject("/Descent"): NumberObject(font.descent),
                    NameObject("/CapHeight"): NumberObject(font.cap_height),
                    NameObject("/StemV"): NumberObject(120),
                    NameObject("/FontFile3"): font_file,
                }
            )
        )
        widths = ArrayObject()
        for cid in sorted(font.widths):
            widths += [NumberObject(cid), ArrayObject([NumberObject(font.widths[cid])])]
        cid_font = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/CIDFontType0"),
                    NameObject("/BaseFont"): name,
                    NameObject("/CIDSystemInfo"): DictionaryObject(
                        {
                            NameObject("/Registry"): TextStringObject(font.registry),
                            NameObject("/Ordering"): TextStringObject(font.ordering),
                            NameObject("/Supplement"): NumberObject(font.supplement),
                        }
                    ),
                    NameObject("/FontDescriptor"): descriptor,
                    NameObject("/DW"): NumberObject(1000),
                    NameObject("/W"): widths,
                }
            )
        )
        mapping = "".join(f"<{cid:04X}> <{ch.encode('utf-16-be').hex().upper()}>\n" for ch, cid in font.cids.items())
        to_unicode = stream(
            (
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                f"{len(font.cids)} beginbfchar\n{mapping}endbfchar\n"
                "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"
            ).encode("ascii"),
            {},
        )
        type0 = writer._add_object(
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type0"),
                    NameObject("/BaseFont"): NameObject(f"{name}-Identity-H"),
                    NameObject("/Encoding"): NameObject("/Identity-H"),
                    NameObject("/DescendantFonts"): ArrayObject([cid_font]),
                    NameObject("/ToUnicode"): to_unicode,
                }
            )
        )
        pad = 0.3 * size
        baseline = pad - font.descent / 1000 * size
        text = "".join(f"{c:04X}" for c in codes)
        content = (
            f"q /AIGCgs gs 1 1 1 rg 0 0 {width:.3f} {height:.3f} re f Q\n"
            f"q 0.25 0.25 0.25 RG 0.6 w 0.3 0.3 {width - 0.6:.3f} {height - 0.6:.3f} re S Q\n"
            f"BT 0 0 0 rg /AIGCfont {size:.3f} Tf {pad:.3f} {baseline:.3f} Td <{text}> Tj ET\n"
        ).encode("ascii")
        appearance = stream(
            content,
            {
                "/Type": NameObject("/XObject"),
                "/Subtype": NameObject("/Form"),
                "/BBox": ArrayObject([number(0), number(0), number(width), number(height)]),
                "/Matrix": ArrayObject(number(v) for v in matrix),
                "/Resources": DictionaryObject(
                    {
                        NameObject("/Font"): DictionaryObject({NameObject("/AIGCfont"): type0}),
                        NameObject("/ExtGState"): DictionaryObject(
                            {
                                NameObject("/AIGCgs"): DictionaryObject(
                                    {NameObject("/Type"): NameObject("/ExtGState"), NameObject("/ca"): number(0.85)}
                                )
                            }
                        ),
                    }
                ),
            },
        )
        a, b, c, d, e, f = matrix
        xs = [a * u + c * v + e for u, v in ((0, 0), (width, 0), (0, height), (width, height))]
        ys = [b * u + d * v + f for u, v in ((0, 0), (width, 0), (0, height), (width, height))]
        annotation = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/FreeText"),
                NameObject("/Rect"): ArrayObject([number(min(xs)), number(min(ys)), number(max(xs)), number(max(ys))]),
                NameObject("/Contents"): TextStringObject(phrase),
                NameObject("/NM"): TextStringObject(LABEL_NAME),
                NameObject("/T"): TextStringObject("AIGC label"),
                NameObject("/Subj"): TextStringObject("Explicit label (GB 45438-2025)"),
                NameObject("/F"): NumberObject(_PRINT | _LOCKED | _LOCKED_CONTENTS),
                NameObject("/DA"): TextStringObject(f"/Helv {size:.1f} Tf 0 g"),
                NameObject("/Q"): NumberObject(0),
                NameObject("/BS"): DictionaryObject({NameObject("/W"): NumberObject(0)}),
                NameObject("/AP"): DictionaryObject({NameObject("/N"): appearance}),
            }
        )
        writer.add_annotation(page, annotation)
        out = io.BytesIO()
        writer.write(out)
    except (RenderError, InputError):
        raise
    except Exception as exc:  # pypdf raises many types on odd page trees
        raise RenderError(
            f"cannot add the label to the first page ({exc})", path=path, fix="re-export the PDF"
        ) from exc
    result = out.getvalue()
    if not result.startswith(data):
        raise RenderError("the update did not keep the original bytes", path=path, fix="report this file")
    return result


def relabel(data: bytes, style: object, mark: Mark | None, *, path: str | None = None) -> bytes:
    """The explicit label annotation on the first page (see the module docstring), unless a
    compliant label already stands at a label position. The Unicode mark is not embedded in
    PDFs (:class:`WatermarkError`)."""
    if mark is not None:
        raise WatermarkError(
            "the invisible text mark is written into plain text, Markdown and HTML only",
            path=path,
            fix="mark the text before it is typeset",
        )
    text_style = style_of(style)
    if text_style is None or has_label(explicit_blocks(data, path=path)):
        return data
    return _label(data, text_style, path)
