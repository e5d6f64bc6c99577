"""The seven-field AIGC metadata label of GB 45438-2025 Annex E.

* :class:`AIGCLabel` is the typed record, fields in the standard's order.
* :func:`parse_label` reads leniently whatever files made by others carry: the wrapped form
  ``{"AIGC":{...}}``, the bare seven-field object, XML-escaped JSON, JSON nested in a string,
  and the legacy 2023 ``ServiceProvider/Time/ContentID`` form. It never raises on odd content;
  it returns what it understood plus a list of :class:`Problem`.
* :func:`validate` checks a label and returns every problem by name; ``strict=True`` adds the
  27-character provider-code shape (TC260-PG-20252A) with its USCC check character.
* :meth:`AIGCLabel.to_json` serializes compact JSON, bare (for carriers already named ``AIGC``)
  or wrapped (elsewhere).
* :func:`check_wording` tells whether explicit-label text has both required elements.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from synthmark.errors import InvalidLabelError

__all__ = [
    "FIELD_NAMES",
    "PRODUCER_FIELDS",
    "AIGCLabel",
    "ParsedLabel",
    "Problem",
    "WordingCheck",
    "check_wording",
    "new_produce_id",
    "parse_label",
    "validate",
]

#: The seven field names, in the order and casing of GB 45438-2025 Annex E.
FIELD_NAMES: tuple[str, ...] = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)
_ATTRS = (
    "label",
    "content_producer",
    "produce_id",
    "reserved_code1",
    "content_propagator",
    "propagate_id",
    "reserved_code2",
)
_ATTR_OF = dict(zip(FIELD_NAMES, _ATTRS, strict=True))
_LEGACY_FIELDS = ("ServiceProvider", "Time", "ContentID")

#: Label values: "1" AI-generated (confirmed), "2" possibly (user declared), "3" suspected.
LABEL_VALUES = ("1", "2", "3")
#: Fields whose characters must be printable ASCII 0x21, 0x23-0x5B, 0x5D-0x7E, plus the quote
#: that JSON writes escaped (``\"``). ReservedCode1/2 are opaque integrity data, not checked.
_CHARSET_FIELDS = ("Label", "ContentProducer", "ProduceID", "ContentPropagator", "PropagateID")
_CHARSET_OK = re.compile(r"[\x21-\x5b\x5d-\x7e]*")
#: The fields a producer writes; a platform that propagates a label keeps them exactly as found.
PRODUCER_FIELDS: tuple[str, ...] = ("Label", "ContentProducer", "ProduceID", "ReservedCode1")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# 00 + subject type + binding type + 18-char USCC + a 5-character service extension: 00000 when
# unused, else service type (1 generation, 2 distribution) + 4-char app code = 27 chars.
_PROVIDER_CODE = re.compile(r"00([0-9])([0-9])([0-9A-Z]{18})(00000|[12][0-9A-Z]{4})")

Form = Literal["bare", "wrapped", "legacy"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a label, reported by name rather than raised.

    ``field`` is the Annex E field name (or ``None`` for the label as a whole), ``code`` a stable
    identifier (e.g. ``"label-value"``, ``"charset"``, ``"provider-code"``), ``message`` prose.
    """

    field: str | None
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


