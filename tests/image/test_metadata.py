"""The image metadata label: round trip per format, nothing else touched, bad input refused."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from synthmark import image
from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, SynthmarkError, UnsupportedFormatError
from synthmark.image import _jpeg, _png, _webp

from ..conftest import IMAGES, PROVIDER, fixture_bytes


def _webp_variants() -> dict[str, bytes]:
    photo = Image.open(io.BytesIO(fixture_bytes("photo.webp")))
    alpha = Image.open(io.BytesIO(fixture_bytes("alpha.png")))
    out = {}
    for name, img, opts in (
        ("lossless-alpha", alpha, {"lossless": True}),
        ("lossy-alpha", alpha, {"quality": 80}),
        (
            "with-exif-icc",
            photo,
            {
                "quality": 80,
                "exif": Image.open(io.BytesIO(fixture_bytes("landscape.jpg"))).info["exif"],
                "icc_profile": Image.open(io.BytesIO(fixture_bytes("landscape.jpg"))).info["icc_profile"],
            },
        ),
    ):
        buf = io.BytesIO()
        img.save(buf, "WEBP", **opts)
        out[name] = buf.getvalue()
    return out


SAMPLES = {name: fixture_bytes(name) for name in IMAGES} | {f"{k}.webp": v for k, v in _webp_variants().items()}


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_keeps_pixels(name, label):
    data = SAMPLES[name]
    assert image.read_metadata(data).label is None
    out = image.write_metadata(data, label)
    reading = image.read_metadata(out)
    assert reading.label == label and reading.carrier == "xmp" and reading.form == "bare"
    assert reading.problems == ()
    assert np.array_equal(pixels(out), pixels(data))
    Image.open(io.BytesIO(out)).load()  # still a valid file for a real decoder


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_relabel_twice_leaves_one_label(name, label):
    second = AIGCLabel.new(PROVIDER, produce_id="second", label="3")
    out = image.write_metadata(image.write_metadata(SAMPLES[name], label), second)
    reading = image.read_metadata(out)
    assert reading.label == second
    assert len(reading.carriers) == 1
    assert out.count(b"tc260.org.cn/ns/AIGC") == 1


@pytest.mark.parametrize("name", [n for n in IMAGES if n.endswith(".jpg")])
def test_jpeg_scan_data_is_byte_identical(name, label):
    data = fixture_bytes(name)
    out = image.write_metadata(data, label)
    assert _jpeg.split(out)[1] == _jpeg.split(data)[1]


def test_jpeg_exif_icc_and_other_segments_preserved(label):
    data = fixture_bytes("landscape.jpg")
    out = image.write_metadata(data, label)
    before = [s for s in _jpeg.split(data)[0] if not s.is_xmp]
    after = [s for s in _jpeg.split(out)[0] if not s.is_xmp]
    assert before == after
    im = Image.open(io.BytesIO(out))
    assert im.info["icc_profile"] == Image.open(io.BytesIO(data)).info["icc_profile"]
    assert im.getexif()[0x010F] == "synthmark-fixtures"  # Make


def _with_xmp(data: bytes, packet: str) -> bytes:
    segments, rest = _jpeg.split(data)
    segments.insert(1, _jpeg.Segment(0xE1, _jpeg.XMP_ID + packet.encode()))
    return b"\xff\xd8" + b"".join(s.encode() for s in segments) + rest


def test_other_xmp_properties_are_kept(label):
    from .. import test_xmp

    data = _with_xmp(fixture_bytes("portrait.jpg"), test_xmp.OTHER)
    out = image.write_metadata(data, label)
    packet = next(s for s in _jpeg.split(out)[0] if s.is_xmp).payload.decode()
    assert "Jane Doe" in packet and "Darktable 4.6" in packet
    assert image.read_metadata(out).label == label


def _tiff_with_user_comment(text: str) -> bytes:
    """A minimal little-endian TIFF: IFD0 -> Exif IFD -> UserComment."""
    comment = b"ASCII\0\0\0" + text.encode()
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 26) + b"\0\0\0\0"
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x9286, 7, len(comment), 44) + b"\0\0\0\0"
    return b"II*\0" + struct.pack("<I", 8) + ifd0 + exif_ifd + comment


@pytest.mark.clause("one-label")
def test_exif_usercomment_is_read_and_kept_in_step(label):
    wrapped = AIGCLabel.new(label.content_producer, produce_id="old").to_json(wrapped=True)
    exif = _tiff_with_user_comment(wrapped)
    buf = io.BytesIO()
    Image.open(io.BytesIO(fixture_bytes("small256.jpg"))).save(buf, "JPEG", exif=b"Exif\0\0" + exif)
    data = buf.getvalue()
    reading = image.read_metadata(data)
    assert reading.carrier == "exif-usercomment" and reading.form == "wrapped"
    assert reading.label == AIGCLabel.new(label.content_producer, produce_id="old")
    longer = label.with_propagator("PLATFORM-CODE-THAT-IS-LONG", "propagate-id-0001")
    out = image.write_metadata(data, longer)  # the producer relabels its own content
    reading = image.read_metadata(out)
    assert [c.carrier for c in reading.carriers] == ["xmp", "exif-usercomment"]
    assert all(c.label == longer for c in reading.carriers)
    # The copy that arrived in EXIF is kept in step (wrapped, as the guide writes it), and the
    # two copies are reported: one label per file (GB 45438 6.1 c).
    assert [p.code for p in reading.problems] == ["duplicate-labels"]
    assert reading.carriers[1].form == "wrapped"


def _png_with_chunk(data: bytes, chunk: _png.Chunk) -> bytes:
    chunks = _png.split(data)
    chunks.insert(1, chunk)
    return _png.SIGNATURE + b"".join(c.encode() for c in chunks)


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt"])
@pytest.mark.clause("carriers")
def test_png_text_aigc_is_read_and_kept_in_step(kind, label):
    old = AIGCLabel.new(label.content_producer, produce_id="old")
    body = old.to_json().encode()
    payload = {"tEXt": b"AIGC\0" + body, "zTXt": b"AIGC\0\0" + zlib.compress(body), "iTXt": b"AIGC\0\0\0\0\0" + body}[
        kind
    ]
    data = _png_with_chunk(fixture_bytes("flat.png"), _png.Chunk(kind.encode(), payload))
    reading = image.read_metadata(data)
    assert reading.label == old and reading.carrier == "png-text"
    out = image.write_metadata(data, label)
    reading = image.read_metadata(out)
    assert {c.carrier for c in reading.carriers} == {"xmp", "png-text"}
    assert all(c.label == label for c in reading.carriers)
    forms = {c.carrier: c.form for c in reading.carriers}
    assert forms == {"xmp": "bare", "png-text": "wrapped"}  # bare in XMP, wrapped in tEXt AIGC


@pytest.mark.clause("no-alteration")
def test_another_producers_label_is_never_replaced_only_propagated(label):
    from synthmark.errors import ForeignLabelError

    theirs = AIGCLabel.new("001191440300708461136T1XGW3", produce_id="their-id")
    data = image.write_metadata(fixture_bytes("flat.png"), theirs)
    with pytest.raises(ForeignLabelError, match="never replaces another producer's label"):
        image.write_metadata(data, label)
    propagated = theirs.with_propagator(label.content_producer, "our-post-1")
    out = image.write_metadata(data, propagated)
    assert image.read_metadata(out).label == propagated


@pytest.mark.clause("charset")
def test_a_non_conforming_producer_label_is_propagated_as_found(label):
    from synthmark import xmp

    theirs = AIGCLabel(label="1", content_producer="腾讯云", produce_id="图片-0001")
    chunks = _png.split(fixture_bytes("flat.png"))
    packet = xmp.new_packet(theirs.to_json()).encode()
    chunks.insert(1, _png.Chunk(b"iTXt", _png.XMP_KEYWORD + b"\0\0\0\0\0" + packet))
    data = _png.SIGNATURE + b"".join(c.encode() for c in chunks)
    reading = image.read_metadata(data)
    assert reading.label == theirs and {p.code for p in reading.problems} == {"charset"}
    propagated = theirs.with_propagator(label.content_producer, "post-2")
    assert image.read_metadata(image.write_metadata(data, propagated)).label == propagated


def test_png_other_chunks_preserved(label):
    data = _png_with_chunk(fixture_bytes("gray.png"), _png.Chunk(b"tEXt", b"Author\0Jane"))
    out = image.write_metadata(data, label)
    before = [c for c in _png.split(data)]
    after = [c for c in _png.split(out) if c.type != b"iTXt"]
    assert before == after


def test_webp_simple_becomes_extended_with_canvas(label):
    data = SAMPLES["lossless-alpha.webp"]
    assert _webp.split(data)[0].fourcc == b"VP8L"
    out = image.write_metadata(data, label)
    header = _webp.split(out)[0]
    assert header.fourcc == b"VP8X" and header.data[0] & 0x04 and header.data[0] & 0x10
    assert Image.open(io.BytesIO(out)).size == (600, 400)
    assert Image.open(io.BytesIO(out)).info["xmp"]


def test_conflicting_carriers_are_reported():
    exif = _tiff_with_user_comment(AIGCLabel.new("A", produce_id="1").to_json(wrapped=True))
    buf = io.BytesIO()
    Image.open(io.BytesIO(fixture_bytes("small256.jpg"))).save(buf, "JPEG", exif=b"Exif\0\0" + exif)
    data = _with_xmp(
        buf.getvalue(), __import__("synthmark.xmp").xmp.new_packet(AIGCLabel.new("B", produce_id="2").to_json())
    )
    assert "conflicting-labels" in {p.code for p in image.read_metadata(data).problems}


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_truncated_files_are_refused(name, label):
    bad = _truncated(SAMPLES[name])
    with pytest.raises(CorruptFileError, match="truncated"):
        image.write_metadata(bad, label)
    with pytest.raises(CorruptFileError):
        image.read_metadata(bad)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", CorruptFileError),
        (b"hello, world\n", UnsupportedFormatError),
        (b"GIF89a" + b"\0" * 20, UnsupportedFormatError),
        (b"\xff\xd8\xff\xe0\x00", CorruptFileError),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, CorruptFileError),
        (b"RIFF\xff\xff\xff\x00WEBPVP8 ", CorruptFileError),
    ],
    ids=["empty", "text", "gif", "jpeg-stub", "png-stub", "webp-stub"],
)
def test_foreign_and_stub_input_refused(data, error, label):
    with pytest.raises(error):
        image.write_metadata(data, label)


def test_png_crc_damage_refused(label):
    data = bytearray(fixture_bytes("flat.png"))
    data[40] ^= 0xFF
    with pytest.raises(CorruptFileError, match="CRC"):
        image.read_metadata(bytes(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(SAMPLES)),
    cuts=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_fuzzed_headers_raise_only_synthmark_errors(name, cuts, label):
    data = bytearray(SAMPLES[name][:6000])
    data += SAMPLES[name][6000:]
    for offset, value in cuts:
        if offset < len(data):
            data[offset] = value
    for call in (lambda: image.read_metadata(bytes(data)), lambda: image.write_metadata(bytes(data), label)):
        with contextlib.suppress(SynthmarkError):
            call()


def test_wrapped_value_in_xmp_is_read(label):
    packet = __import__("synthmark.xmp").xmp.new_packet(json.dumps({"AIGC": label.to_dict()}))
    data = _with_xmp(fixture_bytes("portrait.jpg"), packet)
    reading = image.read_metadata(data)
    assert reading.label == label and reading.form == "wrapped"
