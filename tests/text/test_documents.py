"""The metadata label in documents: every format's round trip with other content kept, one
label per file, sniffing, and rejection of foreign and broken input."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from synthmark import text
from synthmark.errors import CorruptFileError, InputError, MetadataError, UnsupportedFormatError
from synthmark.formats import sniff

from .conftest import PRODUCER, TEXT

pypdf = pytest.importorskip("pypdf")

OFFICE = (".docx", ".xlsx", ".pptx")


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


@pytest.mark.parametrize(
    ("suffix", "name"),
    [(".md", "markdown"), (".html", "html"), (".docx", "docx"), (".xlsx", "xlsx"), (".pptx", "pptx"), (".pdf", "pdf")],
)
def test_sniffed_by_content(sample, suffix, name):
    assert sniff(sample[suffix]).name == name
    assert sniff(sample[suffix], path=f"x{suffix}").modality == "text"


def test_sniffing_text_is_careful():
    assert sniff(b"Plain words.\n").name == "text"
    assert sniff(b"notes", path="notes.txt").name == "text"
    assert sniff(b"# Title", path="README.md").name == "markdown"
    with pytest.raises(UnsupportedFormatError):
        sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(UnsupportedFormatError):
        sniff(b"{}", path="data.json")
    with pytest.raises(UnsupportedFormatError):
        sniff(bytes(range(256)))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("a.txt", "x")
    with pytest.raises(UnsupportedFormatError, match="ZIP/Office"):
        sniff(zipped.getvalue())


@pytest.mark.parametrize("suffix", [".md", ".html", ".docx", ".xlsx", ".pptx", ".pdf"])
def test_round_trip_one_label_rest_kept(sample, label, suffix):
    original = sample[suffix]
    labeled = text.write_metadata(original, label)
    reading = text.read_metadata(labeled)
    assert reading.label == label and reading.form == "bare" and not reading.problems
    relabeled = text.write_metadata(labeled, label.with_propagator("PLATFORM", "p-9"))
    again = text.read_metadata(relabeled)
    assert again.label == label.with_propagator("PLATFORM", "p-9") and len(again.carriers) == 1
    assert text.read_text(relabeled) == text.read_text(original) or suffix in (".md", ".html")
    if suffix in OFFICE:
        before, after = _parts(original), _parts(relabeled)
        changed = {"docProps/custom.xml", "[Content_Types].xml", "_rels/.rels"}
        assert {n: d for n, d in before.items() if n not in changed} == {
            n: d for n, d in after.items() if n not in changed
        }
        assert list(after)[: len(before)] == list(before)  # part order kept
    if suffix == ".pdf":
        assert relabeled.startswith(labeled) and labeled.startswith(original)  # incremental updates
        info = pypdf.PdfReader(io.BytesIO(relabeled)).metadata
        assert info["/Title"] == "Sample document" and info["/Author"] == "Debian Handbook authors"


def test_markdown_front_matter_is_merged_byte_for_byte(sample, label, tmp_path):
    labeled = text.write_metadata(sample[".md"], label).decode()
    assert labeled.startswith('---\ntitle: Mass deployment\ntags: [debian, admin]\nAIGC:\n  Label: "1"\n')
    assert labeled.split("---\n", 2)[2] == sample[".md"].decode().split("---\n", 2)[2]
    (tmp_path / "doc.md").write_text("# Title\n\nBody.\n")
    bare = text.write_metadata(tmp_path / "doc.md", label).decode()
    assert bare.startswith("---\nAIGC:\n") and bare.endswith("---\n# Title\n\nBody.\n")


@pytest.mark.parametrize(
    "entry",
    [
        'AIGC: {"Label": "1", "ContentProducer": "ACME", "ProduceID": "a-1"}',
        'AIGC: \'{"Label":"1","ContentProducer":"ACME","ProduceID":"a-1"}\'',
        "AIGC: {Label: '1', ContentProducer: ACME, ProduceID: a-1}",
        "AIGC:\n  Label: '1'\n  ContentProducer: ACME   # the provider\n  ProduceID: \"a-1\"",
    ],
)
def test_markdown_readers_accept_other_writers_forms(entry):
    doc = f"---\ntitle: x\n{entry}\nother: 2\n---\nBody.\n".encode()
    reading = text.read_metadata(doc)
    assert reading.label is not None
    assert (reading.label.label, reading.label.content_producer, reading.label.produce_id) == ("1", "ACME", "a-1")
    # Another producer's label is propagated (producer fields kept), never replaced.
    rewritten = text.write_metadata(doc, reading.label.with_propagator(PRODUCER, "b")).decode()
    assert rewritten.count("AIGC") == 1 and "other: 2\n" in rewritten and "title: x\n" in rewritten


def test_xlsx_existing_custom_property_is_kept(sample, label):
    labeled = _parts(text.write_metadata(sample[".xlsx"], label))["docProps/custom.xml"].decode()
    assert '<property name="Department" fmtid=' in labeled and "Documentation" in labeled


def test_docx_explicit_label_and_text(sample, label):
    labeled, _ = text.relabel_content(sample[".docx"], text.TextLabelStyle(position="end"), None)
    assert text.read_text(labeled).endswith("AI生成")
    assert text.find_explicit(labeled)["found"] and not text.find_explicit(sample[".docx"])["found"]
    assert text.relabel_content(labeled, text.TextLabelStyle(position="end"), None)[0] == labeled
    assert all(text.supports_explicit(sample[suffix]) for suffix in (".pdf", ".xlsx", ".pptx", ".docx"))


def test_html_meta_and_plain_text(sample, label):
    labeled = text.write_metadata(sample[".html"], label).decode()
    assert labeled.count('<meta name="AIGC" content="{&quot;Label&quot;:&quot;1&quot;') == 1
    assert labeled.replace(labeled[labeled.index('\n<meta name="AIGC"') : labeled.index("<meta charset")], "\n") == (
        sample[".html"].decode()
    )
    with pytest.raises(MetadataError, match="no metadata container"):
        text.write_metadata(b"Just words.", label)
    assert not text.read_metadata(b"Just words.").found


def test_broken_and_foreign_input_is_refused(sample, label, tmp_path):
    (tmp_path / "cut.docx").write_bytes(sample[".docx"][:2000])
    with pytest.raises(CorruptFileError):
        text.write_metadata(tmp_path / "cut.docx", label)
    with pytest.raises(CorruptFileError):
        text.read_metadata(b"%PDF-1.7\n" + b"garbage" * 10)
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9 au lait")
    with pytest.raises(CorruptFileError, match="UTF-8"):
        text.read_metadata(tmp_path / "latin1.txt")
    with pytest.raises(UnsupportedFormatError):
        text.read_metadata(b"caf\xe9 au lait")  # unnamed and not UTF-8: not taken for text
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", '<!DOCTYPE x [<!ENTITY a "b">]><w:document/>')
    with pytest.raises(CorruptFileError, match="DOCTYPE"):
        text.read_text(bomb.getvalue())
    encrypted = io.BytesIO()
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(sample[".pdf"]))
    writer.encrypt("secret")
    writer.write(encrypted)
    with pytest.raises(InputError, match="encrypted"):
        text.write_metadata(encrypted.getvalue(), label)
    with pytest.raises(UnsupportedFormatError):
        text.read_metadata((TEXT.parent / "images" / "small256.jpg").read_bytes())


@pytest.mark.parametrize("suffix", OFFICE)
def test_office_package_with_one_damaged_part_is_refused_whole(sample, label, tmp_path, suffix):
    """A part synthmark does not touch but must copy (bad CRC) makes the package corrupt, named,
    and the original is left as it was."""
    package = zipfile.ZipFile(io.BytesIO(sample[suffix]))
    victim = next(i for i in package.infolist() if i.filename.endswith("theme/theme1.xml"))
    damaged = bytearray(sample[suffix])
    start = victim.header_offset + 30 + len(victim.filename.encode()) + len(victim.extra)
    damaged[start + victim.compress_size // 2] ^= 0x55
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(bytes(damaged))
    with pytest.raises(CorruptFileError, match=re.escape(f"damaged{suffix}: member {victim.filename} is damaged")):
        text.write_metadata(path, label)
    assert path.read_bytes() == damaged


def test_front_matter_nested_beyond_reason_is_a_problem_not_a_crash():
    deep = "---\nAIGC: " + '{"AIGC":' * 100_000 + "1" + "}" * 100_000 + "\n---\n\nWords.\n"
    reading = text.read_metadata(deep.encode())
    assert not reading.found and any("nested too deeply" in p.message for p in reading.problems)
