"""The statistical (generation-time) watermark: the green lists, the logits processor and its
adapters, detection on real generations of an offline n-gram model, each claimed
transformation, and no false detections on real human text."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from synthmark.errors import InputError, WatermarkError
from synthmark.keys import WatermarkKey
from synthmark.text import GreenList, NGramModel, WordTokenizer, detect_ids, detect_statistical, load_tokenizer
from synthmark.text.statistical import binomial_sf, significance
from synthmark.transforms.text import apply_text, embed_in

from .conftest import TEXT, corpus


@pytest.fixture(scope="module")
def tokenizer() -> WordTokenizer:
    loaded = load_tokenizer(TEXT / "tokenizer.json")
    assert isinstance(loaded, WordTokenizer)
    return loaded


@pytest.fixture(scope="module")
def model(tokenizer: WordTokenizer) -> NGramModel:
    paragraphs = corpus("en").split("\n\n")
    return NGramModel.train([tokenizer.encode(p) for p in paragraphs[:3000]], tokenizer.vocab_size)


@pytest.fixture(scope="module")
def generations(tokenizer, model):
    """20 marked and 5 unmarked 300-token generations from held-out prompts, fixed seeds."""
    key = WatermarkKey(bytes(range(32)))
    green = GreenList(key)
    prompts = [tokenizer.encode(p)[:3] for p in corpus("en").split("\n\n")[4000:4025]]
    marked = [model.generate(p, 300, rng=i, processor=green) for i, p in enumerate(prompts[:20])]
    plain = [model.generate(p, 300, rng=i) for i, p in enumerate(prompts[20:])]
    return key, [tokenizer.decode(g) for g in marked], [tokenizer.decode(g) for g in plain]


def test_green_lists_are_keyed_fair_and_deterministic():
    a, b = GreenList(WatermarkKey(bytes(32))), GreenList(WatermarkKey(bytes(range(32))))
    mask = a.green_mask(np.arange(200), 5000)
    assert mask.shape == (200, 5000) and abs(mask.mean() - 0.25) < 0.005
    assert (mask == a.green_mask(np.arange(200), 5000)).all()
    assert abs((mask == b.green_mask(np.arange(200), 5000)).mean() - 0.625) < 0.01  # independent lists
    assert (a.is_green(np.arange(200)[:, None], np.arange(5000)[None, :]) == mask).all()
    assert "secret" not in repr(a) and a.key_id in repr(a)
    with pytest.raises(WatermarkError):
        GreenList(WatermarkKey(bytes(32)), gamma=1.5)


def test_bias_and_sample_shapes():
    green = GreenList(WatermarkKey(bytes(32)), delta=3.0)
    logits = np.random.default_rng(0).normal(size=(4, 1000)).astype(np.float32)
    ids = np.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    biased = green.bias(ids, logits)
    assert biased.dtype == np.float32 and biased.shape == logits.shape and (logits == biased - 0).any()
    assert np.allclose(biased - logits, 3.0 * green.green_mask(ids[:, -1], 1000))
    assert np.array_equal(green(ids[0], logits[0]), biased[0])  # the plain-callable adapter
    assert np.array_equal(green.bias(np.zeros((0,), int), logits[0]), logits[0])
    tokens = green.sample(ids, logits, 0)
    assert isinstance(tokens, np.ndarray) and tokens.shape == (4,)
    assert isinstance(green.sample(ids[0], logits[0], 0), int)
    with pytest.raises(WatermarkError):
        green.bias(ids[:2], logits)


def test_exact_binomial_tail():
    for n, k, p in [(20, 12, 0.25), (300, 120, 0.25), (50, 50, 0.25)]:
        exact = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))
        assert binomial_sf(k, n, p) == pytest.approx(exact, rel=1e-9)


def test_marked_generations_are_detected_and_plain_ones_not(generations, tokenizer):
    key, marked, plain = generations
    reports = [detect_statistical(t, key, tokenizer) for t in marked]
    assert sum(r.found for r in reports) >= 19
    assert min(r.pilot_z for r in reports) > 4
    assert not any(detect_statistical(t, key, tokenizer).found for t in plain)
    assert not any(detect_statistical(t, WatermarkKey(bytes(32)), tokenizer).found for t in marked)
    report = reports[0].to_dict()
    assert report["layer"] == "statistical" and report["key_id"] == key.key_id and report["payload"] is None


@pytest.mark.parametrize("name", ["strip-invisible", "nfkc", "whitespace", "substitute20"])
def test_claimed_transformations(generations, tokenizer, name):
    key, marked, _ = generations
    found = [detect_statistical(apply_text(name, t, seed=i), key, tokenizer).found for i, t in enumerate(marked)]
    assert sum(found) >= 18, name


def test_windowed_detection_in_three_times_as_much_human_text(generations, tokenizer):
    key, marked, _ = generations
    human = corpus("en")[200_000:400_000]
    found = 0
    for i, passage in enumerate(marked):
        mixed = embed_in(human[i * 5000 :])(passage, np.random.default_rng(i))
        found += detect_statistical(mixed, key, tokenizer).found
    assert found >= 18


def test_no_false_detections_on_human_text_across_100_keys(tokenizer):
    """>= 1 MB of real Chinese and English text in ~2,000-token documents, 100 random keys,
    windowed detection at the default FPR of 1e-6 per document and key."""
    documents: list[np.ndarray] = []
    total_bytes = 0
    for name in ("en", "zh"):
        current: list[str] = []
        for paragraph in corpus(name)[:600_000].split("\n\n"):
            current.append(paragraph)
            if sum(map(len, current)) > (6000 if name == "en" else 2000):
                documents.append(tokenizer.encode("\n\n".join(current)))
                total_bytes += len("\n\n".join(current).encode())
                current = []
    assert total_bytes >= 1_000_000
    # Score every document's distinct pairs at once per key, then test each document.
    firsts = []
    for ids in documents:
        _, first = np.unique((ids[:-1] << 32) | ids[1:], return_index=True)
        first.sort()
        firsts.append((ids[:-1][first], ids[1:][first]))
    previous = np.concatenate([p for p, _ in firsts])
    tokens = np.concatenate([t for _, t in firsts])
    bounds = np.cumsum([0] + [len(p) for p, _ in firsts])
    worst = 1.0
    for seed in range(100):
        green = GreenList(WatermarkKey(np.random.default_rng(seed).bytes(32)))
        flags = green.is_green(previous, tokens)
        for lo, hi in itertools.pairwise(bounds):
            report = significance(flags[lo:hi], green)
            assert not report.found
            worst = min(worst, report.p_value)
    assert worst > 1e-6


def test_tokenizer_round_trips_and_loads(tokenizer, tmp_path):
    for name in ("en", "zh", "ar"):
        sample = corpus(name)[:20000]
        assert tokenizer.decode(tokenizer.encode(sample)) == sample
    assert tokenizer.vocab_size == 16384
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="not a tokenizer"):
        load_tokenizer(tmp_path / "bad.json")
    (tmp_path / "hf.json").write_text('{"model": {"type": "BPE"}}')
    try:
        import tokenizers  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="pip install tokenizers"):
            load_tokenizer(tmp_path / "hf.json")


def test_detect_ids_edge_cases():
    key = WatermarkKey(bytes(32))
    assert not detect_ids([1, 2, 3], key).found
    with pytest.raises(WatermarkError):
        detect_ids([-1, 2] * 20, key)


def test_torch_adapters():
    torch = pytest.importorskip("torch")
    green = GreenList(WatermarkKey(bytes(32)))
    ids = torch.tensor([[3, 9], [4, 1]])
    scores = torch.zeros((2, 64), dtype=torch.float16)
    out = green(ids, scores)
    assert out.dtype == torch.float16 and torch.equal(out, torch.from_numpy(green.bias(ids.numpy(), scores.numpy())))
    pytest.importorskip("transformers")
    from synthmark.text import hf_logits_processor

    processed = hf_logits_processor(green)(ids, scores.float())
    assert torch.allclose(processed, torch.from_numpy(green.bias(ids.numpy(), scores.float().numpy())))


def test_hf_adapter_without_torch_is_a_clear_error():
    """Runs where torch is absent (as here and on CI, where the CUDA-laden wheel is not installed);
    test_torch_adapters covers the adapter where torch is installed."""
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed: test_torch_adapters runs instead")
    from synthmark.text import hf_logits_processor

    with pytest.raises(WatermarkError, match="needs torch and transformers"):
        hf_logits_processor(GreenList(WatermarkKey(bytes(32))))
