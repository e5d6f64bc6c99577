"""The explicit image label: height >= 5 % measured on the output, every mode, every position."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthmark.errors import LabelDoesNotFitError, MissingGlyphError, RenderError, WordingError
from synthmark.image import POSITIONS, add_explicit_label
from synthmark.image.visible import LabelStyle, draw_label

from ..conftest import fixture_bytes, fixture_path


def photo(size: tuple[int, int]) -> np.ndarray:
    """The landscape photo resized to ``size`` (width, height), RGB uint8."""
    return np.asarray(Image.open(fixture_path("landscape.jpg")).convert("RGB").resize(size, Image.BILINEAR))


def changed_box(before: np.ndarray, after: np.ndarray) -> tuple[int, int, int, int]:
    diff = np.abs(before.astype(np.int32) - after.astype(np.int32)).reshape(*before.shape[:2], -1).max(axis=2)
    rows, cols = np.flatnonzero(diff.max(axis=1)), np.flatnonzero(diff.max(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def first_line_height(before: np.ndarray, after: np.ndarray) -> int:
    """Ink height of the first text line, measured independently on the output: inside the
    changed box, pixels brighter than anything a 70 % dark plate leaves (text coverage >= 50 %)."""
    top, bottom, left, right = changed_box(before, after)
    region = after[top:bottom, left:right].reshape(bottom - top, right - left, -1)[..., :3].min(axis=2)
    rows = np.flatnonzero((region >= 166).any(axis=1))
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    return int(runs[0][-1] - runs[0][0] + 1)


@pytest.mark.parametrize(
    "size",
    [(64, 64), (96, 64), (256, 256), (385, 256), (1920, 1080), (1080, 1920), (3000, 400), (400, 3000), (7680, 4320)],
    ids=lambda s: f"{s[0]}x{s[1]}",
)
@pytest.mark.clause("image-explicit")
def test_text_height_at_least_5_percent_of_shortest_side(size):
    before = photo(size)
    after = add_explicit_label(before, plate="dark")
    measured = first_line_height(before, after)
    assert measured >= 0.05 * min(size), f"{measured} px < 5 % of {min(size)}"
    assert measured <= math.ceil(0.06 * min(size)) + 2  # sized to the target, not grossly over


@pytest.mark.parametrize("size", [(1920, 1080), (256, 256)])
def test_two_lines_both_tall_enough(size):
    before = photo(size)
    after, placement = draw_label(before, LabelStyle("AI生成", "AI-generated", "bottom-right", 0.05, "dark"))
    top, bottom, left, right = changed_box(before, after)
    region = after[top:bottom, left:right, :3].min(axis=2)
    rows = np.flatnonzero((region >= 166).any(axis=1))
    runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1)
    assert len(runs) == 2
    assert all(len(run) >= 0.05 * min(size) for run in runs)
    assert placement.text_height >= math.ceil(0.05 * min(size))


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.clause("image-explicit")
def test_positions_sit_on_their_edge_or_corner(position):
    before = photo((800, 600))
    top, bottom, left, right = changed_box(before, add_explicit_label(before, position=position))
    h, w = 600, 800
    near = 0.05 * min(h, w)
    if "top" in position:
        assert top <= near
    if "bottom" in position:
        assert h - bottom <= near
    if "left" in position:
        assert left <= near
    if "right" in position:
        assert w - right <= near
    if position in ("top", "bottom"):
        assert abs((left + right) / 2 - w / 2) <= 1
    if position in ("left", "right"):
        assert abs((top + bottom) / 2 - h / 2) <= 1


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.clause("image-explicit")
def test_contrast_is_legible_on_any_background(seed):
    """Text vs plate contrast ratio (WCAG) >= 8.5:1, as the README states, on random, flat, black
    and white backgrounds."""
    rng = np.random.default_rng(seed)
    backgrounds = [
        rng.integers(0, 256, (300, 400, 3), dtype=np.uint8),
        np.zeros((300, 400, 3), np.uint8),
        np.full((300, 400, 3), 255, np.uint8),
        np.full((300, 400, 3), rng.integers(0, 256, 3), np.uint8),
    ]
    for before in backgrounds:
        after, p = draw_label(before, LabelStyle("AI生成", None, "bottom-right", 0.1, "auto"))
        region = after[p.top : p.top + p.height, p.left : p.left + p.width].astype(np.float64) / 255
        lin = np.where(region <= 0.04045, region / 12.92, ((region + 0.055) / 1.055) ** 2.4) @ [0.2126, 0.7152, 0.0722]
        pad = max(1, round(0.3 * p.text_height))
        plate = np.concatenate(
            [lin[: pad // 2, pad:-pad].ravel(), lin[-(pad // 2) :, pad:-pad].ravel()]
        )  # off the rounded corners
        text = lin[pad:-pad, pad:-pad]
        bright = plate.max() < 0.2  # dark plate (linear <= 0.074) -> white text
        glyph = text.max() if bright else text.min()
        worst_plate = plate.max() if bright else plate.min()
        lo, hi = sorted((glyph, worst_plate))
        assert (hi + 0.05) / (lo + 0.05) >= 8.5


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("RGB", "RGB"),
        ("RGBA", "RGBA"),
        ("L", "L"),
        ("LA", "LA"),
        ("P", "RGB"),
        ("1", "L"),
        ("CMYK", "CMYK"),
        ("I;16", "I;16"),
        ("I", "I"),
        ("F", "F"),
        ("YCbCr", "RGB"),
    ],
)
def test_pil_modes(mode, expected):
    base = Image.open(fixture_path("portrait.jpg")).convert("RGB").resize((400, 600))
    if mode == "I;16":
        source = Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257)
    elif mode == "F":
        source = Image.fromarray(np.asarray(base.convert("L"), np.float32) / 255)
    else:
        source = base.convert(mode)
    snapshot = source.tobytes()
    out = add_explicit_label(source)
    assert isinstance(out, Image.Image) and out.mode == expected and out.size == source.size
    assert source.tobytes() == snapshot  # input untouched
    ref = source.convert(expected) if mode not in ("I;16", "F", "I") else source
    diff = np.asarray(out, np.float64) != np.asarray(ref, np.float64)
    ys, xs = np.nonzero(diff.reshape(600, 400, -1).any(axis=2))
    assert ys.min() > 450 and xs.min() > 200, "only the bottom-right corner changes"


def test_cmyk_outside_label_is_bit_identical():
    source = Image.open(fixture_path("portrait.jpg")).convert("CMYK")
    out = add_explicit_label(source)
    a, b = np.asarray(source), np.asarray(out)
    top, bottom, left, right = changed_box(a, b)
    mask = np.ones(a.shape[:2], bool)
    mask[top:bottom, left:right] = False
    assert np.array_equal(a[mask], b[mask])


def test_rgba_alpha_kept_and_label_opaque_over_transparency():
    source = Image.open(io.BytesIO(fixture_bytes("alpha.png")))
    out = np.asarray(add_explicit_label(source, position="top-left"))
    alpha_in = np.asarray(source)[..., 3]
    assert alpha_in[0, 0] == 0  # the corner is transparent in the fixture
    p = draw_label(source, LabelStyle("AI生成", None, "top-left", 0.06, "auto"))[1]
    assert out[p.top + p.height // 2, p.left + p.width // 2, 3] >= 0.69 * 255
    outside = np.ones(alpha_in.shape, bool)
    outside[p.top : p.top + p.height, p.left : p.left + p.width] = False
    assert np.array_equal(out[..., 3][outside], alpha_in[outside])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [None, 1, 2, 3, 4])
def test_arrays_come_back_same_shape_and_dtype(dtype, channels):
    rng = np.random.default_rng(1)
    shape = (300, 500) if channels is None else (300, 500, channels)
    scale = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}[dtype]
    array = (rng.random(shape) * scale).astype(dtype)
    copy = array.copy()
    out = add_explicit_label(array)
    assert out.shape == array.shape and out.dtype == array.dtype
    assert np.array_equal(array, copy)
    assert not np.array_equal(out, array)
    if dtype is np.float32:
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_missing_glyph_is_an_error_not_tofu():
    with pytest.raises(MissingGlyphError, match="鑫"):
        add_explicit_label(photo((400, 300)), text="鑫AI生成")


def test_custom_font_is_used(tmp_path):
    from synthmark.image.visible import bundled_font_path

    custom = tmp_path / "font.otf"
    custom.write_bytes(Path(bundled_font_path()).read_bytes())
    out = add_explicit_label(photo((400, 300)), text="人工智能合成", font=custom)
    assert out.shape == (300, 400, 3)
    with pytest.raises(RenderError, match="font"):
        add_explicit_label(photo((400, 300)), font=fixture_path("flat.png"))


@pytest.mark.parametrize("text", ["AI", "Generated", "生成"])
@pytest.mark.clause("wording")
def test_wording_rule_enforced(text):
    with pytest.raises(WordingError):
        add_explicit_label(photo((400, 300)), text=text)


def test_too_long_text_does_not_fit():
    with pytest.raises(LabelDoesNotFitError, match="does not fit"):
        add_explicit_label(photo((400, 300)), text="AI生成 " + "AI" * 60)


@pytest.mark.parametrize("bad", [{"height": 0.04}, {"position": "center"}, {"plate": "neon"}])
def test_bad_options_rejected(bad):
    with pytest.raises(RenderError):
        add_explicit_label(photo((400, 300)), **bad)


def test_outline_style_changes_only_glyph_area():
    before = photo((800, 600))
    after, p = draw_label(before, LabelStyle("AI生成", None, "bottom-right", 0.06, "outline"))
    changed = (before != after).any(axis=2)[p.top : p.top + p.height, p.left : p.left + p.width]
    assert 0.05 < changed.mean() < 0.6  # no plate: only strokes and glyphs change
