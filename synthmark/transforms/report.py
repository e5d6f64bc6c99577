"""Run the image suite against a marked image: per-transformation detection, bit accuracy and
pilot strength, the mark's quality, and a PNG chart. Backs ``synthmark robustness``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synthmark.image.visible import bundled_font_path
from synthmark.image.watermark import detect_watermark
from synthmark.keys import WatermarkKey
from synthmark.payload import ID_BITS
from synthmark.transforms.image import IMAGE_SUITE
from synthmark.transforms.quality import psnr, ssim

__all__ = [
    "Outcome",
    "RobustnessReport",
    "evaluate_audio",
    "evaluate_file",
    "evaluate_image",
    "evaluate_video",
    "render_chart",
]


@dataclass(frozen=True)
class Outcome:
    """One transformation: ``detected`` (exact payload found), ``bit_accuracy`` of the decoded
    64-bit id in [0, 1], the pilot's z-score, the attacked size (``"1920x1080"`` or
    ``"30.0 s @ 44100 Hz"``) and the detection time."""

    name: str
    detected: bool
    bit_accuracy: float
    pilot_z: float
    size: str
    seconds: float


@dataclass(frozen=True)
class RobustnessReport:
    """Every outcome, plus quality against the unmarked original when one was given."""

    payload: int
    key_id: str
    outcomes: list[Outcome]
    psnr: float | None = None
    ssim: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def survived(self) -> int:
        return sum(o.detected for o in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "payload": f"{self.payload:016x}",
            "key_id": self.key_id,
            "psnr": self.psnr,
            "ssim": self.ssim,
            "snr": self.extra.get("snr"),
            "survived": self.survived,
            "transformations": [
                {
                    "name": o.name,
                    "detected": o.detected,
                    "bit_accuracy": round(o.bit_accuracy, 4),
                    "pilot_z": round(o.pilot_z, 2),
                    "size": o.size,
                    "seconds": round(o.seconds, 4),
                }
                for o in self.outcomes
            ],
        }


def evaluate_image(
    marked: np.ndarray,
    key: WatermarkKey,
    payload: int,
    *,
    original: np.ndarray | None = None,
    names: list[str] | None = None,
    seed: int = 0,
) -> RobustnessReport:
    """Apply each transformation of the suite (or ``names``) to ``marked`` (H x W x 3 uint8 RGB)
    and look for ``payload`` with ``key``; ``seed`` fixes the random transformations."""
    outcomes = []
    for index, name in enumerate(names or list(IMAGE_SUITE)):
        attacked = IMAGE_SUITE[name](marked, np.random.default_rng([seed, index]))
        start = time.perf_counter()
        report = detect_watermark(attacked, key)
        size = f"{attacked.shape[1]}x{attacked.shape[0]}"
        outcomes.append(_outcome(name, report, payload, size, time.perf_counter() - start))
    quality = (None, None) if original is None else (psnr(original, marked), ssim(original, marked))
    return RobustnessReport(payload, key.key_id, outcomes, *quality)


def check_names(names: list[str] | None, suite: dict[str, Any]) -> None:
    """Refuse (:class:`~synthmark.errors.SynthmarkError`) names that are not in ``suite``."""
    from synthmark.errors import SynthmarkError

    unknown = [name for name in names or () if name not in suite]
    if unknown:
        raise SynthmarkError(f"unknown transformation(s) {', '.join(unknown)}", fix=f"use: {' '.join(suite)}")


def payload_to_embed(label: Any) -> int:
    """The payload for ``--embed``: the content id of the file's metadata label, else random."""
    import secrets

    from synthmark.payload import content_id

    return content_id(label.produce_id) if label else secrets.randbits(64)


def no_mark(key: WatermarkKey, path: str | os.PathLike[str], what: str = "watermark") -> Exception:
    """The error for a file that carries no mark made with ``key`` (run with ``--embed``)."""
    from synthmark.errors import WatermarkError

    return WatermarkError(f"no {what} made with key {key.key_id}", path=path, fix="pass --embed to mark a copy first")


def _outcome(name: str, report: Any, payload: int, size: str, seconds: float) -> Outcome:
    wrong = ID_BITS / 2 if report.raw_id is None else bin(report.raw_id ^ payload).count("1")
    detected = bool(report.found and report.content_id == payload)
    return Outcome(name, detected, 1.0 - wrong / ID_BITS, float(report.pilot_z), size, seconds)


