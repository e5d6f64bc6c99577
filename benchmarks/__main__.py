"""Run every benchmark: ``python -m benchmarks [--repeat N]``."""

from __future__ import annotations

import argparse

from benchmarks import bench_image_label


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per case (median reported)")
    args = parser.parse_args()
    bench_image_label.main(repeat=args.repeat)


if __name__ == "__main__":
    main()
