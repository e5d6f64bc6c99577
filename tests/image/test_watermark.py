"""The invisible watermark on real photos: quality, each claimed transformation, false
positives, odd inputs."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthmark.errors import ImageTooSmallError, LowCapacityError, WatermarkError
from synthmark.image.watermark import detect_watermark, embed_watermark, watermark_capacity
from synthmark.keys import WatermarkKey, generate_key
from synthmark.transforms import IMAGE_SUITE, psnr, ssim

from ..conftest import fixture_path

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "photos"
KEY = WatermarkKey(hashlib.sha256(b"synthmark tests").digest())  # fixed: results are repeatable
CID = 0x5EED_0F_C0FFEE_1234


def rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def marked() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    names = {"photo1080p": fixture_path("photo1080p.jpg"), "portrait": fixture_path("portrait.jpg")}
    return {name: (rgb(path), embed_watermark(rgb(path), KEY, CID)) for name, path in names.items()}


@pytest.mark.parametrize("path", [*sorted(PHOTOS.glob("*.jpg"))[:6], fixture_path("gray.png")], ids=lambda p: p.name)
def test_quality_limits_and_round_trip(path):
    image = rgb(path)
    out = embed_watermark(image, KEY, CID)
    quality = psnr(image, out), ssim(image, out)
    assert quality[0] >= 40.0 and quality[1] >= 0.98
    # The strength is the largest the limits allow (README: PSNR >= 41 dB and a first-order SSIM
    # estimate >= 0.982, one of them binding). Measured on these photos: PSNR 40.9-45.0 dB, SSIM
    # 0.984-0.994; at half the strength (+6 dB) every photo is above 46.7 dB and 0.9955. A weaker
    # mark passes the easy robustness tests and fails the hard ones, so the strength is pinned.
    assert quality[0] < 45.5 and quality[1] < 0.995, quality
    report = detect_watermark(out, KEY)
    assert report.found and report.content_id == CID and report.key_id == KEY.key_id
    assert report.payload_hex == f"{CID:016x}" and report.p_value < 1e-9


# Every transformation the README claims, on two real photos (the benchmark runs all photos).
CLAIMED = [name for name in IMAGE_SUITE if name != "crop384"]


@pytest.mark.parametrize("name", CLAIMED)
@pytest.mark.parametrize("photo", ["photo1080p", "portrait"])
@pytest.mark.clause("watermark-robustness")
def test_survives_transformation(marked, photo, name):
    _, out = marked[photo]
    attacked = IMAGE_SUITE[name](out, np.random.default_rng(0))
    report = detect_watermark(attacked, KEY)
    assert report.found and report.content_id == CID, f"{name}: pilot z {report.pilot_z:.1f}"


@pytest.mark.clause("watermark-robustness")
def test_crop384_window_of_a_1080p_photo(marked):
    _, out = marked["photo1080p"]
    for seed in range(3):
        window = IMAGE_SUITE["crop384"](out, np.random.default_rng(seed))
        assert detect_watermark(window, KEY).content_id == CID


def test_no_false_positives_unmarked_photos_100_keys():
    keys = [generate_key() for _ in range(100)]
    images = [rgb(p) for p in sorted(PHOTOS.glob("*.jpg"))[:5]]
    images.append(IMAGE_SUITE["jpeg75"](images[0], np.random.default_rng(0)))
    for image in images:
        report = detect_watermark(image, keys)
        assert not report.found and report.content_id is None


def test_wrong_key_finds_nothing(marked):
    _, out = marked["photo1080p"]
    assert not detect_watermark(out, generate_key()).found


def test_flat_regions_stay_clean():
    """On smooth sky (local std < 2 levels) the mark stays under 1.2 gray levels RMS."""
    image = rgb(PHOTOS / "mountain-sky.jpg")
    out = embed_watermark(image, KEY, CID)
    luma = image.astype(np.float64).mean(axis=2)
    blocks = luma[: 1080 // 8 * 8, :1920].reshape(135, 8, 240, 8).std(axis=(1, 3))
    flat = np.kron(blocks < 2.0, np.ones((8, 8), bool))
    change = (out.astype(np.float64) - image)[:1080, :1920][flat]
    assert flat.mean() > 0.05
    assert np.sqrt(np.mean(change**2)) < 1.2


@pytest.mark.parametrize("kind", ["rgba", "gray2d", "uint16", "float32", "pil-rgba", "pil-l", "pil-i16"])
def test_input_kinds_come_back_the_same(kind):
    base = rgb(fixture_path("landscape.jpg"))[:600, :800]
    alpha = np.full((*base.shape[:2], 1), 200, np.uint8)
    gray = np.asarray(Image.fromarray(base).convert("L"))
    image = {
        "rgba": np.concatenate([base, alpha], axis=2),
        "gray2d": gray,
        "uint16": base.astype(np.uint16) * 257,
        "float32": base.astype(np.float32) / 255,
        "pil-rgba": Image.fromarray(np.concatenate([base, alpha], axis=2), "RGBA"),
        "pil-l": Image.fromarray(gray),
        "pil-i16": Image.fromarray(gray.astype(np.uint16) * 257),
    }[kind]
    out = embed_watermark(image, KEY, CID)
    assert type(out) is type(image)
    if isinstance(image, Image.Image):
        assert out.mode == image.mode and out.size == image.size
        arr = np.asarray(out, dtype=np.uint16 if image.mode == "I;16" else None)
    else:
        assert out.shape == image.shape and out.dtype == image.dtype
        arr = out
    if kind in ("rgba", "pil-rgba"):
        assert (np.asarray(out)[..., 3] == 200).all()
    pixels = arr.astype(np.float64) / (65535 if arr.dtype == np.uint16 else (1 if arr.dtype == np.float32 else 255))
    as8 = np.rint(np.clip(pixels, 0, 1) * 255).astype(np.uint8)
    assert detect_watermark(as8, KEY).content_id == CID


def test_small_and_flat_images_are_refused():
    with pytest.raises(ImageTooSmallError, match="256"):
        embed_watermark(np.zeros((200, 400, 3), np.uint8), KEY, CID)
    flat = np.full((512, 512, 3), 128, np.uint8)
    assert not watermark_capacity(flat).reliable
    with pytest.raises(LowCapacityError, match="flat"):
        embed_watermark(flat, KEY, CID)
    assert watermark_capacity(rgb(fixture_path("photo1080p.jpg"))).reliable


def test_unsupported_inputs():
    with pytest.raises(WatermarkError, match="CMYK"):
        embed_watermark(Image.new("CMYK", (300, 300)), KEY, CID)
    with pytest.raises(WatermarkError, match="dtype"):
        embed_watermark(np.zeros((300, 300), np.int32), KEY, CID)
    assert not detect_watermark(np.zeros((100, 100, 3), np.uint8), KEY).found


def test_survives_a_real_jpeg_file_round_trip(marked):
    _, out = marked["portrait"]
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, "JPEG", quality=70)
    assert detect_watermark(np.asarray(Image.open(buf)), KEY).content_id == CID


def test_report_never_contains_key_material(marked, tmp_path):
    _, out = marked["photo1080p"]
    secret = KEY.save(tmp_path / "k.key").read_text()
    doc = str(detect_watermark(out, KEY).to_dict())
    assert KEY.key_id in doc and secret.split('"secret": "')[1][:20] not in doc
