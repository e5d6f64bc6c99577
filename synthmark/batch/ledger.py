"""The batch ledger: one SQLite row per source file, which makes runs resumable.

SQLite in WAL mode with ``synchronous=NORMAL``: a committed row survives the process being
killed at any point (``kill -9``), and a power cut loses at most the last rows, whose files
are then simply redone. A row is committed only after its output was renamed into place, so
a ``done`` row always has a complete output behind it. An exclusive lock file beside the
database keeps two runs from sharing a ledger.

Schema (``files``, primary key ``source``)::

    source            path relative to SRC (archive members: archive path / member path)
    source_sha256     SHA-256 of the source bytes      source_size, source_mtime_ns
    status            done | failed                    action: labeled | propagated | copied | failed
    reason            why a file was copied unchanged
    media_type, format                                 e.g. image/jpeg, jpeg
    class             "1" | "2" | "3" | NULL (art. 6)   verdict: confirmed|possible|suspected|none
    basis             metadata | declared | traces | none;  traces: watermark,c2pa,visible
    declared          1 when on the declared list
    label             the AIGC label written (or kept), compact JSON
    layers            what was written: visible,watermark,metadata,c2pa
    watermark_in      payload found in the input (hex)  watermark_payload, watermark_key_id: embedded
    c2pa_in           none | Trusted | Valid (untrusted signer) | Invalid | not-checked
    c2pa_out          signed | chained (input = parent ingredient) | kept | stale | none
    output, output_sha256, output_size
    error_kind        corrupt | unsupported | too-large | permission | refused | unreadable | label |
                      watermark | c2pa | output | error | internal | crash
    error             the one-line message (file and fix)
    warnings, options (fingerprint of the run's options), run_id, started (epoch s), seconds

``runs`` has one row per run: its options (key ids, never keys), SRC, DEST, start and end,
counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthmark.batch.work import Outcome
from synthmark.errors import BatchError

__all__ = ["COLUMNS", "Ledger", "Row"]

SCHEMA_VERSION = 1

#: The ``files`` columns, in order (see the module docstring).
COLUMNS: tuple[str, ...] = (
    "source",
    "source_sha256",
    "source_size",
    "source_mtime_ns",
    "status",
    "action",
    "reason",
    "media_type",
    "format",
    "class",
    "verdict",
    "basis",
    "traces",
    "declared",
    "label",
    "layers",
    "watermark_in",
    "watermark_payload",
    "watermark_key_id",
    "c2pa_in",
    "c2pa_out",
    "output",
    "output_sha256",
    "output_size",
    "error_kind",
    "error",
    "warnings",
    "options",
    "run_id",
    "started",
    "seconds",
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL, finished REAL,
    src TEXT NOT NULL, dest TEXT NOT NULL,
    options TEXT NOT NULL, fingerprint TEXT NOT NULL, version TEXT NOT NULL,
    done INTEGER, failed INTEGER, skipped INTEGER
);
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    {", ".join(f'"{c}"' for c in COLUMNS[1:])}
);
"""


@dataclass(frozen=True)
class Row:
    """What the ledger knows of a file, for deciding whether to redo it."""

    status: str
    source_sha256: str | None
    source_size: int | None
    source_mtime_ns: int | None
    options: str | None
    declared: bool
    output: str | None
    output_size: int | None


