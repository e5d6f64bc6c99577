"""The audio watermark on the bundled recordings: speed in x real time (one core, 44.1 kHz
stereo music and mono speech), quality (SNR), the robustness table of the audio suite on
**10 s excerpts** (the TC260 target: any 10 s window carries the whole payload), and false
positives on unmarked excerpts across many keys.

Each transformation is applied to the whole marked clip; then three 10 s windows (start,
middle, end) are cut from the result and each must give the exact 64-bit payload.
``crop10s`` cuts its own 10 s window (three seeds). Every cell is repeated for ``keys``
random-but-fixed keys, so a row reads "windows that decoded / windows tried".

Quality: SNR against the unmarked audio, and for speech PESQ-WB (ITU-T P.862.2, the ``pesq``
package of the bench extra) of the marked against the unmarked clip at 16 kHz, beside white
noise at the same SNR: an objective stand-in for a listening test, which no one ran here.

No peer runs here: the Python-installable audio watermarks (AudioSeal, WavMark) need neural
network weights downloaded from a model hub at run time, which this project's machines cannot
reach, and audiowmark is a C++ program, not a Python package. They are therefore not compared.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from synthmark import audio
from synthmark.audio.watermark import detect_watermark, embed_watermark
from synthmark.keys import WatermarkKey
from synthmark.transforms.audio import AUDIO_SUITE, _resample, snr_db

AUDIO = Path(__file__).resolve().parent.parent / "fixtures" / "audio"
CLIPS = ("music_electronic.flac", "music_orchestral.flac", "speech_en_female.flac", "speech_it_male.flac")
WINDOW_SECONDS = 10.0
WINDOWS = 3


def _windows(samples: np.ndarray, rate: int) -> list[np.ndarray]:
    size = int(WINDOW_SECONDS * rate)
    if len(samples) <= size:
        return [samples]
    starts = np.linspace(0, len(samples) - size, WINDOWS).astype(int)
    return [samples[start : start + size] for start in starts]


def _speed(samples: np.ndarray, rate: int, key: WatermarkKey, repeat: int) -> tuple[float, float, float, float]:
    """x real time: embed, detect (marked), detect (unmarked), detect with the speed search
    (unmarked: every speed tried); medians over ``repeat`` runs."""
    seconds = len(samples) / rate
    marked = embed_watermark(samples, rate, key, 1)

    def median(func: object) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            func()  # type: ignore[operator]
            times.append(time.perf_counter() - start)
        return seconds / float(np.median(times))

    return (
        median(lambda: embed_watermark(samples, rate, key, 1)),
        median(lambda: detect_watermark(marked, rate, key)),
        median(lambda: detect_watermark(samples, rate, key)),
        median(lambda: detect_watermark(samples, rate, key, speed_search=True)),
    )


def _pesq(reference: np.ndarray, test: np.ndarray, rate: int) -> str:
    """PESQ-WB of ``test`` against ``reference`` at 16 kHz (mono), or "n/a" without ``pesq``."""
    try:
        from pesq import pesq
    except ImportError:
        return "n/a"
    ref = _resample(reference, rate, 16000).mean(axis=1)
    return f"{pesq(16000, ref, _resample(test, rate, 16000).mean(axis=1), 'wb'):.2f}"


def main(*, repeat: int = 5, keys: int = 2, false_positive_keys: int = 100) -> None:
    key_list = [WatermarkKey(hashlib.sha256(f"bench audio {i}".encode()).digest()) for i in range(keys)]
    payload = 0x5EED_0A0D_10_12345
    print(f"\naudio watermark: bundled recordings, {WINDOW_SECONDS:.0f} s excerpts, {keys} keys, exact 64-bit payload")
    print(
        f"  {'clip':<24} {'length':>7} {'channels':>8} {'SNR dB':>7} {'PESQ':>5} {'noise':>6}"
        f" {'embed':>8} {'detect':>8} {'unmarked':>9} {'search':>7}"
    )
    decoded = {clip: audio.read_samples(AUDIO / clip) for clip in CLIPS}
    results: dict[str, dict[str, list[bool]]] = {name: {clip: [] for clip in CLIPS} for name in AUDIO_SUITE}
    for clip, (samples, rate) in decoded.items():
        embed_x, detect_x, unmarked_x, search_x = _speed(samples, rate, key_list[0], repeat)
        snrs = []
        for key in key_list:
            marked = embed_watermark(samples, rate, key, payload)
            snrs.append(snr_db(samples, marked))
            if len(snrs) == 1 and clip.startswith("speech"):
                noise = np.random.default_rng(0).standard_normal(samples.shape).astype(np.float32)
                noise *= np.sqrt(np.mean((marked - samples) ** 2) / np.mean(noise**2))
                quality = (_pesq(samples, marked, rate), _pesq(samples, samples + noise, rate))
            elif len(snrs) == 1:
                quality = ("-", "-")
            for index, (name, transform) in enumerate(AUDIO_SUITE.items()):
                if name == "crop10s":
                    excerpts = [transform(marked, rate, np.random.default_rng(seed))[0] for seed in range(WINDOWS)]
                    attacked_rate = rate
                else:
                    attacked, attacked_rate = transform(marked, rate, np.random.default_rng(index))
                    excerpts = _windows(attacked, attacked_rate)
                for excerpt in excerpts:
                    # the speed search only where the speed changed: elsewhere it finds the same
                    report = detect_watermark(excerpt, attacked_rate, key, speed_search=name == "speed105")
                    results[name][clip].append(bool(report.found and report.content_id == payload))
        print(
            f"  {clip:<24} {len(samples) / rate:>6.1f}s {samples.shape[1]:>8} {min(snrs):>7.1f}"
            f" {quality[0]:>5} {quality[1]:>6} {embed_x:>7.0f}x {detect_x:>7.0f}x {unmarked_x:>8.0f}x {search_x:>6.0f}x"
        )
    print("  (embed / detect in x real time, one core, medians; search: detect with speed_search=True on")
    print("   unmarked audio, every speed tried; SNR: the lowest over the keys; PESQ-WB of the")
    print("   marked speech, 4.64 = identical, beside white noise of the same energy as the mark)")

    print(f"\n  {'transformation':<14} " + " ".join(f"{c.split('.')[0][:17]:>17}" for c in CLIPS) + "    all")
    for name, per_clip in results.items():
        cells = [f"{sum(v)}/{len(v)}" for v in per_clip.values()]
        total = [ok for v in per_clip.values() for ok in v]
        share = 100 * sum(total) / len(total)
        print(f"  {name:<14} " + " ".join(f"{cell:>17}" for cell in cells) + f" {share:>5.0f} %")
    print("  (target: >= 95 % after each transformation of the issue; speed105 a stretch goal, detected")
    print("   with speed_search=True, as `synthmark verify` does)")

    fp_keys = [WatermarkKey(hashlib.sha256(f"bench fp {i}".encode()).digest()) for i in range(false_positive_keys)]
    hits = tried = 0
    for samples, rate in decoded.values():
        for excerpt in _windows(samples, rate):
            tried += 1
            hits += detect_watermark(excerpt, rate, fp_keys).found
    print(f"\n  false positives: {hits} detections in {tried} unmarked 10 s excerpts x {false_positive_keys} keys")
