"""Evidence from every label layer of a file -> one report, a verdict and the reasons for it.

The verdict follows art. 6 of the Measures: a metadata label gives its own class (``Label``
"1" confirmed, "2" possible, "3" suspected); without one, any other trace (watermark, a C2PA
AI declaration anywhere in the manifest chain, an IPTC digital source type or generator
fingerprint in ordinary metadata, a visible or audible label) makes the file suspected; nothing
found is ``none``. :attr:`Report.reasons` says which layer, field or manifest set the verdict.

Each layer is read on its own: a damaged file (bad CRC, damaged frames, truncated tail) is
reported with its damage as a problem and every layer that can still be read (the metadata
label by an XMP scan when the container cannot be parsed, C2PA with its hash-mismatch reasons,
the watermark on what decodes). Only a file of which nothing at all can be read raises.

A layer that was not looked for reports ``checked: false`` with the reason, so a reader never
mistakes "not looked for" for "not there".
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from synthmark import aisource, xmp
from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, InputError, UnsupportedFormatError, naming_path
from synthmark.formats import provenance_only_media_type
from synthmark.keys import WatermarkKey
from synthmark.media import Media
from synthmark.metadata import Carrier, MetadataReading, interpret
from synthmark.payload import content_id
from synthmark.protocols import Modality

__all__ = ["LAYERS", "Evidence", "Report", "Verdict", "verify_bytes", "verify_file"]

Verdict = Literal["confirmed", "possible", "suspected", "none"]
#: Every layer a report covers, in the order the rules rank them.
LAYERS = ("metadata", "watermark", "c2pa", "provenance_metadata", "visible")
_CLASS_OF_LABEL: dict[str, Verdict] = {"1": "confirmed", "2": "possible", "3": "suspected"}
_CLASS_WORDS = {"1": "AI-generated", "2": "possibly AI-generated", "3": "suspected AI-generated"}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Evidence:
    """What one layer showed: ``found``, whether it was ``checked`` at all, and details."""

    layer: str
    found: bool
    checked: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ai_trace(self) -> bool:
        """Whether this layer shows AI generation (a C2PA manifest only when it declares it)."""
        if self.layer == "c2pa":
            return self.found and bool(self.details.get("ai_generated"))
        return self.found

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "checked": self.checked, **self.details}


@dataclass(frozen=True)
class Report:
    """One file's labels: the verdict and why, the metadata label (or None), evidence per layer,
    and the file's own problems (damage found while reading it)."""

    file: str | None
    media_type: str
    verdict: Verdict
    label: AIGCLabel | None
    evidence: dict[str, Evidence]
    reasons: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def labeled(self) -> bool:
        """True when the file carries any label (verdict other than ``none``)."""
        return self.verdict != "none"

    @property
    def traces(self) -> tuple[str, ...]:
        """The layers other than the metadata label that show AI generation."""
        return tuple(name for name, ev in self.evidence.items() if name != "metadata" and ev.ai_trace)

    def to_dict(self) -> dict[str, Any]:
        """The ``synthmark verify --json`` object for this file."""
        return {
            "file": self.file,
            "media_type": self.media_type,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "problems": list(self.problems),
            "label": None if self.label is None else self.label.to_dict(),
            "evidence": {name: ev.to_dict() for name, ev in self.evidence.items()},
        }


def _trace_reasons(evidence: dict[str, Evidence]) -> list[str]:
    """One plain sentence per AI trace, naming the layer and the field or manifest."""
    reasons: list[str] = []
    watermark = evidence["watermark"]
    if watermark.found:
        details = watermark.details
        what = f"payload {details['payload']}" if details.get("payload") else "statistical text watermark"
        reasons.append(f"watermark found with key {details.get('key_id')} ({what})")
    c2pa = evidence["c2pa"]
    for declared in c2pa.details.get("ai_declared", []) if c2pa.found else []:
        where = (
            "the active manifest" if declared["depth"] == 0 else f"an ingredient manifest at depth {declared['depth']}"
        )
        state = declared["state"] or "not validated"
        reasons.append(
            f"C2PA: {where} ({declared['claim_generator'] or 'unnamed claim generator'}, {state}) declares AI: "
            f"{declared['how']}"
        )
    for finding in evidence["provenance_metadata"].details.get("findings", []):
        if finding["ai"]:
            reasons.append(f"{finding['carrier']} {finding['field']}: {finding['kind']} {finding['name']}")
    visible = evidence["visible"]
    if visible.found:
        labels = visible.details.get("labels") or visible.details.get("phrases") or []
        texts = [f"{item.get('text')!r} at {item.get('position', 'a label position')}" for item in labels[:3]]
        kind = visible.details.get("kind") or "label"
        reasons.append(f"explicit {kind} found" + (": " + ", ".join(texts) if texts else ""))
    return reasons


