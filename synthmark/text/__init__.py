"""Text: the explicit label, the metadata label in documents, the invisible Unicode mark, and
the statistical watermark for language-model backends.

The verbs every modality shares, on ``str`` (pure, no I/O):

* :func:`add_explicit_label` — a phrase with the AI and the
  generation elements (``AI生成`` by default) at the start, the end or a middle position;
  :func:`find_explicit_phrases` finds such phrases again;
* :func:`embed_watermark` / :func:`detect_watermark` — the keyed 64-bit Unicode mark
  (variation selectors after sentence ends, see :mod:`synthmark.text.unicode_mark`);

and on document bytes (plain text, Markdown, HTML, DOCX, XLSX, PPTX, PDF):

* :func:`read_metadata` / :func:`write_metadata` — the AIGC label (Markdown front matter,
  HTML ``<meta name="AIGC">``, Office ``docProps/custom.xml``, PDF ``/AIGC``);
* :func:`relabel_content`, :func:`find_watermark`, :func:`find_explicit` for the labeling and
  verification pipelines.

For generation backends, :class:`GreenList` is a keyed logits processor (numpy; torch tensors
accepted) with :func:`hf_logits_processor` for ``transformers``; :func:`detect_statistical`
needs only the text, the key and the tokenizer (:class:`WordTokenizer`, or any callable
text -> ids). :class:`NGramModel` is the small offline model the tests and the benchmark
generate with.

>>> from synthmark import text
>>> from synthmark.keys import WatermarkKey
>>> key = WatermarkKey(bytes(range(32)))
>>> labeled = text.add_explicit_label("Rain is expected. Take an umbrella.", position="end")
>>> marked = text.embed_watermark(labeled, key, 0xC0FFEE)
>>> report = text.detect_watermark(marked[:30], key)            # an excerpt
>>> report.found, report.payload_hex, [p.text for p in text.find_explicit_phrases(marked)]
(True, '0000000000c0ffee', ['AI生成'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthmark._lazy import lazy_attributes
from synthmark.aigc import AIGCLabel
from synthmark.errors import RenderError
from synthmark.keys import WatermarkKey
from synthmark.media import Media
from synthmark.metadata import MetadataReading, interpret, write_checked
from synthmark.payload import Mark, WatermarkReport
from synthmark.protocols import ExplicitStyles, Source
from synthmark.text.explicit import (
    DEFAULT_TEXT,
    VARIANTS,
    ExplicitPhrase,
    TextLabelStyle,
    add_explicit_label,
    find_explicit_phrases,
    label_text,
    locate_labels,
)
from synthmark.text.unicode_mark import UnicodeMarkReport, detect_unicode_mark, embed_unicode_mark

if TYPE_CHECKING:
    from synthmark.aisource import ProvenanceMetadata
    from synthmark.formats import Format
    from synthmark.text._adapters import hf_logits_processor
    from synthmark.text.ngram import NGramModel
    from synthmark.text.statistical import GreenList, StatisticalReport, detect_ids, detect_statistical
    from synthmark.text.tokenizer import WordTokenizer, load_tokenizer

__all__ = [
    "DEFAULT_TEXT",
    "EXPLICIT_LAYER",
    "VARIANTS",
    "WATERMARK_OPTIONS",
    "ExplicitPhrase",
    "GreenList",
    "Mark",
    "NGramModel",
    "StatisticalReport",
    "TextLabelStyle",
    "TextWatermarkReport",
    "UnicodeMarkReport",
    "WordTokenizer",
    "add_explicit_label",
    "detect_ids",
    "detect_statistical",
    "detect_watermark",
    "embed_watermark",
    "evaluate_robustness",
    "explicit_style",
    "find_explicit",
    "find_explicit_phrases",
    "find_watermark",
    "hf_logits_processor",
    "load_tokenizer",
    "read_metadata",
    "read_provenance_metadata",
    "read_text",
    "relabel_content",
    "write_metadata",
]

_LAZY = {
    "GreenList": "synthmark.text.statistical",
    "StatisticalReport": "synthmark.text.statistical",
    "detect_ids": "synthmark.text.statistical",
    "detect_statistical": "synthmark.text.statistical",
    "WordTokenizer": "synthmark.text.tokenizer",
    "load_tokenizer": "synthmark.text.tokenizer",
    "NGramModel": "synthmark.text.ngram",
    "hf_logits_processor": "synthmark.text._adapters",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


#: The Modality contract (synthmark.protocols): the explicit label's layer name, the options
#: find_watermark takes beyond the keys (a tokenizer turns on the statistical detector).
EXPLICIT_LAYER = "visible"
WATERMARK_OPTIONS = frozenset({"tokenizer"})


def explicit_style(styles: ExplicitStyles) -> Any:
    """The phrase's style: the visible style (its wording; top positions mean the start)."""
    return styles.visible


