"""``synthmark`` commands. Library errors become one-line messages; only :func:`main` (the
console script) exits, with the code the outcome or the error carries (``synthmark_cli._common``).

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import click

from synthmark_cli._common import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_UNLABELED,
    Failure,
    Group,
    c2pa_signing_options,
    key_option,
    signer,
    trust_anchors,
    trust_option,
)
from synthmark_cli.batch import batch

# Start-up stays light (``synthmark --help`` imports neither synthmark nor numpy): each command
# imports what it needs from synthmark when it runs.


def _suffixes(keep: Callable[[str], bool] = lambda modality: True) -> frozenset[str]:
    """File suffixes of the supported formats whose modality passes ``keep`` (default: all)."""
    from synthmark.formats import FORMATS

    return frozenset(ext for fmt in FORMATS if keep(fmt.modality) for ext in fmt.extensions)


def _media_files(root: Path, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()) -> Iterator[Path]:
    """Files under ``root`` to label, sorted, symlinks not followed: every image, audio and video
    file, plus supported files matching an ``include`` glob, minus those matching ``exclude``
    (globs match the path relative to ``root`` or the file name). Documents such as a folder's
    README.md are taken only when ``include`` names them."""
    media, supported = _suffixes(lambda modality: modality != "text"), _suffixes()

    def matches(path: Path, globs: tuple[str, ...]) -> bool:
        rel = path.relative_to(root).as_posix()
        return any(fnmatch.fnmatch(rel, glob) or fnmatch.fnmatch(path.name, glob) for glob in globs)

    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or matches(path, exclude):
            continue
        suffix = path.suffix.lower()
        if suffix in media or (suffix in supported and matches(path, include)):
            yield path


@contextlib.contextmanager
def _progress_bar(path: Path) -> Iterator[Any]:
    """A ``progress(done, total)`` callback drawing a bar on a terminal's stderr while a video
    is re-encoded (None for other files, or when stderr is not a terminal)."""
    if path.suffix.lower() not in _suffixes("video".__eq__) or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
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


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="synthmark", prog_name="synthmark")
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


class _LateOptions(click.Command):
    """A command with options made by ``late()``, placed after the option named ``after``: they
    take choices and defaults from a heavy module, imported when the command first parses its
    arguments or shows its help, never at start-up."""

    def __init__(self, *args: Any, late: Callable[[], list[click.Parameter]], after: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.late: Callable[[], list[click.Parameter]] | None = late
        self.after = after

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if self.late is not None:
            at = 1 + next(i for i, param in enumerate(self.params) if param.name == self.after)
            self.params[at:at] = self.late()
            self.late = None
        return super().get_params(ctx)


def _visible_label_options() -> list[click.Parameter]:
    """label's options of the visible label (numpy and Pillow come with their defaults)."""
    from synthmark.image.visible import DEFAULT_HEIGHT, DEFAULT_SECOND_LINE, DEFAULT_TEXT, POSITIONS, Plate

    return [
        click.Option(
            ["--text"],
            default=DEFAULT_TEXT,
            show_default=True,
            help="Visible label text (must contain AI/人工智能 and 生成/合成).",
        ),
        click.Option(["--second-line"], help=f"Optional second line, e.g. {DEFAULT_SECOND_LINE!r}."),
        click.Option(["--position"], type=click.Choice(POSITIONS), default="bottom-right", show_default=True),
        click.Option(
            ["--height"],
            type=float,
            default=DEFAULT_HEIGHT,
            show_default=True,
            help="Text height / shortest side, >= 0.05.",
        ),
        click.Option(["--plate"], type=click.Choice(get_args(Plate)), default="auto", show_default=True),
    ]


@cli.command(cls=_LateOptions, late=_visible_label_options, after="strict")
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
# --text, --second-line, --position, --height, --plate: _visible_label_options
@click.option("--font", type=click.Path(exists=True, dir_okay=False), help="TrueType/OpenType font for custom text.")
@key_option(help="Embed the invisible watermark with this key file (synthmark keygen).")
@c2pa_signing_options
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
        raise Failure(
            "--producer is required for the metadata label (or set SYNTHMARK_PRODUCER); pass --no-metadata to skip it"
        )
    pairs: list[tuple[Path, Path]]
    if input.is_dir():
        if produce_id:
            raise Failure("--produce-id names one file; leave it out when labeling a folder")
        output.mkdir(parents=True, exist_ok=True)
        pairs = [(src, output / src.relative_to(input)) for src in _media_files(input, include, exclude)]
    else:
        pairs = [(input, output)]
    import synthmark
    from synthmark.aigc import AIGCLabel
    from synthmark.audio import AudibleStyle
    from synthmark.errors import SynthmarkError
    from synthmark.image.visible import LabelStyle
    from synthmark.keys import load_key

    key = None if key_file is None else load_key(key_file)
    c2pa_signer = signer(c2pa_cert, c2pa_key, c2pa_tsa)
    style = None if no_visible else LabelStyle(text, second_line, position, height, plate, font)  # type: ignore[arg-type]
    audible_style = None if no_visible else AudibleStyle(audible, audible_at)  # type: ignore[arg-type]
    from synthmark.video.labeler import VideoLabelStyle  # OpenCV and PyAV: once the files above are read

    video_style = VideoLabelStyle(video_mode, visible_seconds)  # type: ignore[arg-type]
    # Art. 9: every hand-out without the explicit label is logged, durably, first.
    log = None
    if no_visible:
        from synthmark.omissions import OmissionLog, default_path

        log = OmissionLog(omission_log or default_path())
    results: list[dict[str, Any]] = []
    code = EXIT_OK
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
                    signer=c2pa_signer,
                    thumbnail=c2pa_thumbnail,
                    overwrite=force,
                    video=video_style,
                    progress=progress,
                    omission_log=log,
                    user=user_id,
                )
        except SynthmarkError as exc:  # this file fails alone; the others are still labeled
            failure = Failure.of(exc)
            failure.show()
            code = max(code, failure.exit_code)
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
    raise click.exceptions.Exit(code)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Also check the 27-character provider-code shape.")
