"""Image quality metrics for the invisibility limits of ``shared/spec/robustness.md``.

The limits a watermark must meet against the unmarked input are PSNR ≥ 40 dB and SSIM ≥ 0.98.
Both metrics are computed here with numpy and OpenCV only (no scikit-image at runtime);
:func:`ssim` reproduces ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255)`` on the luma channel.

>>> import numpy as np
>>> a = np.zeros((64, 64, 3), dtype=np.uint8)
>>> psnr(a, a), ssim(a, a)
(inf, 1.0)
>>> b = a.copy(); b[0, 0, 0] = 255
>>> round(psnr(a, b), 2)
40.89
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from synthmark.errors import InputError

__all__ = ["luma", "psnr", "ssim"]

#: Peak value of 8-bit samples, the ``L`` of Wang et al. (2004).
PEAK = 255.0
#: SSIM constants of Wang et al. (2004): C1 = (K1·L)², C2 = (K2·L)².
K1, K2 = 0.01, 0.03
#: Gaussian window of the SSIM: σ = 1.5 px, 11×11 taps (radius int(3.5·σ + 0.5) = 5).
SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
# ITU-R BT.601 luma weights (those of Pillow's convert("L")), applied without rounding.
_LUMA = np.array([0.299, 0.587, 0.114])


def _check_pair(reference: npt.NDArray[np.generic], test: npt.NDArray[np.generic]) -> None:
    for name, array in (("reference", reference), ("test", test)):
        if array.dtype != np.uint8 or array.ndim not in (2, 3):
            raise InputError(
                f"{name} must be an H×W or H×W×C uint8 array, got shape {array.shape} dtype {array.dtype}",
                fix="convert with np.asarray(PIL.Image.open(path).convert('RGB'))",
            )
    if reference.shape != test.shape:
        raise InputError(
            f"shapes differ: reference {reference.shape}, test {test.shape}",
            fix="compare images of the same size (undo resizing or crop the reference the same way)",
        )


def luma(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """ITU-R BT.601 luma of an H×W×3 RGB ``uint8`` image as float64 in [0, 255] (not rounded).

    An H×W (already single-channel) image is returned as float64 unchanged.
    """
    if image.ndim == 2:
        return image.astype(np.float64)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.asarray(image.astype(np.float64) @ _LUMA, dtype=np.float64)
    raise InputError(f"expected H×W or H×W×3, got shape {image.shape}", fix="drop the alpha channel first")


def psnr(reference: npt.NDArray[np.uint8], test: npt.NDArray[np.uint8]) -> float:
    """Peak signal-to-noise ratio of ``test`` against ``reference``, in dB.

    Both are ``uint8`` arrays of the same shape (H×W or H×W×C); the mean squared error is taken
    over every sample of every channel, with a peak of 255. Identical images give ``inf``.
    """
    _check_pair(reference, test)
    diff = reference.astype(np.float64) - test.astype(np.float64)
    mse = float(np.mean(diff * diff))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(PEAK * PEAK / mse)


def _gaussian(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(
        cv2.GaussianBlur(values, (SSIM_WINDOW, SSIM_WINDOW), sigmaX=SSIM_SIGMA, sigmaY=SSIM_SIGMA),
        dtype=np.float64,
    )


def ssim(reference: npt.NDArray[np.uint8], test: npt.NDArray[np.uint8]) -> float:
    """Mean structural similarity of ``test`` against ``reference`` on the luma channel, in [-1, 1].

    Wang, Bovik, Sheikh & Simoncelli (2004): an 11×11 Gaussian window with σ = 1.5 px,
    K1 = 0.01, K2 = 0.03, L = 255, population (not sample) covariances. RGB inputs are reduced
    to BT.601 luma first (see :func:`luma`); H×W inputs are used as they are. The local SSIM map
    is averaged over the pixels whose window lies fully inside the image (a 5 px border is
    left out), as in the paper's "valid" filtering and scikit-image. Identical images give 1.0.

    Raises
    ------
    InputError
        The arrays are not ``uint8``, differ in shape, or are smaller than 11×11.
    """
    _check_pair(reference, test)
    if min(reference.shape[:2]) < SSIM_WINDOW:
        raise InputError(
            f"image of {reference.shape[1]}×{reference.shape[0]} px is smaller than the 11×11 SSIM window",
            fix="compare images at least 11 px on each side",
        )
    x, y = luma(reference), luma(test)
    c1, c2 = (K1 * PEAK) ** 2, (K2 * PEAK) ** 2
    mu_x, mu_y = _gaussian(x), _gaussian(y)
    var_x = _gaussian(x * x) - mu_x * mu_x
    var_y = _gaussian(y * y) - mu_y * mu_y
    cov = _gaussian(x * y) - mu_x * mu_y
    numerator = (2.0 * mu_x * mu_y + c1) * (2.0 * cov + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    pad = (SSIM_WINDOW - 1) // 2
    ssim_map = (numerator / denominator)[pad:-pad, pad:-pad]
    return float(ssim_map.mean())
