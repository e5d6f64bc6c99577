"""Tiny real clips shared by the video tests (made once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.clips import CLIPS, make_clip


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every fixture kind as a 2 s 320x180 clip: .mp4 (H.264+AAC), .webm (VP9+Opus), .mkv (with
    subtitles), .mov (rotated 90°)."""
    folder = tmp_path_factory.mktemp("clips")
    return {Path(name).suffix: make_clip(name, folder) for name in CLIPS}
