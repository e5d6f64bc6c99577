"""The invisible video watermark: the image watermark's keyed tile, the same in every frame.

* **Embedding** (:class:`FrameWatermarker`): the 64-bit payload is coded and laid out in the
  DFT-domain tile of :mod:`synthmark.image.watermark` once per video; every frame gets that
  tiled pattern, shaped by the frame's own texture mask, at the largest strength that keeps
  the frame's PSNR >= 41 dB and its estimated SSIM >= 0.982. The pattern never moves and the
  strength is smoothed over time (and never above the frame's own limit), so the mark does not
  flicker; a static mark is also what inter-frame codecs keep best.
* **Temporal redundancy**: every frame carries the whole payload, so any segment does. The
  detector (:func:`detect_watermark`) averages the whitened luma of several frames — the mark
  adds up coherently, the moving picture and the codec's noise do not — and runs the image
  detector (lattice search, fold, pilot, list Viterbi, keyed MAC) on the mean; it needs only a
  sample of frames, not every one.

Frames are H x W x 3 uint8 RGB arrays (short side >= 256 px).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from synthmark import payload
from synthmark.errors import WatermarkError
from synthmark.image import watermark as image_wm
from synthmark.keys import WatermarkKey

__all__ = [
    "DEFAULT_PSNR",
    "DETECTION_FRAMES",
    "FrameWatermarker",
    "VideoWatermarkReport",
    "detect_watermark",
]

#: Per-frame quality targets (margins over the issue's 40 dB).
DEFAULT_PSNR, DEFAULT_SSIM = 41.0, 0.982
#: Weight of the newest frame in the strength's running average (0..1; lower = steadier).
GAIN_SMOOTHING = 0.1
#: Frames the file detector samples by default (spread over the clip).
DETECTION_FRAMES = 12


class FrameWatermarker:
    """Marks frames one at a time with the same keyed pattern (state: the pattern for the
    current frame size and the smoothed strength).

    >>> import numpy as np
    >>> from synthmark.keys import WatermarkKey
    >>> marker = FrameWatermarker(WatermarkKey(bytes(32)), 42)
    >>> frame = np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    >>> marked = marker.mark(frame)
    >>> marked.shape, marked.dtype, bool((marked != frame).any())
    ((360, 640, 3), dtype('uint8'), True)
    """

    def __init__(
        self,
        key: WatermarkKey,
        content_id: int,
        *,
        target_psnr: float = DEFAULT_PSNR,
        target_ssim: float = DEFAULT_SSIM,
    ) -> None:
        self._key = key
        self._coded = payload.encode(content_id, key)
        self._targets = (target_psnr, target_ssim)
        self._pattern: np.ndarray | None = None
        self._gain: float | None = None

    def _pattern_for(self, height: int, width: int) -> np.ndarray:
        if self._pattern is None or self._pattern.shape != (height, width):
            image_wm._check_size(height, width)
            period = image_wm.tile_period(height, width)
            tile = image_wm.tile_pattern(self._key, self._coded, period)
            self._pattern = np.ascontiguousarray(
                np.tile(tile, (-(-height // period), -(-width // period)))[:height, :width]
            )
            self._gain = None
        return self._pattern

    def mark(self, frame: np.ndarray) -> np.ndarray:
        """The marked copy of an H x W x 3 uint8 RGB ``frame`` (not modified)."""
        if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise WatermarkError(
                f"expected an H x W x 3 uint8 RGB frame, got {getattr(frame, 'shape', type(frame))}",
                fix="convert frames to rgb24 (PyAV: frame.to_ndarray(format='rgb24'))",
            )
        marked: np.ndarray = image_wm._add_to_colour(
            np.ascontiguousarray(frame), self._signal(image_wm._luma_of(frame))
        )
        return marked

    def mark_luma(self, luma: np.ndarray, *, full_range: bool = False) -> np.ndarray:
        """The marked copy of a video Y plane (H x W uint8; ``full_range`` 0-255, else the
        usual 16-235): the same mark as :meth:`mark` gives the RGB frame, added straight to luma
        (no colour conversion; chroma is not touched by this watermark anyway). The texture is
        measured at half resolution and the offset computed and added in one OpenCV pass each:
        this runs for every frame of a video."""
        if not isinstance(luma, np.ndarray) or luma.ndim != 2 or luma.dtype != np.uint8:
            raise WatermarkError(f"expected an H x W uint8 Y plane, got {getattr(luma, 'shape', luma)}")
        height, width = luma.shape
        pattern = self._pattern_for(height, width)
        offset, scale = (0.0, 1.0) if full_range else (16.0, 255.0 / 219.0)
        half = cv2.resize(luma, (max(1, width // 2), max(1, height // 2)), interpolation=cv2.INTER_AREA)
        texture = image_wm.texture_at_half((half.astype(np.float32) - np.float32(offset)) * np.float32(scale))
        mask = image_wm.full_size(texture.mask, height, width)
        change = cv2.multiply(pattern, mask, scale=self._gain_for(texture) / scale, dtype=cv2.CV_16S)  # rounds
        marked: np.ndarray = cv2.add(luma, change, dtype=cv2.CV_8U)  # saturates
        return marked

    def _gain_for(self, texture: image_wm.Texture) -> float:
        """This frame's strength: the quality-limited gain, smoothed over time, never above
        the frame's own limit."""
        gain, _ = image_wm._strength(texture, *self._targets)
        smoothed = gain if self._gain is None else (1 - GAIN_SMOOTHING) * self._gain + GAIN_SMOOTHING * gain
        self._gain = smoothed
        return min(gain, smoothed)

    def _signal(self, luma: np.ndarray) -> np.ndarray:
        """The offset to add (0-255 scale, float32) for a frame whose luma is ``luma`` (0-255)."""
        height, width = luma.shape
        pattern = self._pattern_for(height, width)
        texture = image_wm.texture(luma)
        signal: np.ndarray = pattern * np.float32(self._gain_for(texture))
        signal *= image_wm.full_size(texture.mask, height, width)
        return signal


