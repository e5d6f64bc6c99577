"""synthmark.Labeler: configured once, every layer on every kind of content, read back by the
same verify an investigator runs; one instance shared by threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import synthmark
from synthmark import audio, image, provenance, text
from synthmark.keys import generate_key
from synthmark.payload import content_id

from .conftest import PROVIDER

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[provenance.Signer, bytes]:
    written = provenance.write_test_pki(tmp_path_factory.mktemp("pki"))
    return provenance.load_signer(written.chain, written.key), written.root_cert.read_bytes()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / "images" / "landscape.jpg").convert("RGB"))


def test_an_image_array_becomes_a_final_file_with_every_layer(photo, pki):
    signer, root = pki
    key = generate_key()
    labeler = synthmark.Labeler(PROVIDER, key=key, signer=signer)
    data = labeler.label(photo, produce_id="gen-0001", encode="png")
    report = synthmark.verify_bytes(data, keys=[key], trust=[root])
    assert report.verdict == "confirmed" and report.label.produce_id == "gen-0001"
    assert report.evidence["watermark"].found and report.evidence["watermark"].details["matches_metadata"]
    assert report.evidence["c2pa"].found and report.evidence["visible"].found
    manifest = provenance.read(data, "image/png", trust_anchors=[root])
    assert manifest.soft_binding is not None and f"{content_id('gen-0001'):016x}" in manifest.soft_binding


def test_arrays_and_images_come_back_as_they_came(photo):
    key = generate_key()
    labeler = synthmark.Labeler(PROVIDER, key=key)
    marked = labeler.label(photo, produce_id="gen-0002")
    assert isinstance(marked, np.ndarray) and marked.shape == photo.shape
    assert image.detect_watermark(marked, key).content_id == content_id("gen-0002")
    assert isinstance(labeler.label(Image.fromarray(photo)), Image.Image)


def test_file_bytes_text_and_audio(tmp_path):
    key = generate_key()
    labeler = synthmark.Labeler(PROVIDER, key=key)
    data = labeler.label((FIXTURES / "images" / "flat.png").read_bytes(), produce_id="gen-0003")
    assert synthmark.verify_bytes(data, keys=[key]).evidence["watermark"].found
    answer = labeler.label("Rain is expected tomorrow across the north. Take an umbrella and a coat.")
    assert "AI生成" in answer and text.detect_watermark(answer, key).found
    music, rate = audio.read_samples(FIXTURES / "audio" / "music_electronic.flac")
    labeled = labeler.label(music[: rate * 12], sample_rate=rate, produce_id="gen-0004")
    assert [round(m.start, 1) for m in audio.find_rhythm_prompt(labeled, rate)] == [0.0]
    assert audio.detect_watermark(labeled, rate, key).content_id == content_id("gen-0004")


def test_one_labeler_serves_many_threads(photo):
    key = generate_key()
    labeler = synthmark.Labeler(PROVIDER, key=key, visible=None)
    tiles = [np.ascontiguousarray(photo[:512, i * 64 : i * 64 + 512]) for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        marked = list(pool.map(lambda n: labeler.label(tiles[n], produce_id=f"t-{n}"), range(4)))
    assert [image.detect_watermark(m, key).content_id for m in marked] == [content_id(f"t-{n}") for n in range(4)]


def test_an_unknown_encoding_is_refused(photo):
    with pytest.raises(synthmark.SynthmarkError, match="cannot encode as 'bmp'"):
        synthmark.Labeler(PROVIDER).label(photo, encode="bmp")
