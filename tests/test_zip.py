"""synthmark._zip: every ZIP member is inflated within a hard cap, whatever its headers say."""

from __future__ import annotations

import io
import resource
import struct
import zipfile
import zlib

import pytest

from synthmark._zip import open_archive, read_member
from synthmark.errors import CorruptFileError, TooLargeError, UnsupportedFormatError


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as package:
        for name, data in members.items():
            package.writestr(name, data)
    return out.getvalue()


def _lying_bomb(inflated: int, declared: int = 1024) -> bytes:
    """A deflated member of ``inflated`` zero bytes whose headers declare ``declared`` bytes,
    built by streaming (the inflated bytes never exist in memory)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk, parts, crc = bytes(1 << 20), [], 0
    for _ in range(inflated >> 20):
        parts.append(deflate.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    parts.append(deflate.flush())
    body = b"".join(parts)
    name = b"bomb.xml"
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), declared, len(name), 0)
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body), declared, len(name), 0, 0, 0, 0, 0, 0
    )
    directory = central + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(local) + len(name) + len(body), 0)
    return local + name + body + directory + end


def test_an_honest_member_is_read_whole():
    package = zipfile.ZipFile(io.BytesIO(_zip({"a.xml": b"<a/>" * 1000})))
    assert read_member(package, "a.xml", limit=4000, path="doc.docx", fix="re-save it") == b"<a/>" * 1000


def test_a_member_over_the_limit_is_refused_one_byte_past_it():
    package = zipfile.ZipFile(io.BytesIO(_zip({"a.xml": bytes(5000)})))
    with pytest.raises(TooLargeError, match=r"doc\.docx: member a\.xml inflates to more than 4999 bytes"):
        read_member(package, "a.xml", limit=4999, path="doc.docx", fix="re-save it")


def test_a_member_lying_about_its_size_is_refused_in_bounded_memory():
    # 512 MiB of zeros declared as 1 KB: zipfile.read() would inflate them all in one call.
    package = zipfile.ZipFile(io.BytesIO(_lying_bomb(512 << 20)))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CorruptFileError, match=r"doc\.docx: member bomb\.xml is damaged"):
        read_member(package, "bomb.xml", limit=1 << 30, path="doc.docx", fix="re-save it")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 << 10  # KiB: under 64 MiB more


def test_a_damaged_member_names_itself():
    data = bytearray(_zip({"ok.xml": b"<a/>", "styles.xml": b"<styles>" + b"x" * 4000 + b"</styles>"}))
    data[data.find(b"styles.xml") + 40] ^= 0xFF  # inside its deflated bytes
    package = zipfile.ZipFile(io.BytesIO(bytes(data)))
    assert read_member(package, "ok.xml", limit=100, path="d.docx", fix="f") == b"<a/>"
    with pytest.raises(CorruptFileError, match=r"d\.docx: member styles\.xml is damaged"):
        read_member(package, "styles.xml", limit=1 << 20, path="d.docx", fix="f")


def test_only_stored_and_deflated_members_are_read():
    package = zipfile.ZipFile(io.BytesIO(_zip({"a.xml": b"<a/>"}, zipfile.ZIP_BZIP2)))
    with pytest.raises(UnsupportedFormatError, match="compression method 12"):
        read_member(package, "a.xml", limit=100, path="d.docx", fix="f")
    with pytest.raises(CorruptFileError, match=r"member b\.xml is missing"):
        read_member(package, "b.xml", limit=100, path="d.docx", fix="f")


def test_an_archive_with_a_name_falsely_flagged_utf8_opens_and_names_it(tmp_path):
    """zipfile refuses the whole archive; open_archive lists the member for the caller to refuse."""
    data = bytearray(_zip({"ok.txt": b"hi", "bad_XX.txt": b"ho"}).replace(b"bad_XX", b"bad_\xff\xfe"))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            struct.pack_into("<H", data, start + flags_at, struct.unpack_from("<H", data, start + flags_at)[0] | 0x800)
            start += 4
    (tmp_path / "a.zip").write_bytes(data)
    with pytest.raises(UnicodeDecodeError):
        zipfile.ZipFile(tmp_path / "a.zip")
    with open_archive(tmp_path / "a.zip") as (package, undecodable):
        assert list(undecodable.values()) == ["bad_\udcff\udcfe.txt"]
        assert read_member(package, "ok.txt", limit=10, path="a.zip", fix="f") == b"hi"
    assert (tmp_path / "a.zip").read_bytes() == data
