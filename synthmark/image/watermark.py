"""The invisible image watermark: a keyed, content-adaptive, self-synchronising tiled mark.

Design (numbers are defaults of this module):

* **Tile.** A 128 x 128 pattern is built in the frequency domain: the DFT coefficients in the
  annulus 4 <= |k| <= 19 (0.03 to 0.15 cycles per pixel: low enough to survive JPEG q50, blur
  and halving, high enough to stay out of the image's own low frequencies) get keyed random
  phases. A keyed subset carries the 306 coded payload bits (one coefficient each, the bit is
  the sign); the rest form a **pilot** known to the key holder. The tile is repeated over the
  whole image (scaled up with the image above 1080 px short side), so any 384 x 384 window
  holds nine copies of the whole payload.
* **Embedding** adds the tiled pattern to the luma of every pixel (the same amount to R, G and
  B, so colours do not shift), scaled by a **texture mask** (local standard deviation): flat
  skies and gradients get a small fraction of the strength of textured regions. The global
  strength is set so that the image's PSNR lands on ``target_psnr`` (default 42 dB).
* **Detection** needs only the key. It whitens the luma (band-pass plus local contrast
  normalisation), finds the tile lattice — period and rotation, hence any rescale and small
  rotation — as peaks of the autocorrelation, resamples to the canonical grid, folds all tiles
  into one (the mark adds up coherently, the picture does not), finds the cyclic shift (any
  crop) by correlating with the pilot, and decodes the payload (soft Viterbi, keyed MAC).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar, cast

import cv2
import numpy as np
from PIL import Image

from synthmark import payload
from synthmark.errors import ImageTooSmallError, LowCapacityError, WatermarkError
from synthmark.keys import WatermarkKey
from synthmark.payload import CODED_BITS

__all__ = [
    "DEFAULT_PSNR",
    "MIN_SIDE",
    "Capacity",
    "WatermarkReport",
    "detect_watermark",
    "embed_watermark",
    "watermark_capacity",
]

#: Tile size of the canonical grid, pixels.
TILE = 128
#: The mark's band, in DFT bins of the canonical tile (cycles per 128 px).
BAND = (4.0, 19.0)
#: Default quality target: PSNR of the marked image against the original, dB.
DEFAULT_PSNR = 42.0
#: Smallest short side (pixels) the watermark accepts.
MIN_SIDE = 256
#: Largest window (pixels per side) the detector analyses, centred; the mark is everywhere.
ANALYSIS_SIDE = 1024
#: Strength cap: mark amplitude (0-255 scale, RMS) where the texture mask is 1. Flat content
#: cannot borrow strength from elsewhere, so a nearly flat image ends below its PSNR target.
MAX_STRENGTH = 6.0
#: Pre-check threshold: achieved/target mark energy ratio under which embedding is refused.
MIN_CAPACITY = 0.25
ImageT = TypeVar("ImageT", np.ndarray, Image.Image)


@dataclass(frozen=True)
class _Layout:
    """Where the pilot and the payload live in the tile's rfft2 spectrum (TILE x TILE//2+1)."""

    pilot: tuple[np.ndarray, np.ndarray]  # (row indices, col indices)
    payload: tuple[np.ndarray, np.ndarray]  # one coefficient per coded bit, in bit order
    pilot_phase: np.ndarray
    payload_phase: np.ndarray


