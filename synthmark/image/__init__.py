"""Images: the explicit label, the metadata label, and pixel I/O for JPEG, PNG and WebP.

The verbs every modality shares:

* :func:`add_explicit_label` — pure, on arrays or Pillow images;
* :func:`read_metadata` / :func:`write_metadata` — on file bytes (or a path / file object),
  never touching pixels; a JPEG's entropy-coded data stays byte-identical.

* :func:`embed_watermark` / :func:`detect_watermark` — the invisible keyed watermark (pure,
  on arrays or Pillow images), with :func:`watermark_capacity` as a pre-check.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from PIL import Image, ImageFile

from synthmark._lazy import lazy_attributes
from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, LowCapacityError, RenderError, TooLargeError, WatermarkError
from synthmark.formats import MAX_IMAGE_PIXELS, Format, load_source, sniff_modality
from synthmark.image.visible import (
    DEFAULT_HEIGHT,
    DEFAULT_SECOND_LINE,
    DEFAULT_TEXT,
    MIN_HEIGHT,
    POSITIONS,
    LabelPlacement,
    LabelStyle,
    add_explicit_label,
    draw_label,
)
from synthmark.keys import WatermarkKey
from synthmark.media import Media
from synthmark.metadata import MetadataReading, interpret, write_checked
from synthmark.payload import Mark
from synthmark.protocols import ExplicitStyles, Source

__all__ = [
    "DEFAULT_HEIGHT",
    "DEFAULT_SECOND_LINE",
    "DEFAULT_TEXT",
    "EXPLICIT_LAYER",
    "MIN_HEIGHT",
    "POSITIONS",
    "WATERMARK_OPTIONS",
    "Capacity",
    "ImageWatermarkReport",
    "LabelPlacement",
    "LabelStyle",
    "Mark",
    "add_explicit_label",
    "detect_watermark",
    "draw_label",
    "embed_watermark",
    "evaluate_robustness",
    "explicit_style",
    "find_explicit",
    "find_watermark",
    "read_metadata",
    "read_pixels",
    "read_provenance_metadata",
    "relabel_content",
    "watermark_capacity",
    "write_metadata",
]

if TYPE_CHECKING:
    from synthmark.aisource import ProvenanceMetadata
    from synthmark.image.watermark import (
        Capacity,
        ImageWatermarkReport,
        detect_watermark,
        embed_watermark,
        watermark_capacity,
    )

# The watermark needs OpenCV; it is imported on first use so ``import synthmark`` stays light.
_WATERMARK_NAMES = ("Capacity", "ImageWatermarkReport", "detect_watermark", "embed_watermark", "watermark_capacity")
__getattr__ = lazy_attributes(__name__, dict.fromkeys(_WATERMARK_NAMES, "synthmark.image.watermark"))


#: The Modality contract (synthmark.protocols): the explicit label's layer name, the options
#: find_watermark takes beyond the keys.
EXPLICIT_LAYER = "visible"
WATERMARK_OPTIONS: frozenset[str] = frozenset()


def explicit_style(styles: ExplicitStyles) -> LabelStyle | None:
    """The visible label's style."""
    return styles.visible  # type: ignore[no-any-return]


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


def image_format(data: bytes, *, path: str | None) -> Format:
    """The image :class:`Format` of ``data``; other media raise :class:`UnsupportedFormatError`."""
    return sniff_modality(data, "image", path=path)


def read_metadata(source: Source, *, strict: bool = False) -> MetadataReading:
    """The AIGC metadata label of a JPEG, PNG or WebP file, read leniently.

    Reads XMP ``TC260:AIGC`` (element and attribute forms), PNG ``tEXt AIGC`` and the EXIF
    UserComment. Problems with the label (validation, ``strict`` adding the provider-code shape)
    are reported in the result, not raised; a broken container raises :class:`CorruptFileError`.
    """
    data, path = load_source(source)
    fmt = image_format(data, path=path)
    return interpret(fmt.module().read_carriers(data, path=path), strict=strict)


