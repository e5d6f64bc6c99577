"""Office Open XML packages (DOCX, XLSX, PPTX): the AIGC label as the custom document property
``AIGC`` in ``docProps/custom.xml`` (TC260 text guide), and the explicit label inside the file
(art. 4 of the Measures: exported files carry it too):

* DOCX (:mod:`synthmark.text._docx`): the first or last paragraph of the body, marked with the
  hidden bookmark ``_AIGC_label``;
* PPTX (:mod:`synthmark.text._pptx`): a text box named ``AIGC label`` on the first shown slide;
* XLSX (:mod:`synthmark.text._xlsx`): the header or footer of every sheet and an always-shown
  note on the first visible worksheet.

Each of those modules also cuts its documents into what a reader sees (:func:`explicit_blocks`),
so a label is skipped only when a compliant one already stands at a label position.

The package is rewritten part by part with the standard library's zipfile: every other part
keeps its exact content, name, order, timestamp and compression method; ``custom.xml`` is edited
as text when it exists (other properties keep their bytes) and made, with its content-type
override and package relationship, when it does not. DOCTYPE and ENTITY declarations are
refused (XML entity expansion); packages over
:data:`~synthmark.text._ooxml.MAX_PARTS` parts or
:data:`~synthmark.formats.MAX_FILE_BYTES` uncompressed are refused (ZIP bombs).
"""

from __future__ import annotations

import html
import importlib
import re
from typing import Any
from xml.etree import ElementTree

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, MetadataError, WatermarkError
from synthmark.metadata import Carrier
from synthmark.payload import Mark
from synthmark.text._common import style_of
from synthmark.text._ooxml import MAX_PARTS as MAX_PARTS
from synthmark.text._ooxml import insert_before_last
from synthmark.text._ooxml import open_package as _open
from synthmark.text._ooxml import read_part as _read
from synthmark.text._ooxml import rewrite as _rewrite
from synthmark.text.explicit import Block, has_label

CARRIES_METADATA = True

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
# Text-bearing parts, their run element and paragraph element, per package kind.
_TEXT_PARTS = {
    "docx": (re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml"), "w:t", "w:p"),
    "xlsx": (re.compile(r"xl/(sharedStrings|worksheets/sheet\d+)\.xml"), "t", "(?:si|is)"),
    "pptx": (re.compile(r"ppt/slides/slide\d+\.xml"), "a:t", "a:p"),
}


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


def _with_override(types: str, path: str | None) -> str:
    if re.search(r'PartName\s*=\s*"/docProps/custom\.xml"', types, re.IGNORECASE):
        return types
    override = f'<Override PartName="/{CUSTOM}" ContentType="{_CUSTOM_TYPE}"/>'
    return insert_before_last(types, "</Types>", override, "[Content_Types].xml", path)


def _with_relationship(rels: str, path: str | None) -> str:
    if re.search(r'Target\s*=\s*"/?docProps/custom\.xml"', rels):
        return rels
    ids = {int(n) for n in re.findall(r'Id\s*=\s*"rId(\d+)"', rels)}
    rel = f'<Relationship Id="rId{max(ids, default=0) + 1}" Type="{_CUSTOM_REL}" Target="{CUSTOM}"/>'
    return insert_before_last(rels, "</Relationships>", rel, "_rels/.rels", path)


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """Exactly one ``AIGC`` custom property; other properties and parts are kept."""
    package, _ = _open(data, path)
    with package:
        names = set(package.namelist())
        custom = _read(package, CUSTOM, path) if CUSTOM in names else _EMPTY_CUSTOM
        changed = {CUSTOM: _custom_with(custom, label, path)}
        if CUSTOM not in names:
            changed["[Content_Types].xml"] = _with_override(_read(package, "[Content_Types].xml", path), path)
            if "_rels/.rels" not in names:
                raise MetadataError("package has no _rels/.rels", path=path, fix="re-save the document")
            changed["_rels/.rels"] = _with_relationship(_read(package, "_rels/.rels", path), path)
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
    """Every package kind takes the explicit label (DOCX paragraph, PPTX text box, XLSX headers,
    footers and note)."""
    package, _ = _open(data, path)
    package.close()
    return True


# -- the explicit label, one module per kind ------------------------------------------------------

#: The module that places and reads the explicit label, per package kind: each has
#: ``blocks(package, path)`` and ``label(package, style, path)`` (changed parts), and may have
#: ``check_written(data, style, path)`` (a check of every placement, beyond the reader's).
_EXPLICIT = {"docx": "synthmark.text._docx", "pptx": "synthmark.text._pptx", "xlsx": "synthmark.text._xlsx"}


def _kind_module(kind: str) -> Any:
    return importlib.import_module(_EXPLICIT[kind])


def explicit_blocks(data: bytes, *, path: str | None = None) -> list[Block]:
    """What a reader sees, as :class:`~synthmark.text.explicit.Block` s for the label reader."""
    package, kind = _open(data, path)
    with package:
        blocks: list[Block] = _kind_module(kind).blocks(package, path)
        return blocks


def relabel(data: bytes, style: object, mark: Mark | None, *, path: str | None = None) -> bytes:
    """The explicit label (see the module docstring) unless a compliant label already stands at
    a label position; every other part keeps its bytes. The Unicode mark is not put into Office
    files (:class:`WatermarkError`)."""
    if mark is not None:
        raise WatermarkError(
            "the invisible text mark is written into plain text, Markdown and HTML only",
            path=path,
            fix="mark the text before it goes into the document",
        )
    text_style = style_of(style)
    package, kind = _open(data, path)
    module = _kind_module(kind)
    with package:
        if text_style is None or has_label(module.blocks(package, path)):
            return data
        out: bytes = _rewrite(package, module.label(package, text_style, path), path)
    if hasattr(module, "check_written"):
        module.check_written(out, text_style, path)
    return out
