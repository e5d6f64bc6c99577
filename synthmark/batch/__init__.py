"""Batch relabeling of media archives: resumable, crash-safe, parallel, distributed.

:func:`relabel` walks SRC (a folder tree, zip and tar archives inside it, or an archive
itself), classifies every file by art. 6 of the Measures, labels it as a producer or a
propagator and writes the result to DEST, mirroring the tree; :func:`report` sums up a ledger.

Layout: :mod:`~synthmark.batch.walk` (the streaming walk, path safety),
:mod:`~synthmark.batch.classify` (the art. 6 decision), :mod:`~synthmark.batch.work` (the
per-file job), :mod:`~synthmark.batch.ledger` (SQLite, one row per file),
:mod:`~synthmark.batch.executors` (inline, process pool, Dask).

The coordinator (this module) owns the ledger: a task is made for each file the ledger does
not already hold as done under the same options (same size and mtime: trusted; otherwise the
worker hashes the file first and skips it when its bytes are unchanged), workers write
``DEST/rel`` atomically (temp file, fsync, rename) and the row is committed after the rename.
Killed at any point, a rerun of the same call finishes what is left.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthmark._atomic import write_atomic
from synthmark.aigc import AIGCLabel, check_wording, validate
from synthmark.batch.classify import CLASS_NAMES, Classification, classify
from synthmark.batch.executors import Executor, make_executor
from synthmark.batch.ledger import COLUMNS, Ledger
from synthmark.batch.walk import LEDGER_NAME, Entry, Filter, count, walk
from synthmark.batch.work import NOTICE_TEXTS, UNKNOWN, Notice, Options, Outcome, Role, Task, error_kind, safe_output
from synthmark.errors import BatchError, InputError, SynthmarkError, WordingError
from synthmark.keys import WatermarkKey

__all__ = [
    "COLUMNS",
    "LEDGER_NAME",
    "UNKNOWN",
    "BatchReport",
    "Classification",
    "Options",
    "Outcome",
    "Progress",
    "Summary",
    "classify",
    "export",
    "load_declared",
    "relabel",
    "report",
]

# write_atomic's temporary names: ".<name>.<8 random characters>.tmp".
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


@dataclass
class Progress:
    """Where a run stands, passed to the ``progress`` callback after every file.

    ``total_files`` / ``total_bytes`` are None while unknown (a compressed tar is not read
    twice just to count it).
    """

    files: int = 0
    bytes: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    total_files: int | None = None
    total_bytes: int | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


@dataclass(frozen=True)
class Summary:
    """What one :func:`relabel` call did: files seen, ``done`` (labeled, propagated or
    copied this run), ``skipped`` (already done), ``failed``; ``actions`` and ``classes``
    counted over this run's files, ``errors`` per error kind; ``seconds`` wall time and
    ``files_per_second`` over the files processed (skipped ones excluded)."""

    ledger: str
    run_id: int
    files: int
    done: int
    skipped: int
    failed: int
    bytes: int
    seconds: float
    actions: dict[str, int]
    classes: dict[str, int]
    errors: dict[str, int]
    workers: int

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return self.failed == 0

    @property
    def files_per_second(self) -> float:
        processed = self.done + self.failed
        return processed / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "run_id": self.run_id,
            "files": self.files,
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "files_per_second": round(self.files_per_second, 2),
            "actions": self.actions,
            "classes": self.classes,
            "errors": self.errors,
            "workers": self.workers,
        }


#: Largest declared list read (bytes): about 2.5 million SHA-256 lines.
MAX_DECLARED_LIST_BYTES = 256 << 20


def load_declared(path: str | os.PathLike[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Read a declared list: one entry per line, a source path relative to SRC (as the ledger
    writes it) or a file's SHA-256 (64 hex digits); blank lines and ``#`` comments ignored.
    Returns (paths, hashes)."""
    from synthmark.formats import read_bytes

    fix = "pass a UTF-8 text file, one entry per line"
    try:
        text = read_bytes(path, limit=MAX_DECLARED_LIST_BYTES).decode("utf-8")
    except InputError as exc:
        raise BatchError(f"cannot read the declared list: {exc.message}", path=path, fix=fix) from exc
    except UnicodeDecodeError as exc:
        raise BatchError(f"the declared list is not UTF-8 ({exc.reason})", path=path, fix=fix) from exc
    paths, hashes = set(), set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if re.fullmatch(r"[0-9a-fA-F]{64}", line):
            hashes.add(line.lower())
        else:
            paths.add(line.removeprefix("./"))
    return frozenset(paths), frozenset(hashes)


