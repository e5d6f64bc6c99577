"""Label stamps (text rendered with fonts that are not synthmark's, fixtures/ocr/stamps) and the
real photo corpus (fixtures/ocr/corpus.json), composited at run time: shared by the OCR tests
and ``benchmarks/bench_ocr.py``. No font is needed here."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
STAMPS = FIXTURES / "ocr" / "stamps"
EDGE_POSITIONS = ("top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right")


@dataclass(frozen=True)
class Stamp:
    """A rendered label line: grey and alpha planes (float32 in [0, 1]) and its ink rows."""

    name: str
    phrase: str
    font: str
    style: str
    kind: str
    split: str
    grey: np.ndarray
    alpha: np.ndarray
    ink: tuple[int, int]


def corpus(split: str | None = "heldout") -> dict[str, dict[str, Any]]:
    """The photo corpus: path relative to fixtures/ -> {"split", "text"}, one split or all."""
    data: dict[str, dict[str, Any]] = json.loads((FIXTURES / "ocr" / "corpus.json").read_text())
    return {name: info for name, info in data.items() if split is None or info["split"] == split}


@lru_cache(maxsize=128)
def load_photo(name: str) -> np.ndarray:
    """A corpus photo (path relative to fixtures/) as H x W x 3 uint8 RGB, read-only."""
    array = np.asarray(Image.open(FIXTURES / name).convert("RGB"))
    array.flags.writeable = False
    return array


def stamps(*, kind: str = "positive", split: str | None = "heldout") -> list[Stamp]:
    """The stamps of ``kind`` (``positive``: label phrases; ``negative``: confusable ordinary
    text) in the fonts of ``split`` (None: all)."""
    manifest = json.loads((STAMPS / "stamps.json").read_text())
    out = []
    for name, info in sorted(manifest.items()):
        if info["kind"] != kind or (split is not None and info["split"] != split):
            continue
        la = np.asarray(Image.open(STAMPS / name), np.float32) / 255.0
        ink = (int(info["ink"][0]), int(info["ink"][1]))
        out.append(
            Stamp(name, info["phrase"], info["font"], info["style"], kind, info["split"], la[..., 0], la[..., 1], ink)
        )
    return out


def stamp(font: str, phrase: str, style: str = "plate", kind: str = "positive") -> Stamp:
    """One stamp by font key, phrase and style."""
    for item in stamps(kind=kind, split=None):
        if (item.font, item.phrase, item.style) == (font, phrase, style):
            return item
    raise KeyError((font, phrase, style))


def _scaled(item: Stamp, ink_px: float) -> tuple[np.ndarray, np.ndarray]:
    factor = ink_px / (item.ink[1] - item.ink[0] + 1)
    h, w = item.grey.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(item.grey, size, interpolation=interpolation), cv2.resize(
        item.alpha, size, interpolation=interpolation
    )


def composite(
    photo: np.ndarray, lines: list[Stamp], position: str, height: float, *, margin: float = 0.02
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """``photo`` with ``lines`` stacked (centred, a quarter-line gap) at ``position`` (an edge or
    corner, or ``centre``), each line's ink ``height`` x the shortest side, ``margin`` x the
    shortest side from the edges; returns the new image and the stamp's box (x0, y0, x1, y1).
    Raises ValueError when it does not fit."""
    image, box, _ = composite_with_ink(photo, lines, position, height, margin=margin)
    return image, box


def composite_with_ink(
    photo: np.ndarray, lines: list[Stamp], position: str, height: float, *, margin: float = 0.02
) -> tuple[np.ndarray, tuple[int, int, int, int], np.ndarray]:
    """:func:`composite`, also returning the text's ink as an H x W boolean mask of the photo
    (pixels at least half covered by the letters, not by a plate or shadow)."""
    h, w = photo.shape[:2]
    short = min(h, w)
    parts = [_scaled(item, height * short) for item in lines]
    gap = round(0.25 * height * short)
    bw = max(p[0].shape[1] for p in parts)
    bh = sum(p[0].shape[0] for p in parts) + gap * (len(parts) - 1)
    pad = round(margin * short)
    if bw > w - 2 * pad or bh > h - 2 * pad:
        raise ValueError(f"a {bw} x {bh} px stamp does not fit a {w} x {h} px photo")
    vertical, _, horizontal = position.partition("-")
    if position in ("left", "right"):
        vertical, horizontal = "middle", position
    elif position in ("top", "bottom"):
        horizontal = "middle"
    elif position == "centre":
        vertical = horizontal = "middle"
    top = {"top": pad, "middle": (h - bh) // 2, "bottom": h - bh - pad}[vertical]
    left = {"left": pad, "middle": (w - bw) // 2, "right": w - bw - pad}[horizontal]
    out = photo.astype(np.float32)
    ink = np.zeros((h, w), bool)
    y = top
    for item, (grey, alpha) in zip(lines, parts, strict=True):
        x = left + (bw - grey.shape[1]) // 2
        rows, cols = slice(y, y + grey.shape[0]), slice(x, x + grey.shape[1])
        region = out[rows, cols]
        region[:] = region * (1 - alpha[..., None]) + 255.0 * grey[..., None] * alpha[..., None]
        letters = alpha * grey if item.style != "black" else alpha  # white letters, or black ones
        ink[rows, cols] = letters >= 0.5 if item.style != "plate" else alpha * grey >= 0.5
        y += grey.shape[0] + gap
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), (left, top, left + bw, top + bh), ink


def jpeg(image: np.ndarray, quality: int = 75) -> np.ndarray:
    """``image`` through a JPEG round trip at ``quality``."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two (x0, y0, x1, y1) boxes overlap."""
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
