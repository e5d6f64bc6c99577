"""XLSX: the explicit label in the header (start) or footer (end) of every sheet — the left
(right) section, or a line of its own when that section is taken, printed on every page — and
a note by ``AIGC label`` on cell A1 (or the first free cell of row 1) of the first visible
worksheet, set to be always shown; and what a reader sees, for the label reader."""

from __future__ import annotations

import html
import posixpath
import re
import zipfile

from synthmark.errors import CorruptFileError, RenderError
from synthmark.text._ooxml import (
    NS_REL,
    REL_BASE,
    TRUE,
    add_relationship,
    free_name,
    local,
    open_package,
    parse,
    read_part,
    relationships,
    rels_name,
    rid,
    with_type,
)
from synthmark.text.explicit import Block, TextLabelStyle, label_text, locate_labels

#: The author of the note synthmark adds.
LABEL_NAME = "AIGC label"
#: Longest header or footer Excel accepts, in characters.
MAX_HEADER_CHARS = 255

_HEADER_CHILDREN = ("oddHeader", "oddFooter", "evenHeader", "evenFooter", "firstHeader", "firstFooter")
# Elements that follow headerFooter in a worksheet or chartsheet (ECMA-376 CT_Worksheet and
# CT_Chartsheet): a new headerFooter goes before the first of them.
_AFTER_HEADER = (
    "rowBreaks|colBreaks|customProperties|cellWatches|ignoredErrors|smartTags|drawing|legacyDrawing|"
    "legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts|extLst|AlternateContent"
)
# Header and footer codes (ECMA-376 18.3.1.46): &L &C &R sections, &"font,style", &12 sizes,
# &K colours, &P page numbers and the like; && is a literal ampersand.
_HF_TOKEN = re.compile(r"&&|&[LCR]|&\"[^\"]*\"|&\d+|&K(?:[0-9A-Fa-f]{6}|\d\d[+-]\d{3})|&[A-Za-z]|&|[^&]+")
_COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"


def _sheets(package: zipfile.ZipFile, path: str | None) -> list[tuple[str, str, bool, bool]]:
    """(name, part, visible, is a worksheet) of each sheet in workbook order."""
    workbook = "xl/workbook.xml"
    rels = {rel_id: (kind, target) for rel_id, kind, target in relationships(package, workbook, path)}
    names = set(package.namelist())
    out = []
    for sheet in parse(package, workbook, path).iter():
        if local(sheet.tag) != "sheet":
            continue
        kind, target = rels.get(rid(sheet), ("", ""))
        if target in names and kind.endswith(("/worksheet", "/chartsheet")):
            visible = (sheet.get("state") or "visible") == "visible"
            out.append((sheet.get("name") or "", target, visible, kind.endswith("/worksheet")))
    return out


def _sections(code: str) -> dict[str, str]:
    """A header or footer string cut into its left, centre and right sections (raw codes kept;
    text before any section code is centred, as Excel does)."""
    sections = {"L": "", "C": "", "R": ""}
    current = "C"
    for token in _HF_TOKEN.findall(code):
        if token in ("&L", "&C", "&R"):
            current = token[1]
        else:
            sections[current] += token
    return sections


def _shown_text(section: str) -> str:
    """What a section prints: codes removed, ``&&`` as ``&``."""
    return "".join("&" if t == "&&" else ("" if t.startswith("&") else t) for t in _HF_TOKEN.findall(section))


def _comments(package: zipfile.ZipFile, part: str, path: str | None) -> list[tuple[str, str, str]]:
    """(cell, author, text) of each note of a comments part."""
    root = parse(package, part, path)
    authors = [el.text or "" for el in root.iter() if local(el.tag) == "author"]
    out = []
    for comment in root.iter():
        if local(comment.tag) != "comment":
            continue
        index = int(comment.get("authorId") or 0)
        text = "".join(el.text or "" for el in comment.iter() if local(el.tag) == "t")
        out.append((comment.get("ref") or "", authors[index] if 0 <= index < len(authors) else "", text))
    return out


