"""Shared fixtures: the real photos under fixtures/images and a valid label."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from synthmark.aigc import AIGCLabel

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "images"
PROVIDER = "001191110102MACQD9K64010000"
IMAGES = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".jpg", ".png", ".webp"))


@pytest.fixture(autouse=True, scope="session")
def _omission_log_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``label --no-visible`` always writes the art. 9 log: keep the tests' records out of $HOME."""
    os.environ["SYNTHMARK_OMISSION_LOG"] = str(tmp_path_factory.mktemp("art9") / "omissions.sqlite")


@pytest.fixture
def label() -> AIGCLabel:
    return AIGCLabel.new(PROVIDER, produce_id="test-0001")


def fixture_path(name: str) -> Path:
    return FIXTURES / name


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def lag(reference: np.ndarray, test: np.ndarray, search: int = 2000) -> int:
    """Lag of ``test`` behind ``reference`` in samples (FFT cross-correlation of channel sums)."""
    m = min(len(reference), len(test))
    a, b = reference[:m].sum(axis=1), test[:m].sum(axis=1)
    size = 1 << (2 * m - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    lags = np.r_[np.arange(search), np.arange(-search, 0)]
    return int(lags[np.argmax(np.r_[corr[:search], corr[-search:]])])


def run_unprivileged(code: str, *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` as an unprivileged user (``nobody`` via setpriv when the tests run as
    root, as they do on CI), so that permission errors are real: root ignores file modes.

    Skips the calling test when that user cannot import synthmark at all (a checkout inside a
    folder only root may enter, e.g. a 0700 temporary folder): the test then cannot say anything.
    """
    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "HOME": tempfile.gettempdir()}
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if "No module named 'synthmark'" in done.stderr or done.stderr.startswith("setpriv: failed to execute"):
        pytest.skip(f"an unprivileged user cannot read this checkout ({Path(__file__).parent.parent})")
    return done


def shared_tmp() -> Path:
    """A fresh folder under the system temporary folder that an unprivileged user can enter."""
    folder = Path(tempfile.mkdtemp(prefix="synthmark-perm-"))
    folder.chmod(0o755)
    return folder
