"""What the commands share, light to import (click and the standard library; synthmark is
imported when a command runs): exit codes and the exceptions that carry them, and the option
groups ``--key``, ``--trust`` and ``--c2pa-*`` with the helpers that read them.

Exit codes travel with exceptions, as in click: a command ends with its outcome by raising
``click.exceptions.Exit`` (0, or 1 for "no label" / "mark removed" / "files failed"); an error is
a :class:`Failure`, which keeps a :class:`~synthmark.errors.SynthmarkError`'s own ``exit_code``.
Only :func:`synthmark_cli.main.main` (the console script) calls ``sys.exit``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from synthmark.errors import SynthmarkError

#: The documented exit codes: success; verify: some file carries no label, robustness: some
#: transformation removed the mark, batch: some files failed; an error (a SynthmarkError
#: brings its own ``exit_code``, 2); an internal error (a bug, never an answer about labels).
EXIT_OK, EXIT_UNLABELED, EXIT_ERROR, EXIT_INTERNAL = 0, 1, 2, 3

_F = TypeVar("_F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """An error, printed as one ``synthmark: error: ...`` line on stderr; exits with a
    SynthmarkError's own code (:meth:`of`) or EXIT_ERROR (bad usage)."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:  # click types exit_code per class; a SynthmarkError has its own
            self.exit_code = exit_code  # type: ignore[misc]

    @classmethod
    def of(cls, error: SynthmarkError, context: str = "") -> Failure:
        """``error``'s message (after ``context``) and exit code."""
        return cls(f"{context}{error}", error.exit_code)

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"synthmark: error: {self.format_message()}", err=True)


class Group(click.Group):
    """The ``synthmark`` group: a SynthmarkError escaping any command below it becomes a
    :class:`Failure`, so that click (CliRunner) and the console script exit alike."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # before the import below: --help must not load synthmark
        except Exception as exc:
            from synthmark.errors import SynthmarkError

            if isinstance(exc, SynthmarkError):
                raise Failure.of(exc) from exc
            raise


def _options(*decorators: Callable[[_F], _F]) -> Callable[[_F], _F]:
    """One decorator applying ``decorators`` so that the options show in the order given."""

    def apply(func: _F) -> _F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def key_option(*, many: bool = False, required: bool = False, help: str | None = None) -> Callable[[_F], _F]:
    """``--key``: one watermark key file (parameter ``key_file``), or with ``many`` key files
    and folders of them, repeatable (``key_paths``, read by ``synthmark.keys.load_keys``)."""
    if many:
        return click.option(
            "--key",
            "key_paths",
            multiple=True,
            type=click.Path(exists=True, path_type=Path),
            help=help or "Watermark key file, or a folder of them (repeatable).",
        )
    return click.option(
        "--key",
        "key_file",
        required=required,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help=help or "Watermark key file (synthmark keygen).",
    )


#: Trust anchors read when --trust is not given (a PEM bundle), if the file exists.
DEFAULT_TRUST = Path("~/.config/synthmark/trust.pem")

trust_option = click.option(
    "--trust",
    "trust_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Trusted C2PA root certificate(s), PEM (repeatable) [default: {DEFAULT_TRUST} if present].",
)

c2pa_signing_options = _options(
    click.option(
        "--c2pa-cert",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="C2PA certificate chain (PEM).",
    ),
    click.option(
        "--c2pa-key", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="C2PA private key (PEM)."
    ),
    click.option("--c2pa-tsa", metavar="URL", help="Timestamp authority for the C2PA signature (network)."),
)


def signer(cert: Path | None, key: Path | None, tsa: str | None) -> Any:
    """A C2PA signer from --c2pa-cert/--c2pa-key (both or neither), or None."""
    if cert is None and key is None:
        if tsa:
            raise Failure("--c2pa-tsa needs --c2pa-cert and --c2pa-key")
        return None
    if cert is None or key is None:
        raise Failure("--c2pa-cert and --c2pa-key go together (the certificate chain and its private key)")
    from synthmark.provenance import load_signer

    return load_signer(cert, key, tsa_url=tsa)


def trust_anchors(paths: tuple[Path, ...]) -> list[bytes]:
    """PEM bytes of each --trust file (bundles allowed), or of the default trust file."""
    from synthmark.errors import SynthmarkError
    from synthmark.formats import read_bytes
    from synthmark.provenance import MAX_PEM_BYTES

    chosen = list(paths) or [p for p in [DEFAULT_TRUST.expanduser()] if p.is_file()]
    anchors = []
    for path in chosen:
        try:
            data = read_bytes(path, limit=MAX_PEM_BYTES)
        except SynthmarkError as exc:
            raise Failure.of(exc, "cannot read trust anchors: ") from exc
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise Failure(f"{path}: not a PEM certificate; pass the root certificate(s) in PEM form")
        anchors.append(data)
    return anchors
