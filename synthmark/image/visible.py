"""The explicit image label of GB 45438-2025 clause 5.2: text on an edge or corner.

The text's ink height (each line's rows where glyph coverage reaches 50 %, measured on the
rendered glyphs rather than the nominal font size) is at least ``height`` x the image's
shortest side, rounded up, ``height`` >= 0.05. Text sits on a translucent
plate whose colour is chosen from the background (dark plate and white text on bright areas,
light plate and black text on dark ones); at 70 % plate opacity the contrast between text and
plate is at least 8.5:1 on any background. ``plate="outline"`` draws outlined text instead.

Only the label's rectangle is composited (in float32, in [0, 1]); the rest of the image is
copied unchanged, and the input is never modified in place.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, TypeVar, cast

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synthmark.aigc import check_wording
from synthmark.errors import LabelDoesNotFitError, MissingGlyphError, RenderError, WordingError

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_SECOND_LINE",
    "DEFAULT_TEXT",
    "MIN_HEIGHT",
    "PLATE_OPACITY",
    "POSITIONS",
    "LabelPlacement",
    "PreparedLabel",
    "add_explicit_label",
    "bundled_font_path",
    "prepare_label",
]

DEFAULT_TEXT = "AI生成"
#: The English line offered by ``second_line=DEFAULT_SECOND_LINE``; never a replacement for
#: the Chinese element pair.
DEFAULT_SECOND_LINE = "AI-generated"
#: GB 45438-2025: text height at least 5 % of the shortest side.
MIN_HEIGHT = 0.05
#: Default ink height as a fraction of the shortest side: a margin above the legal minimum.
DEFAULT_HEIGHT = 0.06
#: Opacity of the background plate, in [0, 1].
PLATE_OPACITY = 0.7
POSITIONS = ("top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right")
Position = Literal["top-left", "top", "top-right", "left", "right", "bottom-left", "bottom", "bottom-right"]
Plate = Literal["auto", "dark", "light", "outline"]
ImageT = TypeVar("ImageT", np.ndarray, Image.Image)

_BUNDLED_FONT = "NotoSansSC-Subset.otf"
# Pillow modes handled natively; others are converted as documented in add_explicit_label.
_NATIVE_MODES = {"L", "LA", "RGB", "RGBA", "I;16", "I;16L", "I;16B", "I", "F"}


@dataclass(frozen=True)
class LabelPlacement:
    """Where the label went, in pixels of the output: plate box and measured text ink height."""

    left: int
    top: int
    width: int
    height: int
    text_height: int
    font_size: int


def bundled_font_path() -> str:
    """Path of the bundled Noto Sans CJK SC Bold subset (printable ASCII + the default strings)."""
    return str(resources.files("synthmark") / "fonts" / _BUNDLED_FONT)


@lru_cache(maxsize=16)
def _cmap(font_path: str, index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    try:
        with TTFont(font_path, fontNumber=index, lazy=True) as tt:
            return frozenset(tt.getBestCmap() or {})
    except Exception as exc:  # fontTools raises many types for foreign files
        raise RenderError(
            f"cannot read font ({exc})", path=font_path, fix="pass a TrueType/OpenType font file"
        ) from exc


@lru_cache(maxsize=64)
def _font(font_path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype(font_path, size, index=index)
    except OSError as exc:
        raise RenderError(
            f"cannot load font ({exc})", path=font_path, fix="pass a TrueType/OpenType font file"
        ) from exc


def _check_glyphs(lines: list[str], font_path: str, index: int) -> None:
    cmap = _cmap(font_path, index)
    missing = sorted({ch for line in lines for ch in line if not ch.isspace() and ord(ch) not in cmap})
    if missing:
        raise MissingGlyphError(
            f"font has no glyph for {''.join(missing)!r}",
            path=font_path,
            fix="pass a font that covers the text (font=... / --font FILE)",
        )


def _box(font: ImageFont.FreeTypeFont, line: str) -> tuple[int, int, int, int]:
    """The text's bounding box in whole pixels (left, top, right, bottom)."""
    left, top, right, bottom = font.getbbox(line)
    return math.floor(left), math.floor(top), math.ceil(right), math.ceil(bottom)