@dataclass(frozen=True)
class AIGCLabel:
    """The seven AIGC fields, all strings (empty string = absent).

    ``label`` is ``"1"`` (AI-generated), ``"2"`` (possibly, user declared) or ``"3"``
    (suspected, traces detected). Constructing does not validate; use :func:`validate` or
    :meth:`checked`.
    """

    label: str = "1"
    content_producer: str = ""
    produce_id: str = ""
    reserved_code1: str = ""
    content_propagator: str = ""
    propagate_id: str = ""
    reserved_code2: str = ""

    @classmethod
    def new(
        cls,
        producer: str,
        *,
        produce_id: str | None = None,
        label: str = "1",
        reserved_code1: str = "",
        propagator_same: bool = True,
    ) -> AIGCLabel:
        """A label for freshly generated content: ``produce_id`` defaults to
        :func:`new_produce_id`. At first write the propagator fields equal the producer's
        (GB 45438 Annex E note 1: ContentPropagator = ContentProducer, PropagateID = ProduceID);
        ``propagator_same=False`` leaves them empty (one vendor's practice)."""
        pid = produce_id if produce_id is not None else new_produce_id()
        made = cls(label=label, content_producer=producer, produce_id=pid, reserved_code1=reserved_code1)
        return made.with_propagator(producer, pid) if propagator_same else made

    def to_dict(self) -> dict[str, str]:
        """The fields under their Annex E names, in the standard's order."""
        return {name: getattr(self, attr) for name, attr in zip(FIELD_NAMES, _ATTRS, strict=True)}

    def to_json(self, *, wrapped: bool = False, ascii_only: bool = False) -> str:
        """Compact JSON; ``wrapped=True`` gives ``{"AIGC":{...}}`` (Annex E), else the bare object.

        ``ascii_only=True`` escapes non-ASCII characters (for Latin-1/ASCII carriers).
        """
        body: dict[str, Any] = self.to_dict()
        if wrapped:
            body = {"AIGC": body}
        return json.dumps(body, ensure_ascii=ascii_only, separators=(",", ":"))

    @classmethod
    def from_dict(cls, values: Mapping[str, str]) -> AIGCLabel:
        """Build from a mapping keyed by Annex E names; unknown keys raise :class:`InvalidLabelError`."""
        unknown = sorted(set(values) - set(FIELD_NAMES))
        if unknown:
            raise InvalidLabelError(
                f"unknown AIGC field(s) {', '.join(unknown)}",
                fix=f"use only {', '.join(FIELD_NAMES)}",
            )
        return cls(**{_ATTR_OF[k]: str(v) for k, v in values.items()})

    def keeps_producer_of(self, other: AIGCLabel) -> bool:
        """Whether this label keeps ``other``'s producer fields (:data:`PRODUCER_FIELDS`) unchanged."""
        mine, theirs = self.to_dict(), other.to_dict()
        return all(mine[name] == theirs[name] for name in PRODUCER_FIELDS)

    def with_propagator(self, propagator: str, propagate_id: str, reserved_code2: str = "") -> AIGCLabel:
        """A copy with the distribution platform's fields set, producer fields kept."""
        return replace(
            self,
            content_propagator=propagator,
            propagate_id=propagate_id,
            reserved_code2=reserved_code2,
        )

    def checked(self, *, strict: bool = False, kept_from: AIGCLabel | None = None) -> AIGCLabel:
        """Return ``self`` if :func:`validate` finds nothing, else raise :class:`InvalidLabelError`.

        ``kept_from``: the label found in the file, when ``self`` keeps its producer fields
        (:data:`PRODUCER_FIELDS`) as a propagator must: problems in fields kept as another
        producer wrote them are not ours to refuse (they are reported when the file is read).
        """
        problems = validate(self, strict=strict)
        if kept_from is not None and self.keeps_producer_of(kept_from):
            problems = [p for p in problems if p.field not in PRODUCER_FIELDS]
        if problems:
            raise InvalidLabelError(
                "invalid AIGC label: " + "; ".join(str(p) for p in problems),
                fix="correct the named fields",
            )
        return self


@dataclass(frozen=True)
class ParsedLabel:
    """What :func:`parse_label` understood.

    ``label`` is ``None`` when nothing label-like was found. ``form`` says how it was written;
    ``"legacy"`` labels map ServiceProvider to ContentProducer and ContentID to ProduceID, and
    keep every original key in ``raw``. ``problems`` lists parse issues (validation issues are
    added by :func:`validate`).
    """

    label: AIGCLabel | None
    form: Form | None
    raw: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


def new_produce_id() -> str:
    """A fresh unique content ID: 32 lowercase hex digits (UUID4), charset-compliant."""
    return uuid.uuid4().hex


