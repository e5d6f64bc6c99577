from __future__ import annotations

from pathlib import Path

import pytest

import synthmark
from synthmark.aigc import AIGCLabel
from synthmark.detect import LAYERS
from synthmark.image import write_metadata
from synthmark.keys import generate_key

from .conftest import PROVIDER, fixture_bytes, fixture_path


@pytest.mark.parametrize(
    ("value", "verdict"), [("1", "confirmed"), ("2", "possible"), ("3", "suspected"), ("9", "suspected")]
)
@pytest.mark.clause("classify")
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
    assert doc["evidence"]["watermark"]["found"] is False and doc["evidence"]["watermark"]["checked"] is False
    assert doc["evidence"]["visible"]["found"] is False and doc["evidence"]["visible"]["checked"] is True
    assert doc["evidence"]["c2pa"]["found"] is False and doc["evidence"]["c2pa"]["checked"] is True


def test_invalid_label_problems_are_reported_not_raised():
    report = _verify_patched("9")
    problems = report.evidence["metadata"].details["problems"]
    assert {k: problems[0][k] for k in ("field", "code")} == {"field": "Label", "code": "label-value"}


# --- damaged and tampered files are verified as far as they can be read ----------------------


@pytest.fixture(scope="module")
def signer_and_root(tmp_path_factory):
    from synthmark import provenance

    pki = provenance.write_test_pki(tmp_path_factory.mktemp("pki"))
    return provenance.load_signer(pki.chain, pki.key), pki.root_cert.read_bytes()


def _png_with_damaged_tail(data: bytes) -> bytes:
    """64 bytes of the last IDAT overwritten near its end, CRC left as it was."""
    at = data.rindex(b"IDAT") + 4
    length = int.from_bytes(data[at - 8 : at - 4], "big")
    spot = at + max(0, length - 200)
    return data[:spot] + bytes(64) + data[spot + 64 :]


def test_a_tampered_signed_png_is_reported_not_refused(tmp_path, signer_and_root):
    signer, root = signer_and_root
    key = generate_key()
    label = AIGCLabel.new(PROVIDER, produce_id="tamper-me")
    out = tmp_path / "signed.png"
    synthmark.label_file(fixture_path("alpha.png"), out, label, visible=None, key=key, signer=signer)
    damaged = _png_with_damaged_tail(out.read_bytes())
    report = synthmark.verify_bytes(damaged, keys=[key], trust=[root])
    assert report.verdict == "confirmed" and report.label == label
    assert report.problems and "fails its CRC" in report.problems[0]
    c2pa = report.evidence["c2pa"].details
    assert report.evidence["c2pa"].found and c2pa["state"] == "Invalid"
    assert any("assertion.dataHash.mismatch" in reason for reason in c2pa["reasons"])
    assert report.evidence["metadata"].details["carrier"] == "xmp-scan"  # the container could not be parsed
    assert report.evidence["watermark"].checked  # looked for on what decodes


def test_damaged_audio_frames_keep_every_readable_layer(tmp_path, signer_and_root):
    import av
    import numpy as np

    signer, root = signer_and_root
    key = generate_key()
    source = tmp_path / "in.mp3"
    with av.open(str(fixture_path("../audio/music_electronic.flac"))) as inp, av.open(str(source), "w") as out:
        stream = out.add_stream("mp3", rate=44100)
        decoded = 0
        for frame in inp.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                out.mux(packet)
            decoded += frame.samples
            if decoded > 44100 * 24:
                break
        for packet in stream.encode(None):
            out.mux(packet)
    label = AIGCLabel.new(PROVIDER, produce_id="damaged-audio")
    signed = tmp_path / "signed.mp3"
    synthmark.label_file(source, signed, label, audible=None, key=key, signer=signer)
    data = bytearray(signed.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = np.arange(64, dtype=np.uint8).tobytes()
    report = synthmark.verify_bytes(bytes(data), keys=[key], trust=[root])
    assert report.verdict == "confirmed" and report.label == label
    assert report.evidence["c2pa"].details["state"] == "Invalid"
    watermark = report.evidence["watermark"]
    assert watermark.found and watermark.details["matches_metadata"] is True


def test_a_damaged_file_with_nothing_readable_still_raises():
    from synthmark.errors import CorruptFileError

    data = fixture_bytes("gray.png")
    with pytest.raises(CorruptFileError, match="fails its CRC"):
        synthmark.verify_bytes(_png_with_damaged_tail(data))


def test_reasons_name_the_layer_that_set_the_verdict():
    confirmed = _verify_patched("1")
    assert confirmed.reasons[0] == "metadata label (xmp) says Label 1: AI-generated"
    none = synthmark.verify_file(fixture_path("gray.png"))
    assert len(none.reasons) == 1 and none.reasons[0].startswith("no label or trace of AI generation found")
    assert "(not checked: watermark)" in none.reasons[0]


@pytest.mark.parametrize(("fmt", "media_type"), [("GIF", "image/gif"), ("TIFF", "image/tiff")])
def test_formats_synthmark_does_not_decode_still_get_c2pa_and_xmp(fmt, media_type, signer_and_root):
    import io

    from PIL import Image

    from synthmark import provenance

    signer, root = signer_and_root
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 30, 200)).save(buffer, fmt)
    label = AIGCLabel.new(PROVIDER, produce_id="not-decoded")
    signed = provenance.sign(buffer.getvalue(), media_type, signer, label=label)
    report = synthmark.verify_bytes(signed, trust=[root])
    assert report.media_type == media_type and report.verdict == "suspected"
    assert report.evidence["c2pa"].details["verdict"] == "Trusted" and report.traces == ("c2pa",)
    for layer in ("watermark", "visible"):
        assert not report.evidence[layer].checked
        assert report.evidence[layer].details["reason"] == f"synthmark does not decode {media_type} yet"


def test_explicit_labels_can_be_left_unlooked_for_and_say_so():
    report = synthmark.verify_file(fixture_path("gray.png"), explicit_labels=False)
    visible = report.evidence["visible"]
    assert not visible.checked and "not looked for" in visible.details["reason"]
    assert "visible" in report.reasons[0]  # "(not checked: watermark, visible)"


def _counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[int]:
    """Count the calls of ``module.name`` (the real function still runs)."""
    calls: list[int] = []
    real = getattr(module, name)

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("name", ["images/landscape.jpg", "audio/speech_en_female.flac", "text/sample.docx"])
def test_verify_reads_the_file_once_and_decodes_it_once(monkeypatch, name):
    """Every layer (metadata, watermark, C2PA, IPTC, explicit label) shares one Media: one disk
    read, one decode of the pixels / samples / text however many layers need them."""
    from synthmark import formats, image
    from synthmark.audio import _io
    from synthmark.text import _office

    reads = _counting(monkeypatch, formats, "read_bytes")
    decodes = {
        "pixels": _counting(monkeypatch, image, "_decoded_pixels"),
        "samples": _counting(monkeypatch, _io, "decode_audio"),
        "text": _counting(monkeypatch, _office, "text_of"),
    }
    report = synthmark.verify_file(Path(__file__).resolve().parent.parent / "fixtures" / name, keys=[generate_key()])
    assert report.evidence["watermark"].checked and report.evidence["visible"].checked
    assert len(reads) == 1
    made = {kind: len(calls) for kind, calls in decodes.items() if calls}
    assert made in ({"pixels": 1}, {"samples": 1}, {"text": 1})
