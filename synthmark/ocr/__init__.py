"""Reading visible (explicit) AI labels in pictures and video frames, offline.

* :func:`find_visible_labels` — the labels in an image (H x W x 3 uint8 RGB array or a Pillow
  image): text, box, edge or corner, height as a percentage of the shortest side, wording, and
  whether each meets GB 45438-2025 clause 5.2; :func:`read_labels` also returns every line
  read and whether a bound was hit;
* :func:`read_text` — every text line read (text, box, ink height, confidence);
* :func:`match_label` — the pure text rule: does a line read as a label phrase.

The engine is PaddleOCR's PP-OCRv4 detection and recognition models (Apache-2.0, vendored in
``models/``, see its README) run by ONNX Runtime with synthmark's own pre- and
post-processing, sized for labels: detection on a downscaled picture (edge bands by default),
recognition from the full-resolution pixels, every step bounded by the constants of
:mod:`synthmark.ocr.engine`. Nothing is downloaded. ONNX Runtime and OpenCV are imported on
first use of the engine, so ``import synthmark`` (and this package's text rules) stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthmark._lazy import lazy_attributes
from synthmark.ocr.match import LabelMatch, canonical_text, is_fragment, match_label

if TYPE_CHECKING:
    from synthmark.ocr.engine import (
        EDGE_BAND,
        MAX_BOX_ASPECT,
        MAX_BOXES,
        MAX_CANDIDATES,
        MAX_DETECT_PIXELS,
        MAX_FULL_DETECT_PIXELS,
        MAX_REC_COLUMNS,
        MIN_TEXT_HEIGHT,
        Scan,
        TextLine,
        TextReading,
        read_text,
        set_threads,
    )
    from synthmark.ocr.labels import LabelReading, VisibleLabel, find_visible_labels, read_labels

__all__ = [
    "EDGE_BAND",
    "MAX_BOXES",
    "MAX_BOX_ASPECT",
    "MAX_CANDIDATES",
    "MAX_DETECT_PIXELS",
    "MAX_FULL_DETECT_PIXELS",
    "MAX_REC_COLUMNS",
    "MIN_TEXT_HEIGHT",
    "LabelMatch",
    "LabelReading",
    "Scan",
    "TextLine",
    "TextReading",
    "VisibleLabel",
    "canonical_text",
    "find_visible_labels",
    "is_fragment",
    "match_label",
    "read_labels",
    "read_text",
    "set_threads",
]

_ENGINE = (
    "EDGE_BAND",
    "MAX_BOXES",
    "MAX_BOX_ASPECT",
    "MAX_CANDIDATES",
    "MAX_DETECT_PIXELS",
    "MAX_FULL_DETECT_PIXELS",
    "MAX_REC_COLUMNS",
    "MIN_TEXT_HEIGHT",
    "Scan",
    "TextLine",
    "TextReading",
    "read_text",
    "set_threads",
)
_LABELS = ("LabelReading", "VisibleLabel", "find_visible_labels", "read_labels")
__getattr__ = lazy_attributes(
    __name__,
    {**dict.fromkeys(_ENGINE, "synthmark.ocr.engine"), **dict.fromkeys(_LABELS, "synthmark.ocr.labels")},
)
