"""Run every benchmark: ``python -m benchmarks [--quick] [--only label|watermark] [...]``.

Every timing is single-core: the thread counts of OpenMP, OpenBLAS, MKL and OpenCV are set to 1
here, before numpy or OpenCV is imported, so each package reads them at import.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402

from benchmarks import (  # noqa: E402
    bench_audio,
    bench_batch,
    bench_c2pa,
    bench_cli,
    bench_image_label,
    bench_ocr,
    bench_text,
    bench_video,
    bench_watermark,
)

BENCHMARKS = ("label", "watermark", "c2pa", "audio", "video", "text", "batch", "ocr", "cli")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="synthmark beside its peers. Default: 10-13 minutes on 2 cores; --quick: 2-3.",
    )
    parser.add_argument("--only", choices=BENCHMARKS, help="run one benchmark (default: all)")
    parser.add_argument("--quick", action="store_true", help="4 photos, the issue's transformations, 20 keys, 3 runs")
    parser.add_argument("--photos", type=int, help="watermark: use the first N of the 14 corpus photos")
    parser.add_argument("--keys", type=int, help="watermark: random keys of the false-positive test (default 100)")
    parser.add_argument("--no-peers", action="store_true", help="watermark: synthmark alone")
    parser.add_argument(
        "--slow-peer-photos",
        type=int,
        help="watermark: photos for a peer over 1 s per decode (blind-watermark; default: all photos)",
    )
    parser.add_argument("--jobs", type=int, help="watermark: processes for the robustness part (default: one per core)")
    parser.add_argument("--repeat", type=int, help="timed runs per case, median reported (label 15, watermark 7)")
    parser.add_argument("--markdown", type=Path, help="watermark: also write its tables as Markdown to FILE")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    started = time.perf_counter()

    if args.only in (None, "label"):
        bench_image_label.main(repeat=args.repeat or (5 if args.quick else 15))
    if args.only in (None, "watermark"):
        options = bench_watermark.Options.quick() if args.quick else bench_watermark.Options()
        changes: dict[str, Any] = {"peers": not args.no_peers}
        for name in ("photos", "keys", "slow_peer_photos", "repeat", "jobs"):
            if getattr(args, name) is not None:
                changes[name] = getattr(args, name)
        bench_watermark.main(dataclasses.replace(options, **changes), markdown=args.markdown)
    if args.only in (None, "c2pa"):
        bench_c2pa.main(repeat=10 if args.quick else 30)
    if args.only in (None, "audio"):
        bench_audio.main(repeat=2 if args.quick else 5, keys=1 if args.quick else 2)
    if args.only in (None, "video"):
        bench_video.main(repeat=1 if args.quick else 3, clips=2 if args.quick else 10, keys=20 if args.quick else 100)
    if args.only in (None, "text"):
        bench_text.main(quick=args.quick)
    if args.only in (None, "batch"):
        bench_batch.main(quick=args.quick)
    if args.only in (None, "ocr"):
        bench_ocr.main(quick=args.quick, repeat=args.repeat or 7)
    if args.only in (None, "cli"):
        bench_cli.main(repeat=args.repeat or (5 if args.quick else 15))
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
