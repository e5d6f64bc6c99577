"""Office Open XML packages (DOCX, XLSX, PPTX): the AIGC label as the custom document property
``AIGC`` in ``docProps/custom.xml`` (TC260 text guide), and for DOCX the explicit label as the
first or last paragraph of the body.

The package is rewritten part by part with the standard library's zipfile: every other part
keeps its exact content, name, order, timestamp and compression method; ``custom.xml`` is edited
as text when it exists (other properties keep their bytes) and made, with its content-type
override and package relationship, when it does not. DOCTYPE and ENTITY declarations are
refused (XML entity expansion); packages over :data:`MAX_PARTS` parts or
:data:`~synthmark.formats.MAX_FILE_BYTES` uncompressed are refused (ZIP bombs).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from xml.etree import ElementTree

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, MetadataError, TooLargeError, UnsupportedFormatError, WatermarkError
from synthmark.metadata import Carrier
from synthmark.payload import Mark
from synthmark.text._common import style_of
from synthmark.text.explicit import find_explicit_phrases, label_text

CARRIES_METADATA = True
#: The explicit label is written into DOCX bodies only (a sheet or a slide has no natural place).
EXPLICIT_FORMATS = ("docx",)
#: Most parts a package may have.
MAX_PARTS = 10_000

CUSTOM = "docProps/custom.xml"
_CUSTOM_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_FMTID = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"
_NS_PROPS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_NS_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_EMPTY_CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    f'<Properties xmlns="{_NS_PROPS}" xmlns:vt="{_NS_VT}"></Properties>'
)
_KIND = (("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx"))
# Text-bearing parts, their run element and paragraph element, per package kind.
_TEXT_PARTS = {
    "docx": (re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml"), "w:t", "w:p"),
    "xlsx": (re.compile(r"xl/(sharedStrings|worksheets/sheet\d+)\.xml"), "t", "(?:si|is)"),
    "pptx": (re.compile(r"ppt/slides/slide\d+\.xml"), "a:t", "a:p"),
}


def _open(data: bytes, path: str | None) -> tuple[zipfile.ZipFile, str]:
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
        infos = package.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise CorruptFileError(f"not a readable ZIP package ({exc})", path=path, fix="re-save the document") from exc
    from synthmark.formats import MAX_FILE_BYTES

    if len(infos) > MAX_PARTS or sum(i.file_size for i in infos) > MAX_FILE_BYTES:
        raise TooLargeError(
            f"package has {len(infos)} parts and {sum(i.file_size for i in infos)} bytes uncompressed",
            path=path,
            fix="raise synthmark.formats.MAX_FILE_BYTES if this file is trusted",
        )
    names = {i.filename for i in infos}
    kind = next((k for part, k in _KIND if part in names), None)
    if kind is None or "[Content_Types].xml" not in names:
        raise UnsupportedFormatError(
            "ZIP file is not a DOCX, XLSX or PPTX package", path=path, fix="pass an Office file"
        )
    return package, kind


def _read(package: zipfile.ZipFile, name: str, path: str | None) -> str:
    try:
        raw = package.read(name)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise CorruptFileError(f"part {name} cannot be read ({exc})", path=path, fix="re-save the document") from exc
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


def check(data: bytes, *, path: str | None = None) -> None:
    package, _ = _open(data, path)
    package.close()


def _properties(xml: str, path: str | None) -> list[tuple[str, str]]:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise CorruptFileError(f"{CUSTOM} is not well-formed XML ({exc})", path=path, fix="re-save it") from exc
    out = []
    for prop in root.iter(f"{{{_NS_PROPS}}}property"):
        value = next(iter(prop), None)
        out.append((prop.get("name") or "", "" if value is None else (value.text or "")))
    return out


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Each custom property named ``AIGC`` (case-insensitive) of ``docProps/custom.xml``."""
    package, _ = _open(data, path)
    with package:
        if CUSTOM not in package.namelist():
            return []
        xml = _read(package, CUSTOM, path)
    return [Carrier("custom-xml", value) for name, value in _properties(xml, path) if name.upper() == "AIGC"]


_PROPERTY = re.compile(r"<(?:\w+:)?property\b[^>]*\bname\s*=\s*([\"'])(?i:aigc)\1.*?</(?:\w+:)?property>", re.DOTALL)
_PID = re.compile(r"\bpid\s*=\s*[\"'](\d+)[\"']")


def _custom_with(xml: str, label: AIGCLabel, path: str | None) -> str:
    """``custom.xml`` text with exactly one AIGC property (other properties keep their bytes)."""
    xml = _PROPERTY.sub("", xml)
    pids = [int(p) for p in _PID.findall(xml)]
    props = re.search(r"<(\w+:)?Properties\b[^>]*>", xml)
    close = re.search(r"</(\w+:)?Properties\s*>", xml)
    if props is None:
        raise CorruptFileError(f"{CUSTOM} has no Properties element", path=path, fix="re-save the document")
    prefix = props.group(1) or ""
    # The vt prefix must be in scope: declared on the root (else declared on the new property).
    vt = re.search(r'xmlns:(\w+)\s*=\s*"' + re.escape(_NS_VT) + '"', props.group(0))
    vt_prefix = vt.group(1) if vt else "vt"
    declare = "" if vt else f' xmlns:{vt_prefix}="{_NS_VT}"'
    element = (
        f'<{prefix}property fmtid="{_FMTID}" pid="{max(pids, default=1) + 1}" name="AIGC"{declare}>'
        f"<{vt_prefix}:lpwstr>{html.escape(label.to_json(), quote=False)}</{vt_prefix}:lpwstr></{prefix}property>"
    )
    if close is None:  # <Properties/>
        selfclosing = re.search(r"<(\w+:)?Properties\b([^>]*)/>", xml)
        if selfclosing is None:
            raise CorruptFileError(f"{CUSTOM} is malformed", path=path, fix="re-save the document")
        tag = f"<{prefix}Properties{selfclosing.group(2)}>"
        return xml[: selfclosing.start()] + tag + element + f"</{prefix}Properties>" + xml[selfclosing.end() :]
    return xml[: close.start()] + element + xml[close.start() :]