def embed_watermark(text: str, key: WatermarkKey, content_id: int, *, every: int = 2) -> str:
    """``text`` with the invisible Unicode mark carrying ``content_id`` (see
    :func:`synthmark.text.unicode_mark.embed_unicode_mark`). The visible characters are
    unchanged."""
    return embed_unicode_mark(text, key, content_id, every=every)


def detect_watermark(text: str, keys: WatermarkKey | Sequence[WatermarkKey]) -> UnicodeMarkReport:
    """The Unicode mark of any of ``keys`` in ``text`` (see
    :func:`synthmark.text.unicode_mark.detect_unicode_mark`)."""
    return detect_unicode_mark(text, keys)


def text_format(data: bytes, *, path: str | None) -> Format:
    """The text :class:`~synthmark.formats.Format` of ``data``; other media raise
    :class:`~synthmark.errors.UnsupportedFormatError`."""
    from synthmark.formats import sniff_modality  # not at import: formats imports this package

    return sniff_modality(data, "text", path=path)


def _load(source: Source) -> tuple[bytes, str | None]:
    from synthmark.formats import load_source

    return load_source(source)


def read_text(source: Source) -> str:
    """The text of a document as the detectors read it (Office: the runs, one line per
    paragraph; PDF: pypdf's extraction; HTML: character references decoded). Extracted once
    per :class:`~synthmark.media.Media`."""
    media = Media.of(source)

    def extract() -> str:
        text: str = text_format(media.data, path=media.path).module().text_of(media.data, path=media.path)
        return text

    return media.cached("text", extract)


def read_metadata(source: Source, *, strict: bool = False) -> MetadataReading:
    """The AIGC metadata label of a document, read leniently (problems reported, not raised).
    Plain text has no container: the reading is always empty."""
    data, path = _load(source)
    codec = text_format(data, path=path).module()
    return interpret(codec.read_carriers(data, path=path), strict=strict)


