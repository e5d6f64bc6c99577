"""``synthmark`` commands. Only the CLI (this module and ``synthmark_cli.batch``) exits; library
errors become one-line messages.

Exit codes (all commands): 0 success; 1 ``verify``: some file carries no label,
``robustness``: some transformation removed the mark, ``batch``: some files failed; 2 an error
(bad input, unreadable file, bad key, unwritable output, bad option); 3 an internal error (a bug:
one line on stderr, never a code that reads as an answer about labels).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

import synthmark
from synthmark.aigc import AIGCLabel
from synthmark.audio import AudibleStyle
from synthmark.errors import SynthmarkError, SynthmarkWarning
from synthmark.formats import FORMATS, read_bytes
from synthmark.image.visible import DEFAULT_HEIGHT, DEFAULT_SECOND_LINE, POSITIONS, LabelStyle
from synthmark.keys import generate_key, load_key, load_keys
from synthmark.provenance import MAX_PEM_BYTES
from synthmark.video.labeler import VideoLabelStyle

EXIT_OK, EXIT_UNLABELED, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3
_EXTENSIONS = {ext for fmt in FORMATS for ext in fmt.extensions}


def _fail(message: str) -> NoReturn:
    click.echo(f"synthmark: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _signer(cert: Path | None, key: Path | None, tsa: str | None) -> Any:
    """A C2PA signer from --c2pa-cert/--c2pa-key (both or neither), or None."""
    if cert is None and key is None:
        if tsa:
            _fail("--c2pa-tsa needs --c2pa-cert and --c2pa-key")
        return None
    if cert is None or key is None:
        _fail("--c2pa-cert and --c2pa-key go together (the certificate chain and its private key)")
    from synthmark.provenance import load_signer

    return load_signer(cert, key, tsa_url=tsa)


#: Trust anchors read when --trust is not given (a PEM bundle), if the file exists.
DEFAULT_TRUST = Path("~/.config/synthmark/trust.pem")


def _trust_anchors(paths: tuple[Path, ...]) -> list[bytes]:
    """PEM bytes of each --trust file (bundles allowed), or of the default trust file."""
    chosen = list(paths) or [p for p in [DEFAULT_TRUST.expanduser()] if p.is_file()]
    anchors = []
    for path in chosen:
        try:
            data = read_bytes(path, limit=MAX_PEM_BYTES)
        except SynthmarkError as exc:
            _fail(f"cannot read trust anchors: {exc}")
        if b"-----BEGIN CERTIFICATE-----" not in data:
            _fail(f"{path}: not a PEM certificate; pass the root certificate(s) in PEM form")
        anchors.append(data)
    return anchors


#: What a folder label takes by default: media (images, audio, video), not documents such as a
#: folder's README.md (documents only when --include names them).
_MEDIA_EXTENSIONS = frozenset(ext for fmt in FORMATS if fmt.modality != "text" for ext in fmt.extensions)


def _media_files(root: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> Iterator[Path]:
    """Files under ``root`` to label, sorted, symlinks not followed: every image, audio and video
    file, plus supported files matching an ``include`` glob, minus those matching ``exclude``
    (globs match the path relative to ``root`` or the file name)."""

    def matches(path: Path, globs: tuple[str, ...]) -> bool:
        rel = path.relative_to(root).as_posix()
        return any(fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(path.name, glob) for glob in globs)

    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or matches(path, exclude):
            continue
        suffix = path.suffix.lower()
        if suffix in _MEDIA_EXTENSIONS or (suffix in _EXTENSIONS and matches(path, include)):
            yield path


_VIDEO_SUFFIXES = frozenset(ext for fmt in FORMATS if fmt.modality == "video" for ext in fmt.extensions)


@contextlib.contextmanager
def _progress_bar(path: Path) -> Iterator[Any]:
    """A ``progress(done, total)`` callback drawing a bar on a terminal's stderr while a video
    is re-encoded (None for other files, or when stderr is not a terminal)."""
    if path.suffix.lower() not in _VIDEO_SUFFIXES or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(f"{path.name}"), BarColumn(), TextColumn("{task.completed} frames"), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("label", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _expand(paths: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        out.extend(_media_files(path) if path.is_dir() else [path])
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(synthmark.__version__, prog_name="synthmark")
def cli() -> None:
    """Label AI-generated media (GB 45438-2025) and verify the labels.

    \b
    Exit codes:
      0  success
      1  verify: some file carries no label; robustness: a transformation removed the mark
         batch: some files failed
      2  an error
      3  an internal error (a synthmark bug, never an answer): please report it
    """


@cli.command()
@click.argument("input", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Labeled copy (a folder when INPUT is a folder).",
)
@click.option(
    "--producer",
    envvar="SYNTHMARK_PRODUCER",
    help="ContentProducer: your 27-character provider code [env SYNTHMARK_PRODUCER].",
)
@click.option("--produce-id", help="ProduceID of this content [default: a fresh unique ID per file].")
@click.option(
    "--label",
    "label_value",
    type=click.Choice(["1", "2", "3"]),
    default="1",
    show_default=True,
    help="1 AI-generated, 2 possibly, 3 suspected.",
)
@click.option(
    "--propagator-same/--propagator-empty",
    default=True,
    show_default=True,
    help="First write: ContentPropagator/PropagateID equal the producer fields (GB 45438 Annex E note 1), "
    "or leave them empty.",
)
@click.option("--strict", is_flag=True, help="Require ContentProducer to be a valid 27-character provider code.")
@click.option(
    "--text", default="AI生成", show_default=True, help="Visible label text (must contain AI/人工智能 and 生成/合成)."
)
@click.option("--second-line", help=f"Optional second line, e.g. {DEFAULT_SECOND_LINE!r}.")
@click.option("--position", type=click.Choice(POSITIONS), default="bottom-right", show_default=True)
@click.option(
    "--height", type=float, default=DEFAULT_HEIGHT, show_default=True, help="Text height / shortest side, >= 0.05."
)
@click.option("--plate", type=click.Choice(["auto", "dark", "light", "outline"]), default="auto", show_default=True)
@click.option("--font", type=click.Path(exists=True, dir_okay=False), help="TrueType/OpenType font for custom text.")
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Embed the invisible watermark with this key file (synthmark keygen).",
)
@click.option(
    "--c2pa-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="C2PA certificate chain (PEM)."
)
@click.option(
    "--c2pa-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="C2PA private key (PEM)."
)
@click.option("--c2pa-tsa", metavar="URL", help="Timestamp authority for the C2PA signature (network).")
@click.option("--c2pa-thumbnail", is_flag=True, help="Embed a claim thumbnail (~40 ms and ~100 KB per 1080p image).")
@click.option(
    "--audible",
    type=click.Choice(["rhythm", "voice"]),
    default="rhythm",
    show_default=True,
    help="Audio files: the rhythm prompt (Morse 'AI') or the spoken prompt.",
)
@click.option(
    "--at",
    "audible_at",
    type=click.Choice(["start", "end", "both"]),
    default="start",
    show_default=True,
    help="Audio files: where the audible prompt goes.",
)
@click.option(
    "--visible",
    "video_mode",
    type=click.Choice(["opening", "persistent"]),
    default="opening",
    show_default=True,
    help="Video files: the label in the opening frames only, or in every frame.",
)
@click.option(
    "--visible-seconds",
    type=float,
    default=3.0,
    show_default=True,
    help="Video files: how long the opening label shows (GB 45438: at least 2 s).",
)
@click.option(
    "--no-visible", is_flag=True, help="Skip the visible (audio: audible) label; without --key content is untouched."
)
@click.option("--no-metadata", is_flag=True, help="Skip the metadata label.")
@click.option(
    "--omission-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Art. 9 log of hand-outs without the explicit label (--no-visible) "
    "[default: $SYNTHMARK_OMISSION_LOG or ~/.local/share/synthmark/omissions.sqlite].",
)
@click.option("--user", "user_id", default="", metavar="ID", help="The user or account the file goes to (art. 9 log).")
@click.option(
    "--include",
    multiple=True,
    metavar="GLOB",
    help="Folder INPUT: also label supported documents matching GLOB (path or name; repeatable). "
    "By default a folder's images, audio and video are labeled, not its documents.",
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Folder INPUT: skip files matching GLOB (repeatable).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def label(
    input: Path,
    output: Path,
    producer: str | None,
    produce_id: str | None,
    label_value: str,
    propagator_same: bool,
    strict: bool,
    text: str,
    second_line: str | None,
    position: str,
    height: float,
    plate: str,
    font: str | None,
    key_file: Path | None,
    c2pa_cert: Path | None,
    c2pa_key: Path | None,
    c2pa_tsa: str | None,
    c2pa_thumbnail: bool,
    audible: str,
    audible_at: str,
    video_mode: str,
    visible_seconds: float,
    no_visible: bool,
    no_metadata: bool,
    omission_log: Path | None,
    user_id: str,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Write a labeled copy of INPUT (a file, or a folder of media files) to OUTPUT.

    INPUT is never modified; OUTPUT is written atomically and never left half-written.
    Layers, in order: visible label, watermark (--key), metadata label.

    \b
    Exit codes:
      0  labeled
      2  an error (bad input, bad option, unwritable output)
    """
    if not no_metadata and not producer:
        _fail(
            "--producer is required for the metadata label (or set SYNTHMARK_PRODUCER); pass --no-metadata to skip it"
        )
    pairs: list[tuple[Path, Path]]
    if input.is_dir():
        if produce_id:
            _fail("--produce-id names one file; leave it out when labeling a folder")
        output.mkdir(parents=True, exist_ok=True)
        pairs = [(src, output / src.relative_to(input)) for src in _media_files(input, include, exclude)]
    else:
        pairs = [(input, output)]
    try:
        style = None if no_visible else LabelStyle(text, second_line, position, height, plate, font)  # type: ignore[arg-type]
        audible_style = None if no_visible else AudibleStyle(audible, audible_at)  # type: ignore[arg-type]
        video_style = VideoLabelStyle(video_mode, visible_seconds)  # type: ignore[arg-type]
        key = None if key_file is None else load_key(key_file)
        signer = _signer(c2pa_cert, c2pa_key, c2pa_tsa)
        # Art. 9: every hand-out without the explicit label is logged, durably, first.
        log = None
        if no_visible:
            from synthmark.omissions import OmissionLog, default_path

            log = OmissionLog(omission_log or default_path())
    except SynthmarkError as exc:
        _fail(str(exc))
    results: list[dict[str, Any]] = []
    failed = False
    for src, dst in pairs:
        try:
            aigc = AIGCLabel.new(
                producer or "", produce_id=produce_id, label=label_value, propagator_same=propagator_same
            )
            if strict and not no_metadata:
                aigc.checked(strict=True)
            dst.parent.mkdir(parents=True, exist_ok=True)
            with _progress_bar(src) as progress:
                result = synthmark.label_file(
                    src,
                    dst,
                    aigc,
                    visible=style,
                    audible=audible_style,
                    metadata=not no_metadata,
                    key=key,
                    signer=signer,
                    thumbnail=c2pa_thumbnail,
                    overwrite=force,
                    video=video_style,
                    progress=progress,
                    omission_log=log,
                    user=user_id,
                )
        except SynthmarkError as exc:
            click.echo(f"synthmark: error: {exc}", err=True)
            failed = True
            continue
        results.append(result.to_dict())
        for warning in result.warnings:
            click.echo(f"synthmark: warning: {dst}: {warning}", err=True)
        if not as_json:
            layers = " + ".join(result.layers)
            mark = f" watermark={result.watermark['payload']}" if result.watermark else ""
            click.echo(
                f"labeled {src} -> {dst} [{layers}] ProduceID={aigc.produce_id}{mark} ({result.seconds * 1000:.0f} ms)"
            )
    if as_json:
        click.echo(
            json.dumps(results if input.is_dir() else (results[0] if results else None), ensure_ascii=False, indent=2)
        )
    sys.exit(EXIT_ERROR if failed else EXIT_OK)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Also check the 27-character provider-code shape.")
