"""A small n-gram language model that runs offline: the demonstration backend for the
statistical watermark (generation with :class:`~synthmark.text.statistical.GreenList`, and
perplexity for the quality measurement). Not a production model.

Interpolated absolute discounting (discount 0.75) over trigrams, bigrams and an add-one
unigram, trained on token ids in a second (numpy counting), with the next-token distribution
as a dense ``(V,)`` log-probability vector:

    P(w | u v) = max(c(u v w) - D, 0) / c(u v .) + D N(u v .) / c(u v .) P(w | v)

>>> from synthmark.text.tokenizer import WordTokenizer
>>> text = "the cat sat on the mat. the dog sat on the rug. " * 20
>>> tok = WordTokenizer.train([text], size=300)
>>> model = NGramModel.train([tok.encode(text)], tok.vocab_size)
>>> ids = model.generate(tok.encode("the cat"), 8, rng=0)
>>> len(ids), round(model.perplexity(tok.encode(text)), 1) < 3
(8, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from synthmark.errors import WatermarkError

__all__ = ["NGramModel"]

_DISCOUNT = 0.75
#: A logits processor: (ids so far, next-token logits) -> logits.
Processor = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class _Table:
    """Sorted context keys, and for each context its continuations and counts."""

    contexts: np.ndarray  # unique context keys, sorted
    offsets: np.ndarray  # start of each context's continuations (len = contexts + 1)
    tokens: np.ndarray
    counts: np.ndarray

    @classmethod
    def build(cls, context_keys: np.ndarray, tokens: np.ndarray) -> _Table:
        pairs = np.unique(np.stack([context_keys, tokens], axis=1), axis=0, return_counts=True)
        keys, counts = pairs
        contexts, starts = np.unique(keys[:, 0], return_index=True)
        offsets = np.append(starts, len(keys))
        return cls(contexts, offsets, keys[:, 1].astype(np.int64), counts.astype(np.float64))

    def row(self, context: int) -> tuple[np.ndarray, np.ndarray] | None:
        i = int(np.searchsorted(self.contexts, context))
        if i == len(self.contexts) or self.contexts[i] != context:
            return None
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.tokens[lo:hi], self.counts[lo:hi]


class NGramModel:
    """A trigram model over ``vocab_size`` token ids (interpolated absolute discounting)."""

    def __init__(self, vocab_size: int, unigram: np.ndarray, bigrams: _Table, trigrams: _Table) -> None:
        self.vocab_size = vocab_size
        self._unigram = unigram
        self._bigrams = bigrams
        self._trigrams = trigrams

    @classmethod
    def train(cls, sequences: Iterable[npt.ArrayLike], vocab_size: int) -> NGramModel:
        """Count the n-grams of each id sequence (documents are not joined)."""
        uni = np.ones(vocab_size, dtype=np.float64)  # add-one
        big_ctx, big_tok, tri_ctx, tri_tok = [], [], [], []
        for sequence in sequences:
            ids = np.asarray(sequence, dtype=np.int64)
            if len(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
                raise WatermarkError("token id outside the vocabulary", fix=f"ids must be in [0, {vocab_size})")
            uni += np.bincount(ids, minlength=vocab_size)
            big_ctx.append(ids[:-1])
            big_tok.append(ids[1:])
            tri_ctx.append(ids[:-2] * vocab_size + ids[1:-1])
            tri_tok.append(ids[2:])
        bigrams = _Table.build(np.concatenate(big_ctx), np.concatenate(big_tok))
        trigrams = _Table.build(np.concatenate(tri_ctx), np.concatenate(tri_tok))
        return cls(vocab_size, uni / uni.sum(), bigrams, trigrams)

    def _level(self, lower: np.ndarray, row: tuple[np.ndarray, np.ndarray] | None) -> np.ndarray:
        if row is None:
            return lower
        tokens, counts = row
        total = counts.sum()
        probs = lower * (_DISCOUNT * len(counts) / total)
        probs[tokens] += np.maximum(counts - _DISCOUNT, 0.0) / total
        return np.asarray(probs)

    def probabilities(self, context: npt.ArrayLike) -> np.ndarray:
        """``P(next | context)`` over the vocabulary (float64, sums to 1)."""
        ids = np.asarray(context, dtype=np.int64).reshape(-1)
        probs = self._unigram
        if len(ids) >= 1:
            probs = self._level(probs, self._bigrams.row(int(ids[-1])))
            if len(ids) >= 2:
                probs = self._level(probs, self._trigrams.row(int(ids[-2]) * self.vocab_size + int(ids[-1])))
        return np.asarray(probs if probs is not self._unigram else probs.copy())

    def logits(self, context: npt.ArrayLike) -> np.ndarray:
        """Next-token log-probabilities (float32), what a logits processor receives."""
        return np.asarray(np.log(self.probabilities(context)), dtype=np.float32)

    def generate(
        self,
        prompt: npt.ArrayLike,
        length: int,
        *,
        rng: np.random.Generator | int | None = None,
        processor: Processor | None = None,
        temperature: float = 1.0,
    ) -> np.ndarray:
        """``length`` new ids after ``prompt``, sampled from the model's logits after
        ``processor`` (e.g. a :class:`~synthmark.text.statistical.GreenList`; None: unmarked)."""
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        ids: list[int] = np.asarray(prompt, dtype=np.int64).reshape(-1).tolist()
        out = np.empty(length, dtype=np.int64)
        for i in range(length):
            context = np.array(ids[-2:], dtype=np.int64)
            scores = self.logits(context).astype(np.float64)
            if processor is not None:
                scores = np.asarray(processor(np.array(ids, dtype=np.int64), scores), dtype=np.float64)
            scores /= max(temperature, 1e-6)
            probs = np.exp(scores - scores.max())
            cumulative = np.cumsum(probs)
            token = int(
                min(np.searchsorted(cumulative, generator.random() * cumulative[-1], side="right"), self.vocab_size - 1)
            )
            out[i] = token
            ids.append(token)
        return out

    def perplexity(self, ids: npt.ArrayLike, *, prompt: npt.ArrayLike = ()) -> float:
        """exp of the mean negative log-likelihood of ``ids`` after ``prompt`` (unwatermarked)."""
        history: list[int] = np.asarray(prompt, dtype=np.int64).reshape(-1).tolist()
        total = 0.0
        tokens = np.asarray(ids, dtype=np.int64).reshape(-1)
        for token in tokens.tolist():
            total -= float(np.log(self.probabilities(np.array(history[-2:], dtype=np.int64))[token]))
            history.append(token)
        return float(np.exp(total / max(len(tokens), 1)))
