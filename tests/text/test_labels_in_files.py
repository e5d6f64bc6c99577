"""The explicit label inside exported files (art. 4 of the Measures, issue 13): PDF, PPTX and
XLSX, read back with readers synthmark did not write (pypdf, python-pptx, openpyxl), every
other part or byte kept; DOCX's marked paragraph; and, where installed, rendered (poppler) and
opened by LibreOffice."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from xml.etree import ElementTree

import pytest

import synthmark
from synthmark import text
from synthmark.errors import MissingGlyphError
from synthmark.text import TextLabelStyle

from .conftest import PRODUCER

pypdf = pytest.importorskip("pypdf")

BILINGUAL = TextLabelStyle("AI生成", "AI-generated", "start")


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def _changed(before: bytes, after: bytes) -> set[str]:
    old, new = _parts(before), _parts(after)
    assert list(new)[: len(old)] == list(old)  # part order kept, new parts at the end
    return {name for name in new if old.get(name) != new[name]}


# -- PDF ------------------------------------------------------------------------------------------


def _label_annotation(data: bytes, page: int = 0):
    annots = pypdf.PdfReader(io.BytesIO(data)).pages[page].get("/Annots") or []
    return next(a.get_object() for a in annots if a.get_object().get("/NM") == "aigc-label")


def _appearance_text(data: bytes) -> tuple[str, str]:
    """The appearance stream's text twice: decoded through the embedded font's ToUnicode map (what
    copy and search give), and as the glyphs drawn, named by the bundled font's own cmap."""
    from fontTools.ttLib import TTFont

    from synthmark.text._font import font_path

    stream = _label_annotation(data)["/AP"]["/N"].get_object()
    font = stream["/Resources"]["/Font"]["/AIGCfont"].get_object()
    cmap = font["/ToUnicode"].get_object().get_data().decode("ascii")
    to_unicode = {int(c, 16): bytes.fromhex(u).decode("utf-16-be") for c, u in re.findall(r"<(\w{4})> <(\w+)>", cmap)}
    codes = re.search(rb"<([0-9A-F]+)> Tj", stream.get_data()).group(1).decode()
    cids = [int(codes[i : i + 4], 16) for i in range(0, len(codes), 4)]
    with TTFont(font_path(), lazy=True) as bundled:
        by_cid = {int(name[3:]): chr(code) for code, name in bundled.getBestCmap().items() if name.startswith("cid")}
    return "".join(to_unicode[c] for c in cids), "".join(by_cid[c] for c in cids)


@pytest.mark.parametrize("position", ["start", "end"])
@pytest.mark.clause("text-explicit")
def test_pdf_label_is_an_incremental_annotation_on_the_first_page(sample, position):
    original = sample[".pdf"]
    labeled, _ = text.relabel_content(original, TextLabelStyle("AI生成", "AI-generated", position), None)
    assert labeled.startswith(original)  # an incremental update: the signed bytes stay intact
    annotation = _label_annotation(labeled)
    assert annotation["/Subtype"] == "/FreeText" and annotation["/Contents"] == "AI生成 / AI-generated"
    assert int(annotation["/F"]) & 4 and not int(annotation["/F"]) & (1 | 2 | 32)  # printed, shown
    assert _appearance_text(labeled) == ("AI生成 / AI-generated", "AI生成 / AI-generated")
    page = pypdf.PdfReader(io.BytesIO(labeled)).pages[0]
    x0, y0, x1, y1 = (float(v) for v in annotation["/Rect"])
    box = page.cropbox
    assert box.left <= x0 < x1 <= box.right and box.bottom <= y0 < y1 <= box.top
    assert (y0 > float(box.height) / 2) == (position == "start")  # top for the start, bottom for the end
    assert text.read_text(labeled) == text.read_text(original)  # page content untouched
    assert text.relabel_content(labeled, TextLabelStyle(position=position), None)[0] == labeled
    found = text.find_explicit(labeled)
    assert found["found"] and found["phrases"][0]["where"] == "page 1 annotation"


@pytest.mark.parametrize("rotate", [90, 270])
def test_pdf_label_is_upright_on_rotated_pages(sample, rotate):
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(sample[".pdf"]))
    writer.pages[0].rotate(rotate)
    rotated = io.BytesIO()
    writer.write(rotated)
    labeled, _ = text.relabel_content(rotated.getvalue(), BILINGUAL, None)
    matrix = [float(v) for v in _label_annotation(labeled)["/AP"]["/N"].get_object()["/Matrix"]]
    # The text's x axis runs up the page for /Rotate 90 and down it for 270: upright when shown.
    assert matrix[:4] == ([0, 1, -1, 0] if rotate == 90 else [0, -1, 1, 0])


