"""Images: the explicit label, the metadata label, and pixel I/O for JPEG, PNG and WebP.

The verbs every modality shares:

* :func:`add_visible_label` — pure, on arrays or Pillow images;
* :func:`read_metadata` / :func:`write_metadata` — on file bytes (or a path / file object),
  never touching pixels; a JPEG's entropy-coded data stays byte-identical.

Watermark verbs (``embed_watermark``, ``detect_watermark``) join them with the watermark.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import BinaryIO, cast

import numpy as np
from PIL import Image

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, MetadataError, TooLargeError, UnsupportedFormatError
from synthmark.formats import MAX_IMAGE_PIXELS, Format, read_bytes, sniff
from synthmark.image.visible import (
    DEFAULT_HEIGHT,
    DEFAULT_SECOND_LINE,
    DEFAULT_TEXT,
    MIN_HEIGHT,
    POSITIONS,
    LabelPlacement,
    LabelStyle,
    add_visible_label,
    draw_label,
)
from synthmark.metadata import MetadataReading, interpret

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_SECOND_LINE",
    "DEFAULT_TEXT",
    "MIN_HEIGHT",
    "POSITIONS",
    "LabelPlacement",
    "LabelStyle",
    "add_visible_label",
    "draw_label",
    "read_metadata",
    "write_metadata",
]

Source = str | os.PathLike[str] | bytes | BinaryIO

# EXIF orientation -> the transpose that shows the image upright, and its inverse.
_UPRIGHT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_LEFT_RIGHT),
    3: (Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_180),
    4: (Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.FLIP_TOP_BOTTOM),
    5: (Image.Transpose.TRANSPOSE, Image.Transpose.TRANSPOSE),
    6: (Image.Transpose.ROTATE_270, Image.Transpose.ROTATE_90),
    7: (Image.Transpose.TRANSVERSE, Image.Transpose.TRANSVERSE),
    8: (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270),
}


def load(source: Source) -> tuple[bytes, str | None]:
    """The bytes of ``source`` (path, bytes or binary file object) and its path if it has one."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), None
    if isinstance(source, (str, os.PathLike)):
        return read_bytes(source), os.fspath(source)
    name = getattr(source, "name", None)
    return source.read(), name if isinstance(name, str) else None


def image_format(data: bytes, *, path: str | None) -> Format:
    """The image :class:`Format` of ``data``; non-image formats raise :class:`UnsupportedFormatError`."""
    fmt = sniff(data[:16], path=path)
    if fmt.modality != "image":
        raise UnsupportedFormatError(
            f"{fmt.media_type} is not an image", path=path, fix="use the codec for its modality"
        )
    return fmt


def read_metadata(source: Source, *, strict: bool = False) -> MetadataReading:
    """The AIGC metadata label of a JPEG, PNG or WebP file, read leniently.

    Reads XMP ``TC260:AIGC`` (element and attribute forms), PNG ``tEXt AIGC`` and the EXIF
    UserComment. Problems with the label (validation, ``strict`` adding the provider-code shape)
    are reported in the result, not raised; a broken container raises :class:`CorruptFileError`.
    """
    data, path = load(source)
    fmt = image_format(data, path=path)
    return interpret(fmt.module().read_carriers(data, path=path), strict=strict)


def write_metadata(source: Source, label: AIGCLabel) -> bytes:
    """The file's bytes with exactly one AIGC label ``label``, merged into its existing XMP.

    Pixels are not decoded or re-encoded; every other metadata (XMP, EXIF, ICC) is kept. The
    label must pass :func:`synthmark.aigc.validate` (:class:`InvalidLabelError` otherwise) and
    is read back from the result (:class:`MetadataError` if it does not round-trip).
    """
    data, path = load(source)
    label.checked()
    fmt = image_format(data, path=path)
    codec = fmt.module()
    out: bytes = codec.write_label(data, label, path=path)
    reading = interpret(codec.read_carriers(out, path=path))
    if reading.label != label or any(r.label not in (None, label) for r in reading.carriers):
        raise MetadataError("the label did not read back as written", path=path, fix="report this file to synthmark")
    return out


def decode(data: bytes, *, path: str | None = None) -> Image.Image:
    """Decode image bytes with Pillow under synthmark's safety limits (pixels fully loaded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise TooLargeError(
                    f"image is {width} x {height} px, over the {MAX_IMAGE_PIXELS}-pixel limit",
                    path=path,
                    fix="raise synthmark.formats.MAX_IMAGE_PIXELS if this file is trusted",
                )
            image.load()
    except Image.DecompressionBombError as exc:
        raise TooLargeError(
            f"image claims a size over the {MAX_IMAGE_PIXELS}-pixel limit (a decompression bomb)",
            path=path,
            fix="raise synthmark.formats.MAX_IMAGE_PIXELS if this file is trusted",
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptFileError(
            f"cannot decode the image ({exc})", path=path, fix="re-export the image from its source"
        ) from exc
    return image


def relabel_pixels(data: bytes, style: LabelStyle, *, path: str | None = None) -> tuple[bytes, LabelPlacement]:
    """Draw the visible label in ``style`` and re-encode in the same format, carrying over all
    metadata. The label is placed as the image is displayed: EXIF orientation is honoured, so
    the text is upright and in the asked corner on screen."""
    fmt = image_format(data, path=path)
    codec = fmt.module()
    codec.check(data, path=path)
    source = decode(data, path=path)
    if fmt.name == "png" and codec.is_deep_color(data):
        import cv2

        bgr = np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))
        code = (
            (cv2.COLOR_BGRA2RGBA, cv2.COLOR_RGBA2BGRA) if bgr.shape[2] == 4 else (cv2.COLOR_BGR2RGB, cv2.COLOR_RGB2BGR)
        )
        rgb, placement = draw_label(cv2.cvtColor(bgr, code[0]), style)
        return codec.reencode(data, cv2.cvtColor(np.asarray(rgb), code[1]), path=path), placement
    orientation = source.getexif().get(0x0112, 1) if fmt.name == "jpeg" else 1
    upright, back = _UPRIGHT.get(orientation, (None, None))
    shown = source.transpose(upright) if upright is not None else source
    drawn, placement = draw_label(shown, style, owned=True)
    labeled = cast(Image.Image, drawn)  # a Pillow image in, a Pillow image out
    if back is not None:
        labeled = labeled.transpose(back)
    if fmt.name == "jpeg":
        return codec.reencode(data, labeled, source, path=path), placement
    return codec.reencode(data, labeled, path=path), placement
