"""Shared pieces of the batch tests: real files made from the fixtures, codes, a test PKI."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path

import numpy as np
import pytest

from synthmark import provenance
from synthmark.aigc import AIGCLabel
from synthmark.keys import WatermarkKey
from synthmark.labeling import label_bytes

from ..conftest import PROVIDER, fixture_bytes

PLATFORM = "001191110102MACQD9K64020000"
#: A fixed watermark key, so the tests repeat.
KEY = WatermarkKey(bytes(range(32)))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_hashes(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every regular file under ``root`` (symlinks as their target name)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "->" + str(path.readlink())
        elif path.is_file():
            out[rel] = sha(path)
    return out


def labeled(name: str, value: str = "1", *, produce_id: str = "order-1") -> bytes:
    """A fixture image with a metadata label only (class ``value``)."""
    label = AIGCLabel.new(PROVIDER, produce_id=produce_id, label=value)
    data, _ = label_bytes(fixture_bytes(name), label, visible=None)
    return data


def watermarked(name: str) -> bytes:
    """A fixture image with the invisible watermark only (no metadata label)."""
    label = AIGCLabel.new(PROVIDER, produce_id="wm-1")
    data, result = label_bytes(fixture_bytes(name), label, visible=None, metadata=False, key=KEY)
    assert result.layers == ("watermark",)
    return data


def small_wav(seconds: float = 2.0) -> bytes:
    """A short stereo WAV of a seeded tone and noise (a container, not a quality test)."""
    rate = 16000
    t = np.arange(int(rate * seconds)) / rate
    rng = np.random.default_rng(3)
    mono = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    samples = (np.stack([mono, mono], axis=1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(samples.tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> provenance.TestPki:
    return provenance.write_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def signer(pki: provenance.TestPki) -> provenance.Signer:
    return provenance.load_signer(pki.chain, pki.key)