@click.option(
    "--key",
    "key_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Watermark key file, or a folder of them (repeatable).",
)
@click.option(
    "--trust",
    "trust_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trusted C2PA root certificate(s), PEM (repeatable) [default: ~/.config/synthmark/trust.pem if present].",
)
@click.option(
    "--tokenizer",
    "tokenizer_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Text: the generator's tokenizer (synthmark or Hugging Face tokenizer.json); with --key, "
    "turns on the statistical watermark detector.",
)
@click.option(
    "--no-explicit",
    is_flag=True,
    help="Do not look for explicit labels (OCR of images and video frames, audio prompts, document phrases): faster.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per file.")
def verify(
    files: tuple[Path, ...],
    strict: bool,
    key_paths: tuple[Path, ...],
    trust_paths: tuple[Path, ...],
    tokenizer_path: Path | None,
    no_explicit: bool,
    as_json: bool,
) -> None:
    """Report every label layer of FILES (files or folders) and classify each file.

    Verdicts follow art. 6 of the Measures: confirmed / possible / suspected / none; a
    watermark found without a metadata label makes a file suspected.

    \b
    Exit codes:
      0  every file carries a label
      1  some file carries none
      2  an error (unsupported, unreadable or corrupt file, bad key file)
      3  an internal error (a synthmark bug) on some file; the other files still report
    """
    try:
        keys = load_keys(key_paths)
        tokenizer = None
        if tokenizer_path is not None:
            from synthmark.text import load_tokenizer

            if not keys:
                _fail("--tokenizer needs --key (the statistical watermark is keyed)")
            tokenizer = load_tokenizer(tokenizer_path)
    except SynthmarkError as exc:
        _fail(str(exc))
    trust = _trust_anchors(trust_paths)
    reports: list[dict[str, Any]] = []
    errors = internal = 0
    for path in _expand(tuple(os.fspath(f) for f in files)):
        try:
            report = synthmark.verify_file(
                path, strict=strict, keys=keys, trust=trust, tokenizer=tokenizer, explicit_labels=not no_explicit
            )
            reports.append(report.to_dict())
        except SynthmarkError as exc:
            errors += 1
            click.echo(f"synthmark: error: {exc}", err=True)
            reports.append({"file": os.fspath(path), "error": {"type": type(exc).__name__, "message": str(exc)}})
        except Exception as exc:  # a bug on one file: that file's entry says so, the others still report
            internal += 1
            click.echo(_internal(exc, f" on {path}"), err=True)
            reports.append({"file": os.fspath(path), "error": {"type": "InternalError", "message": _internal(exc)}})
    if as_json:
        click.echo(json.dumps(reports, ensure_ascii=False, indent=2))
    else:
        _print_reports([r for r in reports if "error" not in r])
    if internal:
        sys.exit(EXIT_INTERNAL)
    if errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_OK if all(r["verdict"] != "none" for r in reports) else EXIT_UNLABELED)


