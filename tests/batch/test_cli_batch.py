"""``synthmark batch relabel|report`` in-process with CliRunner: exit codes, summary, exports."""

from __future__ import annotations

import json

from click.testing import CliRunner
from synthmark_cli.main import cli

from ..conftest import PROVIDER, fixture_bytes
from .conftest import KEY, PLATFORM, labeled


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_relabel_then_report(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(labeled("small256.jpg"))
    (src / "b.png").write_bytes(fixture_bytes("gray.png"))
    (src / "declared.txt").write_text("b.png\n")
    key = tmp_path / "k.key"
    KEY.save(key)
    dest = tmp_path / "dest"
    args = ["batch", "relabel", str(src), str(dest), "--propagator", PLATFORM, "--jobs", "1", "--key", str(key)]
    result = run(*args, "--declared-list", str(src / "declared.txt"), "--exclude", "*.txt", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["done"] == 2 and summary["classes"] == {"confirmed": 1, "possible": 1}
    result = run(*args, "--declared-list", str(src / "declared.txt"), "--exclude", "*.txt")
    assert result.exit_code == 0 and "2 already done" in result.output
    ledger = dest / ".synthmark-batch.sqlite"
    result = run("batch", "report", str(ledger), "--csv", str(tmp_path / "r.csv"), "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    assert "class   1 confirmed, 1 possible" in result.output and "format  1 jpeg, 1 png" in result.output
    assert len(json.loads((tmp_path / "r.json").read_text())) == 2
    result = run("batch", "report", str(ledger), "--print-json")
    assert json.loads(result.output)["statuses"] == {"done": 2}


def test_secrets_never_reach_the_ledger(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(fixture_bytes("landscape.jpg"))
    key = tmp_path / "k.key"
    KEY.save(key)
    args = ["batch", "relabel", str(src), str(tmp_path / "dest"), "--role", "producer", "--producer", PROVIDER]
    assert run(*args, "--key", str(key), "--jobs", "1", "--quiet").exit_code == 0
    raw = (tmp_path / "dest" / ".synthmark-batch.sqlite").read_bytes()
    secret = json.loads(key.read_text())["secret"]
    assert secret.encode() not in raw and bytes(range(32)) not in raw
    assert KEY.key_id.encode() in raw


def test_exit_codes(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.jpg").write_bytes(labeled("small256.jpg"))
    (src / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    result = run("batch", "relabel", str(src), str(tmp_path / "dest"), "--propagator", PLATFORM, "--jobs", "1")
    assert result.exit_code == 1
    assert "synthmark: error: bad.jpg: " in result.output and "1 failed (1 corrupt)" in result.output
    result = run("batch", "report", str(tmp_path / "dest" / ".synthmark-batch.sqlite"))
    assert result.exit_code == 1 and "error   1 corrupt" in result.output
    result = run("batch", "relabel", str(src), str(tmp_path / "dest2"), "--jobs", "1")
    assert result.exit_code == 2 and "synthmark: error: --propagator is required" in result.output
    result = run("batch", "relabel", str(src), str(tmp_path / "d3"), "--propagator", PLATFORM, "--jobs", "0")
    assert result.exit_code == 2
    (tmp_path / "not.sqlite").write_bytes(b"x" * 4096)
    result = run("batch", "report", str(tmp_path / "not.sqlite"))
    assert result.exit_code == 2 and "not a usable synthmark ledger" in result.output
