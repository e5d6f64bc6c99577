"""The written contracts between synthmark's layers.

Generic code (:mod:`synthmark.labeling`, :mod:`synthmark.detect`, the batch worker) never asks
which modality a file is: it looks up the registry row (:mod:`synthmark.formats`), imports the
modality package and the container codec that row names, and calls them through these
protocols. Every registered modality package and codec module is checked against them by
``tests/test_protocols.py``, signatures included.

* :class:`ContainerCodec`: one module per container format (``synthmark/image/_jpeg.py``,
  ``synthmark/audio/_flac.py``, ``synthmark/text/_office.py`` ...): the metadata label in
  the file's own carriers, without decoding the content.
* :class:`Modality`: one package per modality (``synthmark.image``, ``.audio``, ``.video``,
  ``.text``), the same verbs in each.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from synthmark.media import Media

if TYPE_CHECKING:
    from synthmark.aigc import AIGCLabel
    from synthmark.aisource import ProvenanceMetadata
    from synthmark.keys import WatermarkKey
    from synthmark.metadata import Carrier, MetadataReading
    from synthmark.payload import Mark

#: What the modality verbs read: a path, the file's bytes, an open binary file, or a
#: :class:`~synthmark.media.Media` (read once, decoded once, shared by several verbs).
Source = str | os.PathLike[str] | bytes | BinaryIO | Media


@dataclass(frozen=True)
class ExplicitStyles:
    """Every explicit-label style a caller configured; each modality picks its own
    (:meth:`Modality.explicit_style`). ``visible``: an image :class:`~synthmark.image.LabelStyle`
    (images, video frames, text documents' wording); ``audible``: an
    :class:`~synthmark.audio.AudibleStyle`; ``video``: a
    :class:`~synthmark.video.VideoLabelStyle` (opening or persistent, how long). None: off."""

    visible: Any = None
    audible: Any = None
    video: Any = None


@runtime_checkable
class ContainerCodec(Protocol):
    """A container format's metadata label, read and written in place (no re-encoding).

    Every function raises :class:`~synthmark.errors.SynthmarkError` subclasses only, naming
    ``path`` when given.
    """

    def check(self, data: bytes, *, path: str | None = None) -> None:
        """Raise :class:`~synthmark.errors.CorruptFileError` if the container is malformed."""

    def read_carriers(self, data: bytes, *, path: str | None = None) -> list[Carrier]:
        """Every place in the file that may hold an AIGC label, in reading order."""

    def write_label(self, data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
        """``data`` with exactly one AIGC label, everything else kept."""


@runtime_checkable
class Modality(Protocol):
    """The verbs every modality package has (``synthmark.image`` ...).

    ``EXPLICIT_LAYER`` names the explicit label in results (``"visible"`` or ``"audible"``);
    ``WATERMARK_OPTIONS`` the keyword options its :meth:`find_watermark` takes beyond the keys
    (text: ``tokenizer``), so callers pass only those.
    """

    EXPLICIT_LAYER: str
    WATERMARK_OPTIONS: frozenset[str]

    def explicit_style(self, styles: ExplicitStyles) -> Any:
        """The style this modality's explicit label takes from ``styles`` (None: off)."""

    def relabel_content(
        self, data: bytes, style: Any, mark: Mark | None = None, *, path: str | None = None, progress: Any = None
    ) -> tuple[bytes, Any]:
        """The explicit label in ``style`` and/or the watermark ``mark``, one decode and one
        encode; returns the new bytes and where the label went (None where it has no place)."""

    def read_metadata(self, source: Source, *, strict: bool = False) -> MetadataReading:
        """The metadata label as read from the file's carriers."""

    def write_metadata(self, source: Source, label: AIGCLabel, *, path: str | None = None) -> bytes:
        """The file's bytes with exactly one metadata label, read back before returning."""

    def find_watermark(self, source: Source, keys: Sequence[WatermarkKey], **options: Any) -> Any:
        """The invisible watermark under any of ``keys`` (a report with ``found``,
        ``content_id`` and ``to_dict()``)."""

    def find_explicit(self, source: Source) -> dict[str, Any]:
        """The explicit label as read from the content (``found``, ``checked``, details)."""

    def read_provenance_metadata(self, source: Source) -> ProvenanceMetadata:
        """AI origin declared in the file's ordinary metadata (IPTC, generator tags)."""

    def evaluate_robustness(self, path: str | os.PathLike[str], key: WatermarkKey, **options: Any) -> Any:
        """This modality's robustness suite against the mark in the file at ``path``."""
