"""The invisible image watermark beside its peers, on the real 1920×1080 photo corpus.

``python -m benchmarks --only watermark`` (``--quick`` for a three-minute version). One run measures
every method on the same photos and the same attacks:

* **speed**: embed and detect medians on one core (OpenCV and BLAS limited to one thread) at
  512×512 and 1920×1080 (``fixtures/images/photo1080p.jpg``, centre-cropped and resized for
  512×512), plus detection on the unmarked photo (what a platform scanning uploads pays);
* **robustness**: every transformation of :data:`synthmark.transforms.IMAGE_SUITE` on every photo
  (``fixtures/photos/*.jpg`` and ``photo1080p.jpg``): bit accuracy (decoded bits equal to the
  embedded ones, over each method's own payload size) and detection (the exact payload
  recovered; for synthmark also ``found``, i.e. the keyed MAC checked). A transformation with a
  random part gets the same seed for every method;
* **quality**: PSNR and SSIM of the marked photo against the unmarked one;
* **false positives**: synthmark's detector on unmarked photos (and JPEG/screenshot copies of
  them) against many fresh random keys.

Fairness rules, kept here so the numbers can be checked:

* synthmark carries 64 payload bits (and a MAC), each peer the 32 bits of the issue's table;
* peers get attacked images the way their own documentation decodes them
  (:meth:`benchmarks.peers.Peer.decode_attacked`): blind-watermark resized back to the original
  size, the others as they are; synthmark never gets the original size;
* a peer whose 1080p decode takes over a second (blind-watermark) can be limited to the first
  ``slow_peer_photos`` photos; every table says how many photos each method used;
* timings include each wrapper's RGB↔BGR copies (a few ms at 1080p) and nothing else.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

import synthmark
from benchmarks.peers import Peer, PeerError, available_peers
from synthmark.errors import SynthmarkError
from synthmark.image.watermark import PILOT_GATE, detect_watermark, embed_watermark
from synthmark.keys import KEY_BYTES, WatermarkKey, generate_key
from synthmark.transforms import IMAGE_SUITE, psnr, ssim

__all__ = ["Options", "Table", "main", "run"]

RGB = npt.NDArray[np.uint8]
Bits = npt.NDArray[np.uint8]

ROOT = Path(__file__).resolve().parent.parent
PHOTO_DIR = ROOT / "fixtures" / "photos"
#: The photo the timings use; also the last photo of the robustness corpus.
TIMING_PHOTO = ROOT / "fixtures" / "images" / "photo1080p.jpg"
SMALL_SIDE = 512

#: synthmark's payload size, bits (a 64-bit content id).
SYNTHMARK_BITS = 64
#: The issue's comparison table: column title -> transformation.
ISSUE_COLUMNS = (
    ("JPEG 50", "jpeg50"),
    ("resize 75 %", "resize75"),
    ("crop 50 %", "crop50-center"),
    ("rotate 5°", "rotate5"),
    ("screenshot", "screenshot"),
)
#: Transformations whose exact payload must come back on >= TARGET_DETECTION of the photos.
REQUIRED = frozenset(IMAGE_SUITE) - {"flip"}
STRETCH = frozenset({"flip"})
QUICK_TRANSFORMS = ("identity", "jpeg50", "resize75", "crop50-center", "rotate5", "screenshot", "social")
#: Unmarked copies the false-positive test adds to each original photo.
FP_VARIANTS = ("jpeg75", "screenshot")

TARGET_PSNR = 40.0
TARGET_SSIM = 0.98
TARGET_DETECTION = 0.95
TARGET_EMBED_MS = 20.0
TARGET_DETECT_MS = 60.0
TARGET_SPEEDUP = 5.0
SPEEDUP_PEER = "invisible-watermark dwtDctSvd"
#: A peer slower than this per 1080p decode counts as slow (limited by ``slow_peer_photos``).
SLOW_DECODE_MS = 1000.0
#: A timed call slower than this is timed 3 times after 1 warm-up, whatever ``repeat`` says.
SLOW_CALL_S = 1.0


@dataclass(frozen=True)
class Options:
    """What one run measures.

    ``photos``: how many corpus photos (None: all 14); ``transforms``: names from
    ``IMAGE_SUITE``; ``keys``: random keys of the false-positive test; ``repeat``/``warmup``:
    timed and untimed runs per timing; ``peers``: compare the peer packages;
    ``slow_peer_photos``: photos for a peer slower than a second per decode (None: as many as
    the others); ``seed``: payloads, the marking key and the random transformations; ``jobs``:
    processes for the robustness part (default: one per core; the timings always use one).
    """

    photos: int | None = None
    transforms: tuple[str, ...] = tuple(IMAGE_SUITE)
    keys: int = 100
    repeat: int = 7
    warmup: int = 2
    peers: bool = True
    slow_peer_photos: int | None = None
    seed: int = 20250901
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)

    @classmethod
    def quick(cls) -> Options:
        """Two to three minutes on two cores: 4 photos, the issue's columns, 20 keys, 3 timed runs."""
        return cls(photos=4, transforms=QUICK_TRANSFORMS, keys=20, repeat=3, warmup=1)


