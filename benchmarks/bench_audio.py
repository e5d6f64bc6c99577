"""The audio watermark on the bundled recordings: speed in x real time (one core, 44.1 kHz)
and the robustness table of the audio suite, with SNR.

No peer runs here: the Python-installable audio watermarks (AudioSeal, WavMark) need neural
network weights downloaded from a model hub at run time, which this project's machines cannot
reach, and audiowmark is a C++ program, not a Python package. They are therefore not compared.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from synthmark.audio._io import decode_audio
from synthmark.audio.watermark import detect_watermark, embed_watermark
from synthmark.keys import WatermarkKey
from synthmark.transforms.audio import AUDIO_SUITE, snr_db

AUDIO = Path(__file__).resolve().parent.parent / "fixtures" / "audio"
CLIPS = ("music_electronic.flac", "music_orchestral.flac", "speech_en_female.flac", "speech_it_male.flac")


def main(*, repeat: int = 5) -> None:
    key = WatermarkKey(bytes(range(32)))  # fixed: the run is repeatable
    payload = 0x5EED_0A0D_10_12345
    results: dict[str, list[bool]] = {name: [] for name in AUDIO_SUITE}
    print("\naudio watermark: bundled recordings, exact 64-bit payload per transformation")
    print(f"  {'clip':<24} {'length':>7} {'SNR':>8} {'embed':>11} {'detect':>11}")
    for clip in CLIPS:
        samples, info = decode_audio(AUDIO / clip)
        rate, seconds = info.sample_rate, len(samples) / info.sample_rate
        marked = embed_watermark(samples, rate, key, payload)
        embed_times, detect_times = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            embed_watermark(samples, rate, key, payload)
            embed_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            detect_watermark(marked, rate, key)
            detect_times.append(time.perf_counter() - start)
        print(
            f"  {clip:<24} {seconds:>6.1f}s {snr_db(samples, marked):>6.1f}dB"
            f" {seconds / float(np.median(embed_times)):>9.0f}x {seconds / float(np.median(detect_times)):>9.0f}x"
        )
        for index, (name, transform) in enumerate(AUDIO_SUITE.items()):
            attacked, attacked_rate = transform(marked, rate, np.random.default_rng(index))
            report = detect_watermark(attacked, attacked_rate, key)
            results[name].append(bool(report.found and report.content_id == payload))
    print(f"\n  {'transformation':<14} " + " ".join(f"{c.split('.')[0][:16]:>16}" for c in CLIPS))
    for name, outcomes in results.items():
        print(f"  {name:<14} " + " ".join(f"{'yes' if ok else 'no':>16}" for ok in outcomes))
    print("  (target: >= 95 % of clips after each transformation of any 10 s excerpt; see README status)")
