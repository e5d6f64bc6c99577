"""A generation-time statistical watermark for language-model backends: keyed green lists
(the KGW family), a numpy logits processor, and detection from text plus a tokenizer.

The scheme is Kirchenbauer et al., "A Watermark for Large Language Models" (ICML 2023,
arXiv:2301.10226), with the left-hash context of width 1 that their follow-up "On the
Reliability of Watermarks for Large Language Models" (ICLR 2024, arXiv:2306.04634) found the
most robust to edits:

* for each previous token ``p`` and candidate ``t``, the pair is *green* when a keyed hash
  ``h(key, p, t)`` falls below ``gamma`` x 2^64 (splitmix64 mixing of a 64-bit salt derived
  from the key with HMAC-SHA256, so each pair is green with probability ``gamma``,
  independently of every other pair);
* generation adds ``delta`` to the logits of the green candidates before sampling
  (:meth:`GreenList.bias` / :meth:`GreenList.sample`);
* detection counts green pairs. Repeated (previous, token) pairs are counted once, so under the
  null hypothesis (text written without this key) the counts are exactly binomial(n, gamma),
  whatever the text; the p-value is the exact binomial tail. No model is needed to detect.

Why KGW rather than SynthID-Text's tournament sampling (Dathathri et al., Nature 2024): the
tournament keeps the sampling distribution unbiased, but its per-token evidence is small on the
low-entropy steps that dominate short answers, its published detectors are trained or
Bayesian scores without an exact null distribution, and it needs several keyed g-functions per
token. KGW gives an exact p-value for any text and any tokenizer-consistent detector, tolerates
word substitutions (each substitution spoils at most two pairs with context width 1), and costs
one hash per vocabulary entry per step. Its price is a measurable quality cost (``delta`` biases
the distribution); ``python -m benchmarks --only text`` measures it as perplexity under the
unwatermarked model. Context width 1 is also its known weakness: someone who can query the
generator a lot can estimate green lists from bigram statistics (Kirchenbauer 2023b, sec. 4);
rotate keys if that matters.

Windowed detection (for a marked passage pasted into unmarked text): besides the whole text,
windows of 64, 128, 256... scored tokens at a stride of a quarter window are tested, and the
smallest p-value is multiplied by the number of tests (Bonferroni), so the false-positive rate
stays at most ``fpr`` per text and key.

>>> import numpy as np
>>> from synthmark.keys import WatermarkKey
>>> green = GreenList(WatermarkKey(bytes(32)))
>>> logits = np.zeros(50_000, np.float32)
>>> biased = green.bias(np.array([5, 17]), logits)      # previous ids, next-token logits
>>> sorted(set(biased.tolist())), round(float((biased > 0).mean()), 2)
([0.0, 2.0], 0.25)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synthmark.errors import WatermarkError
from synthmark.keys import WatermarkKey
from synthmark.payload import WatermarkReport

__all__ = [
    "DEFAULT_DELTA",
    "DEFAULT_FPR",
    "DEFAULT_GAMMA",
    "GreenList",
    "StatisticalReport",
    "Tokenizer",
    "binomial_sf",
    "detect_ids",
    "detect_statistical",
    "significance",
]

#: Fraction of the vocabulary that is green for each previous token.
DEFAULT_GAMMA = 0.25
#: Logit bias added to green candidates.
DEFAULT_DELTA = 2.0
#: Detection threshold: the largest p-value (after the window correction) called a detection.
DEFAULT_FPR = 1e-6
#: Fewest scored tokens a detection needs.
MIN_TOKENS = 16
#: The smallest window of the windowed detector, in scored tokens.
MIN_WINDOW = 64

#: A tokenizer: any callable from text to token ids.
Tokenizer = Callable[[str], Sequence[int] | npt.NDArray[np.integer[Any]]]

_U64 = np.uint64
_M1, _M2, _TOKEN_MIX = _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB), _U64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on a uint64 array (a bijection with full avalanche)."""
    x = x ^ (x >> _U64(30))
    x *= _M1
    x ^= x >> _U64(27)
    x *= _M2
    return np.asarray(x ^ (x >> _U64(31)))


