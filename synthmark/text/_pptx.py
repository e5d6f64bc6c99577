"""PPTX: the explicit label as a text box named ``AIGC label`` on the first shown slide (top
left for the start, bottom right for the end), text height :data:`SLIDE_TEXT_HEIGHT` of the
slide's short side, on a white plate; and each slide paragraph a reader sees, for the label
reader."""

from __future__ import annotations

import html
import re
import zipfile
from xml.etree import ElementTree

from synthmark.errors import CorruptFileError, RenderError
from synthmark.text._ooxml import TRUE, local, parse, read_part, relationships, rid
from synthmark.text.explicit import Block, BlockKind, TextLabelStyle, label_text, mark_edges

#: The name of the text box synthmark adds.
LABEL_NAME = "AIGC label"
#: Text height of the label, as a fraction of the slide's short side (GB 45438 asks 5 % of the
#: shortest side for images; a slide is shown like one).
SLIDE_TEXT_HEIGHT = 0.05


_SHAPES = ("sp", "graphicFrame", "cxnSp", "pic", "grpSp")


def _slides(package: zipfile.ZipFile, path: str | None) -> list[str]:
    """The slide parts in presentation order."""
    presentation = "ppt/presentation.xml"
    rels = {rel_id: target for rel_id, _, target in relationships(package, presentation, path)}
    root = parse(package, presentation, path)
    order = [rels.get(rid(el)) for el in root.iter() if local(el.tag) == "sldId"]
    names = set(package.namelist())
    return [name for name in order if name is not None and name in names]


def _shown(slide: ElementTree.Element) -> bool:
    return (slide.get("show") or "1").lower() in TRUE


def _slide_paragraphs(root: ElementTree.Element) -> list[tuple[str, str, bool]]:
    """(text, shape name, shape hidden) of each paragraph of a slide, in document order."""
    out: list[tuple[list[str], dict[str, object]]] = []
    stack: list[tuple[ElementTree.Element, dict[str, object] | None, list[str] | None]] = [(root, None, None)]
    while stack:
        element, shape, para = stack.pop()
        name = local(element.tag)
        if name == "Fallback":
            continue
        if name in _SHAPES:  # a shape in a hidden group is hidden too
            shape = {"name": "", "hidden": bool(shape and shape["hidden"])}
        elif name == "cNvPr" and shape is not None and not shape.get("named"):
            hidden = bool(shape["hidden"]) or (element.get("hidden") or "0") in TRUE
            shape.update(name=element.get("name") or "", hidden=hidden, named=True)
        elif name == "p" and shape is not None:
            para = []
            out.append((para, shape))
        elif name == "t" and para is not None:
            para.append(element.text or "")
        elif name == "br" and para is not None:
            para.append("\n")
        stack.extend((child, shape, para) for child in reversed(element))
    return [("".join(text), str(shape["name"]), bool(shape["hidden"])) for text, shape in out]


def blocks(package: zipfile.ZipFile, path: str | None) -> list[Block]:
    """Each paragraph of each shown slide, in order: the first and the last are the edges; the
    ``AIGC label`` text box is synthmark's label; hidden slides and shapes are never labels."""
    found = []
    for number, name in enumerate(_slides(package, path), start=1):
        root = parse(package, name, path)
        shown = _shown(root)
        for text, shape, hidden in _slide_paragraphs(root):
            kind: BlockKind = "inert" if hidden or not shown else ("label" if shape == LABEL_NAME else "text")
            found.append(Block(text, kind, f"slide {number}"))
    return mark_edges(found)


def _prefix_of(xml: str, namespace: str) -> str | None:
    match = re.search(r'xmlns:(\w+)\s*=\s*"' + re.escape(namespace) + '"', xml[: xml.find(">", xml.find("<", 40)) + 1])
    return match.group(1) if match else None


