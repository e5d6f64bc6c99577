"""``synthmark batch``: relabel archives (``relabel``) and sum up their ledgers (``report``).

Registered on the main group by :mod:`synthmark_cli.main`; thin over :mod:`synthmark.batch`.
Exit codes: 0 every file done, 1 some files failed (each one is in the ledger with its
reason), 2 bad invocation (missing code, unreadable key or certificate, ledger locked).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from synthmark_cli._common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_UNLABELED,
    c2pa_signing_options,
    key_option,
    signer,
    trust_anchors,
    trust_option,
)

if TYPE_CHECKING:
    from rich.console import Console

EXIT_FAILED = EXIT_UNLABELED  # some files failed


@click.group()
def batch() -> None:
    """Relabel whole folders and archives, resumably (a SQLite ledger), in parallel.

    \b
    Exit codes:
      0  every file done
      1  some files failed (each is recorded in the ledger with its reason)
      2  bad invocation
    """


@contextlib.contextmanager
def _progress(console: Console, quiet: bool) -> Iterator[Callable[[Any, Any], None]]:
    """The per-file callback: a bar (files, bytes, rate, ETA) on a terminal, and one
    ``synthmark: error:`` line per failed file."""
    if quiet or not console.is_terminal:

        def report_only(outcome: Any, state: Any) -> None:
            if outcome is not None and outcome.status == "failed":
                click.echo(f"synthmark: error: {outcome.error}", err=True)

        yield report_only
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
        TextColumn("{task.fields[mb]:.1f} MB {task.fields[rate]:.1f} files/s"), TimeRemainingColumn(),
        console=console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("batch", total=None, mb=0.0, rate=0.0)

        def draw(outcome: Any, state: Any) -> None:
            if outcome is not None and outcome.status == "failed":
                bar.console.print(f"synthmark: error: {outcome.error}", markup=False, highlight=False)
            processed = state.done + state.failed
            bar.update(
                task,
                completed=state.files,
                total=state.total_files,
                mb=state.bytes / 1e6,
                rate=processed / state.elapsed if state.elapsed > 0 else 0.0,
            )

        yield draw


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


@batch.command("relabel")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--role",
    type=click.Choice(["propagator", "producer"]),
    default="propagator",
    show_default=True,
    help="propagator: a platform adding its fields; producer: label unlabeled files as AI-generated.",
)
@click.option("--propagator", envvar="SYNTHMARK_PROPAGATOR", help="ContentPropagator: your platform's code.")
@click.option("--reserved-code2", default="", help="ReservedCode2: the platform's integrity data (opaque).")
@click.option("--producer", envvar="SYNTHMARK_PRODUCER", help="ContentProducer (role producer).")
@click.option(
    "--declared-list",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Files users declared AI-generated: relative paths or SHA-256s, one a line (class 2).",
)
@key_option(many=True, help="Watermark key file or folder (repeatable), looked for in every file.")
@click.option(
    "--embed-watermark/--no-embed-watermark",
    "embed",
    default=None,
    help="Embed the watermark with the first --key [default: role producer yes, propagator no].",
)
@trust_option
@c2pa_signing_options
@click.option(
    "--notice",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Explicit label: where the class needs it, always, or never (a metadata-only pass).",
)
@click.option(
    "--notice-text",
    "notice_texts",
    multiple=True,
    metavar="CLASS=TEXT",
    help="The notice's first line for class 1, 2 or 3 (default AI生成 / 可能为AI生成 / 疑似AI生成; repeatable).",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes [default: every core].")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Send the work to this Dask scheduler (extra 'batch').")
@click.option("--include", multiple=True, metavar="GLOB", help="Only files matching (path or name; repeatable).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files matching (path or name; repeatable).")
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite ledger [default: DEST/.synthmark-batch.sqlite].",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def relabel_command(
    src: Path,
    dest: Path,
    role: str,
    propagator: str | None,
    reserved_code2: str,
    producer: str | None,
    declared_list: Path | None,
    key_paths: tuple[Path, ...],
    embed: bool | None,
    trust_paths: tuple[Path, ...],
    c2pa_cert: Path | None,
    c2pa_key: Path | None,
    c2pa_tsa: str | None,
    notice: str,
    notice_texts: tuple[str, ...],
    jobs: int | None,
    scheduler: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    ledger: Path | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Relabel every file under SRC (a folder, zip or tar) into DEST, mirroring the tree.

    Each file is classified (art. 6: metadata label -> its class; declared -> 2; traces ->
    3; nothing -> left unlabeled) and labeled as ROLE. SRC is never modified. Rerun the same
    command after an interruption: finished files are skipped, the rest is done.

    \b
    Exit codes:
      0  every file done
      1  some files failed (see the ledger: synthmark batch report)
      2  bad invocation
    """
    from rich.console import Console

    from synthmark.batch import relabel
    from synthmark.keys import load_keys

    keys = load_keys(key_paths)
    c2pa_signer = signer(c2pa_cert, c2pa_key, c2pa_tsa)
    trust = trust_anchors(trust_paths)
    console = Console(stderr=True)
    with _progress(console, quiet or as_json) as progress:
        summary = relabel(
            src,
            dest,
            role=role,  # type: ignore[arg-type]
            propagator=propagator,
            reserved_code2=reserved_code2,
            producer=producer,
            keys=keys,
            embed=embed,
            trust=trust,
            signer=c2pa_signer,
            notice=notice,  # type: ignore[arg-type]
            notice_texts=dict(text.partition("=")[::2] for text in notice_texts),
            declared=declared_list,
            include=include,
            exclude=exclude,
            jobs=jobs,
            scheduler=scheduler,
            ledger=ledger,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(
            f"batch: {summary.files} files: {summary.done} done ({_counts(summary.actions)}), "
            f"{summary.skipped} already done, {summary.failed} failed ({_counts(summary.errors)}); "
            f"classes: {_counts(summary.classes)}; {summary.files_per_second:.1f} files/s on "
            f"{summary.workers} worker(s), {summary.seconds:.1f} s; ledger {summary.ledger}"
        )
    raise click.exceptions.Exit(EXIT_OK if summary.ok else EXIT_FAILED)


@batch.command("report")
@click.argument("ledger", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Export every row as CSV.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), help="Export every row as JSON.")
@click.option("--print-json", is_flag=True, help="Print the totals as JSON.")
def report_command(ledger: Path, csv_path: Path | None, json_path: Path | None, print_json: bool) -> None:
    """Print a ledger's totals per class, format, action and error; export its rows.

    \b
    Exit codes:
      0  no file failed
      1  some files failed
      2  an error (not a ledger, unwritable export)
    """
    from synthmark.batch import export, report

    totals = report(ledger)
    for path, kind in ((csv_path, "csv"), (json_path, "json")):
        if path is not None:
            rows = export(ledger, path, fmt=kind)
            click.echo(f"wrote {rows} rows to {path}", err=True)
    if print_json:
        click.echo(json.dumps(totals.to_dict(), indent=2))
    else:
        click.echo(f"{totals.ledger}: {totals.files} files, {totals.source_bytes / 1e6:.1f} MB, {totals.runs} run(s)")
        for title, counts in (
            ("status", totals.statuses),
            ("action", totals.actions),
            ("class", totals.classes),
            ("format", totals.formats),
            ("error", totals.errors),
        ):
            click.echo(f"  {title:<7} {_counts(counts)}")
    raise click.exceptions.Exit(EXIT_FAILED if totals.statuses.get("failed") else EXIT_OK)


__all__ = ["EXIT_ERROR", "EXIT_FAILED", "EXIT_OK", "batch"]
