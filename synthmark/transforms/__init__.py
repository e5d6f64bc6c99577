"""The robustness suite of ``shared/spec/robustness.md``, one module per modality.

* :mod:`synthmark.transforms.image`: the image (and video-frame) transformations,
  :data:`IMAGE_SUITE` and :func:`apply_image`;
* :mod:`synthmark.transforms.quality`: :func:`psnr` and :func:`ssim` for the invisibility limits;
* :mod:`synthmark.transforms.report`: :func:`evaluate_image` runs the suite against a marked
  image (``synthmark robustness``) and :func:`render_chart` draws the result.

The suite needs OpenCV; import this package only where it is used.
"""

from __future__ import annotations

from synthmark.transforms.image import IMAGE_SUITE, ImageTransform, apply_image
from synthmark.transforms.quality import luma, psnr, ssim

__all__ = ["IMAGE_SUITE", "ImageTransform", "apply_image", "luma", "psnr", "ssim"]
