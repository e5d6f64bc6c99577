"""The one exception tree of synthmark.

Every error raised on purpose by synthmark derives from :class:`SynthmarkError`. Errors from
third-party libraries (Pillow, zlib, XML parsers, the OS) are translated at the boundary with
``raise ... from exc`` so callers need to catch only this tree::

    SynthmarkError                 exit code 2 in the CLI
    ├── InputError                 the input file cannot be used
    │   ├── UnsupportedFormatError   format not handled (message lists the supported ones)
    │   ├── CorruptFileError         empty, truncated or malformed container
    │   ├── TooLargeError            pixel count or byte size over the safety limits
    │   ├── KeyFileError             a watermark key file is missing or not a key
    │   └── UnsafePathError          a symlink, special file or archive member escaping its tree
    ├── LabelError                 the AIGC label itself is wrong
    │   ├── InvalidLabelError        a field breaks the rules (named in the message)
    │   ├── ForeignLabelError        the file carries another producer's label, which synthmark
    │   │                            never replaces (art. 10): propagate it instead
    │   └── WordingError             explicit-label text lacks the AI or generation element
    ├── RenderError                the visible label cannot be drawn
    │   ├── MissingGlyphError        the font has no glyph for a character of the text
    │   └── LabelDoesNotFitError     the text is wider or taller than the image allows
    ├── MetadataError              the metadata label cannot be stored
    │   └── MetadataTooLargeError    the carrier segment would exceed its format's limit
    ├── WatermarkError             the invisible watermark cannot be embedded
    │   ├── ImageTooSmallError       under the minimum size (256 px short side)
    │   └── LowCapacityError         too flat to hold a reliable mark (pre-check)
    ├── OutputError                the output cannot be written
    │   ├── OutputExistsError        refusing to overwrite (use force/--force)
    │   └── OutputNotWritableError   directory missing, permission denied, disk full
    ├── ProvenanceError            a C2PA manifest cannot be made or read
    │   └── CertificateError         signing certificate/key unusable (expired, self-signed,
    │                                wrong EKU, key does not match the certificate, not PEM)
    └── BatchError                 a batch run cannot start or go on (ledger locked or
                                   unreadable, SRC/DEST overlap, optional extra missing)

Each error carries the offending ``path`` (or ``None``) and a ``fix`` hint; ``str(err)`` is one
line: ``"<path>: <what went wrong>; <how to fix it>"``.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

__all__ = [
    "BatchError",
    "CertificateError",
    "CorruptFileError",
    "ExposedKeyWarning",
    "ForeignLabelError",
    "ImageTooSmallError",
    "InputError",
    "InvalidLabelError",
    "KeyFileError",
    "LabelDoesNotFitError",
    "LabelError",
    "LowCapacityError",
    "MetadataError",
    "MetadataTooLargeError",
    "MissingGlyphError",
    "OutputError",
    "OutputExistsError",
    "OutputNotWritableError",
    "ProvenanceError",
    "RenderError",
    "SynthmarkError",
    "SynthmarkWarning",
    "TooLargeError",
    "UnsafePathError",
    "UnsupportedFormatError",
    "WatermarkError",
    "WordingError",
]


class SynthmarkError(Exception):
    """Base of every error synthmark raises on purpose.

    Parameters
    ----------
    message:
        What went wrong, without the path.
    path:
        The file concerned, if any.
    fix:
        What the user can do about it.
    """

    #: Exit status the CLI uses for this error.
    exit_code: int = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | os.PathLike[str] | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else os.fspath(path)
        self.fix = fix
        super().__init__(self.__str__())

    def about(self, path: str | os.PathLike[str] | None, *, instead_of: tuple[str, ...] = ()) -> SynthmarkError:
        """This error, now naming ``path`` (the user's file) where it named nothing or one of
        ``instead_of`` (internal working files, also replaced in the message). Returns self."""
        if path is not None and (self.path is None or self.path in instead_of):
            for internal in instead_of:
                self.message = self.message.replace(internal, os.fspath(path))
            self.path = os.fspath(path)
            self.args = (self.__str__(),)
        return self

    def __str__(self) -> str:
        text = self.message if self.path is None else f"{self.path}: {self.message}"
        if self.fix:
            text += f"; {self.fix}"
        return " ".join(text.split("\n"))


def naming_path(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate a function with a ``path`` parameter (the user's file) so that every
    :class:`SynthmarkError` escaping it names that file, however deep it was raised."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except SynthmarkError as exc:
            path = signature.bind_partial(*args, **kwargs).arguments.get("path")
            exc.about(path if isinstance(path, (str, os.PathLike)) else None)
            raise

    return wrapper


class InputError(SynthmarkError):
    """The input cannot be used."""


class UnsupportedFormatError(InputError):
    """The file's format is not one synthmark handles for the requested operation."""


class CorruptFileError(InputError):
    """The file is empty, truncated or structurally malformed."""


class TooLargeError(InputError):
    """The file exceeds a safety limit (pixels or bytes); see ``synthmark.formats``."""


class KeyFileError(InputError):
    """A watermark key file is missing, unreadable, damaged or not a synthmark key."""


class UnsafePathError(InputError):
    """A path that would escape its tree: a symlink, a special file, or an archive member with an
    absolute name, a ``..`` component or a link type. Refused, never followed."""


class LabelError(SynthmarkError):
    """The AIGC label is not acceptable."""


class InvalidLabelError(LabelError):
    """A label field breaks the rules of GB 45438-2025 Annex E."""


class ForeignLabelError(LabelError):
    """The file already carries a label written by another producer. A producer may relabel its
    own content; anyone else keeps the producer fields and adds propagation elements
    (:meth:`synthmark.AIGCLabel.with_propagator`, ``synthmark batch relabel``): art. 10 of the
    Measures forbids altering another's label."""


class WordingError(LabelError):
    """Explicit-label text lacks the AI element or the generation element."""


class RenderError(SynthmarkError):
    """The visible label cannot be drawn."""


class MissingGlyphError(RenderError):
    """The font has no glyph for some character of the label text."""


class LabelDoesNotFitError(RenderError):
    """The label text does not fit in the image at the required height."""


class MetadataError(SynthmarkError):
    """The metadata label cannot be stored in this file."""


class MetadataTooLargeError(MetadataError):
    """The metadata segment would exceed its format's size limit."""


class WatermarkError(SynthmarkError):
    """The invisible watermark cannot be embedded in this content."""


class ImageTooSmallError(WatermarkError):
    """The image is under the watermark's minimum size."""


class LowCapacityError(WatermarkError):
    """The content is too flat to hold a mark that survives at the quality limit."""


class OutputError(SynthmarkError):
    """The output cannot be written."""


class OutputExistsError(OutputError):
    """The output exists and overwriting was not asked for."""


class OutputNotWritableError(OutputError):
    """The output location cannot be written (missing folder, permissions, disk full)."""


class ProvenanceError(SynthmarkError):
    """A C2PA manifest cannot be made or read (errors of c2pa-python are translated to this)."""


class CertificateError(ProvenanceError):
    """The signing certificate chain or private key is unusable for C2PA.

    Raised before any signing: not PEM or unreadable, end-entity expired or not yet valid,
    self-signed end-entity, missing or rejected extended key usage, key that does not match the
    certificate, unsupported key type.
    """


class BatchError(SynthmarkError):
    """A batch run cannot start or go on: its ledger is locked by another run or unreadable,
    SRC and DEST overlap, or an optional extra (Dask) is not installed."""


class SynthmarkWarning(UserWarning):
    """Something the user should know that does not stop the work (the CLI prints it as one
    ``synthmark: warning: ...`` line)."""


class ExposedKeyWarning(SynthmarkWarning):
    """A watermark key file other users can read (or write): the key is a secret."""