def _decode_json(text: str) -> tuple[Any, list[Problem]]:
    """JSON from ``text``, undoing XML escaping and one level of JSON-in-a-string."""
    problems: list[Problem] = []
    candidate = text.strip().lstrip("\ufeff")
    for _ in range(3):  # escaped XML, then a JSON string holding JSON
        try:
            value = json.loads(candidate)
        except RecursionError:  # hostile nesting: a problem of the value, never a crash
            return None, [*problems, Problem(None, "not-json", "value is JSON nested too deeply to read")]
        except ValueError:
            unescaped = html.unescape(candidate)
            if unescaped == candidate:
                return None, [Problem(None, "not-json", "value is not JSON")]
            problems.append(Problem(None, "xml-escaped", "value was XML-escaped JSON"))
            candidate = unescaped
            continue
        if isinstance(value, str):
            problems.append(Problem(None, "json-in-string", "JSON object was nested in a string"))
            candidate = value
            continue
        return value, problems
    return None, [*problems, Problem(None, "not-json", "value is not a JSON object")]


def _as_text(name: str, value: Any, problems: list[Problem]) -> str:
    if isinstance(value, str):
        return value
    problems.append(Problem(name, "not-a-string", f"value {value!r} is not a JSON string"))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return "" if value is None else str(value)


def parse_label(value: str | bytes | Mapping[str, Any]) -> ParsedLabel:
    """Leniently parse an AIGC label as found in a file.

    Parameters
    ----------
    value:
        The carrier's text (JSON, possibly XML-escaped, wrapped or bare), raw bytes (UTF-8,
        trailing NULs ignored), or an already-decoded mapping.

    Returns
    -------
    ParsedLabel
        Never raises for odd content: anything not understood is a :class:`Problem`.
    """
    problems: list[Problem] = []
    if isinstance(value, bytes):
        value = value.rstrip(b"\0").decode("utf-8", errors="replace")
    obj: Any
    if isinstance(value, str):
        obj, problems = _decode_json(value)
    else:
        obj = value
    if not isinstance(obj, Mapping):
        return ParsedLabel(
            None, None, {}, tuple(problems) or (Problem(None, "not-json", "value is not a JSON object"),)
        )

    form: Form = "bare"
    inner: Any = obj
    if "AIGC" in obj:
        form = "wrapped"
        inner = obj["AIGC"]
        if isinstance(inner, str):
            inner, more = _decode_json(inner)
            problems += more
        if not isinstance(inner, Mapping):
            problems.append(Problem(None, "not-json", "AIGC value is not an object"))
            return ParsedLabel(None, None, dict(obj), tuple(problems))
        extra = sorted(set(obj) - {"AIGC"})
        if extra:
            problems.append(Problem(None, "unknown-field", f"unexpected keys beside AIGC: {', '.join(extra)}"))

    if not any(k in inner for k in FIELD_NAMES) and any(k in inner for k in _LEGACY_FIELDS):
        problems.append(Problem(None, "legacy-form", "legacy 2023 ServiceProvider/Time/ContentID form"))
        producer = _as_text("ServiceProvider", inner.get("ServiceProvider", ""), problems)
        content_id = _as_text("ContentID", inner.get("ContentID", ""), problems)
        return ParsedLabel(
            AIGCLabel(label="1", content_producer=producer, produce_id=content_id),
            "legacy",
            dict(inner),
            tuple(problems),
        )
    if not any(k in inner for k in FIELD_NAMES):
        problems.append(Problem(None, "no-fields", "no AIGC fields in the object"))
        return ParsedLabel(None, None, dict(inner), tuple(problems))

    values: dict[str, str] = {}
    for name in FIELD_NAMES:
        if name in inner:
            values[_ATTR_OF[name]] = _as_text(name, inner[name], problems)
        else:
            problems.append(Problem(name, "missing", "field is missing"))
            values[_ATTR_OF[name]] = ""
    unknown = [k for k in inner if k not in FIELD_NAMES]
    if unknown:
        problems.append(Problem(None, "unknown-field", f"unknown fields: {', '.join(map(str, unknown))}"))
    order = [k for k in inner if k in FIELD_NAMES]
    if order != [k for k in FIELD_NAMES if k in inner]:
        problems.append(Problem(None, "field-order", "fields are not in the Annex E order"))
    return ParsedLabel(AIGCLabel(**values), form, dict(inner), tuple(problems))


