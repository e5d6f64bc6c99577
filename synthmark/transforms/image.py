"""The image robustness suite of ``shared/spec/robustness.md``: what "the mark survives" means.

Every transformation is a pure function ``(image, rng) -> image`` on RGB arrays:

* input: H×W×3 ``uint8`` RGB, values 0–255; it is never modified in place;
* output: a new H'×W'×3 ``uint8`` RGB array (C-contiguous, never a view of the input);
* ``rng``: a :class:`numpy.random.Generator`; only ``crop384``, ``noise5``, ``noise10`` and
  ``overlay`` draw from it, so the same seed always gives the same output.

The names are stable (reports are compared across versions) and :data:`IMAGE_SUITE` lists them
in the order of the specification. Lossy steps use the real codecs (Pillow's libjpeg and
libwebp), not simulations, because the real quantisation is what a mark has to survive.

>>> import numpy as np
>>> from synthmark.transforms import IMAGE_SUITE, apply_image
>>> image = np.full((200, 300, 3), 128, dtype=np.uint8)
>>> apply_image("resize50", image).shape
(100, 150, 3)
>>> apply_image("crop384", image, rng=1).shape
(200, 300, 3)
>>> list(IMAGE_SUITE)[:4]
['identity', 'jpeg90', 'jpeg75', 'jpeg50']
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from synthmark.errors import InputError, SynthmarkError

__all__ = [
    "CROP_SIDE",
    "IMAGE_SUITE",
    "ImageTransform",
    "apply_image",
    "blur1",
    "bright80",
    "bright120",
    "combo",
    "contrast80",
    "crop50_center",
    "crop50_corner",
    "crop384",
    "flip",
    "gray",
    "identity",
    "jpeg50",
    "jpeg75",
    "jpeg90",
    "noise5",
    "noise10",
    "overlay",
    "resize50",
    "resize75",
    "resize150",
    "rotate2",
    "rotate5",
    "screenshot",
    "social",
    "webp75",
]

RGBImage = npt.NDArray[np.uint8]
#: The signature every transformation of the suite has.
ImageTransform = Callable[[RGBImage, np.random.Generator], RGBImage]

#: Side fraction kept by the 50 %-area crops (0.71² ≈ 0.504).
CROP_SIDE = 0.71
#: Window side of ``crop384`` in pixels (TC260 2023 guide).
CROP_WINDOW = 384
#: Long side after ``social``, in pixels.
SOCIAL_LONG_SIDE = 1080
#: Fraction of the image area the ``overlay`` sticker covers.
OVERLAY_AREA = 0.10


# --- helpers -----------------------------------------------------------------------------------


def _check_rgb(image: npt.NDArray[np.generic]) -> RGBImage:
    """Return ``image`` typed as RGB uint8, or raise :class:`InputError` naming what is wrong."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"shape {getattr(image, 'shape', None)} dtype {getattr(image, 'dtype', type(image).__name__)}"
        raise InputError(
            f"expected an H×W×3 uint8 RGB array, got {got}",
            fix="convert with np.asarray(PIL.Image.open(path).convert('RGB'))",
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InputError(f"empty image of shape {image.shape}", fix="pass an image at least 1×1 pixel")
    return image.astype(np.uint8, copy=False)


def _round(value: float) -> int:
    """Round half up (not to even), at least 1: pixel counts must not depend on float parity."""
    return max(1, math.floor(value + 0.5))


def _to_uint8(values: npt.NDArray[np.floating]) -> RGBImage:
    """Round to nearest and clip to 0–255."""
    return np.asarray(np.clip(np.rint(values), 0, 255), dtype=np.uint8)


def _encode_decode(image: RGBImage, fmt: str, **options: object) -> RGBImage:
    """Encode ``image`` with Pillow in ``fmt`` and decode it back to RGB uint8."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **options)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.array(decoded.convert("RGB"), dtype=np.uint8)


def _png(image: RGBImage) -> RGBImage:
    # compress_level only trades time for size; the round trip is lossless at any level.
    return _encode_decode(image, "PNG", compress_level=1)


def _jpeg(image: RGBImage, quality: int) -> RGBImage:
    return _encode_decode(image, "JPEG", quality=quality, subsampling="4:2:0")


def _scale(image: RGBImage, width: int, height: int) -> RGBImage:
    """Resize to ``width``×``height``: area averaging when shrinking, bicubic when enlarging."""
    h, w = image.shape[:2]
    if (width, height) == (w, h):
        return np.array(image, dtype=np.uint8)
    shrinking = width * height < w * h
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), dtype=np.uint8)


def _resize(image: RGBImage, factor: float) -> RGBImage:
    h, w = image.shape[:2]
    return _scale(image, _round(w * factor), _round(h * factor))


def _window(image: RGBImage, top: int, left: int, height: int, width: int) -> RGBImage:
    return np.array(image[top : top + height, left : left + width], dtype=np.uint8, order="C")


def _crop_side(image: RGBImage, *, centre: bool) -> RGBImage:
    h, w = image.shape[:2]
    ch, cw = min(h, _round(CROP_SIDE * h)), min(w, _round(CROP_SIDE * w))
    top, left = ((h - ch) // 2, (w - cw) // 2) if centre else (0, 0)
    return _window(image, top, left, ch, cw)


def _rotate(image: RGBImage, degrees: float) -> RGBImage:
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    rotated = cv2.warpAffine(
        image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )
    return np.asarray(rotated, dtype=np.uint8)


def _noise(image: RGBImage, sigma: float, rng: np.random.Generator) -> RGBImage:
    return _to_uint8(image.astype(np.float64) + rng.normal(0.0, sigma, size=image.shape))


def _gain(image: RGBImage, factor: float) -> RGBImage:
    return _to_uint8(image.astype(np.float64) * factor)


# --- the suite ---------------------------------------------------------------------------------


def identity(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """No change: a lossless PNG round trip (pixels are identical to the input)."""
    return _png(_check_rgb(image))


def jpeg90(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """JPEG encode/decode at quality 90, 4:2:0 chroma subsampling (Pillow/libjpeg)."""
    return _jpeg(_check_rgb(image), 90)


def jpeg75(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """JPEG encode/decode at quality 75, 4:2:0 chroma subsampling (Pillow/libjpeg)."""
    return _jpeg(_check_rgb(image), 75)


def jpeg50(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """JPEG encode/decode at quality 50, 4:2:0 chroma subsampling (Pillow/libjpeg)."""
    return _jpeg(_check_rgb(image), 50)


def webp75(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Lossy WebP encode/decode at quality 75 (Pillow/libwebp, default method 4)."""
    return _encode_decode(_check_rgb(image), "WEBP", quality=75, lossless=False)


def resize50(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Each side scaled to 50 % (rounded half up), area averaging; not restored."""
    return _resize(_check_rgb(image), 0.5)


def resize75(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Each side scaled to 75 % (rounded half up), area averaging; not restored."""
    return _resize(_check_rgb(image), 0.75)


def resize150(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Each side scaled to 150 % (rounded half up), bicubic; not restored."""
    return _resize(_check_rgb(image), 1.5)


def crop50_center(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Keep the centred round(0.71·W)×round(0.71·H) window (about 50 % of the area)."""
    return _crop_side(_check_rgb(image), centre=True)


def crop50_corner(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Keep the top-left round(0.71·W)×round(0.71·H) window (about 50 % of the area)."""
    return _crop_side(_check_rgb(image), centre=False)


def crop384(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Keep a 384×384 window at a position drawn uniformly from ``rng``.

    A dimension shorter than 384 px is kept whole, so the output is
    min(H, 384)×min(W, 384).
    """
    image = _check_rgb(image)
    h, w = image.shape[:2]
    ch, cw = min(h, CROP_WINDOW), min(w, CROP_WINDOW)
    top = int(rng.integers(0, h - ch + 1))
    left = int(rng.integers(0, w - cw + 1))
    return _window(image, top, left, ch, cw)


def rotate2(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Rotate 2° counter-clockwise about the centre; same canvas, bilinear, black corners."""
    return _rotate(_check_rgb(image), 2.0)


def rotate5(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Rotate 5° counter-clockwise about the centre; same canvas, bilinear, black corners."""
    return _rotate(_check_rgb(image), 5.0)


def blur1(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Gaussian blur, σ = 1 px (7×7 kernel, reflected borders)."""
    image = _check_rgb(image)
    blurred = cv2.GaussianBlur(image, (0, 0), sigmaX=1.0, sigmaY=1.0, borderType=cv2.BORDER_REFLECT_101)
    return np.asarray(blurred, dtype=np.uint8)


def noise5(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Additive white Gaussian noise, σ = 5 on the 0–255 scale, independent per sample; rounded, clipped."""
    return _noise(_check_rgb(image), 5.0, rng)


def noise10(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Additive white Gaussian noise, σ = 10 on the 0–255 scale (PSNR ≈ 28 dB); rounded, clipped."""
    return _noise(_check_rgb(image), 10.0, rng)


def bright120(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Every sample × 1.2, rounded, clipped to 255."""
    return _gain(_check_rgb(image), 1.2)


def bright80(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Every sample × 0.8, rounded."""
    return _gain(_check_rgb(image), 0.8)


def contrast80(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """``(x − m)·0.8 + m`` with ``m`` the mean of the whole image (all pixels, all channels)."""
    image = _check_rgb(image)
    values = image.astype(np.float64)
    mean = float(values.mean())
    return _to_uint8((values - mean) * 0.8 + mean)


def gray(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """To grayscale (ITU-R 601 luma, exactly Pillow's ``convert('L')``), then back to 3 equal channels."""
    luma = np.asarray(Image.fromarray(_check_rgb(image)).convert("L"), dtype=np.uint8)
    return np.repeat(luma[:, :, np.newaxis], 3, axis=2)


def flip(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Horizontal mirror (left and right swapped)."""
    return np.array(_check_rgb(image)[:, ::-1], dtype=np.uint8, order="C")


def screenshot(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Each side scaled to 80 % (area averaging), then saved as PNG (lossless)."""
    return _png(_resize(_check_rgb(image), 0.8))


def social(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """What upload pipelines do: long side scaled to 1080 px (up or down), then JPEG q75 4:2:0."""
    image = _check_rgb(image)
    h, w = image.shape[:2]
    factor = SOCIAL_LONG_SIDE / max(h, w)
    size = (SOCIAL_LONG_SIDE, _round(h * factor)) if w >= h else (_round(w * factor), SOCIAL_LONG_SIDE)
    return _jpeg(_scale(image, *size), 75)


def combo(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """Centre crop keeping 0.71 of each side, then brightness × 0.9, then JPEG q60 4:2:0."""
    return _jpeg(_gain(_crop_side(_check_rgb(image), centre=True), 0.9), 60)


def overlay(image: RGBImage, rng: np.random.Generator) -> RGBImage:
    """An opaque sticker: a filled rectangle covering 10 % of the area.

    The rectangle is as close to square as the image allows (side round(√(0.1·W·H)), clamped to
    the image), lies fully inside the image at a position drawn from ``rng``, and has one colour
    drawn from ``rng`` (uniform over the 0–255 cube).
    """
    image = _check_rgb(image)
    h, w = image.shape[:2]
    area = OVERLAY_AREA * h * w
    sw = min(w, _round(math.sqrt(area)))
    sh = min(h, _round(area / sw))
    sw = min(w, _round(area / sh))
    top = int(rng.integers(0, h - sh + 1))
    left = int(rng.integers(0, w - sw + 1))
    colour = rng.integers(0, 256, size=3, dtype=np.uint8)
    out = np.array(image, dtype=np.uint8)
    out[top : top + sh, left : left + sw] = colour
    return out


#: The suite, as data, in the order of the specification's table. Keys are the stable names.
IMAGE_SUITE: dict[str, ImageTransform] = {
    "identity": identity,
    "jpeg90": jpeg90,
    "jpeg75": jpeg75,
    "jpeg50": jpeg50,
    "webp75": webp75,
    "resize50": resize50,
    "resize75": resize75,
    "resize150": resize150,
    "crop50-center": crop50_center,
    "crop50-corner": crop50_corner,
    "crop384": crop384,
    "rotate2": rotate2,
    "rotate5": rotate5,
    "blur1": blur1,
    "noise5": noise5,
    "noise10": noise10,
    "bright120": bright120,
    "bright80": bright80,
    "contrast80": contrast80,
    "gray": gray,
    "flip": flip,
    "screenshot": screenshot,
    "social": social,
    "combo": combo,
    "overlay": overlay,
}


def apply_image(
    name: str,
    image: RGBImage,
    *,
    rng: np.random.Generator | int | None = None,
) -> RGBImage:
    """Apply the transformation called ``name`` to ``image``.

    Parameters
    ----------
    name:
        One of the keys of :data:`IMAGE_SUITE` (``"jpeg75"``, ``"crop50-center"``, ...).
    image:
        H×W×3 ``uint8`` RGB array; not modified.
    rng:
        A :class:`numpy.random.Generator`, a seed, or ``None`` for fresh OS entropy. Used only
        by the random transformations (``crop384``, ``noise5``, ``noise10``, ``overlay``).

    Returns
    -------
    numpy.ndarray
        A new H'×W'×3 ``uint8`` RGB array.

    Raises
    ------
    SynthmarkError
        ``name`` is not in the suite.
    InputError
        ``image`` is not an H×W×3 ``uint8`` array.
    """
    try:
        transform = IMAGE_SUITE[name]
    except KeyError:
        raise SynthmarkError(f"unknown transformation {name!r}", fix=f"use one of: {', '.join(IMAGE_SUITE)}") from None
    return transform(image, np.random.default_rng(rng))
