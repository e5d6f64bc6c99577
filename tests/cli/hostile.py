"""Hostile files for ``test_hostile.py``, made on the fly from the fixtures (nothing big is committed).

Each :class:`Case` names a file and how to make its bytes; :data:`CASES` is the catalogue. The
bytes helpers build containers by hand (PNG chunks, JPEG segments, RIFF chunks, MP4 boxes, EBML
elements, ZIP members) so that a file can lie in exactly one place: a length, a CRC, a size, a
nesting depth. Zip bombs are streamed: :func:`deflate_bomb` repeats one byte-aligned deflate block
(a full flush resets the compressor, so every block of the same input compresses alike) and
computes the CRC-32 of gigabytes with :func:`crc32_combine`, never holding them in memory.
"""

from __future__ import annotations

import functools
import html
import io
import random
import struct
import tarfile
import wave
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
PROVIDER = "001191110102MACQD9K64010000"

#: What verify may answer on a hostile file: no label (1) or an error (2); never 3.
VERIFY = frozenset({1, 2})
#: What label may answer: an error (2), or 0 where the file is actually labelable.
LABEL = frozenset({0, 2})
#: Files that must be refused.
REFUSE = frozenset({2})

GIB = 1 << 30
#: The AIGC value nested 100,000 levels (~900 KB), and a smaller one for 64 KiB carriers.
NESTED = '{"AIGC":' * 100_000 + '"1"' + "}" * 100_000
NESTED_64K = '{"AIGC":' * 6_000 + '"1"' + "}" * 6_000


def fixture(rel: str) -> bytes:
    return (FIXTURES / rel).read_bytes()


def seeded_bytes(n: int, seed: int = 14) -> bytes:
    return random.Random(seed).randbytes(n)


# ----------------------------------------------------------------------------- PNG, JPEG, XMP


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with(*chunks: bytes, base: str = "images/flat.png") -> bytes:
    """The fixture PNG with ``chunks`` right after IHDR."""
    data = fixture(base)
    return data[:33] + b"".join(chunks) + data[33:]


def xmp_packet(aigc: str = "", body: str = "") -> str:
    description = (
        '<rdf:Description rdf:about="" xmlns:TC260="http://www.tc260.org.cn/ns/AIGC/1.0/">'
        + (f"<TC260:AIGC>{html.escape(aigc, quote=False)}</TC260:AIGC>" if aigc else "")
        + body
        + "</rdf:Description>"
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{description}</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )


def png_xmp(packet: str) -> bytes:
    return png_with(png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + packet.encode("utf-8")))


def jpeg_segment(marker: int, payload: bytes, *, length: int | None = None) -> bytes:
    size = len(payload) + 2 if length is None else length
    return bytes([0xFF, marker]) + struct.pack(">H", size) + payload


def jpeg_with(*segments: bytes, base: str = "images/small256.jpg") -> bytes:
    """The fixture JPEG with ``segments`` right after SOI."""
    data = fixture(base)
    return data[:2] + b"".join(segments) + data[2:]


def jpeg_xmp(packet: str) -> bytes:
    payload = b"http://ns.adobe.com/xap/1.0/\0" + packet.encode("utf-8")
    assert len(payload) <= 65533, len(payload)
    return jpeg_with(jpeg_segment(0xE1, payload))


def billion_laughs(root: str) -> str:
    """An XML prolog declaring ten levels of ten-fold entities (10^9 'lol's), used in ``root``."""
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 11)
    )
    return f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]>{root}'


# ----------------------------------------------------------------------------- audio


@functools.cache
def speech(seconds: float = 2.0) -> tuple[np.ndarray, int]:
    from synthmark.audio._io import decode_audio

    samples, info = decode_audio(FIXTURES / "audio" / "speech_en_female.flac")
    return samples[: int(info.sample_rate * seconds)], info.sample_rate


