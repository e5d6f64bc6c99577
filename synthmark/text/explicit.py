"""The explicit label of text (GB 45438-2025 5.1): a phrase with the AI element and the
generation element at the start, the end or a middle position of the text, and the reader
that finds such labels again (so ``verify`` reports them and relabeling never doubles them).

A phrase only counts as a label where it stands as one (:func:`locate_labels`): at a *label
position* — the start or the end of the document, a paragraph of its own, or the label element
synthmark writes — and worded as a label, not mentioned in a sentence
(:func:`reads_as_label`) nor negated (:func:`is_negated`). A document that merely talks about
"AI生成内容", or says "本作品未使用AI生成", carries no label.

This module works on ``str``; the format-aware placement (after Markdown front matter, outside
code blocks, as a visible HTML element) lives in the format modules and calls
:func:`insert_paragraph` / :func:`label_text` from here, and each format module cuts its
document into :class:`Block`\\ s for :func:`locate_labels`.

>>> from synthmark.text.explicit import add_explicit_label, find_explicit_phrases
>>> labeled = add_explicit_label("The weather is fine.", position="end")
>>> labeled
'The weather is fine.\\n\\nAI生成'
>>> [p.text for p in find_explicit_phrases(labeled)]
['AI生成']
>>> add_explicit_label(labeled, position="end") == labeled    # never doubled
True
>>> mention = "Rules for AI生成内容 took effect in 2025.\\n\\nMore text."
>>> add_explicit_label(mention, position="end").endswith("\\n\\nAI生成")   # a mention is no label
True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from synthmark.aigc import check_wording
from synthmark.errors import WordingError

__all__ = [
    "DEFAULT_TEXT",
    "MAX_LABEL_CHARS",
    "VARIANTS",
    "Block",
    "BlockKind",
    "ExplicitPhrase",
    "Position",
    "TextLabelStyle",
    "add_explicit_label",
    "find_explicit_phrases",
    "is_negated",
    "label_text",
    "locate_labels",
    "reads_as_label",
]

#: The default phrase: the shortest wording with both required elements.
DEFAULT_TEXT = "AI生成"
#: Ready-made wordings by language. English is never offered without the Chinese element pair
#: (the standard defines only the Chinese wording).
VARIANTS: dict[str, str] = {
    "zh": "AI生成",
    "zh-long": "本内容由人工智能生成",
    "en": "AI-generated content (AI生成)",
    "bilingual": "AI生成 / AI-generated",
}
#: Longest text (characters, after NFKC) that can read as a label; longer blocks are prose.
MAX_LABEL_CHARS = 120

#: ``"start"``, ``"end"``, or a character offset: the label goes at the first paragraph boundary
#: at or after it (a middle position).
Position = Literal["start", "end"] | int


@dataclass(frozen=True)
class TextLabelStyle:
    """The explicit label of a text document.

    ``text`` must contain ``AI``/``人工智能`` and ``生成``/``合成``, must not negate them and must
    read as a label (:func:`reads_as_label`), else :class:`WordingError`; ``second_line`` is an
    optional addition (e.g. ``"AI-generated"``) joined with ``" / "``; ``position`` is
    ``"start"``, ``"end"`` or a character offset (middle: the next paragraph boundary at or
    after it).
    """

    text: str = DEFAULT_TEXT
    second_line: str | None = None
    position: Position = "start"

    @classmethod
    def variant(cls, language: str, *, position: Position = "start") -> TextLabelStyle:
        """The ready-made wording for ``language`` (a key of :data:`VARIANTS`)."""
        if language not in VARIANTS:
            raise WordingError(f"no ready-made label for {language!r}", fix=f"use one of {', '.join(VARIANTS)}")
        return cls(VARIANTS[language], None, position)

    def phrase(self) -> str:
        """The label as it is written, checked against the wording rule and the label reader
        (so every label synthmark writes is found again as one)."""
        check = check_wording(self.text)
        if not check.ok:
            missing = [
                n
                for n, ok in (("AI/人工智能", check.has_ai_element), ("生成/合成", check.has_generation_element))
                if not ok
            ]
            raise WordingError(
                f"explicit label {self.text!r} lacks the {' and '.join(missing)} element",
                fix="use wording such as 'AI生成' or '人工智能生成'",
            )
        phrase = self.text if not self.second_line else f"{self.text} / {self.second_line}"
        if "\n" in phrase or "\r" in phrase:
            raise WordingError("an explicit text label is one line", fix="remove the line breaks")
        if any(p.negated for p in find_explicit_phrases(phrase)):
            raise WordingError(f"explicit label {phrase!r} negates the AI element", fix="use wording such as 'AI生成'")
        if not reads_as_label(phrase):
            raise WordingError(
                f"explicit label {phrase!r} does not read as a label (a phrase such as 由AI生成, with an "
                "optional subject such as 本内容 and an English line)",
                fix="use wording such as 'AI生成', '本内容由人工智能生成' or '疑似使用了AI生成技术'",
            )
        return phrase


def label_text(style: TextLabelStyle | str | None) -> str:
    """The phrase of ``style`` (a style, a bare phrase, or None for the default)."""
    if style is None:
        style = TextLabelStyle()
    elif isinstance(style, str):
        style = TextLabelStyle(style)
    return style.phrase()


@dataclass(frozen=True)
class ExplicitPhrase:
    """A phrase found in a text: ``start``/``end`` character offsets, the ``text`` matched,
    whether it meets the standard's wording rule (``compliant``: both elements, in Chinese, and
    not negated; English-only phrases are not), whether it is ``negated`` ("未使用AI生成",
    "not AI-generated"), whether it stands ``at_label_position`` (see :func:`locate_labels`)
    and, for documents, ``where`` it is (``"slide 1"``, ``"sheet 'notes' header"``...)."""

    start: int
    end: int
    text: str
    compliant: bool
    negated: bool = False
    at_label_position: bool = False
    where: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "compliant": self.compliant,
            "negated": self.negated,
            "at_label_position": self.at_label_position,
            "where": self.where,
        }


_AI = r"(?:人工智能|(?<![A-Za-zＡ-Ｚａ-ｚ])[AＡ][IＩ](?![a-zａ-ｚ]))"
_ZH = re.compile(rf"(?:(?:由|经|使用|利用)[ \t]?)?{_AI}[ \t]?(?:技术|模型|工具|辅助|大模型)?[ \t]?(?:生成|合成)")
_EN = re.compile(
    r"\b(?:AI|artificial[ -]intelligence)[ -](?:generated|synthesi[sz]ed|created)\b"
    r"|\b(?:generated|created|synthesi[sz]ed|produced|written)\s+(?:by|with|using)\s+(?:an?\s+)?"
    r"(?:AI|artificial[ -]intelligence)\b",
    re.IGNORECASE,
)

# -- negation ----------------------------------------------------------------------------------

# A clause ends at sentence or clause punctuation, a line break, or "but"/但: a negation before
# that belongs to another statement ("It is not perfect, but it is AI-generated").
_CLAUSE_END = re.compile(r"[。！？；，,;!?:：\n]|\.(?=\s|$)|\bbut\b|\bhowever\b|但是?|然而|不过", re.IGNORECASE)
# Negating words. Compounds that only look like negations are excluded by lookahead: 不同
# (different), 不断 (continually), 不仅/不但 (not only), 不少 (many), 非常 (very), 无论
# (whatever), 未来 (future)...; 是否 (whether) and 未必 (not necessarily) do negate a label.
_NEGATION = re.compile(
    r"并非|並非|绝非|並未|并未|从未|從未|是否|不是|"
    r"未(?!来|來)|没|沒|無(?!論)|无(?!论|疑)|非(?!常)|不(?!同|断|斷|少|仅|僅|但|久|错|錯|过|過|管|论|論|妨|止)|"
    r"\b(?:not|no|never|without|neither|nor|none|non)\b|n't\b|\bnon-",
    re.IGNORECASE,
)
# A phrase answered "no" right after it, as in a form: "AI生成：否", "AI-generated: no".
_ANSWERED_NO = re.compile(r"\s*[:：]\s*(?:否|无|無|没有|no|false|none)\b", re.IGNORECASE)


def is_negated(before: str, after: str = "") -> bool:
    """Whether a phrase is negated: a negating word earlier in its clause (``before``: the text
    up to the phrase, ``after``: the text after it, for a form's "：否").

    >>> is_negated("本作品未使用")              # 本作品未使用AI生成
    True
    >>> is_negated("这篇文章并非由"), is_negated("This was not "), is_negated("No part of it was ")
    (True, True, True)
    >>> is_negated("本内容由"), is_negated("不同的"), is_negated("It is not perfect, but it is ")
    (False, False, False)
    >>> is_negated("", after="：否"), is_negated("", after=" content (AI生成)")
    (True, False)
    """
    clause = before[-200:]
    ends = list(_CLAUSE_END.finditer(clause))
    if ends:
        clause = clause[ends[-1].end() :]
    return bool(_NEGATION.search(clause)) or bool(_ANSWERED_NO.match(after))


def find_explicit_phrases(text: str) -> list[ExplicitPhrase]:
    """Every explicit-label phrase in ``text``, in order: Chinese ones (``AI生成``, ``由人工智能生成``,
    ``ＡＩ合成``...) and English ones (``AI-generated``, ``generated by AI``...). A phrase and
    an English addition right after it (``AI生成 / AI-generated``) are reported as one. Negated
    phrases (``未使用AI生成``, ``not AI-generated``) are reported, never as compliant."""
    found = [(m.start(), m.end()) for m in _ZH.finditer(text)] + [(m.start(), m.end()) for m in _EN.finditer(text)]
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1] + 3:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    phrases = []
    for s, e in merged:
        negated = is_negated(text[:s], text[e : e + 12])
        phrases.append(ExplicitPhrase(s, e, text[s:e], check_wording(text[s:e]).ok and not negated, negated))
    return phrases


# -- what reads as a label ---------------------------------------------------------------------

# Words that may lead a Chinese label: subjects (本内容, 以上回答), qualifiers (部分, 疑似, 可能为)
# and verbs (由, 使用了, 借助). No negating word is among them.
_LEAD = (
    "本文|本篇|本页|本|此|该|這|这|以上|以下|上述|下述|全部|部分|整篇|全文|内容|內容|文本|文字|文章|作品|回答|回复|"
    "答案|文档|图片|图像|视频|音频|正文|段落|页面|报告|稿件|素材|信息|章节|片段|均|皆|都|主要|完全|疑似|可能|或|系|"
    "为|為|是|由|經|经过|经|使用了|使用|利用|借助|通过|采用|基于|运用|含有|包含|含|的|中|已|了|在"
)
_LEAD_WORDS = tuple(_LEAD.split("|"))
# A verb followed by the tool's name: 由豆包AI生成, 本文由DeepSeek AI生成.
_VERBS = ("由", "经过", "经", "使用了", "使用", "利用", "借助", "通过", "采用", "基于", "运用")
_MAX_TOOL_NAME = 24
_NAME_STOP = re.compile(r"[,，。.;；:：!！?？/|]")
_TAIL = "内容|內容|文本|文字|文章|作品|回答|答案|图片|图像|视频|音频|技术|信息|素材|结果"
# The clause from its AI element to the end: AI + 技术/模型... + 生成/合成 + 的 + 内容... (no
# ambiguous repetition: matching is linear, whatever the text).
_CORE = re.compile(
    rf"{_AI}\s?(?:技术|模型|大模型|工具|算法|辅助|自动|智能)*\s?(?:生成|合成)(?:[与和及或/]?(?:生成|合成))?(?:的)?(?:{_TAIL})?\Z"
)
_AI_ELEMENT = re.compile(_AI)


def _is_lead(text: str) -> bool:
    """Whether ``text`` is a sequence of lead words, optionally ending in a verb and a tool's
    name (dynamic programming over positions: linear in the length, never backtracking)."""
    text = text.rstrip()
    reachable = [True] + [False] * len(text)
    for i in range(len(text)):
        if not reachable[i]:
            continue
        for word in _LEAD_WORDS:
            if text.startswith(word, i):
                reachable[i + len(word)] = True
        for verb in _VERBS:
            name = text[i + len(verb) :]
            if text.startswith(verb, i) and 1 <= len(name) <= _MAX_TOOL_NAME and not _NAME_STOP.search(name):
                return True
    return reachable[-1]


def _is_label_clause(segment: str) -> bool:
    """A lead (:func:`_is_lead`) and a clause core (:data:`_CORE`) running to the end."""
    return any(
        _CORE.match(segment, m.start()) and _is_lead(segment[: m.start()]) for m in _AI_ELEMENT.finditer(segment)
    )


# Notes that often stand beside a label: 仅供参考, 请注意甄别, 经人工审核, 提示...
_NOTE = re.compile(
    r"(?:温馨|特别|重要)?(?:提示|注意|说明|声明|标识|标注|备注)|免责声明|(?:内容)?仅供参考|"
    r"请(?:注意|谨慎|自行)?(?:甄别|辨别|核实|判断|核查)|(?:已|已经|经|经过)?人工(?:审核|审校|编辑|校对|复核|修改)过?"
)
# Segments of a label: split at punctuation (not at spaces or hyphens, which join words).
_SEGMENT_SEP = re.compile(r"[/|｜,，;；、:：()（）\[\]【】「」『』《》<>。!！?？…—–·•*#~\"“”'‘’\n\t]+|\.(?=\s|$)")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Invisible characters a reader never sees: variation selectors (the Unicode mark), zero-width
# characters, the byte-order mark.
_INVISIBLE = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u200b-\u200d\u2060\ufeff]")
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-+*>]|\d{1,3}[.)])[ \t]+", re.MULTILINE)


def _visible(text: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def reads_as_label(text: str) -> bool:
    """Whether ``text`` (a paragraph, a line, a sentence) *is* an explicit label rather than a
    mention: every part of it with Chinese characters (parts split at punctuation) is a label
    clause — an optional subject and qualifiers (本内容, 部分, 疑似, 可能为, 由 + the tool's
    name) + the AI element + the generation element + an optional noun (内容, 技术) — or a note
    (仅供参考, 请注意甄别, 经人工审核); parts without Chinese are free (an English line); at
    most :data:`MAX_LABEL_CHARS` characters; no negation.

    >>> reads_as_label("AI生成"), reads_as_label("本内容由人工智能生成"), reads_as_label("AI生成 / AI-generated")
    (True, True, True)
    >>> reads_as_label("疑似使用了AI生成技术"), reads_as_label("【本回答由豆包AI生成，仅供参考】")
    (True, True)
    >>> reads_as_label("AI生成内容标识办法解读"), reads_as_label("本作品未使用AI生成")
    (False, False)
    >>> reads_as_label("AI生成内容的标识办法于2025年9月1日起施行。"), reads_as_label("AI-generated")
    (False, False)
    """
    norm = _LIST_MARKER.sub("", _visible(text)).strip()
    if not norm or len(norm) > MAX_LABEL_CHARS:
        return False
    labelled = False
    for segment in (s.strip() for s in _SEGMENT_SEP.split(norm)):
        if not segment or not _CJK.search(segment):
            continue  # an English line or a bare symbol
        if _is_label_clause(segment):
            labelled = True
        elif not _NOTE.fullmatch(segment):
            return False
    return labelled and not any(p.negated for p in find_explicit_phrases(norm))


# -- where a label stands ----------------------------------------------------------------------

#: What a :class:`Block` is: ``"text"`` a paragraph in the body (a label when it reads as one,
#: a middle position), ``"start"`` / ``"end"`` the first / last paragraph of the body and
#: ``"edge"`` a place that is both (a header, a footer, a one-paragraph document, an annotation
#: on a page): there the first / last sentence may be the label; ``"label"`` the label element
#: synthmark writes (any compliant phrase in it counts); ``"inert"`` code shown as is, hidden text, data
#: (never a label).
BlockKind = Literal["text", "start", "end", "edge", "label", "inert"]


@dataclass(frozen=True)
class Block:
    """One unit of a document's visible text, in reading order: ``text``, its ``kind``
    (:data:`BlockKind`) and ``where`` it is, for reports (``"page 1 annotation"``)."""

    text: str
    kind: BlockKind = "text"
    where: str | None = None


def mark_edges(blocks: Sequence[Block]) -> list[Block]:
    """``blocks`` with the first and the last non-empty ``"text"`` block marked ``"start"`` and
    ``"end"`` (``"edge"`` when they are one block)."""
    out = list(blocks)
    texts = [i for i, b in enumerate(out) if b.kind == "text" and b.text.strip()]
    if texts:
        first, last = texts[0], texts[-1]
        out[first] = replace(out[first], kind="edge" if first == last else "start")
        if last != first:
            out[last] = replace(out[last], kind="end")
    return out


_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)(?=\s)|\n")


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > pos:
            spans.append((pos, match.end()))
            pos = match.end()
    spans.append((pos, len(text)))
    return [(lo, hi) for lo, hi in spans if text[lo:hi].strip()]


def _at_label_position(block: Block, phrase: ExplicitPhrase) -> bool:
    if not phrase.compliant or block.kind == "inert":
        return False
    if block.kind == "label" or reads_as_label(block.text):
        return True
    sentences = _sentences(block.text)
    edge: list[tuple[int, int]] = []
    if block.kind in ("start", "edge") and sentences:
        edge.append(sentences[0])
    if block.kind in ("end", "edge") and sentences:
        edge.append(sentences[-1])
    return any(lo <= phrase.start and phrase.end <= hi and reads_as_label(block.text[lo:hi]) for lo, hi in edge)


def locate_labels(blocks: Sequence[Block]) -> list[ExplicitPhrase]:
    """Every phrase in ``blocks`` (offsets into their texts joined by blank lines), each with
    ``at_label_position``: it is compliant and stands in the label element synthmark writes, or
    its block reads as a label (:func:`reads_as_label`: a paragraph of its own, anywhere), or it
    is the first sentence of a ``"start"`` block / the last of an ``"end"`` block and that
    sentence reads as a label.

    >>> doc = [Block("本文由AI生成，仅供参考。正文第一句。", "start"), Block("讨论AI生成内容的规则。", "end")]
    >>> [(p.text, p.at_label_position) for p in locate_labels(doc)]
    [('由AI生成', True), ('AI生成', False)]
    """
    found: list[ExplicitPhrase] = []
    offset = 0
    for block in blocks:
        for phrase in find_explicit_phrases(block.text):
            at = _at_label_position(block, phrase)
            found.append(
                replace(
                    phrase,
                    start=phrase.start + offset,
                    end=phrase.end + offset,
                    at_label_position=at,
                    where=block.where,
                )
            )
        offset += len(block.text) + 2
    return found


def has_label(blocks: Sequence[Block]) -> bool:
    """True when a compliant label stands at a label position of ``blocks``."""
    return any(p.at_label_position for p in locate_labels(blocks))


_BLANK_LINE = re.compile(r"\n[ \t]*\r?\n")


def text_blocks(text: str, kind: BlockKind = "text") -> list[Block]:
    """``text`` cut into paragraphs at blank lines (``kind`` each), edges not yet marked."""
    return [Block(part, kind) for part in _BLANK_LINE.split(text) if part.strip()]


def has_compliant_phrase(text: str) -> bool:
    """True when the plain ``text`` already carries a compliant label at a label position (its
    start, its end, or a paragraph of its own; see :func:`locate_labels`)."""
    return has_label(mark_edges(text_blocks(text)))


def newline_of(text: str) -> str:
    """The text's line ending (``"\\r\\n"`` when it uses it, else ``"\\n"``)."""
    return "\r\n" if "\r\n" in text[:65536] else "\n"


def paragraph_boundary(text: str, offset: int, allowed: Callable[[int], bool] = lambda _: True) -> int:
    """The first position at or after ``offset`` that starts a paragraph (just after a blank
    line) and is ``allowed``; ``len(text)`` when there is none."""
    for match in _BLANK_LINE.finditer(text, max(0, offset)):
        if allowed(match.end()):
            return match.end()
    return len(text)


def add_explicit_label(
    text: str, style: TextLabelStyle | str | None = None, *, position: Position | None = None
) -> str:
    """``text`` with the explicit label as its own paragraph at ``position``.

    ``style`` is a :class:`TextLabelStyle`, a phrase, or None (``AI生成`` at the start);
    ``position`` overrides the style's. A text that already carries a compliant label at a label
    position (see :func:`locate_labels`) comes back unchanged, so relabeling never doubles the
    label; a phrase merely mentioned or negated in the prose does not count. A byte-order mark
    stays first; the text's own line endings are used.
    """
    if isinstance(style, TextLabelStyle):
        where = style.position if position is None else position
    else:
        where = "start" if position is None else position
    phrase = label_text(style)
    if has_compliant_phrase(text):
        return text
    return insert_paragraph(text, phrase, where)


def insert_paragraph(text: str, phrase: str, where: Position, *, start: int = 0) -> str:
    """Insert ``phrase`` as a paragraph of ``text`` at ``where``; ``start`` is where the body
    begins (after a byte-order mark or front matter)."""
    nl = newline_of(text)
    if text.startswith("\ufeff"):
        start = max(start, 1)
    if where == "start":
        return text[:start] + phrase + nl + nl + text[start:]
    if where == "end":
        body = text.rstrip("\r\n")
        if len(body) <= start:
            return text + phrase + nl
        return body + nl + nl + phrase + (nl if body != text else "")
    at = paragraph_boundary(text, max(int(where), start))
    if at >= len(text):
        return insert_paragraph(text, phrase, "end", start=start)
    return text[:at] + phrase + nl + nl + text[at:]
