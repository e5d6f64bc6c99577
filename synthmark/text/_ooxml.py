"""Office Open XML package plumbing shared by the DOCX, PPTX and XLSX modules: opening a
package within the safety limits, reading a part (DOCTYPE and ENTITY declarations refused, so
no entity is ever expanded), parsing it namespace-agnostically (transitional and strict OOXML
alike), following relationships, the paragraphs a reader sees, and writing the package back
part by part (every other part keeps its bytes, name, order, timestamp and compression).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterable
from xml.etree import ElementTree

from synthmark._zip import ZIP_ERRORS, check_method, read_member
from synthmark.errors import CorruptFileError, TooLargeError, UnsupportedFormatError

#: Most parts a package may have.
MAX_PARTS = 10_000
#: Largest XML part synthmark parses, inflated (bytes); a zip member is inflated in steps and
#: refused one byte past it, whatever size its headers declare.
MAX_XML_PART_BYTES = 128 << 20
_FIX = "re-save the document"
_KIND = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx"))


def open_package(data: bytes, path: str | None) -> tuple[zipfile.ZipFile, str]:
    """The package and its kind (``"docx"``, ``"xlsx"``, ``"pptx"``), within the safety limits."""
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        infos = package.infolist()
    except ZIP_ERRORS as exc:
        raise CorruptFileError(f"not a readable ZIP package ({exc})", path=path, fix="re-save the document") from exc
    from synthmark.formats import MAX_FILE_BYTES

    if len(infos) > MAX_PARTS or sum(i.file_size for i in infos) > MAX_FILE_BYTES:
        raise TooLargeError(
            f"package has {len(infos)} parts and {sum(i.file_size for i in infos)} bytes uncompressed",
            path=path,
            fix="raise synthmark.formats.MAX_FILE_BYTES if this file is trusted",
        )
    for info in infos:  # every part is copied when the package is written back
        check_method(info, path=path)
    names = {i.filename for i in infos}
    kind = next((k for part, k in _KIND if part in names), None)
    if kind is None or "[Content_Types].xml" not in names:
        raise UnsupportedFormatError(
            "ZIP file is not a DOCX, XLSX or PPTX package", path=path, fix="pass an Office file"
        )
    return package, kind


def read_part(package: zipfile.ZipFile, name: str, path: str | None) -> str:
    """A part's XML text (UTF-8 or UTF-16); DOCTYPE and ENTITY declarations are refused."""
    raw = read_member(package, name, limit=MAX_XML_PART_BYTES, path=path, fix=_FIX)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorruptFileError(f"part {name} is not UTF-8 or UTF-16 XML", path=path, fix="re-save it") from exc
    if re.search(r"<!(DOCTYPE|ENTITY)", text):
        raise CorruptFileError(f"part {name} declares a DOCTYPE or ENTITY", path=path, fix="re-save the document")
    return text


_DECLARED_ENCODING = re.compile(r"\A(\ufeff?<\?xml[^>]*?\bencoding\s*=\s*[\"'])[^\"']*")


def _utf8(text: str) -> bytes:
    """A changed part as UTF-8, its XML declaration saying so (a part read as UTF-16 is written
    back as UTF-8)."""
    return _DECLARED_ENCODING.sub(r"\1UTF-8", text, count=1).encode("utf-8")


