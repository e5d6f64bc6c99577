"""Evidence from every label layer of a file -> one report and a verdict.

The verdict follows art. 6 of the Measures: a metadata label gives its own class (``Label``
"1" confirmed, "2" possible, "3" suspected); without one, any other trace (watermark, C2PA
AI source, visible label) makes the file suspected; nothing found is ``none``. A watermark
found with a key whose payload differs from the metadata label's ProduceID is reported as
``matches_metadata: false``.

Layers not yet implemented report ``checked: false`` so a reader never mistakes "not looked
for" for "not there".
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from synthmark.aigc import AIGCLabel
from synthmark.formats import read_bytes, sniff
from synthmark.keys import WatermarkKey
from synthmark.metadata import MetadataReading
from synthmark.payload import content_id

__all__ = ["LAYERS", "Evidence", "Report", "Verdict", "verify_bytes", "verify_file"]

Verdict = Literal["confirmed", "possible", "suspected", "none"]
#: Every layer a report covers, in the order the rules rank them.
LAYERS = ("metadata", "watermark", "c2pa", "visible")
_CLASS_OF_LABEL: dict[str, Verdict] = {"1": "confirmed", "2": "possible", "3": "suspected"}


@dataclass(frozen=True)
class Evidence:
    """What one layer showed: ``found``, whether it was ``checked`` at all, and details."""

    layer: str
    found: bool
    checked: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "checked": self.checked, **self.details}


@dataclass(frozen=True)
class Report:
    """One file's labels: the verdict, the metadata label (or None) and evidence per layer."""

    file: str | None
    media_type: str
    verdict: Verdict
    label: AIGCLabel | None
    evidence: dict[str, Evidence]

    @property
    def labeled(self) -> bool:
        """True when the file carries any label (verdict other than ``none``)."""
        return self.verdict != "none"

    def to_dict(self) -> dict[str, Any]:
        """The ``synthmark verify --json`` object for this file."""
        return {
            "file": self.file,
            "media_type": self.media_type,
            "verdict": self.verdict,
            "label": None if self.label is None else self.label.to_dict(),
            "evidence": {name: ev.to_dict() for name, ev in self.evidence.items()},
        }


def _is_ai_trace(evidence: Evidence) -> bool:
    """A found layer counts as a trace of AI generation; a C2PA manifest only when it says so."""
    if evidence.layer == "c2pa":
        return evidence.found and bool(evidence.details.get("ai_generated"))
    return evidence.found


def _verdict(reading: MetadataReading, others: list[Evidence]) -> Verdict:
    if reading.label is not None:
        # A label whose class is unreadable still is a trace of AI labeling.
        return _CLASS_OF_LABEL.get(reading.label.label, "suspected")
    return "suspected" if any(_is_ai_trace(ev) for ev in others) else "none"


def _c2pa_evidence(
    data: bytes, media_type: str, trust: Sequence[bytes], label: AIGCLabel | None, watermark: Evidence
) -> Evidence:
    from synthmark import provenance

    if media_type not in provenance.SUPPORTED_MEDIA_TYPES:
        return Evidence("c2pa", False, False, {"reason": f"C2PA is not read for {media_type}"})
    report = provenance.read(data, media_type, trust_anchors=trust)
    details = {k: v for k, v in report.to_dict().items() if k not in ("found", "checked")}
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
    modality: Any, source: bytes | str, keys: Sequence[WatermarkKey], label: AIGCLabel | None, tokenizer: Any = None
) -> Evidence:
    if not keys:
        return Evidence("watermark", False, False, {"reason": "no watermark key given (--key)"})
    # Text: a tokenizer also turns on the statistical (generation-time) detector.
    extra = {} if tokenizer is None else {"tokenizer": tokenizer}
    report = modality.find_watermark(source, list(keys), **extra)
    details = {k: v for k, v in report.to_dict().items() if k not in ("found", "checked")}
    details["matches_metadata"] = (
        None if label is None or report.content_id is None else content_id(label.produce_id) == report.content_id
    )
    return Evidence("watermark", report.found, True, details)


def _verify(
    data: bytes,
    path: str | None,
    strict: bool,
    keys: Sequence[WatermarkKey],
    trust: Sequence[bytes],
    tokenizer: Any = None,
) -> Report:
    fmt = sniff(data, path=path)
    modality = importlib.import_module(f"synthmark.{fmt.modality}")
    source: bytes | str = data if path is None else path
    reading: MetadataReading = modality.read_metadata(source, strict=strict)
    text_tokenizer = tokenizer if fmt.modality == "text" else None
    watermark = _watermark_evidence(modality, source, keys, reading.label, text_tokenizer)
    c2pa = _c2pa_evidence(data, fmt.media_type, trust, reading.label, watermark)
    explicit = modality.find_explicit(source)
    others = [
        watermark,
        c2pa,
        Evidence("visible", explicit.pop("found"), explicit.pop("checked"), explicit),
    ]
    evidence = {
        "metadata": Evidence(
            "metadata",
            reading.found,
            True,
            {k: v for k, v in reading.to_dict().items() if k not in ("found", "checked")},
        )
    }
    evidence.update({ev.layer: ev for ev in others})
    return Report(path, fmt.media_type, _verdict(reading, others), reading.label, evidence)


def verify_bytes(
    data: bytes,
    *,
    strict: bool = False,
    keys: Sequence[WatermarkKey] = (),
    trust: Sequence[bytes] = (),
    tokenizer: Any = None,
) -> Report:
    """Check every label layer of a file's bytes.

    Raises :class:`~synthmark.errors.InputError` subclasses for unsupported or broken files.
    ``strict`` adds the provider-code shape to the metadata label's checks; ``keys`` are the
    watermark keys to look for (without keys the watermark layer reports ``checked: false``);
    ``trust`` are PEM trust anchors for C2PA signers (offline; without them a good signature
    reads "Valid (untrusted signer)"); ``tokenizer`` (text documents: any callable text -> ids,
    e.g. :func:`synthmark.text.load_tokenizer`) adds the statistical watermark detector.
    """
    return _verify(data, None, strict, keys, trust, tokenizer)


def verify_file(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    keys: Sequence[WatermarkKey] = (),
    trust: Sequence[bytes] = (),
    tokenizer: Any = None,
) -> Report:
    """:func:`verify_bytes` on the file at ``path`` (errors name the file; it is read twice at
    most: once whole, once more by the pixel decoder when a watermark key is given)."""
    name = os.fspath(path)
    return _verify(read_bytes(name), name, strict, keys, trust, tokenizer)
