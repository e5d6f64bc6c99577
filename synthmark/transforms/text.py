"""The text robustness suite of ``shared/spec/robustness.md``: what "the mark survives" means
for text.

Every transformation is a pure function ``(text, rng) -> text`` on ``str``; only ``excerpt``,
``excerpt3``, ``substitute20`` and ``embed`` draw from ``rng``, so the same seed always gives
the same output. Names are stable and :data:`TEXT_SUITE` lists them in the specification's
order, then the two the text issue adds (``excerpt3``: three whole consecutive sentences;
``html``: copied through a web page, i.e. written into HTML and read back as its text).

``embed`` puts the (marked) text into three times as much unmarked text. The unmarked filler is
``filler`` when given to :func:`apply_text` (for the statistical mark it must be real text that
was not generated with the key), else the text itself with its invisible characters stripped,
which is unmarked for the Unicode mark.

>>> import numpy as np
>>> from synthmark.transforms.text import TEXT_SUITE, apply_text
>>> apply_text("whitespace", "a  b\\n\\n c", seed=0)
'a b c'
>>> apply_text("nfkc", "ＡＩ生成", seed=0)
'AI生成'
>>> list(TEXT_SUITE)
['identity', 'nfkc', 'whitespace', 'excerpt', 'strip-invisible', 'substitute20', 'embed', 'excerpt3', 'html']
"""

from __future__ import annotations

import dataclasses
import html
import html.parser
import itertools
import os
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np

from synthmark.keys import WatermarkKey

__all__ = [
    "EMBED_FACTOR",
    "SUBSTITUTE_FRACTION",
    "TEXT_SUITE",
    "TextTransform",
    "apply_text",
    "embed_in",
    "evaluate_text",
    "evaluate_text_file",
    "sentences",
]

#: A text transformation: ``(text, rng) -> text``.
TextTransform = Callable[[str, np.random.Generator], str]
#: Share of words ``substitute20`` replaces.
SUBSTITUTE_FRACTION = 0.2
#: ``embed``: unmarked text around the passage, as a multiple of its length.
EMBED_FACTOR = 3

# Zero-width characters (ZWSP, ZWNJ, ZWJ, LRM, RLM, WJ and the invisible operators, BOM) and
# variation selectors: what "remove invisible characters" sanitisers strip.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# A sentence end (invisible characters after it start the next sentence) and the space after it.
_SENTENCE_END = re.compile(
    "(?:[.!?…][\"'”’)\\]]*(?=[\\s\ufe00-\ufe0f\U000e0100-\U000e01ef]|$)|[。！？][”’」』）]*)\\s*"
)
_WORD = re.compile(r"[^\W\d_\u3400-\u4dbf\u4e00-\u9fff]+|[\u3400-\u4dbf\u4e00-\u9fff]")


def identity(text: str, rng: np.random.Generator) -> str:
    return text


def nfkc(text: str, rng: np.random.Generator) -> str:
    return unicodedata.normalize("NFKC", text)


def whitespace(text: str, rng: np.random.Generator) -> str:
    """Every run of whitespace becomes one space (line breaks too), ends trimmed."""
    return re.sub(r"\s+", " ", text).strip()


def excerpt(text: str, rng: np.random.Generator) -> str:
    """A contiguous half of the text (by characters), at a random offset."""
    half = len(text) // 2
    start = int(rng.integers(0, len(text) - half + 1))
    return text[start : start + half]


def _strip_invisible(text: str, rng: np.random.Generator | None = None) -> str:
    """The text without zero-width characters and variation selectors: an attack of the suite,
    applied in memory only, never offered as a tool (art. 10)."""
    return _INVISIBLE.sub("", text)


def sentences(text: str) -> list[str]:
    """The text cut after each sentence end (the pieces join back to the text)."""
    cuts = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def substitute20(text: str, rng: np.random.Generator) -> str:
    """20 % of the words (Latin words, single CJK characters) replaced by words drawn at random
    from the text's own words of the same script (an edit that keeps the text's statistics)."""
    matches = list(_WORD.finditer(text))
    if not matches:
        return text
    cjk = np.array([len(m.group(0)) == 1 and m.group(0) >= "\u3400" for m in matches])
    words = np.array([m.group(0) for m in matches], dtype=object)
    chosen = rng.choice(len(matches), size=max(1, round(SUBSTITUTE_FRACTION * len(matches))), replace=False)
    replacement: dict[int, str] = {}
    for i in np.sort(chosen).tolist():
        pool = words[cjk == cjk[i]]
        replacement[i] = str(pool[int(rng.integers(0, len(pool)))])
    parts: list[str] = []
    last = 0
    for i, match in enumerate(matches):
        if i in replacement:
            parts += (text[last : match.start()], replacement[i])
            last = match.end()
    parts.append(text[last:])
    return "".join(parts)


