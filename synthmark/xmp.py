"""The AIGC label inside an XMP packet (namespace ``TC260``), read leniently, merged on write.

Writing edits the packet's text rather than re-serialising a parsed tree, so every other
property, namespace prefix, comment and padding of an existing packet stays byte-for-byte as it
was: existing ``AIGC`` properties are cut out and one ``rdf:Description`` holding
``<TC260:AIGC>`` is inserted before ``</rdf:RDF>``. The result is re-parsed and read back.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from synthmark.errors import CorruptFileError, MetadataError

__all__ = ["TC260_NS", "TC260_PREFIX", "XmpLabel", "find_labels", "new_packet", "set_label"]

#: Namespace URI of the TC260 AIGC property (TC260 practice guides, 2025-08).
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
TC260_PREFIX = "TC260"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_HOSTILE = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class XmpLabel:
    """An AIGC property found in XMP: its text, its form and its namespace URI."""

    value: str
    form: str  # "element" or "attribute"
    namespace: str


def _namespaces(packet: str) -> list[tuple[str, str]]:
    """(prefix, uri) pairs declared anywhere in the packet; raises ET.ParseError if malformed."""
    return [ns for _, ns in ET.iterparse(io.StringIO(packet), events=("start-ns",))]


def _parse(packet: str, *, path: str | None) -> ET.Element:
    if _HOSTILE.search(packet):
        raise CorruptFileError(
            "XMP packet declares a DOCTYPE or ENTITY, refused as hostile",
            path=path,
            fix="remove the DOCTYPE from the XMP packet",
        )
    try:
        return ET.fromstring(packet.strip("\0 \r\n\t"))
    except ET.ParseError as exc:
        raise CorruptFileError(
            f"XMP packet is not well-formed XML ({exc})",
            path=path,
            fix="repair or remove the broken XMP packet with an XMP editor",
        ) from exc


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return "", tag


def find_labels(packet: str, *, path: str | None = None) -> list[XmpLabel]:
    """Every property whose local name is ``AIGC``, element or attribute, in document order.

    Raises :class:`CorruptFileError` for malformed or DOCTYPE-bearing packets.
    """
    root = _parse(packet, path=path)
    found: list[XmpLabel] = []
    for element in root.iter():
        for key, value in element.attrib.items():
            uri, local = _split(key)
            if local == "AIGC":
                found.append(XmpLabel(value, "attribute", uri))
        uri, local = _split(element.tag)
        if local == "AIGC":
            found.append(XmpLabel("".join(element.itertext()).strip(), "element", uri))
    return found


_OPEN = f'<rdf:Description xmlns:rdf="{RDF_NS}" xmlns:{TC260_PREFIX}="{TC260_NS}" rdf:about="">'
_CLOSE = "</rdf:Description>"


def _description(value: str) -> str:
    return f"{_OPEN}<{TC260_PREFIX}:AIGC>{escape(value)}</{TC260_PREFIX}:AIGC>{_CLOSE}"


def new_packet(value: str) -> str:
    """A complete XMP packet holding only ``TC260:AIGC`` = ``value``."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        f'<rdf:RDF xmlns:rdf="{RDF_NS}">{_description(value)}</rdf:RDF>'
        '</x:xmpmeta><?xpacket end="w"?>'
    )


def set_label(packet: str | None, value: str, *, path: str | None = None) -> str:
    """``packet`` with exactly one AIGC property, ``TC260:AIGC`` = ``value``.

    ``None`` or an empty packet gives :func:`new_packet`. Other content is kept verbatim.
    Raises :class:`CorruptFileError` for a malformed packet and :class:`MetadataError` when an
    existing AIGC property cannot be cut out cleanly.
    """
    if packet is None or not packet.strip("\0 \r\n\t"):
        return new_packet(value)
    _parse(packet, path=path)
    prefixes = {prefix for prefix, _ in _namespaces(packet.strip("\0 \r\n\t")) if prefix}
    edited = packet
    for prefix in prefixes:
        p = re.escape(prefix)
        edited = re.sub(rf"<{p}:AIGC(\s[^>]*)?/>", "", edited)
        edited = re.sub(rf"<{p}:AIGC(\s[^>]*)?>.*?</{p}:AIGC\s*>", "", edited, flags=re.DOTALL)
        edited = re.sub(rf"\s{p}:AIGC\s*=\s*(\"[^\"]*\"|'[^']*')", "", edited)
    edited = edited.replace(_OPEN + _CLOSE, "")  # the wrapper a previous set_label added
    try:
        rdf_prefixes = [prefix for prefix, uri in _namespaces(edited.strip("\0 \r\n\t")) if uri == RDF_NS]
    except ET.ParseError as exc:  # an AIGC tag where text cut cannot reach it (a comment, a PI)
        raise MetadataError(
            "the existing AIGC property cannot be cut out of the XMP packet cleanly",
            path=path,
            fix="remove it with an XMP editor",
        ) from exc
    closing = None
    for prefix in rdf_prefixes:
        tag = f"{prefix}:RDF" if prefix else "RDF"
        matches = list(re.finditer(rf"</{re.escape(tag)}\s*>", edited))
        if matches:
            closing = matches[-1]
    if closing is None:
        raise MetadataError(
            "XMP packet has no rdf:RDF element to add the AIGC property to",
            path=path,
            fix="repair the XMP packet with an XMP editor",
        )
    merged = edited[: closing.start()] + _description(value) + edited[closing.start() :]
    labels = find_labels(merged, path=path)
    if [(lab.value, lab.namespace) for lab in labels] != [(value, TC260_NS)]:
        raise MetadataError(
            "could not replace the existing AIGC property in the XMP packet",
            path=path,
            fix="rewrite the XMP packet with an XMP editor, then label again",
        )
    return merged
