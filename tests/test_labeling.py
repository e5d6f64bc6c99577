"""label_file end to end on the real photos: layers, atomic output, originals untouched."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

import synthmark
from synthmark.errors import InvalidLabelError, OutputExistsError, OutputNotWritableError, SynthmarkError
from synthmark.image import _jpeg, read_metadata

from .conftest import IMAGES, fixture_bytes, fixture_path, run_unprivileged, shared_tmp


@pytest.mark.parametrize("name", IMAGES)
def test_label_file_all_layers(name, label, tmp_path):
    src = fixture_path(name)
    before = src.read_bytes()
    out = tmp_path / name
    result = synthmark.label_file(src, out, label, visible=synthmark.LabelStyle(second_line="AI-generated"))
    assert src.read_bytes() == before
    assert result.layers == ("visible", "metadata") and result.output == os.fspath(out)
    assert read_metadata(out).label == label
    labeled = Image.open(out)
    original = Image.open(src)
    assert labeled.size == original.size and labeled.format == original.format
    assert labeled.mode == original.mode
    assert list(os.listdir(tmp_path)) == [name]


def test_visible_relabel_keeps_exif_icc_and_quantisation(label, tmp_path):
    out = tmp_path / "l.jpg"
    synthmark.label_file(fixture_path("landscape.jpg"), out, label)
    original, labeled = Image.open(fixture_path("landscape.jpg")), Image.open(out)
    assert labeled.info["icc_profile"] == original.info["icc_profile"]
    assert labeled.getexif() == original.getexif()
    assert labeled.quantization == original.quantization
    # away from the label the pixels stay close to the original (one re-encode at the same tables)
    a = np.asarray(original, np.float64)[:700, :1000]
    b = np.asarray(labeled, np.float64)[:700, :1000]
    assert 10 * np.log10(255**2 / np.mean((a - b) ** 2)) > 40


def test_metadata_only_keeps_scan_bytes(label, tmp_path):
    out = tmp_path / "m.jpg"
    synthmark.label_file(fixture_path("portrait.jpg"), out, label, visible=None)
    assert _jpeg.split(out.read_bytes())[1] == _jpeg.split(fixture_bytes("portrait.jpg"))[1]


def test_exif_orientation_label_upright_in_displayed_corner(label, tmp_path):
    src = tmp_path / "rotated.jpg"
    base = Image.open(fixture_path("portrait.jpg"))
    exif = base.getexif()
    exif[0x0112] = 6  # stored rotated: displayed = stored rotated 90 degrees clockwise
    base.transpose(Image.Transpose.ROTATE_90).save(src, exif=exif, quality=92)
    out = tmp_path / "out.jpg"
    synthmark.label_file(src, out, label, visible=synthmark.LabelStyle(plate="dark"), metadata=False)
    from PIL import ImageOps

    shown_before = np.asarray(ImageOps.exif_transpose(Image.open(src)), np.int32)
    shown_after = np.asarray(ImageOps.exif_transpose(Image.open(out)), np.int32)
    diff = np.abs(shown_before - shown_after).max(axis=2) > 60
    ys, xs = np.nonzero(diff)
    h, w = diff.shape
    assert ys.min() > h * 0.8 and xs.min() > w * 0.5  # bottom-right as displayed


def test_refuses_existing_output_and_input_itself(label, tmp_path):
    out = tmp_path / "x.png"
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        synthmark.label_file(fixture_path("flat.png"), out, label)
    assert out.read_bytes() == b"keep me"
    synthmark.label_file(fixture_path("flat.png"), out, label, overwrite=True)
    assert read_metadata(out).label == label
    copy = tmp_path / "copy.png"
    copy.write_bytes(fixture_bytes("flat.png"))
    with pytest.raises(OutputExistsError, match="never modifies originals"):
        synthmark.label_file(copy, copy, label, overwrite=True)


def test_invalid_label_is_refused_before_writing(tmp_path):
    bad = synthmark.AIGCLabel(label="7", content_producer="X", produce_id="1")
    with pytest.raises(InvalidLabelError, match="Label"):
        synthmark.label_file(fixture_path("flat.png"), tmp_path / "o.png", bad)
    assert not list(tmp_path.iterdir())


def test_nothing_partial_on_failure(label, tmp_path):
    bad = tmp_path / "trunc.jpg"
    bad.write_bytes(fixture_bytes("portrait.jpg")[:20000])
    with pytest.raises(SynthmarkError):
        synthmark.label_file(bad, tmp_path / "o.jpg", label)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trunc.jpg"]


def test_unwritable_folder():
    """As an unprivileged user (root ignores directory modes): a folder it cannot write."""
    locked = shared_tmp() / "locked"
    locked.mkdir(mode=0o755)  # owned by the test runner: not writable by the unprivileged user
    code = (
        "import synthmark\n"
        "from synthmark.errors import OutputNotWritableError\n"
        "label = synthmark.AIGCLabel.new('001191110102MACQD9K64010000', produce_id='p')\n"
        "try:\n"
        f"    synthmark.label_file({str(fixture_path('flat.png'))!r}, {str(locked / 'o.png')!r}, label)\n"
        "except OutputNotWritableError as exc:\n"
        "    print('refused:', exc)\n"
    )
    done = run_unprivileged(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused:") and "o.png" in done.stdout and not (locked / "o.png").exists()


def test_missing_output_folder(label, tmp_path):
    with pytest.raises(OutputNotWritableError, match="does not exist"):
        synthmark.label_file(fixture_path("flat.png"), tmp_path / "nope" / "o.png", label)


def test_label_bytes_in_memory(label):
    data, result = synthmark.label_bytes(
        fixture_bytes("small256.jpg"), label, visible=synthmark.LabelStyle("人工智能生成")
    )
    assert result.media_type == "image/jpeg" and result.placement is not None
    assert read_metadata(io.BytesIO(data)).label == label


# --- labels that are right by law (issue 13) --------------------------------------------------


@pytest.mark.clause("no-alteration")
def test_another_producers_label_is_refused_and_the_file_left_alone(label, tmp_path):
    from synthmark.errors import ForeignLabelError

    theirs = synthmark.AIGCLabel.new("001191440300708461136T1XGW3", produce_id="theirs", label="1")
    first = tmp_path / "theirs.jpg"
    synthmark.label_file(fixture_path("landscape.jpg"), first, theirs, visible=None)
    target = tmp_path / "ours.jpg"
    ours = synthmark.AIGCLabel.new(label.content_producer, produce_id="ours", label="3")
    with pytest.raises(ForeignLabelError, match="synthmark never replaces another producer's label"):
        synthmark.label_file(first, target, ours)
    assert not target.exists()
    # A platform propagates: the producer fields stay exactly as the producer wrote them.
    propagated = theirs.with_propagator(label.content_producer, "post-77")
    synthmark.label_file(first, target, propagated, visible=None)
    assert read_metadata(target).label == propagated


def test_a_producer_relabels_its_own_content(label, tmp_path):
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    synthmark.label_file(fixture_path("landscape.jpg"), first, label, visible=None)
    newer = synthmark.AIGCLabel.new(label.content_producer, produce_id="second-version")
    synthmark.label_file(first, second, newer, visible=None)
    assert read_metadata(second).label == newer


def test_an_output_name_of_another_format_is_refused(label, tmp_path):
    from synthmark.errors import OutputError

    out = tmp_path / "photo.png"
    with pytest.raises(OutputError, match=r"'\.png' names another format than the input \(jpeg\)"):
        synthmark.label_file(fixture_path("landscape.jpg"), out, label)
    assert not out.exists()
    synthmark.label_file(fixture_path("landscape.jpg"), tmp_path / "photo.jpeg", label)  # same format


@pytest.mark.clause("omission-log")
def test_art9_omission_is_recorded_durably_before_the_file_is_written(label, tmp_path):
    from synthmark.omissions import OmissionLog

    log_path = tmp_path / "art9.sqlite"
    out = tmp_path / "no-label.jpg"
    with OmissionLog(log_path) as log:
        result = synthmark.label_file(
            fixture_path("landscape.jpg"), out, label, visible=None, omission_log=log, user="u-1"
        )
    assert result.warnings == ()
    import hashlib
    import sqlite3

    with sqlite3.connect(log_path) as db:
        rows = db.execute(
            "SELECT producer, produce_id, media_type, sha256, omitted, user, output FROM omissions"
        ).fetchall()
    assert rows == [
        (
            label.content_producer,
            label.produce_id,
            "image/jpeg",
            hashlib.sha256(out.read_bytes()).hexdigest(),
            "visible",
            "u-1",
            str(out),
        )
    ]
    with sqlite3.connect(log_path) as db, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM omissions")
    # Without a log the result says what art. 9 asks; with the label drawn nothing is logged.
    unlogged = synthmark.label_file(fixture_path("landscape.jpg"), tmp_path / "x.jpg", label, visible=None)
    assert any("art. 9" in warning for warning in unlogged.warnings)
    with OmissionLog(log_path) as log:
        synthmark.label_file(fixture_path("landscape.jpg"), tmp_path / "y.jpg", label, omission_log=log)
        assert len(list(log)) == 1


def test_a_visible_label_lost_in_encoding_is_an_error_not_a_layer(label, tmp_path, monkeypatch):
    """The visible layer is reported only when the written file shows it: an encoder that drops
    the label (simulated: it returns the unlabeled original) makes labeling fail, writing nothing."""
    from synthmark.errors import RenderError
    from synthmark.image import _jpeg

    monkeypatch.setattr(_jpeg, "reencode", lambda original, *args, **kwargs: original)
    out = tmp_path / "lost.jpg"
    with pytest.raises(RenderError, match="does not read back"):
        synthmark.label_file(fixture_path("landscape.jpg"), out, label)
    assert not out.exists()