@dataclass(frozen=True)
class VideoWatermarkReport(image_wm.ImageWatermarkReport):
    """What :func:`detect_watermark` found (see :class:`synthmark.image.watermark.ImageWatermarkReport`),
    plus ``frames``: how many frames were averaged."""

    frames: int = 0

    def _geometry(self) -> dict[str, Any]:
        return {**super()._geometry(), "frames": self.frames}


def detect_watermark(
    frames: Iterable[np.ndarray], keys: WatermarkKey | Sequence[WatermarkKey] | Iterable[WatermarkKey]
) -> VideoWatermarkReport:
    """Look for the watermark in a sample of frames (H x W x 3 arrays of one size, e.g.
    :data:`DETECTION_FRAMES` spread over a clip); no original needed.

    The frames' whitened luma fields are averaged, then read as one image (scaling, cropping,
    small rotations and mirroring are found as in the image detector). A sample of frames from
    any 5 s segment of a marked video suffices after the codecs of the README's table.
    """
    key_list = [keys] if isinstance(keys, WatermarkKey) else list(keys)
    total: np.ndarray | None = None
    count = 0
    for frame in frames:
        if min(frame.shape[:2]) < image_wm.TILE:
            return VideoWatermarkReport(False, details={"reason": "frames under 128 px"})
        current = image_wm.analysis_field(frame)
        if total is None:
            total = current.astype(np.float64)
        elif current.shape != total.shape:
            raise WatermarkError(
                f"frame {count} is {frame.shape[1]} x {frame.shape[0]}, unlike the first",
                fix="pass frames of one size (one video stream)",
            )
        else:
            total += current
        count += 1
    if total is None:
        return VideoWatermarkReport(False, details={"reason": "no frames"})
    report = image_wm.detect_in_field((total / count).astype(np.float32), key_list)
    return VideoWatermarkReport(**{**vars(report), "frames": count})
