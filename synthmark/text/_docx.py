"""DOCX: the explicit label as the first or last paragraph of the body, marked with the hidden
bookmark ``_AIGC_label`` (synthmark's label element), and the paragraphs a reader sees for the
label reader (body, headers, footers, notes)."""

from __future__ import annotations

import html
import re
import zipfile

from synthmark.errors import CorruptFileError
from synthmark.text._ooxml import paragraphs, parse, read_part
from synthmark.text.explicit import Block, BlockKind, TextLabelStyle, label_text, mark_edges

#: The hidden bookmark that marks the paragraph synthmark adds.
LABEL_BOOKMARK = "_AIGC_label"


def blocks(package: zipfile.ZipFile, path: str | None) -> list[Block]:
    """The body's paragraphs (the first and the last prose paragraph are the edges; the one
    with the ``_AIGC_label`` bookmark is synthmark's label), then the headers and footers (each
    line a label position, as it shows on every page) and the notes."""
    body = [
        Block(text, "label" if marked else "text", "body")
        for text, marked in paragraphs(parse(package, "word/document.xml", path), LABEL_BOOKMARK)
    ]
    found = mark_edges(body)
    for name in sorted(package.namelist()):
        part = re.fullmatch(r"word/(header|footer|footnotes|endnotes)\d*\.xml", name)
        if part:
            kind: BlockKind = "edge" if part.group(1) in ("header", "footer") else "text"
            found += [Block(text, kind, part.group(1)) for text, _ in paragraphs(parse(package, name, path))]
    return found


def label(package: zipfile.ZipFile, style: TextLabelStyle, path: str | None) -> dict[str, str]:
    """``word/document.xml`` with the label paragraph first (start) or last (end) in the body."""
    xml = read_part(package, "word/document.xml", path)
    ids = [int(n) for n in re.findall(r"\bw:id\s*=\s*\"(-?\d+)\"", xml)]
    mark = max([0, *ids]) + 1
    phrase = html.escape(label_text(style), quote=False)
    run = (
        f'<w:p><w:bookmarkStart w:id="{mark}" w:name="{LABEL_BOOKMARK}"/>'
        f'<w:r><w:t xml:space="preserve">{phrase}</w:t></w:r><w:bookmarkEnd w:id="{mark}"/></w:p>'
    )
    body = re.search(r"<w:body\b[^>]*>", xml)
    if body is None:
        raise CorruptFileError("word/document.xml has no body", path=path, fix="re-save the document")
    if style.position == "start":
        xml = xml[: body.end()] + run + xml[body.end() :]
    else:
        # Before the body's own section properties (which must stay last), else before </w:body>.
        end = xml.rindex("</w:body>")
        sect = xml.rfind("<w:sectPr", body.end(), end)
        last_para = xml.rfind("</w:p>", body.end(), end)
        at = sect if sect > last_para else end
        xml = xml[:at] + run + xml[at:]
    return {"word/document.xml": xml}
