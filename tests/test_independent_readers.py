"""Every metadata carrier synthmark writes, read back by a reader synthmark did not write, with
the exact namespace, key and form the guides give (shared/spec/labeling-rules.md): exiftool and a
plain XML parser for images, mutagen and FFmpeg for audio and video, pypdf, zipfile + XML, YAML and
an HTML parser for documents. The label has all seven fields non-empty, so a writer or reader that
drops one is caught; the namespace URI and keys are literals here, not synthmark's constants."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import av
import mutagen.flac
import mutagen.id3
import mutagen.oggvorbis
import numpy as np
import pytest
import yaml

from synthmark import audio, image, text, video
from synthmark.aigc import AIGCLabel

from .conftest import PROVIDER, fixture_bytes

ROOT = Path(__file__).resolve().parent.parent
TC260_NS = "http://www.tc260.org.cn/ns/AIGC/1.0/"
EXIFTOOL_CONFIG = ROOT / "fixtures" / "foreign" / "tc260.exiftool.config"
#: Every field non-empty (a platform's label: producer and propagator differ).
FULL = AIGCLabel("1", PROVIDER, "pid-7f3a", "rc1-digest", PROVIDER[:22] + "20001", "post-99", "rc2-digest")
BARE = json.dumps(FULL.to_dict(), separators=(",", ":"), ensure_ascii=False)
WRAPPED = json.dumps({"AIGC": FULL.to_dict()}, separators=(",", ":"), ensure_ascii=False)


def _xmp_values(packet: str) -> list[str]:
    root = ET.fromstring(packet[packet.index("<x:xmpmeta") : packet.index("</x:xmpmeta>") + 12])
    return ["".join(e.itertext()) for e in root.iter(f"{{{TC260_NS}}}AIGC")]


@pytest.mark.parametrize("name", ["landscape.jpg", "alpha.png", "photo.webp"])
@pytest.mark.clause("carriers")
def test_image_xmp_has_the_tc260_namespace_and_the_bare_object(name):
    out = image.write_metadata(fixture_bytes(name), FULL)
    packet = out.decode("latin-1")
    start = packet.index("<x:xmpmeta")
    assert _xmp_values(out[start:].decode("utf-8", "replace")) == [BARE]


needs_exiftool = pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool is not installed")


def _exiftool(path: Path, *tags: str) -> dict[str, str]:
    done = subprocess.run(
        ["exiftool", "-config", str(EXIFTOOL_CONFIG), "-j", "-G1", "-b", *tags, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)[0]


@needs_exiftool
@pytest.mark.parametrize("name", ["landscape.jpg", "alpha.png", "photo.webp"])
@pytest.mark.clause("carriers")
def test_exiftool_reads_the_label_by_its_namespace(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(image.write_metadata(fixture_bytes(name), FULL))
    assert _exiftool(path, "-XMP-TC260:AIGC")["XMP-TC260:AIGC"] == BARE


@needs_exiftool
@pytest.mark.clause("carriers")
def test_exiftool_reads_a_kept_copy_in_exif_usercomment_wrapped(tmp_path):
    source = tmp_path / "in.jpg"
    source.write_bytes(fixture_bytes("landscape.jpg"))
    old = AIGCLabel.new(PROVIDER, produce_id="older")
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", f"-EXIF:UserComment={old.to_json(wrapped=True)}", str(source)],
        check=True,
        timeout=60,
    )
    out = tmp_path / "out.jpg"
    out.write_bytes(image.write_metadata(source.read_bytes(), FULL))
    tags = _exiftool(out, "-XMP-TC260:AIGC", "-ExifIFD:UserComment")
    assert tags["XMP-TC260:AIGC"] == BARE and tags["ExifIFD:UserComment"] == WRAPPED


# --- audio: mutagen and FFmpeg ---------------------------------------------------------------


def _encode(fmt: str, codec: str, rate: int = 44100) -> bytes:
    buffer = io.BytesIO()
    samples = (0.1 * np.sin(np.linspace(0, 800 * np.pi, rate // 2))).astype(np.float32)[None, :]
    with av.open(buffer, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
        frame.rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return buffer.getvalue()


@pytest.mark.clause("carriers")
def test_mp3_txxx_aigc_read_by_mutagen():
    out = audio.write_metadata(_encode("mp3", "libmp3lame"), FULL)
    frames = mutagen.id3.ID3(io.BytesIO(out)).getall("TXXX:AIGC")
    assert [frame.text for frame in frames] == [[BARE]]


@pytest.mark.parametrize(("fmt", "codec", "opener"), [("flac", "flac", mutagen.flac.FLAC)])
def test_flac_vorbis_comment_read_by_mutagen(fmt, codec, opener):
    out = audio.write_metadata(_encode(fmt, codec), FULL)
    assert opener(io.BytesIO(out))["AIGC"] == [BARE]


def test_ogg_vorbis_comment_read_by_mutagen():
    out = audio.write_metadata(_encode("ogg", "libopus", 48000), FULL)
    tags = mutagen.File(io.BytesIO(out))
    assert tags is not None and tags["AIGC"] == [BARE]


def test_m4a_key_read_by_ffmpeg():
    out = audio.write_metadata(_encode("ipod", "aac"), FULL)
    with av.open(io.BytesIO(out)) as container:
        assert container.metadata["AIGC"] == BARE


def _riff_chunks(data: bytes) -> dict[bytes, bytes]:
    """A minimal RIFF walk (this test's own, not synthmark's): top-level chunk id -> body."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    found, pos = {}, 12
    while pos + 8 <= len(data):
        kind, size = struct.unpack_from("<4sI", data, pos)
        found[kind] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    return found


