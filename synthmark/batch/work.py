"""The per-file job of a batch: bytes (or a path) in, one :class:`Outcome` out.

:func:`process` reads every layer of the file (:func:`synthmark.detect.verify_bytes`),
classifies it (:mod:`synthmark.batch.classify`), decides what to do and does it with
:func:`synthmark.labeling.label_bytes`:

* **propagator** (a distribution platform): a file with a label or a trace gets the
  platform's ``ContentPropagator`` / ``PropagateID`` (and ``ReservedCode2`` when set) with the
  producer fields kept, the explicit notice where its class needs one (``notice="auto"``:
  classes 2 and 3, and class 1 where the explicit layer was looked for and not found), a C2PA
  manifest chained to the input's (the input is the parent ingredient) when a signer is
  given; an unlabeled file is copied unchanged; a file already carrying this propagator's
  fields is copied unchanged (never a second label).
* **producer** (archives of generated media, labeled after the fact): a file without a
  metadata label gets Label ``"1"``, the producer code, the explicit label, the watermark
  (``key``) and C2PA; a file already labeled is copied unchanged.

IDs are derived, not drawn: ``PropagateID`` and ``ProduceID`` are the first 32 hex digits of
SHA-256 over (purpose, code, source SHA-256), so a rerun writes the same label, and the same
bytes (C2PA signatures aside, which carry a fresh signature each time).

Files without a known producer (class 2 or 3 and no metadata label) keep the producer fields of
a C2PA ``cn.tc260.aigc`` assertion when the file carries a manifest that is not Invalid;
otherwise ``ContentProducer`` and ``ProduceID`` are :data:`UNKNOWN` (Annex E makes both
required; the platform does not know them and must not invent them), and no watermark is
embedded (its payload is derived from the ProduceID).

Outputs are written temp + fsync + rename inside DEST (:func:`synthmark._atomic.write_atomic`),
or returned as bytes to the coordinator when the worker has no access to DEST (Dask).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from synthmark._atomic import write_atomic
from synthmark.aigc import AIGCLabel
from synthmark.audio import AudibleStyle
from synthmark.batch.classify import Classification, classify
from synthmark.errors import (
    CorruptFileError,
    InputError,
    LabelError,
    OutputError,
    ProvenanceError,
    RenderError,
    SynthmarkError,
    TooLargeError,
    UnsafePathError,
    UnsupportedFormatError,
    WatermarkError,
)
from synthmark.formats import MAX_FILE_BYTES, os_error, sniff
from synthmark.image.visible import LabelStyle
from synthmark.keys import WatermarkKey

__all__ = [
    "NOTICE_SECOND_LINE",
    "NOTICE_TEXTS",
    "UNKNOWN",
    "Options",
    "Outcome",
    "Task",
    "derive_id",
    "error_kind",
    "process",
    "safe_output",
]

#: ContentProducer / ProduceID written when a file's producer is not known.
UNKNOWN = "unknown"
#: The platform's explicit notice per class, in the reader's language (first line; each must
#: pass the wording rule), and its English second line. ``relabel(notice_texts=...)`` / the CLI's
#: ``--notice-text CLASS=TEXT`` replace the first lines (e.g. Douyin's 疑似使用了AI生成技术).
NOTICE_TEXTS = {"1": "AI生成", "2": "可能为AI生成", "3": "疑似AI生成"}
NOTICE_SECOND_LINE = {"1": "AI-generated", "2": "Possibly AI-generated", "3": "Suspected AI-generated"}
_CHUNK = 1 << 20

Role = Literal["producer", "propagator"]
Notice = Literal["auto", "always", "never"]


@dataclass(frozen=True)
class Options:
    """What every file of one run gets; travels once to each worker (keys and the signer
    included, so it is never logged or stored: the ledger keeps :meth:`describe`).

    ``role`` producer or propagator; ``propagator`` / ``reserved_code2`` the platform's code
    and integrity data; ``producer`` the producer code (role producer); ``keys`` the watermark
    keys looked for; ``embed`` whether the first key also embeds the watermark (None: the
    role's default, producer yes, propagator no; never where a watermark is already found, nor
    for an unknown producer, since the payload derives from the ProduceID); ``trust`` C2PA trust anchors (PEM);
    ``signer`` a C2PA :class:`~synthmark.provenance.Signer` or None; ``notice`` when the
    explicit label goes in (``auto``: where the class needs one, see the module docstring);
    ``declared_hashes`` SHA-256 hex digests of files the users declared AI-generated;
    ``notice_texts`` the notice's first line per class, as (class, text) pairs
    (:data:`NOTICE_TEXTS` by default).
    """

    role: Role = "propagator"
    propagator: str | None = None
    reserved_code2: str = ""
    producer: str | None = None
    keys: tuple[WatermarkKey, ...] = ()
    embed: bool | None = None
    trust: tuple[bytes, ...] = ()
    signer: Any = None
    notice: Notice = "auto"
    notice_texts: tuple[tuple[str, str], ...] = tuple(NOTICE_TEXTS.items())
    position: str = "bottom-right"
    declared_hashes: frozenset[str] = frozenset()

    def describe(self) -> dict[str, Any]:
        """The options as stored in the ledger: key ids and the signer's subject, never secrets."""
        signer = self.signer
        return {
            "role": self.role,
            "propagator": self.propagator,
            "reserved_code2": self.reserved_code2,
            "producer": self.producer,
            "key_ids": [k.key_id for k in self.keys],
            "embed": self.embeds,
            "trust": [hashlib.sha256(t).hexdigest()[:16] for t in self.trust],
            "c2pa_signer": None if signer is None else getattr(signer, "subject", "callback"),
            "c2pa_chain": None
            if signer is None
            else hashlib.sha256(getattr(signer, "cert_chain", b"") or b"").hexdigest()[:16],
            "notice": self.notice,
            "notice_texts": dict(self.notice_texts),
            "position": self.position,
        }

    @property
    def embeds(self) -> bool:
        """Whether the first key embeds the watermark (see ``embed``)."""
        return bool(self.keys) and (self.role == "producer" if self.embed is None else self.embed)

    def fingerprint(self) -> str:
        """A digest of :meth:`describe`: a file done under another fingerprint is redone."""
        import json

        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Task:
    """One file to do: ``rel`` (its path under SRC and DEST), ``path`` on disk or ``data``
    (archive members, remote workers), ``dest`` the output path the worker writes (None: return
    the bytes), ``declared`` whether ``rel`` is on the declared list, ``known_sha256`` the
    source hash the ledger holds when the file's size or mtime changed (the worker hashes first
    and answers ``unchanged`` without reading further when it still matches)."""

    rel: str
    path: str | None = None
    data: bytes | None = field(default=None, repr=False)
    dest: str | None = None
    dest_root: str | None = None
    declared: bool = False
    known_sha256: str | None = None
    size: int = 0
    mtime_ns: int = 0