def evaluate_audio(
    marked: np.ndarray,
    sample_rate: int,
    key: WatermarkKey,
    payload: int,
    *,
    original: np.ndarray | None = None,
    names: list[str] | None = None,
    seed: int = 0,
) -> RobustnessReport:
    """The audio suite against ``marked`` ((n, channels) float32 at ``sample_rate``); quality
    is the SNR (dB) against ``original``, reported in the ``psnr`` field's place as ``snr``."""
    from synthmark.audio.watermark import detect_watermark as detect_audio
    from synthmark.transforms.audio import AUDIO_SUITE, snr_db

    outcomes = []
    for index, name in enumerate(names or list(AUDIO_SUITE)):
        attacked, rate = AUDIO_SUITE[name](marked, sample_rate, np.random.default_rng([seed, index]))
        start = time.perf_counter()
        report = detect_audio(attacked, rate, key, speed_search=True)  # as verify does
        size = f"{len(attacked) / rate:.1f} s @ {rate} Hz"
        outcomes.append(_outcome(name, report, payload, size, time.perf_counter() - start))
    extra = {} if original is None else {"snr": snr_db(original, marked)}
    return RobustnessReport(payload, key.key_id, outcomes, extra=extra)


def evaluate_video(
    marked: str | os.PathLike[str],
    key: WatermarkKey,
    payload: int,
    *,
    names: list[str] | None = None,
    seed: int = 0,
    psnr_db: float | None = None,
) -> RobustnessReport:
    """The video suite against the marked video file ``marked`` (each transformation writes a
    temporary file; detection samples 12 frames of it). ``psnr_db`` is the per-frame PSNR of the
    mark, when known, reported as ``psnr``."""
    import tempfile
    from pathlib import Path

    from synthmark.transforms.video import VIDEO_SUITE, output_suffix, transform_file
    from synthmark.video import find_watermark
    from synthmark.video._io import probe

    outcomes = []
    with tempfile.TemporaryDirectory(prefix="synthmark-robustness-") as folder:
        for index, name in enumerate(names or list(VIDEO_SUITE)):
            attacked = Path(folder) / f"{index}{output_suffix(name)}"
            transform_file(name, marked, attacked, rng=np.random.default_rng([seed, index]))
            start = time.perf_counter()
            report = find_watermark(attacked, [key])
            info = probe(attacked)
            size = f"{info.width}x{info.height}, {info.duration or 0:.1f} s"
            outcomes.append(_outcome(name, report, payload, size, time.perf_counter() - start))
    return RobustnessReport(payload, key.key_id, outcomes, psnr=psnr_db)


def _evaluate_video_file(
    path: str | os.PathLike[str], key: WatermarkKey, *, embed: bool, names: list[str] | None, seed: int
) -> RobustnessReport:
    """:func:`evaluate_file` for a video: with ``embed`` a marked copy is written to a temporary
    file first (no visible label), and the per-frame PSNR is the median over 12 sampled frames."""
    import tempfile
    from pathlib import Path

    from synthmark import video
    from synthmark.payload import Mark
    from synthmark.transforms.video import VIDEO_SUITE
    from synthmark.video._io import iter_frames

    check_names(names, VIDEO_SUITE)
    if not embed:
        found = video.find_watermark(path, [key])
        if not found.found or found.content_id is None:
            raise no_mark(key, path)
        return evaluate_video(path, key, found.content_id, names=names, seed=seed)
    payload = payload_to_embed(video.read_metadata(path).label)
    marker = video.FrameWatermarker(key, payload)
    frames = [f.image for f in iter_frames(path, every_n=10, max_frames=12)]
    quality = float(np.median([psnr(frame, marker.mark(frame)) for frame in frames]))
    with tempfile.TemporaryDirectory(prefix="synthmark-robustness-") as folder:
        marked = Path(folder) / f"marked{Path(path).suffix.lower()}"
        video.label_video(path, marked, visible=None, mark=Mark(key, payload))
        return evaluate_video(marked, key, payload, names=names, seed=seed, psnr_db=quality)


