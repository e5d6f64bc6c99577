"""The peer invisible-watermark packages behind one small interface, for side-by-side benchmarks.

Each :class:`Peer` embeds and decodes a fixed number of payload bits (32 for every peer here) in
an H×W×3 ``uint8`` **RGB** array; the wrappers deal with each package's own conventions:

=============================  ==========================================================
peer                           notes
=============================  ==========================================================
invisible-watermark dwtDct     ``imwatermark`` 0.2.0: ``WatermarkEncoder.encode(bgr,
                               'dwtDct')``. Works on **BGR** arrays; refuses images under
                               256×256 = 65,536 pixels. One Haar DWT level of the U
                               channel; in each 4×4 block of the approximation band the
                               largest coefficient is quantised (step 36). Despite the
                               name there is no DCT in 0.2.0 (upstream issues #2, #39), and
                               the decoder can pick a different coefficient than the
                               encoder did, so even unattacked photos can decode wrongly
                               (5 of the 13 corpus photos, and photo1080p). Decoding is
                               blind and takes any size; nothing in the package's
                               documentation asks for the original size, so attacked
                               images are passed as they are.
invisible-watermark dwtDctSvd  the same package's SVD variant: largest singular value of
                               each 4×4 block's DCT, in U, step 36.
blind-watermark                ``blind_watermark`` 0.4.4: ``WaterMark(password_wm,
                               password_img)``, ``read_wm(bits, mode='bit')`` and
                               ``extract(wm_shape=32, mode='bit')``. **BGR** arrays, all
                               three YUV channels, steps 36/20. The decoder must be told the
                               payload length and the two passwords. Its documentation
                               (``examples/example_bit.py``: "resisting attacks requires
                               knowing the original image's shape") resizes an attacked
                               image back to the original size before extracting, so
                               :attr:`Peer.restore_size` is true and
                               :meth:`Peer.decode_attacked` does that (``cv2.resize``,
                               bilinear, as its ``att.resize_att`` does).
=============================  ==========================================================

Quirks handled here, not hidden:

* ``imwatermark/__init__.py`` imports its RivaGAN module, which imports ``torch`` at module
  level. The frequency methods need neither torch nor ONNX, so when torch is missing the two
  engine modules (``maxDct.py``, ``dwtDctSvd.py``) are loaded from the installed package
  by file, without running its ``__init__``; the embed/decode calls are the ones
  ``WatermarkEncoder.encode`` and ``WatermarkDecoder.decode`` make, with the same size check.
* imwatermark writes the inverse DWT (float) back into a ``uint8`` array by truncation, and
  values outside 0–255 wrap; numpy's "invalid value in cast" warning is silenced. The PSNR
  measured includes that damage; it is the package's own behaviour.
* blind-watermark prints a banner on the first ``WaterMark()``; its own switch
  ``bw_notes.close()`` turns it off. Importing it calls
  ``multiprocessing.set_start_method('fork')`` for the whole process (and fails if another
  start method was set before): :func:`available_peers` then leaves it out.
* blind-watermark returns float BGR clipped to 0–255; the wrapper rounds to ``uint8``.

Both packages ask for ``opencv-python`` (the GUI build), which would overwrite the
``opencv-python-headless`` that synthmark uses; install them with ``--no-deps`` (they need only
numpy, OpenCV, PyWavelets and Pillow, already present)::

    pip install --no-deps invisible-watermark==0.2.0 blind-watermark==0.4.4
    pip install PyWavelets
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

__all__ = ["PAYLOAD_BITS", "Peer", "PeerError", "available_peers"]

#: Payload size every peer carries, in bits.
PAYLOAD_BITS = 32
#: imwatermark refuses images with fewer pixels than this (``r * c < 256 * 256``).
IMWATERMARK_MIN_PIXELS = 256 * 256
#: Fixed blind-watermark passwords (its keys); the decoder needs the same ones.
BLIND_PASSWORD_WM = 1
BLIND_PASSWORD_IMG = 1


class PeerError(RuntimeError):
    """A peer package failed to embed or decode (too small an image, an internal error)."""


@dataclass(frozen=True)
class Peer:
    """One peer watermarking method behind a uniform interface.

    Attributes
    ----------
    name:
        Display name, e.g. ``"invisible-watermark dwtDct"``.
    bits:
        Payload size in bits (32 for every peer).
    embed:
        ``(rgb, bits) -> marked``: ``rgb`` is H×W×3 ``uint8`` RGB (not modified), ``bits`` a
        ``uint8`` array of ``bits`` zeros and ones; returns a new H×W×3 ``uint8`` RGB array.
        Raises :class:`PeerError` when the package cannot embed.
    decode:
        ``(rgb) -> bits``: any H×W×3 ``uint8`` RGB array, passed to the package as it is;
        returns a ``uint8`` array of ``bits`` zeros and ones. Raises :class:`PeerError` when
        the package cannot decode (e.g. under its minimum size).
    restore_size:
        True when the package's own documentation resizes an attacked image back to the
        original size before decoding; :meth:`decode_attacked` then does so.
    notes:
        One line on the package's limits, for report tables.
    """

    name: str
    bits: int
    embed: Callable[[np.ndarray, np.ndarray], np.ndarray]
    decode: Callable[[np.ndarray], np.ndarray]
    restore_size: bool = False
    notes: str = ""

    def decode_attacked(self, image: np.ndarray, original_shape: tuple[int, ...]) -> np.ndarray:
        """Decode an attacked image the way the package documents it.

        ``original_shape`` is the marked image's shape (H, W[, C]). When :attr:`restore_size` is
        true and the size differs, the image is first resized (bilinear) to the original
        H×W; otherwise it is decoded as it is.
        """
        height, width = original_shape[:2]
        if self.restore_size and image.shape[:2] != (height, width):
            image = np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
        return self.decode(image)


# --- helpers -----------------------------------------------------------------------------------


def _check_image(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 uint8 RGB array, got shape {image.shape} dtype {image.dtype}")
    return image


def _check_bits(bits: np.ndarray) -> np.ndarray:
    array = np.asarray(bits)
    if array.shape != (PAYLOAD_BITS,) or not np.isin(array, (0, 1)).all():
        raise ValueError(f"expected {PAYLOAD_BITS} bits of 0/1, got shape {array.shape}")
    return array.astype(np.uint8)


def _rgb_to_bgr(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, :, ::-1])


def _bgr_to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """BGR (uint8 or float) -> RGB uint8, rounding and clipping floats."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array[:, :, ::-1])


