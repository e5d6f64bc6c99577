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


def _verdict(reading: MetadataReading, others: list[Evidence]) -> Verdict:
    if reading.label is not None:
        # A label whose class is unreadable still is a trace of AI labeling.
        return _CLASS_OF_LABEL.get(reading.label.label, "suspected")
    return "suspected" if any(ev.found for ev in others) else "none"


def _watermark_evidence(
    modality: Any, source: bytes | str, keys: Sequence[WatermarkKey], label: AIGCLabel | None
) -> Evidence:
    if not keys:
        return Evidence("watermark", False, False, {"reason": "no watermark key given (--key)"})
    report = modality.detect_watermark(modality.read_pixels(source), keys)
    details = {k: v for k, v in report.to_dict().items() if k not in ("found", "checked")}
    details["matches_metadata"] = (
        None if label is None or report.content_id is None else content_id(label.produce_id) == report.content_id
    )
    return Evidence("watermark", report.found, True, details)


def _verify(source: bytes | str, head: bytes, path: str | None, strict: bool, keys: Sequence[WatermarkKey]) -> Report:
    fmt = sniff(head, path=path)
    modality = importlib.import_module(f"synthmark.{fmt.modality}")
    reading: MetadataReading = modality.read_metadata(source, strict=strict)
    not_yet = {"reason": "this layer is not checked by this version of synthmark"}
    others = [_watermark_evidence(modality, source, keys, reading.label)]
    others += [Evidence(layer, False, False, dict(not_yet)) for layer in LAYERS[2:]]
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


def verify_bytes(data: bytes, *, strict: bool = False, keys: Sequence[WatermarkKey] = ()) -> Report:
    """Check every label layer of a file's bytes.

    Raises :class:`~synthmark.errors.InputError` subclasses for unsupported or broken files.
    ``strict`` adds the provider-code shape to the metadata label's checks; ``keys`` are the
    watermark keys to look for (without keys the watermark layer reports ``checked: false``).
    """
    return _verify(data, data[:16], None, strict, keys)


def verify_file(path: str | os.PathLike[str], *, strict: bool = False, keys: Sequence[WatermarkKey] = ()) -> Report:
    """:func:`verify_bytes` on the file at ``path`` (errors name the file)."""
    name = os.fspath(path)
    return _verify(name, _head(name), name, strict, keys)


def _head(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(16)
    except OSError:
        return read_bytes(path)[:16]  # raises the translated error