@dataclass
class Outcome:
    """One ledger row's worth of what happened to a file (``output_data`` only when the
    worker did not write the output itself)."""

    rel: str
    status: Literal["done", "failed", "unchanged"]
    action: str = ""
    reason: str = ""
    source_sha256: str | None = None
    source_size: int = 0
    source_mtime_ns: int = 0
    media_type: str | None = None
    format: str | None = None
    classification: str | None = None
    verdict: str | None = None
    basis: str | None = None
    traces: str = ""
    declared: bool = False
    label_json: str | None = None
    layers: str = ""
    watermark_in: str | None = None
    watermark_payload: str | None = None
    watermark_key_id: str | None = None
    c2pa_in: str | None = None
    c2pa_out: str | None = None
    output: str | None = None
    output_sha256: str | None = None
    output_size: int | None = None
    error_kind: str | None = None
    error: str | None = None
    warnings: str = ""
    seconds: float = 0.0
    started: float = 0.0
    output_data: bytes | None = field(default=None, repr=False)


def derive_id(purpose: str, code: str, source_sha256: str) -> str:
    """32 hex digits from (purpose, code, source hash): the same file gets the same ID on
    every run, and two platforms or producers never share one."""
    return hashlib.sha256(f"synthmark-batch/{purpose}/{code}/{source_sha256}".encode()).hexdigest()[:32]


def error_kind(exc: BaseException) -> str:
    """The ledger's error class: corrupt, unsupported, too-large, permission, refused, label,
    watermark, c2pa, output, error (other synthmark errors) or internal (a bug or a
    dependency's failure, with its type)."""
    if isinstance(exc, InputError) and isinstance(exc.__cause__, PermissionError):
        return "permission"
    table: tuple[tuple[type[BaseException], str], ...] = (
        (UnsafePathError, "refused"),
        (TooLargeError, "too-large"),
        (UnsupportedFormatError, "unsupported"),
        (CorruptFileError, "corrupt"),
        (InputError, "unreadable"),
        (LabelError, "label"),
        (RenderError, "label"),
        (WatermarkError, "watermark"),
        (ProvenanceError, "c2pa"),
        (OutputError, "output"),
        (SynthmarkError, "error"),
        (PermissionError, "permission"),
        (MemoryError, "too-large"),
    )
    return next((kind for cls, kind in table if isinstance(exc, cls)), "internal")


