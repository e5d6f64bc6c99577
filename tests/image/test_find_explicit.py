"""``synthmark.image.find_explicit``: the visible label of an image file, read by OCR."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from synthmark import image
from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError
from synthmark.image.visible import LabelStyle
from synthmark.labeling import label_file
from tests.conftest import fixture_path

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "photos"


def test_a_labeled_file_reports_its_label(tmp_path: Path, label: AIGCLabel) -> None:
    out = tmp_path / "labeled.jpg"
    style = LabelStyle(second_line="AI-generated", position="top-right")
    label_file(fixture_path("landscape.jpg"), out, label, visible=style)
    found = image.find_explicit(out)
    assert found["found"] and found["checked"] and found["kind"] == "text" and found["scan"] == "edges"
    assert not found["limited"]
    (entry,) = found["labels"]
    assert entry["position"] == "top-right" and entry["wording_ok"] and entry["meets_5_2"]
    assert "生成" in entry["text"] and 5.0 <= entry["height_pct"] + 0.2 <= 7.2
    assert found == image.find_explicit(out.read_bytes()) == image.find_explicit(io.BytesIO(out.read_bytes()))


@pytest.mark.parametrize("name", ["landscape.jpg", "portrait.jpg", "photo.webp", "alpha.png", "gray.png"])
def test_unlabeled_files_report_nothing_but_were_checked(name: str) -> None:
    found = image.find_explicit(fixture_path(name))
    assert found == {"found": False, "checked": True, "kind": None, "scan": "edges", "labels": [], "limited": False}


def test_exif_orientation_is_applied_before_reading(tmp_path: Path) -> None:
    # Stored on its side with EXIF orientation 6: displayed upright, label bottom-left.
    shown = image.add_explicit_label(
        np.asarray(Image.open(PHOTOS / "bridge-sky.jpg").convert("RGB"))[:, 240:1680], position="bottom-left"
    )
    stored = Image.fromarray(np.ascontiguousarray(np.rot90(shown, 1)))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "turned.jpg"
    stored.save(path, quality=90, exif=exif.tobytes())
    found = image.find_explicit(path)
    (entry,) = found["labels"]
    assert entry["position"] == "bottom-left" and entry["meets_5_2"]
    _, y0, x1, _ = entry["box"]
    assert x1 < shown.shape[1] / 2 and y0 > shown.shape[0] / 2  # in displayed coordinates


def test_full_scan_finds_a_centred_label(tmp_path: Path) -> None:
    photo = np.asarray(Image.open(PHOTOS / "meadow-mountains.jpg").convert("RGB"))
    centre = image.add_explicit_label(photo[:, 420:1500], position="bottom")  # a 1080 x 1080 label tile
    canvas = photo.copy()
    canvas[:, 420:1500] = centre
    canvas = np.roll(canvas, -420, axis=0)  # move the bottom label up to the middle
    path = tmp_path / "centre.png"
    Image.fromarray(canvas).save(path)
    assert not image.find_explicit(path)["found"]
    found = image.find_explicit(path, scan="full")
    (entry,) = found["labels"]
    assert found["scan"] == "full" and entry["position"] == "centre" and not entry["meets_5_2"]


def test_a_damaged_image_is_read_as_far_as_it_decodes() -> None:
    labeled = image.add_explicit_label(np.asarray(Image.open(fixture_path("landscape.jpg"))), position="top-left")
    buffer = io.BytesIO()
    Image.fromarray(labeled).save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    truncated = image.find_explicit(data[: len(data) // 2])  # the top half decodes, the label with it
    assert truncated["found"] and truncated["labels"][0]["position"] == "top-left"
    with pytest.raises(CorruptFileError):
        image.find_explicit(data[:200])  # nothing decodes
