"""synthmark.batch.relabel end to end on real files: art. 6 classes, propagator and producer
fields, idempotence, no double labels, bad files recorded, the ledger and its report."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from synthmark import provenance
from synthmark.aigc import AIGCLabel
from synthmark.batch import UNKNOWN, export, relabel, report
from synthmark.batch.ledger import Ledger
from synthmark.detect import verify_bytes, verify_file
from synthmark.errors import BatchError

from ..conftest import PROVIDER, fixture_bytes, run_unprivileged, shared_tmp
from .conftest import KEY, PLATFORM, labeled, sha, small_wav, tree_hashes, watermarked


def rows(ledger: Path) -> dict[str, dict[str, object]]:
    db = sqlite3.connect(ledger)
    db.row_factory = sqlite3.Row
    return {r["source"]: dict(r) for r in db.execute("SELECT * FROM files")}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory, signer: provenance.Signer) -> Path:
    """One file per art. 6 case (and a few more), as a platform would receive them."""
    src = tmp_path_factory.mktemp("src")
    (src / "confirmed").mkdir()
    (src / "confirmed" / "label1.jpg").write_bytes(labeled("landscape.jpg", "1"))
    (src / "confirmed" / "label2.png").write_bytes(labeled("gray.png", "2", produce_id="p-2"))
    (src / "confirmed" / "label3.webp").write_bytes(labeled("photo.webp", "3", produce_id="p-3"))
    (src / "declared").mkdir()
    (src / "declared" / "by-path.jpg").write_bytes(fixture_bytes("small256.jpg"))
    (src / "declared" / "by-hash.png").write_bytes(fixture_bytes("flat.png"))
    (src / "traces").mkdir()
    (src / "traces" / "watermark.jpg").write_bytes(watermarked("portrait.jpg"))
    c2pa_only = provenance.sign(
        fixture_bytes("small256.jpg")[:-2] + b"\xff\xd9",
        "image/jpeg",
        signer,
        label=AIGCLabel.new(PROVIDER, produce_id="c2pa-7"),
    )
    (src / "traces" / "c2pa.jpg").write_bytes(c2pa_only)
    (src / "traces" / "phrase.md").write_text("# Notes\n\nAI生成\n\nSome text written by a model.\n", "utf-8")
    (src / "none").mkdir()
    (src / "none" / "plain.jpg").write_bytes(fixture_bytes("landscape.jpg"))
    (src / "none" / "tone.wav").write_bytes(small_wav())
    (src / "none" / "notes.md").write_text("# Notes\n\nWritten by a person.\n", "utf-8")
    (src / "declared.txt").write_text(
        f"# user declarations\ndeclared/by-path.jpg\n{sha(src / 'declared' / 'by-hash.png')}\n", "utf-8"
    )
    return src


@pytest.fixture(scope="module")
def propagated(
    cases: Path, tmp_path_factory: pytest.TempPathFactory, signer: provenance.Signer, pki: provenance.TestPki
) -> tuple[Path, dict[str, dict[str, object]], object]:
    dest = tmp_path_factory.mktemp("dest")
    before = tree_hashes(cases)
    summary = relabel(
        cases,
        dest,
        propagator=PLATFORM,
        reserved_code2="rc2-demo",
        keys=[KEY],
        trust=[pki.root_cert.read_bytes()],
        signer=signer,
        declared=cases / "declared.txt",
        exclude=["declared.txt"],
        jobs=1,
    )
    assert tree_hashes(cases) == before  # SRC untouched
    return dest, rows(dest / ".synthmark-batch.sqlite"), summary


CLASSES = {
    "confirmed/label1.jpg": ("1", "metadata"),
    "confirmed/label2.png": ("2", "metadata"),
    "confirmed/label3.webp": ("3", "metadata"),
    "declared/by-path.jpg": ("2", "declared"),
    "declared/by-hash.png": ("2", "declared"),
    "traces/watermark.jpg": ("3", "traces"),
    "traces/c2pa.jpg": ("3", "traces"),
    "traces/phrase.md": ("3", "traces"),
    "none/plain.jpg": (None, "none"),
    "none/tone.wav": (None, "none"),
    "none/notes.md": (None, "none"),
}


@pytest.mark.parametrize("source", sorted(CLASSES))
@pytest.mark.clause("classify")
def test_each_art6_case_is_classified(propagated, source):
    _, ledger, _ = propagated
    row = ledger[source]
    assert row["status"] == "done", row["error"]
    assert (row["class"], row["basis"]) == CLASSES[source]


def test_summary_counts_every_file(propagated):
    _, ledger, summary = propagated
    assert summary.ok and summary.files == len(CLASSES) == len(ledger)
    assert summary.classes == {"confirmed": 1, "possible": 3, "suspected": 4, "none": 3}
    assert summary.actions == {"propagated": 8, "copied": 3}


@pytest.mark.clause("no-alteration")
def test_propagator_fields_written_and_producer_fields_kept(propagated, pki):
    dest, ledger, _ = propagated
    for source, expected_label in (("confirmed/label1.jpg", "1"), ("confirmed/label2.png", "2")):
        out = dest / source
        report = verify_file(out, trust=[pki.root_cert.read_bytes()])
        label = report.label
        assert label is not None and label.label == expected_label
        assert label.content_producer == PROVIDER
        assert label.produce_id == {"1": "order-1", "2": "p-2"}[expected_label]
        assert label.content_propagator == PLATFORM and len(label.propagate_id) == 32
        assert label.reserved_code2 == "rc2-demo"
        assert json.loads(str(ledger[source]["label"]))["ContentPropagator"] == PLATFORM
        # A signed manifest is added; the input had none.
        assert report.evidence["c2pa"].details["verdict"] == "Trusted"
        assert ledger[source]["c2pa_out"] == "signed"


@pytest.mark.clause("notice")
def test_notice_where_the_class_needs_it(propagated):
    dest, ledger, _ = propagated
    # Every image's visible layer is read (OCR): a class 1 image that shows no label, and every
    # class 2 and 3 file, gets the platform's notice, in the reader's language per class.
    assert ledger["confirmed/label1.jpg"]["layers"] == "visible,metadata,c2pa"
    assert ledger["confirmed/label2.png"]["layers"] == "visible,metadata,c2pa"
    assert ledger["declared/by-path.jpg"]["layers"] == "visible,metadata,c2pa"
    from synthmark import verify_file

    def notice(rel: str) -> str:
        return " ".join(label["text"] for label in verify_file(dest / rel).evidence["visible"].details["labels"])

    assert "可能为AI生成" in notice("declared/by-path.jpg")  # class 2: possibly
    assert "疑似AI生成" in notice("traces/watermark.jpg")  # class 3: suspected
    assert "AI生成" in notice("confirmed/label1.jpg") and "疑似" not in notice("confirmed/label1.jpg")
    # The Markdown already shows a compliant phrase: not added twice.
    assert "visible" not in str(ledger["traces/phrase.md"]["layers"])


def test_unknown_producer_and_producer_from_c2pa(propagated, pki):
    dest, ledger, _ = propagated
    declared = verify_file(dest / "declared/by-path.jpg").label
    assert declared is not None and declared.label == "2"
    assert (declared.content_producer, declared.produce_id) == (UNKNOWN, UNKNOWN)
    assert declared.content_propagator == PLATFORM
    # Metadata stripped but a C2PA manifest with the AIGC assertion: its producer fields are kept,
    # and the input manifest becomes the parent ingredient of the platform's.
    chained = verify_file(dest / "traces/c2pa.jpg", trust=[pki.root_cert.read_bytes()])
    assert chained.label is not None and chained.label.label == "3"
    assert (chained.label.content_producer, chained.label.produce_id) == (PROVIDER, "c2pa-7")
    c2pa = chained.evidence["c2pa"].details
    assert c2pa["verdict"] == "Trusted" and [i["relationship"] for i in c2pa["ingredients"]] == ["parentOf"]
    assert ledger["traces/c2pa.jpg"]["c2pa_in"] == "Trusted" and ledger["traces/c2pa.jpg"]["c2pa_out"] == "chained"


def test_watermark_trace_recorded_and_not_doubled(propagated):
    dest, ledger, _ = propagated
    row = ledger["traces/watermark.jpg"]
    assert row["traces"] == "watermark" and row["watermark_in"] is not None
    assert "watermark" not in str(row["layers"]) and row["watermark_payload"] is None
    found = verify_bytes((dest / "traces/watermark.jpg").read_bytes(), keys=[KEY])
    assert found.evidence["watermark"].details["payload"] == row["watermark_in"]


def test_unlabeled_files_are_copied_byte_for_byte(propagated, cases):
    dest, ledger, _ = propagated
    for source in ("none/plain.jpg", "none/tone.wav", "none/notes.md"):
        assert sha(dest / source) == sha(cases / source) == ledger[source]["output_sha256"]
        assert ledger[source]["action"] == "copied" and "unlabeled" in str(ledger[source]["reason"])


def test_every_ledger_row_matches_its_output(propagated, cases):
    dest, ledger, _ = propagated
    for source, row in ledger.items():
        assert row["source_sha256"] == sha(cases / source)
        assert row["output"] == str(dest / source) and row["output_sha256"] == sha(dest / source)


def test_rerun_skips_everything_and_changes_nothing(propagated, cases, signer, pki):
    dest, _, _ = propagated
    before = tree_hashes(dest)
    again = relabel(
        cases,
        dest,
        propagator=PLATFORM,
        reserved_code2="rc2-demo",
        keys=[KEY],
        trust=[pki.root_cert.read_bytes()],
        signer=signer,
        declared=cases / "declared.txt",
        exclude=["declared.txt"],
        jobs=1,
    )
    assert (again.skipped, again.done, again.failed) == (len(CLASSES), 0, 0)
    after = tree_hashes(dest)
    ledger = ".synthmark-batch.sqlite"
    assert {k: v for k, v in after.items() if not k.startswith(ledger)} == {
        k: v for k, v in before.items() if not k.startswith(ledger)
    }


def test_outputs_are_not_labeled_twice(propagated, tmp_path):
    dest, _first, _ = propagated
    src = tmp_path / "src"
    shutil.copytree(dest, src, ignore=shutil.ignore_patterns(".synthmark-batch*"))
    summary = relabel(src, tmp_path / "again", propagator=PLATFORM, keys=[KEY], jobs=1)
    second = rows(tmp_path / "again" / ".synthmark-batch.sqlite")
    assert summary.ok
    for source, row in second.items():
        assert row["action"] == "copied", (source, row["reason"])
        assert sha(tmp_path / "again" / source) == sha(src / source)
    assert "already carries this propagator's fields" in str(second["confirmed/label1.jpg"]["reason"])


def test_wiped_dest_is_rebuilt_byte_identical(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(labeled("landscape.jpg", "1"))
    (src / "b.png").write_bytes(fixture_bytes("gray.png"))
    (src / "b.list").write_text("b.png\n")
    runs = []
    for _ in range(2):
        dest = tmp_path / "dest"
        summary = relabel(src, dest, propagator=PLATFORM, declared=src / "b.list", include=["*.jpg", "*.png"], jobs=1)
        assert summary.done == 2
        runs.append({k: v for k, v in tree_hashes(dest).items() if not k.startswith(".synthmark")})
        shutil.rmtree(dest)
    assert runs[0] == runs[1] and len(runs[0]) == 2


def test_producer_role_labels_every_layer_and_keeps_labeled_files(tmp_path, signer, pki):
    src = tmp_path / "src"
    src.mkdir()
    (src / "gen1.jpg").write_bytes(fixture_bytes("landscape.jpg"))
    (src / "gen2.md").write_text("# Answer\n\nThe capital of France is Paris. It is on the Seine.\n", "utf-8")
    (src / "old.jpg").write_bytes(labeled("small256.jpg", "1", produce_id="earlier"))
    summary = relabel(src, tmp_path / "dest", role="producer", producer=PROVIDER, keys=[KEY], signer=signer, jobs=1)
    assert summary.ok and summary.actions == {"labeled": 2, "copied": 1}
    ledger = rows(tmp_path / "dest" / ".synthmark-batch.sqlite")
    assert ledger["gen1.jpg"]["layers"] == "visible,watermark,metadata,c2pa"
    report = verify_file(tmp_path / "dest" / "gen1.jpg", keys=[KEY], trust=[pki.root_cert.read_bytes()])
    assert report.verdict == "confirmed" and report.label is not None
    assert report.label.content_producer == PROVIDER and len(report.label.produce_id) == 32
    assert report.evidence["watermark"].details["matches_metadata"] is True
    assert report.evidence["c2pa"].details["verdict"] == "Trusted"
    assert verify_file(tmp_path / "dest" / "gen2.md").verdict == "confirmed"
    assert sha(tmp_path / "dest" / "old.jpg") == sha(src / "old.jpg")


def test_bad_files_are_recorded_and_the_batch_goes_on(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.jpg").write_bytes(labeled("small256.jpg"))
    (src / "empty.jpg").write_bytes(b"")
    (src / "truncated.jpg").write_bytes(labeled("landscape.jpg")[:5000])
    (src / "notes.bin").write_bytes(os.urandom(300))
    (src / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(src / "fifo")
    summary = relabel(src, tmp_path / "dest", propagator=PLATFORM, jobs=1)
    ledger = rows(tmp_path / "dest" / ".synthmark-batch.sqlite")
    assert not summary.ok and summary.done == 1 and summary.failed == 4
    kinds = {source: row["error_kind"] for source, row in ledger.items()}
    assert kinds == {
        "good.jpg": None,
        "empty.jpg": "corrupt",
        "truncated.jpg": "corrupt",
        "notes.bin": "unsupported",
        "fifo": "refused",
    }
    assert all(str(ledger[s]["error"]).startswith(s + ": ") for s in kinds if kinds[s])
    assert not (tmp_path / "dest" / "truncated.jpg").exists()
    totals = report(tmp_path / "dest" / ".synthmark-batch.sqlite")
    assert totals.errors == {"corrupt": 2, "refused": 1, "unsupported": 1}
    assert totals.statuses == {"failed": 4, "done": 1} and totals.formats["jpeg"] == 2  # good + truncated


def test_unreadable_file_is_a_permission_failure():
    """As an unprivileged user (root reads any file): one source file it may not read."""
    root = shared_tmp()
    src, dest = root / "src", root / "dest"
    src.mkdir(mode=0o755)
    dest.mkdir()
    dest.chmod(0o777)
    (src / "locked.jpg").write_bytes(labeled("small256.jpg"))
    (src / "locked.jpg").chmod(0)
    (src / "open.jpg").write_bytes(labeled("landscape.jpg"))
    (src / "open.jpg").chmod(0o644)
    code = (
        "import json\n"
        "from synthmark.batch import relabel\n"
        f"summary = relabel({str(src)!r}, {str(dest)!r}, propagator={PLATFORM!r}, jobs=1)\n"
        "print(json.dumps({'errors': summary.errors, 'done': summary.done}))\n"
    )
    done = run_unprivileged(code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"errors": {"permission": 1}, "done": 1}


def test_changed_sources_are_redone_and_touched_ones_are_not(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.jpg").write_bytes(labeled("small256.jpg"))
    (src / "b.jpg").write_bytes(labeled("landscape.jpg"))
    dest = tmp_path / "dest"
    assert relabel(src, dest, propagator=PLATFORM, jobs=1).done == 2
    os.utime(src / "a.jpg", ns=(1, 1))  # same bytes, new mtime: hashed, not redone
    (src / "b.jpg").write_bytes(labeled("landscape.jpg", produce_id="order-2"))
    (dest / "c.jpg").write_bytes(b"stale")  # DEST may hold other things
    again = relabel(src, dest, propagator=PLATFORM, jobs=1)
    assert (again.done, again.skipped) == (1, 1)
    label = verify_file(dest / "b.jpg").label
    assert label is not None and label.produce_id == "order-2"
    # An output deleted behind the ledger's back is made again.
    (dest / "a.jpg").unlink()
    assert relabel(src, dest, propagator=PLATFORM, jobs=1).done == 1 and (dest / "a.jpg").is_file()


def test_report_exports_csv_and_json(propagated, tmp_path):
    dest, ledger, _ = propagated
    path = dest / ".synthmark-batch.sqlite"
    assert export(path, tmp_path / "rows.csv") == len(ledger)
    assert export(path, tmp_path / "rows.json") == len(ledger)
    data = json.loads((tmp_path / "rows.json").read_text())
    assert {r["source"] for r in data} == set(ledger)
    header = (tmp_path / "rows.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["source", "source_sha256", "source_size"] and "class" in header
    totals = report(path)
    assert totals.classes == {"confirmed": 1, "possible": 3, "suspected": 4, "none": 3}
    assert totals.actions == {"propagated": 8, "copied": 3} and totals.files == len(ledger)


def test_ledger_is_exclusive_and_bad_invocations_raise(tmp_path):
    with Ledger(tmp_path / "l.sqlite"), pytest.raises(BatchError, match="another batch run"):
        Ledger(tmp_path / "l.sqlite")
    (tmp_path / "src").mkdir()
    with pytest.raises(BatchError, match="--propagator is required"):
        relabel(tmp_path / "src", tmp_path / "dest")
    with pytest.raises(BatchError, match="--producer is required"):
        relabel(tmp_path / "src", tmp_path / "dest", role="producer")
    with pytest.raises(BatchError, match="SRC lies inside DEST"):
        relabel(tmp_path / "src", tmp_path, propagator=PLATFORM)
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(BatchError, match="not a usable synthmark ledger"):
        relabel(tmp_path / "src", tmp_path / "dest", propagator=PLATFORM, ledger=tmp_path / "junk.sqlite")


def test_a_rerun_with_other_options_redoes_the_files_and_leaves_nothing_stale(tmp_path):
    from synthmark import verify_file

    src, dest = tmp_path / "src", tmp_path / "dest"
    src.mkdir()
    (src / "a.jpg").write_bytes(labeled("small256.jpg"))
    (src / "b.png").write_bytes(labeled("flat.png"))
    first = relabel(src, dest, propagator=PLATFORM, jobs=1)
    assert first.done == 2
    other = PLATFORM[:22] + "2ABCD"
    again = relabel(src, dest, propagator=other, jobs=1)
    assert (again.done, again.skipped) == (2, 0)
    for name in ("a.jpg", "b.png"):
        label = verify_file(dest / name).label
        assert label is not None and label.content_propagator == other and label.content_producer == PROVIDER
    assert relabel(src, dest, propagator=other, jobs=1).skipped == 2  # same options: nothing redone


@pytest.mark.clause("no-alteration")
def test_non_conforming_real_world_labels_are_propagated_as_found(tmp_path):
    """Labels whose producer is a company name or whose ProduceID holds Chinese characters
    (fixtures/foreign/labels-nonconforming, shaped like Doubao, MiniMax and Tencent files) are
    read, classified and propagated with their producer fields exactly as found."""
    from synthmark import verify_file

    src = Path(__file__).resolve().parents[2] / "fixtures" / "foreign" / "labels-nonconforming"
    summary = relabel(src, tmp_path / "dest", propagator=PLATFORM, jobs=1, include=["*.md", "*.jpg", "*.png"])
    assert summary.failed == 0 and summary.done == summary.files
    for path in sorted(src.iterdir()):
        if path.suffix not in (".md", ".jpg", ".png"):
            continue
        before = verify_file(path).label
        after = verify_file(tmp_path / "dest" / path.name).label
        assert before is not None and after is not None, path.name
        assert after.keeps_producer_of(before) and after.content_propagator == PLATFORM, path.name