_VERDICT_STYLE = {"confirmed": "bold red", "possible": "bold yellow", "suspected": "yellow", "none": "dim"}


_INDENT = "\n" + " " * 22


def _c2pa_line(evidence: dict[str, Any]) -> str:
    agree = {True: ", agrees with the metadata label", False: ", DISAGREES with the metadata label", None: ""}
    text = (
        f" {evidence.get('verdict') or 'not validated'}, by {evidence.get('claim_generator') or 'an unnamed generator'}"
        f", signed by {evidence.get('signer') or 'an unnamed signer'}{agree[evidence.get('label_agrees')]}"
    )
    declared = evidence.get("ai_declared") or []
    if declared:
        first = declared[0]
        where = "the active manifest" if first["depth"] == 0 else f"ingredient depth {first['depth']}"
        text += f"{_INDENT}AI declared in {where}: {first['how']}"
    else:
        text += f"{_INDENT}no AI declaration in {len(evidence.get('chain') or [])} manifest(s)"
    for node in (evidence.get("chain") or [])[1:]:
        text += (
            f"{_INDENT}{'  ' * node['depth']}ingredient {node.get('title') or '(untitled)'}: "
            f"{node.get('state') or 'not validated'}, {node.get('claim_generator') or 'unnamed generator'}"
        )
    for reason in [*evidence.get("reasons", []), *evidence.get("problems", [])]:
        text += f"{_INDENT}- {reason}"
    return text