def _check_code(value: str | None, option: str) -> str:
    if not value:
        raise BatchError(f"{option} is required for this role", fix=f"pass {option} CODE (your provider code)")
    problems = [p for p in validate(AIGCLabel("1", value, "x", "", value, "x")) if p.code == "charset"]
    if problems:
        raise BatchError(f"{option} {value!r}: {problems[0].message}", fix="use the 27-character provider code")
    return value


def _clean_temps(dest: Path) -> int:
    """Remove temporary files an interrupted run left in DEST (never renamed into place)."""
    removed = 0
    stack = [dest]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif _TEMP.match(entry.name) and entry.is_file(follow_symlinks=False):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def relabel(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    role: Role = "propagator",
    propagator: str | None = None,
    reserved_code2: str = "",
    producer: str | None = None,
    keys: Sequence[WatermarkKey] = (),
    embed: bool | None = None,
    trust: Sequence[bytes] = (),
    signer: Any = None,
    notice: Notice = "auto",
    notice_texts: Mapping[str, str] | None = None,
    declared: str | os.PathLike[str] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    jobs: int | None = None,
    scheduler: str | Any | None = None,
    ledger: str | os.PathLike[str] | None = None,
    progress: Callable[[Outcome | None, Progress], None] | None = None,
) -> Summary:
    """Relabel every file under ``src`` into ``dest`` (see the module docstring).

    Parameters
    ----------
    src:
        A folder (zip/tar archives inside are expanded into a folder of the archive's name) or
        an archive. Never modified.
    dest:
        The output folder (created); ``dest/rel`` mirrors each source file. Nothing is written
        outside it.
    role:
        ``"propagator"`` (a distribution platform: ``propagator`` code required,
        ``reserved_code2`` optional) or ``"producer"`` (label unlabeled files as AI-generated:
        ``producer`` code required).
    keys, embed:
        Watermark keys looked for; whether the first also embeds (None: role producer yes,
        propagator no; see :class:`~synthmark.batch.work.Options`).
    trust, signer:
        C2PA trust anchors (PEM bytes) and a signer from
        :func:`synthmark.provenance.load_signer` (None: no manifest is written).
    notice:
        ``"auto"`` (where the class needs the explicit label), ``"always"`` or ``"never"``
        (a metadata-only pass).
    notice_texts:
        The notice's first line per class (``"1"``, ``"2"``, ``"3"``), replacing those of
        :data:`~synthmark.batch.work.NOTICE_TEXTS` (AI生成 / 可能为AI生成 / 疑似AI生成); each must
        pass the wording rule (:class:`~synthmark.errors.WordingError` otherwise).
    declared:
        A file listing the sources users declared AI-generated (:func:`load_declared`).
    include, exclude:
        Glob patterns on the relative path or the base name (:class:`~synthmark.batch.walk.Filter`).
    jobs:
        Worker processes (default: the cores available; 1 runs in this process).
    scheduler:
        A Dask scheduler address or ``distributed.Client``: the work goes to that cluster.
    ledger:
        The SQLite ledger (default ``dest/.synthmark-batch.sqlite``).
    progress:
        Called as ``progress(outcome, state)`` after each file (``outcome`` None for a skipped one).

    Raises
    ------
    BatchError
        Bad invocation (missing code, SRC missing or inside DEST, ledger held by another run);
        errors of single files never raise, they are recorded in the ledger.
    """
    src_path, dest_path = Path(src).resolve(), Path(dest).resolve()
    if not src_path.exists():
        raise BatchError("no such folder or archive", path=src, fix="check SRC")
    if _inside(src_path, dest_path) or (src_path.is_file() and _inside(dest_path, src_path)):
        raise BatchError("SRC lies inside DEST", path=src, fix="choose a DEST outside SRC")
    if role == "propagator":
        propagator = _check_code(propagator, "--propagator")
    elif role == "producer":
        producer = _check_code(producer, "--producer")
    else:
        raise BatchError(f"unknown role {role!r}", fix="use producer or propagator")
    declared_paths, declared_hashes = load_declared(declared) if declared is not None else (frozenset(), frozenset())
    texts = {**NOTICE_TEXTS, **(notice_texts or {})}
    for cls, text in texts.items():
        if cls not in NOTICE_TEXTS or not check_wording(text).ok:
            raise WordingError(
                f"notice text {text!r} for class {cls!r} is not acceptable",
                fix="give classes 1, 2, 3 texts with an AI element (AI, 人工智能) and 生成 or 合成",
            )
    options = Options(
        role=role,
        propagator=propagator,
        reserved_code2=reserved_code2,
        producer=producer,
        keys=tuple(keys),
        embed=embed,
        trust=tuple(trust),
        signer=signer,
        notice=notice,
        notice_texts=tuple(sorted(texts.items())),
        declared_hashes=declared_hashes,
    )
    fingerprint = options.fingerprint()
    try:
        dest_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(f"cannot create DEST ({exc.strerror})", path=dest, fix="check the permissions") from exc
    ledger_path = Path(ledger).resolve() if ledger is not None else dest_path / LEDGER_NAME
    filt = Filter(tuple(include), tuple(exclude))
    import synthmark

    with Ledger(ledger_path) as book:
        _clean_temps(dest_path)
        executor = make_executor(jobs, scheduler)
        run_id = book.start_run(
            os.fspath(src_path), os.fspath(dest_path), options.describe(), fingerprint, synthmark.__version__
        )
        state = Progress()
        totals = count(src_path, filt, skip=[os.fspath(dest_path)])
        if totals is not None:
            state.total_files, state.total_bytes = totals
        actions: Counter[str] = Counter()
        classes: Counter[str] = Counter()
        errors: Counter[str] = Counter()

        def tasks() -> Iterator[Task | Outcome]:
            for entry in walk(src_path, filt, skip=[os.fspath(dest_path), os.fspath(ledger_path)]):
                item = _task(entry, book, fingerprint, dest_path, declared_paths, declared_hashes, executor)
                if item is None:
                    state.files += 1
                    state.skipped += 1
                    state.bytes += entry.size
                    if progress is not None:
                        progress(None, state)
                    continue
                yield item

        try:
            for outcome in executor.run(tasks(), options):
                if outcome.status == "unchanged":
                    book.touch(outcome.rel, outcome.source_size, outcome.source_mtime_ns)
                    state.skipped += 1
                else:
                    _finish(outcome, dest_path)
                    book.record(outcome, options=fingerprint, run_id=run_id)
                    if outcome.status == "done":
                        state.done += 1
                        actions[outcome.action] += 1
                        classes[CLASS_NAMES.get(outcome.classification or "", "none")] += 1
                    else:
                        state.failed += 1
                        errors[outcome.error_kind or "error"] += 1
                state.files += 1
                state.bytes += outcome.source_size
                if progress is not None:
                    progress(outcome, state)
        finally:
            close = getattr(executor, "close", None)
            if close is not None:
                close()
        book.finish_run(run_id, state.done, state.failed, state.skipped)
    return Summary(
        os.fspath(ledger_path),
        run_id,
        state.files,
        state.done,
        state.skipped,
        state.failed,
        state.bytes,
        state.elapsed,
        dict(actions),
        dict(classes),
        dict(errors),
        executor.workers,
    )