def _verdict(reading: MetadataReading, evidence: dict[str, Evidence]) -> tuple[Verdict, list[str]]:
    traces = _trace_reasons(evidence)
    if reading.label is not None:
        value = reading.label.label
        if value in _CLASS_OF_LABEL:
            first = f"metadata label ({reading.carrier}) says Label {value}: {_CLASS_WORDS[value]}"
        else:  # a label whose class is unreadable still is a trace of AI labeling
            first = f"metadata label ({reading.carrier}) has an unknown Label {value!r}: counted as suspected"
        return _CLASS_OF_LABEL.get(value, "suspected"), [first, *traces]
    if traces:
        return "suspected", ["no metadata label, but traces of AI generation (art. 6: suspected)", *traces]
    unchecked = [name for name, ev in evidence.items() if not ev.checked]
    reason = "no label or trace of AI generation found"
    return "none", [reason + (f" (not checked: {', '.join(unchecked)})" if unchecked else "")]


def _scanned_metadata(data: bytes, strict: bool) -> MetadataReading:
    """The metadata label found by scanning the bytes for XMP packets, for a container that
    cannot be parsed (damaged)."""
    carriers: list[Carrier] = []
    for packet in aisource.scan_xmp_packets(data):
        try:
            carriers += [Carrier("xmp-scan", item.value) for item in xmp.find_labels(packet)]
        except CorruptFileError:
            continue
    return interpret(carriers, strict=strict)


def _c2pa_evidence(
    data: bytes, media_type: str, trust: Sequence[bytes], label: AIGCLabel | None, watermark: Evidence
) -> Evidence:
    from synthmark import provenance

    if media_type not in provenance.READ_MEDIA_TYPES:
        return Evidence("c2pa", False, False, {"reason": f"c2pa-python does not read manifests in {media_type}"})
    report = provenance.read(data, media_type, trust_anchors=trust)
    details = _details(report.to_dict())
    if report.found:
        # The manifest's AIGC assertion must agree with the file's metadata label, and its
        # soft binding with the watermark actually found.
        details["label_agrees"] = None if label is None or report.aigc is None else report.aigc == label.to_dict()
        payload = watermark.details.get("payload") if watermark.found else None
        details["soft_binding_matches_watermark"] = (
            None if payload is None or report.soft_binding is None else report.soft_binding == payload
        )
    return Evidence("c2pa", report.found, True, details)


def _watermark_evidence(
    modality: Modality, source: Media, keys: Sequence[WatermarkKey], label: AIGCLabel | None, **options: Any
) -> Evidence:
    if not keys:
        return Evidence("watermark", False, False, {"reason": "no watermark key given (--key)"})
    # Only the options this modality's detector takes (text: a tokenizer also turns on the
    # statistical, generation-time detector).
    taken = {name: value for name, value in options.items() if value is not None and name in modality.WATERMARK_OPTIONS}
    report = modality.find_watermark(source, list(keys), **taken)
    details = _details(report.to_dict())
    details["matches_metadata"] = (
        None if label is None or report.content_id is None else content_id(label.produce_id) == report.content_id
    )
    return Evidence("watermark", report.found, True, details)


