"""Shared fixtures: the real photos under fixtures/images and a valid label."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthmark.aigc import AIGCLabel

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "images"
PROVIDER = "001191110102MACQD9K64010000"
IMAGES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".jpg", ".png", ".webp"))


@pytest.fixture
def label() -> AIGCLabel:
    return AIGCLabel.new(PROVIDER, produce_id="test-0001")


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