def _task(
    entry: Entry,
    book: Ledger,
    fingerprint: str,
    dest: Path,
    declared_paths: frozenset[str],
    declared_hashes: frozenset[str],
    executor: Executor,
) -> Task | Outcome | None:
    """The task for ``entry``, a ready failed outcome (refused or unreadable), or None when the
    ledger has it done under the same options with its output in place."""
    if entry.refused is not None:
        return Outcome(
            entry.rel,
            "failed",
            action="failed",
            source_size=entry.size,
            source_mtime_ns=entry.mtime_ns,
            error_kind=error_kind(entry.refused),
            error=str(entry.refused),
            started=time.time(),
        )
    declared = entry.rel in declared_paths
    row = book.get(entry.rel)
    known = None
    if row is not None and row.status == "done" and row.options == fingerprint and row.output is not None:
        declared_now = declared or (row.source_sha256 or "") in declared_hashes
        output = Path(row.output)
        try:
            in_place = output.stat().st_size == row.output_size and _inside(output, dest)
        except OSError:
            in_place = False
        if in_place and declared_now == row.declared:
            if row.source_size == entry.size and row.source_mtime_ns == entry.mtime_ns:
                return None
            known = row.source_sha256
    remote = executor.remote
    data = None
    if entry.path is None or remote:
        try:
            data = entry.read()
        except SynthmarkError as exc:
            return Outcome(
                entry.rel,
                "failed",
                action="failed",
                source_size=entry.size,
                source_mtime_ns=entry.mtime_ns,
                error_kind=error_kind(exc),
                error=str(exc),
                started=time.time(),
            )
    return Task(
        entry.rel,
        path=None if remote else entry.path,
        data=data,
        dest_root=None if remote else os.fspath(dest),
        declared=declared,
        known_sha256=known,
        size=entry.size,
        mtime_ns=entry.mtime_ns,
    )


