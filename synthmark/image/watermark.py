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
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import cv2
import numpy as np
from PIL import Image

from synthmark import payload
from synthmark.errors import ImageTooSmallError, LowCapacityError, WatermarkError
from synthmark.keys import WatermarkKey
from synthmark.payload import CODED_BITS

__all__ = [
    "DEFAULT_PSNR",
    "DEFAULT_SSIM",
    "MIN_SIDE",
    "Capacity",
    "ImageWatermarkReport",
    "detect_watermark",
    "embed_watermark",
    "watermark_capacity",
]

#: Tile size of the canonical grid, pixels.
TILE = 128
#: The mark's band, in DFT bins of the canonical tile (cycles per 128 px).
BAND = (4.0, 19.0)
#: Pilot coefficients' amplitude relative to payload ones: the pilot only has to be found
#: (translation), the payload has to be read, so the payload gets most of the energy (85 %).
PILOT_AMPLITUDE = 0.5
#: Decoding is tried only where the pilot stands out this much (z-score). The largest of the
#: 16384 shift correlations on unmarked content is usually about 4 but reaches 7 over many
#: keys (benchmark), so the gate only saves time: the keyed MAC decides.
PILOT_GATE = 4.5
#: Default quality targets of the marked image against the original: PSNR (dB) and SSIM.
DEFAULT_PSNR = 41.0
DEFAULT_SSIM = 0.982
#: Smallest short side (pixels) the watermark accepts.
MIN_SIDE = 256
#: Largest window (pixels per side) the detector analyses, centred; the mark is everywhere.
ANALYSIS_SIDE = 1024
#: Strength cap: mark amplitude (0-255 scale, RMS) where the texture mask is 1. Flat content
#: cannot borrow strength from elsewhere, so a nearly flat image ends below its PSNR target.
MAX_STRENGTH = 8.0
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
    spectrum[_scale_rows(rows, size), cols] = layout.pilot_phase * PILOT_AMPLITUDE
    rows, cols = layout.payload
    spectrum[_scale_rows(rows, size), cols] = layout.payload_phase * (2.0 * coded - 1.0)
    tile = np.fft.irfft2(spectrum, s=(size, size))
    return (tile / tile.std()).astype(np.float32)