# --- invisible-watermark ------------------------------------------------------------------------


def _imwatermark_module(name: str) -> ModuleType:
    """Import ``imwatermark.<name>``, or load it by file when the package ``__init__`` cannot run.

    ``imwatermark/__init__.py`` pulls in ``rivaGan.py``, which imports torch; the frequency
    engines do not need it.
    """
    try:
        return importlib.import_module(f"imwatermark.{name}")
    except ImportError:
        spec = importlib.util.find_spec("imwatermark")  # locates the package without executing it
        if spec is None or not spec.submodule_search_locations:
            raise
        path = Path(next(iter(spec.submodule_search_locations))) / f"{name}.py"
        module_spec = importlib.util.spec_from_file_location(f"_peer_imwatermark_{name}", path)
        if module_spec is None or module_spec.loader is None:
            raise
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module


def _imwatermark_peer(method: str, module_name: str, class_name: str) -> Peer:
    engine: Any = getattr(_imwatermark_module(module_name), class_name)

    def check_size(bgr: np.ndarray) -> None:
        rows, cols = bgr.shape[:2]
        if rows * cols < IMWATERMARK_MIN_PIXELS:
            raise PeerError(f"invisible-watermark needs at least 256×256 pixels, got {cols}×{rows}")

    def embed(image: np.ndarray, bits: np.ndarray) -> np.ndarray:
        bgr = _rgb_to_bgr(_check_image(image))
        check_size(bgr)
        payload = [int(b) for b in _check_bits(bits)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                marked = engine(payload, wmLen=PAYLOAD_BITS).encode(bgr)
            except Exception as exc:
                raise PeerError(f"invisible-watermark {method} embed failed: {exc}") from exc
        return _bgr_to_rgb_uint8(marked)

    def decode(image: np.ndarray) -> np.ndarray:
        bgr = _rgb_to_bgr(_check_image(image))
        check_size(bgr)
        try:
            bits = engine(watermarks=[], wmLen=PAYLOAD_BITS).decode(bgr)
        except Exception as exc:
            raise PeerError(f"invisible-watermark {method} decode failed: {exc}") from exc
        return np.asarray(bits, dtype=np.uint8)

    return Peer(
        name=f"invisible-watermark {method}",
        bits=PAYLOAD_BITS,
        embed=embed,
        decode=decode,
        restore_size=False,
        notes="BGR; at least 256×256 px; blind decode at any size",
    )


# --- blind-watermark ---------------------------------------------------------------------------


def _blind_watermark_peer() -> Peer:
    with contextlib.redirect_stdout(io.StringIO()):
        blind_watermark: Any = importlib.import_module("blind_watermark")
    blind_watermark.bw_notes.close()  # the package's own switch for its stdout banner

    def new() -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return blind_watermark.WaterMark(password_wm=BLIND_PASSWORD_WM, password_img=BLIND_PASSWORD_IMG)

    def embed(image: np.ndarray, bits: np.ndarray) -> np.ndarray:
        bgr = _rgb_to_bgr(_check_image(image))
        payload = _check_bits(bits).astype(bool)
        marker = new()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                marker.read_img(img=bgr)
                marker.read_wm(payload, mode="bit")
                marked = marker.embed()
        except Exception as exc:
            raise PeerError(f"blind-watermark embed failed: {exc}") from exc
        return _bgr_to_rgb_uint8(marked)

    def decode(image: np.ndarray) -> np.ndarray:
        bgr = _rgb_to_bgr(_check_image(image))
        try:
            with (
                contextlib.redirect_stdout(io.StringIO()),
                np.errstate(invalid="ignore", divide="ignore"),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("ignore", RuntimeWarning)
                bits = new().extract(embed_img=bgr, wm_shape=PAYLOAD_BITS, mode="bit")
        except Exception as exc:
            raise PeerError(f"blind-watermark decode failed: {exc}") from exc
        return np.asarray(bits, dtype=np.uint8)

    return Peer(
        name="blind-watermark",
        bits=PAYLOAD_BITS,
        embed=embed,
        decode=decode,
        restore_size=True,
        notes="BGR; decoder needs payload length and passwords; documented decode at original size",
    )


_FACTORIES: tuple[Callable[[], Peer], ...] = (
    lambda: _imwatermark_peer("dwtDct", "maxDct", "EmbedMaxDct"),
    lambda: _imwatermark_peer("dwtDctSvd", "dwtDctSvd", "EmbedDwtDctSvd"),
    _blind_watermark_peer,
)


def available_peers() -> list[Peer]:
    """The peers whose packages import here, in a fixed order; never raises.

    A package that is missing, or fails while importing, is left out.
    """
    peers = []
    for factory in _FACTORIES:
        try:
            peers.append(factory())
        except Exception:  # a peer that cannot load is simply not compared
            continue
    return peers
