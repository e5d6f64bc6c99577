"""Median timing and side-by-side tables shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(func: Callable[[], object], *, repeat: int, warmup: int = 2) -> float:
    """Median wall time of ``func()`` in milliseconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def table(title: str, rows: list[tuple[str, float | None]], *, baseline: str) -> None:
    """Print ``rows`` (name, median ms or None when unavailable) with ratios to ``baseline``."""
    base = dict(rows)[baseline]
    print(f"\n{title}")
    print(f"  {'implementation':<58} {'median ms':>10} {'vs synthmark':>13}")
    for name, ms in rows:
        if ms is None:
            print(f"  {name:<58} {'n/a':>10} {'(not installed)':>13}")
            continue
        ratio = f"{ms / base:.2f}x" if base else "-"
        print(f"  {name:<58} {ms:>10.2f} {ratio:>13}")
