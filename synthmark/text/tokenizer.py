"""Tokenizers for the statistical watermark: a small lossless word tokenizer that synthmark
trains and ships, and a loader for tokenizer files (its own, or a Hugging Face
``tokenizer.json`` when the ``tokenizers`` package is installed).

:class:`WordTokenizer` splits text GPT-2 style (a word with its leading space, each CJK
character, short digit groups, punctuation runs, whitespace runs), maps the pieces in its
vocabulary to ids and everything else to its UTF-8 bytes (ids 0-255), so every text
round-trips exactly: ``decode(encode(text)) == text``.

>>> tok = WordTokenizer.train(["the cat sat on the mat. 猫坐在垫子上。"], size=300)
>>> ids = tok.encode("the cat sat on the mat!")
>>> tok.decode(ids)
'the cat sat on the mat!'
>>> len(ids) < len("the cat sat on the mat!")
True
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from synthmark.errors import InputError

__all__ = ["WordTokenizer", "load_tokenizer"]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECE = re.compile(
    rf" ?[{_CJK}]| ?[^\W\d_{_CJK}]+| ?\d{{1,3}}| ?[^\s\w{_CJK}]+| ?_+|\s+(?!\S)|\s+",
)
_FORMAT = "synthmark-tokenizer"


class WordTokenizer:
    """A lossless word-level tokenizer with byte fallback (ids 0-255 are bytes, 256+ pieces)."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self.pieces: list[str] = list(pieces)
        self._ids = {piece: 256 + i for i, piece in enumerate(self.pieces)}

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.pieces)

    @classmethod
    def train(cls, texts: Iterable[str], *, size: int = 16384) -> WordTokenizer:
        """The ``size - 256`` most frequent pieces of ``texts`` (ties in first-seen order)."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_PIECE.findall(text))
        return cls([piece for piece, _ in counts.most_common(max(0, size - 256))])

    def encode(self, text: str) -> np.ndarray:
        """Token ids (int64) of ``text``."""
        out: list[int] = []
        lookup = self._ids.get
        for piece in _PIECE.findall(text):
            token = lookup(piece)
            if token is None:
                out.extend(piece.encode("utf-8", "surrogatepass"))
            else:
                out.append(token)
        return np.array(out, dtype=np.int64)

    __call__ = encode

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (bytes that do not form UTF-8 become U+FFFD)."""
        chunks: list[bytes] = []
        for token in ids:
            token = int(token)
            chunks.append(bytes([token]) if token < 256 else self.pieces[token - 256].encode("utf-8"))
        return b"".join(chunks).decode("utf-8", "replace")

    def piece(self, token: int) -> str:
        """The text of one id (a byte id shows as ``<0xNN>``)."""
        return f"<0x{token:02X}>" if token < 256 else self.pieces[token - 256]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the tokenizer as JSON (``{"format": "synthmark-tokenizer", ...}``)."""
        doc = {"format": _FORMAT, "version": 1, "kind": "word-bytes", "pieces": self.pieces}
        target = Path(path)
        target.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        return target


class _HuggingFaceTokenizer:
    """A ``tokenizers.Tokenizer`` as a callable text -> ids (no special tokens added)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def __call__(self, text: str) -> np.ndarray:
        return np.array(self._tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int64)


def load_tokenizer(path: str | os.PathLike[str]) -> Any:
    """A callable text -> ids from a tokenizer file: synthmark's own JSON, or a Hugging Face
    ``tokenizer.json`` (needs ``pip install tokenizers``). Errors name the file and the fix."""
    try:
        doc = json.loads(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the tokenizer ({exc.strerror})", path=path, fix="check the path") from exc
    except ValueError as exc:
        raise InputError("the tokenizer file is not JSON", path=path, fix="pass a tokenizer.json") from exc
    if isinstance(doc, dict) and doc.get("format") == _FORMAT and isinstance(doc.get("pieces"), list):
        return WordTokenizer([str(p) for p in doc["pieces"]])
    if isinstance(doc, dict) and "model" in doc:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise InputError(
                "this is a Hugging Face tokenizer, and the tokenizers package is not installed",
                path=path,
                fix="pip install tokenizers",
            ) from exc
        try:
            return _HuggingFaceTokenizer(Tokenizer.from_file(os.fspath(path)))
        except Exception as exc:  # the Rust library raises its own exception type
            raise InputError(
                f"cannot load the tokenizer ({exc})", path=path, fix="pass a valid tokenizer.json"
            ) from exc
    raise InputError(
        "not a tokenizer file",
        path=path,
        fix="pass a synthmark tokenizer (fixtures/text/tokenizer.json) or a Hugging Face tokenizer.json",
    )