def blocks(package: zipfile.ZipFile, path: str | None) -> list[Block]:
    """Each line of each header and footer section of every sheet (label positions: printed on
    every page), each note (by ``AIGC label``: synthmark's label; others' notes count when they
    read as a label), then the cell strings (data, never a label: a column of "AI生成" values
    says what the rows are, not what the workbook is)."""
    found: list[Block] = []
    for name, part, _, _ in _sheets(package, path):
        root = parse(package, part, path)
        for element in root.iter():
            child = local(element.tag)
            if child in _HEADER_CHILDREN:
                for section in _sections(element.text or "").values():
                    for line in _shown_text(section).splitlines():
                        found.append(Block(line, "edge", f"sheet {name!r} {child}"))
        for _, kind, target in relationships(package, part, path):
            if kind == REL_BASE + "comments" and target in package.namelist():
                for cell, author, text in _comments(package, target, path):
                    found.append(
                        Block(text, "label" if author == LABEL_NAME else "text", f"sheet {name!r} note {cell}")
                    )
    strings = [n for n in package.namelist() if re.fullmatch(r"xl/(sharedStrings|worksheets/sheet\d+)\.xml", n)]
    for name in sorted(strings):
        root = parse(package, name, path)
        for element in root.iter():
            if local(element.tag) in ("si", "is"):
                text = "".join(el.text or "" for el in element.iter() if local(el.tag) == "t")
                found.append(Block(text, "inert", "cells"))
    return found


def _with_header(xml: str, phrase: str, footer: bool, sheet: str, path: str | None) -> str:
    """A sheet's XML with ``phrase`` in its header (footer): odd pages, and the even and first
    pages where the sheet sets them apart. Left section of the header, right of the footer; on
    a line of its own when that section is taken."""
    side = "R" if footer else "L"
    kind = "Footer" if footer else "Header"
    root_tag = re.search(r"<(\w+:)?(worksheet|chartsheet|dialogsheet)\b", xml)
    prefix = root_tag.group(1) or "" if root_tag else ""
    match = re.search(rf"<{prefix}headerFooter\b([^>]*?)(/>|>(.*?)</{prefix}headerFooter\s*>)", xml, re.DOTALL)
    attrs, children = (match.group(1), match.group(3) or "") if match else ("", "")
    values: dict[str, str] = {}
    for child in re.finditer(rf"<{prefix}(\w+)\b[^>]*?(?:/>|>(.*?)</{prefix}\1\s*>)", children, re.DOTALL):
        values[child.group(1)] = html.unescape(child.group(2) or "")

    def flag(name: str) -> bool:
        found = re.search(rf"\b{name}\s*=\s*\"([^\"]*)\"", attrs)
        return found is not None and found.group(1).lower() in TRUE

    pages = ["odd"] + (["even"] if flag("differentOddEven") else []) + (["first"] if flag("differentFirst") else [])
    escaped = phrase.replace("&", "&&")
    for page in pages:
        sections = _sections(values.get(f"{page}{kind}", ""))
        sections[side] = escaped + ("\n" + sections[side] if sections[side] else "")
        code = "".join(f"&{k}{v}" for k, v in sections.items() if v)
        if len(code) > MAX_HEADER_CHARS:
            raise RenderError(
                f"the {page} {kind.lower()} of sheet {sheet!r} would exceed {MAX_HEADER_CHARS} characters",
                path=path,
                fix="shorten that header or footer, or the label wording",
            )
        values[f"{page}{kind}"] = code
    inner = "".join(
        f"<{prefix}{name}>{html.escape(values[name], quote=False)}</{prefix}{name}>"
        for name in _HEADER_CHILDREN
        if name in values
    )
    element = f"<{prefix}headerFooter{attrs}>{inner}</{prefix}headerFooter>"
    if match:
        return xml[: match.start()] + element + xml[match.end() :]
    data_end = re.search(rf"</{prefix}sheetData\s*>|<{prefix}sheetData\s*/>", xml)
    after = re.compile(rf"<(?:\w+:)?(?:{_AFTER_HEADER})\b|</{prefix}(?:worksheet|chartsheet|dialogsheet)\s*>")
    following = after.search(xml, data_end.end() if data_end else 0)
    if following is None:
        raise CorruptFileError(f"sheet {sheet!r} is not closed", path=path, fix="re-save the workbook")
    return xml[: following.start()] + element + xml[following.start() :]


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_VML_NAMESPACES = (
    ' xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'
    ' xmlns:x="urn:schemas-microsoft-com:office:excel"'
)