def test_pdf_label_through_the_pipeline_and_glyphs(sample, tmp_path):
    source = tmp_path / "in.pdf"
    source.write_bytes(sample[".pdf"])
    result = synthmark.label_file(source, tmp_path / "out.pdf", synthmark.AIGCLabel.new(PRODUCER, produce_id="p-1"))
    assert result.layers == ("visible", "metadata") and not result.warnings
    report = synthmark.verify_file(tmp_path / "out.pdf")
    assert report.verdict == "confirmed" and report.evidence["visible"].found
    with pytest.raises(MissingGlyphError, match="✓"):
        text.relabel_content(sample[".pdf"], "AI生成 / AI-generated ✓", None)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) not installed")
def test_pdf_label_is_visible_when_rendered(sample, tmp_path):
    from PIL import Image

    labeled, _ = text.relabel_content(sample[".pdf"], BILINGUAL, None)
    images = {}
    for name, data in (("before", sample[".pdf"]), ("after", labeled)):
        (tmp_path / f"{name}.pdf").write_bytes(data)
        subprocess.run(
            ["pdftoppm", "-r", "40", "-png", "-singlefile", tmp_path / f"{name}.pdf", tmp_path / name], check=True
        )
        images[name] = Image.open(tmp_path / f"{name}.png").convert("L")
    width, height = images["after"].size
    corner = (0, 0, width // 3, height // 12)
    rest = (0, height // 4, width, height)
    assert images["before"].crop(rest).tobytes() == images["after"].crop(rest).tobytes()
    dark = sum(1 for v in images["after"].crop(corner).tobytes() if v < 100)
    dark_before = sum(1 for v in images["before"].crop(corner).tobytes() if v < 100)
    assert dark > dark_before + 50  # the label's glyphs and border


# -- PPTX -----------------------------------------------------------------------------------------


@pytest.mark.clause("text-explicit")
def test_pptx_label_is_a_text_box_on_the_first_slide(sample):
    pptx = pytest.importorskip("pptx")
    original = sample[".pptx"]
    labeled, _ = text.relabel_content(original, BILINGUAL, None)
    assert _changed(original, labeled) == {"ppt/slides/slide1.xml"}
    deck = pptx.Presentation(io.BytesIO(labeled))
    box = next(shape for shape in deck.slides[0].shapes if shape.name == "AIGC label")
    assert box.text_frame.text == "AI生成 / AI-generated"
    assert box.left < deck.slide_width / 4 and box.top < deck.slide_height / 4  # top left
    size = box.text_frame.paragraphs[0].runs[0].font.size
    assert size.emu >= 0.05 * min(deck.slide_width, deck.slide_height) * 0.99  # 5 % of the short side
    assert box.left + box.width <= deck.slide_width and box.top + box.height <= deck.slide_height
    assert text.relabel_content(labeled, BILINGUAL, None)[0] == labeled
    assert text.find_explicit(labeled)["phrases"][0]["where"] == "slide 1"


def test_pptx_label_skips_a_hidden_first_slide(sample):
    pptx = pytest.importorskip("pptx")
    deck = pptx.Presentation(io.BytesIO(sample[".pptx"]))
    deck.slides[0]._element.set("show", "0")
    hidden = io.BytesIO()
    deck.save(hidden)
    labeled, _ = text.relabel_content(hidden.getvalue(), TextLabelStyle(position="end"), None)
    deck = pptx.Presentation(io.BytesIO(labeled))
    assert [s.name for s in deck.slides[1].shapes][-1] == "AIGC label"
    assert "AIGC label" not in [s.name for s in deck.slides[0].shapes]


# -- XLSX -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("position", ["start", "end"])
@pytest.mark.clause("text-explicit")
def test_xlsx_label_in_every_header_and_a_note(sample, position):
    openpyxl = pytest.importorskip("openpyxl")
    original = sample[".xlsx"]
    labeled, _ = text.relabel_content(original, TextLabelStyle("AI生成", "AI-generated", position), None)
    assert _changed(original, labeled) == {
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/sheet2.xml",
        "[Content_Types].xml",
        "xl/comments1.xml",
        "xl/drawings/vmlDrawing1.vml",
        "xl/worksheets/_rels/sheet1.xml.rels",
    }
    book = openpyxl.load_workbook(io.BytesIO(labeled))
    for sheet in book.worksheets:
        shown = sheet.oddHeader.left.text if position == "start" else sheet.oddFooter.right.text
        assert shown == "AI生成 / AI-generated"
    note = book.worksheets[0]["A1"].comment
    assert note.text == "AI生成 / AI-generated" and note.author == "AIGC label"
    assert [[c.value for c in row] for row in book.worksheets[0].iter_rows()] == [
        [c.value for c in row] for row in openpyxl.load_workbook(io.BytesIO(original)).worksheets[0].iter_rows()
    ]
    assert text.relabel_content(labeled, TextLabelStyle(position=position), None)[0] == labeled


def test_xlsx_label_keeps_existing_notes_and_headers():
    openpyxl = pytest.importorskip("openpyxl")
    from openpyxl.comments import Comment

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["A2"] = "AI生成", "人工"  # data: a column of origins is not a label
    sheet["A1"].comment = Comment("checked by Li", "Li")
    sheet.oddHeader.left.text, sheet.oddHeader.center.text = "Confidential", "&A"
    made = io.BytesIO()
    book.save(made)
    assert not text.find_explicit(made.getvalue())["found"]
    labeled, _ = text.relabel_content(made.getvalue(), TextLabelStyle(position="start"), None)
    book = openpyxl.load_workbook(io.BytesIO(labeled))
    sheet = book.active
    assert sheet["A1"].comment.text == "checked by Li" and sheet["B1"].comment.text == "AI生成"
    assert sheet.oddHeader.left.text == "AI生成\nConfidential" and sheet.oddHeader.center.text == "&A"
    for name, part in _parts(labeled).items():
        if name.endswith((".xml", ".vml", ".rels")):
            ElementTree.fromstring(part)  # every part still well-formed, namespaces declared
    assert text.find_explicit(labeled)["found"]


def test_xlsx_headers_that_only_mention_the_phrase_get_the_label():
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.oddHeader.center.text = "AI生成内容统计表"
    made = io.BytesIO()
    book.save(made)
    labeled, _ = text.relabel_content(made.getvalue(), TextLabelStyle(position="end"), None)
    assert openpyxl.load_workbook(io.BytesIO(labeled)).active.oddFooter.right.text == "AI生成"


# -- DOCX -----------------------------------------------------------------------------------------


def test_docx_label_is_a_marked_paragraph_and_a_mention_is_not_a_label(sample):
    parts = _parts(sample[".docx"])
    body = parts["word/document.xml"].decode()
    mention = "<w:p><w:r><w:t>近年来，AI生成内容在社交平台上迅速增多。</w:t></w:r></w:p>"
    at = body.index("<w:p>", body.index("<w:body>") + 200)
    parts["word/document.xml"] = (body[:at] + mention + body[at:]).encode()
    made = io.BytesIO()
    with zipfile.ZipFile(made, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)
    labeled, _ = text.relabel_content(made.getvalue(), TextLabelStyle(position="start"), None)
    xml = _parts(labeled)["word/document.xml"].decode()
    assert '<w:bookmarkStart w:id="' in xml and 'w:name="_AIGC_label"/><w:r><w:t xml:space="preserve">AI生成' in xml
    phrases = text.find_explicit(labeled)["phrases"]
    assert [p["at_label_position"] for p in phrases] == [True, False]


# -- LibreOffice ----------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None, reason="no LibreOffice")
def test_libreoffice_opens_and_prints_the_labels(sample, tmp_path):
    """The labeled packages open in an independent implementation and the label is printed
    (PPTX slide, XLSX header and note, DOCX paragraph)."""
    names = []
    for suffix in (".pptx", ".xlsx", ".docx"):
        labeled, _ = text.relabel_content(sample[suffix], BILINGUAL, None)
        (tmp_path / f"labeled{suffix[1:]}{suffix}").write_bytes(labeled)
        names.append(tmp_path / f"labeled{suffix[1:]}{suffix}")
    profile = f"-env:UserInstallation=file://{tmp_path / 'profile'}"
    subprocess.run(
        ["soffice", profile, "--headless", "--convert-to", "pdf", "--outdir", tmp_path, *names],
        check=True,
        capture_output=True,
        timeout=180,
    )
    for name in names:
        printed = subprocess.run(
            ["pdftotext", name.with_suffix(".pdf"), "-"], check=True, capture_output=True, text=True
        ).stdout
        assert "AI生成 / AI-generated" in printed.replace("AI 生成", "AI生成"), name.name