def _with_override(types: str) -> str:
    if re.search(r'PartName\s*=\s*"/docProps/custom\.xml"', types, re.IGNORECASE):
        return types
    override = f'<Override PartName="/{CUSTOM}" ContentType="{_CUSTOM_TYPE}"/>'
    close = types.rindex("</Types>")
    return types[:close] + override + types[close:]


def _with_relationship(rels: str) -> str:
    if re.search(r'Target\s*=\s*"/?docProps/custom\.xml"', rels):
        return rels
    ids = {int(n) for n in re.findall(r'Id\s*=\s*"rId(\d+)"', rels)}
    rel = f'<Relationship Id="rId{max(ids, default=0) + 1}" Type="{_CUSTOM_REL}" Target="{CUSTOM}"/>'
    close = rels.rindex("</Relationships>")
    return rels[:close] + rel + rels[close:]


def _rewrite(package: zipfile.ZipFile, changed: dict[str, str], path: str | None) -> bytes:
    """The package with ``changed`` parts replaced (or added at the end), all else as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in package.infolist():
            data = changed[info.filename].encode("utf-8") if info.filename in changed else package.read(info)
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
                target.writestr(info, text.encode("utf-8"))
    return out.getvalue()


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """Exactly one ``AIGC`` custom property; other properties and parts are kept."""
    package, _ = _open(data, path)
    with package:
        names = set(package.namelist())
        custom = _read(package, CUSTOM, path) if CUSTOM in names else _EMPTY_CUSTOM
        changed = {CUSTOM: _custom_with(custom, label, path)}
        if CUSTOM not in names:
            changed["[Content_Types].xml"] = _with_override(_read(package, "[Content_Types].xml", path))
            if "_rels/.rels" not in names:
                raise MetadataError("package has no _rels/.rels", path=path, fix="re-save the document")
            changed["_rels/.rels"] = _with_relationship(_read(package, "_rels/.rels", path))
        return _rewrite(package, changed, path)


def text_of(data: bytes, *, path: str | None = None) -> str:
    """The document's text: runs joined, one line per paragraph (DOCX: body, headers,
    footers, notes; XLSX: shared strings; PPTX: slides in order)."""
    package, kind = _open(data, path)
    pattern, run, paragraph = _TEXT_PARTS[kind]
    run_re = re.compile(rf"<{run}\b[^>]*?(?:/>|>(.*?)</{run}>)|</{paragraph}>", re.DOTALL)
    lines: list[str] = []
    with package:
        names = sorted(
            (n for n in package.namelist() if pattern.fullmatch(n)),
            key=lambda n: [int(d) if d.isdigit() else d for d in re.split(r"(\d+)", n)],
        )
        for name in names:
            current: list[str] = []
            for match in run_re.finditer(_read(package, name, path)):
                if match.group(0).startswith("</"):
                    lines.append("".join(current))
                    current = []
                elif match.group(1):
                    current.append(html.unescape(match.group(1)))
            if current:
                lines.append("".join(current))
    return "\n".join(lines)


def supports_explicit(data: bytes, *, path: str | None = None) -> bool:
    _, kind = _open(data, path)
    return kind in EXPLICIT_FORMATS


def relabel(data: bytes, style: object, mark: Mark | None, *, path: str | None = None) -> bytes:
    """DOCX: the explicit label as the first (start) or last (end) paragraph of the body. The
    Unicode mark is not put into Office files (:class:`WatermarkError`)."""
    if mark is not None:
        raise WatermarkError(
            "the invisible text mark is written into plain text, Markdown and HTML only",
            path=path,
            fix="mark the text before it goes into the document",
        )
    text_style = style_of(style)
    package, kind = _open(data, path)
    with package:
        if text_style is None or kind not in EXPLICIT_FORMATS:
            return data
        if any(p.compliant for p in find_explicit_phrases(text_of(data, path=path))):
            return data
        xml = _read(package, "word/document.xml", path)
        run = (
            f'<w:p><w:r><w:t xml:space="preserve">{html.escape(label_text(text_style), quote=False)}</w:t></w:r></w:p>'
        )
        body = re.search(r"<w:body\b[^>]*>", xml)
        if body is None:
            raise CorruptFileError("word/document.xml has no body", path=path, fix="re-save the document")
        if text_style.position == "start":
            xml = xml[: body.end()] + run + xml[body.end() :]
        else:
            # Before the body's own section properties (which must stay last), else before </w:body>.
            end = xml.rindex("</w:body>")
            sect = xml.rfind("<w:sectPr", body.end(), end)
            last_para = xml.rfind("</w:p>", body.end(), end)
            at = sect if sect > last_para else end
            xml = xml[:at] + run + xml[at:]
        return _rewrite(package, {"word/document.xml": xml}, path)