def _layer_line(name: str, evidence: dict[str, Any]) -> str:
    label = f"  {name:<20}"
    if not evidence["checked"]:
        reason = evidence.get("reason")
        return f"{label}[dim]not checked{f' ({reason})' if reason else ''}[/dim]"
    if not evidence["found"]:
        return f"{label}none"
    where = f" in {evidence['carrier']} ({evidence['form']})" if evidence.get("carrier") else ""
    if name == "c2pa":
        where = _c2pa_line(evidence)
    if name == "provenance_metadata":
        where = "".join(
            f"{_INDENT}{f['carrier']} {f['field']}: {f['kind']} {f['name']}" for f in evidence["findings"] if f["ai"]
        )
    if name == "visible":
        items = evidence.get("labels") or evidence.get("phrases") or evidence.get("where") or []
        where = f" {evidence.get('kind') or 'label'}" + "".join(
            f"{_INDENT}{', '.join(f'{k} {v}' for k, v in item.items() if v is not None)}" for item in items[:5]
        )
    if name == "watermark" and evidence.get("payload") is None and evidence.get("statistical", {}).get("found"):
        stat = evidence["statistical"]
        return (
            f"{label}[green]found[/green] statistical mark, key {stat['key_id']} "
            f"(z = {stat['pilot_z']}, p < {max(stat['p_value'], 1e-300):.0e}, {stat['tokens']} tokens)"
        )
    if name == "watermark":
        match = {True: ", matches the metadata label", False: ", DIFFERS from the metadata label", None: ""}
        where = (
            f" payload {evidence['payload']} key {evidence['key_id']} (p < {max(evidence['p_value'], 1e-12):.0e})"
            f"{match[evidence['matches_metadata']]}"
        )
    return f"{label}[green]found[/green]{where}"


