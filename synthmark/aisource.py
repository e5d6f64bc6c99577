"""AI origin declared outside the GB 45438 label: the IPTC digital source type vocabulary and the
fingerprints generators leave in ordinary metadata.

Two kinds of declaration are read here, from plain :class:`MetadataField` records that the
container modules and an XMP scan produce (this module does no I/O):

* **Digital source type** (IPTC NewsCodes, also used by C2PA actions): one table,
  :data:`SOURCE_TYPES`, says for every term whether it means generative AI. Only
  ``trainedAlgorithmicMedia`` and ``compositeWithTrainedAlgorithmicMedia`` do;
  ``algorithmicMedia`` and ``compositeSynthetic`` are synthetic but not necessarily AI and are
  reported as such (category ``"synthetic"``), never as an AI declaration.
* **Generator fingerprints**: Stable Diffusion WebUI's ``parameters`` text, ComfyUI's
  ``prompt``/``workflow`` graphs, InvokeAI/NovelAI/Fooocus metadata, and ``Software`` /
  ``CreatorTool`` / C2PA ``softwareAgent`` values naming a known generator (:data:`GENERATORS`).

Every finding is evidence for art. 6 of the Measures (traces → "suspected"), shown with the
carrier and field it came from.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "GENERATORS",
    "IPTC_DIGITAL_SOURCE_TYPE",
    "SOURCE_TYPES",
    "Finding",
    "MetadataField",
    "ProvenanceMetadata",
    "SourceType",
    "fields_from_xmp",
    "interpret",
    "name_generator",
    "read",
    "scan_xmp_packets",
    "source_type",
]

#: Namespace of the IPTC digital source type NewsCodes (the value is this URI + a term).
IPTC_DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/"

Category = Literal["ai", "synthetic", "capture", "edited", "other"]


@dataclass(frozen=True)
class SourceType:
    """One IPTC digital source type: its ``term``, IPTC's ``meaning`` and a ``category``:
    ``"ai"`` (generative AI: a declaration of AI generation), ``"synthetic"`` (made by an algorithm
    not trained on samples: not AI), ``"capture"``, ``"edited"`` or ``"other"``."""

    term: str
    meaning: str
    category: Category

    @property
    def ai(self) -> bool:
        """Whether the term declares generative AI."""
        return self.category == "ai"


#: Every term of the IPTC digital source type vocabulary (2024/2025 edition and retired terms
#: still written by older tools), and which ones mean AI. The one table the C2PA walk and the
#: XMP reader both use.
SOURCE_TYPES: dict[str, SourceType] = {
    t.term.lower(): t
    for t in (
        SourceType("trainedAlgorithmicMedia", "created by a model trained on sampled content (generative AI)", "ai"),
        SourceType(
            "compositeWithTrainedAlgorithmicMedia",
            "composite that includes generative-AI elements (e.g. generative fill)",
            "ai",
        ),
        SourceType("algorithmicMedia", "created purely by an algorithm not trained on samples", "synthetic"),
        SourceType("compositeSynthetic", "composite including synthetic elements", "synthetic"),
        SourceType("digitalArt", "drawn or created by a person with software", "other"),
        SourceType("virtualRecording", "recording of a virtual event (e.g. a game)", "other"),
        SourceType("dataDrivenMedia", "generated from data (e.g. charts, maps)", "other"),
        SourceType("digitalCapture", "original digital capture of real life", "capture"),
        SourceType("computationalCapture", "digital capture with computational processing", "capture"),
        SourceType("negativeFilm", "scan of a negative film", "capture"),
        SourceType("positiveFilm", "scan of a positive film", "capture"),
        SourceType("print", "scan of a print", "capture"),
        SourceType("screenCapture", "capture of a screen", "capture"),
        SourceType("compositeCapture", "composite of captured elements", "edited"),
        SourceType("composite", "composite of elements", "edited"),
        SourceType("humanEdits", "augmented or corrected by a person", "edited"),
        SourceType("minorHumanEdits", "minor corrections by a person", "edited"),
        SourceType("algorithmicallyEnhanced", "minor augmentation or correction by an algorithm", "edited"),
        SourceType("softwareImage", "created by software (retired term)", "other"),
    )
}

_TERM = re.compile(r"(?:https?://cv\.iptc\.org/newscodes/digitalsourcetype/)?([A-Za-z]+)/?", re.IGNORECASE)


def source_type(value: str) -> SourceType | None:
    """The :class:`SourceType` of an IPTC URI or bare term (case and http/https ignored), else None.

    >>> source_type("http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia").ai
    True
    >>> source_type("digitalCapture").category, source_type("https://example.com/x")
    ('capture', None)
    """
    match = _TERM.fullmatch(value.strip())
    return None if match is None else SOURCE_TYPES.get(match.group(1).lower())


#: Names of generative-AI tools and services as they appear in ``Software``, ``CreatorTool``,
#: claim generators and C2PA ``softwareAgent`` values: (pattern, display name). Matched as
#: whole words, case-insensitively.
GENERATORS: tuple[tuple[str, str], ...] = (
    (r"midjourney", "Midjourney"),
    (r"dall[\s\-·.]?e", "DALL·E"),
    (r"chatgpt|gpt-?4o|gpt-image|openai", "OpenAI"),
    (r"(adobe[\s_]*)?firefly", "Adobe Firefly"),
    (r"stable[\s\-_]?diffusion|sdxl|automatic1111|stable-diffusion-webui", "Stable Diffusion"),
    (r"comfyui", "ComfyUI"),
    (r"invokeai", "InvokeAI"),
    (r"fooocus", "Fooocus"),
    (r"novelai", "NovelAI"),
    (r"imagen|gemini|nano[\s\-]?banana|synthid", "Google Imagen/Gemini"),
    (r"ideogram", "Ideogram"),
    (r"leonardo\.?ai", "Leonardo.Ai"),
    (r"runway(ml)?", "Runway"),
    (r"sora", "Sora"),
    (r"flux(\.1)?[\s\-_]*(dev|schnell|pro)", "FLUX"),
    (r"bing image creator|copilot designer|designer\.microsoft", "Microsoft Designer"),
    (r"doubao|豆包", "Doubao"),
    (r"jimeng|即梦", "Jimeng"),
    (r"kling|可灵", "Kling"),
    (r"hailuo|海螺|minimax", "MiniMax"),
    (r"tongyi|wanx|通义万相", "Tongyi Wanxiang"),
    (r"文心一格|ernie[\s\-]?vilg", "ERNIE-ViLG"),
    (r"hunyuan|混元", "Hunyuan"),
    (r"kolors|可图", "Kolors"),
)
_GENERATOR_PATTERNS = tuple(
    (re.compile(rf"(?<![\w]){pattern}(?![\w])", re.IGNORECASE), name) for pattern, name in GENERATORS
)
#: Longest field value looked at (characters); longer values are cut (a prompt graph can be MBs).
MAX_FIELD_CHARS = 1 << 20


def name_generator(value: str) -> str | None:
    """The generator named in ``value`` (e.g. a Software tag), or None.

    >>> name_generator("Adobe Firefly Image 3"), name_generator("Adobe Photoshop 25.0")
    ('Adobe Firefly', None)
    >>> name_generator("Midjourney v6"), name_generator("Soraya's camera")
    ('Midjourney', None)
    """
    text = value[:4096]
    for pattern, name in _GENERATOR_PATTERNS:
        if pattern.search(text):
            return name
    return None


@dataclass(frozen=True)
class MetadataField:
    """One metadata value a container holds: ``carrier`` (``"xmp"``, ``"png-text"``, ``"exif"``, ...),
    ``field`` (e.g. ``"Iptc4xmpExt:DigitalSourceType"``, ``"parameters"``, ``"Software"``) and the
    text ``value``."""

    carrier: str
    field: str
    value: str


@dataclass(frozen=True)
class Finding:
    """What one field declares: ``kind`` (``"digital-source-type"`` or ``"generator"``), the
    generator or source-type term it names, whether that means ``ai``, and where it came from."""

    carrier: str
    field: str
    kind: str
    name: str
    ai: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "carrier": self.carrier,
            "field": self.field,
            "kind": self.kind,
            "name": self.name,
            "ai": self.ai,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ProvenanceMetadata:
    """Every AI-origin finding in a file's ordinary metadata; ``found`` when any means AI."""

    findings: tuple[Finding, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return any(f.ai for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The ``provenance_metadata`` evidence of ``synthmark verify --json``."""
        return {
            "found": self.found,
            "checked": True,
            "findings": [f.to_dict() for f in self.findings],
            "problems": list(self.problems),
        }


def _excerpt(value: str, limit: int = 80) -> str:
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _json(value: str) -> Any:
    try:
        return json.loads(value[:MAX_FIELD_CHARS])
    except (ValueError, RecursionError):
        return None


_WEBUI = re.compile(r"(?:^|\n)(?:Negative prompt:.*\n)?Steps: \d+, Sampler: [^,\n]+", re.IGNORECASE)
_SOURCE_TYPE_FIELDS = re.compile(r"(^|:)digitalsourcetype$", re.IGNORECASE)
_TOOL_FIELDS = {
    "software",
    "creatortool",
    "xmp:creatortool",
    "tiff:software",
    "exif:software",
    "softwareagent",
    "claim_generator",
    "encoder",
    "encoded_by",
    "tsse",
    "©too",
    "producer",
    "creator",
    "application",
}


def _comfy_graph(data: Any) -> bool:
    """A ComfyUI prompt (``{node_id: {"class_type", "inputs"}}``) or workflow (``{"nodes": [...]}``)."""
    if isinstance(data, dict) and isinstance(data.get("nodes"), list):
        return any(isinstance(n, dict) and "type" in n for n in data["nodes"][:256])
    return (
        isinstance(data, dict)
        and bool(data)
        and all(isinstance(v, dict) and "class_type" in v for v in list(data.values())[:256])
    )


def _classify(item: MetadataField) -> Finding | None:
    value, key = item.value[:MAX_FIELD_CHARS], item.field.lower()
    bare = key.rsplit(":", 1)[-1]
    if _SOURCE_TYPE_FIELDS.search(key):
        kind = source_type(value)
        if kind is None:
            return Finding(item.carrier, item.field, "digital-source-type", _excerpt(value), False, "unknown term")
        return Finding(item.carrier, item.field, "digital-source-type", kind.term, kind.ai, kind.meaning)
    if bare == "parameters" and _WEBUI.search(value):
        return Finding(item.carrier, item.field, "generator", "Stable Diffusion WebUI", True, _excerpt(value))
    if bare in ("prompt", "workflow") and _comfy_graph(_json(value)):
        return Finding(item.carrier, item.field, "generator", "ComfyUI", True, f"{bare} graph")
    if bare in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "dream"):
        return Finding(item.carrier, item.field, "generator", "InvokeAI", True, _excerpt(value))
    if bare == "fooocus_scheme" or (bare == "parameters" and '"fooocus' in value.lower()):
        return Finding(item.carrier, item.field, "generator", "Fooocus", True, _excerpt(value))
    if bare == "comment" and isinstance(data := _json(value), dict) and {"steps", "sampler"} <= data.keys():
        return Finding(item.carrier, item.field, "generator", "NovelAI", True, "generation settings in Comment")
    if bare in _TOOL_FIELDS or key in _TOOL_FIELDS:
        name = name_generator(value)
        if name is not None:
            return Finding(item.carrier, item.field, "generator", name, True, _excerpt(value))
    if bare == "usercomment" and _WEBUI.search(value):
        return Finding(item.carrier, item.field, "generator", "Stable Diffusion WebUI", True, _excerpt(value))
    return None


def interpret(fields: Iterable[MetadataField], problems: Iterable[str] = ()) -> ProvenanceMetadata:
    """The findings in ``fields`` (duplicates dropped, order kept).

    >>> field = MetadataField("xmp", "Iptc4xmpExt:DigitalSourceType",
    ...                       "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")
    >>> report = interpret([field, MetadataField("png-text", "Software", "GIMP 2.10")])
    >>> report.found, [f.name for f in report.findings]
    (True, ['trainedAlgorithmicMedia'])
    """
    findings: dict[Finding, None] = {}
    for item in fields:
        finding = _classify(item)
        if finding is not None:
            findings.setdefault(finding, None)
    return ProvenanceMetadata(tuple(findings), tuple(problems))


# ----------------------------------------------------------------------------- XMP

#: Most XMP packets looked at in one file, and the largest one parsed (bytes).
MAX_XMP_PACKETS = 16
MAX_XMP_BYTES = 4 << 20
_XMP_START = re.compile(rb"<x(?:ap)?:xmpmeta[\s>]")
_XMP_END = re.compile(rb"</x(?:ap)?:xmpmeta\s*>")
_HOSTILE = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
#: XMP properties read for provenance: local name -> the field name reported.
_XMP_PROPERTIES = {"DigitalSourceType", "CreatorTool", "Software", "softwareAgent"}
_PREFIXES = {
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": "Iptc4xmpExt",
    "http://ns.adobe.com/xap/1.0/": "xmp",
    "http://ns.adobe.com/tiff/1.0/": "tiff",
    "http://ns.adobe.com/exif/1.0/": "exif",
    "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#": "stEvt",
    "http://ns.adobe.com/photoshop/1.0/": "photoshop",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://ns.useplus.org/ldf/xmp/1.0/": "plus",
}


def _qualified(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return _PREFIXES.get(uri, uri), local
    return "", tag


def fields_from_xmp(packet: str, carrier: str = "xmp") -> tuple[list[MetadataField], list[str]]:
    """Provenance fields of one XMP packet: ``DigitalSourceType`` (any namespace; element,
    attribute and ``rdf:resource`` forms), ``CreatorTool``, ``Software`` and history agents.
    A malformed or DOCTYPE-bearing packet gives a problem, not an exception."""
    if _HOSTILE.search(packet):
        return [], [f"{carrier}: XMP packet declares a DOCTYPE or ENTITY; not read"]
    try:
        root = ET.fromstring(packet.strip("\0 \r\n\t\ufeff"))
    except (ET.ParseError, RecursionError) as exc:
        return [], [f"{carrier}: XMP packet is not well-formed XML ({exc})"]
    fields: list[MetadataField] = []
    for element in root.iter():
        for key, value in element.attrib.items():
            prefix, local = _qualified(key)
            if local in _XMP_PROPERTIES:
                fields.append(MetadataField(carrier, f"{prefix}:{local}" if prefix else local, value))
        prefix, local = _qualified(element.tag)
        if local not in _XMP_PROPERTIES:
            continue
        name = f"{prefix}:{local}" if prefix else local
        resource = element.attrib.get(_RDF + "resource")
        text = resource if resource is not None else " ".join("".join(element.itertext()).split())
        if text:
            fields.append(MetadataField(carrier, name, text))
    return fields, []


def scan_xmp_packets(data: bytes) -> list[str]:
    """Every XMP packet found anywhere in ``data`` by its ``x:xmpmeta`` element (at most
    :data:`MAX_XMP_PACKETS`, each at most :data:`MAX_XMP_BYTES`), decoded as UTF-8.

    Works on any container that stores XMP uncompressed (JPEG APP1, PNG iTXt, WebP, TIFF, GIF,
    MP4 ``uuid``, PDF metadata streams without filters), the way exiftool's scan mode does.
    """
    packets: list[str] = []
    pos = 0
    while len(packets) < MAX_XMP_PACKETS:
        start = _XMP_START.search(data, pos)
        if start is None:
            break
        end = _XMP_END.search(data, start.end(), start.start() + MAX_XMP_BYTES)
        if end is None:
            break
        packets.append(data[start.start() : end.end()].decode("utf-8", errors="replace"))
        pos = end.end()
    return packets


def read(data: bytes, fields: Iterable[MetadataField] = ()) -> ProvenanceMetadata:
    """The findings of every XMP packet in ``data`` (:func:`scan_xmp_packets`) plus ``fields``
    a container module read (PNG text chunks, EXIF tags, ...)."""
    found: list[MetadataField] = []
    problems: list[str] = []
    for index, packet in enumerate(scan_xmp_packets(data)):
        more, trouble = fields_from_xmp(packet, "xmp" if index == 0 else f"xmp#{index + 1}")
        found += more
        problems += trouble
    return interpret([*found, *fields], problems)