def _scale_rows(rows: np.ndarray, size: int) -> np.ndarray:
    """Row indices of the TILE-sized spectrum mapped to a ``size``-sized one (negative freqs wrap)."""
    signed = np.where(rows > TILE // 2, rows - TILE, rows)
    return np.where(signed < 0, signed + size, signed)


# --------------------------------------------------------------------------- embedding


@dataclass(frozen=True)
class Texture:
    """Half-resolution texture maps of an image's luma (0-255 scale): ``mask``, the mark's
    relative strength in [0.12, 1] (about 0.15 on flat sky, 0.7 on grass, 1 on dense texture),
    and ``variance``, the local luma variance over about 8 x 8 pixels."""

    mask: np.ndarray
    variance: np.ndarray


def texture(luma: np.ndarray) -> Texture:
    """:class:`Texture` of a luma plane, computed at half resolution (texture varies slowly);
    :func:`full_size` brings a map back to full size."""
    h, w = luma.shape
    return texture_at_half(cv2.resize(luma, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))


def texture_at_half(half: np.ndarray) -> Texture:
    """:func:`texture` from the luma already halved (float32, 0-255 scale)."""
    mean = cv2.blur(half, (4, 4))
    # OpenCV arithmetic (SIMD) rather than numpy temporaries: this runs for every image.
    variance = cv2.subtract(cv2.sqrBoxFilter(half, cv2.CV_32F, (4, 4)), cv2.multiply(mean, mean))
    np.maximum(variance, 0.0, out=variance)
    spread = cv2.sqrt(variance)
    mask = spread / (spread + np.float32(8.0))
    np.clip(mask, 0.12, 1.0, out=mask)
    return Texture(mask, variance)


def full_size(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """A half-resolution mask resized to ``height`` x ``width``."""
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)


def tile_period(height: int, width: int) -> int:
    """Tile size in pixels for an image: 128, growing with the short side above 1080 px (max 384)."""
    return round(TILE * min(3.0, max(1.0, min(height, width) / 1080.0)))


_SSIM_C2 = (0.03 * 255.0) ** 2


def _strength(texture_: Texture, target_psnr: float, target_ssim: float) -> tuple[float, float]:
    """Global gain for a unit-RMS pattern shaped by the texture mask, the largest that keeps
    both quality targets, and the achieved / PSNR-target energy ratio (the capacity).

    PSNR is exact: the mark's RMS is gain x RMS(mask). SSIM uses the first-order effect of
    adding zero-mean noise of local variance s2 where the picture's local variance is v:
    1 - SSIM ~ mean(s2 / (2 v + C2)), with s2 = gain^2 x mask^2.
    """
    mask = texture_.mask
    target_rms = 255.0 / 10 ** (target_psnr / 20.0)
    psnr_gain = target_rms / max(float(np.sqrt(np.mean(mask * mask))), 1e-6)
    ssim_cost = float(np.mean(mask * mask / (2.0 * texture_.variance + _SSIM_C2)))
    ssim_gain = float(np.sqrt((1.0 - target_ssim) / max(ssim_cost, 1e-12)))
    gain = min(psnr_gain, ssim_gain, MAX_STRENGTH)
    return gain, (gain / psnr_gain) ** 2


def watermark_signal(
    texture_: Texture, shape: tuple[int, int], key: WatermarkKey, coded: np.ndarray, *, gain: float
) -> np.ndarray:
    """The luma offset (0-255 scale, float32, ``shape``) that carries the mark: the tiled
    pattern times ``gain`` times the (half-resolution) texture mask."""
    h, w = shape
    period = tile_period(h, w)
    tile = tile_pattern(key, coded, period)
    pattern = np.tile(tile * np.float32(gain), (-(-h // period), -(-w // period)))[:h, :w]
    return pattern * full_size(texture_.mask, h, w)


# --------------------------------------------------------------------------- detection


def _wide_blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with a large ``sigma`` (>= 4 px), computed at quarter resolution."""
    h, w = values.shape
    small = cv2.resize(values, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4.0, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def whiten(luma: np.ndarray) -> np.ndarray:
    """The field the detector folds: band-pass luma (difference of Gaussians, sigma 0.8 and
    6 px) weighted by the expected mark strength over the local residual power (the texture
    mask recomputed from the image, over the smoothed squared band): a matched filter that
    trusts regions where the mark is strong relative to the picture."""
    band = cv2.GaussianBlur(luma, (0, 0), 0.8) - _wide_blur(luma, 6.0)
    power = _wide_blur(band * band, 8.0) + 1.0
    weight = full_size(texture(luma).mask, *luma.shape) / power
    return band * weight * np.float32(np.sqrt(np.mean(power)))


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
    harmonics and the lowest frequencies set to the neutral 1. Shape (size, size), DFT order."""
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
    # The full plane in DFT order (|F(-f)| = |F(f)| fills the negative columns), so that
    # sampling with wrap-around needs no index arithmetic.
    full = np.empty((size, size), np.float32)
    full[:, : size // 2 + 1] = normalised
    full[:, size // 2 + 1 :] = normalised[(-np.arange(size)) % size, size // 2 - 1 : 0 : -1]
    return full


def _lattice_scores(spectrum: np.ndarray, periods: np.ndarray, angles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Mean normalised magnitude at the predicted mark frequencies, per (period, angle)."""
    size = spectrum.shape[0]
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
    kx, ky = points[:, 0], points[:, 1]
    rotated_x = cos[:, None] * kx - sin[:, None] * ky  # (angles, points)
    rotated_y = sin[:, None] * kx + cos[:, None] * ky
    spacing = (np.float32(size) / periods.astype(np.float32))[:, None, None]
    fx = (spacing * rotated_x).reshape(len(periods) * len(angles), len(points))
    fy = (spacing * rotated_y).reshape(len(periods) * len(angles), len(points))
    sampled = cv2.remap(spectrum, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return sampled.mean(axis=1).reshape(len(periods), len(angles))


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


#: Log-polar grid of the coarse lattice search: angle bins over 90 degrees, log-radius step.
_POLAR_ANGLES, _POLAR_STEP = 360, 0.004


def _polar_grid(size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Log-radius samples (bins), angle samples over [0, 90) degrees (radians), and the
    reference period whose band starts at the first radius sample."""
    r_min = BAND[0] * size / MAX_PERIOD
    r_max = min(BAND[1] * size / MIN_PERIOD, size / 2 - 2)
    count = int(np.log(r_max / r_min) / _POLAR_STEP) + 1
    return (
        r_min * np.exp(_POLAR_STEP * np.arange(count)),
        np.arange(_POLAR_ANGLES) * (np.pi / 2 / _POLAR_ANGLES),
        MAX_PERIOD,
    )


@lru_cache(maxsize=8)
def _polar_template_spectrum(rows: int, extent: int) -> np.ndarray:
    """Conjugate DFT of the band template zero-padded to ``rows`` x _POLAR_ANGLES."""
    kernel = np.zeros((rows, _POLAR_ANGLES), np.float32)
    kernel[:extent] = _polar_template(extent)
    return np.conj(np.fft.rfft2(kernel))


@lru_cache(maxsize=8)
def _polar_template(rows: int) -> np.ndarray:
    """The mark's band points at the reference period, splatted on the log-polar grid
    (log radius relative to the band's inner edge, angle folded to [0, 90) degrees)."""
    points = _band_points(BAND[1])
    rho = np.log(np.hypot(points[:, 0], points[:, 1]) / BAND[0]) / _POLAR_STEP
    theta = np.mod(np.arctan2(points[:, 1], points[:, 0]), np.pi / 2) / (np.pi / 2) * _POLAR_ANGLES
    template = np.zeros((rows, _POLAR_ANGLES), np.float32)
    r0, t0 = np.floor(rho).astype(int), np.floor(theta).astype(int)
    fr, ft = rho - r0, theta - t0
    for dr, dt, weight in ((0, 0, (1 - fr) * (1 - ft)), (1, 0, fr * (1 - ft)), (0, 1, (1 - fr) * ft), (1, 1, fr * ft)):
        np.add.at(template, (r0 + dr, (t0 + dt) % _POLAR_ANGLES), weight)
    return template / len(points)


def _coarse_lattices(spectrum: np.ndarray, wanted: int) -> list[Lattice]:
    """Fourier-Mellin style search: in log-polar coordinates a rescale is a shift in log radius
    and a rotation a shift in angle, so one correlation of the (lightly smoothed) normalised
    spectrum with the mark's band template scores every period and rotation at once
    (0.4 % and 0.25 degree steps). Returns the ``wanted`` best distinct maxima."""
    size = spectrum.shape[0]
    radii, angles, reference = _polar_grid(size)
    centred = cv2.GaussianBlur(np.fft.fftshift(spectrum) - 1.0, (0, 0), 0.7)
    polar = np.zeros((len(radii), _POLAR_ANGLES), np.float32)
    for quadrant in (0.0, np.pi / 2):  # the half-plane holds everything (|F(-f)| = |F(f)|)
        x = (size / 2 + radii[:, None] * np.cos(angles[None, :] + quadrant)).astype(np.float32)
        y = (size / 2 + radii[:, None] * np.sin(angles[None, :] + quadrant)).astype(np.float32)
        polar += cv2.remap(centred, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    extent = int(np.ceil(np.log(BAND[1] / BAND[0]) / _POLAR_STEP)) + 2
    rows = len(radii) + extent
    padded = np.zeros((rows, _POLAR_ANGLES), np.float32)
    padded[: len(radii)] = polar
    product = np.fft.rfft2(padded) * _polar_template_spectrum(rows, extent)
    scores = np.fft.irfft2(product, s=padded.shape)[: len(radii) - extent]
    shifts = np.arange(scores.shape[0])
    periods = reference * np.exp(-_POLAR_STEP * shifts)
    rotation = np.rad2deg(angles)
    rotation = np.where(rotation > 45.0, rotation - 90.0, rotation)
    columns = np.abs(rotation) <= MAX_ROTATION
    rotation, scores = rotation[columns], scores[:, columns]
    scores[periods < MIN_PERIOD] = -np.inf
    picked: list[Lattice] = []
    flat = scores.ravel()
    top = np.argpartition(flat, -wanted * 40)[-wanted * 40 :]
    for index in top[np.argsort(flat[top])[::-1]]:
        ri, ai = np.unravel_index(int(index), scores.shape)
        candidate = Lattice(float(periods[ri]), float(np.deg2rad(rotation[ai])), float(scores[ri, ai]))
        if not any(
            abs(candidate.period / lat.period - 1) < 0.02 and abs(candidate.angle - lat.angle) < np.deg2rad(1.0)
            for lat in picked
        ):
            picked.append(candidate)
            if len(picked) == wanted:
                break
    return picked


def find_lattices(field: np.ndarray, *, count: int = 2, candidates: int = 12) -> list[Lattice]:
    """The ``count`` most likely tile lattices in a whitened field: the ``candidates`` best
    maxima of the log-polar search, checked on the full band, the best refined to 0.03 % in
    period and 0.01 degree."""
    size = min(ANALYSIS_SIDE, min(field.shape) // 2 * 2)
    spectrum = _normalised_spectrum(field, size)
    picked = _coarse_lattices(spectrum, candidates)
    checked = sorted((_refine(spectrum, lat, 0.004, 5) for lat in picked), key=lambda lat: lat.score, reverse=True)
    refined = [_refine(spectrum, _refine(spectrum, lat, 0.002, 7), 0.0005, 7) for lat in checked[: count + 2]]
    distinct: list[Lattice] = []
    for lat in sorted(refined, key=lambda lat: lat.score, reverse=True):
        if not any(abs(lat.period / d.period - 1) < 0.005 and abs(lat.angle - d.angle) < 0.005 for d in distinct):
            distinct.append(lat)
    return distinct[:count]


def fold(field: np.ndarray, lattice: Lattice) -> np.ndarray:
    """Resample ``field`` so the lattice becomes a square grid, sum all tiles, and return the
    summed tile as the canonical TILE x TILE one.

    The grid's tile is the power-of-two-ish size nearest the found period (128, 64 or 48 px,
    all above twice the band's top frequency), so resampling never inflates the field; a
    smaller folded tile is brought to TILE by band-limited (zero-padded DFT) interpolation.
    """
    grid = next(size for size in (TILE, 64, 48) if lattice.period >= 0.75 * size or size == 48)
    scale = lattice.period / grid
    h, w = field.shape
    out_h = max(grid, int(h / scale) // grid * grid)
    out_w = max(grid, int(w / scale) // grid * grid)
    cos, sin = np.cos(lattice.angle) * scale, np.sin(lattice.angle) * scale
    # grid (u, v) -> field (x, y), centred on the field's centre
    cx, cy = w / 2.0, h / 2.0
    ux, uy = out_w / 2.0, out_h / 2.0
    matrix = np.array([[cos, -sin, cx - cos * ux + sin * uy], [sin, cos, cy - sin * ux - cos * uy]], np.float32)
    resampled = cv2.warpAffine(
        field,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )
    summed = resampled.reshape(out_h // grid, grid, out_w // grid, grid).sum(axis=(0, 2))
    if grid == TILE:
        return summed
    small = np.fft.rfft2(summed)
    spectrum = np.zeros((TILE, TILE // 2 + 1), np.complex128)
    half = grid // 2
    spectrum[:half, : half + 1] = small[:half]
    spectrum[TILE - half :, : half + 1] = small[half:]
    return np.fft.irfft2(spectrum, s=(TILE, TILE)) * (TILE / grid) ** 2


@dataclass(frozen=True)
class TileReading:
    """Soft payload values read from a folded tile, with the pilot's z-score."""

    soft: np.ndarray
    pilot_z: float
    shift: tuple[float, float]


def _parabolic(minus: float, centre: float, plus: float) -> float:
    denom = minus - 2 * centre + plus
    return 0.0 if denom == 0 else float(np.clip(0.5 * (minus - plus) / denom, -0.5, 0.5))


_SHRINK = 40.0


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
    # Soft values are log-likelihood ratios: real part x amplitude / noise variance, both per
    # frequency band (transforms attenuate high bands; the picture's leftovers are stronger in
    # low ones). The pilot gives the amplitude, the imaginary parts the noise; each band's
    # estimate is shrunk toward the overall one (few coefficients per band) and floored.
    overall = max(float(np.mean(pilot_values.real)), 1e-12)
    imaginary = np.concatenate([pilot_values.imag, data_values.imag])
    all_radius = np.concatenate([pilot_radius, radius])
    bins = np.linspace(BAND[0], BAND[1] + 1e-6, 5)
    weight = np.full_like(radius, overall / noise**2)
    for lo, hi in itertools.pairwise(bins):
        sel = (pilot_radius >= lo) & (pilot_radius < hi)
        amplitude = (float(np.sum(pilot_values.real[sel])) + _SHRINK * overall) / (int(sel.sum()) + _SHRINK)
        in_band = (all_radius >= lo) & (all_radius < hi)
        variance = (float(np.sum(imaginary[in_band] ** 2)) + _SHRINK * noise**2) / (int(in_band.sum()) + _SHRINK)
        weight[(radius >= lo) & (radius < hi)] = max(amplitude, 0.2 * overall) / max(variance, 0.25 * noise**2)
    pilot_z = float(np.sum(pilot_values.real) / (noise * np.sqrt(len(pilot_values))))
    return TileReading(data_values.real * weight, pilot_z, (float(dy), float(dx)))


# --------------------------------------------------------------------------- public API


def _as_array(image: np.ndarray | Image.Image) -> np.ndarray:
    """The pixels as an H x W x C array (C in 1..4; 2 and 4 end in alpha), no copy when possible."""
    if isinstance(image, Image.Image):
        if image.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I;16L", "I;16B"):
            raise WatermarkError(
                f"cannot watermark a Pillow {image.mode} image", fix="convert it to RGB, RGBA, L or I;16"
            )
        array = np.asarray(image, dtype=np.uint16) if image.mode.startswith("I;16") else np.asarray(image)
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise WatermarkError(f"cannot watermark a {type(image).__name__}", fix="pass a numpy array or a Pillow image")
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise WatermarkError(f"unsupported image shape {array.shape}", fix="pass H x W or H x W x C with C in 1..4")
    if array.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise WatermarkError(f"unsupported dtype {array.dtype}", fix="pass uint8, uint16 or float in [0, 1]")
    return array


def _full_scale(array: np.ndarray) -> float:
    return {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(array.dtype, 1.0)


def _luma_of(array: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma, float32 on the 0-255 scale, of an H x W x C array."""
    colour = array[..., :3] if array.shape[2] >= 3 else array[..., 0]
    if colour.dtype == np.float64:
        colour = colour.astype(np.float32)
    luma = cv2.cvtColor(np.ascontiguousarray(colour), cv2.COLOR_RGB2GRAY) if colour.ndim == 3 else colour
    return luma.astype(np.float32) * np.float32(255.0 / _full_scale(array))


@dataclass(frozen=True)
class Capacity:
    """How well an image holds the mark at the quality targets.

    ``ratio`` is achieved/target mark energy (1.0 = the PSNR target is reached; lower means the
    content is too flat to hide the full-strength mark). ``pilot_z`` is the pilot's strength
    when a trial mark was read back after a JPEG q75 round trip (a self-test with a throw-away
    key). ``reliable``: enough energy and the trial payload read back exactly — small (under
    about 400 px) or very busy images can fail even with full energy.
    """

    ratio: float
    reliable: bool
    pilot_z: float


def _check_size(height: int, width: int) -> None:
    if min(height, width) < MIN_SIDE:
        raise ImageTooSmallError(
            f"a {width} x {height} image is under the watermark's {MIN_SIDE} px minimum short side",
            fix="watermark the full-size image, or skip the watermark for thumbnails",
        )


def watermark_capacity(
    image: np.ndarray | Image.Image, *, target_psnr: float = DEFAULT_PSNR, target_ssim: float = DEFAULT_SSIM
) -> Capacity:
    """Pre-check: can this image hold a reliable mark within the quality targets? A self-test:
    a trial mark (throw-away key) is embedded, passed through JPEG q75 and read back (about
    as long as one embedding plus one detection; the input is not modified)."""
    import io

    from synthmark.keys import generate_key

    array = _as_array(image)
    _check_size(array.shape[0], array.shape[1])
    _, ratio = _strength(texture(_luma_of(array)), target_psnr, target_ssim)
    trial_key = generate_key()
    marked = embed_watermark(
        array, trial_key, 0x5A5A5A5A5A5A5A5A, target_psnr=target_psnr, target_ssim=target_ssim, check_capacity=False
    )
    rgb = _luma_of(marked)  # the self-test runs on luma, which is what carries the mark
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=75)
    report = detect_watermark(np.asarray(Image.open(buffer)), trial_key)
    read_back = report.found and report.content_id == 0x5A5A5A5A5A5A5A5A
    return Capacity(ratio, ratio >= MIN_CAPACITY and read_back, report.pilot_z)


def _add_to_colour(array: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """``array`` with ``signal`` (0-255 scale) added to every colour channel, alpha kept."""
    channels = 3 if array.shape[2] >= 3 else 1
    if array.dtype == np.uint8 and array.shape[2] == channels and array.flags.c_contiguous:
        offset = np.rint(signal, out=signal).astype(np.int16)
        spread = cv2.merge([offset] * channels) if channels == 3 else offset
        return cv2.add(array, spread, dtype=cv2.CV_8U).reshape(array.shape)
    out = array.copy()
    if array.dtype == np.uint8:
        offset = np.rint(signal).astype(np.int16)
        colour = np.ascontiguousarray(array[..., :channels])
        spread = cv2.merge([offset] * channels) if channels == 3 else offset
        out[..., :channels] = cv2.add(colour, spread, dtype=cv2.CV_8U).reshape(colour.shape)
    elif array.dtype == np.uint16:
        offset = np.rint(signal * 257.0).astype(np.int32)[..., None]
        out[..., :channels] = np.clip(array[..., :channels].astype(np.int32) + offset, 0, 65535)
    else:
        out[..., :channels] = np.clip(array[..., :channels] + (signal / 255.0)[..., None], 0.0, 1.0)
    return out


def embed_watermark(
    image: ImageT,
    key: WatermarkKey,
    content_id: int,
    *,
    target_psnr: float = DEFAULT_PSNR,
    target_ssim: float = DEFAULT_SSIM,
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
    target_psnr, target_ssim:
        Quality targets (defaults 41 dB and 0.982, margins over the 40 dB / 0.98 limits): the
        mark gets the largest strength that keeps both, so textured images reach the PSNR
        target and smooth ones stop at the SSIM target.
    check_capacity:
        Refuse (:class:`LowCapacityError`) an image too flat to hold a reliable mark.

    Returns
    -------
    The same kind, shape and dtype; only luma changes (R, G and B by the same amount); alpha
    is kept.
    """
    array = _as_array(image)
    _check_size(array.shape[0], array.shape[1])
    texture_ = texture(_luma_of(array))
    gain, ratio = _strength(texture_, target_psnr, target_ssim)
    if check_capacity and ratio < MIN_CAPACITY:
        raise LowCapacityError(
            f"image is too flat to hold a reliable mark (capacity {ratio:.2f} < {MIN_CAPACITY})",
            fix="label it without the watermark, or pass check_capacity=False to embed a weak mark",
        )
    signal = watermark_signal(texture_, array.shape[:2], key, payload.encode(content_id, key), gain=gain)
    marked = _add_to_colour(array, signal)
    return _same_kind(image, marked)


def _same_kind(image: Any, pixels: np.ndarray) -> Any:
    """``pixels`` (H x W x C) returned as the kind, shape and mode ``image`` came in."""
    if isinstance(image, Image.Image):
        squeeze = image.mode == "L" or image.mode.startswith("I;16")
        return Image.fromarray(pixels[..., 0] if squeeze else pixels)
    return pixels.reshape(image.shape)


@dataclass(frozen=True)
class ImageWatermarkReport(payload.WatermarkReport):
    """What :func:`detect_watermark` found (see :class:`synthmark.payload.WatermarkReport`),
    plus the geometry: ``scale`` (tile period found / 128 px: 1.0 for an unscaled image of up
    to 1080 px short side), ``rotation`` (degrees) and ``flipped``."""

    scale: float | None = None
    rotation: float | None = None
    flipped: bool = False

    def _geometry(self) -> dict[str, Any]:
        return {
            "scale": None if self.scale is None else round(self.scale, 4),
            "rotation": None if self.rotation is None else round(self.rotation, 2),
            "flipped": self.flipped,
        }


def _pilot_p_value(z: float, attempts: int) -> float:
    """Bound on P(max pilot z over all shifts and attempts >= z) for unmarked content."""
    return min(1.0, attempts * TILE * TILE * 0.5 * math.erfc(z / math.sqrt(2.0)))


def analysis_field(array: np.ndarray) -> np.ndarray:
    """The whitened luma (float32) of the central window (at most ANALYSIS_SIDE square) of an
    H x W x C image array (see :func:`whiten`)."""
    h, w = array.shape[:2]
    sh, sw = min(h, ANALYSIS_SIDE), min(w, ANALYSIS_SIDE)
    top, left = (h - sh) // 2, (w - sw) // 2
    return whiten(_luma_of(array[top : top + sh, left : left + sw]))


def detect_watermark(
    image: np.ndarray | Image.Image, keys: WatermarkKey | Sequence[WatermarkKey] | Iterable[WatermarkKey]
) -> ImageWatermarkReport:
    """Look for a synthmark watermark made with any of ``keys``; no original needed.

    Survives (see ``synthmark robustness`` and the README's table): JPEG down to q50, WebP,
    rescaling 50-150 %, crops down to a 384 x 384 window, rotations of a few degrees,
    mirroring, blur, noise, brightness/contrast changes, grayscale, screenshots and stickers.
    Works on any image with a short side >= 128 px (e.g. a 384 x 384 crop).
    """
    key_list = [keys] if isinstance(keys, WatermarkKey) else list(keys)
    array = _as_array(image)
    if min(array.shape[:2]) < TILE:
        return ImageWatermarkReport(False, details={"reason": "image under 128 px"})
    return detect_in_field(analysis_field(array), key_list)


def detect_in_field(field_: np.ndarray, key_list: list[WatermarkKey]) -> ImageWatermarkReport:
    """:func:`detect_watermark` on a whitened field (:func:`analysis_field` of one image, or
    the mean of several frames' fields: the mark adds up, the pictures do not)."""
    lattices = find_lattices(field_, count=2)
    hypotheses = [(lattice, flipped) for lattice in lattices for flipped in (False, True)]
    folds: dict[int, np.ndarray] = {}
    attempts = 0
    strongest: tuple[float, WatermarkKey, TileReading] | None = None
    for key in key_list:
        for index, (lattice, flipped) in enumerate(hypotheses):
            if index not in folds:  # folded lazily: a marked image usually decodes at the first
                folds[index] = fold(field_[:, ::-1] if flipped else field_, lattice)
            reading = read_tile(folds[index], key)
            if strongest is None or reading.pilot_z > strongest[0]:
                strongest = (reading.pilot_z, key, reading)
            if reading.pilot_z < PILOT_GATE:
                continue
            attempts += 1
            decoded = payload.decode(reading.soft, key)
            if decoded.valid:
                return ImageWatermarkReport(
                    found=True,
                    key_id=key.key_id,
                    content_id=decoded.content_id,
                    p_value=_pilot_p_value(reading.pilot_z, len(hypotheses) * len(key_list)),
                    pilot_z=reading.pilot_z,
                    scale=lattice.period / TILE,
                    rotation=float(np.rad2deg(lattice.angle)),
                    flipped=flipped,
                    raw_id=decoded.raw_id,
                    attempts=attempts,
                )
    if strongest is None:
        return ImageWatermarkReport(False, attempts=attempts)
    z, key, reading = strongest
    raw_id = payload.decode(reading.soft, key, list_size=1).raw_id  # best guess, for bit-accuracy figures
    return ImageWatermarkReport(
        False, p_value=_pilot_p_value(z, len(hypotheses) * len(key_list)), pilot_z=z, raw_id=raw_id, attempts=attempts
    )
