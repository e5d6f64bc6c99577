"""The CLI, in-process with click's CliRunner: JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from synthmark_cli.main import cli

from ..conftest import PROVIDER, fixture_bytes, fixture_path


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_label_then_verify_json_shows_exactly_the_fields_given(tmp_path):
    out = tmp_path / "labeled.jpg"
    result = run(
        "label",
        str(fixture_path("landscape.jpg")),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--produce-id",
        "order-42",
        "--label",
        "1",
        "--json",
    )
    assert result.exit_code == 0, result.output
    done = json.loads(result.output)
    assert done["output"] == str(out) and done["layers"] == ["visible", "metadata"]
    expected = {
        "Label": "1",
        "ContentProducer": PROVIDER,
        "ProduceID": "order-42",
        "ReservedCode1": "",
        "ContentPropagator": PROVIDER,  # first write: the propagator fields equal the producer's
        "PropagateID": "order-42",
        "ReservedCode2": "",
    }
    assert done["label"] == expected
    result = run("verify", str(out), "--json")
    assert result.exit_code == 0
    (report,) = json.loads(result.output)
    assert report["file"] == str(out) and report["media_type"] == "image/jpeg"
    assert report["verdict"] == "confirmed" and report["label"] == expected
    assert report["evidence"]["metadata"]["found"] is True and report["evidence"]["metadata"]["carrier"] == "xmp"
    assert report["evidence"]["watermark"] == report["evidence"]["watermark"] | {"found": False, "checked": False}
    (drawn,) = report["evidence"]["visible"]["labels"]  # read back by OCR where it was drawn
    assert drawn["position"] == "bottom-right" and drawn["meets_5_2"] and drawn["wording_ok"]
    assert report["evidence"]["c2pa"] == report["evidence"]["c2pa"] | {"found": False, "checked": True}


def test_verify_exit_codes_and_human_output(tmp_path):
    labeled = tmp_path / "a.png"
    assert run("label", str(fixture_path("flat.png")), "-o", str(labeled), "--producer", PROVIDER).exit_code == 0
    result = run("verify", str(labeled))
    assert result.exit_code == 0 and "CONFIRMED" in result.output and PROVIDER in result.output
    result = run("verify", str(labeled), str(fixture_path("gray.png")))
    assert result.exit_code == 1 and "NONE" in result.output
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    result = run("verify", str(labeled), str(empty))
    assert result.exit_code == 2
    assert "empty.jpg: file is empty" in result.output


def _bomb_png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


BAD_INPUTS = {
    "empty.jpg": (b"", "empty"),
    "truncated.jpg": (fixture_bytes("portrait.jpg")[:30000], "truncated"),
    "truncated.png": (fixture_bytes("gray.png")[:5000], "truncated"),
    "notes.png": (b"just some text, not an image\n" * 3, "not supported"),
    "anim.gif": (b"GIF89a" + b"\0" * 64, "GIF files are not supported"),
    "bomb.png": (_bomb_png(), "pixel limit"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_one_line_error_exit_2_nothing_left(name, tmp_path):
    data, words = BAD_INPUTS[name]
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / "out" / name
    out.parent.mkdir()
    result = run("label", str(src), "-o", str(out), "--producer", PROVIDER)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synthmark: error: ") and str(src) in lines[0]
    assert words in lines[0]
    assert list(out.parent.iterdir()) == []
    assert src.read_bytes() == data


def test_refuses_overwrite_without_force(tmp_path):
    out = tmp_path / "o.webp"
    args = ["label", str(fixture_path("photo.webp")), "-o", str(out), "--producer", PROVIDER]
    assert run(*args).exit_code == 0
    result = run(*args)
    assert result.exit_code == 2 and "--force" in result.output
    assert run(*args, "--force").exit_code == 0


def test_producer_required_for_metadata(tmp_path):
    result = CliRunner(env={"SYNTHMARK_PRODUCER": None}).invoke(
        cli, ["label", str(fixture_path("flat.png")), "-o", str(tmp_path / "o.png")]
    )
    assert result.exit_code == 2 and "--producer" in result.output
    result = run("label", str(fixture_path("flat.png")), "-o", str(tmp_path / "o.png"), "--no-metadata")
    assert result.exit_code == 0


def test_strict_rejects_non_code_producer(tmp_path):
    result = run(
        "label", str(fixture_path("flat.png")), "-o", str(tmp_path / "o.png"), "--producer", "ACME", "--strict"
    )
    assert result.exit_code == 2 and "provider code" in result.output


def test_no_visible_keeps_pixels_and_verify_reports(tmp_path):
    out = tmp_path / "m.png"
    result = run(
        "label", str(fixture_path("gray.png")), "-o", str(out), "--producer", PROVIDER, "--no-visible", "--json"
    )
    assert json.loads(result.output)["layers"] == ["metadata"]
    import numpy as np
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(fixture_path("gray.png"))))


def test_folder_mode_mirrors_tree_and_verify_walks_it(tmp_path):
    out = tmp_path / "labeled"
    result = run("label", str(fixture_path("flat.png").parent), "-o", str(out), "--producer", PROVIDER, "--json")
    assert result.exit_code == 0
    done = json.loads(result.output)
    names = sorted(Path(d["output"]).name for d in done)
    assert names == sorted(
        p.name for p in fixture_path("flat.png").parent.iterdir() if p.suffix in (".jpg", ".png", ".webp")
    )
    assert len({d["label"]["ProduceID"] for d in done}) == len(done)
    result = run("verify", str(out), "--json")
    assert result.exit_code == 0 and {r["verdict"] for r in json.loads(result.output)} == {"confirmed"}


def test_help_documents_exit_codes():
    assert "Exit codes" in run("verify", "--help").output
    assert "Exit codes" in run("label", "--help").output


# ----------------------------------------------------------------------------- watermark


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "wm.key"
    result = run("keygen", "-o", str(path))
    assert result.exit_code == 0 and "key id" in result.output
    return path


def test_keygen_owner_only_and_refuses_overwrite(key_file):
    assert key_file.stat().st_mode & 0o777 == 0o600
    result = run("keygen", "-o", str(key_file))
    assert result.exit_code == 2 and "--force" in result.output


def test_label_with_key_then_verify_and_strip_metadata(tmp_path, key_file):
    out = tmp_path / "m.jpg"
    result = run(
        "label",
        str(fixture_path("photo1080p.jpg")),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--produce-id",
        "gen-7",
        "--key",
        str(key_file),
        "--json",
    )
    assert result.exit_code == 0, result.output
    done = json.loads(result.output)
    assert done["layers"] == ["visible", "watermark", "metadata"]
    from synthmark.keys import load_key
    from synthmark.payload import content_id

    assert done["watermark"] == {"payload": f"{content_id('gen-7'):016x}", "key_id": load_key(key_file).key_id}
    (report,) = json.loads(run("verify", str(out), "--key", str(key_file), "--json").output)
    mark = report["evidence"]["watermark"]
    assert mark["found"] and mark["checked"] and mark["matches_metadata"] is True
    assert mark["payload"] == done["watermark"]["payload"] and mark["p_value"] < 1e-9
    # A platform re-saves the file and drops the metadata: the watermark still labels it.
    from PIL import Image

    stripped = tmp_path / "stripped.jpg"
    Image.open(out).save(stripped, quality=80)
    result = run("verify", str(stripped), "--key", str(key_file), "--json")
    (report,) = json.loads(result.output)
    assert result.exit_code == 0 and report["verdict"] == "suspected" and report["label"] is None
    assert report["evidence"]["watermark"]["found"] is True
    # Without the key the watermark cannot be seen, but the visible label still can (OCR).
    result = run("verify", str(stripped), "--json")
    (report,) = json.loads(result.output)
    assert result.exit_code == 0 and report["verdict"] == "suspected"
    assert report["evidence"]["watermark"]["checked"] is False and report["evidence"]["visible"]["found"] is True
    human = run("verify", str(out), "--key", str(key_file)).output
    assert "matches the metadata label" in human


def test_verify_with_wrong_key_and_bad_key_file(tmp_path, key_file):
    out = tmp_path / "m.jpg"
    labeled = run(
        "label",
        str(fixture_path("portrait.jpg")),
        "-o",
        str(out),
        "--no-metadata",
        "--no-visible",
        "--key",
        str(key_file),
    )
    assert labeled.exit_code == 0, labeled.output
    other = tmp_path / "other.key"
    run("keygen", "-o", str(other))
    result = run("verify", str(out), "--key", str(other), "--json")
    assert result.exit_code == 1 and json.loads(result.output)[0]["evidence"]["watermark"]["found"] is False
    bad = tmp_path / "bad.key"
    bad.write_text("{}")
    result = run("verify", str(out), "--key", str(bad))
    assert result.exit_code == 2 and "bad.key" in result.output


def test_label_key_on_too_small_image_skips_only_the_watermark(tmp_path, key_file):
    """The watermark is encouraged, the other layers required: an image that cannot hold a
    readable mark is labeled without it, with a warning, never with a silent unreadable mark."""
    from PIL import Image

    tiny = tmp_path / "tiny.png"
    Image.open(fixture_path("small256.jpg")).resize((200, 133)).save(tiny)
    for src, words in ((tiny, "256 px"), (fixture_path("small256.jpg"), "does not read back")):
        out = tmp_path / f"out-{src.name}"
        result = CliRunner().invoke(
            cli, ["label", str(src), "-o", str(out), "--producer", PROVIDER, "--key", str(key_file), "--json"]
        )
        assert result.exit_code == 0, result.output
        assert "watermark skipped" in result.output and words in result.output
        doc = json.loads(result.output[result.output.index("{") :])
        assert doc["layers"] == ["visible", "metadata"] and doc["watermark"] is None
        assert json.loads(run("verify", str(out), "--json").output)[0]["verdict"] == "confirmed"


def test_robustness_command(tmp_path, key_file):
    chart = tmp_path / "chart.png"
    result = run(
        "robustness",
        str(fixture_path("landscape.jpg")),
        "--key",
        str(key_file),
        "--embed",
        "--only",
        "jpeg50",
        "--only",
        "resize50",
        "--only",
        "rotate5",
        "--plot",
        str(chart),
        "--json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [t["name"] for t in doc["transformations"]] == ["jpeg50", "resize50", "rotate5"]
    assert all(t["detected"] and t["bit_accuracy"] == 1.0 for t in doc["transformations"])
    assert doc["psnr"] >= 40 and doc["ssim"] >= 0.98
    assert chart.read_bytes().startswith(b"\x89PNG")
    result = run("robustness", str(fixture_path("landscape.jpg")), "--key", str(key_file))
    assert result.exit_code == 2 and "--embed" in result.output
    result = run("robustness", str(fixture_path("landscape.jpg")), "--key", str(key_file), "--only", "bogus")
    assert result.exit_code == 2 and "bogus" in result.output


# ----------------------------------------------------------------------------- C2PA


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pki")
    result = run("c2pa", "test-pki", str(folder))
    assert result.exit_code == 0 and "NOT for production" in result.output
    return folder


@pytest.mark.parametrize("name", ["landscape.jpg", "flat.png", "photo.webp"])
def test_label_all_layers_then_c2pa_trusted(tmp_path, pki, key_file, name):
    out = tmp_path / name
    result = run(
        "label",
        str(fixture_path(name)),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--key",
        str(key_file),
        "--c2pa-cert",
        str(pki / "chain.pem"),
        "--c2pa-key",
        str(pki / "signer.key"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["layers"] == ["visible", "watermark", "metadata", "c2pa"]
    (report,) = json.loads(
        run("verify", str(out), "--key", str(key_file), "--trust", str(pki / "root.pem"), "--json").output
    )
    c2pa = report["evidence"]["c2pa"]
    assert c2pa["found"] and c2pa["verdict"] == "Trusted" and c2pa["ai_generated"]
    assert c2pa["label_agrees"] is True and c2pa["soft_binding_matches_watermark"] is True
    (untrusted,) = json.loads(run("verify", str(out), "--json").output)
    assert untrusted["evidence"]["c2pa"]["verdict"] == "Valid (untrusted signer)"
    assert any("untrusted" in r for r in untrusted["evidence"]["c2pa"]["reasons"])


def test_c2pa_tamper_strip_and_chain(tmp_path, pki, key_file):
    signed = tmp_path / "s.jpg"
    sign = ["--c2pa-cert", str(pki / "chain.pem"), "--c2pa-key", str(pki / "signer.key")]
    run(
        "label",
        str(fixture_path("portrait.jpg")),
        "-o",
        str(signed),
        "--producer",
        PROVIDER,
        "--key",
        str(key_file),
        *sign,
    )
    trust = ["--trust", str(pki / "root.pem")]
    soft_binding = json.loads(run("verify", str(signed), *trust, "--json").output)[0]["evidence"]["c2pa"][
        "soft_binding"
    ]
    # flipping bytes of the image data -> Invalid, in plain words
    data = bytearray(signed.read_bytes())
    data[-5000] ^= 0xFF
    tampered = tmp_path / "t.jpg"
    tampered.write_bytes(bytes(data))
    (report,) = json.loads(run("verify", str(tampered), *trust, "--json").output)
    assert report["evidence"]["c2pa"]["verdict"] == "Invalid" and report["evidence"]["c2pa"]["reasons"]
    # re-saving through Pillow drops the manifest and the XMP; the watermark ties it back
    from PIL import Image

    resaved = tmp_path / "r.jpg"
    Image.open(signed).save(resaved, quality=85)
    (report,) = json.loads(run("verify", str(resaved), "--key", str(key_file), *trust, "--json").output)
    assert report["evidence"]["c2pa"]["found"] is False and report["evidence"]["metadata"]["found"] is False
    assert report["evidence"]["watermark"]["payload"] == soft_binding and report["verdict"] == "suspected"
    # relabeling a signed file chains it: the previous file is the parent ingredient
    relabeled = tmp_path / "again.jpg"
    result = run("label", str(signed), "-o", str(relabeled), "--producer", PROVIDER, "--no-visible", *sign)
    assert result.exit_code == 0
    (report,) = json.loads(run("verify", str(relabeled), *trust, "--json").output)
    ingredients = report["evidence"]["c2pa"]["ingredients"]
    assert report["evidence"]["c2pa"]["verdict"] == "Trusted" and len(ingredients) == 1
    assert ingredients[0]["state"] in ("Trusted", "Valid")
    # relabeling without signing warns that the old manifest no longer matches
    result = CliRunner().invoke(
        cli, ["label", str(signed), "-o", str(tmp_path / "u.jpg"), "--producer", PROVIDER, "--no-visible"]
    )
    assert result.exit_code == 0 and "no longer matches" in result.output


def test_c2pa_options_go_together_and_bad_certs_fail_cleanly(tmp_path, pki):
    out = tmp_path / "o.jpg"
    result = run(
        "label",
        str(fixture_path("small256.jpg")),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--c2pa-cert",
        str(pki / "chain.pem"),
    )
    assert result.exit_code == 2 and "go together" in result.output
    result = run(
        "label",
        str(fixture_path("small256.jpg")),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--c2pa-cert",
        str(pki / "root.pem"),
        "--c2pa-key",
        str(pki / "signer.key"),
    )
    assert result.exit_code == 2 and not out.exists()
    assert len(result.output.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- audio


@pytest.mark.parametrize("audible", ["rhythm", "voice"])
def test_label_and_verify_audio(tmp_path, key_file, audible):
    src = Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "music_orchestral.flac"
    out = tmp_path / "out.flac"
    result = run(
        "label",
        str(src),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--key",
        str(key_file),
        "--audible",
        audible,
        "--at",
        "start",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["layers"] == ["audible", "watermark", "metadata"]
    (report,) = json.loads(run("verify", str(out), "--key", str(key_file), "--json").output)
    assert report["media_type"] == "audio/flac" and report["verdict"] == "confirmed"
    assert report["evidence"]["metadata"]["carrier"] == "vorbis-comment"
    assert report["evidence"]["watermark"]["found"] and report["evidence"]["watermark"]["matches_metadata"]
    visible = report["evidence"]["visible"]  # both detectors find their prompt in the written file
    assert visible["found"] and visible["kind"] == f"{audible} prompt"


def test_audio_metadata_only_keeps_frames(tmp_path):
    src = Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "speech_it_male.flac"
    out = tmp_path / "m.flac"
    result = run("label", str(src), "-o", str(out), "--producer", PROVIDER, "--no-visible", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["layers"] == ["metadata"]
    from synthmark.audio._io import decode_audio

    assert np.array_equal(decode_audio(out)[0], decode_audio(src)[0])


@pytest.mark.parametrize(
    ("container", "codec"), [("wav", "pcm_s16le"), ("mp3", "libmp3lame"), ("m4a", "aac"), ("flac", "flac")]
)
def test_audio_formats_all_layers_c2pa_trusted(tmp_path, pki, key_file, container, codec):
    from synthmark.audio._io import decode_audio, encode_as

    samples, info = decode_audio(Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "music_electronic.flac")
    src = tmp_path / f"in.{container}"
    src.write_bytes(encode_as(samples, info.sample_rate, container, codec))
    out = tmp_path / f"out.{container}"
    result = run(
        "label",
        str(src),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--key",
        str(key_file),
        "--c2pa-cert",
        str(pki / "chain.pem"),
        "--c2pa-key",
        str(pki / "signer.key"),
        "--json",
    )
    assert result.exit_code == 0, result.output
    layers = json.loads(result.stdout)["layers"]
    # The audio mark does not always survive a lossy re-encode of this clip (README status);
    # then it is skipped with a warning, never written unreadable. The manifest binds the rest.
    if "watermark" not in layers:
        assert "watermark skipped" in result.stderr
    assert [layer for layer in layers if layer != "watermark"] == ["audible", "metadata", "c2pa"]
    (report,) = json.loads(run("verify", str(out), "--trust", str(pki / "root.pem"), "--json").output)
    assert report["verdict"] == "confirmed" and report["evidence"]["metadata"]["found"]
    c2pa = report["evidence"]["c2pa"]
    assert c2pa["verdict"] == "Trusted" and c2pa["label_agrees"] is True and c2pa["ai_generated"]


@pytest.mark.parametrize(("container", "codec"), [("flac", "flac"), ("mp3", "libmp3lame"), ("m4a", "aac")])
def test_audio_reencode_keeps_other_tags(tmp_path, container, codec):
    import mutagen

    from synthmark.audio._io import decode_audio, encode_as

    samples, info = decode_audio(Path(__file__).resolve().parents[2] / "fixtures" / "audio" / "speech_it_male.flac")
    src = tmp_path / f"in.{container}"
    src.write_bytes(encode_as(samples[: info.sample_rate * 5], info.sample_rate, container, codec))
    tagged = mutagen.File(src, easy=True)
    if tagged.tags is None:
        tagged.add_tags()
    tagged["title"], tagged["artist"] = "My Song", "Someone"
    tagged.save()
    out = tmp_path / f"out.{container}"
    assert run("label", str(src), "-o", str(out), "--producer", PROVIDER).exit_code == 0  # audible label: re-encode
    kept = mutagen.File(out, easy=True)
    assert kept["title"] == ["My Song"] and kept["artist"] == ["Someone"]
    (report,) = json.loads(run("verify", str(out), "--json").output)
    assert report["verdict"] == "confirmed" and report["evidence"]["metadata"]["problems"] == []


# ----------------------------------------------------------------------------- video


def test_video_label_all_layers_verify_and_robustness(tmp_path, pki, key_file):
    from fixtures.clips import make_clip

    source = make_clip("kenburns_meadow.mp4", tmp_path, seconds=3.0, width=960, height=540)
    out = tmp_path / "labeled.mp4"
    args = ["--producer", PROVIDER, "--key", str(key_file), "--visible", "persistent"]
    c2pa = ["--c2pa-cert", str(pki / "chain.pem"), "--c2pa-key", str(pki / "signer.key")]
    result = run("label", str(source), "-o", str(out), *args, *c2pa, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["layers"] == ["visible", "watermark", "metadata", "c2pa"]
    (report,) = json.loads(
        run("verify", str(out), "--key", str(key_file), "--trust", str(pki / "root.pem"), "--json").output
    )
    assert report["verdict"] == "confirmed"
    assert report["evidence"]["watermark"]["found"] and report["evidence"]["watermark"]["matches_metadata"]
    assert report["evidence"]["c2pa"]["verdict"] == "Trusted"
    assert report["evidence"]["c2pa"]["soft_binding_matches_watermark"] is True
    result = run("label", str(source), "-o", str(tmp_path / "x.mp4"), *args, "--visible-seconds", "1")
    assert result.exit_code == 2 and "2 s" in result.output
    result = run("robustness", str(out), "--key", str(key_file), "--only", "h264-23", "--only", "crop80", "--json")
    assert result.exit_code == 0, result.output
    assert [t["detected"] for t in json.loads(result.output)["transformations"]] == [True, True]


@pytest.mark.clause("omission-log")
def test_no_visible_is_logged_for_art9_and_exported(tmp_path):
    log = tmp_path / "art9.sqlite"
    out = tmp_path / "plain.jpg"
    args = ["label", str(fixture_path("landscape.jpg")), "-o", str(out), "--producer", PROVIDER, "--no-visible"]
    result = run(*args, "--omission-log", str(log), "--user", "account-9", "--produce-id", "handout-1")
    assert result.exit_code == 0, result.output
    csv_text = run("log", "export", str(log)).output
    header, row = csv_text.splitlines()
    assert header == "id,recorded,producer,produce_id,media_type,sha256,omitted,user,output"
    assert f",{PROVIDER},handout-1,image/jpeg," in row and row.endswith(f",visible,account-9,{out}")
    exported = json.loads(run("log", "export", str(log), "--json", "--since", "2000-01-01").output)
    assert [r["produce_id"] for r in exported] == ["handout-1"]
    assert json.loads(run("log", "export", str(log), "--json", "--since", "2999-01-01").output) == []


def test_folder_labeling_takes_media_by_default_documents_on_request(tmp_path):
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    (src / "deep" / "photo.jpg").write_bytes(fixture_bytes("small256.jpg"))
    (src / "skip.jpg").write_bytes(fixture_bytes("small256.jpg"))
    (src / "README.md").write_text("# notes\n\nA folder of pictures.\n")
    base = ["label", str(src), "--producer", PROVIDER, "--no-metadata", "--exclude", "skip.*"]
    assert run(*base, "-o", str(tmp_path / "media")).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file()) == ["photo.jpg"]
    assert run(*base, "-o", str(tmp_path / "all"), "--include", "*.md").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "all").rglob("*") if p.is_file()) == ["README.md", "photo.jpg"]


@pytest.mark.clause("first-write")
def test_propagator_fields_can_be_left_empty(tmp_path):
    out = tmp_path / "e.jpg"
    result = run(
        "label",
        str(fixture_path("landscape.jpg")),
        "-o",
        str(out),
        "--producer",
        PROVIDER,
        "--propagator-empty",
        "--json",
    )
    label = json.loads(result.output)["label"]
    assert label["ContentPropagator"] == "" and label["PropagateID"] == ""


def test_a_crash_is_exit_3_with_one_line_never_no_label(monkeypatch):
    """An internal error (simulated: a layer reader that raises a plain Python exception) must
    not exit 1, which means "no label": verify reports the other files and exits 3."""
    import subprocess
    import sys

    import synthmark.image

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(synthmark.image, "read_provenance_metadata", broken)
    result = CliRunner().invoke(cli, ["verify", str(fixture_path("gray.png")), "--json"])
    assert result.exit_code == 3
    (entry,) = json.loads(result.stdout)
    assert entry["error"]["type"] == "InternalError" and "ZeroDivisionError: boom" in entry["error"]["message"]
    # The console script itself: an exception outside any command's handling exits 3, one line.
    code = (
        "import sys, synthmark_cli.main as m\n"
        "def boom(*a, **k): raise RuntimeError('unexpected')\n"
        "m.cli.main = boom\n"
        "m.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3 and done.stderr.count("\n") == 1
    assert (
        done.stderr.startswith("synthmark: internal error: RuntimeError: unexpected;")
        and "Traceback" not in done.stderr
    )


def test_deeply_nested_json_is_a_problem_not_a_crash(tmp_path):
    from synthmark.aigc import parse_label

    nested = '{"AIGC":' * 100_000 + "1" + "}" * 100_000
    parsed = parse_label(nested)
    assert parsed.label is None and [p.code for p in parsed.problems] == ["not-json"]
    key = tmp_path / "deep.key"
    key.write_text("[" * 20_000 + "]" * 20_000)  # under the 64 KiB key-file limit, far past recursion
    result = run("verify", str(fixture_path("gray.png")), "--key", str(key))
    assert result.exit_code == 2 and "not a synthmark key file" in result.output


def test_bad_paths_and_options_are_one_line_and_special_files_are_refused_at_once(tmp_path):
    """Through the console script: click's usage errors become the documented one line; a device,
    a FIFO or an empty key folder is refused at once, never read until memory runs out or hung on."""
    import os
    import subprocess
    import sys
    import time

    script = Path(sys.executable).parent / "synthmark"
    photo = str(fixture_path("gray.png"))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "empty").mkdir()
    cases = [
        (["verify", photo, "--key", str(tmp_path / "missing.key")], "Invalid value for '--key'"),
        (["verify", photo, "--key", "/dev/zero"], "is not a regular file"),
        (["verify", photo, "--key", str(fifo)], "is not a regular file"),
        (["verify", photo, "--trust", "/dev/zero"], "is not a regular file"),
        (["verify", photo, "--key", str(tmp_path / "empty")], "holds no key file"),
        (["label"], "Missing argument 'INPUT'"),
    ]
    for args, message in cases:
        started = time.perf_counter()
        done = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("synthmark: error: ") and done.stderr.count("\n") == 1, done.stderr
        assert message in done.stderr and time.perf_counter() - started < 10


# ----------------------------------------------------------------------------- exit codes, start-up


def test_an_error_exits_with_its_own_exit_code(monkeypatch):
    """A SynthmarkError carries its exit code (2 for the whole tree today): the CLI reads it, in
    process (CliRunner) as through the console script, never a code of its own."""
    import subprocess
    import sys

    import synthmark.keys
    from synthmark.errors import SynthmarkError

    class OddError(SynthmarkError):
        exit_code = 7

    def refuse(*args, **kwargs):
        raise OddError("odd", path="k.key", fix="do something else")

    monkeypatch.setattr(synthmark.keys, "generate_key", refuse)
    result = CliRunner().invoke(cli, ["keygen", "-o", "k.key"])
    assert result.exit_code == 7 and result.output == "synthmark: error: k.key: odd; do something else\n"
    code = (
        "import synthmark.keys, synthmark_cli.main as m\n"
        "from synthmark.errors import SynthmarkError\n"
        "class OddError(SynthmarkError): exit_code = 7\n"
        "def refuse(*a, **k): raise OddError('odd', path='k.key')\n"
        "synthmark.keys.generate_key = refuse\n"
        "import sys; sys.argv = ['synthmark', 'keygen', '-o', 'k.key']\n"
        "m.main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (7, "synthmark: error: k.key: odd\n")


@pytest.mark.parametrize("argv", [[], ["--help"], ["verify", "--help"], ["batch", "relabel", "--help"]])
def test_start_up_and_help_import_no_heavy_module(argv):
    """``import synthmark_cli.main`` and ``--help`` load neither synthmark's media stack nor
    numpy: start-up stays cheap (timed in benchmarks/bench_cli.py, not here)."""
    import subprocess
    import sys

    code = (
        "import sys, synthmark_cli.main as m\n"
        f"sys.argv = ['synthmark', *{argv!r}]\n"
        "try:\n"
        "    m.main() if len(sys.argv) > 1 else None\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "heavy = ('cv2', 'av', 'c2pa', 'onnxruntime', 'numpy', 'PIL')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
