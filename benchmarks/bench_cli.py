"""Start-up of the ``synthmark`` console script, as whole processes (``python -m benchmarks --only
cli``): ``--help``, ``verify --help``, and ``verify`` of a small JPEG (256 px, no label, no key)
with and without reading explicit labels (OCR). Per case: the median wall time and the median
CPU time (user + system, of the child alone: robust to a busy machine) after one warm-up run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "synthmark"
SMALL = Path(__file__).resolve().parent.parent / "fixtures" / "images" / "small256.jpg"

#: case -> (arguments, target wall seconds or None, previous figures: before lazy imports,
#: medians of 5 on 2 busy cores, wall / CPU).
CASES = {
    "synthmark --help": (["--help"], 0.3, "570 / 375 ms"),
    "synthmark verify --help": (["verify", "--help"], None, "563 / 373 ms"),
    "synthmark verify small256.jpg": (["verify", str(SMALL)], 0.5, "892 / 593 ms"),
    "synthmark verify --no-explicit small256.jpg": (["verify", "--no-explicit", str(SMALL)], None, "-"),
}


def run_once(args: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run of the script; it must exit 0 or 1."""
    started = time.perf_counter()
    child = subprocess.Popen([SCRIPT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"synthmark {' '.join(args)} exited {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def main(repeat: int = 15) -> None:
    print(f"\nCLI start-up, whole processes, median of {repeat} after a warm-up run")
    print(f"  {'case':<44} {'wall ms':>8} {'CPU ms':>7} {'target':>7} {'wall/target':>11}  previous wall / CPU")
    for name, (args, target, previous) in CASES.items():
        run_once(args)
        walls, cpus = zip(*(run_once(args) for _ in range(repeat)), strict=True)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        goal = f"{target * 1000:.0f}" if target else "-"
        ratio = f"{wall / target:.2f}x" if target else "-"
        print(f"  {name:<44} {wall * 1000:>8.0f} {cpu * 1000:>7.0f} {goal:>7} {ratio:>11}  {previous}")


if __name__ == "__main__":
    main()
