"""Labeling a file end to end: visible label, watermark, metadata label, C2PA manifest,
written atomically.

Layers are applied in the order that keeps each valid: pixels first (the visible label, then
the invisible watermark over it, in one decode and one re-encode that carries every existing
metadata segment over), then the metadata label, and the C2PA manifest last, so its hash
binds the final bytes. A file that already carried a manifest becomes the new manifest's
parent ingredient: the provenance chain is extended, never replaced. The metadata label is
read back before anything is written.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import time
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any

from synthmark._atomic import check_output, write_atomic
from synthmark.aigc import AIGCLabel
from synthmark.audio import AudibleStyle
from synthmark.errors import LowCapacityError, OutputError, ProvenanceError, SynthmarkError, WatermarkError, naming_path
from synthmark.formats import FORMATS, read_bytes, sniff
from synthmark.image.visible import LabelPlacement, LabelStyle
from synthmark.keys import WatermarkKey
from synthmark.metadata import check_relabel, interpret
from synthmark.payload import Mark, content_id
from synthmark.protocols import ExplicitStyles, Modality

if TYPE_CHECKING:
    from synthmark.omissions import OmissionLog
    from synthmark.provenance import Signer
    from synthmark.video import VideoLabelStyle

#: The default visible label: ``AI生成`` at the bottom right, 6 % of the shortest side.
DEFAULT_STYLE = LabelStyle()
#: The default audible label: the rhythm prompt at the start.
DEFAULT_AUDIBLE = AudibleStyle()

__all__ = ["DEFAULT_AUDIBLE", "DEFAULT_STYLE", "LabelResult", "label_bytes", "label_file"]


@dataclass(frozen=True)
class LabelResult:
    """What :func:`label_file` / :func:`label_bytes` did.

    ``layers`` lists the layers applied, in order (``"visible"``, ``"watermark"``,
    ``"metadata"``, ``"c2pa"``); ``placement`` is where the visible label went (None without
    one); ``watermark`` the embedded payload (16 hex digits, the content id derived from
    ProduceID) and key id, or None; ``warnings`` what the caller should know (e.g. an input
    manifest left unsigned); ``seconds`` the wall time.
    """

    input: str | None
    output: str | None
    media_type: str
    label: AIGCLabel
    layers: tuple[str, ...]
    placement: LabelPlacement | None
    seconds: float
    watermark: dict[str, str] | None = None
    warnings: tuple[str, ...] = ()

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
            "watermark": self.watermark,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 4),
        }


@naming_path
def label_bytes(
    data: bytes,
    label: AIGCLabel,
    *,
    visible: LabelStyle | None = DEFAULT_STYLE,
    audible: AudibleStyle | None = DEFAULT_AUDIBLE,
    metadata: bool = True,
    key: WatermarkKey | None = None,
    signer: Signer | None = None,
    thumbnail: bool = False,
    path: str | None = None,
    video: VideoLabelStyle | None = None,
    progress: Any = None,
    omission_log: OmissionLog | None = None,
    user: str = "",
    output: str | None = None,
    embedded: Mark | None = None,
) -> tuple[bytes, LabelResult]:
    """Label a file's bytes in memory; returns the new bytes and what was done.

    ``visible`` is an image's explicit label (:class:`~synthmark.image.LabelStyle`, None:
    none), ``audible`` an audio file's (:class:`~synthmark.audio.AudibleStyle`, None: none);
    ``key`` embeds the invisible watermark carrying :func:`~synthmark.payload.content_id` of the
    label's ProduceID; ``metadata`` writes the AIGC metadata label; ``signer``
    (:func:`synthmark.provenance.load_signer`) adds a signed C2PA manifest last (with a claim
    thumbnail if ``thumbnail``). Without an explicit label and ``key`` the content is not
    re-encoded. Video files take ``video`` (:class:`~synthmark.video.VideoLabelStyle`: opening
    or persistent, how long) with ``visible``'s text and placement (None: none), and report
    re-encoding progress to ``progress(frames_done, frames_total_or_None)``. ``label`` is
    checked first (:class:`~synthmark.errors.InvalidLabelError`), and so is the file's own
    label: another producer's label is never replaced (:class:`~synthmark.errors.ForeignLabelError`);
    ``path`` only names the file.

    Art. 9: when the explicit label is left out at the user's request (``visible`` / ``audible``
    None), ``omission_log`` (:class:`~synthmark.omissions.OmissionLog`) gets a durable record
    (producer, ProduceID, the output's SHA-256, ``user``, ``output``) before the bytes are
    returned; without a log the result carries a warning.

    ``embedded``: the content already carries this watermark (embedded on the arrays before
    encoding, as :class:`synthmark.Labeler` does); it is read back from ``data``
    (:class:`~synthmark.errors.LowCapacityError` if it does not read back), reported as the
    watermark layer and bound in the C2PA manifest. Pass it or ``key``, not both.
    """
    start = time.perf_counter()
    fmt = sniff(data, path=path)
    modality: Modality = importlib.import_module(f"synthmark.{fmt.modality}")
    explicit_style = modality.explicit_style(ExplicitStyles(visible, audible, video))
    omitted = explicit_style is None
    if key is not None and embedded is not None:
        raise SynthmarkError("a watermark key and an embedded mark were both given", path=path, fix="pass one")
    if explicit_style is None and key is None and not metadata and signer is None:
        raise SynthmarkError(
            "nothing to do: the explicit label, watermark, metadata label and C2PA manifest are all off",
            path=path,
            fix="enable at least one layer",
        )
    fmt.module().check(data, path=path)
    # Before any work: never replace another producer's label (art. 10); fields kept from the
    # file's own label are written as found.
    existing = interpret(fmt.module().read_carriers(data, path=path)).label
    check_relabel(existing, label, path=path)
    if metadata or signer is not None:
        label.checked(kept_from=existing)
    original = data
    layers: list[str] = []
    placement = None
    watermark = None
    warnings: list[str] = []
    codec = fmt.module()
    explicit_supported = getattr(codec, "supports_explicit", lambda *_, **__: True)(data, path=path)
    if explicit_style is not None and not explicit_supported:
        warnings.append(f"explicit label not added: not supported in {fmt.name} files yet; add it where it is authored")
        explicit_style = None
    if explicit_style is not None or key is not None:
        mark = None if key is None else Mark(key, content_id(label.produce_id))
        try:
            data, placement = modality.relabel_content(data, explicit_style, mark, path=path, progress=progress)
        except WatermarkError as exc:
            # The watermark is encouraged, the other layers are required: label without it,
            # and say so (layers then lack "watermark").
            warnings.append(f"watermark skipped: {exc.message}; {exc.fix}")
            key = mark = None
            if explicit_style is not None:
                data, placement = modality.relabel_content(data, explicit_style, None, path=path, progress=progress)
        layers += [
            name for name, on in ((modality.EXPLICIT_LAYER, explicit_style), ("watermark", key)) if on is not None
        ]
        if mark is not None:
            watermark = {"payload": f"{mark.content_id:016x}", "key_id": mark.key.key_id}
    if embedded is not None:
        found = modality.find_watermark(data, [embedded.key])
        if not found.found or found.content_id != embedded.content_id:
            raise LowCapacityError(
                "the watermark embedded before encoding does not read back from the encoded file",
                path=path,
                fix="encode at a higher quality, or let label_bytes embed it (key=)",
            )
        watermark = {"payload": f"{embedded.content_id:016x}", "key_id": embedded.key.key_id}
        layers.append("watermark")
    if metadata and not getattr(codec, "CARRIES_METADATA", True):
        warnings.append(f"no metadata label: {fmt.media_type} has no metadata container (the explicit label serves)")
    elif metadata:
        data = modality.write_metadata(data, label, path=path)
        layers.append("metadata")
    had_manifest = (
        _may_carry_manifest(original)
        and fmt.media_type in provenance().SUPPORTED_MEDIA_TYPES
        and provenance().read(original, fmt.media_type).found
    )
    if signer is not None and fmt.media_type not in provenance().SUPPORTED_MEDIA_TYPES:
        warnings.append(f"no C2PA manifest: c2pa-python does not embed manifests in {fmt.media_type} files")
    elif signer is not None:
        binding = None
        if watermark is not None:
            alg = provenance().SOFT_BINDING_ALGS[fmt.modality]
            binding = provenance().Watermark(watermark["payload"], watermark["key_id"], alg)
        parent = original if had_manifest else None
        data = provenance().sign(
            data,
            fmt.media_type,
            signer,
            label=label,
            watermark=binding,
            parent=parent,
            thumbnail=thumbnail,
            kept_from=existing,
        )
        _check_manifest_reads_back(data, fmt.media_type, path)
        layers.append("c2pa")
    elif had_manifest and data != original:
        warnings.append(
            "the input's C2PA manifest no longer matches the relabeled file; "
            "sign with --c2pa-cert/--c2pa-key to chain it as the parent ingredient"
        )
    # Art. 9 binds the producer handing out its own AI content (Label 1), not a platform's
    # propagation or class 2/3 relabel.
    producing = label.label == "1" and (existing is None or existing.content_producer == label.content_producer)
    if omitted and explicit_supported and producing:
        kind = modality.EXPLICIT_LAYER
        if omission_log is None:
            warnings.append(
                f"{kind} label omitted: art. 9 asks for a record of such hand-outs kept >= 6 months "
                "(pass omission_log=; the CLI keeps one)"
            )
        else:
            omission_log.record(
                producer=label.content_producer,
                produce_id=label.produce_id,
                media_type=fmt.media_type,
                sha256=hashlib.sha256(data).hexdigest(),
                omitted=kind,
                user=user,
                output=output,
            )
    result = LabelResult(
        path,
        None,
        fmt.media_type,
        label,
        tuple(layers),
        placement,
        time.perf_counter() - start,
        watermark,
        tuple(warnings),
    )
    return data, result


def _check_manifest_reads_back(data: bytes, media_type: str, path: str | None) -> None:
    """A layer is reported only when the written bytes show it: the manifest must read back and
    validate (an untrusted signer is fine here; the reader's trust anchors decide that)."""
    report = provenance().read(data, media_type)
    if not report.found or report.state == "Invalid":
        raise ProvenanceError(
            "the signed C2PA manifest does not read back as valid: " + "; ".join(report.reasons or ("not found",)),
            path=path,
            fix="this is a synthmark bug: please report it with the file",
        )


def _check_output_suffix(data: bytes, input: str | os.PathLike[str], output: str | os.PathLike[str]) -> None:
    """Refuse an output name whose extension belongs to another format (``x.flac -o y.mp3``
    would write FLAC bytes under an MP3 name)."""
    suffix = os.path.splitext(os.fspath(output))[1].lower()
    fmt = sniff(data, path=input)
    others = {ext for other in FORMATS if other.name != fmt.name for ext in other.extensions} - set(fmt.extensions)
    if suffix in others:
        raise OutputError(
            f"output extension {suffix!r} names another format than the input ({fmt.name}); "
            "synthmark labels files in their own format and does not transcode",
            path=output,
            fix=f"name the output with {fmt.extensions[0]!r} (or convert the file first with another tool)",
        )


def _may_carry_manifest(data: bytes) -> bool:
    """Cheap pre-check before importing c2pa: every embedded manifest store is a JUMBF box
    labelled ``c2pa``."""
    return b"c2pa" in data


def provenance() -> ModuleType:
    """:mod:`synthmark.provenance`, imported on first use (c2pa costs ~55 ms to import)."""
    return importlib.import_module("synthmark.provenance")


def label_file(
    input: str | os.PathLike[str],
    output: str | os.PathLike[str],
    label: AIGCLabel,
    *,
    visible: LabelStyle | None = DEFAULT_STYLE,
    audible: AudibleStyle | None = DEFAULT_AUDIBLE,
    metadata: bool = True,
    key: WatermarkKey | None = None,
    signer: Signer | None = None,
    thumbnail: bool = False,
    overwrite: bool = False,
    video: VideoLabelStyle | None = None,
    progress: Any = None,
    omission_log: OmissionLog | None = None,
    user: str = "",
) -> LabelResult:
    """Write a labeled copy of ``input`` to ``output`` atomically; ``input`` is never modified.

    ``visible``, ``audible``, ``metadata``, ``key``, ``signer``, ``thumbnail``, ``video``,
    ``progress``, ``omission_log`` and ``user`` as in :func:`label_bytes`. Raises
    :class:`~synthmark.errors.OutputExistsError` if ``output`` exists and ``overwrite`` is false,
    or if it is ``input`` itself, and :class:`~synthmark.errors.OutputError` if ``output``'s
    extension names another format than the input's (synthmark does not transcode). On any error
    nothing is left at ``output``.
    """
    check_output(output, overwrite=overwrite, inputs=(input,))
    data = read_bytes(input)
    _check_output_suffix(data, input, output)
    labeled, result = label_bytes(
        data,
        label,
        visible=visible,
        audible=audible,
        metadata=metadata,
        key=key,
        signer=signer,
        thumbnail=thumbnail,
        path=os.fspath(input),
        video=video,
        progress=progress,
        omission_log=omission_log,
        user=user,
        output=os.fspath(output),
    )
    write_atomic(output, labeled)
    return replace(result, input=os.fspath(input), output=os.fspath(output))
