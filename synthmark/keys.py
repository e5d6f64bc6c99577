"""Watermark keys: generation, owner-only storage, short public key ids, keyed streams.

A key is 32 random bytes. Everything secret that synthmark derives from it — pseudo-random
patterns, permutations, scrambling bits, payload MACs — comes from HMAC-SHA256 under a
purpose label, so no two uses share material and the key itself never leaves this module: it
is not in ``repr``, logs, reports or payloads. The public key id is a one-way digest, safe to
print and store.

Key file (JSON, written with mode 0600)::

    {"format": "synthmark-key", "version": 1, "key_id": "...", "secret": "<base64, 32 bytes>"}
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from synthmark._atomic import check_output, write_atomic
from synthmark.errors import ExposedKeyWarning, InputError, KeyFileError

__all__ = ["KEY_BYTES", "KeyFileError", "WatermarkKey", "generate_key", "load_key", "load_keys", "parse_key"]

KEY_BYTES = 32
_FORMAT = "synthmark-key"


class WatermarkKey:
    """A secret watermark key. Build with :func:`generate_key` or :func:`load_key`.

    ``key_id`` (12 hex digits) identifies the key publicly; the secret is never shown.
    """

    __slots__ = ("_secret", "key_id")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != KEY_BYTES:
            raise KeyFileError(
                f"a key is {KEY_BYTES} bytes, got {len(secret)}", fix="generate one with synthmark keygen"
            )
        self._secret = bytes(secret)
        self.key_id = hmac.new(self._secret, b"synthmark/key-id", hashlib.sha256).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"WatermarkKey(key_id={self.key_id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WatermarkKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.key_id)

    def derive(self, *purpose: str | int) -> bytes:
        """32 bytes for one purpose, e.g. ``derive("image", "pattern", 1)``."""
        label = "/".join(str(p) for p in purpose).encode()
        return hmac.new(self._secret, b"synthmark/" + label, hashlib.sha256).digest()

    def rng(self, *purpose: str | int) -> np.random.Generator:
        """A numpy Generator (PCG64) seeded from :meth:`derive` for that purpose."""
        return np.random.default_rng(np.frombuffer(self.derive(*purpose), dtype=np.uint32))

    def mac(self, message: bytes, bits: int) -> int:
        """The first ``bits`` (<= 256) bits of HMAC-SHA256 under the payload-MAC subkey."""
        digest = hmac.new(self.derive("payload", "mac"), message, hashlib.sha256).digest()
        return int.from_bytes(digest, "big") >> (256 - bits)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the key file atomically with owner-only permissions (0600)."""
        target = check_output(path, overwrite=overwrite)
        doc = {
            "format": _FORMAT,
            "version": 1,
            "key_id": self.key_id,
            "secret": base64.b64encode(self._secret).decode("ascii"),
        }
        return write_atomic(target, (json.dumps(doc, indent=2) + "\n").encode(), mode=0o600)


def generate_key() -> WatermarkKey:
    """A fresh key from the operating system's CSPRNG."""
    return WatermarkKey(secrets.token_bytes(KEY_BYTES))


#: Largest key file read (bytes); a key file is about 200 bytes.
MAX_KEY_FILE_BYTES = 64 << 10


def load_key(path: str | os.PathLike[str]) -> WatermarkKey:
    """Read a key file; raises :class:`KeyFileError` naming the file and the fix."""
    from synthmark.formats import read_bytes

    try:
        raw = read_bytes(path, limit=MAX_KEY_FILE_BYTES)
    except InputError as exc:
        raise KeyFileError(f"cannot read the key file: {exc.message}", path=path, fix="pass a key file") from exc
    key = parse_key(raw, path=path)
    _warn_if_exposed(path)
    return key


def _warn_if_exposed(path: str | os.PathLike[str]) -> None:
    """An :class:`ExposedKeyWarning` when group or others may read or write the key file (as ssh
    does for private keys); synthmark writes its key files with mode 0600."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if mode & 0o077:
        warnings.warn(
            ExposedKeyWarning(
                f"{os.fspath(path)}: key file is readable by other users (mode {mode:04o}); "
                f"chmod 600 {os.fspath(path)} (the key is a secret)"
            ),
            stacklevel=3,
        )


def parse_key(raw: bytes, *, path: str | os.PathLike[str] | None = None) -> WatermarkKey:
    """The key in the bytes of a key file; raises :class:`KeyFileError` naming ``path`` and the fix."""
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT or doc.get("version") != 1:
            raise ValueError("not a synthmark key")
        secret = base64.b64decode(doc["secret"], validate=True)
        if len(secret) != KEY_BYTES:
            raise ValueError(f"secret is {len(secret)} bytes")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise KeyFileError("not a synthmark key file", path=path, fix="generate one with synthmark keygen") from exc
    key = WatermarkKey(secret)
    if doc.get("key_id") not in (None, key.key_id):
        raise KeyFileError(
            "key file is damaged (key id does not match the secret)", path=path, fix="restore it from backup"
        )
    return key


def load_keys(paths: Iterable[str | os.PathLike[str]]) -> list[WatermarkKey]:
    """Keys from files and folders (every ``*.key`` / ``*.json`` key file in a folder), de-duplicated."""
    keys: list[WatermarkKey] = []
    for entry in paths:
        path = Path(entry)
        files = sorted(p for p in path.iterdir() if p.suffix in (".key", ".json")) if path.is_dir() else [path]
        if not files:
            raise KeyFileError("the key folder holds no key file (*.key, *.json)", path=path, fix="pass a key file")
        for file in files:
            key = load_key(file)
            if key not in keys:
                keys.append(key)
    return keys