def write_metadata(source: Source, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """The file's bytes with exactly one AIGC label ``label``, merged into its existing XMP.

    Pixels are not decoded or re-encoded; every other metadata (XMP, EXIF, ICC) is kept. The
    label must pass :func:`synthmark.aigc.validate` (:class:`InvalidLabelError` otherwise) and
    is read back from the result (:class:`MetadataError` if it does not round-trip). ``path``
    names bytes in errors.
    """
    data, source_path = load_source(source)
    path = path or source_path
    return write_checked(image_format(data, path=path).module(), data, label, path=path)


_TRUNCATED_LOCK = threading.Lock()


@contextlib.contextmanager
def _damage_tolerated(tolerate: bool) -> Iterator[None]:
    """Let Pillow decode what it can of damaged data (its switch is process-wide: locked)."""
    if not tolerate:
        yield
        return
    with _TRUNCATED_LOCK:
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = False


def decode(data: bytes, *, path: str | None = None, lenient: bool = False) -> Image.Image:
    """Decode image bytes with Pillow under synthmark's safety limits (pixels fully loaded).

    ``lenient`` decodes what it can of damaged data (bad CRCs, corrupt or missing image data
    fill with grey) instead of raising: for detection on damaged files only.
    """
    try:
        with warnings.catch_warnings(), _damage_tolerated(lenient):
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


# Pillow modes the watermark works in directly; others are converted as documented.
_MARKABLE = {"L", "LA", "RGB", "RGBA", "I;16"}


def _markable(image: Image.Image, *, path: str | None) -> Image.Image:
    if image.mode in _MARKABLE:
        return image
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    if image.mode == "1":
        return image.convert("L")
    raise WatermarkError(
        f"{image.mode} images are not watermarked", path=path, fix="convert the image to RGB first, or pass no key"
    )


def relabel_pixels(
    data: bytes,
    style: LabelStyle | None,
    mark: Mark | None = None,
    *,
    path: str | None = None,
    progress: Any = None,  # unused: one image is one step (the Modality contract)
) -> tuple[bytes, LabelPlacement | None]:
    """Draw the visible label in ``style`` and/or embed the watermark ``mark``, then re-encode
    once in the same format, carrying over all metadata.

    The label is placed as the image is displayed: EXIF orientation is honoured, so the text
    is upright and in the asked corner on screen. The watermark goes in after the label, so
    the label's pixels carry it too. Palette images come back RGB(A) when marked.
    """
    fmt = image_format(data, path=path)
    codec = fmt.module()
    codec.check(data, path=path)
    source = decode(data, path=path)
    placement = None
    if fmt.name == "png" and codec.is_deep_color(data):
        import cv2

        bgr = np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))
        code = (
            (cv2.COLOR_BGRA2RGBA, cv2.COLOR_RGBA2BGRA) if bgr.shape[2] == 4 else (cv2.COLOR_BGR2RGB, cv2.COLOR_RGB2BGR)
        )
        rgb = np.asarray(cv2.cvtColor(bgr, code[0]))
        if style is not None:
            drawn, placement = draw_label(rgb, style)
            rgb = np.asarray(drawn)
        if mark is not None:
            from synthmark.image.watermark import embed_watermark

            rgb = embed_watermark(rgb, mark.key, mark.content_id)
        out = codec.reencode(data, cv2.cvtColor(rgb, code[1]), path=path)
        if mark is not None:
            _check_mark_reads_back(out, mark, path)
        return out, placement
    orientation = source.getexif().get(0x0112, 1) if fmt.name == "jpeg" else 1
    upright, back = _UPRIGHT.get(orientation, (None, None))
    shown = source.transpose(upright) if upright is not None else source
    before = shown.copy() if style is not None else shown  # draw_label may draw in place
    if style is not None:
        drawn, placement = draw_label(shown, style, owned=True)
        shown = cast(Image.Image, drawn)  # a Pillow image in, a Pillow image out
    if mark is not None:
        from synthmark.image.watermark import embed_watermark

        shown = embed_watermark(_markable(shown, path=path), mark.key, mark.content_id)
    labeled = shown.transpose(back) if back is not None else shown
    if fmt.name == "jpeg":
        out = codec.reencode(data, labeled, source, path=path)
    else:
        out = codec.reencode(data, labeled, path=path)
    if mark is not None:
        _check_mark_reads_back(out, mark, path)
    if placement is not None:
        _check_label_reads_back(out, before, shown, placement, path)
    return out, placement


def _check_label_reads_back(
    data: bytes, before: Image.Image, drawn: Image.Image, box: LabelPlacement, path: str | None
) -> None:
    """The visible layer is reported only when the written file shows the label: in the
    decoded output, the label's box must match the drawn label far better than the unlabeled
    picture (mean absolute difference under a quarter of the label's own change), so an encoder
    that lost or smeared it is caught. Costs one decode, no OCR."""
    crop = (box.left, box.top, box.left + box.width, box.top + box.height)

    def region(image: Image.Image) -> np.ndarray:
        return np.asarray(image.convert("RGB").crop(crop), dtype=np.float32)

    written = region(Image.fromarray(upright_pixels(data)).convert("RGB"))
    label, under = region(drawn), region(before)
    change = float(np.mean(np.abs(label - under)))
    if written.shape != label.shape or float(np.mean(np.abs(written - label))) > 0.25 * change:
        raise RenderError(
            "the visible label does not read back from the written file where it was drawn",
            path=path,
            fix="this is a synthmark bug: please report it with the file",
        )


def _check_mark_reads_back(data: bytes, mark: Mark, path: str | None) -> None:
    """Refuse to write a file whose watermark cannot be read back (too small or too busy an
    image): a silent, unreadable mark would be worse than none."""
    from synthmark.image.watermark import detect_watermark

    report = detect_watermark(read_pixels(data), mark.key)
    if not report.found or report.content_id != mark.content_id:
        raise LowCapacityError(
            "the watermark does not read back from the labeled image (too small or too busy to hold it)",
            path=path,
            fix="label it without --key (the other layers still apply), or watermark a larger original",
        )


