"""The image robustness suite on a real photo: shapes, purity, determinism, and what each step does."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from synthmark.errors import InputError, SynthmarkError
from synthmark.transforms import IMAGE_SUITE, apply_image, psnr, ssim

from ..conftest import fixture_path

# The names and order of shared/spec/robustness.md's image table.
SPEC_NAMES = [
    "identity",
    "jpeg90",
    "jpeg75",
    "jpeg50",
    "webp75",
    "resize50",
    "resize75",
    "resize150",
    "crop50-center",
    "crop50-corner",
    "crop384",
    "rotate2",
    "rotate5",
    "blur1",
    "noise5",
    "noise10",
    "bright120",
    "bright80",
    "contrast80",
    "gray",
    "flip",
    "screenshot",
    "social",
    "combo",
    "overlay",
]

# landscape.jpg is 1600×1065; (height, width) of each output.
EXPECTED_SHAPE = {
    "resize50": (533, 800),  # 532.5 rounds half up
    "resize75": (799, 1200),  # 798.75
    "resize150": (1598, 2400),  # 1597.5
    "crop50-center": (756, 1136),  # 0.71 × 1065 = 756.15, 0.71 × 1600 = 1136
    "crop50-corner": (756, 1136),
    "crop384": (384, 384),
    "screenshot": (852, 1280),
    "social": (719, 1080),  # 1065 × 1080 / 1600 = 718.9
    "combo": (756, 1136),
}


def load(name: str) -> np.ndarray:
    return np.asarray(Image.open(fixture_path(name)).convert("RGB"))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    image = load("landscape.jpg")
    assert image.shape == (1065, 1600, 3)
    return image


def pillow_round_trip(image: np.ndarray, fmt: str, **options: object) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt, **options)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def test_suite_names_and_order_follow_the_spec() -> None:
    assert list(IMAGE_SUITE) == SPEC_NAMES


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_shape_dtype_purity_and_determinism(photo: np.ndarray, name: str) -> None:
    before = photo.copy()
    writable = photo.copy()  # a writable input must not be written to either
    out = apply_image(name, writable, rng=7)
    assert out.dtype == np.uint8
    assert out.ndim == 3 and out.shape[2] == 3
    assert out.shape[:2] == EXPECTED_SHAPE.get(name, photo.shape[:2])
    assert out.flags.c_contiguous and out.flags.writeable
    assert not np.shares_memory(out, writable)
    np.testing.assert_array_equal(writable, before)
    np.testing.assert_array_equal(photo, before)
    np.testing.assert_array_equal(apply_image(name, photo, rng=7), out)


@pytest.mark.parametrize("name", ["crop384", "noise5", "noise10", "overlay"])
def test_random_transformations_depend_on_the_seed(photo: np.ndarray, name: str) -> None:
    first = apply_image(name, photo, rng=1)
    assert not np.array_equal(first, apply_image(name, photo, rng=2))
    # A generator seeded the same way is the same as the int seed.
    np.testing.assert_array_equal(IMAGE_SUITE[name](photo, np.random.default_rng(1)), first)


def test_identity_is_lossless(photo: np.ndarray) -> None:
    np.testing.assert_array_equal(apply_image("identity", photo), photo)


@pytest.mark.parametrize(("name", "quality"), [("jpeg90", 90), ("jpeg75", 75), ("jpeg50", 50)])
def test_jpeg_is_a_real_encode_at_that_quality(photo: np.ndarray, name: str, quality: int) -> None:
    expected = pillow_round_trip(photo, "JPEG", quality=quality, subsampling="4:2:0")
    np.testing.assert_array_equal(apply_image(name, photo), expected)


def test_jpeg_loss_grows_as_quality_drops(photo: np.ndarray) -> None:
    scores = [psnr(photo, apply_image(name, photo)) for name in ("jpeg90", "jpeg75", "jpeg50")]
    assert scores[0] > scores[1] > scores[2]
    assert not np.array_equal(apply_image("jpeg50", photo), photo)


def test_webp75_is_a_real_lossy_webp(photo: np.ndarray) -> None:
    out = apply_image("webp75", photo)
    np.testing.assert_array_equal(out, pillow_round_trip(photo, "WEBP", quality=75, lossless=False))
    assert 30 < psnr(photo, out) < 45


def test_resize_uses_area_down_and_cubic_up(photo: np.ndarray) -> None:
    down = cv2.resize(photo, (800, 533), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(apply_image("resize50", photo), down)
    up = cv2.resize(photo, (2400, 1598), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(apply_image("resize150", photo), up)


def test_crops_keep_the_named_window(photo: np.ndarray) -> None:
    np.testing.assert_array_equal(apply_image("crop50-corner", photo), photo[:756, :1136])
    top, left = (1065 - 756) // 2, (1600 - 1136) // 2
    np.testing.assert_array_equal(apply_image("crop50-center", photo), photo[top : top + 756, left : left + 1136])
    assert 0.49 < 756 * 1136 / (1065 * 1600) < 0.51


def test_crop384_is_a_window_at_the_drawn_position(photo: np.ndarray) -> None:
    draws = np.random.default_rng(11)
    top, left = int(draws.integers(0, 1065 - 384 + 1)), int(draws.integers(0, 1600 - 384 + 1))
    np.testing.assert_array_equal(apply_image("crop384", photo, rng=11), photo[top : top + 384, left : left + 384])


def test_crop384_keeps_short_dimensions_whole() -> None:
    small = load("small256.jpg")  # 385×256
    out = apply_image("crop384", small, rng=0)
    assert out.shape == (256, 384, 3)
    assert any(np.array_equal(out, small[:, x : x + 384]) for x in (0, 1))


@pytest.mark.parametrize(("name", "degrees"), [("rotate2", 2.0), ("rotate5", 5.0)])
def test_rotation_keeps_the_canvas_and_blackens_corners(photo: np.ndarray, name: str, degrees: float) -> None:
    out = apply_image(name, photo)
    assert out.shape == photo.shape
    assert out[0, 0].max() == 0 and out[-1, -1].max() == 0  # corners rotated out of the canvas
    # Undoing the rotation brings the centre back.
    matrix = cv2.getRotationMatrix2D((1599 / 2, 1064 / 2), -degrees, 1.0)
    back = np.asarray(cv2.warpAffine(out, matrix, (1600, 1065), flags=cv2.INTER_LINEAR), dtype=np.uint8)
    centre = np.s_[400:660, 600:1000]
    assert psnr(photo[centre], back[centre]) > 25
    assert psnr(photo[centre], out[centre]) < psnr(photo[centre], back[centre])


def test_blur_removes_fine_detail(photo: np.ndarray) -> None:
    def detail(image: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).std())

    out = apply_image("blur1", photo)
    assert detail(out) < 0.6 * detail(photo)
    assert abs(float(out.mean()) - float(photo.mean())) < 0.5


@pytest.mark.parametrize(("name", "sigma"), [("noise5", 5.0), ("noise10", 10.0)])
def test_noise_has_the_stated_strength(photo: np.ndarray, name: str, sigma: float) -> None:
    out = apply_image(name, photo, rng=3)
    expected = 20 * math.log10(255 / sigma)  # 34.2 dB and 28.1 dB before clipping
    assert expected - 0.5 < psnr(photo, out) < expected + 1.0
    residual = out.astype(np.float64) - photo
    assert abs(residual.mean()) < 0.5


def test_brightness_multiplies(photo: np.ndarray) -> None:
    expected = np.clip(np.rint(photo * 0.8), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(apply_image("bright80", photo), expected)
    brighter = apply_image("bright120", photo)
    assert brighter.max() == 255
    unclipped = photo < 200
    ratio = brighter[unclipped].astype(np.float64).sum() / photo[unclipped].astype(np.float64).sum()
    assert ratio == pytest.approx(1.2, abs=0.01)


def test_contrast80_shrinks_spread_about_the_image_mean(photo: np.ndarray) -> None:
    out = apply_image("contrast80", photo).astype(np.float64)
    assert out.mean() == pytest.approx(photo.mean(), abs=0.5)
    assert out.std() == pytest.approx(0.8 * photo.std(), rel=0.01)


def test_gray_has_equal_channels_matching_pillow(photo: np.ndarray) -> None:
    out = apply_image("gray", photo)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    np.testing.assert_array_equal(out[..., 0], np.asarray(Image.fromarray(photo).convert("L")))


def test_flip_mirrors(photo: np.ndarray) -> None:
    np.testing.assert_array_equal(apply_image("flip", photo), photo[:, ::-1])


def test_screenshot_is_an_80_percent_area_downscale(photo: np.ndarray) -> None:
    expected = cv2.resize(photo, (1280, 852), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(apply_image("screenshot", photo), expected)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("landscape.jpg", (719, 1080)), ("portrait.jpg", (1080, 720)), ("small256.jpg", (718, 1080))],
)
def test_social_sets_the_long_side_to_1080(name: str, expected: tuple[int, int]) -> None:
    image = load(name)
    out = apply_image("social", image)
    assert out.shape == (*expected, 3)
    assert max(out.shape[:2]) == 1080


def test_combo_crops_darkens_and_compresses(photo: np.ndarray) -> None:
    out = apply_image("combo", photo)
    cropped = apply_image("crop50-center", photo)
    assert out.shape == cropped.shape
    assert out.astype(np.float64).mean() == pytest.approx(0.9 * cropped.mean(), rel=0.02)
    assert 25 < psnr(np.clip(np.rint(cropped * 0.9), 0, 255).astype(np.uint8), out) < 45


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_overlay_covers_a_tenth_with_one_opaque_colour(photo: np.ndarray, seed: int) -> None:
    out = apply_image("overlay", photo, rng=seed)
    changed = np.any(out != photo, axis=2)
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    box = out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].reshape(-1, 3)
    assert len(np.unique(box, axis=0)) == 1  # one flat colour
    area = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1) / changed.size
    assert 0.09 < area < 0.11
    assert 0.08 < changed.mean() <= area
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert 0.9 < width / height < 1.1


def test_unknown_name_is_a_synthmark_error(photo: np.ndarray) -> None:
    with pytest.raises(SynthmarkError, match="unknown transformation 'jpeg40'") as info:
        apply_image("jpeg40", photo)
    assert info.value.fix is not None and "crop50-center" in info.value.fix


@pytest.mark.parametrize(
    "bad",
    [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 3), np.float32)],
    ids=["gray", "rgba", "float"],
)
def test_non_rgb_uint8_input_is_rejected(bad: np.ndarray) -> None:
    with pytest.raises(InputError, match="H×W×3 uint8"):
        apply_image("flip", bad)


# --- quality metrics --------------------------------------------------------------------------


def test_identical_images_are_perfect(photo: np.ndarray) -> None:
    assert psnr(photo, photo.copy()) == math.inf
    assert ssim(photo, photo.copy()) == 1.0


def test_noise10_psnr_is_about_28_db(photo: np.ndarray) -> None:
    noisy = apply_image("noise10", photo, rng=0)
    assert psnr(photo, noisy) == pytest.approx(28.1, abs=0.5)
    assert 0.5 < ssim(photo, noisy) < 0.9


def test_metrics_rank_jpeg_qualities_and_are_symmetric(photo: np.ndarray) -> None:
    q90, q50 = apply_image("jpeg90", photo), apply_image("jpeg50", photo)
    assert ssim(photo, q90) > ssim(photo, q50)
    assert psnr(photo, q50) == pytest.approx(psnr(q50, photo))
    assert ssim(photo, q50) == pytest.approx(ssim(q50, photo))


def test_one_grey_level_off_everywhere_is_48_db() -> None:
    a, b = np.full((32, 32, 3), 100, np.uint8), np.full((32, 32, 3), 101, np.uint8)
    assert psnr(a, b) == pytest.approx(20 * math.log10(255), abs=1e-9)


def test_metrics_reject_mismatched_shapes(photo: np.ndarray) -> None:
    with pytest.raises(InputError, match="shapes differ"):
        psnr(photo, photo[:-1])
    with pytest.raises(InputError, match="shapes differ"):
        ssim(photo, photo[:, :-1])
    with pytest.raises(InputError, match="smaller than the 11×11"):
        ssim(photo[:8, :8], photo[:8, :8])
