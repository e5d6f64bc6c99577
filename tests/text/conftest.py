"""Shared fixtures of the text tests: the real corpora, sample documents, fixed keys."""

from __future__ import annotations

import lzma
from functools import cache
from pathlib import Path

import pytest

from synthmark.aigc import AIGCLabel
from synthmark.keys import WatermarkKey

TEXT = Path(__file__).resolve().parents[2] / "fixtures" / "text"
PRODUCER = "001191110102MACQD9K64010000"


@cache
def corpus(name: str) -> str:
    """A corpus of fixtures/text (``en``, ``zh``, ``ar``), decompressed."""
    return lzma.decompress((TEXT / f"{name}.txt.xz").read_bytes()).decode("utf-8")


def paragraphs(name: str, start: int = 0, count: int = 10) -> str:
    return "\n\n".join(corpus(name).split("\n\n")[start : start + count])


@pytest.fixture
def key() -> WatermarkKey:
    return WatermarkKey(bytes(range(32)))


@pytest.fixture
def other_key() -> WatermarkKey:
    return WatermarkKey(bytes(range(1, 33)))


@pytest.fixture
def label() -> AIGCLabel:
    return AIGCLabel.new(PRODUCER, produce_id="text-test-1")


@pytest.fixture
def sample() -> dict[str, bytes]:
    return {p.suffix: p.read_bytes() for p in TEXT.glob("sample.*")}