def rewrite(package: zipfile.ZipFile, changed: dict[str, str], path: str | None) -> bytes:
    """The package with ``changed`` parts replaced (or added at the end), all else as it was.

    Every other part is inflated within the package's size limit; a damaged one is a
    :class:`CorruptFileError` naming it (the package is refused whole, never half-written).
    """
    from synthmark.formats import MAX_FILE_BYTES

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in package.infolist():
            if info.filename in changed:
                data = _utf8(changed[info.filename])
            else:
                data = read_member(package, info, limit=MAX_FILE_BYTES, path=path, fix=_FIX)
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            copy.create_system = info.create_system
            copy.comment = info.comment
            target.writestr(copy, data)
        existing = set(package.namelist())
        for name, text in changed.items():
            if name not in existing:
                info = zipfile.ZipInfo(name, package.infolist()[0].date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                target.writestr(info, _utf8(text))
    return out.getvalue()


# -- reading the parts as XML ----------------------------------------------------------------

NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_BASE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
TRUE = ("1", "true", "on")


def local(name: str) -> str:
    """An element or attribute name without its namespace (strict and transitional OOXML alike)."""
    return name.rsplit("}", 1)[-1]


def attr(element: ElementTree.Element, name: str) -> str | None:
    """The attribute whose local name is ``name``, in any namespace."""
    return next((value for key, value in element.attrib.items() if local(key) == name), None)


def rid(element: ElementTree.Element) -> str:
    """The relationship id (``r:id``) of an element: its namespaced ``id`` attribute."""
    return next((v for k, v in element.attrib.items() if k.startswith("{") and local(k) == "id"), "")


def parse(package: zipfile.ZipFile, name: str, path: str | None) -> ElementTree.Element:
    # read_part refuses DOCTYPE and ENTITY declarations, so expat expands nothing.
    try:
        return ElementTree.fromstring(read_part(package, name, path))
    except ElementTree.ParseError as exc:
        raise CorruptFileError(f"{name} is not well-formed XML ({exc})", path=path, fix="re-save it") from exc


def rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def relationships(package: zipfile.ZipFile, part: str, path: str | None) -> list[tuple[str, str, str]]:
    """(Id, type, part name) of each internal relationship of ``part``."""
    name = rels_name(part)
    if name not in package.namelist():
        return []
    out = []
    for rel in parse(package, name, path):
        target = rel.get("Target") or ""
        if rel.get("TargetMode") == "External" or not target:
            continue
        resolved = (
            target[1:]
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
        )
        out.append((rel.get("Id") or "", rel.get("Type") or "", resolved))
    return out


def paragraphs(root: ElementTree.Element, marker: str | None = None) -> list[tuple[str, bool]]:
    """Each paragraph (``w:p``, ``a:p``) under ``root`` in document order: its shown text and
    whether it holds the bookmark ``marker``. Runs hidden with ``w:vanish`` and the
    ``mc:Fallback`` copies of ``mc:Choice`` content are left out; a paragraph nested in another
    (a text box) is its own paragraph."""
    out: list[tuple[list[str], list[bool]]] = []
    current: tuple[list[str], list[bool]] | None = None
    stack: list[tuple[ElementTree.Element, tuple[list[str], list[bool]] | None]] = [(root, None)]
    while stack:  # iterative: nesting depth is the file's, not ours to recurse on
        element, current = stack.pop()
        name = local(element.tag)
        if name == "Fallback" or (name == "r" and _vanished(element)):
            continue
        if name == "p":
            current = ([], [False])
            out.append(current)
        elif current is not None:
            if name == "t":
                current[0].append(element.text or "")
            elif name in ("br", "cr"):
                current[0].append("\n")
            elif name == "bookmarkStart" and marker is not None and attr(element, "name") == marker:
                current[1][0] = True
        stack.extend((child, current) for child in reversed(element))
    return [("".join(text), mark[0]) for text, mark in out]


def _vanished(run: ElementTree.Element) -> bool:
    """Whether a Word run is hidden text (``w:vanish``)."""
    for child in run:
        if local(child.tag) == "rPr":
            for prop in child:
                if local(prop.tag) in ("vanish", "specVanish"):
                    return (attr(prop, "val") or "true").lower() in TRUE
    return False


def insert_before_last(text: str, closing: str, addition: str, part: str, path: str | None = None) -> str:
    """``text`` with ``addition`` before its last ``closing`` tag; a part without it (a
    self-closed or cut root) is a :class:`CorruptFileError`."""
    close = text.rfind(closing)
    if close < 0:
        raise CorruptFileError(f"{part} has no {closing} closing tag", path=path, fix=_FIX)
    return text[:close] + addition + text[close:]


def free_name(names: Iterable[str], pattern: str) -> str:
    """``pattern`` (with ``{}`` for a number) with the lowest number not yet taken."""
    taken = set(names)
    return next(pattern.format(n) for n in range(1, MAX_PARTS + 2) if pattern.format(n) not in taken)


def add_relationship(rels: str | None, kind: str, target: str) -> tuple[str, str]:
    """``rels`` (None: a new part) with a relationship to ``target``, and its new Id."""
    if rels is None:
        rels = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>'
        )
    taken = set(re.findall(r'\bId\s*=\s*"([^"]*)"', rels))
    rid = free_name(taken, "rId{}")
    rel = f'<Relationship Id="{rid}" Type="{REL_BASE}{kind}" Target="{target}"/>'
    return insert_before_last(rels, "</Relationships>", rel, "a relationships part"), rid


def with_type(types: str, part: str, content_type: str) -> str:
    """``[Content_Types].xml`` text where ``part`` has ``content_type`` (an override, unless an
    extension default already gives it)."""
    extension = part.rsplit(".", 1)[-1]
    default = re.search(rf'<Default\b[^>]*Extension\s*=\s*"{re.escape(extension)}"[^>]*>', types, re.IGNORECASE)
    if default and content_type in default.group(0):
        return types
    if re.search(rf'PartName\s*=\s*"/{re.escape(part)}"', types, re.IGNORECASE):
        return types
    override = f'<Override PartName="/{part}" ContentType="{content_type}"/>'
    return insert_before_last(types, "</Types>", override, "[Content_Types].xml")
