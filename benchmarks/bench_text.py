"""Text: the Unicode mark (speed, robustness, false positives) and the statistical watermark
(detection at FPR 1e-6 on real generations of an offline n-gram model, robustness, quality as
perplexity under the unwatermarked model, detection speed, false positives), beside peers.

Peers: ``text_blind_watermark`` (zero-width characters, ``pip install text_blind_watermark``)
for the Unicode mark, and a plain-Python KGW detector (``hashlib`` per token, the way the
reference implementation scores) for detection speed. Corpora and tokenizer: ``fixtures/text``.
"""

from __future__ import annotations

import contextlib
import itertools
import lzma
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks._timing import median_ms
from synthmark.keys import WatermarkKey
from synthmark.text import GreenList, NGramModel, detect_ids, load_tokenizer
from synthmark.text.statistical import significance
from synthmark.text.unicode_mark import detect_unicode_mark, embed_unicode_mark
from synthmark.transforms.text import TEXT_SUITE, apply_text, embed_in

TEXT = Path(__file__).resolve().parents[1] / "fixtures" / "text"
PAYLOAD = 0x5EED_CAFE_F00D_BEEF


def _corpus(name: str) -> str:
    return lzma.decompress((TEXT / f"{name}.txt.xz").read_bytes()).decode("utf-8")


def _key(seed: int) -> WatermarkKey:
    return WatermarkKey(np.random.default_rng(seed).bytes(32))