class GreenList:
    """The keyed green lists of one key, as a logits processor and a scorer.

    ``gamma`` (0 < gamma < 1, default 0.25) is the green fraction and ``delta`` (default 2.0)
    the logit bias. Token ids are non-negative integers below 2^32. The key never leaves
    :mod:`synthmark.keys`; this object keeps only a derived salt and the public ``key_id``.
    """

    __slots__ = ("_salt", "_threshold", "_token_hash", "delta", "gamma", "key_id")

    def __init__(self, key: WatermarkKey, *, gamma: float = DEFAULT_GAMMA, delta: float = DEFAULT_DELTA) -> None:
        if not 0.0 < gamma < 1.0:
            raise WatermarkError(f"gamma must be in (0, 1), got {gamma}", fix="use e.g. gamma=0.25")
        self.gamma = float(gamma)
        self.delta = float(delta)
        self.key_id = key.key_id
        self._salt = _U64(int.from_bytes(key.derive("text", "green-list", "salt")[:8], "big"))
        self._threshold = _U64(min(int(gamma * 2.0**64), 2**64 - 1))
        self._token_hash: np.ndarray = np.zeros(0, np.uint64)

    def __repr__(self) -> str:
        return f"GreenList(key_id={self.key_id!r}, gamma={self.gamma}, delta={self.delta})"

    def _seeds(self, previous: np.ndarray) -> np.ndarray:
        return _mix(np.asarray(previous).astype(np.uint64) ^ self._salt)

    def is_green(self, previous: npt.ArrayLike, tokens: npt.ArrayLike) -> np.ndarray:
        """Whether each (previous, token) pair is green (broadcasting, bool array)."""
        mixed = np.asarray(tokens).astype(np.uint64) * _TOKEN_MIX
        return np.asarray(_mix(self._seeds(np.asarray(previous)) ^ mixed) < self._threshold)

    def green_mask(self, previous: npt.ArrayLike, vocab_size: int) -> np.ndarray:
        """``(len(previous), vocab_size)`` bool: the green candidates after each previous id."""
        if len(self._token_hash) != vocab_size:
            self._token_hash = np.arange(vocab_size, dtype=np.uint64) * _TOKEN_MIX
        seeds = self._seeds(np.atleast_1d(np.asarray(previous)))
        return np.asarray(_mix(seeds[:, None] ^ self._token_hash[None, :]) < self._threshold)

    def bias(self, input_ids: npt.ArrayLike, logits: npt.ArrayLike) -> np.ndarray:
        """Next-token ``logits`` with ``delta`` added to the green candidates.

        ``input_ids`` are the tokens so far, ``(T,)`` or ``(batch, T)``; ``logits`` is ``(V,)``
        or ``(batch, V)``. Returns a new array of the logits' shape and float dtype; with no
        previous token (T = 0) the logits come back unchanged (copied). ``-inf`` stays ``-inf``.
        """
        ids = np.asarray(input_ids)
        scores = np.array(logits, dtype=np.result_type(np.asarray(logits).dtype, np.float32), copy=True)
        if ids.shape[-1] == 0:
            return scores
        single = scores.ndim == 1
        rows = scores[None, :] if single else scores
        previous = ids[..., -1].reshape(-1)
        if len(previous) != len(rows):
            raise WatermarkError(
                f"{len(previous)} sequences of ids for {len(rows)} rows of logits",
                fix="pass input_ids of shape (batch, T) with logits of shape (batch, V)",
            )
        rows += self.delta * self.green_mask(previous, rows.shape[1])
        return rows[0] if single else rows

    def sample(
        self,
        input_ids: npt.ArrayLike,
        logits: npt.ArrayLike,
        rng: np.random.Generator | int | None = None,
        *,
        temperature: float = 1.0,
    ) -> np.ndarray | int:
        """Sample the next token from the biased logits (softmax at ``temperature``); an int for
        ``(V,)`` logits, an array of ``batch`` ids for ``(batch, V)``."""
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        scores = self.bias(input_ids, logits).astype(np.float64) / max(temperature, 1e-6)
        rows = np.atleast_2d(scores)
        probs = np.exp(rows - rows.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        cumulative = np.cumsum(probs, axis=1)
        draws = generator.random(len(rows))[:, None] * cumulative[:, -1:]
        tokens = np.minimum((cumulative < draws).sum(axis=1), rows.shape[1] - 1)
        return int(tokens[0]) if scores.ndim == 1 else tokens

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        """The plain-callable adapter: ``(ids, logits) -> biased logits`` for engines that take
        a logits processor function (llama-cpp-python's ``logits_processor``, vLLM's per-request
        ``logits_processors``). numpy in, numpy out; torch tensors in, torch tensors out (same
        device and dtype)."""
        if hasattr(logits, "detach") and hasattr(logits, "cpu"):
            import torch

            ids = input_ids.detach().cpu().numpy() if hasattr(input_ids, "detach") else np.asarray(input_ids)
            biased = self.bias(ids, logits.detach().cpu().float().numpy())
            return torch.from_numpy(biased).to(device=logits.device, dtype=logits.dtype)
        return self.bias(input_ids, logits)

    def score(self, ids: npt.ArrayLike) -> np.ndarray:
        """Green flags of the scored tokens of ``ids``, in text order: every token after the
        first, counting each distinct (previous, token) pair once (its first occurrence)."""
        tokens = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(tokens) < 2:
            return np.zeros(0, dtype=bool)
        if tokens.min() < 0 or tokens.max() >= 1 << 32:
            raise WatermarkError("token ids must be in [0, 2**32)", fix="pass the tokenizer's ids")
        pairs = (tokens[:-1] << 32) | tokens[1:]
        _, first = np.unique(pairs, return_index=True)
        first.sort()
        return self.is_green(tokens[:-1][first], tokens[1:][first])


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): exact (log-space series) in the upper tail, the
    normal approximation below the mean (where it is only ever compared with small values)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if k <= n * p:
        z = (k - n * p) / math.sqrt(n * p * (1 - p))
        return 0.5 * math.erfc(z / math.sqrt(2))
    log_term = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p)
    log_term += (n - k) * math.log1p(-p)
    j = np.arange(k, n, dtype=np.float64)
    ratios = (n - j) / (j + 1) * (p / (1 - p))  # pmf(j + 1) / pmf(j), decreasing past the mean
    terms = np.cumprod(ratios[: min(len(ratios), 20000)])
    total = 1.0 + float(terms.sum())
    return float(min(1.0, math.exp(log_term) * total))


