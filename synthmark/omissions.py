"""The art. 9 record: content handed out without its explicit label at a user's request.

Art. 9 of the *Measures for Labeling AI-Generated Synthetic Content* lets a service hand out
content without the explicit label when a user asks for it, provided the service keeps a log of
it for at least six months. :class:`OmissionLog` is that log: an append-only SQLite database
(WAL, ``synchronous=FULL``: a record returned from :meth:`~OmissionLog.record` survives a crash
or power cut) with one row per hand-out:

====================  ==================================================================
``id``                row number
``recorded``          UTC time, ISO 8601 (``2026-12-03T17:02:11.123Z``)
``producer``          ContentProducer of the metadata label written
``produce_id``        ProduceID
``media_type``        e.g. ``image/jpeg``
``sha256``            SHA-256 of the file handed out (hex)
``omitted``           which explicit label was left out: ``visible`` or ``audible``
``user``              the caller-supplied user or account id (may be empty)
``output``            where the file was written, if on disk
====================  ==================================================================

There is no delete or update: rows are kept (:data:`RETENTION_DAYS` is the legal minimum; the
log keeps everything). :meth:`~OmissionLog.export` writes CSV or JSON for an auditor.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from synthmark.errors import OutputNotWritableError

__all__ = ["DEFAULT_PATH", "RETENTION_DAYS", "Omission", "OmissionLog", "default_path"]

#: How long art. 9 asks for the records to be kept (at least six months).
RETENTION_DAYS = 183
#: Where the CLI keeps the log unless ``--omission-log`` or ``SYNTHMARK_OMISSION_LOG`` say otherwise.
DEFAULT_PATH = Path("~/.local/share/synthmark/omissions.sqlite")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS omissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded TEXT NOT NULL,
    producer TEXT NOT NULL,
    produce_id TEXT NOT NULL,
    media_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    omitted TEXT NOT NULL,
    user TEXT NOT NULL,
    output TEXT
);
CREATE TRIGGER IF NOT EXISTS omissions_append_only_update BEFORE UPDATE ON omissions
BEGIN SELECT RAISE(ABORT, 'the art. 9 log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS omissions_append_only_delete BEFORE DELETE ON omissions
BEGIN SELECT RAISE(ABORT, 'the art. 9 log is append-only'); END;
"""


def default_path() -> Path:
    """``SYNTHMARK_OMISSION_LOG`` if set, else :data:`DEFAULT_PATH` (user home expanded)."""
    return Path(os.environ.get("SYNTHMARK_OMISSION_LOG") or DEFAULT_PATH).expanduser()


@dataclass(frozen=True)
class Omission:
    """One logged hand-out (see the module table)."""

    id: int
    recorded: str
    producer: str
    produce_id: str
    media_type: str
    sha256: str
    omitted: str
    user: str
    output: str | None


class OmissionLog:
    """The append-only art. 9 log at ``path`` (created with its folder on first use).

    Thread-safe; one connection per instance. Raises :class:`OutputNotWritableError` when the
    database cannot be created or written (a label must not be handed out unlogged).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise OutputNotWritableError(
                f"cannot open the art. 9 omission log ({exc})",
                path=self.path,
                fix="pass a writable --omission-log path (or set SYNTHMARK_OMISSION_LOG)",
            ) from exc

    def __enter__(self) -> OmissionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def record(
        self,
        *,
        producer: str,
        produce_id: str,
        media_type: str,
        sha256: str,
        omitted: str,
        user: str = "",
        output: str | None = None,
    ) -> Omission:
        """Append one hand-out and commit it durably before returning it."""
        recorded = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        values = (recorded, producer, produce_id, media_type, sha256, omitted, user, output)
        try:
            with self._lock:
                cursor = self._db.execute(
                    "INSERT INTO omissions (recorded, producer, produce_id, media_type, sha256, omitted, user, output)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    values,
                )
        except sqlite3.Error as exc:
            raise OutputNotWritableError(
                f"cannot write the art. 9 omission log ({exc})", path=self.path, fix="check the disk and permissions"
            ) from exc
        return Omission(int(cursor.lastrowid or 0), *values)

    def __iter__(self) -> Iterator[Omission]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM omissions ORDER BY id").fetchall()
        return (Omission(*row) for row in rows)

    def export(self, *, format: str = "csv", since: str | None = None) -> str:
        """Every record (or those recorded at or after the ISO date/time ``since``), as CSV
        (header row, the module table's columns) or a JSON array."""
        rows = [asdict(row) for row in self if since is None or row.recorded >= since]
        if format == "json":
            return json.dumps(rows, ensure_ascii=False, indent=2)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=[name for name in Omission.__dataclass_fields__])
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