def _print_reports(reports: list[dict[str, Any]]) -> None:
    """One block per file: verdict and why, each layer, the seven fields, problems."""
    console = Console(highlight=False, soft_wrap=True)
    for report in reports:
        verdict = report["verdict"]
        console.print(
            f"[bold]{report['file']}[/bold]  {report['media_type']}  "
            f"[{_VERDICT_STYLE[verdict]}]{verdict.upper()}[/{_VERDICT_STYLE[verdict]}]"
        )
        console.print(f"  {'why':<20}" + _INDENT.join(report.get("reasons", [])), markup=False)
        for name, evidence in report["evidence"].items():
            console.print(_layer_line(name, evidence))
        if report["label"]:
            fields = " ".join(f"{k}={v}" for k, v in report["label"].items() if v)
            console.print(f"  {'label':<20}{fields}", soft_wrap=True, markup=False)
        for problem in report["evidence"]["metadata"].get("problems", []):
            prefix = f"{problem['field']}: " if problem["field"] else ""
            console.print(f"  [yellow]{'problem':<20}[/yellow]{prefix}{problem['message']}")
        for damage in report.get("problems", []):
            console.print(f"  [yellow]{'file problem':<20}[/yellow]{damage}")
    labeled = sum(r["verdict"] != "none" for r in reports)
    console.print(f"{labeled} of {len(reports)} file(s) carry a label")


@cli.group("log")
def log_group() -> None:
    """The art. 9 log of content handed out without its explicit label."""


@log_group.command("export")
@click.argument("log_path", metavar="LOG", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="JSON array instead of CSV.")
@click.option("--since", metavar="DATE", help="Only records at or after this ISO date/time (UTC), e.g. 2026-06-01.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default stdout).")
def log_export(log_path: Path, as_json: bool, since: str | None, output: Path | None) -> None:
    """Export every record of the art. 9 omission LOG (CSV with a header row, or JSON).

    \b
    Exit codes:
      0  exported
      2  an error (unreadable log, unwritable output)
    """
    from synthmark._atomic import write_atomic
    from synthmark.omissions import OmissionLog

    try:
        with OmissionLog(log_path) as book:
            text = book.export(format="json" if as_json else "csv", since=since)
        if output is None:
            click.echo(text, nl=False)
        else:
            write_atomic(output, text.encode("utf-8"))
    except SynthmarkError as exc:
        _fail(str(exc))


@cli.group()
def c2pa() -> None:
    """C2PA helpers."""


@c2pa.command("test-pki")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
def test_pki(outdir: Path) -> None:
    """Write a throw-away root -> intermediate -> signing certificate chain to OUTDIR.

    TEST ONLY, never for production: anyone can make the same kind of chain. Files: root.pem
    (trust anchor for verify --trust), chain.pem and signer.key (for label --c2pa-cert/-key).

    \b
    Exit codes:
      0  written
      2  an error (folder not writable)
    """
    from synthmark.provenance import write_test_pki

    try:
        outdir.mkdir(parents=True, exist_ok=True)
        pki = write_test_pki(outdir)
    except (SynthmarkError, OSError) as exc:
        _fail(str(exc))
    click.echo(f"wrote test PKI (NOT for production): root {pki.root_cert}, chain {pki.chain}, key {pki.key}")


