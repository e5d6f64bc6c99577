from __future__ import annotations

import json

import pytest

from synthmark.aigc import FIELD_NAMES, AIGCLabel, check_wording, parse_label, validate
from synthmark.errors import InvalidLabelError

from .conftest import PROVIDER

FULL = {
    "Label": "1",
    "ContentProducer": PROVIDER,
    "ProduceID": "abc123",
    "ReservedCode1": "",
    "ContentPropagator": "",
    "PropagateID": "",
    "ReservedCode2": "",
}


def codes(problems):
    return {p.code for p in problems}


@pytest.mark.clause("annex-e-fields")
def test_serialize_bare_and_wrapped_compact_in_annex_e_order():
    label = AIGCLabel.from_dict(FULL)
    bare = label.to_json()
    assert bare == json.dumps(FULL, separators=(",", ":"))
    assert list(json.loads(bare)) == list(FIELD_NAMES)
    assert label.to_json(wrapped=True) == '{"AIGC":' + bare + "}"
    assert " " not in bare


@pytest.mark.parametrize(
    ("text", "form"),
    [
        (json.dumps(FULL), "bare"),
        (json.dumps({"AIGC": FULL}), "wrapped"),
        (json.dumps({"AIGC": FULL}).replace('"', "&quot;"), "wrapped"),
        (json.dumps(json.dumps(FULL)), "bare"),
        (json.dumps({"AIGC": json.dumps(FULL)}), "wrapped"),
    ],
    ids=["bare", "wrapped", "xml-escaped", "json-in-string", "wrapped-string"],
)
def test_parse_forms(text, form):
    parsed = parse_label(text)
    assert parsed.form == form
    assert parsed.label == AIGCLabel.from_dict(FULL)


def test_parse_legacy_form_is_reported():
    parsed = parse_label('{"ServiceProvider":"ACME","Time":"2024-01-02 03:04:05.678","ContentID":"c-9"}')
    assert parsed.form == "legacy"
    assert parsed.label == AIGCLabel(label="1", content_producer="ACME", produce_id="c-9")
    assert "legacy-form" in codes(parsed.problems)
    assert parsed.raw["Time"] == "2024-01-02 03:04:05.678"


def test_parse_is_lenient_and_names_each_problem():
    parsed = parse_label('{"Label":1,"ProduceID":"x","Extra":"y","ContentProducer":"p"}')
    assert parsed.label is not None and parsed.label.label == "1"
    found = codes(parsed.problems)
    assert {"not-a-string", "unknown-field", "missing", "field-order"} <= found
    missing = {p.field for p in parsed.problems if p.code == "missing"}
    assert missing == {"ReservedCode1", "ContentPropagator", "PropagateID", "ReservedCode2"}


@pytest.mark.parametrize("junk", ["", "not json", "[1,2]", "42", '{"foo":"bar"}', b"\xff\xfe", '{"AIGC":7}'])
def test_parse_never_raises_on_junk(junk):
    parsed = parse_label(junk)
    assert parsed.label is None
    assert parsed.problems


def test_parse_bytes_with_trailing_nuls():
    assert parse_label(json.dumps(FULL).encode() + b"\0\0").label == AIGCLabel.from_dict(FULL)


def test_validate_valid_label_strict():
    assert validate(AIGCLabel.from_dict(FULL), strict=True) == []


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"Label": "4"}, "label-value", "Label"),
        ({"ProduceID": "has space"}, "charset", "ProduceID"),
        ({"ProduceID": "back\\slash"}, "charset", "ProduceID"),
        ({"ContentProducer": "深度求索"}, "charset", "ContentProducer"),
        ({"ProduceID": ""}, "empty", "ProduceID"),
        ({"ContentPropagator": PROVIDER}, "propagator-pair", "PropagateID"),
    ],
)
@pytest.mark.clause("charset")
def test_validate_names_each_problem(change, code, field):
    problems = validate(AIGCLabel.from_dict(FULL | change))
    assert (field, code) in {(p.field, p.code) for p in problems}


@pytest.mark.clause("provider-code")
def test_strict_checks_provider_code_shape_and_checksum():
    shape = validate(AIGCLabel.from_dict(FULL | {"ContentProducer": "ACME"}), strict=True)
    assert codes(shape) == {"provider-code"}
    assert validate(AIGCLabel.from_dict(FULL | {"ContentProducer": "ACME"})) == []
    bad_check = PROVIDER[:21] + "1" + PROVIDER[22:]  # last USCC character changed
    assert codes(validate(AIGCLabel.from_dict(FULL | {"ContentProducer": bad_check}), strict=True)) == {"uscc-checksum"}


