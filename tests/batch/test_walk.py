"""The streaming walk: order, globs, and everything that could leave the tree refused."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path

from synthmark.batch import relabel
from synthmark.batch.walk import Filter, count, safe_member_name, walk

from .conftest import PLATFORM, labeled, sha, tree_hashes

JPEG = labeled("small256.jpg")


def refused(entries):
    return {e.rel: type(e.refused).__name__ for e in entries if e.refused is not None}


def test_folder_walk_is_sorted_filtered_and_counted(tmp_path):
    for rel in ("b/2.jpg", "b/1.jpg", "a.jpg", "c/skip.tmp", "c/d/3.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x" * 10)
    assert [e.rel for e in walk(tmp_path)] == ["a.jpg", "b/1.jpg", "b/2.jpg", "c/d/3.png", "c/skip.tmp"]
    filt = Filter(include=("*.jpg", "*.png"), exclude=("b/2*",))
    assert [e.rel for e in walk(tmp_path, filt)] == ["a.jpg", "b/1.jpg", "c/d/3.png"]
    assert count(tmp_path, filt) == (3, 30)


def test_symlinks_and_special_files_are_refused_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(JPEG)
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.jpg").write_bytes(JPEG)
    (src / "file-link.jpg").symlink_to(outside / "secret.jpg")
    (src / "dir-link").symlink_to(outside, target_is_directory=True)
    os.mkfifo(src / "pipe")
    entries = list(walk(src))
    assert refused(entries) == {
        "dir-link": "UnsafePathError",
        "file-link.jpg": "UnsafePathError",
        "pipe": "UnsafePathError",
    }
    assert "dir-link/secret.jpg" not in {e.rel for e in entries}
    summary = relabel(src, tmp_path / "dest", propagator=PLATFORM, jobs=1)
    assert (summary.done, summary.failed, summary.errors) == (1, 3, {"refused": 3})
    assert sorted(p.name for p in (tmp_path / "dest").iterdir() if not p.name.startswith(".")) == ["ok.jpg"]


def test_member_names_that_escape_are_refused():
    assert safe_member_name("a/./b//c.jpg") == "a/b/c.jpg"
    for bad in ("../x.jpg", "a/../../x.jpg", "/etc/x.jpg", "C:/x.jpg", "a\\..\\x.jpg", "a/\0.jpg", "", "./"):
        assert safe_member_name(bad) is None, bad


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as handle:
        handle.writestr("img/a.jpg", JPEG)
        handle.writestr("../../evil.jpg", JPEG)
        handle.writestr("/abs/evil.jpg", JPEG)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate, which is the point
            handle.writestr("img/a.jpg", JPEG)
        link = zipfile.ZipInfo("img/link.jpg")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        handle.writestr(link, "/etc/passwd")


def _tar(path: Path) -> None:
    with tarfile.open(path, "w:gz") as handle:

        def add(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, target: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.size, info.linkname = kind, len(data), target
            handle.addfile(info, io.BytesIO(data) if data else None)

        add("photos/b.jpg", JPEG)
        add("../escape.jpg", JPEG)
        add("photos/sym.jpg", kind=tarfile.SYMTYPE, target="/etc/passwd")
        add("photos/hard.jpg", kind=tarfile.LNKTYPE, target="photos/b.jpg")
        add("photos/dev", kind=tarfile.CHRTYPE)


def test_archives_are_expanded_safely_and_nothing_lands_outside_dest(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _zip(src / "batch1.zip")
    _tar(src / "batch2.tar.gz")
    (src / "plain.jpg").write_bytes(JPEG)
    before = tree_hashes(tmp_path)
    entries = list(walk(src))
    kept = ["batch1.zip/img/a.jpg", "batch2.tar.gz/photos/b.jpg", "plain.jpg"]
    assert [e.rel for e in entries if e.refused is None] == kept
    assert set(refused(entries).values()) == {"UnsafePathError"} and len(refused(entries)) == 8
    dest = tmp_path / "dest"
    summary = relabel(src, dest, propagator=PLATFORM, jobs=2)
    assert (summary.done, summary.failed) == (3, 8)
    # Nothing was written anywhere but DEST; SRC is unchanged.
    after = tree_hashes(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("dest/")} == before
    written = sorted(k for k in after if k.startswith("dest/") and "/.synthmark-batch" not in k)
    assert written == ["dest/batch1.zip/img/a.jpg", "dest/batch2.tar.gz/photos/b.jpg", "dest/plain.jpg"]
    db = sqlite3.connect(dest / ".synthmark-batch.sqlite")
    (source_sha,) = db.execute("SELECT source_sha256 FROM files WHERE source = 'batch1.zip/img/a.jpg'").fetchone()
    assert source_sha == sha(src / "plain.jpg")


def test_an_archive_given_as_src_and_a_damaged_one(tmp_path):
    _zip(tmp_path / "in.zip")
    summary = relabel(tmp_path / "in.zip", tmp_path / "dest", propagator=PLATFORM, include=["*.jpg"], jobs=1)
    assert summary.done == 1 and (tmp_path / "dest" / "img" / "a.jpg").is_file()
    src = tmp_path / "src"
    src.mkdir()
    (src / "broken.zip").write_bytes(b"PK\x03\x04" + os.urandom(200))
    (src / "broken.tar").write_bytes(os.urandom(2000))
    summary = relabel(src, tmp_path / "dest2", propagator=PLATFORM, jobs=1)
    assert summary.failed == 2 and set(summary.errors) == {"corrupt"}


def test_names_that_are_not_utf8_fail_alone(tmp_path):
    """A tar member or a file whose name is not UTF-8 is refused by itself, shown with escapes;
    the archive's and the folder's other files are walked."""
    src = tmp_path / "src"
    src.mkdir()
    with tarfile.open(src / "a.tar", "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as archive:
        for name in ("ok.txt", "caf\xe9.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            archive.addfile(info, io.BytesIO(b"hi"))
    (src / os.fsdecode(b"na\xefve.txt")).write_bytes(b"hi")
    (src / "plain.txt").write_bytes(b"hi")
    entries, read = {}, {}
    for entry in walk(src):
        entries[entry.rel] = entry
        read[entry.rel] = None if entry.refused else entry.read()
    assert sorted(entries) == ["a.tar/caf\\xe9.txt", "a.tar/ok.txt", "na\\xefve.txt", "plain.txt"]
    assert [rel for rel, e in entries.items() if e.refused] == ["a.tar/caf\\xe9.txt", "na\\xefve.txt"]
    assert "not valid UTF-8" in str(entries["na\\xefve.txt"].refused)
    assert read["a.tar/ok.txt"] == read["plain.txt"] == b"hi"