@key_option(many=True)
@trust_option
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
    import synthmark
    from synthmark.errors import SynthmarkError
    from synthmark.keys import load_keys

    keys = load_keys(key_paths)
    tokenizer = None
    if tokenizer_path is not None:
        from synthmark.text import load_tokenizer

        if not keys:
            raise Failure("--tokenizer needs --key (the statistical watermark is keyed)")
        tokenizer = load_tokenizer(tokenizer_path)
    trust = trust_anchors(trust_paths)
    reports: list[dict[str, Any]] = []
    error_code = internal = 0
    for path in _expand(tuple(os.fspath(f) for f in files)):
        try:
            report = synthmark.verify_file(
                path, strict=strict, keys=keys, trust=trust, tokenizer=tokenizer, explicit_labels=not no_explicit
            )
            reports.append(report.to_dict())
        except SynthmarkError as exc:  # this file's entry says so, the others still report
            failure = Failure.of(exc)
            failure.show()
            error_code = max(error_code, failure.exit_code)
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
        raise click.exceptions.Exit(EXIT_INTERNAL)
    if error_code:
        raise click.exceptions.Exit(error_code)
    raise click.exceptions.Exit(EXIT_OK if all(r["verdict"] != "none" for r in reports) else EXIT_UNLABELED)


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
    from rich.console import Console

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

    with OmissionLog(log_path) as book:
        text = book.export(format="json" if as_json else "csv", since=since)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text.encode("utf-8"))


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
    except OSError as exc:
        raise Failure(str(exc)) from exc
    pki = write_test_pki(outdir)
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
    from synthmark.keys import generate_key, load_key

    generate_key().save(output, overwrite=force)
    key_id = load_key(output).key_id
    click.echo(f"wrote {output} (key id {key_id})")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@key_option(required=True)
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
    from synthmark.keys import load_key
    from synthmark.transforms.report import evaluate_file, render_chart

    key = load_key(key_file)
    report = evaluate_file(file, key, embed=embed, original=original, names=list(only) or None, seed=seed)
    if plot is not None:
        render_chart(report, plot)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        from rich.console import Console

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
    raise click.exceptions.Exit(EXIT_OK if report.survived == len(report.outcomes) else EXIT_UNLABELED)


cli.add_command(batch)  # `synthmark batch relabel|report` (synthmark_cli.batch)


def _internal(exc: BaseException, where: str = "") -> str:
    """The one line an internal error (a synthmark bug, never an answer) prints."""
    text = " ".join(str(exc).split())[:300]
    return (
        f"synthmark: internal error{where}: {type(exc).__name__}: {text}; "
        "this is a synthmark bug, not a verdict: please report it with the command and the file"
    )


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """synthmark's own warnings as one line each; any other warning as Python prints it."""
    from synthmark.errors import SynthmarkWarning

    if issubclass(category, SynthmarkWarning):
        click.echo(f"synthmark: warning: {message}", err=True)
    else:
        _python_show_warning(message, category, *args, **kwargs)


_python_show_warning = warnings.showwarning


def _failure(exc: click.ClickException | click.Abort) -> Failure:
    """click's own errors (bad options and paths, an abort) as one line, like every other error."""
    if isinstance(exc, Failure):
        return exc
    if isinstance(exc, click.Abort):
        return Failure("aborted")
    context = getattr(exc, "ctx", None)  # usage errors know their command
    where = context.command_path if context is not None else "synthmark"
    return Failure(f"{exc.format_message().rstrip('.')}; see {where} --help")


def main() -> None:
    """Console-script entry point and the one place that exits: with the code an outcome
    (click's Exit) or an error (Failure) carries; click's usage errors and an abort exit 2; an
    unexpected exception (a bug) exits 3 with one line, never with a code that reads as an answer."""
    warnings.showwarning = _show_warning
    try:
        code = cli.main(standalone_mode=False)  # an Exit's code (outcomes, --help), or None
    except (click.ClickException, click.Abort) as exc:
        failure = _failure(exc)
        failure.show()
        code = failure.exit_code
    except Exception as exc:
        click.echo(_internal(exc), err=True)
        code = EXIT_INTERNAL
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
