"""The C2PA manifest-store walk on c2pa-python's JSON shapes (pure: no c2pa, no files).

Real chains signed by c2pa-python and public C2PA files are in tests/test_foreign.py.
"""

from __future__ import annotations

import time

import pytest

from synthmark.aisource import IPTC_DIGITAL_SOURCE_TYPE
from synthmark.provenance import MAX_CHAIN_DEPTH, MAX_MANIFESTS
from synthmark.provenance._manifest import report_from_store

TRAINED = IPTC_DIGITAL_SOURCE_TYPE + "trainedAlgorithmicMedia"


def _manifest(label, actions, ingredients=(), generator="tool"):
    return {
        "label": label,
        "claim_generator_info": [{"name": generator, "version": "1.0"}],
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": list(actions)}}],
        "ingredients": [
            {
                "title": f"{child}.jpg",
                "relationship": "parentOf",
                "active_manifest": child,
                "label": f"c2pa.ingredient.v3__{i}",
                "validation_results": {"activeManifest": {"success": [], "failure": []}},
            }
            for i, child in enumerate(ingredients)
        ],
        "signature_info": {"common_name": "Signer", "issuer": "Org"},
    }


def _store(manifests, active):
    return {"active_manifest": active, "manifests": {m["label"]: m for m in manifests}}


@pytest.mark.clause("c2pa")
def test_ai_declared_only_in_the_parent_is_found_chatgpt_shape():
    store = _store(
        [
            _manifest("m0", [{"action": "c2pa.opened"}, {"action": "c2pa.converted"}], ["m1"], "ChatGPT"),
            _manifest("m1", [{"action": "c2pa.created", "digitalSourceType": TRAINED}], generator="OpenAI-API"),
        ],
        "m0",
    )
    report = report_from_store(store, "Valid")
    assert report.ai_generated
    assert [(n.label, n.depth) for n in report.chain] == [("m0", 0), ("m1", 1)]
    depths = {d.depth: d.how for d in report.ai_declarations}
    assert depths[1] == "c2pa.created: digitalSourceType trainedAlgorithmicMedia"
    assert report.to_dict()["ai_declared"][0]["claim_generator"] in ("ChatGPT 1.0", "OpenAI-API 1.0")


def test_three_deep_composite_chain_gemini_shape():
    store = _store(
        [
            _manifest(
                "a",
                [{"action": "c2pa.placed", "digitalSourceType": IPTC_DIGITAL_SOURCE_TYPE + "composite"}],
                ["b"],
                "Google",
            ),
            _manifest("b", [{"action": "c2pa.edited"}], ["c"], "Google"),
            _manifest("c", [{"action": "c2pa.created", "digitalSourceType": TRAINED}], generator="Google"),
        ],
        "a",
    )
    report = report_from_store(store, "Valid")
    assert [n.depth for n in report.chain] == [0, 1, 2]
    assert [d.depth for d in report.ai_declarations] == [2]
    assert report.chain[0].actions[0].source_type == "composite" and not report.chain[0].actions[0].ai


def test_vendor_parameter_declares_ai_firefly_shape():
    action = {"action": "c2pa.created", "parameters": {"com.adobe.digitalSourceType": TRAINED}}
    report = report_from_store(_store([_manifest("f", [action], generator="Adobe_Illustrator")], "f"), "Valid")
    (declared,) = report.ai_declarations
    assert declared.how == "c2pa.created: parameters.com.adobe.digitalSourceType trainedAlgorithmicMedia"


def test_a_software_agent_naming_a_generator_is_a_declaration():
    action = {"action": "c2pa.created", "softwareAgent": {"name": "Adobe Firefly", "version": "3"}}
    report = report_from_store(_store([_manifest("f", [action])], "f"), "Valid")
    assert report.ai_generated and "Adobe Firefly" in report.ai_declarations[0].how


def test_human_capture_is_not_ai_and_invalid_ai_still_is():
    capture = {"action": "c2pa.created", "digitalSourceType": IPTC_DIGITAL_SOURCE_TYPE + "digitalCapture"}
    human = report_from_store(_store([_manifest("h", [capture], generator="Leica")], "h"), "Trusted")
    assert not human.ai_generated and human.ai_declarations == ()
    generated = {"action": "c2pa.created", "digitalSourceType": TRAINED}
    invalid = report_from_store(_store([_manifest("x", [generated])], "x"), "Invalid")
    assert invalid.ai_generated and invalid.ai_declarations[0].state == "Invalid"


def test_cycles_missing_manifests_and_depth_are_bounded_problems():
    cyclic = report_from_store(_store([_manifest("a", [], ["b"]), _manifest("b", [], ["a"])], "a"), "Valid")
    assert [n.label for n in cyclic.chain] == ["a", "b"] and "cycle" in cyclic.problems[0]
    missing = report_from_store(_store([_manifest("a", [], ["gone"])], "a"), "Valid")
    assert "not in the store" in missing.problems[0]
    depth = MAX_CHAIN_DEPTH + 5
    deep = [_manifest(f"m{i}", [], [f"m{i + 1}"] if i < depth else []) for i in range(depth + 1)]
    walked = report_from_store(_store(deep, "m0"), "Valid")
    assert len(walked.chain) == MAX_CHAIN_DEPTH + 1 and "deeper than" in walked.problems[0]


def test_a_huge_store_is_walked_in_bounded_time():
    wide = [_manifest("root", [], [f"c{i}" for i in range(5000)])]
    wide += [_manifest(f"c{i}", [{"action": "c2pa.edited"}] * 2000) for i in range(5000)]
    started = time.perf_counter()
    report = report_from_store(_store(wide, "root"), "Valid")
    assert len(report.chain) == MAX_MANIFESTS and "more than" in report.problems[-1]
    assert time.perf_counter() - started < 10  # bounded by MAX_MANIFESTS x MAX_ACTIONS, not by the store


def test_malformed_shapes_do_not_raise():
    odd = {
        "active_manifest": "a",
        "manifests": {
            "a": {"assertions": [{"label": "c2pa.actions", "data": 5}], "ingredients": [7, {"active_manifest": 3}]}
        },
    }
    assert report_from_store(odd, None).chain[0].actions == ()
    assert report_from_store({"manifests": []}, None).problems == ("the store names no active manifest",)
