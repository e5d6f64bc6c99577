"""Labeling a file end to end: visible label, then the metadata label, written atomically.

Layers are applied in the order that keeps each valid: pixels first (the visible label needs a
re-encode, which carries every existing metadata segment over), then the metadata label on the
final bytes. The result is read back before anything is written.
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass
from typing import Any

from synthmark._atomic import check_output, write_atomic
from synthmark.aigc import AIGCLabel
from synthmark.errors import SynthmarkError
from synthmark.formats import read_bytes, sniff
from synthmark.image.visible import LabelPlacement, LabelStyle

#: The default visible label: ``AI生成`` at the bottom right, 6 % of the shortest side.
DEFAULT_STYLE = LabelStyle()

__all__ = ["DEFAULT_STYLE", "LabelResult", "label_bytes", "label_file"]


@dataclass(frozen=True)
class LabelResult:
    """What :func:`label_file` / :func:`label_bytes` did.

    ``layers`` lists the layers applied, in order (``"visible"``, ``"metadata"``);
    ``placement`` is where the visible label went (None without one); ``seconds`` the wall time.
    """

    input: str | None
    output: str | None
    media_type: str
    label: AIGCLabel
    layers: tuple[str, ...]
    placement: LabelPlacement | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (``synthmark label --json``)."""
        placement = None
        if self.placement is not None:
            p = self.placement
            placement = {
                "left": p.left,
                "top": p.top,
                "width": p.width,
                "height": p.height,
                "text_height": p.text_height,
            }
        return {
            "input": self.input,
            "output": self.output,
            "media_type": self.media_type,
            "label": self.label.to_dict(),
            "layers": list(self.layers),
            "visible_placement": placement,
            "seconds": round(self.seconds, 4),
        }


def label_bytes(
    data: bytes,
    label: AIGCLabel,
    *,
    visible: LabelStyle | None = DEFAULT_STYLE,
    metadata: bool = True,
    path: str | None = None,
) -> tuple[bytes, LabelResult]:
    """Label a file's bytes in memory; returns the new bytes and what was done.

    ``visible`` is the explicit label's :class:`~synthmark.image.LabelStyle` (None: no visible
    label, pixels untouched); ``metadata`` writes the AIGC metadata label. ``label`` is checked
    first (:class:`~synthmark.errors.InvalidLabelError`); ``path`` only names the file in errors.
    """
    start = time.perf_counter()
    if visible is None and not metadata:
        raise SynthmarkError(
            "nothing to do: both the visible and the metadata label are off", path=path, fix="enable at least one layer"
        )
    if metadata:
        label.checked()
    fmt = sniff(data[:16], path=path)
    modality = importlib.import_module(f"synthmark.{fmt.modality}")
    fmt.module().check(data, path=path)
    layers: list[str] = []
    placement = None
    if visible is not None:
        data, placement = modality.relabel_pixels(data, visible, path=path)
        layers.append("visible")
    if metadata:
        data = modality.write_metadata(data, label)
        layers.append("metadata")
    result = LabelResult(path, None, fmt.media_type, label, tuple(layers), placement, time.perf_counter() - start)
    return data, result


def label_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    label: AIGCLabel,
    *,
    visible: LabelStyle | None = DEFAULT_STYLE,
    metadata: bool = True,
    overwrite: bool = False,
) -> LabelResult:
    """Write a labeled copy of ``input`` to ``output`` atomically; ``input`` is never modified.

    ``visible`` and ``metadata`` as in :func:`label_bytes`. Raises
    :class:`~synthmark.errors.OutputExistsError` if ``output`` exists and ``overwrite`` is false,
    or if it is ``input`` itself. On any error nothing is left at ``output``.
    """
    check_output(output, overwrite=overwrite, inputs=(input,))
    data = read_bytes(input)
    labeled, result = label_bytes(data, label, visible=visible, metadata=metadata, path=os.fspath(input))
    write_atomic(output, labeled)
    return LabelResult(
        os.fspath(input), os.fspath(output), result.media_type, label, result.layers, result.placement, result.seconds
    )