def label(package: zipfile.ZipFile, style: TextLabelStyle, path: str | None) -> dict[str, str]:
    """The first shown slide with the label text box last in its shape tree (drawn on top)."""
    from synthmark.text import _font

    phrase = label_text(style)
    slides = [name for name in _slides(package, path) if _shown(parse(package, name, path))]
    if not slides:
        raise RenderError("the presentation has no shown slide to label", path=path, fix="add a slide")
    presentation = read_part(package, "ppt/presentation.xml", path)
    size = re.search(r"<(?:\w+:)?sldSz\b[^>]*?\bcx\s*=\s*\"(\d+)\"[^>]*?\bcy\s*=\s*\"(\d+)\"", presentation)
    width, height = (int(size.group(1)), int(size.group(2))) if size else (9_144_000, 6_858_000)  # 4:3 default
    points = SLIDE_TEXT_HEIGHT * min(width, height) / 12_700  # EMU per point
    inset = round(points * 12_700 * 0.3)
    # The viewer sets the text in the theme's font, not ours: leave a quarter more room.
    box_w = round(_font.advance(phrase) * points * 12_700 * 1.25) + 2 * inset
    box_h = round(points * 1.2 * 12_700) + 2 * inset
    margin = round(points * 0.5 * 12_700)
    if box_w + 2 * margin > width:
        raise RenderError(
            f"the label {phrase!r} is wider than the slide at {points:.0f} pt", path=path, fix="use a shorter wording"
        )
    x, y = (margin, margin) if style.position == "start" else (width - box_w - margin, height - box_h - margin)
    name = slides[0]
    xml = read_part(package, name, path)
    a = _prefix_of(xml, "http://schemas.openxmlformats.org/drawingml/2006/main")
    p = _prefix_of(xml, "http://schemas.openxmlformats.org/presentationml/2006/main")
    declare = ""
    if a is None or p is None:  # unusual prefixes: declare our own on the shape
        a, p = "a", "p"
        declare = (
            ' xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
            ' xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
        )
    ids = [int(n) for n in re.findall(r"<(?:\w+:)?cNvPr\b[^>]*?\bid\s*=\s*\"(\d+)\"", xml)]
    text = html.escape(phrase, quote=False)
    shape = (
        f'<{p}:sp{declare}><{p}:nvSpPr><{p}:cNvPr id="{max([1, *ids]) + 1}" name="{LABEL_NAME}" '
        f'descr="{html.escape(phrase)}"/><{p}:cNvSpPr txBox="1"/><{p}:nvPr/></{p}:nvSpPr>'
        f'<{p}:spPr><{a}:xfrm><{a}:off x="{x}" y="{y}"/><{a}:ext cx="{box_w}" cy="{box_h}"/></{a}:xfrm>'
        f'<{a}:prstGeom prst="rect"><{a}:avLst/></{a}:prstGeom>'
        f'<{a}:solidFill><{a}:srgbClr val="FFFFFF"><{a}:alpha val="85000"/></{a}:srgbClr></{a}:solidFill>'
        f'<{a}:ln w="9525"><{a}:solidFill><{a}:srgbClr val="404040"/></{a}:solidFill></{a}:ln></{p}:spPr>'
        f'<{p}:txBody><{a}:bodyPr wrap="none" lIns="{inset}" tIns="{inset}" rIns="{inset}" bIns="{inset}" '
        f'rtlCol="0" anchor="ctr"><{a}:spAutoFit/></{a}:bodyPr><{a}:lstStyle/><{a}:p><{a}:r>'
        f'<{a}:rPr lang="zh-CN" altLang="en-US" sz="{round(points * 100)}" b="1" dirty="0">'
        f'<{a}:solidFill><{a}:srgbClr val="000000"/></{a}:solidFill></{a}:rPr>'
        f"<{a}:t>{text}</{a}:t></{a}:r></{a}:p></{p}:txBody></{p}:sp>"
    )
    closing = list(re.finditer(r"</(?:\w+:)?spTree\s*>", xml))
    if not closing:
        raise CorruptFileError(f"{name} has no shape tree", path=path, fix="re-save the presentation")
    at = closing[-1].start()  # last in the tree: drawn on top of everything else
    return {name: xml[:at] + shape + xml[at:]}