def test_reserved_codes_are_opaque():
    secured = FULL | {"ReservedCode1": '{"SecurityData":{"Type":"TC260PG","Version":1}}'}
    assert validate(AIGCLabel.from_dict(secured)) == []


def test_checked_raises_with_field_names():
    with pytest.raises(InvalidLabelError, match="Label"):
        AIGCLabel.from_dict(FULL | {"Label": "9"}).checked()


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(InvalidLabelError, match="Bogus"):
        AIGCLabel.from_dict({"Bogus": "1"})


@pytest.mark.parametrize("extension", ["00000", "10000", "1A2B3", "20001"])
@pytest.mark.clause("provider-code")
def test_provider_code_extension_unused_or_service_type_and_app_code(extension):
    code = PROVIDER[:22] + extension
    assert validate(AIGCLabel.new(code), strict=True) == []


@pytest.mark.parametrize("extension", ["30000", "0000", "01234", "1abcd"])
def test_provider_code_extension_rejects_other_shapes(extension):
    code = PROVIDER[:22] + extension
    assert "provider-code" in {p.code for p in validate(AIGCLabel.new(code), strict=True)}


@pytest.mark.clause("charset")
def test_the_escaped_quote_is_allowed_backslash_is_not():
    quoted = AIGCLabel.new(PROVIDER, produce_id='say"hi"')
    assert validate(quoted) == [] and '"ProduceID":"say\\"hi\\""' in quoted.to_json()
    assert {p.code for p in validate(AIGCLabel.new(PROVIDER, produce_id="a\\b"))} == {"charset"}


@pytest.mark.clause("first-write")
def test_first_write_fills_the_propagator_fields_by_default():
    made = AIGCLabel.new(PROVIDER, produce_id="first")
    assert (made.content_propagator, made.propagate_id) == (PROVIDER, "first")
    empty = AIGCLabel.new(PROVIDER, produce_id="first", propagator_same=False)
    assert (empty.content_propagator, empty.propagate_id) == ("", "")


@pytest.mark.clause("annex-e-fields")
def test_round_trip_with_all_seven_fields_non_empty():
    full = AIGCLabel("2", PROVIDER, "pid-1", "rc1", PROVIDER[:22] + "20001", "prop-9", "rc2")
    assert all(full.to_dict().values())
    for wrapped in (False, True):
        parsed = parse_label(full.to_json(wrapped=wrapped))
        assert parsed.label == full and parsed.problems == ()
    assert AIGCLabel.from_dict(full.to_dict()) == full


@pytest.mark.clause("no-alteration")
def test_checked_keeps_another_producers_fields_as_found():
    theirs = AIGCLabel("1", "腾讯云", "图片-1")
    ours = theirs.with_propagator(PROVIDER, "post-1")
    with pytest.raises(InvalidLabelError, match="ContentProducer"):
        ours.checked()
    assert ours.checked(kept_from=theirs) is ours
    edited = AIGCLabel("1", "腾讯云", "changed").with_propagator(PROVIDER, "post-1")
    with pytest.raises(InvalidLabelError):
        edited.checked(kept_from=theirs)


def test_new_label_and_propagator():
    made = AIGCLabel.new(PROVIDER, propagator_same=True)
    assert made.content_propagator == PROVIDER and made.propagate_id == made.produce_id
    assert len(made.produce_id) == 32 and validate(made, strict=True) == []
    assert AIGCLabel.new(PROVIDER).produce_id != AIGCLabel.new(PROVIDER).produce_id
    relayed = made.with_propagator("PLATFORM", "p-1")
    assert relayed.content_producer == PROVIDER and relayed.propagate_id == "p-1"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("AI生成", True),
        ("人工智能生成", True),
        ("由AI生成", True),
        ("AI合成", True),
        ("ＡＩ生成", True),
        ("AI", False),
        ("生成", False),
        ("AI-generated", False),
        ("MAIL生成", False),
        ("AI生成 / AI-generated", True),
    ],
)
@pytest.mark.clause("wording")
def test_check_wording(text, ok):
    assert check_wording(text).ok is ok