def _finish(outcome: Outcome, dest: Path) -> None:
    """Write an output a remote worker sent back (temp + fsync + rename)."""
    if outcome.output_data is None:
        return
    try:
        target = safe_output(os.fspath(dest), outcome.rel)
        write_atomic(target, outcome.output_data)
        outcome.output = os.fspath(target)
    except SynthmarkError as exc:
        outcome.status, outcome.action = "failed", "failed"
        outcome.error_kind, outcome.error = error_kind(exc), str(exc)
    outcome.output_data = None


@dataclass(frozen=True)
class BatchReport:
    """Totals of a ledger: files per status, action, class, format and error kind."""

    ledger: str
    files: int
    statuses: dict[str, int]
    actions: dict[str, int]
    classes: dict[str, int]
    formats: dict[str, int]
    errors: dict[str, int]
    runs: int
    source_bytes: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "ledger": self.ledger,
            "files": self.files,
            "statuses": self.statuses,
            "actions": self.actions,
            "classes": self.classes,
            "formats": self.formats,
            "errors": self.errors,
            "runs": self.runs,
            "source_bytes": self.source_bytes,
            "seconds": round(self.seconds, 3),
        }


def report(ledger: str | os.PathLike[str]) -> BatchReport:
    """Totals per status, action, class (``confirmed``/``possible``/``suspected``/``none``),
    format and error kind of the ledger at ``ledger`` (read-only)."""
    with Ledger(ledger, readonly=True) as book:

        def grouped(column: str, where: str = "") -> dict[str, int]:
            rows = book.count(f'SELECT "{column}", COUNT(*) FROM files {where} GROUP BY 1 ORDER BY 2 DESC, 1')
            return {("none" if key is None or key == "" else str(key)): n for key, n in rows}

        files, size, seconds = book.count(
            "SELECT COUNT(*), COALESCE(SUM(source_size), 0), COALESCE(SUM(seconds), 0) FROM files"
        )[0]
        classes = {CLASS_NAMES.get(k, k): n for k, n in grouped("class", "WHERE status = 'done'").items() if n}
        return BatchReport(
            os.fspath(ledger),
            files,
            grouped("status"),
            grouped("action"),
            classes,
            grouped("format"),
            grouped("error_kind", "WHERE status = 'failed'"),
            book.count("SELECT COUNT(*) FROM runs")[0][0],
            size,
            seconds,
        )


def export(ledger: str | os.PathLike[str], output: str | os.PathLike[str], *, fmt: str | None = None) -> int:
    """Write every file row of ``ledger`` to ``output`` as CSV or JSON (``fmt``, default from
    the suffix), atomically; returns the number of rows."""
    kind = fmt or Path(output).suffix.lstrip(".").lower()
    if kind not in ("csv", "json"):
        raise BatchError(f"unknown export format {kind!r}", path=output, fix="name the file .csv or .json")
    with Ledger(ledger, readonly=True) as book:
        rows: Iterable[dict[str, Any]] = book.rows()
        if kind == "json":
            listed = list(rows)
            text = json.dumps(listed, ensure_ascii=False, indent=1) + "\n"
            n = len(listed)
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
            writer.writeheader()
            n = 0
            for row in rows:
                writer.writerow(row)
                n += 1
            text = buffer.getvalue()
    write_atomic(output, text.encode("utf-8"))
    return n
