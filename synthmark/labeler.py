"""The :class:`Labeler` generation backends configure once and call for every output.

A generation service labels in-process: producer code, watermark key, C2PA signer and label
styles are set once, and every call is only the work on that output (no key file read, no
signer set up, no style parsed). A Labeler is immutable and keeps no state between calls, so
one instance serves any number of threads.

What :meth:`Labeler.label` takes and gives back:

=========================================  =================================================
content                                    result
=========================================  =================================================
file bytes (any format synthmark reads)    the file's bytes, every configured layer applied
                                           (:func:`synthmark.label_bytes`), read back
``str`` (generated text)                   the text with the explicit phrase and, with a key,
                                           the invisible Unicode mark
H x W x C ``uint8`` array / Pillow image   the same kind, visible label drawn and watermark
                                           embedded; with ``encode="png"`` / ``"jpeg"`` /
                                           ``"webp"``: the final file bytes, metadata label
                                           and C2PA manifest (soft binding filled in) added
                                           and read back, pixels encoded once
``(n, channels)`` float audio array with   the same kind, audible label and watermark added
``sample_rate=``
=========================================  =================================================
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthmark.aigc import AIGCLabel
from synthmark.errors import SynthmarkError
from synthmark.labeling import DEFAULT_AUDIBLE, DEFAULT_STYLE, label_bytes
from synthmark.payload import Mark, content_id

if TYPE_CHECKING:
    from synthmark.audio import AudibleStyle
    from synthmark.image.visible import LabelStyle
    from synthmark.keys import WatermarkKey
    from synthmark.omissions import OmissionLog
    from synthmark.provenance import Signer
    from synthmark.video.labeler import VideoLabelStyle

__all__ = ["Labeler"]

#: Pillow format and save options per ``encode=`` value.
_ENCODINGS = {"png": ("PNG", {}), "jpeg": ("JPEG", {"quality": 92}), "webp": ("WEBP", {"quality": 90})}


@dataclass(frozen=True)
class Labeler:
    """Every layer a producer applies, configured once.

    ``producer``: ContentProducer (your provider code). ``key``: the watermark key (None: no
    watermark). ``signer``: a C2PA signing identity (:func:`synthmark.provenance.load_signer`;
    None: no manifest). ``visible`` / ``audible`` / ``video``: the explicit-label styles
    (None: off; leaving it off is logged to ``omission_log``, art. 9). ``metadata``: write the
    AIGC metadata label where the format has a container.
    """

    producer: str
    key: WatermarkKey | None = None
    signer: Signer | None = None
    visible: LabelStyle | None = DEFAULT_STYLE
    audible: AudibleStyle | None = DEFAULT_AUDIBLE
    video: VideoLabelStyle | None = None
    metadata: bool = True
    omission_log: OmissionLog | None = None

    def new_label(self, produce_id: str | None = None) -> AIGCLabel:
        """The AIGC label of one output (a fresh ProduceID unless given)."""
        return AIGCLabel.new(self.producer, produce_id=produce_id)

    def label(
        self,
        content: Any,
        *,
        produce_id: str | None = None,
        sample_rate: int | None = None,
        encode: str | None = None,
        path: str | None = None,
    ) -> Any:
        """``content`` labeled (see the module table for what comes back).

        ``produce_id`` names this output in the label and the watermark payload (default: a
        fresh one); ``sample_rate`` is required for audio arrays; ``encode`` turns an image
        array or Pillow image into final file bytes; ``path`` names the content in errors.
        """
        label = self.new_label(produce_id)
        if isinstance(content, (bytes, bytearray, memoryview)):
            return self._file(bytes(content), label, path=path)
        if isinstance(content, str):
            labeled = self._file(content.encode("utf-8"), label, path=path, text=True)
            return labeled.decode("utf-8")
        if sample_rate is not None:
            return self._audio(content, sample_rate, label)
        return self._image(content, label, encode, path)

    def _file(self, data: bytes, label: AIGCLabel, *, path: str | None, text: bool = False) -> bytes:
        labeled, _ = label_bytes(
            data,
            label,
            visible=self.visible,
            audible=self.audible,
            video=self.video,
            key=self.key,
            metadata=self.metadata and not text,
            signer=None if text else self.signer,
            path=path,
            omission_log=self.omission_log,
        )
        return labeled

    def _image(self, content: Any, label: AIGCLabel, encode: str | None, path: str | None) -> Any:
        from synthmark import image

        if self.visible is not None:
            content, _ = image.draw_label(content, self.visible)
        mark = None if self.key is None else Mark(self.key, content_id(label.produce_id))
        if mark is not None:
            content = image.embed_watermark(content, mark.key, mark.content_id)
        if encode is None:
            return content
        if encode not in _ENCODINGS:
            raise SynthmarkError(f"cannot encode as {encode!r}", path=path, fix=f"use one of {', '.join(_ENCODINGS)}")
        from PIL import Image

        picture = content if isinstance(content, Image.Image) else Image.fromarray(content)
        name, options = _ENCODINGS[encode]
        buffer = io.BytesIO()
        picture.save(buffer, name, **options)
        labeled, _ = label_bytes(
            buffer.getvalue(),
            label,
            visible=None,
            audible=None,
            metadata=self.metadata,
            signer=self.signer,
            embedded=mark,
            path=path,
            # The visible label was drawn on the pixels above; only its omission is logged.
            omission_log=self.omission_log if self.visible is None else None,
        )
        return labeled

    def _audio(self, samples: Any, sample_rate: int, label: AIGCLabel) -> Any:
        from synthmark import audio

        style = self.audible
        if style is not None:
            samples = audio.add_explicit_label(
                samples, sample_rate, kind=style.kind, at=style.at, language=style.language, gap=style.gap
            )
        if self.key is not None:
            samples = audio.embed_watermark(samples, sample_rate, self.key, content_id(label.produce_id))
        return samples