@lru_cache(maxsize=32)
def _layout(key: WatermarkKey) -> _Layout:
    ky = np.fft.fftfreq(TILE, 1.0 / TILE)[:, None]
    kx = np.arange(TILE // 2 + 1)[None, :]
    radius = np.hypot(ky, kx)
    rows, cols = np.nonzero((radius >= BAND[0]) & (radius <= BAND[1]) & (kx >= 1))
    rng = key.rng("image", "layout")
    order = rng.permutation(len(rows))
    data, pilot = order[:CODED_BITS], order[CODED_BITS:]
    phases = rng.uniform(0, 2 * np.pi, len(rows))
    return _Layout(
        pilot=(rows[pilot], cols[pilot]),
        payload=(rows[data], cols[data]),
        pilot_phase=np.exp(1j * phases[pilot]),
        payload_phase=np.exp(1j * phases[data]),
    )


def tile_pattern(key: WatermarkKey, coded: np.ndarray, size: int = TILE) -> np.ndarray:
    """The ``size`` x ``size`` float32 tile (zero mean, unit RMS) carrying ``coded`` bits."""
    layout = _layout(key)
    spectrum = np.zeros((size, size // 2 + 1), dtype=np.complex128)
    rows, cols = layout.pilot
    spectrum[_scale_rows(rows, size), cols] = layout.pilot_phase
    rows, cols = layout.payload
    spectrum[_scale_rows(rows, size), cols] = layout.payload_phase * (2.0 * coded - 1.0)
    tile = np.fft.irfft2(spectrum, s=(size, size))
    return (tile / tile.std()).astype(np.float32)


def _scale_rows(rows: np.ndarray, size: int) -> np.ndarray:
    """Row indices of the TILE-sized spectrum mapped to a ``size``-sized one (negative freqs wrap)."""
    signed = np.where(rows > TILE // 2, rows - TILE, rows)
    return np.where(signed < 0, signed + size, signed)


# --------------------------------------------------------------------------- embedding


def _luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of an H x W x 3 float32 array (same scale as the input)."""
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def texture_mask(luma: np.ndarray) -> np.ndarray:
    """Per-pixel strength in [0.12, 1] from the 7 x 7 local standard deviation (0-255 scale):
    about 0.15 on flat sky, 0.7 on grass, 1 on dense texture."""
    mean = cv2.blur(luma, (7, 7))
    spread = np.sqrt(np.maximum(cv2.blur(luma * luma, (7, 7)) - mean * mean, 0.0))
    return np.clip(spread / (spread + 8.0), 0.12, 1.0)


def tile_period(height: int, width: int) -> int:
    """Tile size in pixels for an image: 128, growing with the short side above 1080 px (max 384)."""
    return round(TILE * min(3.0, max(1.0, min(height, width) / 1080.0)))


def _strength(mask: np.ndarray, target_psnr: float) -> tuple[float, float]:
    """Global gain for a unit-RMS pattern under ``mask`` and the achieved/target energy ratio."""
    target_rms = 255.0 / 10 ** (target_psnr / 20.0)
    mask_rms = float(np.sqrt(np.mean(mask * mask)))
    gain = min(target_rms / max(mask_rms, 1e-6), MAX_STRENGTH)
    return gain, (gain * mask_rms / target_rms) ** 2


def watermark_signal(luma: np.ndarray, key: WatermarkKey, coded: np.ndarray, *, target_psnr: float) -> np.ndarray:
    """The luma offset (0-255 scale, float32, same shape as ``luma``) that carries the mark."""
    h, w = luma.shape
    period = tile_period(h, w)
    tile = tile_pattern(key, coded, period)
    mask = texture_mask(luma)
    gain, _ = _strength(mask, target_psnr)
    pattern = np.tile(tile * np.float32(gain), (-(-h // period), -(-w // period)))[:h, :w]
    return pattern * mask


# --------------------------------------------------------------------------- detection


def _wide_blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with a large ``sigma`` (>= 4 px), computed at quarter resolution."""
    h, w = values.shape
    small = cv2.resize(values, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4.0, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def whiten(luma: np.ndarray) -> np.ndarray:
    """Band-pass (difference of Gaussians, sigma 0.8 and 6 px) and local contrast normalisation:
    keeps the mark's band, flattens the picture's edges and large structures."""
    band = cv2.GaussianBlur(luma, (0, 0), 0.8) - _wide_blur(luma, 6.0)
    envelope = np.sqrt(_wide_blur(band * band, 8.0)) + 1.0
    return band / envelope


_JPEG_GRID = 8
#: Lattice search range: tile period in pixels of the image being searched.
MIN_PERIOD, MAX_PERIOD = 40.0, 420.0
#: Lattice search range: rotation, degrees either way.
MAX_ROTATION = 8.0


@lru_cache(maxsize=4)
def _band_points(max_radius: float) -> np.ndarray:
    """The (kx, ky) DFT bins of the canonical tile that the mark fills (kx >= 1 half-plane)."""
    ky, kx = np.mgrid[-24:25, 0:25]
    radius = np.hypot(ky, kx)
    keep = (radius >= BAND[0]) & (radius <= max_radius) & (kx >= 1)
    return np.stack([kx[keep], ky[keep]], axis=1).astype(np.float32)


@lru_cache(maxsize=8)
def _rings(size: int) -> np.ndarray:
    fy = np.fft.fftfreq(size, 1.0 / size)[:, None]
    fx = np.arange(size // 2 + 1)[None, :]
    return np.hypot(fy, fx).astype(np.int32)


def _normalised_spectrum(field: np.ndarray, size: int) -> np.ndarray:
    """|DFT| of the central ``size`` x ``size`` window (Hann taper) divided by its mean at the
    same radius, capped at 8 (no single strong texture peak dominates), JPEG block-grid
    harmonics and the lowest frequencies set to the neutral 1. Shape (size, size//2 + 1)."""
    h, w = field.shape
    top, left = (h - size) // 2, (w - size) // 2
    taper = np.sqrt(np.hanning(size)).astype(np.float32)
    window = field[top : top + size, left : left + size] * taper[:, None] * taper[None, :]
    magnitude = np.abs(np.fft.rfft2(window)).astype(np.float32)
    rings = _rings(size)
    means = np.bincount(rings.ravel(), magnitude.ravel()) / np.maximum(np.bincount(rings.ravel()), 1)
    normalised = np.minimum(magnitude / (means[rings].astype(np.float32) + 1e-9), 8.0)
    for m in range(1, _JPEG_GRID // 2 + 1):  # JPEG block-grid harmonics at m/8 cycles per pixel
        centre = m * size / _JPEG_GRID
        lo, hi = int(np.floor(centre - 1)), int(np.ceil(centre + 1)) + 1
        normalised[:, lo:hi] = 1.0
        normalised[lo:hi, :] = 1.0
        normalised[size - hi + 1 : size - lo + 1, :] = 1.0
    normalised[rings < 3] = 1.0
    return normalised


def _lattice_scores(spectrum: np.ndarray, periods: np.ndarray, angles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Mean normalised magnitude at the predicted mark frequencies, per (period, angle)."""
    size = spectrum.shape[0]
    cos, sin = np.cos(angles)[None, :, None], np.sin(angles)[None, :, None]
    spacing = (size / periods)[:, None, None]
    kx, ky = points[:, 0], points[:, 1]
    fx = spacing * (cos * kx - sin * ky)
    fy = spacing * (sin * kx + cos * ky)
    flip = fx < 0  # Hermitian symmetry: |F(-f)| = |F(f)|
    fx, fy = np.where(flip, -fx, fx), np.where(flip, -fy, fy)
    sampled = cv2.remap(
        spectrum,
        fx.reshape(-1, fx.shape[-1]).astype(np.float32),
        np.mod(fy, size).reshape(-1, fy.shape[-1]).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return sampled.reshape(fx.shape).mean(axis=2)


@dataclass(frozen=True)
class Lattice:
    """A tile lattice found in an image: period in pixels, rotation in radians, and score (mean
    normalised spectral magnitude at the mark's frequencies: about 1.0 on unmarked images)."""

    period: float
    angle: float
    score: float


def _refine(spectrum: np.ndarray, lattice: Lattice, span: float, steps: int) -> Lattice:
    """Best lattice on a ``steps`` x ``steps`` grid of +-``span`` relative period and +-``span``
    radians of rotation around ``lattice``, scored on the full band."""
    periods = np.linspace(lattice.period * (1 - span), lattice.period * (1 + span), steps, dtype=np.float32)
    angles = np.linspace(lattice.angle - span, lattice.angle + span, steps, dtype=np.float32)
    scores = _lattice_scores(spectrum, periods, angles, _band_points(BAND[1]))
    pi, ai = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return Lattice(float(periods[pi]), float(angles[ai]), float(scores[pi, ai]))


def find_lattices(field: np.ndarray, *, count: int = 2) -> list[Lattice]:
    """The ``count`` most likely tile lattices in a whitened field.

    A coarse search over period and rotation, on the spectrum max-filtered over 3 x 3 bins (so
    a grid step never misses a peak) with a third of the band's frequencies, keeps distinct
    maxima (more for small windows, whose spectra are noisier); each is checked on the full
    band, and the best few are refined to 0.06 % in period and 0.03 degrees.
    """
    size = min(ANALYSIS_SIDE, min(field.shape) // 2 * 2)
    spectrum = _normalised_spectrum(field, size)
    max_period = min(MAX_PERIOD, size / 2.4)
    periods = np.geomspace(MIN_PERIOD, max_period, int(np.log(max_period / MIN_PERIOD) / np.log(1.01)) + 1)
    angles = np.deg2rad(np.arange(-MAX_ROTATION, MAX_ROTATION + 0.01, 0.5)).astype(np.float32)
    points = _band_points(BAND[1])[::3]
    # Where the mark's peaks sit far apart (over 5 bins), a 1 % grid step can miss them: score
    # those periods on the spectrum max-filtered over 3 x 3 bins. Each part is turned into
    # z-scores of its own, so the two are comparable.
    fine_grained = size / periods > 5.0
    coarse = np.empty((len(periods), len(angles)), np.float32)
    for rows, source in (
        (fine_grained, cv2.dilate(spectrum, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)),
        (~fine_grained, spectrum),
    ):
        if rows.any():
            part = _lattice_scores(source, periods[rows].astype(np.float32), angles, points)
            coarse[rows] = (part - np.median(part)) / (part.std() + 1e-9)
    wanted = 12 if size >= 768 else 16
    picked: list[Lattice] = []
    for index in np.argsort(coarse, axis=None)[::-1]:
        pi, ai = np.unravel_index(int(index), coarse.shape)
        p0, a0 = float(periods[pi]), float(angles[ai])
        if not any(abs(p0 / lat.period - 1) < 0.02 and abs(a0 - lat.angle) < np.deg2rad(1.0) for lat in picked):
            picked.append(Lattice(p0, a0, float(coarse[pi, ai])))
            if len(picked) == wanted:
                break
    checked = sorted((_refine(spectrum, lat, 0.006, 5) for lat in picked), key=lambda lat: lat.score, reverse=True)
    refined = [_refine(spectrum, _refine(spectrum, lat, 0.003, 7), 0.0008, 7) for lat in checked[: count + 1]]
    return sorted(refined, key=lambda lat: lat.score, reverse=True)[:count]


def fold(field: np.ndarray, lattice: Lattice) -> np.ndarray:
    """Resample ``field`` so the lattice becomes the canonical TILE grid, and sum all tiles."""
    scale = lattice.period / TILE
    h, w = field.shape
    out_h = max(TILE, int(h / scale) // TILE * TILE)
    out_w = max(TILE, int(w / scale) // TILE * TILE)
    cos, sin = np.cos(lattice.angle) * scale, np.sin(lattice.angle) * scale
    # canonical (u, v) -> image (x, y), centred on the image centre
    cx, cy = w / 2.0, h / 2.0
    ux, uy = out_w / 2.0, out_h / 2.0
    matrix = np.array([[cos, -sin, cx - cos * ux + sin * uy], [sin, cos, cy - sin * ux - cos * uy]], np.float32)
    canonical = cv2.warpAffine(
        field,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    return canonical.reshape(out_h // TILE, TILE, out_w // TILE, TILE).sum(axis=(0, 2))


@dataclass(frozen=True)
class TileReading:
    """Soft payload values read from a folded tile, with the pilot's z-score."""

    soft: np.ndarray
    pilot_z: float
    shift: tuple[float, float]


def _parabolic(minus: float, centre: float, plus: float) -> float:
    denom = minus - 2 * centre + plus
    return 0.0 if denom == 0 else float(np.clip(0.5 * (minus - plus) / denom, -0.5, 0.5))


def read_tile(folded: np.ndarray, key: WatermarkKey) -> TileReading:
    """Find the cyclic shift with the pilot, undo it, and read the payload coefficients."""
    layout = _layout(key)
    spectrum = np.fft.rfft2(folded)
    pilot = np.zeros_like(spectrum)
    pilot[layout.pilot] = layout.pilot_phase
    corr = np.fft.irfft2(spectrum * np.conj(pilot), s=folded.shape)
    iy, ix = np.unravel_index(int(np.argmax(corr)), corr.shape)
    dy = iy + _parabolic(corr[iy - 1, ix], corr[iy, ix], corr[(iy + 1) % TILE, ix])
    dx = ix + _parabolic(corr[iy, ix - 1], corr[iy, ix], corr[iy, (ix + 1) % TILE])
    ky = np.fft.fftfreq(TILE, 1.0 / TILE)[:, None]
    kx = np.arange(TILE // 2 + 1)[None, :]
    aligned = spectrum * np.exp(2j * np.pi * (ky * dy + kx * dx) / TILE)
    pilot_values = aligned[layout.pilot] * np.conj(layout.pilot_phase)
    data_values = aligned[layout.payload] * np.conj(layout.payload_phase)
    noise = np.sqrt(np.mean(np.concatenate([pilot_values.imag, data_values.imag]) ** 2)) + 1e-12
    # reliability weights: pilot amplitude per frequency radius (transforms attenuate high bands)
    radius = np.hypot(
        np.where(layout.payload[0] > TILE // 2, layout.payload[0] - TILE, layout.payload[0]), layout.payload[1]
    )
    pilot_radius = np.hypot(
        np.where(layout.pilot[0] > TILE // 2, layout.pilot[0] - TILE, layout.pilot[0]), layout.pilot[1]
    )
    bins = np.linspace(BAND[0], BAND[1] + 1e-6, 5)
    gain = np.ones_like(radius)
    for lo, hi in itertools.pairwise(bins):
        sel = (pilot_radius >= lo) & (pilot_radius < hi)
        if sel.any():
            gain[(radius >= lo) & (radius < hi)] = max(float(np.mean(pilot_values.real[sel])), 0.0) / noise
    pilot_z = float(np.sum(pilot_values.real) / (noise * np.sqrt(len(pilot_values))))
    return TileReading(data_values.real / noise * gain, pilot_z, (float(dy), float(dx)))


# --------------------------------------------------------------------------- public API


def _as_planes(image: np.ndarray | Image.Image) -> tuple[np.ndarray, float, Any]:
    """(H x W x C float32 array on the 0-255 scale, full-scale value, how to rebuild the input)."""
    if isinstance(image, Image.Image):
        if image.mode in ("I;16", "I;16L", "I;16B"):
            return np.asarray(image, np.float32)[..., None] / 257.0, 65535.0, ("pil", image.mode)
        if image.mode not in ("L", "LA", "RGB", "RGBA"):
            raise WatermarkError(
                f"cannot watermark a Pillow {image.mode} image", fix="convert it to RGB, RGBA, L or I;16 first"
            )
        array = np.asarray(image)
        return array.reshape(*array.shape[:2], -1).astype(np.float32), 255.0, ("pil", image.mode)
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        raise WatermarkError("expected an H x W or H x W x C array or a Pillow image", fix="pass image data")
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(image.dtype, 1.0)
    if scale == 1.0 and image.dtype not in (np.float32, np.float64):
        raise WatermarkError(f"unsupported dtype {image.dtype}", fix="pass uint8, uint16 or float in [0, 1]")
    planes = image.reshape(*image.shape[:2], -1).astype(np.float32) * np.float32(255.0 / scale)
    return planes, scale, ("array", image.shape, image.dtype)


def _colour(planes: np.ndarray) -> np.ndarray:
    """The colour channels (alpha dropped): 1 (gray) or 3 (RGB)."""
    return planes[..., :3] if planes.shape[2] >= 3 else planes[..., :1]


def _luma_of(planes: np.ndarray) -> np.ndarray:
    colour = _colour(planes)
    return _luma(colour) if colour.shape[2] == 3 else colour[..., 0]


@dataclass(frozen=True)
class Capacity:
    """How well an image can hold the mark at the quality target.

    ``ratio`` is achieved/target mark energy (1.0 = the PSNR target is reached; lower means the
    content is too flat to hide the full-strength mark); ``reliable`` is ``ratio >=``
    :data:`MIN_CAPACITY`.
    """

    ratio: float
    reliable: bool


def watermark_capacity(image: np.ndarray | Image.Image, *, target_psnr: float = DEFAULT_PSNR) -> Capacity:
    """Pre-check: can this image hold a reliable mark at ``target_psnr``? (no embedding done)."""
    planes, _, _ = _as_planes(image)
    _check_size(planes.shape[0], planes.shape[1])
    _, ratio = _strength(texture_mask(_luma_of(planes)), target_psnr)
    return Capacity(ratio, ratio >= MIN_CAPACITY)


def _check_size(height: int, width: int) -> None:
    if min(height, width) < MIN_SIDE:
        raise ImageTooSmallError(
            f"a {width} x {height} image is under the watermark's {MIN_SIDE} px minimum short side",
            fix="watermark the full-size image, or skip the watermark for thumbnails",
        )


def embed_watermark(
    image: ImageT,
    key: WatermarkKey,
    content_id: int,
    *,
    target_psnr: float = DEFAULT_PSNR,
    check_capacity: bool = True,
) -> ImageT:
    """Embed the 64-bit ``content_id`` as an invisible, keyed watermark.

    Parameters
    ----------
    image:
        ``ndarray`` H x W, H x W x 1..4 (last channel alpha for 2 and 4) of uint8, uint16 or
        float in [0, 1], or a Pillow L, LA, RGB, RGBA or I;16 image; short side >= 256 px
        (:class:`ImageTooSmallError`). Not modified.
    key:
        The :class:`~synthmark.keys.WatermarkKey`.
    content_id:
        Integer in [0, 2**64); :func:`synthmark.payload.content_id` derives it from a ProduceID.
    target_psnr:
        Quality target in dB (default 42): the mark's energy is set to reach it, capped on flat
        content.
    check_capacity:
        Refuse (:class:`LowCapacityError`) an image too flat to hold a reliable mark.

    Returns
    -------
    The same kind, shape and dtype; only luma changes (R, G and B by the same amount); alpha
    is kept.
    """
    planes, scale, how = _as_planes(image)
    _check_size(planes.shape[0], planes.shape[1])
    luma = _luma_of(planes)
    if check_capacity:
        _, ratio = _strength(texture_mask(luma), target_psnr)
        if ratio < MIN_CAPACITY:
            raise LowCapacityError(
                f"image is too flat to hold a reliable mark (capacity {ratio:.2f} < {MIN_CAPACITY})",
                fix="label it without the watermark, or pass check_capacity=False to embed a weak mark",
            )
    signal = watermark_signal(luma, key, payload.encode(content_id, key), target_psnr=target_psnr)
    colour = _colour(planes)
    marked = colour + signal[..., None]
    out = planes.copy()
    out[..., : colour.shape[2]] = marked
    return cast(ImageT, _rebuild(out, scale, how))


def _rebuild(planes: np.ndarray, scale: float, how: Any) -> np.ndarray | Image.Image:
    values = np.clip(planes * np.float32(scale / 255.0), 0.0, scale)
    if how[0] == "pil":
        mode = how[1]
        if mode.startswith("I;16"):
            return Image.fromarray(np.rint(values[..., 0]).astype(np.uint16))
        array = np.rint(values).astype(np.uint8)
        return Image.fromarray(array[..., 0] if mode == "L" else array, mode)
    _, shape, dtype = how
    if scale != 1.0:
        values = np.rint(values)
    return values.astype(dtype).reshape(shape)


@dataclass(frozen=True)
class WatermarkReport:
    """What :func:`detect_watermark` found.

    ``found`` is True only when a payload decoded and its keyed MAC checked (false-positive
    rate <= 2.4e-7 per image and key, see :mod:`synthmark.payload`). Then ``key_id`` names the
    key, ``content_id`` is the 64-bit id and ``payload_hex`` its 16 hex digits. ``p_value``
    bounds the chance that unmarked content shows a pilot this strong; ``pilot_z`` is that
    pilot's z-score. ``scale`` (tile period found / 128 px: 1.0 for an unscaled image of up
    to 1080 px short side), ``rotation`` (degrees) and ``flipped`` describe the geometry
    found. ``raw_id`` is the decoder's best guess even when nothing was found (for
    bit-accuracy measurements).
    """

    found: bool
    key_id: str | None = None
    content_id: int | None = None
    p_value: float = 1.0
    pilot_z: float = 0.0
    scale: float | None = None
    rotation: float | None = None
    flipped: bool = False
    raw_id: int | None = None
    attempts: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def payload_hex(self) -> str | None:
        return None if self.content_id is None else f"{self.content_id:016x}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``synthmark verify --json``); never contains key material."""
        return {
            "found": self.found,
            "checked": True,
            "key_id": self.key_id,
            "payload": self.payload_hex,
            "p_value": self.p_value,
            "pilot_z": round(self.pilot_z, 2),
            "scale": None if self.scale is None else round(self.scale, 4),
            "rotation": None if self.rotation is None else round(self.rotation, 2),
            "flipped": self.flipped,
        }


def _pilot_p_value(z: float, attempts: int) -> float:
    """Bound on P(max pilot z over all shifts and attempts >= z) for unmarked content."""
    return min(1.0, attempts * TILE * TILE * 0.5 * math.erfc(z / math.sqrt(2.0)))


def _analysis_field(planes: np.ndarray) -> np.ndarray:
    luma = _luma_of(planes)
    h, w = luma.shape
    sh, sw = min(h, ANALYSIS_SIDE), min(w, ANALYSIS_SIDE)
    top, left = (h - sh) // 2, (w - sw) // 2
    return whiten(np.ascontiguousarray(luma[top : top + sh, left : left + sw]))


def detect_watermark(
    image: np.ndarray | Image.Image, keys: WatermarkKey | Sequence[WatermarkKey] | Iterable[WatermarkKey]
) -> WatermarkReport:
    """Look for a synthmark watermark made with any of ``keys``; no original needed.

    Survives (see ``synthmark robustness`` and the README's table): JPEG down to q50, WebP,
    rescaling 50-150 %, crops down to a 384 x 384 window, rotations of a few degrees,
    mirroring, blur, noise, brightness/contrast changes, grayscale, screenshots and stickers.
    Works on any image with a short side >= 128 px (e.g. a 384 x 384 crop).
    """
    key_list = [keys] if isinstance(keys, WatermarkKey) else list(keys)
    planes, _, _ = _as_planes(image)
    if min(planes.shape[:2]) < TILE:
        return WatermarkReport(False, details={"reason": "image under 128 px"})
    field_ = _analysis_field(planes)
    lattices = find_lattices(field_, count=2)
    attempts = 0
    best: WatermarkReport | None = None
    folds = [(lat, flip, fold(field_[:, ::-1] if flip else field_, lat)) for lat in lattices for flip in (False, True)]
    for key in key_list:
        for lattice, flipped, folded in folds:
            attempts += 1
            reading = read_tile(folded, key)
            decoded = payload.decode(reading.soft, key)
            report = WatermarkReport(
                found=decoded.valid,
                key_id=key.key_id if decoded.valid else None,
                content_id=decoded.content_id,
                p_value=_pilot_p_value(reading.pilot_z, len(folds)),
                pilot_z=reading.pilot_z,
                scale=lattice.period / TILE,
                rotation=float(np.rad2deg(lattice.angle)),
                flipped=flipped,
                raw_id=decoded.raw_id,
                attempts=attempts,
            )
            if decoded.valid:
                return report
            if best is None or reading.pilot_z > best.pilot_z:
                best = report
    if best is None:
        return WatermarkReport(False, attempts=attempts)
    return WatermarkReport(False, p_value=best.p_value, pilot_z=best.pilot_z, raw_id=best.raw_id, attempts=attempts)
