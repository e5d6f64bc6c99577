"""AI origin in ordinary metadata: the IPTC vocabulary, generator fingerprints, the XMP reader."""

from __future__ import annotations

import json

import pytest

from synthmark import aisource
from synthmark.aisource import IPTC_DIGITAL_SOURCE_TYPE, MetadataField, fields_from_xmp, interpret, source_type

TRAINED = IPTC_DIGITAL_SOURCE_TYPE + "trainedAlgorithmicMedia"
XMP_HEAD = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
XMP_TAIL = "</rdf:RDF></x:xmpmeta>"
IPTC_EXT = 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'


@pytest.mark.parametrize(
    ("value", "ai", "category"),
    [
        (TRAINED, True, "ai"),
        ("https://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia", True, "ai"),
        ("trainedAlgorithmicMedia", True, "ai"),
        (IPTC_DIGITAL_SOURCE_TYPE + "algorithmicMedia", False, "synthetic"),
        (IPTC_DIGITAL_SOURCE_TYPE + "compositeSynthetic", False, "synthetic"),
        (IPTC_DIGITAL_SOURCE_TYPE + "digitalCapture", False, "capture"),
        (IPTC_DIGITAL_SOURCE_TYPE + "composite", False, "edited"),
    ],
)
def test_the_vocabulary_table_says_which_terms_mean_ai(value, ai, category):
    kind = source_type(value)
    assert kind is not None and kind.ai is ai and kind.category == category


def test_only_the_two_trained_terms_mean_ai():
    assert {t.term for t in aisource.SOURCE_TYPES.values() if t.ai} == {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
    }


def _packet(body: str, namespaces: str = IPTC_EXT) -> str:
    return f'{XMP_HEAD}<rdf:Description rdf:about="" {namespaces}{body}{XMP_TAIL}'


@pytest.mark.parametrize(
    "body",
    [
        f"><Iptc4xmpExt:DigitalSourceType>{TRAINED}</Iptc4xmpExt:DigitalSourceType></rdf:Description>",
        f' Iptc4xmpExt:DigitalSourceType="{TRAINED}"/>',
        f'><Iptc4xmpExt:DigitalSourceType rdf:resource="{TRAINED}"/></rdf:Description>',
    ],
    ids=["element", "attribute", "rdf-resource"],
)
def test_iptc_digital_source_type_is_read_in_every_xmp_form(body):
    fields, problems = fields_from_xmp(_packet(body))
    report = interpret(fields)
    assert problems == [] and report.found
    (finding,) = report.findings
    assert (finding.carrier, finding.field, finding.name) == ("xmp", "Iptc4xmpExt:DigitalSourceType", TRAINED[-23:])


def test_digital_source_type_in_another_namespace_is_read_too():
    packet = _packet(f"><x2:DigitalSourceType>{TRAINED}</x2:DigitalSourceType></rdf:Description>", 'xmlns:x2="urn:x"')
    assert interpret(fields_from_xmp(packet)[0]).found


def test_a_human_capture_is_reported_but_is_no_ai_finding():
    packet = _packet(f' Iptc4xmpExt:DigitalSourceType="{IPTC_DIGITAL_SOURCE_TYPE}digitalCapture"/>')
    report = interpret(fields_from_xmp(packet)[0])
    assert not report.found and [f.name for f in report.findings] == ["digitalCapture"]


def test_hostile_or_broken_xmp_is_a_problem_not_an_exception():
    hostile = '<!DOCTYPE x [<!ENTITY a "b">]>' + _packet(" />")
    assert fields_from_xmp(hostile) == ([], ["xmp: XMP packet declares a DOCTYPE or ENTITY; not read"])
    fields, problems = fields_from_xmp(XMP_HEAD + "<broken")
    assert fields == [] and "not well-formed" in problems[0]
    deep = XMP_HEAD + "<a>" * 100_000 + "</a>" * 100_000 + XMP_TAIL
    assert fields_from_xmp(deep)[0] == []


def test_the_xmp_scan_is_bounded():
    packet = _packet(" />").encode()
    data = b"junk" + packet * (aisource.MAX_XMP_PACKETS + 5)
    assert len(aisource.scan_xmp_packets(data)) == aisource.MAX_XMP_PACKETS
    unterminated = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">' + b" " * (aisource.MAX_XMP_BYTES + 10) + b"</x:xmpmeta>"
    assert aisource.scan_xmp_packets(unterminated) == []


WEBUI = (
    "a cat wearing a hat, masterpiece\nNegative prompt: blurry\n"
    "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: 6ce0161689, Model: v1-5"
)
COMFY_PROMPT = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}},
    "4": {"class_type": "x", "inputs": {}},
}
COMFY_WORKFLOW = {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}]}


@pytest.mark.parametrize(
    ("field", "generator"),
    [
        (MetadataField("png-text", "parameters", WEBUI), "Stable Diffusion WebUI"),
        (MetadataField("exif", "UserComment", WEBUI), "Stable Diffusion WebUI"),
        (MetadataField("png-text", "prompt", json.dumps(COMFY_PROMPT)), "ComfyUI"),
        (MetadataField("png-text", "workflow", json.dumps(COMFY_WORKFLOW)), "ComfyUI"),
        (MetadataField("png-text", "Comment", json.dumps({"steps": 28, "sampler": "k_euler", "seed": 1})), "NovelAI"),
        (MetadataField("exif", "Software", "Adobe Firefly"), "Adobe Firefly"),
        (MetadataField("xmp", "xmp:CreatorTool", "Midjourney v6.1"), "Midjourney"),
    ],
)
def test_generator_fingerprints(field, generator):
    (finding,) = interpret([field]).findings
    assert finding.kind == "generator" and finding.name == generator and finding.ai


@pytest.mark.parametrize(
    "field",
    [
        MetadataField("png-text", "Software", "GIMP 2.10.36"),
        MetadataField("exif", "Software", "Adobe Photoshop 25.0 (Windows)"),
        MetadataField("png-text", "parameters", "brightness=3, contrast=2"),
        MetadataField("png-text", "prompt", "Enter your name"),
        MetadataField("png-text", "Title", "Midjourney"),  # a title naming a generator is no tool field
        MetadataField("exif", "Artist", "Sora Tanaka"),
    ],
)
def test_ordinary_metadata_is_no_finding(field):
    assert interpret([field]).findings == ()


def test_read_scans_xmp_anywhere_in_the_bytes_and_adds_container_fields():
    packet = _packet(f' Iptc4xmpExt:DigitalSourceType="{TRAINED}"/>').encode()
    report = aisource.read(b"\0" * 100 + packet + b"\0" * 10, [MetadataField("png-text", "parameters", WEBUI)])
    assert [(f.carrier, f.name) for f in report.findings] == [
        ("xmp", "trainedAlgorithmicMedia"),
        ("png-text", "Stable Diffusion WebUI"),
    ]
    assert report.to_dict()["found"] is True and report.to_dict()["checked"] is True
