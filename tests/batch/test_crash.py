"""Crash safety: the CLI is killed (SIGKILL, whole process group) at seeded random moments,
20 times, and resumed; each kill waits for a random number of finished files (0-29, read from
the ledger as it grows) and then a random fraction of a second, so the kills land at different
stages whatever the machine's load; every output must then be complete and valid, every ledger row must
match its file, no temporary file may be left, and SRC must be unchanged."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synthmark.detect import verify_file

from ..conftest import fixture_bytes
from .conftest import PLATFORM, labeled, sha, tree_hashes

KILLS_PER_DEST = 2
DESTS = 10  # 20 kills in all


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 files: 10 labeled JPEGs (propagated), 10 declared photos (notice drawn), 10 Markdown
    documents showing an AI phrase (suspected)."""
    root = tmp_path_factory.mktemp("crash")
    src = root / "src"
    (src / "declared").mkdir(parents=True)
    photo, portrait = labeled("landscape.jpg"), fixture_bytes("portrait.jpg")
    for i in range(10):
        (src / f"l{i:02}.jpg").write_bytes(photo)
        (src / "declared" / f"p{i:02}.jpg").write_bytes(portrait)
        (src / f"t{i:02}.md").write_text(f"# Note {i}\n\nAI生成\n\nText number {i}.\n", "utf-8")
    (root / "declared.txt").write_text("".join(f"declared/p{i:02}.jpg\n" for i in range(10)))
    return src


def command(src: Path, dest: Path) -> list[str]:
    declared = src.parent / "declared.txt"
    return [
        sys.executable, "-m", "synthmark_cli.main", "batch", "relabel", str(src), str(dest),
        "--propagator", PLATFORM, "--jobs", "2", "--declared-list", str(declared), "--quiet",
    ]  # fmt: skip


def done_rows(dest: Path) -> list[tuple[str, str, str]]:
    ledger = dest / ".synthmark-batch.sqlite"
    if not ledger.exists():
        return []
    db = sqlite3.connect(ledger)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'files'").fetchone():
            return []  # killed (or polled) before the ledger's schema was committed
        return list(db.execute("SELECT source, source_sha256, output_sha256 FROM files WHERE status = 'done'"))
    finally:
        db.close()


def check_rows(src: Path, dest: Path) -> int:
    rows = done_rows(dest)
    for source, source_sha, output_sha in rows:
        assert sha(src / source) == source_sha
        assert sha(dest / source) == output_sha, f"{source}: ledger row does not match the output"
    return len(rows)


def test_kill_and_resume(src, tmp_path):
    rng = random.Random(20250901)
    before = tree_hashes(src)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    progress_seen = []
    for trial in range(DESTS):
        dest = tmp_path / f"dest{trial}"
        for _ in range(KILLS_PER_DEST):
            proc = subprocess.Popen(
                command(src, dest),
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            target, extra = rng.randrange(30), rng.uniform(0.0, 0.3)
            deadline = time.monotonic() + 120
            while proc.poll() is None and len(done_rows(dest)) < target and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(extra)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            # Whatever moment the kill hit: done rows match their outputs, SRC is untouched.
            progress_seen.append(check_rows(src, dest))
            assert tree_hashes(src) == before
        finished = subprocess.run(command(src, dest), capture_output=True, text=True, env=env, timeout=120)
        assert finished.returncode == 0, finished.stderr
        assert check_rows(src, dest) == 30
        leftovers = [p.name for p in dest.rglob("*.tmp")]
        assert leftovers == [], leftovers
        for path in sorted(dest.rglob("*")):
            if path.is_file() and not path.name.startswith(".synthmark-batch"):
                report = verify_file(path)
                assert report.label is not None and report.label.content_propagator == PLATFORM, path
    # The kills landed at different stages (before the first row, midway, after the last).
    assert len(set(progress_seen)) >= 4, progress_seen