def _note_shape(shape_id: int, column: int, declare: bool = False) -> str:
    """A VML note box beside row 1, ``column`` (0-based), always shown (``x:Visible``);
    ``declare`` puts the v, o and x namespace declarations on the shape itself (for a drawing
    whose writer declared them elsewhere or under other prefixes)."""
    v, o, x = "v", "o", "x"
    return (
        f'<{v}:shape{_VML_NAMESPACES if declare else ""} id="_x0000_s{shape_id}" type="#_x0000_t202" '
        f'style="position:absolute;margin-left:80pt;'
        f'margin-top:2pt;width:140pt;height:40pt;z-index:1;visibility:visible" fillcolor="#ffffe1" '
        f'{o}:insetmode="auto"><{v}:fill color2="#ffffe1"/><{v}:shadow on="t" color="black" obscured="t"/>'
        f'<{v}:path {o}:connecttype="none"/><{v}:textbox style="mso-direction-alt:auto">'
        f'<div style="text-align:left"></div></{v}:textbox><{x}:ClientData ObjectType="Note"><{x}:MoveWithCells/>'
        f"<{x}:SizeWithCells/><{x}:Anchor>{column + 1}, 15, 0, 2, {column + 3}, 15, 3, 4</{x}:Anchor>"
        f"<{x}:AutoFill>False</{x}:AutoFill><{x}:Row>0</{x}:Row><{x}:Column>{column}</{x}:Column>"
        f"<{x}:Visible/></{x}:ClientData></{v}:shape>"
    )


_SHAPETYPE = (
    '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
    '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
)


def _note(
    package: zipfile.ZipFile, changed: dict[str, str], sheet: str, part: str, phrase: str, path: str | None
) -> None:
    """Add the always-shown note by ``AIGC label`` on row 1 of ``part`` (to ``changed``)."""
    names = set(package.namelist()) | set(changed)
    rels_part = rels_name(part)
    rels: str | None = changed.get(rels_part) or (read_part(package, rels_part, path) if rels_part in names else None)
    relations = relationships(package, part, path)
    comments_part = next((t for _, k, t in relations if k == REL_BASE + "comments" and t in names), None)
    xml = changed.get(part) or read_part(package, part, path)
    legacy = re.search(r"<(?:\w+:)?legacyDrawing\b[^>]*?\b(?:\w+:)?id\s*=\s*\"([^\"]*)\"[^>]*/>", xml)
    vml_part = next((t for rel_id, _, t in relations if legacy and rel_id == legacy.group(1) and t in names), None)
    types = changed.get("[Content_Types].xml") or read_part(package, "[Content_Types].xml", path)

    used_cells = {cell for cell, _, _ in _comments(package, comments_part, path)} if comments_part else set()
    column = next((c for c in range(16_384) if f"{_column(c)}1" not in used_cells), None)
    if column is None:
        raise RenderError(f"row 1 of sheet {sheet!r} has a note in every cell", path=path, fix="free a cell")
    cell = f"{_column(column)}1"
    text = html.escape(phrase, quote=False)
    comment = (
        f'<comment ref="{cell}" authorId="{{author}}"><text><r><t xml:space="preserve">{text}</t></r></text></comment>'
    )
    if comments_part is None:
        comments_part = free_name(names, "xl/comments{}.xml")
        changed[comments_part] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<comments xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<authors><author>{LABEL_NAME}</author></authors><commentList>{comment.format(author=0)}</commentList>"
            "</comments>"
        )
        rels, _ = add_relationship(rels, "comments", "../" + posixpath.relpath(comments_part, "xl"))
        types = with_type(types, comments_part, _COMMENTS_TYPE)
    else:
        existing = read_part(package, comments_part, path)
        root_tag = re.search(r"<(\w+:)?comments\b", existing)
        prefix = (root_tag.group(1) or "") if root_tag else ""
        authors = re.findall(rf"<{prefix}author\b[^>]*>(.*?)</{prefix}author>", existing, re.DOTALL)
        decoded = [html.unescape(a) for a in authors]
        if LABEL_NAME in decoded:
            author = decoded.index(LABEL_NAME)
        else:
            author = len(authors)
            close = re.search(rf"</{prefix}authors\s*>", existing)
            if close is None:
                raise CorruptFileError(f"{comments_part} has no authors", path=path, fix="re-save the workbook")
            existing = (
                existing[: close.start()] + f"<{prefix}author>{LABEL_NAME}</{prefix}author>" + existing[close.start() :]
            )
        note = comment.format(author=author).replace("<", f"<{prefix}").replace(f"<{prefix}/", f"</{prefix}")
        close = re.search(rf"</{prefix}commentList\s*>", existing)
        if close is None:
            raise CorruptFileError(f"{comments_part} has no comment list", path=path, fix="re-save the workbook")
        changed[comments_part] = existing[: close.start()] + note + existing[close.start() :]

    if vml_part is None:
        vml_part = free_name(names | {comments_part}, "xl/drawings/vmlDrawing{}.vml")
        # Shape ids are unique across the workbook in blocks of 1024 (o:idmap); take a free block.
        idmaps = [0]
        for other in (n for n in names if n.endswith(".vml")):
            idmaps += [int(b) for b in re.findall(r"\bdata\s*=\s*\"(\d+)", read_part(package, other, path))]
        block = max(idmaps) + 1
        changed[vml_part] = (
            '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{block}"/></o:shapelayout>'
            f"{_SHAPETYPE}{_note_shape(block * 1024 + 1, column)}</xml>"
        )
        rels, vml_rid = add_relationship(rels, "vmlDrawing", "../" + posixpath.relpath(vml_part, "xl"))
        types = with_type(types, vml_part, _VML_TYPE)
        element = f'<legacyDrawing xmlns:r="{NS_REL}" r:id="{vml_rid}"/>'
        root_tag = re.search(r"<(\w+:)?worksheet\b", xml)
        if root_tag and root_tag.group(1):
            element = element.replace("<legacyDrawing", f"<{root_tag.group(1)}legacyDrawing")
        after = re.compile(
            r"<(?:\w+:)?(?:legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts|extLst|"
            r"AlternateContent)\b|</(?:\w+:)?worksheet\s*>"
        )
        data_end = re.search(r"</(?:\w+:)?sheetData\s*>|<(?:\w+:)?sheetData\s*/>", xml)
        following = after.search(xml, data_end.end() if data_end else 0)
        if following is None:
            raise CorruptFileError(f"sheet {sheet!r} is not closed", path=path, fix="re-save the workbook")
        changed[part] = xml[: following.start()] + element + xml[following.start() :]
    else:
        vml = changed.get(vml_part) or read_part(package, vml_part, path)
        ids = [int(n) for n in re.findall(r"_x0000_s(\d+)", vml)]
        idmap = re.search(r"\bdata\s*=\s*\"(\d+)", vml)
        block = int(idmap.group(1)) if idmap else 1
        shape_id = max([block * 1024, *ids]) + 1
        # Declared on our own elements: writers declare v, o and x on the root or under other
        # prefixes (openpyxl: ns0, ns1...), and a VML part is read as XML by most consumers.
        declared = all(f'xmlns:{p}="' in vml[: vml.find(">") + 1] for p in "vox")
        shapetype = _SHAPETYPE.replace("<v:shapetype", f"<v:shapetype{'' if declared else _VML_NAMESPACES}")
        addition = ("" if "_x0000_t202" in vml else shapetype) + _note_shape(shape_id, column, not declared)
        end = vml.rindex("</xml>") if "</xml>" in vml else len(vml)
        changed[vml_part] = vml[:end] + addition + vml[end:]
    if rels is None:  # both parts existed, so the sheet's relationships did too
        raise CorruptFileError(f"sheet {sheet!r} has no relationships part", path=path, fix="re-save the workbook")
    changed[rels_part] = rels
    changed["[Content_Types].xml"] = types