# --- tables --------------------------------------------------------------------------------------


@dataclass
class Table:
    """A titled table of strings, printed as aligned text or written as Markdown."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        widths = [max(len(row[i]) for row in (self.header, *self.rows)) for i in range(len(self.header))]

        def line(cells: Sequence[str]) -> str:
            return "  " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

        out = [self.title, line(self.header), "  " + "-+-".join("-" * width for width in widths)]
        out += [line(row) for row in self.rows]
        out += [f"  {note}" for note in self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

        out = [f"### {self.title}", "", line(self.header), "|" + "---|" * len(self.header)]
        out += [line(row) for row in self.rows]
        if self.notes:
            out += ["", *(f"* {note}" for note in self.notes)]
        return "\n".join(out)


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _pct(value: float, decimals: int = 0) -> str:
    return f"{100 * value:.{decimals}f}%"


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "short"


# --- methods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """What a method read from an attacked image.

    ``bits``: the decoded payload bits (None: nothing could be read); ``found``: the method's own
    verdict (synthmark's keyed check), None for a peer, which has no detector.
    """

    bits: Bits | None
    found: bool | None


@dataclass(frozen=True)
class Method:
    """synthmark or a peer behind one interface: embed bits, read them back from an attacked image."""

    name: str
    bits: int
    embed: Callable[[RGB, Bits], RGB]
    read: Callable[[RGB, tuple[int, ...]], Reading]
    #: Detection alone on an unmarked image, for the timings.
    detect: Callable[[RGB], object]


def _int_to_bits(value: int, count: int) -> Bits:
    return np.array([(value >> (count - 1 - i)) & 1 for i in range(count)], dtype=np.uint8)


def _bits_to_int(bits: Bits) -> int:
    return int("".join(str(int(b)) for b in bits), 2)


def _synthmark_method(key: WatermarkKey) -> Method:
    def embed(image: RGB, bits: Bits) -> RGB:
        marked: RGB = embed_watermark(image, key, _bits_to_int(bits))
        return marked

    def read(image: RGB, original_shape: tuple[int, ...]) -> Reading:
        report = detect_watermark(image, key)  # never told the original size
        best = report.content_id if report.found else report.raw_id
        return Reading(None if best is None else _int_to_bits(best, SYNTHMARK_BITS), report.found)

    return Method("synthmark", SYNTHMARK_BITS, embed, read, lambda image: detect_watermark(image, key))


def _peer_method(peer: Peer) -> Method:
    def read(image: RGB, original_shape: tuple[int, ...]) -> Reading:
        try:
            return Reading(peer.decode_attacked(image, original_shape), None)
        except PeerError:  # e.g. under the package's minimum size: nothing read
            return Reading(None, None)

    return Method(peer.name, peer.bits, peer.embed, read, peer.decode)


# --- photos and timing -------------------------------------------------------------------------------


def corpus() -> list[Path]:
    """The robustness photos: ``fixtures/photos/*.jpg`` (sorted) and then ``photo1080p.jpg``."""
    return [*sorted(PHOTO_DIR.glob("*.jpg")), TIMING_PHOTO]


def _load(path: Path) -> RGB:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _small(image: RGB) -> RGB:
    """Centre square crop, resized (area) to SMALL_SIDE²."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top : top + side, left : left + side]
    return np.asarray(cv2.resize(square, (SMALL_SIDE, SMALL_SIDE), interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _median_ms(func: Callable[[], object], *, repeat: int, warmup: int) -> tuple[float, int]:
    """Median ms of ``func()`` and the number of timed runs (3 after 1 warm-up for slow calls)."""
    start = time.perf_counter()
    func()  # the first warm-up
    if time.perf_counter() - start > SLOW_CALL_S:
        repeat, warmup = min(repeat, 3), 1
    for _ in range(warmup - 1):
        func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), repeat


@dataclass
class Speed:
    """Median ms per case (``embed 1080p``, ``detect 512²``, ...) and timed runs per case."""

    ms: dict[str, float] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)


TIMING_CASES = ("embed 512²", "detect 512²", "embed 1080p", "detect 1080p", "detect 1080p unmarked")


def time_method(method: Method, photo: RGB, options: Options, rng: np.random.Generator) -> Speed:
    speed = Speed()
    for size, image in (("512²", _small(photo)), ("1080p", photo)):
        bits = rng.integers(0, 2, method.bits, dtype=np.uint8)
        marked = method.embed(image, bits)
        cases: list[tuple[str, Callable[[], object]]] = [
            (f"embed {size}", functools.partial(method.embed, image, bits)),
            (f"detect {size}", functools.partial(method.detect, marked)),
        ]
        if size == "1080p":
            cases.append(("detect 1080p unmarked", functools.partial(method.detect, image)))
        for case, func in cases:
            speed.ms[case], speed.runs[case] = _median_ms(func, repeat=options.repeat, warmup=options.warmup)
    return speed


# --- robustness ----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Per-photo results of one method under one transformation."""

    bit_accuracy: list[float] = field(default_factory=list)
    detected: list[bool] = field(default_factory=list)
    #: The method said "found" with a payload other than the embedded one.
    wrong: int = 0

    def add(self, reading: Reading, truth: Bits) -> None:
        if reading.bits is None:
            self.bit_accuracy.append(0.5)
            self.detected.append(False)
            return
        exact = bool(np.array_equal(reading.bits, truth))
        self.bit_accuracy.append(float(np.mean(reading.bits == truth)))
        self.detected.append(exact and reading.found is not False)
        self.wrong += int(reading.found is True and not exact)

    @property
    def bits(self) -> float:
        return statistics.fmean(self.bit_accuracy)

    @property
    def detection(self) -> float:
        return statistics.fmean(self.detected)


@dataclass
class MethodResults:
    photos: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)
    ssim: list[float] = field(default_factory=list)
    tallies: dict[str, Tally] = field(default_factory=dict)

    def merge(self, other: MethodResults) -> None:
        """Append ``other``'s photos (results of the same method on more photos)."""
        self.photos += other.photos
        self.refused += other.refused
        self.psnr += other.psnr
        self.ssim += other.ssim
        for name, tally in other.tallies.items():
            mine = self.tallies.setdefault(name, Tally())
            mine.bit_accuracy += tally.bit_accuracy
            mine.detected += tally.detected
            mine.wrong += tally.wrong

    def chance_level(self, tally: Tally, bits: int) -> bool:
        """No exact payload and bit accuracy within 3 σ of coin flips."""
        if tally.detection > 0:
            return False
        sigma = math.sqrt(0.25 / (bits * max(1, len(tally.bit_accuracy))))
        return tally.bits < 0.5 + 3 * sigma


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _photo(
    methods: list[Method], photos: list[Path], limits: dict[str, int], options: Options, photo_index: int
) -> dict[str, MethodResults]:
    """One photo: mark it with every method, attack it with every transformation, read it back."""
    path = photos[photo_index]
    original = _load(path)
    suite_index = {name: index for index, name in enumerate(IMAGE_SUITE)}
    results: dict[str, MethodResults] = {}
    marked: dict[str, tuple[RGB, Bits]] = {}
    for method in methods:
        if photo_index >= limits.get(method.name, len(photos)):
            continue
        truth = np.random.default_rng([options.seed, photo_index, method.bits]).integers(
            0, 2, method.bits, dtype=np.uint8
        )
        result = results[method.name] = MethodResults(photos=[path.name])
        try:
            image = method.embed(original, truth)
        except (SynthmarkError, PeerError) as exc:  # a refusal (e.g. too flat) fails every attack
            result.refused.append(f"{path.name}: {exc}")
            for name in options.transforms:
                result.tallies.setdefault(name, Tally()).add(Reading(None, False), truth)
            continue
        marked[method.name] = (image, truth)
        result.psnr.append(psnr(original, image))
        result.ssim.append(ssim(original, image))
    for name in options.transforms:
        transform = IMAGE_SUITE[name]
        for method_name, (image, truth) in marked.items():
            method = next(m for m in methods if m.name == method_name)
            # the same seed for every method: each sees the same crop window, noise and sticker
            attacked = transform(image, np.random.default_rng([options.seed, photo_index, suite_index[name]]))
            reading = method.read(attacked, image.shape)
            results[method_name].tallies.setdefault(name, Tally()).add(reading, truth)
    return results


#: What the worker processes of :func:`robustness` run; set before they fork (closures do not pickle).
_JOB: tuple[list[Method], list[Path], dict[str, int], Options] | None = None


def _photo_job(photo_index: int) -> tuple[dict[str, MethodResults], float]:
    if _JOB is None:
        raise RuntimeError("_photo_job runs only inside robustness()")
    start = time.perf_counter()
    return _photo(*_JOB, photo_index), time.perf_counter() - start


def robustness(
    methods: list[Method], photos: list[Path], limits: dict[str, int], options: Options
) -> dict[str, MethodResults]:
    """Every photo × every method × every transformation; photos spread over ``options.jobs`` processes.

    The results do not depend on the number of processes (every seed is per photo); only the
    timings elsewhere are single-core.
    """
    global _JOB
    _JOB = (methods, photos, limits, options)
    results = {method.name: MethodResults() for method in methods}
    parallel = options.jobs > 1 and len(photos) > 1 and "fork" in multiprocessing.get_all_start_methods()
    try:
        if parallel:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=options.jobs, mp_context=context) as pool:
                done = list(_report(pool.map(_photo_job, range(len(photos))), photos))
        else:
            done = list(_report(map(_photo_job, range(len(photos))), photos))
    finally:
        _JOB = None
    for photo_results in done:
        for name, result in photo_results.items():
            results[name].merge(result)
    return results


def _report(
    jobs: Iterable[tuple[dict[str, MethodResults], float]], photos: list[Path]
) -> Iterator[dict[str, MethodResults]]:
    for index, (photo_results, seconds) in enumerate(jobs):
        _progress(f"  [{index + 1}/{len(photos)}] {photos[index].name}: {len(photo_results)} methods, {seconds:.1f} s")
        yield photo_results


# --- false positives -----------------------------------------------------------------------------------


@dataclass
class FalsePositives:
    rows: list[tuple[str, int, int]] = field(default_factory=list)  # variant, files, detections
    keys: int = 0
    max_pilot_z: float = 0.0
    max_pilot_file: str = ""
    seconds: float = 0.0

    @property
    def files(self) -> int:
        return sum(files for _, files, _ in self.rows)

    @property
    def detections(self) -> int:
        return sum(found for _, _, found in self.rows)


def _detections(image: RGB, keys: list[WatermarkKey]) -> tuple[int, float]:
    """(file, key) pairs that detect, over all ``keys``; and the strongest pilot z-score seen."""
    found, max_z, remaining = 0, 0.0, keys
    while remaining:
        report = detect_watermark(image, remaining)  # one analysis, every key tried on it
        max_z = max(max_z, report.pilot_z)
        if not report.found:
            break
        found += 1
        hit = next(i for i, key in enumerate(remaining) if key.key_id == report.key_id)
        remaining = remaining[hit + 1 :]
    return found, max_z


def false_positives(photos: list[Path], options: Options) -> FalsePositives:
    start = time.perf_counter()
    keys = [generate_key() for _ in range(options.keys)]
    result = FalsePositives(keys=len(keys))
    counts = {variant: [0, 0] for variant in ("original", *FP_VARIANTS)}
    for index, path in enumerate(photos):
        original = _load(path)
        for variant in counts:
            image = original if variant == "original" else IMAGE_SUITE[variant](original, np.random.default_rng(index))
            found, z = _detections(image, keys)
            counts[variant][0] += 1
            counts[variant][1] += found
            if z > result.max_pilot_z:
                result.max_pilot_z, result.max_pilot_file = z, f"{path.name} ({variant})"
    result.rows = [(variant, files, found) for variant, (files, found) in counts.items()]
    result.seconds = time.perf_counter() - start
    return result


# --- report ----------------------------------------------------------------------------------------------


def _label(method: Method) -> str:
    return f"{method.name} ({method.bits} bits)"


def _cell(tally: Tally | None) -> str:
    return "—" if tally is None else f"{_pct(tally.bits, 1)} / {_pct(tally.detection)}"


def _issue_cell(result: MethodResults, tally: Tally | None, bits: int) -> str:
    if tally is None:
        return "not run"
    if result.chance_level(tally, bits):
        return f"fails ({_pct(tally.bits)} bits)"
    return f"{_pct(tally.bits)} / {_pct(tally.detection)}"


def comparison_table(
    methods: list[Method], speeds: dict[str, Speed], results: dict[str, MethodResults], photos: int
) -> Table:
    base = speeds[methods[0].name].ms
    table = Table(
        f"Where the field stands (measured here, {os.cpu_count()} cores, single-threaded timings, "
        f"{photos} real 1920×1080 photos)",
        ("package", "embed / detect 1080p", "vs synthmark", "PSNR", *(title for title, _ in ISSUE_COLUMNS), "photos"),
    )
    for method in methods:
        ms = speeds[method.name].ms
        result = results[method.name]
        embed, detect = (_times(ms[case] / base[case]) for case in ("embed 1080p", "detect 1080p"))
        ratio = "—" if method is methods[0] else f"{embed} / {detect}"
        table.rows.append(
            (
                _label(method),
                f"{ms['embed 1080p']:.0f} / {ms['detect 1080p']:.0f} ms",
                ratio,
                f"{statistics.fmean(result.psnr):.1f} dB" if result.psnr else "—",
                *(_issue_cell(result, result.tallies.get(name), method.bits) for _, name in ISSUE_COLUMNS),
                str(len(result.photos)),
            )
        )
    for case in ("embed 1080p", "detect 1080p"):
        faster = [
            f"{_times(speeds[m.name].ms[case] / base[case])} faster than {m.name}"
            for m in methods[1:]
            if speeds[m.name].ms[case] >= base[case]
        ]
        slower = [
            f"{_times(base[case] / speeds[m.name].ms[case])} slower than {m.name}"
            for m in methods[1:]
            if speeds[m.name].ms[case] < base[case]
        ]
        table.notes.append(f"synthmark {case}: {_ms(base[case])} ({', '.join(faster + slower) or 'no peers'})")
    table.notes += [
        "vs synthmark: the peer's embed / detect time divided by synthmark's (above 1× = synthmark faster).",
        "Cells: bit accuracy / exact payload recovered, mean over the photos. 'fails (N % bits)': no photo "
        "recovered and bit accuracy within 3 σ of coin flips. crop 50 % = crop50-center.",
    ]
    return table


def timing_table(methods: list[Method], speeds: dict[str, Speed], options: Options) -> Table:
    base = speeds[methods[0].name].ms
    table = Table(
        "Speed, one core: median ms (× synthmark's time)",
        ("method", *TIMING_CASES),
    )
    for method in methods:
        speed = speeds[method.name]
        cells = [
            _ms(speed.ms[case])
            if method is methods[0]
            else f"{_ms(speed.ms[case])} ({_times(speed.ms[case] / base[case])})"
            for case in TIMING_CASES
        ]
        table.rows.append((_label(method), *cells))
    slow = sorted({m.name for m in methods if min(speeds[m.name].runs.values()) < options.repeat})
    table.notes.append(
        f"{TIMING_PHOTO.name}; 512² = its centre square resized. Median of {options.repeat} runs after "
        f"{options.warmup} warm-up{'s' if options.warmup != 1 else ''}"
        + (f"; calls over {SLOW_CALL_S} s ({', '.join(slow)} at 1080p): median of 3 after 1" if slow else "")
        + ". Detect on the marked image; 'unmarked' = on the original (a platform's common case)."
    )
    return table


def robustness_table(methods: list[Method], results: dict[str, MethodResults], options: Options) -> Table:
    first = methods[0].name
    table = Table(
        "Robustness: bit accuracy / exact payload recovered, per transformation",
        (
            "transformation",
            *(f"{_label(m)}, {len(results[m.name].photos)} photos" for m in methods),
            f"target: {first} exact ≥ {_pct(TARGET_DETECTION)}",
        ),
    )
    for name in options.transforms:
        tally = results[first].tallies.get(name)
        if tally is None:
            target = "—"
        elif name in STRETCH:
            target = f"stretch: {_verdict(tally.detection >= TARGET_DETECTION)}"
        else:
            target = _verdict(tally.detection >= TARGET_DETECTION)
        table.rows.append((name, *(_cell(results[m.name].tallies.get(name)) for m in methods), target))
    wrong = sum(t.wrong for t in results[first].tallies.values())
    table.notes.append(f"{first}: 'found' with a wrong payload {wrong} times.")
    peer_bits = sorted({m.bits for m in methods[1:]})
    if peer_bits:
        table.notes.append(f"Peers have no detector: their 'exact' = all {'/'.join(map(str, peer_bits))} bits right.")
    photos = results[first].photos
    misses = [
        f"{name}: {', '.join(photo for photo, hit in zip(photos, tally.detected, strict=True) if not hit)}"
        for name, tally in results[first].tallies.items()
        if not all(tally.detected)
    ]
    if misses:
        table.notes.append(f"{first} missed: " + "; ".join(misses) + ".")
    for method in methods:
        for refusal in results[method.name].refused:
            table.notes.append(f"{method.name} refused to embed {refusal} (counted as failed everywhere)")
    return table


def quality_table(methods: list[Method], results: dict[str, MethodResults]) -> Table:
    table = Table(
        f"Quality against the unmarked photo (target PSNR ≥ {TARGET_PSNR:.0f} dB and SSIM ≥ {TARGET_SSIM})",
        ("method", "photos", "PSNR mean", "PSNR min", "SSIM mean", "SSIM min", "photos meeting both"),
    )
    for method in methods:
        result = results[method.name]
        if not result.psnr:
            continue
        meeting = sum(p >= TARGET_PSNR and s >= TARGET_SSIM for p, s in zip(result.psnr, result.ssim, strict=True))
        verdict = _verdict(meeting == len(result.psnr))
        table.rows.append(
            (
                _label(method),
                str(len(result.psnr)),
                f"{statistics.fmean(result.psnr):.2f} dB",
                f"{min(result.psnr):.2f} dB",
                f"{statistics.fmean(result.ssim):.4f}",
                f"{min(result.ssim):.4f}",
                f"{meeting} of {len(result.psnr)} ({verdict})",
            )
        )
    return table


def fp_table(fp: FalsePositives) -> Table:
    table = Table(
        f"False positives: synthmark on unmarked photos × {fp.keys} random keys",
        ("files", "count", "file × key trials", "detections"),
    )
    for variant, files, found in fp.rows:
        table.rows.append((variant, str(files), f"{files * fp.keys:,}", str(found)))
    table.rows.append(("all", str(fp.files), f"{fp.files * fp.keys:,}", str(fp.detections)))
    table.notes.append(
        f"{fp.detections} detections in {fp.files * fp.keys:,} trials ({_verdict(fp.detections == 0)}: target zero); "
        f"strongest pilot z-score seen {fp.max_pilot_z:.2f}, on {fp.max_pilot_file} "
        f"(decoding is tried above {PILOT_GATE}; a detection also needs the keyed MAC); "
        f"{fp.seconds:.0f} s with all keys tried on one analysis per file."
    )
    return table


def targets_table(
    methods: list[Method], speeds: dict[str, Speed], results: dict[str, MethodResults], fp: FalsePositives
) -> Table:
    ms = speeds[methods[0].name].ms
    result = results[methods[0].name]
    table = Table("synthmark against the issue's targets", ("target", "measured", "verdict"))
    if result.psnr:
        table.rows.append(
            (
                f"PSNR ≥ {TARGET_PSNR:.0f} dB on every photo",
                f"min {min(result.psnr):.2f} dB",
                _verdict(min(result.psnr) >= TARGET_PSNR),
            )
        )
        table.rows.append(
            (
                f"SSIM ≥ {TARGET_SSIM} on every photo",
                f"min {min(result.ssim):.4f}",
                _verdict(min(result.ssim) >= TARGET_SSIM),
            )
        )
    required = [(name, t) for name, t in result.tallies.items() if name in REQUIRED]
    if required:
        short = [f"{name} {_pct(t.detection)}" for name, t in required if t.detection < TARGET_DETECTION]
        table.rows.append(
            (
                f"exact payload on ≥ {_pct(TARGET_DETECTION)} of photos, each of {len(required)} transformations",
                f"{len(required) - len(short)} of {len(required)}"
                + (f" (of {len(REQUIRED)} required: a partial run)" if len(required) < len(REQUIRED) else "")
                + (f"; short: {', '.join(short)}" if short else ""),
                _verdict(not short),
            )
        )
    for name, tally in result.tallies.items():
        if name in STRETCH:
            table.rows.append(
                (f"{name} (stretch goal)", _pct(tally.detection), _verdict(tally.detection >= TARGET_DETECTION))
            )
    table.rows.append(
        (
            f"zero false detections, ≥ 100 keys ({fp.keys} here)",
            f"{fp.detections} in {fp.files * fp.keys:,}",
            _verdict(fp.detections == 0) if fp.keys >= 100 else f"{_verdict(fp.detections == 0)} (too few keys)",
        )
    )
    table.rows.append(
        (
            f"embed 1080p ≤ {TARGET_EMBED_MS:.0f} ms, one core",
            _ms(ms["embed 1080p"]),
            _verdict(ms["embed 1080p"] <= TARGET_EMBED_MS),
        )
    )
    table.rows.append(
        (
            f"detect 1080p ≤ {TARGET_DETECT_MS:.0f} ms, one core",
            _ms(ms["detect 1080p"]),
            _verdict(ms["detect 1080p"] <= TARGET_DETECT_MS),
        )
    )
    if SPEEDUP_PEER in speeds:
        peer = speeds[SPEEDUP_PEER].ms
        for case in ("embed 1080p", "detect 1080p"):
            ratio = peer[case] / ms[case]
            table.rows.append(
                (
                    f"{case} ≥ {TARGET_SPEEDUP:.0f}× faster than dwtDctSvd",
                    _times(ratio),
                    _verdict(ratio >= TARGET_SPEEDUP),
                )
            )
    return table


# --- entry points ------------------------------------------------------------------------------------------


def _versions() -> str:
    try:
        git = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):  # not a checkout, or no git
        git = "unknown"
    parts = [f"synthmark {synthmark.__version__} (git {git})"]
    for package in ("invisible-watermark", "blind-watermark"):
        try:
            parts.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{package} not installed")
    parts += [f"numpy {np.__version__}", f"OpenCV {cv2.__version__}", f"Python {platform.python_version()}"]
    return ", ".join(parts)


def run(options: Options) -> list[Table]:
    """Measure everything ``options`` asks for and return the tables (progress goes to stderr)."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng(options.seed)
    key = WatermarkKey(rng.bytes(KEY_BYTES))  # seeded, so runs are reproducible
    methods = [_synthmark_method(key)]
    if options.peers:
        methods += [_peer_method(peer) for peer in available_peers()]
    photos = corpus()[: options.photos]
    started = time.perf_counter()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    _progress(f"timing {len(methods)} methods on {TIMING_PHOTO.name} ...")
    timing_photo = _load(TIMING_PHOTO)
    speeds = {method.name: time_method(method, timing_photo, options, rng) for method in methods}

    limit = len(photos) if options.slow_peer_photos is None else min(len(photos), options.slow_peer_photos)
    limits = {m.name: limit for m in methods[1:] if speeds[m.name].ms["detect 1080p"] > SLOW_DECODE_MS}
    _progress(f"robustness: {len(photos)} photos × {len(options.transforms)} transformations ...")
    results = robustness(methods, photos, limits, options)

    _progress(f"false positives: {len(photos) * (1 + len(FP_VARIANTS))} unmarked files × {options.keys} keys ...")
    fp = false_positives(photos, options)

    tables = [
        comparison_table(methods, speeds, results, len(photos)),
        timing_table(methods, speeds, options),
        robustness_table(methods, results, options),
        quality_table(methods, results),
        fp_table(fp),
        targets_table(methods, speeds, results, fp),
    ]
    threads = ", ".join(f"{var}={os.environ.get(var, 'unset')}" for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    tables[0].notes.append(
        f"{_versions()}; cv2 threads {cv2.getNumThreads()}, {threads}; load average {load:.1f} when the "
        f"timings began; run took {time.perf_counter() - started:.0f} s."
    )
    tables[2].notes.append(f"Photos spread over {options.jobs} processes (results do not depend on it).")
    if limit < len(photos) and limits:
        tables[0].notes.append(
            f"{', '.join(limits)}: over {SLOW_DECODE_MS / 1000:.0f} s per 1080p decode, so run on the first "
            f"{limit} of the {len(photos)} photos only (--slow-peer-photos)."
        )
    return tables


def main(options: Options | None = None, *, markdown: Path | None = None) -> list[Table]:
    """Run, print every table to stdout and, when ``markdown`` is given, write them there too."""
    options = options or Options()
    tables = run(options)
    print("\nsynthmark invisible image watermark benchmark")
    for table in tables:
        print()
        print(table.text())
    if markdown is not None:
        markdown.write_text("\n\n".join(table.markdown() for table in tables) + "\n", encoding="utf-8")
        print(f"\nMarkdown written to {markdown}")
    return tables