def _ink_height(font: ImageFont.FreeTypeFont, lines: list[str]) -> int:
    """Height in pixels of the shortest line's ink: rows where glyph coverage reaches 50 %."""
    heights = []
    for line in lines:
        left, top, right, bottom = _box(font, line)
        mask = Image.new("L", (max(1, right - left), max(1, bottom - top)), 0)
        ImageDraw.Draw(mask).text((-left, -top), line, font=font, fill=255)
        rows = np.flatnonzero(np.asarray(mask).max(axis=1) >= 128)
        heights.append(int(rows[-1] - rows[0] + 1) if rows.size else 0)
    return min(heights)


def _fit_font(font_path: str, index: int, lines: list[str], target: int) -> ImageFont.FreeTypeFont:
    """The smallest font whose shortest line's ink height is at least ``target`` pixels."""
    probe = _font(font_path, index, 200)
    size = max(1, math.floor(target * 200 / max(1, _ink_height(probe, lines))))
    while _ink_height(_font(font_path, index, size), lines) < target:
        size += 1
    while size > 1 and _ink_height(_font(font_path, index, size - 1), lines) >= target:
        size -= 1
    return _font(font_path, index, size)


def _masks(
    lines: list[str], font: ImageFont.FreeTypeFont, target: int, outline: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """Plate (or outline) coverage and text coverage for the label, both float32 in [0, 1]."""
    pad = max(1, round(0.3 * target))
    gap = max(1, round(0.25 * target))
    boxes = [_box(font, line) for line in lines]
    width = max(b[2] - b[0] for b in boxes) + 2 * pad
    height = sum(b[3] - b[1] for b in boxes) + gap * (len(lines) - 1) + 2 * pad
    text = Image.new("L", (width, height), 0)
    back = Image.new("L", (width, height), 0)
    draw_text, draw_back = ImageDraw.Draw(text), ImageDraw.Draw(back)
    if not outline:
        draw_back.rounded_rectangle((0, 0, width - 1, height - 1), radius=pad // 2, fill=255)
    stroke = max(1, round(0.1 * target))
    y = pad
    for line, box in zip(lines, boxes, strict=True):
        x = (width - (box[2] - box[0])) // 2 - box[0]
        if outline:
            draw_back.text((x, y - box[1]), line, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        draw_text.text((x, y - box[1]), line, font=font, fill=255)
        y += box[3] - box[1] + gap
    back_cov = np.asarray(back, dtype=np.float32) / 255.0
    if not outline:
        back_cov *= PLATE_OPACITY
    return back_cov, np.asarray(text, dtype=np.float32) / 255.0, _ink_height(font, lines)


def _origin(position: str, size: tuple[int, int], box: tuple[int, int], margin: int) -> tuple[int, int]:
    (h, w), (bh, bw) = size, box
    vertical, _, horizontal = position.partition("-")
    if position in ("left", "right"):
        vertical, horizontal = "middle", position
    elif position in ("top", "bottom"):
        horizontal = "center"
    top = {"top": margin, "middle": (h - bh) // 2, "bottom": h - bh - margin}[vertical]
    left = {"left": margin, "center": (w - bw) // 2, "right": w - bw - margin}[horizontal]
    return top, left


def _over(
    base: np.ndarray, alpha: np.ndarray | None, value: float, coverage: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Porter-Duff 'over' of a flat ``value`` layer with ``coverage`` onto ``base`` (H x W x C)."""
    cov = coverage[..., None]
    if alpha is None:
        return base * (1.0 - cov) + value * cov, None
    a = alpha[..., None]
    out_a = cov + a * (1.0 - cov)
    safe = np.where(out_a > 0, out_a, 1.0)
    color = (value * cov + base * a * (1.0 - cov)) / safe
    return color, out_a[..., 0]


def _scale(dtype: np.dtype[Any]) -> float:
    """Full-scale value of an array dtype: 255, 65535 or 1.0 (floats in [0, 1])."""
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    if dtype in (np.float32, np.float64):
        return 1.0
    raise RenderError(f"unsupported array dtype {dtype}", fix="pass uint8, uint16 or float32 in [0, 1]")


def _layout(
    size: tuple[int, int], lines: list[str], font_path: str, font_index: int, position: str, height: float, plate: str
) -> tuple[LabelPlacement, np.ndarray, np.ndarray]:
    """Placement of the label on an image of ``size`` (height, width), with its plate and text
    coverage masks."""
    h, w = size
    short = min(h, w)
    target = max(1, math.ceil(height * short))
    font = _fit_font(font_path, font_index, lines, target)
    back, text, text_h = _masks(lines, font, target, plate == "outline")
    bh, bw = back.shape
    margin = max(1, round(0.02 * short))
    if bw > w - 2 * margin or bh > h - 2 * margin:
        raise LabelDoesNotFitError(
            f"a {bw} x {bh} px label does not fit a {w} x {h} px image",
            fix="use shorter text, drop the second line, or pass a larger image",
        )
    top, left = _origin(position, (h, w), (bh, bw), margin)
    return LabelPlacement(left, top, bw, bh, text_h, int(font.size)), back, text


def _composite(region: np.ndarray, back: np.ndarray, text: np.ndarray, plate: str) -> np.ndarray:
    """The label's plate and text composited over ``region`` (H x W or H x W x 1..4, last channel
    alpha when there are 2 or 4), returned in the region's shape and dtype."""
    scale = _scale(region.dtype)
    bh, bw = back.shape
    planes = region.astype(np.float32).reshape(bh, bw, -1) / scale
    channels = planes.shape[2]
    has_alpha = channels in (2, 4)
    color = planes[..., : channels - 1] if has_alpha else planes
    alpha = planes[..., -1] if has_alpha else None
    if plate == "auto":
        weights = np.array([0.299, 0.587, 0.114], np.float32)
        luminance = float(color.mean()) if color.shape[2] < 3 else float((color[..., :3] @ weights).mean())
        plate = "dark" if luminance > 0.5 else "light"
    plate_value, text_value = (0.0, 1.0) if plate in ("dark", "outline") else (1.0, 0.0)
    color, alpha = _over(color, alpha, plate_value, back)
    color, alpha = _over(color, alpha, text_value, text)
    result = np.concatenate([color, alpha[..., None]], axis=2) if alpha is not None else color
    result = np.clip(result * scale, 0, scale)
    if scale != 1.0:
        result = np.rint(result)
    return result.reshape(region.shape).astype(region.dtype)


def _label_array(
    array: np.ndarray, lines: list[str], font_path: str, font_index: int, position: str, height: float, plate: str
) -> tuple[np.ndarray, LabelPlacement]:
    """Label an H x W, H x W x 1..4 array of uint8, uint16 or float in [0, 1]; returns a copy."""
    _scale(array.dtype)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise RenderError(f"unsupported array shape {array.shape}", fix="pass H x W or H x W x C with C in 1..4")
    placement, back, text = _layout(array.shape[:2], lines, font_path, font_index, position, height, plate)
    out = array.copy()
    rows = slice(placement.top, placement.top + placement.height)
    cols = slice(placement.left, placement.left + placement.width)
    out[rows, cols] = _composite(out[rows, cols], back, text, plate)
    return out, placement


@dataclass(frozen=True)
class PreparedLabel:
    """A label laid out once for one frame size, composited onto many frames (video): the
    font is fitted and the glyphs rendered once, and the plate colour is fixed, so the label
    does not flicker between dark and light as the picture changes."""

    placement: LabelPlacement
    back: np.ndarray
    text: np.ndarray
    plate: str

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Composite the label onto ``frame`` (H x W x C array of the prepared size, any dtype
        :func:`add_explicit_label` takes) in place; returns ``frame``."""
        rows = slice(self.placement.top, self.placement.top + self.placement.height)
        cols = slice(self.placement.left, self.placement.left + self.placement.width)
        frame[rows, cols] = _composite(frame[rows, cols], self.back, self.text, self.plate)
        return frame

    def apply_yuv420(self, luma: np.ndarray, u: np.ndarray, v: np.ndarray, *, full_range: bool) -> None:
        """Composite the label onto an 8-bit 4:2:0 frame's planes in place (Y: H x W, U and V:
        H/2 x W/2). Blending commutes with the affine RGB -> YUV map, so this is the RGB result
        (black / white plate and text are Y 16 / 235, or 0 / 255 at full range, and neutral
        chroma), up to the chroma subsampling of the label's edges."""
        p = self.placement
        low, high = (0.0, 255.0) if full_range else (16.0, 235.0)
        plate, text = (low, high) if self.plate in ("dark", "outline") else (high, low)
        region = luma[p.top : p.top + p.height, p.left : p.left + p.width].astype(np.float32)
        region = region * (1 - self.back) + plate * self.back
        region = region * (1 - self.text) + text * self.text
        luma[p.top : p.top + p.height, p.left : p.left + p.width] = np.rint(region).astype(np.uint8)
        top, left = p.top // 2, p.left // 2
        bottom, right = (p.top + p.height + 1) // 2, (p.left + p.width + 1) // 2
        for chroma in (u, v):
            keep = np.ones(((bottom - top) * 2, (right - left) * 2), np.float32)
            at = (p.top - 2 * top, p.left - 2 * left)
            window = (slice(at[0], at[0] + p.height), slice(at[1], at[1] + p.width))
            keep[window] = (1 - self.back) * (1 - self.text)  # what is left of the picture
            cover = keep.reshape(bottom - top, 2, right - left, 2).mean(axis=(1, 3))
            block = chroma[top:bottom, left:right].astype(np.float32)
            chroma[top:bottom, left:right] = np.rint(block * cover + 128.0 * (1 - cover)).astype(np.uint8)


def prepare_label(first_frame: np.ndarray, style: LabelStyle) -> PreparedLabel:
    """Lay out ``style`` for frames the size of ``first_frame`` (H x W x C array, or an H x W
    luma plane); an ``"auto"`` plate is chosen from ``first_frame`` under the label and then
    kept."""
    font_path = os.fspath(style.font) if style.font is not None else bundled_font_path()
    _check_glyphs(style.lines, font_path, style.font_index)
    _scale(first_frame.dtype)
    placement, back, text = _layout(
        first_frame.shape[:2], style.lines, font_path, style.font_index, style.position, style.height, style.plate
    )
    plate = style.plate
    if plate == "auto":
        region = first_frame[
            placement.top : placement.top + placement.height, placement.left : placement.left + placement.width
        ]
        colour = region.astype(np.float32).reshape(placement.height, placement.width, -1)[..., :3] / _scale(
            region.dtype
        )
        luminance = (
            float(colour.mean())
            if colour.shape[2] < 3
            else float((colour @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
        )
        plate = "dark" if luminance > 0.5 else "light"
    return PreparedLabel(placement, back, text, plate)


def _to_array(image: Image.Image) -> tuple[np.ndarray, str]:
    """A Pillow image as an array and the mode to rebuild it in."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B"):
        return np.asarray(image, dtype=np.uint16), "I;16"
    if mode == "I":
        return np.clip(np.asarray(image), 0, 65535).astype(np.uint16), "I"
    if mode == "F":
        return np.asarray(image, dtype=np.float32), "F"
    return np.asarray(image), mode


def _from_array(array: np.ndarray, mode: str) -> Image.Image:
    if mode == "I":
        return Image.fromarray(array.astype(np.int32), "I")
    if mode == "I;16":
        return Image.frombuffer(
            "I;16", (array.shape[1], array.shape[0]), array.astype("<u2").tobytes(), "raw", "I;16", 0, 1
        )
    return Image.fromarray(array, mode)


@dataclass(frozen=True)
class LabelStyle:
    """How the visible label reads and where it goes; checked on construction.

    Fields as the keyword arguments of :func:`add_explicit_label`. Raises
    :class:`RenderError` for an unknown position or plate, a height outside [0.05, 0.5] or
    empty/multi-line text, and :class:`WordingError` when the text lacks the AI or the
    generation element.
    """

    text: str = DEFAULT_TEXT
    second_line: str | None = None
    position: Position = "bottom-right"
    height: float = DEFAULT_HEIGHT
    plate: Plate = "auto"
    font: str | os.PathLike[str] | None = None
    font_index: int = 0

    def __post_init__(self) -> None:
        if self.position not in POSITIONS:
            raise RenderError(f"unknown position {self.position!r}", fix=f"use one of {', '.join(POSITIONS)}")
        if self.plate not in ("auto", "dark", "light", "outline"):
            raise RenderError(f"unknown plate {self.plate!r}", fix="use auto, dark, light or outline")
        if not MIN_HEIGHT <= self.height <= 0.5:
            raise RenderError(
                f"text height {self.height} of the shortest side is outside [0.05, 0.5]",
                fix="GB 45438 requires at least 0.05",
            )
        lines = self.lines
        if not lines or any("\n" in line for line in lines):
            raise RenderError(
                "label text must be one or two non-empty lines", fix="pass text= and optionally second_line="
            )
        if not check_wording(" ".join(lines)).ok:
            raise WordingError(
                f"label text {' / '.join(lines)!r} lacks the AI element (AI/人工智能) "
                "or the generation element (生成/合成)",
                fix="use wording such as AI生成 or 人工智能合成",
            )

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.text, self.second_line) if line]


def add_explicit_label(
    image: ImageT,
    *,
    text: str = DEFAULT_TEXT,
    second_line: str | None = None,
    position: Position = "bottom-right",
    height: float = DEFAULT_HEIGHT,
    plate: Plate = "auto",
    font: str | os.PathLike[str] | None = None,
    font_index: int = 0,
) -> ImageT:
    """Draw the explicit "AI生成" label on an edge or corner of an image.

    Parameters
    ----------
    image:
        ``ndarray`` H x W or H x W x C (C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) of uint8,
        uint16 or float32/float64 in [0, 1]; or a Pillow image. Not modified.
    text:
        First line; with ``second_line`` it must contain an AI element (``AI``/``人工智能``) and
        a generation element (``生成``/``合成``), else :class:`WordingError`.
    second_line:
        Optional second line, e.g. :data:`DEFAULT_SECOND_LINE` (``"AI-generated"``).
    position:
        One of :data:`POSITIONS`; default ``"bottom-right"``.
    height:
        Minimum ink height of each text line as a fraction of the shortest side, in
        [0.05, 0.5]; default 0.06.
    plate:
        ``"auto"`` (plate colour from the background), ``"dark"``, ``"light"`` or ``"outline"``.
    font, font_index:
        A TrueType/OpenType file (and face index in a collection); default the bundled Noto Sans
        CJK SC subset, which covers printable ASCII and the default strings. Characters the
        font lacks raise :class:`MissingGlyphError`, never tofu boxes.

    Returns
    -------
    The same kind as given: an array of the same shape and dtype, or a Pillow image. Pillow
    modes L, LA, RGB, RGBA, I;16, I and F come back in their mode; CMYK comes back CMYK (only
    the label's rectangle passes through RGB); 1 comes back L; P and PA come back RGB or RGBA
    (RGBA when the palette has transparency); other modes come back RGB. ``image.info``
    (ICC profile, EXIF, DPI) is carried over.
    """
    style = LabelStyle(text, second_line, position, height, plate, font, font_index)
    labeled, _ = draw_label(image, style)
    return cast(ImageT, labeled)


def draw_label(
    image: np.ndarray | Image.Image, style: LabelStyle, *, owned: bool = False
) -> tuple[np.ndarray | Image.Image, LabelPlacement]:
    """:func:`add_explicit_label` with a :class:`LabelStyle`, also returning the placement.

    ``owned=True`` lets it draw into a Pillow image the caller no longer needs instead of
    copying it first.
    """
    lines = style.lines
    font_index = style.font_index
    position, height, plate = style.position, style.height, style.plate
    font_path = os.fspath(style.font) if style.font is not None else bundled_font_path()
    _check_glyphs(lines, font_path, font_index)
    if isinstance(image, np.ndarray):
        return _label_array(image, lines, font_path, font_index, position, height, plate)
    if not isinstance(image, Image.Image):
        raise RenderError(f"cannot label a {type(image).__name__}", fix="pass a numpy array or a PIL image")
    source: Image.Image = image
    if source.mode == "1":
        source = source.convert("L")
    elif source.mode in ("P", "PA"):
        source = source.convert("RGBA" if source.mode == "PA" or "transparency" in source.info else "RGB")
    elif source.mode not in _NATIVE_MODES and source.mode != "CMYK":
        source = source.convert("RGB")
    placement, back, text_cov = _layout(
        (source.height, source.width), lines, font_path, font_index, position, height, plate
    )
    box = (placement.left, placement.top, placement.left + placement.width, placement.top + placement.height)
    crop = source.crop(box)
    # Only the label's rectangle is converted and composited; CMYK passes through RGB there.
    array, mode = _to_array(crop.convert("RGB") if crop.mode == "CMYK" else crop)
    patch = _from_array(_composite(array, back, text_cov, plate), mode)
    result = source.copy() if source is image and not owned else source
    result.paste(patch.convert("CMYK") if source.mode == "CMYK" else patch, box[:2])
    result.info.update({k: v for k, v in image.info.items() if k != "transparency"})
    return result, placement