def label(package: zipfile.ZipFile, style: TextLabelStyle, path: str | None) -> dict[str, str]:
    """Every sheet with the label in its header (start) or footer (end), and the note on the
    first visible worksheet (with its comments part, drawing, relationships, content types)."""
    phrase = label_text(style)
    changed: dict[str, str] = {}
    sheets = _sheets(package, path)
    if not sheets:
        raise RenderError("the workbook has no sheet to label", path=path, fix="add a sheet")
    for name, part, _, _ in sheets:
        changed[part] = _with_header(read_part(package, part, path), phrase, style.position != "start", name, path)
    first = next(((name, part) for name, part, visible, worksheet in sheets if visible and worksheet), None)
    if first is not None:
        _note(package, changed, first[0], first[1], phrase, path)
    return changed


def check_written(data: bytes, style: TextLabelStyle, path: str | None) -> None:
    """Read the written workbook back: every sheet's header (footer) and the note must carry the
    label at a label position."""
    package, _ = open_package(data, path)
    with package:
        phrases = locate_labels(blocks(package, path))
        sheets = _sheets(package, path)
    where = {p.where for p in phrases if p.at_label_position}
    kind = "Footer" if style.position != "start" else "Header"
    missing = [name for name, _, _, _ in sheets if f"sheet {name!r} odd{kind}" not in where]
    first = next((name for name, _, visible, worksheet in sheets if visible and worksheet), None)
    if first is not None and not any(w and w.startswith(f"sheet {first!r} note ") for w in where):
        missing.append(f"{first} (note)")
    if missing:
        raise RenderError(
            f"the explicit label does not read back in sheet(s) {', '.join(map(repr, missing))}",
            path=path,
            fix="report this file; meanwhile add the label where the workbook is authored",
        )