class Ledger:
    """An open ledger (a context manager). Raises :class:`~synthmark.errors.BatchError` when
    another run holds it or the file is not a synthmark ledger."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock: Any = None
        try:
            if readonly:
                if not self.path.is_file():
                    raise BatchError("no such ledger", path=self.path, fix="pass the ledger a batch run wrote")
                self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._take_lock()
                self.db = sqlite3.connect(self.path, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(_SCHEMA)
                self.db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?), ('made_by', 'synthmark batch')",
                    (str(SCHEMA_VERSION),),
                )
            version = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise BatchError(
                f"not a usable synthmark ledger ({exc})", path=self.path, fix="pass another --ledger path"
            ) from exc
        except OSError as exc:
            self.close()
            raise BatchError(
                f"cannot open the ledger ({exc.strerror})", path=self.path, fix="check the folder's permissions"
            ) from exc
        if version is None or version[0] != str(SCHEMA_VERSION):
            self.close()
            raise BatchError(
                "ledger schema is not this version's", path=self.path, fix="use a new --ledger path for this run"
            )

    def _take_lock(self) -> None:
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+b")  # noqa: SIM115 - held for the ledger's lifetime
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise BatchError(
                "another batch run is using this ledger",
                path=self.path,
                fix="wait for it to finish, or pass another --ledger",
            ) from exc
        self._lock = handle

    def close(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            with contextlib.suppress(sqlite3.Error):
                db.close()
            self.db = None  # type: ignore[assignment]
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------------------
    def start_run(self, src: str, dest: str, options: dict[str, Any], fingerprint: str, version: str) -> int:
        cursor = self.db.execute(
            "INSERT INTO runs (started, src, dest, options, fingerprint, version) VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), src, dest, json.dumps(options, sort_keys=True), fingerprint, version),
        )
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, done: int, failed: int, skipped: int) -> None:
        self.db.execute(
            "UPDATE runs SET finished = ?, done = ?, failed = ?, skipped = ? WHERE id = ?",
            (time.time(), done, failed, skipped, run_id),
        )

    # -- files ---------------------------------------------------------------------------
    def get(self, source: str) -> Row | None:
        found = self.db.execute(
            "SELECT status, source_sha256, source_size, source_mtime_ns, options, declared, output, output_size "
            "FROM files WHERE source = ?",
            (source,),
        ).fetchone()
        if found is None:
            return None
        return Row(found[0], found[1], found[2], found[3], found[4], bool(found[5]), found[6], found[7])

    def record(self, outcome: Outcome, *, options: str, run_id: int) -> None:
        """Insert or replace the file's row and commit (autocommit: one transaction per row)."""
        values = {
            "source": outcome.rel,
            "source_sha256": outcome.source_sha256,
            "source_size": outcome.source_size,
            "source_mtime_ns": outcome.source_mtime_ns,
            "status": outcome.status,
            "action": outcome.action,
            "reason": outcome.reason,
            "media_type": outcome.media_type,
            "format": outcome.format,
            "class": outcome.classification,
            "verdict": outcome.verdict,
            "basis": outcome.basis,
            "traces": outcome.traces,
            "declared": int(outcome.declared),
            "label": outcome.label_json,
            "layers": outcome.layers,
            "watermark_in": outcome.watermark_in,
            "watermark_payload": outcome.watermark_payload,
            "watermark_key_id": outcome.watermark_key_id,
            "c2pa_in": outcome.c2pa_in,
            "c2pa_out": outcome.c2pa_out,
            "output": outcome.output,
            "output_sha256": outcome.output_sha256,
            "output_size": outcome.output_size,
            "error_kind": outcome.error_kind,
            "error": outcome.error,
            "warnings": outcome.warnings,
            "options": options,
            "run_id": run_id,
            "started": outcome.started,
            "seconds": round(outcome.seconds, 6),
        }
        marks = ", ".join("?" for _ in COLUMNS)
        names = ", ".join(f'"{c}"' for c in COLUMNS)
        self.db.execute(f"INSERT OR REPLACE INTO files ({names}) VALUES ({marks})", [values[c] for c in COLUMNS])

    def touch(self, source: str, size: int, mtime_ns: int) -> None:
        """A file whose stat changed but whose bytes did not: remember the new stat."""
        self.db.execute(
            "UPDATE files SET source_size = ?, source_mtime_ns = ? WHERE source = ?", (size, mtime_ns, source)
        )

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every file row as a dict (streamed, sorted by source)."""
        cursor = self.db.execute("SELECT " + ", ".join(f'"{c}"' for c in COLUMNS) + " FROM files ORDER BY source")
        for row in cursor:
            yield dict(zip(COLUMNS, row, strict=True))

    def count(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return list(self.db.execute(sql, args))