def read_pixels(source: Source, *, lenient: bool = False) -> np.ndarray:
    """Decoded pixels as an H x W x C array (uint8, or uint16 for 16-bit files) for detection.

    ``lenient``: a damaged file (bad CRC, corrupt or truncated image data) gives the pixels that
    decode instead of :class:`CorruptFileError` (damaged parts are grey), so the watermark and
    visible labels can still be looked for; the caller reports the damage. Decoded once per
    :class:`~synthmark.media.Media` (the array is shared: do not modify it).
    """
    media = Media.of(source)
    return media.cached(("pixels", lenient), lambda: _decoded_pixels(media.data, media.path, lenient))


def _decoded_pixels(data: bytes, path: str | None, lenient: bool) -> np.ndarray:
    fmt = image_format(data, path=path)
    try:
        fmt.module().check(data, path=path)
    except CorruptFileError:
        if not lenient:
            raise
        return _pixel_array(decode(data, path=path, lenient=True))
    if fmt.name == "png" and fmt.module().is_deep_color(data):
        import cv2

        bgr = np.asarray(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED))
        return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGBA if bgr.shape[2] == 4 else cv2.COLOR_BGR2RGB))
    return _pixel_array(decode(data, path=path))


def _pixel_array(image: Image.Image) -> np.ndarray:
    if image.mode not in _MARKABLE:
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    return np.asarray(image, dtype=np.uint16) if image.mode == "I;16" else np.asarray(image)


#: The modality-neutral name the labeling pipeline calls.
relabel_content = relabel_pixels


def find_watermark(source: Source, keys: list[WatermarkKey]) -> Any:
    """:func:`detect_watermark` on a file's decoded pixels (of a damaged file, on what decodes)."""
    from synthmark.image.watermark import detect_watermark

    return detect_watermark(read_pixels(source, lenient=True), keys)


def upright_pixels(source: Source) -> np.ndarray:
    """Decoded pixels as :func:`read_pixels` gives them (of a damaged file, what decodes),
    turned as the image is displayed (the JPEG EXIF orientation applied), so text drawn upright
    on screen is upright in the array."""
    media = Media.of(source)
    data, path = media.data, media.path
    pixels = read_pixels(media, lenient=True)
    if image_format(data, path=path).name == "jpeg":  # 8-bit: Pillow turns it
        with Image.open(io.BytesIO(data)) as header:
            upright, _ = _UPRIGHT.get(header.getexif().get(0x0112, 1), (None, None))
        if upright is not None:
            pixels = np.asarray(Image.fromarray(pixels).transpose(upright))
    return np.ascontiguousarray(pixels)


def find_explicit(source: Source, *, scan: Literal["edges", "full"] = "edges") -> dict[str, Any]:
    """The explicit-label evidence of an image file: visible label text read by OCR
    (:func:`synthmark.ocr.read_labels`, offline).

    ``scan``: ``"edges"`` (default, the edge and corner bands GB 45438 clause 5.2 asks for) or
    ``"full"`` (the whole picture, finer). Returns ``found`` (an AI label phrase was read,
    compliant or not), ``checked`` (True), ``kind`` (``"text"`` or None), ``scan``, ``labels``
    (each :meth:`synthmark.ocr.VisibleLabel.to_dict`, boxes in pixels of the image as displayed)
    and ``limited`` (a bound of the reader left text unread). A damaged file is read as far as
    it decodes; :class:`CorruptFileError` when nothing does.
    """
    from synthmark.ocr import read_labels

    reading = read_labels(upright_pixels(source), scan=scan)
    labels = [label.to_dict() for label in reading.labels]
    return {
        "found": bool(labels),
        "checked": True,
        "kind": "text" if labels else None,
        "scan": scan,
        "labels": labels,
        "limited": reading.limited,
    }


def read_provenance_metadata(source: Source) -> ProvenanceMetadata:
    """AI origin declared in the image's ordinary metadata: IPTC digital source type and
    generator tools in XMP, generator text chunks (Stable Diffusion WebUI, ComfyUI) and EXIF
    tags (see :mod:`synthmark.aisource`). Reads metadata only, never pixels."""
    from synthmark import aisource

    data, path = load_source(source)
    return aisource.read(data, image_format(data, path=path).module().read_fields(data, path=path))


def evaluate_robustness(path: str | os.PathLike[str], key: WatermarkKey, **options: Any) -> Any:
    """The image suite of ``shared/spec/robustness.md`` against the mark in the file at
    ``path`` (a :class:`~synthmark.transforms.report.RobustnessReport`; options as
    :func:`synthmark.transforms.report.evaluate_file`)."""
    from synthmark.transforms.report import evaluate_image_file

    return evaluate_image_file(path, key, **options)
