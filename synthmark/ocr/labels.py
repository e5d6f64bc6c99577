"""Visible AI-generation labels in a picture: OCR lines (:mod:`synthmark.ocr.engine`) that read
as a label (:mod:`synthmark.ocr.match`), grouped into labels, placed on an edge or corner, and
checked against GB 45438-2025 clause 5.2 (edge or corner, text height >= 5 % of the shortest
side, the AI and generation elements).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from synthmark.aigc import check_wording
from synthmark.ocr.engine import Scan, TextLine, read_text
from synthmark.ocr.match import match_label

__all__ = [
    "EDGE_DISTANCE",
    "HEIGHT_SLACK_PX",
    "HEIGHT_TOLERANCE_PCT",
    "MIN_LABEL_HEIGHT_PCT",
    "POSITIONS",
    "LabelReading",
    "VisibleLabel",
    "find_visible_labels",
    "read_labels",
]

#: A label is on an edge when its box comes within this fraction of the shortest side of it.
EDGE_DISTANCE = 0.15
#: GB 45438-2025 clause 5.2: text height at least 5 % of the shortest side.
MIN_LABEL_HEIGHT_PCT = 5.0
#: Measurement tolerance of that check: a label passes when its measured ink height plus
#: ``HEIGHT_SLACK_PX`` pixels reaches ``MIN_LABEL_HEIGHT_PCT - HEIGHT_TOLERANCE_PCT`` % of the
#: shortest side. Ink is read to about a pixel on a plate, and up to ~5 % short for unplated
#: text over busy photos (soft, JPEG-blurred top and bottom rows); a label drawn at exactly
#: 5 % must not be failed.
HEIGHT_SLACK_PX = 1
HEIGHT_TOLERANCE_PCT = 0.25
#: Where a label can be: the eight edge and corner places synthmark draws at, or the centre.
POSITIONS = ("top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right", "centre")
Position = Literal["top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right", "centre"]


@dataclass(frozen=True)
class VisibleLabel:
    """One visible label read from a picture.

    ``text``: the lines as read (joined with a newline), slips and all. ``box``: (x0, y0, x1,
    y1) in pixels of the input, x1 and y1 exclusive. ``position``: one of :data:`POSITIONS`.
    ``height_pct``: ink height of its main line (the tallest line with both wording elements,
    else the lowest line) as a percentage of the shortest side. ``wording_ok``: the AI and the
    generation element are there (:func:`synthmark.aigc.check_wording` on the corrected
    reading). ``meets_5_2``: on an edge or corner, ``height_pct`` >= 5 (within the
    measurement tolerance :data:`HEIGHT_SLACK_PX`, :data:`HEIGHT_TOLERANCE_PCT`) and
    ``wording_ok``.
    ``score``: mean recognition confidence of its lines, in [0, 1]. ``phrase``: the label
    phrase in canonical spelling (e.g. ``AI生成``, ``AI-generated``).
    """

    text: str
    box: tuple[int, int, int, int]
    position: Position
    height_pct: float
    wording_ok: bool
    meets_5_2: bool
    score: float
    phrase: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (``box`` as a list)."""
        out = asdict(self)
        out["box"] = list(self.box)
        return out


@dataclass(frozen=True)
class LabelReading:
    """What :func:`read_labels` found: the labels, every recognised line, the image size
    (width, height), the scan and ``limited`` (a bound of the engine left text unread)."""

    labels: tuple[VisibleLabel, ...]
    lines: tuple[TextLine, ...]
    size: tuple[int, int]
    scan: Scan
    limited: bool


def _position(box: tuple[int, int, int, int], width: int, height: int) -> Position:
    near = EDGE_DISTANCE * min(width, height)
    x0, y0, x1, y1 = box
    top, bottom = y0 <= near, height - y1 <= near
    left, right = x0 <= near, width - x1 <= near
    vertical = "top" if top and (not bottom or y0 <= height - y1) else "bottom" if bottom else ""
    horizontal = "" if left and right else "left" if left else "right" if right else ""
    if vertical and horizontal:
        return f"{vertical}-{horizontal}"  # type: ignore[return-value]
    return vertical or horizontal or "centre"  # type: ignore[return-value]


def _adjacent(a: TextLine, b: TextLine) -> bool:
    """Whether two lines are stacked parts of one label: overlapping columns, a gap under one
    line height."""
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    if min(ax1, bx1) <= max(ax0, bx0):
        return False
    gap = max(by0 - ay1, ay0 - by1)
    return gap < max(ay1 - ay0, by1 - by0)


def _groups(lines: list[TextLine]) -> list[list[TextLine]]:
    groups: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda item: item.box[1]):
        for group in groups:
            if any(_adjacent(line, other) for other in group):
                group.append(line)
                break
        else:
            groups.append([line])
    return groups


def _label(group: list[TextLine], width: int, height: int) -> VisibleLabel:
    group.sort(key=lambda item: (item.box[1], item.box[0]))
    matches = [match_label(line.text) for line in group]
    phrases = [m.phrase for m in matches if m is not None]
    box = (
        min(line.box[0] for line in group),
        min(line.box[1] for line in group),
        max(line.box[2] for line in group),
        max(line.box[3] for line in group),
    )
    complete = [line.height for line, m in zip(group, matches, strict=True) if m and check_wording(m.phrase).ok]
    ink = max(complete) if complete else min(line.height for line in group)
    height_pct = round(100.0 * ink / min(width, height), 2)
    wording_ok = check_wording(" ".join(phrases)).ok
    position = _position(box, width, height)
    needed = MIN_LABEL_HEIGHT_PCT - HEIGHT_TOLERANCE_PCT
    tall_enough = 100.0 * (ink + HEIGHT_SLACK_PX) / min(width, height) >= needed
    meets = position != "centre" and tall_enough and wording_ok
    score = round(sum(line.score for line in group) / len(group), 4)
    text = "\n".join(line.text for line in group)
    return VisibleLabel(text, box, position, height_pct, wording_ok, meets, score, " / ".join(phrases))


def read_labels(image: Any, *, scan: Scan = "edges") -> LabelReading:
    """:func:`find_visible_labels` with every recognised line and whether a bound was hit."""
    reading = read_text(image, scan=scan)
    width, height = reading.size
    matched = [line for line in reading.lines if match_label(line.text) is not None]
    labels = tuple(_label(group, width, height) for group in _groups(matched))
    labels = tuple(sorted(labels, key=lambda label: (label.box[1], label.box[0])))
    return LabelReading(labels, reading.lines, reading.size, scan, reading.limited)


def find_visible_labels(image: Any, *, scan: Scan = "edges") -> tuple[VisibleLabel, ...]:
    """The visible AI-generation labels in ``image``.

    Parameters
    ----------
    image:
        H x W x 3 uint8 RGB array or a Pillow image (also gray, RGBA, uint16 or float in
        [0, 1]; see :func:`synthmark.ocr.engine.as_rgb`). Not modified.
    scan:
        ``"edges"`` (default): the edge and corner bands where GB 45438 puts labels, about
        0.1 s for a 1080p picture on one core; ``"full"``: the whole frame at a finer scale
        (also centred and smaller text), under 1 s.

    Returns
    -------
    The labels, top to bottom: recognised lines that read as a label phrase (compliant or
    not, Chinese or English), stacked lines of one label merged. Compliance is per label
    (:attr:`VisibleLabel.meets_5_2`).
    """
    return read_labels(image, scan=scan).labels