def write_metadata(source: Source, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """The document's bytes with exactly one AIGC label, everything else kept; read back before
    returning. Plain text raises :class:`~synthmark.errors.MetadataError` (no container).
    ``path`` names bytes whose format depends on the name (``.md`` without front matter)."""
    data, source_path = _load(source)
    path = path or source_path
    return write_checked(text_format(data, path=path).module(), data, label, path=path)


def supports_explicit(data: bytes, *, path: str | None = None) -> bool:
    """Whether :func:`relabel_content` can add the explicit label to this document (every text
    format can: a paragraph in plain text, Markdown, HTML and DOCX, a label annotation on the
    first page of a PDF, a text box on the first slide of a PPTX, the header or footer of every
    sheet and a note on the first sheet of an XLSX)."""
    return bool(text_format(data, path=path).module().supports_explicit(data, path=path))


def relabel_content(
    data: bytes,
    style: object | None,
    mark: Mark | None = None,
    *,
    path: str | None = None,
    progress: Any = None,  # unused: documents are rewritten in one step (the Modality contract)
) -> tuple[bytes, None]:
    """Add the explicit label (``style``: a :class:`TextLabelStyle`, a phrase, or an image
    :class:`~synthmark.image.LabelStyle` whose top positions mean the start and the others the
    end) and/or the Unicode mark (plain text, Markdown and HTML; other formats raise
    :class:`~synthmark.errors.WatermarkError`). The metadata label is written after this.

    A document that already shows a compliant label at a label position keeps it (never
    doubled). Otherwise the label is written and the written bytes are read back with the
    reader of :func:`find_explicit`: a label that does not read back at a label position raises
    :class:`~synthmark.errors.RenderError`, so a caller never reports a label that is not there.
    """
    from synthmark.text._common import style_of

    codec = text_format(data, path=path).module()
    out: bytes = codec.relabel(data, style, mark, path=path)
    text_style = style_of(style)
    if text_style is not None and not _explicit_evidence(codec, out, path)["found"]:
        raise RenderError(
            f"the explicit label {label_text(text_style)!r} does not read back at a label position of the "
            f"written document (its start or end, or the label element synthmark writes)",
            path=path,
            fix="report this file; meanwhile add the label where the document is authored",
        )
    return out, None


@dataclass(frozen=True)
class TextWatermarkReport(WatermarkReport):
    """Both invisible text layers of one document: ``details["unicode"]`` and, when a tokenizer
    was given, ``details["statistical"]`` (each that layer's ``to_dict()``). ``found`` when
    either is; the payload comes from the Unicode mark (the statistical mark has none)."""

    def _geometry(self) -> dict[str, Any]:
        return {name: self.details[name] for name in ("unicode", "statistical") if name in self.details}


def find_watermark(source: Source, keys: list[WatermarkKey], *, tokenizer: Any = None) -> TextWatermarkReport:
    """Look for the Unicode mark, and with ``tokenizer`` (callable text -> ids) the statistical
    mark, of ``keys`` in a document's text."""
    text = read_text(source)
    unicode = detect_unicode_mark(text, keys)
    details: dict[str, Any] = {"unicode": unicode.to_dict()}
    found_by: list[WatermarkReport] = [unicode] if unicode.found else []
    p_value, z = unicode.p_value, 0.0
    if tokenizer is not None:
        from synthmark.text.statistical import detect_statistical

        statistical = detect_statistical(text, keys, tokenizer)
        details["statistical"] = statistical.to_dict()
        found_by += [statistical] if statistical.found else []
        p_value, z = min(p_value, statistical.p_value), statistical.pilot_z
    first = found_by[0] if found_by else unicode
    return TextWatermarkReport(
        bool(found_by),
        first.key_id,
        unicode.content_id,
        p_value=p_value,
        pilot_z=z,
        raw_id=unicode.raw_id,
        attempts=unicode.attempts,
        details=details,
    )


def _explicit_evidence(codec: Any, data: bytes, path: str | None) -> dict[str, Any]:
    phrases = locate_labels(codec.explicit_blocks(data, path=path))
    labels = [p for p in phrases if p.at_label_position]
    others = [p for p in phrases if not p.at_label_position]
    return {
        "found": bool(labels),
        "checked": True,
        "kind": "phrase" if phrases else None,
        "phrases": [p.to_dict() for p in (labels + others)[:10]],
    }


def find_explicit(source: Source) -> dict[str, Any]:
    """The explicit-label evidence of a document: every phrase of its visible text (labels
    first), ``found`` when a compliant one stands at a label position — the start or the end of
    the document, a paragraph of its own, or the label element synthmark writes (HTML
    ``class="aigc-label"``, the DOCX paragraph with the ``_AIGC_label`` bookmark, the PDF
    annotation named ``aigc-label``, the PPTX shape named ``AIGC label``, the XLSX headers and
    footers and the note by ``AIGC label``). A phrase mentioned in a sentence or negated
    (``本作品未使用AI生成``) is listed, not found (see :func:`synthmark.text.explicit.locate_labels`)."""
    data, path = _load(source)
    return _explicit_evidence(text_format(data, path=path).module(), data, path)


def read_provenance_metadata(source: Source) -> ProvenanceMetadata:
    """AI origin declared in the file's ordinary metadata: IPTC digital source type and
    generator tools in any XMP packet it holds (see :mod:`synthmark.aisource`)."""
    from synthmark import aisource

    return aisource.read(_load(source)[0])


def evaluate_robustness(path: str | os.PathLike[str], key: WatermarkKey, **options: Any) -> Any:
    """The text suite of ``shared/spec/robustness.md`` against the mark in the file at
    ``path`` (a :class:`~synthmark.transforms.report.RobustnessReport`; options as
    :func:`synthmark.transforms.report.evaluate_file`)."""
    from synthmark.transforms.text import evaluate_text_file

    return evaluate_text_file(path, key, **options)