def _uscc_check_char(body: str) -> str | None:
    """The GB 32100-2015 check character for the first 17 USCC characters, or None if invalid."""
    if any(c not in _USCC_ALPHABET for c in body):
        return None
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=False))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _provider_code_problems(name: str, value: str) -> list[Problem]:
    match = _PROVIDER_CODE.fullmatch(value)
    if match is None:
        return [
            Problem(
                name,
                "provider-code",
                f"{value!r} is not a 27-character provider code "
                "(00 + subject + binding + 18-char USCC + 00000 or service type 1|2 + 4-char app code)",
            )
        ]
    uscc = match.group(3)
    if _uscc_check_char(uscc[:17]) != uscc[17]:
        return [Problem(name, "uscc-checksum", f"unified social credit code {uscc} fails its check character")]
    return []


def validate(label: AIGCLabel, *, strict: bool = False) -> list[Problem]:
    """Every rule the label breaks, as named problems (empty list = valid).

    Always checked: ``Label`` in {"1", "2", "3"}; ContentProducer and ProduceID present; the
    charset of Label, ContentProducer, ProduceID, ContentPropagator, PropagateID (printable
    ASCII without space, ``"`` and ``\\``); propagator fields either both set or both empty.
    ``strict=True`` adds: ContentProducer (and ContentPropagator when set) is a 27-character
    provider code whose USCC check character is right.
    """
    problems: list[Problem] = []
    values = label.to_dict()
    if values["Label"] not in LABEL_VALUES:
        problems.append(Problem("Label", "label-value", f"{values['Label']!r} is not one of 1, 2, 3"))
    for name in ("ContentProducer", "ProduceID"):
        if not values[name]:
            problems.append(Problem(name, "empty", "required field is empty"))
    for name in _CHARSET_FIELDS:
        if values[name] and not _CHARSET_OK.fullmatch(values[name]):
            bad = sorted({c for c in values[name] if not _CHARSET_OK.fullmatch(c)})
            problems.append(
                Problem(
                    name,
                    "charset",
                    f"characters {''.join(bad)!r} outside printable ASCII (no space or backslash)",
                )
            )
    if bool(values["ContentPropagator"]) != bool(values["PropagateID"]):
        problems.append(Problem("PropagateID", "propagator-pair", "ContentPropagator and PropagateID go together"))
    if strict:
        if values["ContentProducer"]:
            problems += _provider_code_problems("ContentProducer", values["ContentProducer"])
        if values["ContentPropagator"]:
            problems += _provider_code_problems("ContentPropagator", values["ContentPropagator"])
    return problems


@dataclass(frozen=True)
class WordingCheck:
    """Result of :func:`check_wording`: ``ok`` when both elements are present."""

    has_ai_element: bool
    has_generation_element: bool

    @property
    def ok(self) -> bool:
        return self.has_ai_element and self.has_generation_element


def check_wording(text: str) -> WordingCheck:
    """Whether explicit-label text has the AI element (``人工智能`` or ``AI``) and the generation
    element (``生成`` or ``合成``), as GB 45438-2025 clause 5 requires.

    The text is NFKC-normalised first, so full-width ``ＡＩ`` counts as ``AI``. ``AI`` must be
    upper case and not part of a longer Latin word (``MAIL`` does not count).

    >>> check_wording("AI生成").ok, check_wording("AI").ok
    (True, False)
    """
    norm = unicodedata.normalize("NFKC", text)
    has_ai = "人工智能" in norm or re.search(r"(?<![A-Za-z])AI(?![a-z])", norm) is not None
    return WordingCheck(has_ai, "生成" in norm or "合成" in norm)