class _Damage:
    """Runs each layer, turning an unreadable part of the file into a recorded problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.first: InputError | None = None

    def run(self, read: Callable[[], _T]) -> _T | InputError:
        try:
            return read()
        except InputError as exc:
            self.first = self.first or exc
            message = exc.message
            if message not in self.problems:
                self.problems.append(message)
            return exc

    @staticmethod
    def unread(layer: str, error: InputError) -> Evidence:
        return Evidence(layer, False, False, {"reason": f"could not be read: {error.message}"})


def _verify(
    media: Media,
    strict: bool,
    keys: Sequence[WatermarkKey],
    trust: Sequence[bytes],
    tokenizer: Any = None,
    explicit_labels: bool = True,
) -> Report:
    # One read of the file, one sniff, one decode per kind: every layer gets the same Media.
    data, path = media.data, media.path
    try:
        fmt = media.format
    except UnsupportedFormatError:
        media_type = provenance_only_media_type(data)
        if media_type is None:
            raise
        return _verify_undecoded(data, path, media_type, strict, trust)
    modality: Modality = importlib.import_module(f"synthmark.{fmt.modality}")
    source = media
    damage = _Damage()

    reading = damage.run(lambda: modality.read_metadata(source, strict=strict))
    damaged_container = isinstance(reading, InputError)
    if isinstance(reading, InputError):
        reading = _scanned_metadata(data, strict)
    label = reading.label
    watermark = damage.run(lambda: _watermark_evidence(modality, source, keys, label, tokenizer=tokenizer))
    if isinstance(watermark, InputError):
        watermark = damage.unread("watermark", watermark)
    c2pa = _c2pa_evidence(data, fmt.media_type, trust, label, watermark)
    found_in_metadata = damage.run(lambda: modality.read_provenance_metadata(source))
    if isinstance(found_in_metadata, InputError):
        found_in_metadata = aisource.read(data)
    skipped: dict[str, Any] = {"found": False, "checked": False, "reason": "not looked for (explicit_labels=False)"}
    explicit: dict[str, Any] | InputError = (
        damage.run(lambda: modality.find_explicit(source)) if explicit_labels else skipped
    )
    if isinstance(explicit, InputError):
        visible = damage.unread("visible", explicit)
    else:
        visible = Evidence("visible", explicit.pop("found"), explicit.pop("checked"), explicit)

    evidence = {
        "metadata": Evidence("metadata", reading.found, True, _details(reading.to_dict())),
        "watermark": watermark,
        "c2pa": c2pa,
        "provenance_metadata": Evidence(
            "provenance_metadata", found_in_metadata.found, True, _details(found_in_metadata.to_dict())
        ),
        "visible": visible,
    }
    if damaged_container and damage.first is not None and not (label or any(ev.found for ev in evidence.values())):
        raise damage.first  # nothing of the file could be read
    verdict, reasons = _verdict(reading, evidence)
    return Report(path, fmt.media_type, verdict, label, evidence, tuple(reasons), tuple(damage.problems))


def _verify_undecoded(data: bytes, path: str | None, media_type: str, strict: bool, trust: Sequence[bytes]) -> Report:
    """A format synthmark does not decode but c2pa-python reads (e.g. HEIC from a phone): the
    metadata label and provenance from the bytes (XMP scan), the C2PA chain; no watermark or
    visible-label search (``checked: false``, with the reason)."""
    reading = _scanned_metadata(data, strict)
    reason = {"reason": f"synthmark does not decode {media_type} yet"}
    unchecked = Evidence("watermark", False, False, reason)
    found_in_metadata = aisource.read(data)
    evidence = {
        "metadata": Evidence("metadata", reading.found, True, _details(reading.to_dict())),
        "watermark": unchecked,
        "c2pa": _c2pa_evidence(data, media_type, trust, reading.label, unchecked),
        "provenance_metadata": Evidence(
            "provenance_metadata", found_in_metadata.found, True, _details(found_in_metadata.to_dict())
        ),
        "visible": Evidence("visible", False, False, reason),
    }
    verdict, reasons = _verdict(reading, evidence)
    return Report(path, media_type, verdict, reading.label, evidence, tuple(reasons))


def _details(found: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in found.items() if k not in ("found", "checked")}


def verify_bytes(
    data: bytes,
    *,
    strict: bool = False,
    keys: Sequence[WatermarkKey] = (),
    trust: Sequence[bytes] = (),
    tokenizer: Any = None,
    explicit_labels: bool = True,
) -> Report:
    """Check every label layer of a file's bytes.

    Raises :class:`~synthmark.errors.InputError` subclasses for unsupported or broken files.
    ``strict`` adds the provider-code shape to the metadata label's checks; ``keys`` are the
    watermark keys to look for (without keys the watermark layer reports ``checked: false``);
    ``trust`` are PEM trust anchors for C2PA signers (offline; without them a good signature
    reads "Valid (untrusted signer)"); ``tokenizer`` (text documents: any callable text -> ids,
    e.g. :func:`synthmark.text.load_tokenizer`) adds the statistical watermark detector;
    ``explicit_labels=False`` skips looking for explicit labels (OCR of images and video frames,
    the audio prompt detectors, document phrases), for throughput: the ``visible`` layer then
    says ``checked: false``.
    """
    return _verify(Media(data), strict, keys, trust, tokenizer, explicit_labels)


@naming_path
def verify_file(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    keys: Sequence[WatermarkKey] = (),
    trust: Sequence[bytes] = (),
    tokenizer: Any = None,
    explicit_labels: bool = True,
) -> Report:
    """:func:`verify_bytes` on the file at ``path``; errors name the file. The file is read from
    disk once and its content decoded at most once per kind (pixels, samples, text) for all the
    layers (a video's frames stream from the file itself)."""
    name = os.fspath(path)
    return _verify(Media.of(name), strict, keys, trust, tokenizer, explicit_labels)
