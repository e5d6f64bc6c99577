"""Tiny clips for the video tests, made from the real photos and recordings like the fixtures
(fixtures/video/make_video.py), at 320x180 and a few seconds so the tests stay fast."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "video"


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_video", FIXTURES / "make_video.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


MAKER = _maker()
#: Fixture name -> its Clip (photo, recording, container, codecs, rotation, subtitles).
CLIPS = {clip.name: clip for clip in MAKER.CLIPS}


def make_clip(
    name: str, folder: Path, *, seconds: float = 2.0, width: int = 320, height: int = 180, **changes: object
) -> Path:
    """A small version of the fixture ``name`` (same kind of content and streams) in ``folder``."""
    clip = replace(CLIPS[name], **changes) if changes else CLIPS[name]
    return MAKER.render(clip, folder / name, width=width, height=height, seconds=seconds)  # type: ignore[no-any-return]
