"""Watermark payload <-> coded bits, shared by every modality's watermark.

Layout of the 96 information bits, most significant first::

    version (4) | content id (64) | MAC (28)

* the **content id** is 64 bits, by default :func:`content_id` of the metadata label's
  ProduceID, so a verifier can tell whether watermark and metadata belong together;
* the **MAC** is the first 28 bits of HMAC-SHA256 (payload subkey) over version and id: only the
  key holder can make a payload that checks, and it is the detection criterion;
* the bits are XOR-scrambled with a keyed stream, protected by a rate-1/3 convolutional code
  (constraint length 7, generators 133/171/165 octal, zero tail: 306 coded bits), and
  interleaved by a keyed permutation. Decoding is a soft-decision list Viterbi: the
  :data:`LIST_SIZE` (16) most likely words are checked against the MAC, best first.

False positives. On content without this key's mark, every candidate word is unrelated to the
key, so its MAC matches with probability 2^-28 = 3.7e-9 per MAC check. A detector that makes at
most ``A`` MAC checks per file (synchronisation candidates x list size) has a false-positive
rate of at most ``A`` x 2^-28 per file and key; :data:`MAX_ATTEMPTS` = 64 (the image detector
decodes at most 4 candidates x 16 words, the audio one 2 x 16) keeps it under 2.4e-7, below
the 1e-6 target. ``tests/test_payload.py`` checks the rate empirically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from synthmark.keys import WatermarkKey

__all__ = [
    "CODED_BITS",
    "ID_BITS",
    "LIST_SIZE",
    "MAC_BITS",
    "MAX_ATTEMPTS",
    "VERSION",
    "Decoded",
    "Mark",
    "WatermarkReport",
    "content_id",
    "decode",
    "encode",
    "false_positive_bound",
]

VERSION = 1
VERSION_BITS, ID_BITS, MAC_BITS = 4, 64, 28
INFO_BITS = VERSION_BITS + ID_BITS + MAC_BITS
_K = 7
_GENERATORS = (0o133, 0o171, 0o165)
CODED_BITS = (INFO_BITS + _K - 1) * len(_GENERATORS)
#: Candidate words a decoding checks against the MAC (list Viterbi; about 0.7 dB better than
#: plain Viterbi at the error rates that matter here).
LIST_SIZE = 16
#: Upper bound on MAC checks a detector may make per file and key (decodings x LIST_SIZE).
MAX_ATTEMPTS = 64


def false_positive_bound(attempts: int = MAX_ATTEMPTS) -> float:
    """Probability bound that unmarked content yields a valid payload in ``attempts`` tries."""
    return float(attempts) * 2.0**-MAC_BITS


def content_id(produce_id: str) -> int:
    """The 64-bit content id derived from a ProduceID: the first 8 bytes, big-endian, of
    SHA-256 of ``"synthmark/content-id/" + produce_id`` (UTF-8); the prefix keeps the id apart
    from any other SHA-256 of the same ProduceID."""
    digest = hashlib.sha256(b"synthmark/content-id/" + produce_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True)
class Decoded:
    """What :func:`decode` found: ``content_id`` is set only when the MAC checks (``valid``).

    ``raw_id`` is the decoder's best guess of the id even when the MAC fails (for bit-accuracy
    measurements); ``coded_agreement`` is the fraction of coded bits whose hard decision agrees
    with the re-encoded valid word (1.0 = no channel errors), or None when invalid.
    """

    valid: bool
    content_id: int | None
    version: int
    raw_id: int
    coded_agreement: float | None


def _bits(value: int, width: int) -> np.ndarray:
    return np.array([(value >> (width - 1 - i)) & 1 for i in range(width)], dtype=np.uint8)


def _int(bits: np.ndarray) -> int:
    return int("".join(str(int(b)) for b in bits) or "0", 2)


def _mac(key: WatermarkKey, version: int, cid: int) -> int:
    return key.mac(bytes([version]) + cid.to_bytes(8, "big"), MAC_BITS)


@lru_cache(maxsize=1)
def _trellis() -> tuple[np.ndarray, np.ndarray]:
    """For each next state (64) and its two predecessors: predecessor state and output bits."""
    states = 1 << (_K - 1)
    prev = np.zeros((states, 2), dtype=np.int64)
    out = np.zeros((states, 2, len(_GENERATORS)), dtype=np.int8)
    for nxt in range(states):
        u = nxt & 1
        for j, high in enumerate((0, 1)):
            p = (nxt >> 1) | (high << (_K - 2))
            reg = (p << 1) | u  # 7-bit register: oldest bit first
            prev[nxt, j] = p
            out[nxt, j] = [bin(reg & g).count("1") & 1 for g in _GENERATORS]
    return prev, out


def _convolve(info: np.ndarray) -> np.ndarray:
    bits = np.concatenate([info, np.zeros(_K - 1, np.uint8)]).astype(np.int64)
    state, coded = 0, list[int]()
    for u in bits:
        reg = (state << 1) | int(u)
        coded.extend(bin(reg & g).count("1") & 1 for g in _GENERATORS)
        state = reg & ((1 << (_K - 1)) - 1)
    return np.array(coded, dtype=np.uint8)


def _list_viterbi(soft: np.ndarray, size: int) -> list[np.ndarray]:
    """The ``size`` most likely info-bit sequences for soft values (positive = bit 1), best
    first: a parallel list Viterbi over the zero-tailed trellis (``size`` = 1 is plain Viterbi)."""
    prev, out = _trellis()
    signs = 2.0 * out.astype(np.float64) - 1.0  # (64, 2, 3)
    steps = soft.reshape(-1, len(_GENERATORS)).astype(np.float64)
    states = 1 << (_K - 1)
    metric = np.full((states, size), -np.inf)
    metric[0, 0] = 0.0
    back = np.zeros((len(steps), states, size), dtype=np.int32)  # predecessor j * size + its rank
    for t, obs in enumerate(steps):
        candidates = (metric[prev] + (signs @ obs)[:, :, None]).reshape(states, 2 * size)
        best = np.argsort(-candidates, axis=1, kind="stable")[:, :size]
        back[t] = best
        metric = np.take_along_axis(candidates, best, axis=1)
    paths = []
    for rank in range(size):
        if not np.isfinite(metric[0, rank]):
            break
        state, bits = 0, []
        for t in range(len(steps) - 1, -1, -1):
            bits.append(state & 1)
            j, rank_before = divmod(int(back[t, state, rank]), size)
            state, rank = int(prev[state, j]), rank_before
        paths.append(np.array(bits[::-1][: len(steps) - (_K - 1)], dtype=np.uint8))
    return paths


def _scramble(key: WatermarkKey) -> np.ndarray:
    return key.rng("payload", "scramble").integers(0, 2, INFO_BITS, dtype=np.uint8)


def _interleave(key: WatermarkKey) -> np.ndarray:
    return key.rng("payload", "interleave").permutation(CODED_BITS)


def encode(cid: int, key: WatermarkKey, *, version: int = VERSION) -> np.ndarray:
    """The ``CODED_BITS`` (306) channel bits (uint8 0/1) carrying ``cid`` under ``key``."""
    if not 0 <= cid < 1 << ID_BITS:
        raise ValueError(f"content id must be in [0, 2**64), got {cid}")
    info = np.concatenate([_bits(version, VERSION_BITS), _bits(cid, ID_BITS), _bits(_mac(key, version, cid), MAC_BITS)])
    coded = _convolve(info ^ _scramble(key))
    out = np.empty_like(coded)
    out[_interleave(key)] = coded
    return out


def decode(soft: np.ndarray, key: WatermarkKey, *, list_size: int = LIST_SIZE) -> Decoded:
    """Decode ``CODED_BITS`` soft values (positive means 1, magnitude = confidence).

    The ``list_size`` most likely words are checked against the MAC, best first; the first
    that checks is the payload. Each word is one MAC check for the false-positive bound.
    """
    coded_soft = np.asarray(soft, dtype=np.float64)[_interleave(key)]
    scramble = _scramble(key)
    first: tuple[int, int] | None = None
    for path in _list_viterbi(coded_soft, list_size):
        info = path ^ scramble
        version = _int(info[:VERSION_BITS])
        cid = _int(info[VERSION_BITS : VERSION_BITS + ID_BITS])
        first = first or (version, cid)
        if version == VERSION and _int(info[VERSION_BITS + ID_BITS :]) == _mac(key, version, cid):
            expected = encode(cid, key, version=version)
            agreement = float(np.mean((np.asarray(soft) > 0) == (expected == 1)))
            return Decoded(True, cid, version, cid, agreement)
    version, cid = first if first is not None else (0, 0)
    return Decoded(False, None, version, cid, None)


@dataclass(frozen=True)
class Mark:
    """A watermark to embed: the key and the 64-bit content id."""

    key: WatermarkKey
    content_id: int


@dataclass(frozen=True)
class WatermarkReport:
    """What a modality's ``detect_watermark`` found.

    ``found`` is True only when a payload decoded and its keyed MAC checked (false-positive
    rate bounded by :func:`false_positive_bound` per file and key). Then ``key_id`` names the
    key, ``content_id`` is the 64-bit id and ``payload_hex`` its 16 hex digits. ``p_value``
    bounds the chance that unmarked content shows a pilot this strong; ``pilot_z`` is that
    pilot's z-score. ``raw_id`` is the decoder's best guess even when nothing was found (for
    bit-accuracy measurements); ``attempts`` the decodings tried. Modalities add their geometry
    (image: scale, rotation, mirroring; audio: time offset).
    """

    found: bool
    key_id: str | None = None
    content_id: int | None = None
    p_value: float = 1.0
    pilot_z: float = 0.0
    raw_id: int | None = None
    attempts: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def payload_hex(self) -> str | None:
        return None if self.content_id is None else f"{self.content_id:016x}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``synthmark verify --json``); never contains key material."""
        return {
            "found": self.found,
            "checked": True,
            "key_id": self.key_id,
            "payload": self.payload_hex,
            "p_value": self.p_value,
            "pilot_z": round(self.pilot_z, 2),
            **self._geometry(),
        }

    def _geometry(self) -> dict[str, Any]:
        return {}
