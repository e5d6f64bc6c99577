"""Atomic file output: write to a temporary file beside the target, fsync, rename."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from synthmark.errors import OutputExistsError, OutputNotWritableError

__all__ = ["check_output", "write_atomic"]


def check_output(
    output: str | os.PathLike[str], *, overwrite: bool, inputs: tuple[str | os.PathLike[str], ...] = ()
) -> Path:
    """Validate an output path before any work: not an input, not existing unless ``overwrite``."""
    target = Path(output)
    for source in inputs:
        if Path(source).exists() and target.exists() and target.resolve() == Path(source).resolve():
            raise OutputExistsError(
                "output is the input file; synthmark never modifies originals",
                path=target,
                fix="choose a different output path",
            )
    if target.is_dir():
        raise OutputExistsError("output is a directory", path=target, fix="name an output file")
    if target.exists() and not overwrite:
        raise OutputExistsError("output exists", path=target, fix="pass --force (overwrite=True) to replace it")
    if not target.parent.is_dir():
        raise OutputNotWritableError("output folder does not exist", path=target, fix="create the folder first")
    return target


def write_atomic(output: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``output`` so that readers see either the old file or the whole new one.

    ``mode`` is the final permission bits (0o600 for secrets). The temporary file is removed on
    any failure; nothing partial is left at ``output``.
    """
    target = Path(output)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot write here ({exc.strerror})", path=target, fix="check the folder's permissions"
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = "disk full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        raise OutputNotWritableError(
            f"cannot write the output ({reason})", path=target, fix="free space or choose another folder"
        ) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
