"""``synthmark.video.find_explicit``: the opening label of a video, read by OCR in sampled frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.clips import make_clip
from synthmark import video
from synthmark.image.visible import LabelStyle
from synthmark.video.labeler import VideoLabelStyle

STYLE = LabelStyle(second_line="AI-generated", position="top-left", height=0.07)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("explicit")


def _clip(folder: Path, name: str) -> Path:
    return make_clip(name, folder, seconds=4.0, width=640, height=360)


def test_opening_label_is_seen_from_the_first_frame_through_two_seconds(folder: Path) -> None:
    src = _clip(folder, "kenburns_meadow.mp4")
    dst = folder / "opening.mp4"
    video.label_video(src, dst, visible=VideoLabelStyle(mode="opening", seconds=3.0, image=STYLE))
    found = video.find_explicit(dst)
    assert found["found"] and found["checked"] and found["kind"] == "text" and not found["limited"]
    assert found["seen_from"] == 0.0 and 2.0 <= found["seen_until"] < 3.0
    assert found["opening_ok"]
    assert {entry["position"] for entry in found["labels"]} == {"top-left"}
    assert all(entry["meets_5_2"] for entry in found["labels"])
    assert sorted({entry["t"] for entry in found["labels"]}) == [t for t in found["times"] if t < 3.0]
    assert found["times"][-1] == 3.0  # 75 % of 4 s: read, label gone


def test_a_persistent_label_on_a_rotated_clip(folder: Path) -> None:
    src = _clip(folder, "rotated_dogs.mov")
    dst = folder / "persistent.mov"
    video.label_video(src, dst, visible=VideoLabelStyle(mode="persistent", image=STYLE))
    found = video.find_explicit(dst)
    assert found["opening_ok"] and found["seen_until"] == found["times"][-1]
    assert {entry["position"] for entry in found["labels"]} == {"top-left"}  # upright as displayed


def test_an_unlabeled_clip_reports_nothing(folder: Path) -> None:
    found = video.find_explicit(_clip(folder, "kenburns_clock.mkv"))
    assert found["checked"] and not found["found"] and found["kind"] is None
    assert found["labels"] == [] and found["seen_from"] is None and not found["opening_ok"]
    assert found["times"][0] == 0.0 and len(found["times"]) >= 6