@pytest.mark.clause("carriers")
def test_wav_chunk_named_aigc_holds_the_bare_object():
    out = audio.write_metadata(_encode("wav", "pcm_s16le"), FULL)
    assert _riff_chunks(out)[b"AIGC"].rstrip(b"\0").decode() == BARE


# --- video: FFmpeg -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["kenburns_meadow.mp4", "kenburns_clock.mkv", "kenburns_bird.webm"])
@pytest.mark.clause("carriers")
def test_video_container_tag_read_by_ffmpeg(name):
    data = (ROOT / "fixtures" / "video" / name).read_bytes()
    out = video.write_metadata(data, FULL)
    with av.open(io.BytesIO(out)) as container:
        tags = {k.upper(): v for k, v in container.metadata.items()}
    assert tags["AIGC"] == BARE


# --- documents -----------------------------------------------------------------------------------


@pytest.mark.clause("carriers")
def test_pdf_document_info_key_read_by_pypdf():
    from pypdf import PdfReader

    out = text.write_metadata((ROOT / "fixtures" / "text" / "sample.pdf").read_bytes(), FULL)
    assert PdfReader(io.BytesIO(out)).metadata["/AIGC"] == BARE


@pytest.mark.parametrize("name", ["sample.docx", "sample.xlsx", "sample.pptx"])
@pytest.mark.clause("carriers")
def test_office_custom_property_read_from_the_package(name):
    out = text.write_metadata((ROOT / "fixtures" / "text" / name).read_bytes(), FULL)
    with zipfile.ZipFile(io.BytesIO(out)) as package:
        custom = ET.fromstring(package.read("docProps/custom.xml"))
    ns = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
    (prop,) = [p for p in custom.iter(f"{ns}property") if p.get("name") == "AIGC"]
    assert "".join(prop.itertext()) == BARE


def test_markdown_front_matter_read_by_yaml():
    out = text.write_metadata((ROOT / "fixtures" / "text" / "sample.md").read_bytes(), FULL, path="sample.md")
    body = out.decode()
    assert body.startswith("---\n")
    front = yaml.safe_load(body.split("---\n", 2)[1])
    value = front["AIGC"]
    assert (json.loads(value) if isinstance(value, str) else value) == FULL.to_dict()


def test_html_meta_read_by_an_html_parser():
    out = text.write_metadata((ROOT / "fixtures" / "text" / "sample.html").read_bytes(), FULL)

    found: list[str] = []

    class Meta(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if tag == "meta" and values.get("name") == "AIGC":
                found.append(values.get("content") or "")

    Meta().feed(out.decode())
    assert found == [BARE]
