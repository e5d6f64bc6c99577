"""The OCR engine: lazy and light import, input kinds, bounds, threads."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from fixtures.stamps import load_photo
from synthmark.image.visible import bundled_font_path
from synthmark.ocr import engine, read_text


def test_importing_the_package_loads_no_engine() -> None:
    code = (
        "import sys, synthmark.ocr, synthmark.image, synthmark.video;"
        "print(any(m in sys.modules for m in ('onnxruntime', 'cv2')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_models_are_vendored_and_read_offline() -> None:
    from importlib import resources

    models = resources.files("synthmark.ocr") / "models"
    assert (models / "ch_PP-OCRv4_det_infer.onnx").is_file()
    assert (models / "ch_PP-OCRv4_rec_infer.onnx").is_file()
    assert (models / "README.md").is_file()


def test_unlabeled_photo_reads_no_text_and_reports_its_size() -> None:
    reading = read_text(load_photo("photos/meadow-mountains.jpg"))
    assert reading.size == (1920, 1080) and reading.scan == "edges" and not reading.limited
    assert reading.lines == ()


def _words(size: tuple[int, int], text: str, px: int, every: tuple[int, int]) -> np.ndarray:
    image = Image.new("RGB", size, (235, 235, 230))
    font = ImageFont.truetype(bundled_font_path(), px)
    draw = ImageDraw.Draw(image)
    for y in range(4, size[1] - px, every[1]):
        for x in range(4, size[0] - 4 * px, every[0]):
            draw.text((x, y), text, font=font, fill=(20, 20, 20))
    return np.asarray(image)


@pytest.mark.parametrize("kind", [np.uint8, np.uint16, np.float32, "gray", "rgba", "pil"])
def test_input_kinds(kind: object) -> None:
    base = _words((480, 270), "AI生成", 40, (400, 400))
    if kind == np.uint16:
        image: object = base.astype(np.uint16) * 257
    elif kind == np.float32:
        image = base.astype(np.float32) / 255
    elif kind == "gray":
        image = base[..., 0]
    elif kind == "rgba":
        image = np.dstack([base, np.full(base.shape[:2], 255, np.uint8)])
    elif kind == "pil":
        image = Image.fromarray(base)
    else:
        image = base
    texts = [line.text for line in read_text(image).lines]
    assert texts == ["AI生成"]


def test_scan_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown scan"):
        read_text(np.zeros((64, 64, 3), np.uint8), scan="middle")  # type: ignore[arg-type]


def test_thousands_of_small_text_regions_stay_bounded() -> None:
    # About 3,300 tiny words: every one is a region for the detector, none tall enough to read.
    busy = _words((1920, 1080), "text", 12, (36, 16))
    started = time.perf_counter()
    reading = read_text(busy, scan="full")
    assert reading.limited and reading.lines == ()
    assert time.perf_counter() - started < 10.0  # about 1.5 s on one idle core


def test_many_readable_lines_are_cut_at_max_boxes() -> None:
    busy = _words((1920, 1080), "Hotel", 36, (240, 64))  # ~ 130 lines of 3.3 % height
    started = time.perf_counter()
    reading = read_text(busy, scan="full")
    assert reading.limited
    assert 0 < len(reading.lines) <= engine.MAX_BOXES
    assert time.perf_counter() - started < 10.0


def test_threads_setting_and_concurrent_use() -> None:
    with pytest.raises(ValueError):
        engine.set_threads(0)
    images = [_words((480, 270), "AI生成", 40, (400, 400)), _words((480, 270), "Hotel", 40, (400, 400))]
    try:
        engine.set_threads(2)
        assert engine.THREADS == 2
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda image: [line.text for line in read_text(image).lines], images * 2))
    finally:
        engine.set_threads(1)
    assert results == [["AI生成"], ["Hotel"], ["AI生成"], ["Hotel"]]