def embed_in(filler: str, factor: int = EMBED_FACTOR) -> TextTransform:
    """The ``embed`` transformation with ``filler`` as the unmarked text (repeated if short)."""

    def embed(text: str, rng: np.random.Generator) -> str:
        source = filler or _strip_invisible(text) or " "
        needed = factor * len(text)
        around = (source * (needed // len(source) + 1))[:needed]
        # Cut at a space so no word is split.
        at = int(rng.integers(0, len(around) + 1))
        space = around.find(" ", at)
        at = len(around) if space < 0 else space + 1
        return around[:at] + text + " " + around[at:]

    return embed


def _embed_self(text: str, rng: np.random.Generator) -> str:
    return embed_in("")(text, rng)


def excerpt3(text: str, rng: np.random.Generator) -> str:
    """Three whole consecutive sentences, from a random one (what a quote usually is)."""
    pieces = sentences(text)
    if len(pieces) <= 3:
        return text
    start = int(rng.integers(0, len(pieces) - 2))
    return "".join(pieces[start : start + 3])


class _TextOnly(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def via_html(text: str, rng: np.random.Generator) -> str:
    """Written into a web page (escaped, one ``<p>`` per paragraph, non-ASCII as character
    references) and read back as the page's text."""
    page = "".join(f"<p>{html.escape(p)}</p>\n" for p in text.split("\n\n"))
    page = page.encode("ascii", "xmlcharrefreplace").decode("ascii")
    parser = _TextOnly()
    parser.feed(f"<html><body>{page}</body></html>")
    parser.close()
    return "".join(parser.parts)


#: The suite, in the specification's order, then ``excerpt3`` and ``html``.
TEXT_SUITE: dict[str, TextTransform] = {
    "identity": identity,
    "nfkc": nfkc,
    "whitespace": whitespace,
    "excerpt": excerpt,
    "strip-invisible": _strip_invisible,
    "substitute20": substitute20,
    "embed": _embed_self,
    "excerpt3": excerpt3,
    "html": via_html,
}


def apply_text(
    name: str,
    text: str,
    rng: np.random.Generator | None = None,
    *,
    seed: int | None = None,
    filler: str | None = None,
) -> str:
    """Apply the transformation ``name`` (``filler``: the unmarked text for ``embed``)."""
    from synthmark.errors import SynthmarkError

    if name not in TEXT_SUITE:
        raise SynthmarkError(f"unknown text transformation {name!r}", fix=f"use one of {' '.join(TEXT_SUITE)}")
    generator = rng if rng is not None else np.random.default_rng(seed)
    if name == "embed" and filler is not None:
        return embed_in(filler)(text, generator)
    return TEXT_SUITE[name](text, generator)


def evaluate_text(
    marked: str,
    key: WatermarkKey,
    payload: int,
    *,
    original: str | None = None,
    names: list[str] | None = None,
    seed: int = 0,
    filler: str | None = None,
) -> Any:
    """The suite against the Unicode mark of ``marked``: per transformation, whether the exact
    ``payload`` is found with ``key``, the bit accuracy of the best candidate, and the copies
    found (in the report's ``pilot_z`` column). ``extra["visible_unchanged"]`` says whether the
    marked text shows the same characters as ``original``."""
    from synthmark.text.unicode_mark import _strip_marks, detect_unicode_mark
    from synthmark.transforms.report import RobustnessReport, _outcome

    outcomes = []
    for index, name in enumerate(names or list(TEXT_SUITE)):
        attacked = apply_text(name, marked, np.random.default_rng([seed, index]), filler=filler)
        start = time.perf_counter()
        report = detect_unicode_mark(attacked, key)
        outcome = _outcome(name, report, payload, f"{len(attacked)} chars", time.perf_counter() - start)
        outcomes.append(dataclasses.replace(outcome, pilot_z=float(report.details.get("copies", 0))))
    extra = {} if original is None else {"visible_unchanged": _strip_marks(marked) == _strip_marks(original)}
    return RobustnessReport(payload, key.key_id, outcomes, extra=extra)


def evaluate_text_file(
    path: str | os.PathLike[str],
    key: WatermarkKey,
    *,
    embed: bool = False,
    original: str | os.PathLike[str] | None = None,
    names: list[str] | None = None,
    seed: int = 0,
) -> Any:
    """:func:`evaluate_text` on a document's text (``synthmark robustness`` for .txt, .md,
    .html, .docx, .pdf): with ``embed`` the text is marked in memory first (payload from the
    metadata label's ProduceID, else random), else the payload is the one found with ``key``."""
    from synthmark import text as text_modality
    from synthmark.transforms.report import check_names, no_mark, payload_to_embed

    check_names(names, TEXT_SUITE)
    content = text_modality.read_text(path)
    reference = None if original is None else text_modality.read_text(original)
    if embed:
        payload = payload_to_embed(text_modality.read_metadata(path).label)
        marked = text_modality.embed_watermark(content, key, payload)
        reference = content
    else:
        found = text_modality.detect_watermark(content, key)
        if not found.found or found.content_id is None:
            raise no_mark(key, path, "text mark")
        payload, marked = found.content_id, content
    return evaluate_text(marked, key, payload, original=reference, names=names, seed=seed)
