from __future__ import annotations

import pytest

import synthmark
from synthmark.aigc import AIGCLabel
from synthmark.detect import LAYERS
from synthmark.image import write_metadata

from .conftest import PROVIDER, fixture_bytes, fixture_path


@pytest.mark.parametrize(
    ("value", "verdict"), [("1", "confirmed"), ("2", "possible"), ("3", "suspected"), ("9", "suspected")]
)
def test_verdict_follows_label_value(value, verdict):
    assert _verify_patched(value).verdict == verdict


def test_verify_file_after_write_metadata(tmp_path):
    label = AIGCLabel.new(PROVIDER, produce_id="v")
    path = tmp_path / "l.png"
    path.write_bytes(write_metadata(fixture_bytes("flat.png"), label))
    report = synthmark.verify_file(path)
    assert report.verdict == "confirmed" and report.label == label and report.file == str(path)


def _verify_patched(value: str) -> synthmark.Report:
    """A file whose XMP label carries Label=value, written at the byte level (not via the API,
    which refuses invalid labels)."""
    from synthmark import xmp
    from synthmark.image import _png

    text = AIGCLabel(label=value, content_producer=PROVIDER, produce_id="v").to_json()
    chunks = _png.split(fixture_bytes("flat.png"))
    chunks.insert(1, _png.Chunk(b"iTXt", _png.XMP_KEYWORD + b"\0\0\0\0\0" + xmp.new_packet(text).encode()))
    return synthmark.verify_bytes(_png.SIGNATURE + b"".join(c.encode() for c in chunks))


def test_unlabeled_file_is_none_and_unchecked_layers_say_so():
    report = synthmark.verify_file(fixture_path("gray.png"))
    assert report.verdict == "none" and report.label is None and not report.labeled
    doc = report.to_dict()
    assert list(doc["evidence"]) == list(LAYERS)
    assert doc["evidence"]["metadata"] == doc["evidence"]["metadata"] | {"found": False, "checked": True}
    for layer in ("watermark", "visible"):
        assert doc["evidence"][layer]["found"] is False and doc["evidence"][layer]["checked"] is False
    assert doc["evidence"]["c2pa"]["found"] is False and doc["evidence"]["c2pa"]["checked"] is True


def test_invalid_label_problems_are_reported_not_raised():
    report = _verify_patched("9")
    problems = report.evidence["metadata"].details["problems"]
    assert {k: problems[0][k] for k in ("field", "code")} == {"field": "Label", "code": "label-value"}