def unicode_speed(megabytes: int, repeat: int) -> None:
    key = _key(0)
    print(f"\nUnicode mark speed ({megabytes} MB of real text, median of {repeat}, one core)")
    print(f"  {'text':<10} {'embed MB/s':>11} {'detect MB/s':>12} {'size +%':>8} {'copies':>8}")
    for name in ("en", "zh"):
        source = _corpus(name)
        big = source * (megabytes * 1_000_000 // len(source.encode()) + 1)
        size = len(big.encode()) / 1e6
        marked = embed_unicode_mark(big, key, PAYLOAD)
        embed = median_ms(lambda big=big: embed_unicode_mark(big, key, PAYLOAD), repeat=repeat, warmup=1)
        detect = median_ms(lambda marked=marked: detect_unicode_mark(marked, key), repeat=repeat, warmup=1)
        report = detect_unicode_mark(marked, key)
        growth = 100 * (len(marked.encode()) / len(big.encode()) - 1)
        print(
            f"  {name:<10} {size / embed * 1000:>11.0f} {size / detect * 1000:>12.0f} {growth:>8.1f} "
            f"{report.details['copies']:>8}"
        )
    try:
        from text_blind_watermark import TextBlindWatermark
    except ImportError:
        print("  text_blind_watermark: not installed (pip install text_blind_watermark)")
        return
    sample = _corpus("en")[:1_000_000]
    mb = len(sample.encode()) / 1e6
    peer = TextBlindWatermark(pwd=b"benchmark")
    secret = PAYLOAD.to_bytes(8, "big")
    embed_ms = median_ms(lambda: peer.add_wm_rnd(sample, secret), repeat=3, warmup=1)
    marked_peer = peer.add_wm_rnd(sample, secret)
    detect_ms = median_ms(lambda: peer.extract(marked_peer), repeat=3, warmup=1)
    ours = median_ms(lambda: embed_unicode_mark(sample, key, PAYLOAD), repeat=5)
    ours_marked = embed_unicode_mark(sample, key, PAYLOAD)
    ours_detect = median_ms(lambda: detect_unicode_mark(ours_marked, key), repeat=5)
    print(
        f"  text_blind_watermark 0.4.2 (WJ/BOM bits, one copy at a random place, 1 MB): embed "
        f"{mb / embed_ms * 1000:.0f} MB/s ({embed_ms / ours:.1f}x synthmark's time), extract "
        f"{mb / detect_ms * 1000:.0f} MB/s ({detect_ms / ours_detect:.1f}x)"
    )
    short = "\n\n".join(_corpus("en").split("\n\n")[100:112])
    kept = dict.fromkeys(("nfkc", "whitespace", "excerpt", "excerpt3", "html"), 0)
    for seed in range(20):
        one = peer.add_wm_rnd(short, secret)
        for name in kept:
            with contextlib.suppress(Exception):  # the peer raises on input without its mark
                kept[name] += peer.extract(apply_text(name, one, seed=seed)) == secret
    print("    peer keeps its payload after: " + ", ".join(f"{n} {v / 20:.0%}" for n, v in kept.items()))


def unicode_robustness(documents: int, keys: int) -> None:
    print(f"\nUnicode mark robustness ({documents} documents of 8 paragraphs per language, exact 64-bit payload)")
    print(f"  {'transformation':<16} {'en':>7} {'zh':>7}")
    corpora = {name: _corpus(name).split("\n\n") for name in ("en", "zh")}
    rows: dict[str, dict[str, float]] = {name: {} for name in TEXT_SUITE}
    for language, paragraphs in corpora.items():
        rng = np.random.default_rng(1)
        hits = dict.fromkeys(TEXT_SUITE, 0)
        for d in range(documents):
            start = int(rng.integers(0, len(paragraphs) - 8))
            key = _key(100 + d)
            marked = embed_unicode_mark("\n\n".join(paragraphs[start : start + 8]), key, PAYLOAD)
            for i, name in enumerate(TEXT_SUITE):
                attacked = apply_text(name, marked, np.random.default_rng([d, i]))
                hits[name] += detect_unicode_mark(attacked, key).content_id == PAYLOAD
        for name in TEXT_SUITE:
            rows[name][language] = hits[name] / documents
    for name, cells in rows.items():
        print(f"  {name:<16} {cells['en']:>7.0%} {cells['zh']:>7.0%}")
    human = _corpus("en") + _corpus("zh")
    false = sum(detect_unicode_mark(human, _key(10_000 + k)).found for k in range(keys))
    print(f"  false detections on {len(human.encode()) / 1e6:.1f} MB of human text x {keys} keys: {false}")


def _naive_detect(ids: list[int], salt: bytes, gamma: float) -> float:
    """Plain-Python KGW scoring (hash per token pair), as a peer for speed."""
    import hashlib

    seen, green = set(), 0
    for prev, tok in itertools.pairwise(ids):
        if (prev, tok) in seen:
            continue
        seen.add((prev, tok))
        digest = hashlib.sha256(salt + prev.to_bytes(4, "big") + tok.to_bytes(4, "big")).digest()
        green += int.from_bytes(digest[:8], "big") < gamma * 2**64
    n = len(seen)
    return (green - gamma * n) / (n * gamma * (1 - gamma)) ** 0.5


def statistical(generations: int, keys: int, delta: float) -> None:
    tokenizer = load_tokenizer(TEXT / "tokenizer.json")
    paragraphs = _corpus("en").split("\n\n")
    split = int(len(paragraphs) * 0.9)
    started = time.perf_counter()
    model = NGramModel.train([tokenizer.encode(p) for p in paragraphs[:split]], tokenizer.vocab_size)
    print(
        f"\nStatistical watermark (KGW, gamma 0.25, delta {delta}, context 1): trigram model on "
        f"{split} paragraphs of English, {tokenizer.vocab_size}-id tokenizer ({time.perf_counter() - started:.1f} s)"
    )
    held_out = paragraphs[split:]
    rng = np.random.default_rng(7)
    prompts = [tokenizer.encode(held_out[int(rng.integers(0, len(held_out)))])[:3] for _ in range(generations)]
    key = _key(1)
    green = GreenList(key, delta=delta)
    started = time.perf_counter()
    marked = [model.generate(p, 300, rng=i, processor=green) for i, p in enumerate(prompts)]
    plain = [model.generate(p, 300, rng=10_000 + i) for i, p in enumerate(prompts)]
    gen_s = time.perf_counter() - started
    texts = [tokenizer.decode(ids) for ids in marked]
    human = " ".join(held_out)

    def rate(transform: str | None) -> tuple[float, float]:
        found, zs = 0, []
        for i, passage in enumerate(texts):
            attacked = passage
            if transform == "embed":
                attacked = embed_in(human[(i * 7919) % (len(human) - 10_000) :])(passage, np.random.default_rng(i))
            elif transform is not None:
                attacked = apply_text(transform, passage, seed=i)
            report = detect_ids(tokenizer.encode(attacked), green)
            found += report.found
            zs.append(report.pilot_z)
        return found / len(texts), statistics.median(zs)

    print(f"  {generations} marked + {generations} unmarked 300-token generations in {gen_s:.0f} s")
    print(f"  {'condition':<34} {'detected at FPR 1e-6':>21} {'median z':>9}")
    for name, transform in (
        ("as generated", None),
        ("substitute20 (20 % of words)", "substitute20"),
        ("embedded in 3x human text", "embed"),
        ("whitespace collapsed", "whitespace"),
        ("nfkc + strip-invisible", "strip-invisible"),
    ):
        detected, z = rate(transform)
        print(f"  {name:<34} {detected:>21.1%} {z:>9.1f}")
    whole = sum(detect_ids(tokenizer.encode(t), green, windowed=False).found for t in texts) / len(texts)
    unmarked_hits = sum(detect_ids(np.concatenate([p, g]), green).found for p, g in zip(prompts, plain, strict=True))
    print(f"  whole-text test only (no windows): {whole:.1%}; unmarked generations detected: {unmarked_hits}")
    ppl_marked = [model.perplexity(g, prompt=p) for p, g in zip(prompts, marked, strict=True)]
    ppl_plain = [model.perplexity(g, prompt=p) for p, g in zip(prompts, plain, strict=True)]
    m, u = statistics.median(ppl_marked), statistics.median(ppl_plain)
    print(f"  perplexity under the unwatermarked model: unmarked {u:.1f}, marked {m:.1f} (x{m / u:.2f})")

    # False positives: >= 1 MB of human Chinese and English in ~2,000-token documents x keys.
    documents = []
    for name, size in (("en", 6000), ("zh", 2000)):
        text = _corpus(name)
        documents += [tokenizer.encode(text[i : i + size]) for i in range(0, len(text) - size, size)]
    total_mb = sum(len(tokenizer.decode(d).encode()) for d in documents) / 1e6
    pairs = []
    for ids in documents:
        _, first = np.unique((ids[:-1] << 32) | ids[1:], return_index=True)
        first.sort()
        pairs.append((ids[:-1][first], ids[1:][first]))
    previous = np.concatenate([p for p, _ in pairs])
    tokens = np.concatenate([t for _, t in pairs])
    bounds = np.cumsum([0] + [len(p) for p, _ in pairs])
    false, worst = 0, 1.0
    for k in range(keys):
        other = GreenList(_key(20_000 + k))
        flags = other.is_green(previous, tokens)
        for lo, hi in itertools.pairwise(bounds):
            report = significance(flags[lo:hi], other)
            false += report.found
            worst = min(worst, report.p_value)
    print(
        f"  false detections on {total_mb:.1f} MB of human text ({len(documents)} documents) x {keys} keys: "
        f"{false} (smallest corrected p = {worst:.2g})"
    )

    ids = np.concatenate(documents)[:1_000_000]
    ms = median_ms(lambda: detect_ids(ids, green), repeat=5)
    tok_ms = median_ms(lambda: tokenizer.encode(_corpus("en")[:1_000_000]), repeat=3, warmup=1)
    tok_count = len(tokenizer.encode(_corpus("en")[:1_000_000]))
    sample = ids[:100_000].tolist()
    naive_ms = median_ms(lambda: _naive_detect(sample, b"salt", 0.25), repeat=3, warmup=1) * 10
    print(
        f"  detection speed on 1 M tokens: {len(ids) / ms / 1000:.1f} M tokens/s (windowed); "
        f"plain-Python KGW scorer {len(ids) / naive_ms / 1000:.2f} M tokens/s ({naive_ms / ms:.0f}x slower); "
        f"tokenizing: {tok_count / tok_ms / 1000:.1f} M tokens/s"
    )


def main(*, quick: bool = False) -> None:
    unicode_speed(10 if quick else 50, 2 if quick else 3)
    unicode_robustness(20 if quick else 100, 20 if quick else 100)
    statistical(60 if quick else 300, 20 if quick else 100, 2.0)
    if not quick:
        statistical(300, 10, 1.0)