def _z(green: np.ndarray | float, n: np.ndarray | float, gamma: float) -> Any:
    return (green - gamma * n) / np.sqrt(np.maximum(n, 1) * gamma * (1 - gamma))


@dataclass(frozen=True)
class StatisticalReport(WatermarkReport):
    """What the statistical detector found for one key.

    ``found`` when the corrected p-value is at most the ``fpr`` asked for; ``p_value`` is that
    corrected p-value (the best test's exact binomial tail x the number of tests), ``pilot_z``
    the best test's z-score. ``details``: ``tokens`` (ids given), ``scored`` (distinct pairs),
    ``green`` and ``window`` (``[start, end)`` in scored tokens) of the best test, ``tests``,
    ``gamma`` and the whole text's ``z``. No payload: the mark says "made with this key".
    """

    def _geometry(self) -> dict[str, Any]:
        keep = ("tokens", "scored", "green", "window", "tests", "z_whole")
        return {"layer": "statistical", **{k: self.details[k] for k in keep if k in self.details}}


def _windows(flags: np.ndarray, gamma: float) -> tuple[int, int, int, int]:
    """The best window (start, end, green) over every size and stride, and the test count."""
    cumulative = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    n = len(flags)
    best = (0, n, int(cumulative[-1]))
    best_z = float(_z(best[2], n, gamma))
    tests = 1
    size = MIN_WINDOW
    while size < n:
        stride = max(1, size // 4)
        starts = np.unique(np.append(np.arange(0, n - size + 1, stride), n - size))
        greens = cumulative[starts + size] - cumulative[starts]
        zs = _z(greens, size, gamma)
        tests += len(starts)
        i = int(np.argmax(zs))
        if zs[i] > best_z:
            best_z = float(zs[i])
            best = (int(starts[i]), int(starts[i]) + size, int(greens[i]))
        size *= 2
    return (*best, tests)


def detect_ids(
    ids: npt.ArrayLike,
    key: WatermarkKey | GreenList,
    *,
    gamma: float = DEFAULT_GAMMA,
    fpr: float = DEFAULT_FPR,
    windowed: bool = True,
) -> StatisticalReport:
    """Test token ids for the green-list mark of ``key`` (or a :class:`GreenList`).

    ``windowed`` (default) also tests windows, for a marked passage inside unmarked text;
    ``fpr`` (default 1e-6) is the false-positive rate allowed per text and key.
    """
    green_list = key if isinstance(key, GreenList) else GreenList(key, gamma=gamma)
    tokens = np.asarray(ids).reshape(-1)
    return significance(green_list.score(tokens), green_list, fpr=fpr, windowed=windowed, tokens=len(tokens))


def significance(
    flags: np.ndarray, green_list: GreenList, *, fpr: float = DEFAULT_FPR, windowed: bool = True, tokens: int = 0
) -> StatisticalReport:
    """The significance test of :func:`detect_ids` on the green flags of scored tokens (from
    :meth:`GreenList.score`), for callers that score many texts at once."""
    n = len(flags)
    g = green_list.gamma
    if n < MIN_TOKENS:
        return StatisticalReport(
            False,
            details={"tokens": tokens, "scored": n, "green": int(flags.sum()), "tests": 0, "gamma": g},
        )
    start, end, green, tests = _windows(flags, g) if windowed else (0, n, int(flags.sum()), 1)
    p_value = min(1.0, binomial_sf(green, end - start, g) * tests)
    return StatisticalReport(
        p_value <= fpr,
        key_id=green_list.key_id if p_value <= fpr else None,
        p_value=p_value,
        pilot_z=float(_z(green, end - start, g)),
        attempts=tests,
        details={
            "tokens": tokens,
            "scored": n,
            "green": green,
            "window": [start, end],
            "tests": tests,
            "gamma": g,
            "z_whole": round(float(_z(int(flags.sum()), n, g)), 2),
        },
    )


def detect_statistical(
    text: str,
    keys: WatermarkKey | GreenList | Sequence[WatermarkKey | GreenList],
    tokenizer: Tokenizer,
    *,
    gamma: float = DEFAULT_GAMMA,
    fpr: float = DEFAULT_FPR,
    windowed: bool = True,
) -> StatisticalReport:
    """Tokenize ``text`` with ``tokenizer`` (any callable text -> ids, the generator's own) and
    test it with each key; the first detection, else the strongest result, is returned.

    With several keys the threshold is ``fpr`` per key (the caller's false-positive rate grows
    with the number of keys tried).
    """
    ids = np.asarray(tokenizer(text), dtype=np.int64)
    key_list: list[WatermarkKey | GreenList] = [keys] if isinstance(keys, (WatermarkKey, GreenList)) else list(keys)
    if not key_list:
        raise WatermarkError("no key given", fix="pass the watermark key used at generation")
    reports = []
    for key in key_list:
        report = detect_ids(ids, key, gamma=gamma, fpr=fpr, windowed=windowed)
        if report.found:
            return report
        reports.append(report)
    return min(reports, key=lambda r: r.p_value)
