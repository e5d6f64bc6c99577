"""The text modality through the library pipeline and the CLI: label, verify (with the
statistical detector), robustness."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from synthmark_cli.main import cli

import synthmark
from synthmark.keys import WatermarkKey
from synthmark.payload import content_id
from synthmark.text import GreenList, NGramModel, load_tokenizer

from .conftest import PRODUCER, TEXT, corpus

pytest.importorskip("pypdf")


def run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def key_file(tmp_path, key):
    return key.save(tmp_path / "demo.key")


@pytest.mark.parametrize(
    ("suffix", "layers"),
    [
        (".txt", ["visible", "watermark"]),
        (".md", ["visible", "watermark", "metadata"]),
        (".html", ["visible", "watermark", "metadata"]),
        (".docx", ["visible", "metadata"]),
        (".xlsx", ["visible", "metadata"]),
        (".pptx", ["visible", "metadata"]),
        (".pdf", ["visible", "metadata"]),
    ],
)
def test_label_and_verify_each_format(tmp_path, key_file, key, suffix, layers):
    source = tmp_path / f"in{suffix}"
    if suffix == ".txt":
        source.write_text("\n\n".join(corpus("en").split("\n\n")[10:14]))
    else:
        shutil.copy(TEXT / f"sample{suffix}", source)
    out = tmp_path / f"out{suffix}"
    result = run(
        "label", source, "-o", out, "--producer", PRODUCER, "--produce-id", "doc-7", "--key", key_file, "--json"
    )
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["layers"] == layers
    assert not any("explicit label not added" in w for w in done["warnings"])
    verified = run("verify", out, "--key", key_file, "--json")
    report = json.loads(verified.stdout)[0]
    assert report["evidence"]["visible"]["found"] == ("visible" in layers)
    assert report["evidence"]["metadata"]["found"] == ("metadata" in layers)
    watermark = report["evidence"]["watermark"]
    assert watermark["found"] == ("watermark" in layers)
    if "watermark" in layers:
        assert watermark["unicode"]["payload"] == f"{content_id('doc-7'):016x}"
    assert report["verdict"] == ("confirmed" if "metadata" in layers else "suspected")
    assert verified.exit_code == 0


def test_verify_with_tokenizer_finds_a_generated_text(tmp_path, key_file, key):
    tokenizer = load_tokenizer(TEXT / "tokenizer.json")
    model = NGramModel.train([tokenizer.encode(p) for p in corpus("en").split("\n\n")[:2000]], tokenizer.vocab_size)
    ids = model.generate(tokenizer.encode("The system"), 300, rng=3, processor=GreenList(key))
    answer = tmp_path / "answer.txt"
    answer.write_text(tokenizer.decode(ids))
    plain = run("verify", answer, "--key", key_file)
    assert plain.exit_code == 1 and "NONE" in plain.stdout
    result = run("verify", answer, "--key", key_file, "--tokenizer", TEXT / "tokenizer.json")
    assert result.exit_code == 0 and "statistical mark" in result.stdout and "SUSPECTED" in result.stdout
    report = synthmark.verify_file(answer, keys=[key], tokenizer=tokenizer)
    assert report.evidence["watermark"].details["statistical"]["pilot_z"] > 5
    assert run("verify", answer, "--tokenizer", TEXT / "tokenizer.json").exit_code == 2  # needs --key


def test_robustness_on_a_text_file(tmp_path, key_file):
    source = tmp_path / "essay.md"
    source.write_text("\n\n".join(corpus("zh").split("\n\n")[500:520]))
    result = run("robustness", source, "--key", key_file, "--embed", "--json")
    report = json.loads(result.stdout)
    outcomes = {o["name"]: o["detected"] for o in report["transformations"]}
    assert outcomes["strip-invisible"] is False and result.exit_code == 1
    assert all(detected for name, detected in outcomes.items() if name not in ("strip-invisible", "substitute20"))


def test_text_label_bytes_api_and_errors(tmp_path, label):
    data, result = synthmark.label_bytes(b"Plain words. More words.", label, key=WatermarkKey(bytes(32)))
    assert result.layers == ("visible", "watermark") and any("no metadata container" in w for w in result.warnings)
    assert data.decode().startswith("Plain words.") and data.decode().endswith("AI生成")  # default: bottom-right
    top = synthmark.LabelStyle(position="top-left", second_line="AI-generated")
    data, _ = synthmark.label_bytes(b"Plain words.", label, visible=top, metadata=False)
    assert data.decode().startswith("AI生成 / AI-generated\n\n")
    (tmp_path / "notes.md").write_text("# Notes\n\nNo front matter here.\n")
    done = synthmark.label_file(tmp_path / "notes.md", tmp_path / "notes-out.md", label)
    assert done.layers == ("visible", "metadata") and synthmark.verify_file(tmp_path / "notes-out.md").verdict == (
        "confirmed"
    )
    (tmp_path / "bad.md").write_bytes(b"\xff\xfe caf\xe9")
    bad = run("label", tmp_path / "bad.md", "-o", tmp_path / "o.md", "--producer", PRODUCER)
    assert bad.exit_code == 2 and "UTF-8" in bad.stderr and "bad.md" in bad.stderr