@cli.command()
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Key file to write (mode 0600).")
@click.option("--force", is_flag=True, help="Overwrite an existing key file.")
def keygen(output: Path, force: bool) -> None:
    """Generate a watermark key and write it owner-only to OUTPUT; prints its public key id.

    Keep the key secret: anyone holding it can detect and forge your watermark.

    \b
    Exit codes:
      0  written
      2  an error (output exists without --force, folder missing or unwritable)
    """
    try:
        generate_key().save(output, overwrite=force)
        key_id = load_key(output).key_id
    except SynthmarkError as exc:
        _fail(str(exc))
    click.echo(f"wrote {output} (key id {key_id})")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--embed", is_flag=True, help="FILE is unmarked: mark a copy in memory first (quality is then measured).")
@click.option(
    "--original", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Unmarked original, for quality."
)
@click.option("--only", multiple=True, help="Run only these transformations (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random transformations.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write a PNG chart here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def robustness(
    file: Path,
    key_file: Path,
    embed: bool,
    original: Path | None,
    only: tuple[str, ...],
    seed: int,
    plot: Path | None,
    as_json: bool,
) -> None:
    """Apply the robustness suite of FILE's modality (image, audio or text) to a marked FILE and
    report, per transformation, whether the exact payload is still found, the bit accuracy and
    the pilot strength, plus quality against the unmarked original (PSNR/SSIM for images, SNR
    for audio; with --embed or --original).

    \b
    Exit codes:
      0  the payload survived every transformation run
      1  some transformation removed it
      2  an error (unreadable file, bad key, no watermark in FILE without --embed)
    """
    from synthmark.transforms.report import evaluate_file, render_chart

    try:
        key = load_key(key_file)
        report = evaluate_file(file, key, embed=embed, original=original, names=list(only) or None, seed=seed)
        if plot is not None:
            render_chart(report, plot)
    except SynthmarkError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        console = Console(highlight=False)
        console.print(f"{file}: payload {report.payload:016x}, key {key.key_id}")
        if report.psnr is not None and report.ssim is not None:
            console.print(f"quality: PSNR {report.psnr:.2f} dB, SSIM {report.ssim:.4f}")
        if report.extra.get("snr") is not None:
            console.print(f"quality: SNR {report.extra['snr']:.2f} dB")
        console.print(f"  {'transformation':<15} {'size':>18} {'exact':>6} {'bits':>6} {'pilot z':>8}")
        for o in report.outcomes:
            mark = "[green]yes[/green]" if o.detected else "[red] no[/red]"
            console.print(f"  {o.name:<15} {o.size:>18}    {mark} {o.bit_accuracy:>6.1%} {o.pilot_z:>8.1f}")
        console.print(f"{report.survived} of {len(report.outcomes)} transformations keep the exact payload")
    sys.exit(EXIT_OK if report.survived == len(report.outcomes) else EXIT_UNLABELED)


# `synthmark batch relabel|report` lives in its own module (it imports the helpers above).
from synthmark_cli.batch import batch  # noqa: E402

cli.add_command(batch)


def _internal(exc: BaseException, where: str = "") -> str:
    """The one line an internal error (a synthmark bug, never an answer) prints."""
    text = " ".join(str(exc).split())[:300]
    return (
        f"synthmark: internal error{where}: {type(exc).__name__}: {text}; "
        "this is a synthmark bug, not a verdict: please report it with the command and the file"
    )


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """synthmark's own warnings as one line each; any other warning as Python prints it."""
    if issubclass(category, SynthmarkWarning):
        click.echo(f"synthmark: warning: {message}", err=True)
    else:
        _python_show_warning(message, category, *args, **kwargs)


_python_show_warning = warnings.showwarning


def main() -> None:
    """Console-script entry point: click's own usage errors also exit 2; an unexpected
    exception (a bug) exits 3 with one line, never with a code that reads as an answer."""
    warnings.showwarning = _show_warning
    try:
        code = cli.main(standalone_mode=False)  # --help / --version return their exit code
    except click.ClickException as exc:  # bad options and paths: one line, like every other error
        context = getattr(exc, "ctx", None)  # usage errors know their command
        where = context.command_path if context is not None else "synthmark"
        _fail(f"{exc.format_message().rstrip('.')}; see {where} --help")
    except click.Abort:
        _fail("aborted")
    except SynthmarkError as exc:  # pragma: no cover - commands catch their own
        _fail(str(exc))
    except Exception as exc:
        click.echo(_internal(exc), err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