def safe_output(dest_root: str, rel: str) -> Path:
    """``dest_root/rel`` with its folders made, refusing (:class:`UnsafePathError`) any path
    that resolves outside ``dest_root`` (a ``..`` or a symlinked folder planted in DEST) or
    that is itself a symlink."""
    root = os.path.realpath(dest_root)
    parts = rel.split("/")
    if not rel or any(p in ("", ".", "..") for p in parts) or rel.startswith("/"):
        raise UnsafePathError("output path would leave DEST", path=rel, fix="rename the source file")
    target = Path(root, *parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    parent = os.path.realpath(target.parent)
    if parent != root and not parent.startswith(root + os.sep):
        raise UnsafePathError(
            "output folder resolves outside DEST (a symlink in DEST?)", path=rel, fix="remove the symlink from DEST"
        )
    if target.is_symlink():
        raise UnsafePathError("output path is a symlink in DEST", path=rel, fix="remove the symlink from DEST")
    return target


def _hash_file(path: str, limit: int = MAX_FILE_BYTES) -> tuple[str, int]:
    """SHA-256 hex and size of a file read in 1 MiB chunks (nothing kept)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLargeError(
                        f"file is over the {limit}-byte limit",
                        path=path,
                        fix="raise synthmark.formats.MAX_FILE_BYTES if this file is trusted",
                    )
                digest.update(chunk)
    except OSError as exc:
        raise os_error(exc, path) from exc
    return digest.hexdigest(), size


def _read(task: Task) -> bytes:
    if task.data is not None:
        return task.data
    from synthmark.formats import read_bytes

    return read_bytes(task.path or task.rel)


def _c2pa_state(report: Any) -> str:
    c2pa = report.evidence.get("c2pa")
    if c2pa is None or not c2pa.checked:
        return "not-checked"
    if not c2pa.found:
        return "none"
    return str(c2pa.details.get("verdict") or "found")


def _producer_from_c2pa(report: Any, cls: str) -> AIGCLabel | None:
    """The producer fields of the input's C2PA AIGC assertion, when its manifest is not Invalid."""
    c2pa = report.evidence.get("c2pa")
    if c2pa is None or not c2pa.found or c2pa.details.get("state") == "Invalid":
        return None
    fields = c2pa.details.get("aigc")
    if not isinstance(fields, dict) or not fields.get("ContentProducer") or not fields.get("ProduceID"):
        return None
    return AIGCLabel(
        label=cls,
        content_producer=str(fields["ContentProducer"]),
        produce_id=str(fields["ProduceID"]),
        reserved_code1=str(fields.get("ReservedCode1", "")),
    )


def _wants_notice(options: Options, decision: Classification, report: Any) -> bool:
    if options.notice == "never" or decision.label is None:
        return False
    explicit = report.evidence.get("visible")
    shown = explicit is not None and explicit.checked and explicit.found
    if options.notice == "always" or options.role == "producer":
        return not shown
    if decision.label in ("2", "3"):
        return not shown
    # Class 1: the producer had to add the explicit label; add the notice only where the
    # explicit layer was looked for and is missing (audio, text).
    return explicit is not None and explicit.checked and not explicit.found


def process(task: Task, options: Options) -> Outcome:
    """Do one file; never raises for a bad file (the failure is in the :class:`Outcome`)."""
    started = time.time()
    clock = time.perf_counter()
    out = Outcome(task.rel, "failed", source_size=task.size, source_mtime_ns=task.mtime_ns, started=started)
    try:
        _process(task, options, out)
    except Exception as exc:  # a bad file never stops a batch: record why and go on
        out.status = "failed"
        out.action = "failed"
        out.error_kind = error_kind(exc)
        if isinstance(exc, SynthmarkError):
            out.error = str(exc.about(task.rel))  # bytes-level errors do not know the file's name
        else:
            out.error = f"{task.rel}: {type(exc).__name__}: {exc}"
        out.output_data = None
    out.seconds = time.perf_counter() - clock
    return out


def _process(task: Task, options: Options, out: Outcome) -> None:
    if task.known_sha256 is not None and task.path is not None:
        digest, size = _hash_file(task.path)
        if digest == task.known_sha256:
            out.status, out.source_sha256, out.source_size = "unchanged", digest, size
            return
    data = _read(task)
    sha = hashlib.sha256(data).hexdigest()
    out.source_sha256, out.source_size = sha, len(data)
    if task.known_sha256 == sha:
        out.status = "unchanged"
        return
    fmt = sniff(data, path=task.rel)
    out.media_type, out.format = fmt.media_type, fmt.name
    from synthmark.detect import verify_bytes

    report = verify_bytes(data, keys=options.keys, trust=options.trust)
    out.declared = task.declared or sha in options.declared_hashes
    decision = classify(report, declared=out.declared)
    out.verdict, out.classification, out.basis = report.verdict, decision.label, decision.basis
    out.traces = ",".join(decision.traces)
    watermark = report.evidence.get("watermark")
    if watermark is not None and watermark.found:
        out.watermark_in = watermark.details.get("payload")
    out.c2pa_in = _c2pa_state(report)

    label, reason = _plan(options, report, decision, sha)
    if label is None:
        out.action, out.reason, output = "copied", reason, data
        out.c2pa_out = "kept" if out.c2pa_in not in ("none", "not-checked") else "none"
        if report.label is not None:
            out.label_json = report.label.to_json()
    else:
        output = _label(task, options, report, decision, label, data, out)
    out.output_sha256, out.output_size = hashlib.sha256(output).hexdigest(), len(output)
    if task.dest_root is not None:
        target = safe_output(task.dest_root, task.rel)
        write_atomic(target, output)
        out.output = os.fspath(target)
    else:
        out.output_data = output
    out.status = "done"


def _plan(options: Options, report: Any, decision: Classification, sha: str) -> tuple[AIGCLabel | None, str]:
    """The label to write, or None and why the file is copied unchanged."""
    existing: AIGCLabel | None = report.label
    if options.role == "producer":
        if existing is not None:
            return None, "already carries a metadata label (a producer's label is never replaced)"
        code = options.producer or ""
        return AIGCLabel.new(code, produce_id=derive_id("produce", code, sha), label="1"), ""
    code = options.propagator or ""
    if decision.label is None:
        return None, "no label and no trace of AI generation: left unlabeled"
    if existing is not None and existing.content_propagator == code:
        return None, "already carries this propagator's fields"
    if existing is not None:
        base = existing if existing.label == decision.label else AIGCLabel(**{**_fields(existing), "label": "3"})
    else:
        base = _producer_from_c2pa(report, decision.label) or AIGCLabel(
            label=decision.label, content_producer=UNKNOWN, produce_id=UNKNOWN
        )
    return base.with_propagator(code, derive_id("propagate", code, sha), options.reserved_code2), ""


def _fields(label: AIGCLabel) -> dict[str, str]:
    return {
        "content_producer": label.content_producer,
        "produce_id": label.produce_id,
        "reserved_code1": label.reserved_code1,
        "content_propagator": label.content_propagator,
        "propagate_id": label.propagate_id,
        "reserved_code2": label.reserved_code2,
    }


def _label(
    task: Task,
    options: Options,
    report: Any,
    decision: Classification,
    label: AIGCLabel,
    data: bytes,
    out: Outcome,
) -> bytes:
    from synthmark.labeling import label_bytes

    notice = _wants_notice(options, decision if options.role == "propagator" else Classification("1", "none"), report)
    line = NOTICE_SECOND_LINE.get(label.label)
    text = dict(options.notice_texts).get(label.label, NOTICE_TEXTS["1"])
    style = LabelStyle(text, line, options.position) if notice else None  # type: ignore[arg-type]
    audible = AudibleStyle() if notice else None
    watermark_found = out.watermark_in is not None
    key = options.keys[0] if options.embeds and not watermark_found and label.produce_id != UNKNOWN else None
    warnings = []
    if watermark_found and options.embeds:
        warnings.append("watermark not embedded: the input already carries one")
    labeled, result = label_bytes(
        data,
        label,
        visible=style,
        audible=audible,
        metadata=True,
        key=key,
        signer=options.signer,
        path=task.rel,
    )
    if labeled == data:  # nothing could be written into this file (e.g. plain text, notice off)
        out.action, out.layers = "copied", ""
        out.warnings = "; ".join([*warnings, *result.warnings, "output identical to the input: no label written"])
        return labeled
    out.action = "labeled" if options.role == "producer" else "propagated"
    out.label_json = label.to_json()
    out.layers = ",".join(result.layers)
    if result.watermark is not None:
        out.watermark_payload = result.watermark["payload"]
        out.watermark_key_id = result.watermark["key_id"]
    if "c2pa" in result.layers:
        out.c2pa_out = "chained" if out.c2pa_in not in ("none", "not-checked") else "signed"
    else:
        out.c2pa_out = "stale" if out.c2pa_in not in ("none", "not-checked") else "none"
    out.warnings = "; ".join([*warnings, *result.warnings])
    return labeled
