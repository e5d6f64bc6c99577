"""From the AIGC carriers a container module found to one reading of the file's metadata label.

Shared by every modality: a container module lists :class:`Carrier` records (where the label
text sits), and :func:`interpret` parses them leniently, checks them, and reports conflicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthmark.aigc import AIGCLabel, Form, Problem, parse_label, validate

__all__ = ["Carrier", "CarrierReading", "MetadataReading", "check_relabel", "interpret", "write_checked"]


@dataclass(frozen=True)
class Carrier:
    """One place in a file that holds AIGC label text.

    ``name`` is stable and user-facing: ``"xmp"`` (TC260:AIGC in XMP), ``"exif-usercomment"``,
    ``"png-text"`` (PNG text chunk keyed AIGC). ``text`` is the raw value; ``problem`` is set
    when the carrier itself could not be read cleanly.
    """

    name: str
    text: str
    problem: str | None = None


@dataclass(frozen=True)
class CarrierReading:
    """One carrier, parsed: its label (or None), how it was written, and its problems."""

    carrier: str
    label: AIGCLabel | None
    form: Form | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class MetadataReading:
    """The file's metadata label as read.

    ``label`` is the first carrier's label that parsed (None when no carrier holds one);
    ``carrier`` and ``form`` say where it came from and how it was written; ``problems``
    collects parse, validation and cross-carrier problems by name; ``carriers`` has every
    carrier's own reading.
    """

    label: AIGCLabel | None
    carrier: str | None = None
    form: Form | None = None
    problems: tuple[Problem, ...] = ()
    carriers: tuple[CarrierReading, ...] = field(default=())

    @property
    def found(self) -> bool:
        return self.label is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (used by ``synthmark verify --json``)."""
        return {
            "found": self.found,
            "checked": True,
            "carrier": self.carrier,
            "form": self.form,
            "fields": None if self.label is None else self.label.to_dict(),
            "problems": [{"field": p.field, "code": p.code, "message": p.message} for p in self.problems],
            "carriers": [
                {"carrier": c.carrier, "form": c.form, "problems": [p.code for p in c.problems]} for c in self.carriers
            ],
        }


def interpret(carriers: list[Carrier], *, strict: bool = False) -> MetadataReading:
    """Parse every carrier leniently and combine them into one :class:`MetadataReading`."""
    readings: list[CarrierReading] = []
    for carrier in carriers:
        parsed = parse_label(carrier.text) if carrier.text else None
        problems = list(parsed.problems) if parsed else []
        if carrier.problem:
            problems.insert(0, Problem(None, "carrier", carrier.problem))
        label = parsed.label if parsed else None
        if label is not None:
            problems += validate(label, strict=strict)
        readings.append(CarrierReading(carrier.name, label, parsed.form if parsed else None, tuple(problems)))
    labeled = [r for r in readings if r.label is not None]
    if not labeled:
        return MetadataReading(None, problems=tuple(p for r in readings for p in r.problems), carriers=tuple(readings))
    first = labeled[0]
    problems = list(first.problems)
    if len(labeled) > 1:
        # GB 45438 6.1 c: one metadata label per file. Identical copies are reported, conflicts too.
        where = ", ".join(r.carrier for r in labeled)
        if len({r.label for r in labeled}) > 1:
            problems.append(
                Problem(None, "conflicting-labels", f"{len(labeled)} carriers hold different AIGC labels ({where})")
            )
        else:
            problems.append(
                Problem(None, "duplicate-labels", f"label in {len(labeled)} carriers ({where}); one label per file")
            )
    return MetadataReading(first.label, first.carrier, first.form, tuple(problems), tuple(readings))


def check_relabel(existing: AIGCLabel | None, label: AIGCLabel, *, path: str | None = None) -> None:
    """Refuse to replace another producer's label (art. 10 of the Measures).

    Allowed: no label yet; the same ContentProducer relabeling its own content; a label that
    keeps ``existing``'s producer fields (:data:`~synthmark.aigc.PRODUCER_FIELDS`), i.e. a
    propagation. Otherwise :class:`~synthmark.errors.ForeignLabelError`.
    """
    from synthmark.errors import ForeignLabelError

    if existing is None or existing.content_producer == label.content_producer or label.keeps_producer_of(existing):
        return
    raise ForeignLabelError(
        f"the file carries a Label {existing.label} label by producer {existing.content_producer!r} "
        f"(ProduceID {existing.produce_id!r}); synthmark never replaces another producer's label",
        path=path,
        fix="to distribute it, propagate: keep its producer fields and add yours "
        "(AIGCLabel.with_propagator, or synthmark batch relabel --role propagator)",
    )


def write_checked(codec: Any, data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``codec.write_label(data, label)`` (a container module of any modality), after checking
    ``label`` against the rules and against the label already in ``data`` (:func:`check_relabel`)
    and before returning, reading it back: exactly one label, the one written, or
    :class:`~synthmark.errors.MetadataError`. Producer fields kept from the file's own label are
    written as found, even where they break the charset rules."""
    from synthmark.errors import MetadataError

    existing = interpret(codec.read_carriers(data, path=path)).label
    check_relabel(existing, label, path=path)
    label.checked(kept_from=existing)
    out: bytes = codec.write_label(data, label, path=path)
    reading = interpret(codec.read_carriers(out, path=path))
    if reading.label != label or any(r.label not in (None, label) for r in reading.carriers):
        raise MetadataError("the label did not read back as written", path=path, fix="report this file to synthmark")
    return out