def render_chart(report: RobustnessReport, path: str | os.PathLike[str]) -> None:
    """A PNG bar chart: bit accuracy per transformation, green where the payload was exact."""
    row, left, width = 26, 150, 520
    height = row * (len(report.outcomes) + 2)
    chart = Image.new("RGB", (left + width + 90, height), "white")
    draw = ImageDraw.Draw(chart)
    font = ImageFont.truetype(bundled_font_path(), 14)
    title = f"synthmark robustness: payload {report.payload:016x}, {report.survived}/{len(report.outcomes)} exact"
    if report.psnr is not None and report.ssim is not None:
        title += f", PSNR {report.psnr:.1f} dB, SSIM {report.ssim:.3f}"
    draw.text((8, 6), title, fill="black", font=font)
    for i, outcome in enumerate(report.outcomes):
        y = row * (i + 1) + 6
        draw.text((8, y), outcome.name, fill="black", font=font)
        bar = int(width * outcome.bit_accuracy)
        draw.rectangle((left, y, left + bar, y + row - 8), fill="#2e8b57" if outcome.detected else "#c0392b")
        draw.line((left + width // 2, y, left + width // 2, y + row - 8), fill="#888888")  # chance level
        draw.text((left + width + 8, y), f"{outcome.bit_accuracy:.0%}", fill="black", font=font)
    chart.save(path, "PNG")


def _rgb8(pixels: np.ndarray) -> np.ndarray:
    """Decoded pixels as H x W x 3 uint8 RGB, what the image suite works on."""
    if pixels.dtype == np.uint16:
        pixels = (pixels // 257).astype(np.uint8)
    planes = pixels.reshape(*pixels.shape[:2], -1)
    return np.ascontiguousarray(planes[..., :3] if planes.shape[2] >= 3 else np.repeat(planes[..., :1], 3, axis=2))


def evaluate_file(
    path: str | os.PathLike[str],
    key: WatermarkKey,
    *,
    embed: bool = False,
    original: str | os.PathLike[str] | None = None,
    names: list[str] | None = None,
    seed: int = 0,
) -> RobustnessReport:
    """Run the suite of the file's modality against the mark in ``path`` (the modality's
    ``evaluate_robustness`` verb, found through the format registry).

    With ``embed`` the file is taken as unmarked: a copy is marked in memory (payload from its
    metadata label's ProduceID, else random) and quality is measured against the file; else the
    payload is the one found with ``key`` (:class:`~synthmark.errors.WatermarkError` when there
    is none), and quality is measured against ``original`` when given (not for video).
    """
    import importlib

    from synthmark.formats import read_bytes, sniff

    modality = importlib.import_module(f"synthmark.{sniff(read_bytes(path), path=path).modality}")
    report: RobustnessReport = modality.evaluate_robustness(
        path, key, embed=embed, original=original, names=names, seed=seed
    )
    return report


@dataclass(frozen=True)
class _ArraySuite:
    """What :func:`_evaluate_array_file` needs of a modality whose content is one array."""

    read: Callable[[str | os.PathLike[str]], tuple[np.ndarray, int]]  # content and sample rate (0)
    detect: Callable[[np.ndarray, int, WatermarkKey], Any]
    embed: Callable[[np.ndarray, int, WatermarkKey, int], np.ndarray]
    evaluate: Callable[..., RobustnessReport]
    suite: Any
    read_metadata: Callable[[str | os.PathLike[str]], Any]


def _evaluate_array_file(
    suite: _ArraySuite,
    path: str | os.PathLike[str],
    key: WatermarkKey,
    *,
    embed: bool,
    original: str | os.PathLike[str] | None,
    names: list[str] | None,
    seed: int,
) -> RobustnessReport:
    from synthmark.errors import SynthmarkError

    check_names(names, suite.suite)
    content, rate = suite.read(path)
    reference = None if original is None else suite.read(original)[0]
    found = suite.detect(content, rate, key)
    if embed:
        payload = payload_to_embed(suite.read_metadata(path).label)
        reference = content
        marked = suite.embed(content, rate, key, payload)
    elif found.found and found.content_id is not None:
        payload, marked = found.content_id, content
    else:
        raise no_mark(key, path)
    if reference is not None and reference.shape != marked.shape:
        raise SynthmarkError("the original's size differs from the file's", path=original, fix="pass its original")
    return suite.evaluate(marked, key, payload, rate=rate, original=reference, names=names, seed=seed)


def evaluate_image_file(path: str | os.PathLike[str], key: WatermarkKey, **options: Any) -> RobustnessReport:
    """:func:`evaluate_file` for an image (options as there)."""
    from synthmark import image

    suite = _ArraySuite(
        read=lambda p: (_rgb8(image.read_pixels(p)), 0),
        detect=lambda content, _, k: detect_watermark(content, k),
        embed=lambda content, _, k, payload: image.embed_watermark(content, k, payload),
        evaluate=lambda marked, k, payload, rate, **rest: evaluate_image(marked, k, payload, **rest),
        suite=IMAGE_SUITE,
        read_metadata=image.read_metadata,
    )
    return _evaluate_array_file(suite, path, key, **options)


def evaluate_audio_file(path: str | os.PathLike[str], key: WatermarkKey, **options: Any) -> RobustnessReport:
    """:func:`evaluate_file` for a recording (options as there)."""
    from synthmark import audio
    from synthmark.transforms.audio import AUDIO_SUITE

    suite = _ArraySuite(
        read=audio.read_samples,
        detect=audio.detect_watermark,
        embed=audio.embed_watermark,
        evaluate=lambda marked, k, payload, rate, **rest: evaluate_audio(marked, rate, k, payload, **rest),
        suite=AUDIO_SUITE,
        read_metadata=audio.read_metadata,
    )
    return _evaluate_array_file(suite, path, key, **options)


def evaluate_video_file(
    path: str | os.PathLike[str], key: WatermarkKey, *, original: str | os.PathLike[str] | None = None, **options: Any
) -> RobustnessReport:
    """:func:`evaluate_file` for a video (``original`` is not used: quality is measured on the
    frames the suite reads)."""
    return _evaluate_video_file(path, key, **options)