@functools.cache
def audio(container: str) -> bytes:
    """Two seconds of the speech fixture as ``container`` (wav, flac, mp3, m4a, ogg)."""
    from synthmark.audio._io import encode_as

    codec = {"wav": "pcm_s16le", "flac": "flac", "mp3": "libmp3lame", "m4a": "aac", "ogg": "libopus"}[container]
    samples, rate = speech()
    if container == "ogg":  # Opus takes 48 kHz, not the fixture's 44.1 kHz
        t = np.arange(len(samples) * 48000 // rate) * rate / 48000
        samples, rate = np.interp(t, np.arange(len(samples)), samples[:, 0])[:, None].astype(np.float32), 48000
    return encode_as(samples, rate, container, codec)


def riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def small_wav(*extra: bytes) -> bytes:
    """A short 16-bit stereo WAV with ``extra`` chunks before ``data``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        t = np.arange(16000) / 16000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
        handle.writeframes(np.repeat(tone[:, None], 2, axis=1).tobytes())
    data = buffer.getvalue()
    at = data.index(b"data")
    body = data[12:at] + b"".join(extra) + data[at:]
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WAVE" + body


def wav_fmt(**fields: int) -> bytes:
    """:func:`small_wav` with fields of its ``fmt`` chunk replaced (tag, channels, rate, byte_rate,
    block_align, bits)."""
    data = bytearray(small_wav())
    at = data.index(b"fmt ") + 8
    offsets = {"tag": (0, "<H"), "channels": (2, "<H"), "rate": (4, "<I"), "byte_rate": (8, "<I")}
    offsets |= {"block_align": (12, "<H"), "bits": (14, "<H")}
    for name, value in fields.items():
        offset, fmt = offsets[name]
        struct.pack_into(fmt, data, at + offset, value)
    return bytes(data)


def mutagen_tagged(container: str, value: str) -> bytes:
    """:func:`audio` with an AIGC tag holding ``value`` (FLAC Vorbis comment, MP3 ID3 TXXX)."""
    import tempfile

    import mutagen.flac
    import mutagen.id3

    with tempfile.NamedTemporaryFile(suffix=f".{container}") as handle:
        handle.write(audio(container))
        handle.flush()
        if container == "flac":
            tagged = mutagen.flac.FLAC(handle.name)
            tagged["AIGC"] = value
            tagged.save()
        else:
            tags = mutagen.id3.ID3()
            tags.add(mutagen.id3.TXXX(encoding=3, desc="AIGC", text=[value]))
            tags.save(handle.name)
        return Path(handle.name).read_bytes()


# ----------------------------------------------------------------------------- video


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, size) of each top-level box."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        out.append((kind, pos, size))
        pos += size
    return out


def mp4_size_patched(data: bytes, kind: bytes, header: bytes) -> bytes:
    """``data`` with the 8-byte header of its top-level ``kind`` box replaced by ``header``
    (its payload follows unchanged)."""
    _, start, _ = next(b for b in mp4_boxes(data) if b[0] == kind)
    return data[:start] + header + data[start + 8 :]


def mp4_deep(data: bytes, depth: int = 100_000) -> bytes:
    """``data`` with a ``udta`` tree nested ``depth`` levels deep appended inside ``moov``."""
    inner = b"".join(struct.pack(">I4s", 8 * (depth - level), b"udta") for level in range(depth))
    _, start, size = next(b for b in mp4_boxes(data) if b[0] == b"moov")
    moov = box(b"moov", data[start + 8 : start + size] + inner)
    return data[:start] + moov + data[start + size :]


def mp4_mdat_garbage(data: bytes) -> bytes:
    """``data`` with the coded frames replaced by random bytes (every box intact): only the
    decoder can tell, deep in the video pipeline."""
    _, start, size = next(b for b in mp4_boxes(data) if b[0] == b"mdat")
    return data[: start + 8] + seeded_bytes(size - 8) + data[start + size :]


def ebml_size(n: int) -> bytes:
    return b"\x01" + n.to_bytes(7, "big")  # 8-byte vint


def mkv_deep(data: bytes, depth: int = 100_000) -> bytes:
    """The fixture's EBML header, then a Segment of unknown size holding Tags > Tag > SimpleTag
    nested ``depth`` levels (SimpleTag may nest, legally; a recursive reader overflows)."""
    header_size = 4 + 1 + (data[4] & 0x7F)  # EBML ID and a 1-byte size, as FFmpeg writes it
    assert data[4] & 0x80, "expected a 1-byte EBML header size"
    name = b"\x45\xa3" + ebml_size(4) + b"AIGC"  # TagName, in the innermost SimpleTag
    levels = (b"\x67\xc8" + ebml_size(10 * (depth - 1 - level) + len(name)) for level in range(depth))
    inner = b"".join(levels) + name
    tags = b"\x73\x73" + ebml_size(len(inner)) + inner
    tags = b"\x12\x54\xc3\x67" + ebml_size(len(tags)) + tags
    return data[:header_size] + b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff" + tags


@functools.cache
def clip(name: str, folder: str) -> bytes:
    """A 2-second 320x180 version of the video fixture ``name`` (fixtures/clips.py)."""
    from fixtures.clips import make_clip

    return make_clip(name, Path(folder), seconds=2.0).read_bytes()


# ----------------------------------------------------------------------------- ZIP


@dataclass
class Member:
    """One ZIP member written by :func:`write_zip`. ``data`` is deflated unless ``raw`` (an
    already deflated stream) is given; ``crc`` and ``size`` override what the headers declare."""

    name: str | bytes
    data: bytes = b""
    raw: bytes | None = None
    crc: int | None = None
    size: int | None = None
    utf8: bool = False

    def encoded(self) -> bytes:
        return self.name if isinstance(self.name, bytes) else self.name.encode("utf-8")


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def write_zip(members: list[Member]) -> bytes:
    """A ZIP archive (ZIP64 extra fields where a size passes 4 GiB), headers as the members say."""
    out, central = io.BytesIO(), []
    for m in members:
        name, raw = m.encoded(), deflate(m.data) if m.raw is None else m.raw
        crc = zlib.crc32(m.data) if m.crc is None else m.crc
        size = len(m.data) if m.size is None else m.size
        flags = 0x800 if m.utf8 else 0
        zip64 = size >= 0xFFFFFFFF or len(raw) >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, size, len(raw)) if zip64 else b""
        sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(raw), size)
        version = 45 if zip64 else 20
        offset = out.tell()
        out.write(
            struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", version, flags, 8, 0, 0x21, crc, *sizes, len(name), len(extra))
        )
        out.write(name + extra + raw)
        fixed = (
            0x0314,
            version,
            flags,
            8,
            0,
            0x21,
            crc,
            *sizes,
            len(name),
            len(extra),
            0,
            0,
            0,
            0o100644 << 16,
            offset,
        )
        central.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", *fixed) + name + extra)
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def zip_members(data: bytes) -> list[Member]:
    """Every member of a ZIP file, in order, as :class:`Member` (to be rewritten)."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [Member(info.filename, package.read(info)) for info in package.infolist()]


def replace_member(members: list[Member], name: str, **changes: object) -> list[Member]:
    assert any(m.name == name for m in members), name
    return [Member(**{**m.__dict__, **changes}) if m.name == name else m for m in members]


def broken_deflate(data: bytes) -> bytes:
    """A deflate stream of ``data`` whose first half inflates, then a block of reserved type 3."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data[: len(data) // 2]) + packer.flush(zlib.Z_FULL_FLUSH) + b"\xff" * 64


def _gf2_times(matrix: list[int], vector: int) -> int:
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A + B from crc(A), crc(B) and len(B) (zlib's crc32_combine, in Python)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << i for i in range(31)]  # the operator for one zero bit
    even = [_gf2_times(odd, odd[i]) for i in range(32)]  # two zero bits
    odd = [_gf2_times(even, even[i]) for i in range(32)]  # four zero bits
    while True:
        even = [_gf2_times(odd, odd[i]) for i in range(32)]  # one zero byte, then doubled
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = [_gf2_times(even, even[i]) for i in range(32)]
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


@functools.cache
def deflate_bomb(total: int, fill: bytes = b" ", prefix: bytes = b"", suffix: bytes = b"") -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, inflated size) of ``prefix + fill * n + suffix``, about
    ``total`` bytes inflated, built from one repeated 1 MiB block (~1 KB compressed each)."""
    block = fill * ((1 << 20) // len(fill))
    count = max(1, total // len(block))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    step = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH) == step, "blocks must compress alike"
    tail = packer.compress(suffix) + packer.flush(zlib.Z_FINISH)
    crc, run, run_len, n = zlib.crc32(prefix), zlib.crc32(block), len(block), count
    while n:  # crc of block * count by doubling
        if n & 1:
            crc = crc32_combine(crc, run, run_len)
        run, run_len, n = crc32_combine(run, run, run_len), run_len * 2, n >> 1
    crc = crc32_combine(crc, zlib.crc32(suffix), len(suffix))
    return head + step * count + tail, crc, len(prefix) + len(block) * count + len(suffix)


# ----------------------------------------------------------------------------- Office


@functools.cache
def labeled(rel: str) -> bytes:
    """The fixture with a valid metadata label only (no visible label)."""
    from synthmark.aigc import AIGCLabel
    from synthmark.labeling import label_bytes

    data, _ = label_bytes(fixture(rel), AIGCLabel.new(PROVIDER, produce_id="hostile-1"), visible=None)
    return data


def office_custom(custom_xml: str | None = None, **member: object) -> bytes:
    """The labeled sample DOCX with ``docProps/custom.xml`` replaced by ``custom_xml``, or its
    member fields replaced (``raw``, ``crc``, ``size``: a bomb)."""
    members = zip_members(labeled("text/sample.docx"))
    if custom_xml is not None:
        member = {"data": custom_xml.encode("utf-8"), **member}
    return write_zip(replace_member(members, "docProps/custom.xml", **member))


_CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
)


def custom_property(value: str) -> str:
    return (
        f'{_CUSTOM}<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="2" name="AIGC">'
        f"<vt:lpwstr>{value}</vt:lpwstr></property></Properties>"
    )


def office_damaged(rel: str, part: str, how: str) -> bytes:
    """The Office fixture with one member ``part`` damaged: a wrong CRC, or a broken deflate stream."""
    members = zip_members(fixture(rel))
    data = next(m.data for m in members if m.name == part)
    if how == "crc":
        return write_zip(replace_member(members, part, crc=zlib.crc32(data) ^ 0xFFFFFFFF))
    return write_zip(replace_member(members, part, raw=broken_deflate(data)))


def office_bomb(*, lying: bool) -> bytes:
    """DOCX whose custom.xml inflates to ~5 GB of spaces (~5 MB compressed); ``lying``: both
    headers declare 1 KB."""
    raw, crc, size = deflate_bomb(5 * GIB, b" ", _CUSTOM.encode(), b"</Properties>")
    return office_custom(raw=raw, crc=crc, size=1024 if lying else size)


# ----------------------------------------------------------------------------- archives for batch


#: Member name that is not valid UTF-8.
BAD_NAME = b"bad-\xff\xfe.png"


def zip_archive(extra: list[Member]) -> bytes:
    good = [Member("good.png", fixture("images/flat.png")), Member("sub/good2.jpg", fixture("images/small256.jpg"))]
    return write_zip([good[0], *extra, good[1]])


def tar_archive(extra: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    members = [("good.png", fixture("images/flat.png")), *extra, ("sub/good2.jpg", fixture("images/small256.jpg"))]
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT, errors="surrogateescape") as handle:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_bomb_member(*, lying: bool) -> Member:
    raw, crc, size = deflate_bomb(5 * GIB, b"\0")
    return Member("bomb.png", raw=raw, crc=crc, size=1024 if lying else size)


def _zip_with(member: Member) -> Callable[[], bytes]:
    return lambda: zip_archive([member])


def _tar_with(name: str) -> Callable[[], bytes]:
    return lambda: tar_archive([(name, fixture("images/gray.png"))])


#: Archive name -> (its bytes, what names each member that must fail, in the error lines).
ARCHIVES: dict[str, tuple[Callable[[], bytes], tuple[str, ...]]] = {
    "zip-name-not-utf8.zip": (_zip_with(Member(BAD_NAME, fixture("images/gray.png"), utf8=True)), ("bad-",)),
    "tar-name-not-utf8.tar": (_tar_with(BAD_NAME.decode("utf-8", "surrogateescape")), ("bad-",)),
    "zip-path-traversal.zip": (_zip_with(Member("../../escape.png", fixture("images/gray.png"))), ("escape",)),
    "tar-path-traversal.tar": (_tar_with("../../escape.png"), ("escape",)),
    "zip-bomb-lying-size.zip": (lambda: zip_archive([zip_bomb_member(lying=True)]), ("bomb.png",)),
    "zip-bomb-5gb.zip": (lambda: zip_archive([zip_bomb_member(lying=False)]), ("bomb.png",)),
}


# ----------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Case:
    """A hostile file: ``name`` is its file name (the extension picks the format), ``make`` returns
    its bytes given a scratch folder, ``verify``/``label`` the exit codes allowed."""

    id: str
    name: str
    make: Callable[[Path], bytes]
    verify: frozenset[int] = VERIFY
    label: frozenset[int] = LABEL

    def __str__(self) -> str:
        return self.id


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _bytes(data: Callable[[], bytes]) -> Callable[[Path], bytes]:
    return lambda _: data()


def _clip(name: str, change: Callable[[bytes], bytes] = lambda data: data) -> Callable[[Path], bytes]:
    return lambda folder: change(clip(name, str(folder)))


def _magic(head: bytes, n: int = 64 << 10) -> Callable[[Path], bytes]:
    return lambda _: head + seeded_bytes(n - len(head))


def _nested_md() -> bytes:
    return f"---\ntitle: Notes\nAIGC: {NESTED}\n---\n\n# Notes\n\nSome text.\n".encode()


def _nested_html() -> bytes:
    head = f'<meta charset="utf-8">\n<meta name="AIGC" content="{html.escape(NESTED)}">\n<title>x</title>'
    return f"<!DOCTYPE html>\n<html><head>{head}</head><body><p>Some text.</p></body></html>\n".encode()


def _huge_png() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\0" * 100_000)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def _laughs_xmp() -> str:
    return billion_laughs(xmp_packet("&lol10;").replace("&amp;lol10;", "&lol10;"))


def _laughs_custom() -> bytes:
    xml = custom_property("&lol10;")
    return office_custom(billion_laughs(xml[xml.index("<Properties") :]))


def _moov_header(header: bytes) -> Callable[[bytes], bytes]:
    return lambda data: mp4_size_patched(data, b"moov", header)


#: Every fixture format, cut at 50%: (file name, its bytes, label codes). Audio is two seconds of
#: the speech fixture, video the 2-second clips of fixtures/clips.py (the full fixtures only
#: make the runs longer). A cut image or package must be refused; a cut HTML or Markdown file is
#: still a document, and decoders may accept cut audio and video: labelable.
_FORMATS: list[tuple[str, Callable[[Path], bytes], frozenset[int]]] = [
    ("landscape.jpg", _bytes(lambda: fixture("images/landscape.jpg")), REFUSE),
    ("gray.png", _bytes(lambda: fixture("images/gray.png")), REFUSE),
    ("photo.webp", _bytes(lambda: fixture("images/photo.webp")), REFUSE),
    *((f"speech.{ext}", _bytes(functools.partial(audio, ext)), LABEL) for ext in ("flac", "wav", "mp3", "m4a", "ogg")),
    *((name, _clip(name), LABEL) for name in ("kenburns_meadow.mp4", "kenburns_clock.mkv", "kenburns_bird.webm")),
    ("rotated_dogs.mov", _clip("rotated_dogs.mov"), LABEL),
    *((f"sample.{ext}", _bytes(functools.partial(fixture, f"text/sample.{ext}")), REFUSE) for ext in ("docx", "xlsx")),
    *((f"sample.{ext}", _bytes(functools.partial(fixture, f"text/sample.{ext}")), REFUSE) for ext in ("pptx", "pdf")),
    *((f"sample.{ext}", _bytes(functools.partial(fixture, f"text/sample.{ext}")), LABEL) for ext in ("html", "md")),
]

_OFFICE_DAMAGE = [
    ("text/sample.docx", "docProps/thumbnail.jpeg", "crc"),
    ("text/sample.docx", "word/styles.xml", "deflate"),
    ("text/sample.xlsx", "xl/styles.xml", "crc"),
    ("text/sample.pptx", "ppt/printerSettings/printerSettings1.bin", "deflate"),
]

CASES: list[Case] = [
    # 2. an AIGC value nested 100,000 levels in every carrier: a label problem, never a crash
    Case(
        "nested-png-text", "nested-text.png", _bytes(lambda: png_with(png_chunk(b"tEXt", b"AIGC\0" + NESTED.encode())))
    ),
    Case("nested-png-xmp", "nested-xmp.png", _bytes(lambda: png_xmp(xmp_packet(NESTED)))),
    Case("nested-jpeg-xmp", "nested-xmp.jpg", _bytes(lambda: jpeg_xmp(xmp_packet(NESTED_64K)))),
    Case("nested-wav-chunk", "nested.wav", _bytes(lambda: small_wav(riff_chunk(b"AIGC", NESTED.encode())))),
    Case("nested-flac-comment", "nested.flac", _bytes(lambda: mutagen_tagged("flac", NESTED))),
    Case("nested-mp3-txxx", "nested.mp3", _bytes(lambda: mutagen_tagged("mp3", NESTED))),
    Case("nested-md-front-matter", "nested.md", _bytes(_nested_md)),
    Case("nested-html-meta", "nested.html", _bytes(_nested_html)),
    Case("nested-docx-custom", "nested.docx", _bytes(lambda: office_custom(custom_property(html.escape(NESTED))))),
    # 3. Office packages with one damaged member in a part synthmark does not edit
    *(
        Case(
            f"{rel[-4:]}-{how}-{part.rsplit('/', 1)[-1]}",
            f"damaged-{how}.{rel[-4:]}",
            _bytes(functools.partial(office_damaged, rel, part, how)),
        )
        for rel, part, how in _OFFICE_DAMAGE
    ),
    # 4. WAV fmt chunks that make no sense (block align 0 is recomputed by decoders: labelable)
    Case("wav-bits-0", "bits0.wav", _bytes(lambda: wav_fmt(bits=0)), label=REFUSE),
    Case("wav-channels-0", "channels0.wav", _bytes(lambda: wav_fmt(channels=0)), label=REFUSE),
    Case("wav-rate-0", "rate0.wav", _bytes(lambda: wav_fmt(rate=0, byte_rate=0)), label=REFUSE),
    Case("wav-block-align-0", "align0.wav", _bytes(lambda: wav_fmt(block_align=0))),
    Case("wav-channels-65535", "channels65535.wav", _bytes(lambda: wav_fmt(channels=65535)), label=REFUSE),
    # 6. zip bombs: custom.xml inflating to 5 GB, with honest or lying (1 KB) headers
    Case("docx-bomb-5gb", "bomb.docx", _bytes(lambda: office_bomb(lying=False)), verify=REFUSE, label=REFUSE),
    Case(
        "docx-bomb-lying-size", "bomb-lying.docx", _bytes(lambda: office_bomb(lying=True)), verify=REFUSE, label=REFUSE
    ),
    # 9. a video only the decoder finds broken: the error names the user's file, not a temp copy
    Case("mp4-mdat-garbage", "garbage.mp4", _clip("kenburns_meadow.mp4", mp4_mdat_garbage), label=REFUSE),
    # relatives: every fixture format cut at 50%
    *(
        Case(f"truncated-{name}", f"truncated-{name}", lambda d, m=make: _half(m(d)), label=codes)
        for name, make, codes in _FORMATS
    ),
    # zero bytes; random bytes behind a valid magic number
    Case("empty-jpg", "empty.jpg", _bytes(lambda: b""), label=REFUSE),
    Case("empty-md", "empty.md", _bytes(lambda: b""), label=REFUSE),
    Case("random-jpg", "random.jpg", _magic(b"\xff\xd8\xff\xe0"), label=REFUSE),
    Case("random-png", "random.png", _magic(b"\x89PNG\r\n\x1a\n"), label=REFUSE),
    Case("random-webp", "random.webp", _magic(b"RIFF\x00\x00\x01\x00WEBPVP8 "), label=REFUSE),
    Case("random-wav", "random.wav", _magic(b"RIFF\xf8\xff\x00\x00WAVE"), label=REFUSE),
    Case("random-flac", "random.flac", _magic(b"fLaC"), label=REFUSE),
    Case("random-mp3", "random.mp3", _magic(b"ID3\x04\x00\x00\x00\x00\x00\x00")),
    Case("random-mp4", "random.mp4", _magic(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), label=REFUSE),
    Case("random-mkv", "random.mkv", _magic(b"\x1a\x45\xdf\xa3"), label=REFUSE),
    Case("random-pdf", "random.pdf", _magic(b"%PDF-1.7\n"), label=REFUSE),
    Case("random-docx", "random.docx", _magic(b"PK\x03\x04"), label=REFUSE),
    # lying sizes: PNG dimensions, a JPEG segment past the end, MP4 box sizes 0 / 1 (64-bit) / huge
    Case("png-ihdr-100000x100000", "huge.png", _bytes(_huge_png), label=REFUSE),
    Case(
        "jpeg-segment-past-end",
        "segment.jpg",
        _bytes(lambda: b"\xff\xd8" + jpeg_segment(0xE1, bytes(32), length=0xFFFF)),
        label=REFUSE,
    ),
    Case(
        "jpeg-app1-past-end-real",
        "segment-real.jpg",
        _bytes(lambda: jpeg_with(jpeg_segment(0xE1, b"Exif\0\0", length=0xFFFF))[:20_000]),
        label=REFUSE,
    ),
    # (moov size 0 = "to the end of the file": it then holds mdat too, which a reader may accept)
    Case("mp4-moov-size-0", "moov0.mp4", _clip("kenburns_meadow.mp4", _moov_header(b"\0\0\0\0moov"))),
    Case(
        "mp4-mdat-size-0",
        "mdat0.mp4",
        _clip("kenburns_meadow.mp4", lambda d: mp4_size_patched(d, b"mdat", b"\0\0\0\0mdat")),
    ),
    Case(
        "mp4-moov-size-1-huge",
        "moov1.mp4",
        _clip("kenburns_meadow.mp4", _moov_header(b"\0\0\0\x01moov\x7f" + b"\xff" * 7)),
        label=REFUSE,
    ),
    Case(
        "mp4-moov-size-huge",
        "moovhuge.mp4",
        _clip("kenburns_meadow.mp4", _moov_header(b"\xff\xff\xff\xf0moov")),
        label=REFUSE,
    ),
    # deep nesting: MP4 boxes, Matroska elements, XML in an XMP packet
    Case("mp4-deep-nesting", "deep.mp4", _clip("kenburns_meadow.mp4", mp4_deep), label=REFUSE),
    Case("mkv-deep-nesting", "deep.mkv", _clip("kenburns_clock.mkv", mkv_deep), label=REFUSE),
    Case("xmp-nested-10000", "xmlnest.png", _bytes(lambda: png_xmp(xmp_packet(body="<a>" * 10_000 + "</a>" * 10_000)))),
    Case(
        "xmp-nested-8000-jpeg", "xmlnest.jpg", _bytes(lambda: jpeg_xmp(xmp_packet(body="<a>" * 8_000 + "</a>" * 8_000)))
    ),
    # billion laughs (10^9 entity expansions) in XMP and in custom.xml
    Case("xmp-billion-laughs-png", "laughs.png", _bytes(lambda: png_xmp(_laughs_xmp()))),
    Case("xmp-billion-laughs-jpeg", "laughs.jpg", _bytes(lambda: jpeg_xmp(_laughs_xmp()))),
    Case("docx-custom-billion-laughs", "laughs.docx", _bytes(_laughs_custom), label=REFUSE),
]


def build(case: Case, folder: Path) -> Path:
    """Write the case's file into ``folder`` (intermediate clips go to a scratch subfolder)."""
    scratch = folder / ".scratch"
    scratch.mkdir(exist_ok=True)
    path = folder / case.name
    path.write_bytes(case.make(scratch))
    return path
