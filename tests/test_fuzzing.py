"""The fuzzing harness (fuzzing/): the contract every target checks, held on what it has found.

Every crash reproducer under fuzzing/crashes/<target>/ and every seed of every target is run
through its target: synthmark must return or raise a SynthmarkError (a reproducer fails here
until its bug is fixed). Then a short coverage-guided slice of each target runs the way the long
run does (``python -m fuzzing all``, atheris in one child process per target) and must end
cleanly with no crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzing.targets import TARGETS, seed_folder

ROOT = Path(__file__).resolve().parent.parent
CRASHES = sorted(p for p in (ROOT / "fuzzing" / "crashes").glob("*/*") if p.is_file())
SLICE_RUNS = 300


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fuzzing work folder with every target's seeds built."""
    folder = tmp_path_factory.mktemp("fuzz")
    for name in TARGETS:
        seed_folder(name, folder)
    return folder


@pytest.fixture(scope="module")
def slice_results(work: Path) -> dict[str, dict[str, object]]:
    """One short run of every target (two at a time), by target name."""
    results = work / "results.jsonl"
    command = [sys.executable, "-m", "fuzzing", "all", "--runs", str(SLICE_RUNS), "--jobs", "2"]
    command += ["--work", str(work), "--results", str(results)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return {row["target"]: row for row in rows}


def test_every_crash_reproducer_names_a_target() -> None:
    assert {p.parent.name for p in CRASHES} <= set(TARGETS)


@pytest.mark.parametrize("path", CRASHES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_crash_reproducer_keeps_the_contract(path: Path) -> None:
    TARGETS[path.parent.name].function(path.read_bytes())


@pytest.mark.parametrize("name", TARGETS)
def test_seeds_keep_the_contract(name: str, work: Path) -> None:
    seeds = sorted((work / "seeds" / name).iterdir())
    assert seeds, f"target {name} has no seeds"
    for seed in seeds:
        TARGETS[name].function(seed.read_bytes())


@pytest.mark.parametrize("name", TARGETS)
def test_fuzzing_slice(name: str, slice_results: dict[str, dict[str, object]]) -> None:
    row = slice_results[name]
    assert row["crashes"] == [], f"see {row['log']}"
    assert row["rc"] == 0 and row["executions"] == SLICE_RUNS, f"see {row['log']}"
