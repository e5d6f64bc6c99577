"""The art. 6 decision for one file: what a distribution platform must call it.

=====================================================  ===========  =========
finding (:class:`~synthmark.detect.Report`)             class        ``Label``
=====================================================  ===========  =========
metadata label                                         its own      kept
no metadata label, the user declared the file AI-made  possible     ``"2"``
neither, but a trace: watermark, visible/audible
label, explicit phrase, C2PA manifest declaring AI      suspected    ``"3"``
nothing                                                none         (none)
=====================================================  ===========  =========

A metadata label whose ``Label`` value is not 1, 2 or 3 still is a trace of AI labeling: the
file is suspected (``"3"``), as :func:`synthmark.detect.verify_bytes` says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from synthmark.detect import Report

__all__ = ["CLASS_NAMES", "Classification", "classify"]

Class = Literal["1", "2", "3"]
#: ``Label`` value -> the word the ledger and the report use.
CLASS_NAMES: dict[str, str] = {"1": "confirmed", "2": "possible", "3": "suspected"}


@dataclass(frozen=True)
class Classification:
    """``label`` is the class (``"1"``/``"2"``/``"3"``, None: no label, no trace); ``basis`` what
    decided it: ``"metadata"``, ``"declared"``, ``"traces"`` or ``"none"``; ``traces`` the layers
    found (``"watermark"``, ``"c2pa"``, ``"provenance_metadata"``, ``"visible"``)."""

    label: Class | None
    basis: Literal["metadata", "declared", "traces", "none"]
    traces: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """``"confirmed"``, ``"possible"``, ``"suspected"`` or ``"none"``."""
        return "none" if self.label is None else CLASS_NAMES[self.label]


def traces(report: Report) -> tuple[str, ...]:
    """The non-metadata layers of ``report`` that show AI generation (see :attr:`Report.traces`)."""
    return report.traces


def classify(report: Report, *, declared: bool = False) -> Classification:
    """The art. 6 class of a verified file (see the module table); ``declared`` says the user
    declared the content AI-generated (``--declared-list``)."""
    seen = traces(report)
    if report.label is not None:
        value = report.label.label
        label: Class = value if value in ("1", "2", "3") else "3"  # type: ignore[assignment]
        return Classification(label, "metadata", seen)
    if declared:
        return Classification("2", "declared", seen)
    if seen:
        return Classification("3", "traces", seen)
    return Classification(None, "none")
