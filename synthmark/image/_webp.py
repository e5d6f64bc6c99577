"""WebP container: AIGC label in the RIFF ``XMP `` chunk (extended format; a simple VP8/VP8L
file is converted to VP8X by adding the header chunk); EXIF UserComment read and kept in step.
The image bitstream chunks are copied unchanged."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image

from synthmark.aigc import AIGCLabel
from synthmark.aisource import MetadataField
from synthmark.errors import CorruptFileError
from synthmark.image._container import Carrier, exif_carriers, exif_fields, merged_xmp, sync_exif, xmp_carriers

_XMP_FLAG, _EXIF_FLAG, _ALPHA_FLAG, _ICC_FLAG = 0x04, 0x08, 0x10, 0x20


@dataclass(frozen=True)
class Chunk:
    fourcc: bytes
    data: bytes

    def encode(self) -> bytes:
        pad = b"\0" if len(self.data) % 2 else b""
        return self.fourcc + struct.pack("<I", len(self.data)) + self.data + pad


def split(data: bytes, *, path: str | None = None) -> list[Chunk]:
    """The RIFF chunks of a WebP file; raises :class:`CorruptFileError` when malformed."""

    def corrupt(what: str) -> CorruptFileError:
        return CorruptFileError(f"WebP {what}", path=path, fix="re-export the image from its source")

    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise corrupt("RIFF header is missing")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size
    if end > len(data):
        raise corrupt(f"is truncated ({len(data)} of {end} bytes)")
    chunks: list[Chunk] = []
    pos = 12
    while pos < end:
        if pos + 8 > end:
            raise corrupt("has a truncated chunk header")
        fourcc, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if pos + 8 + size > end:
            raise corrupt(f"is truncated inside chunk {fourcc!r}")
        chunks.append(Chunk(fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    if not chunks or chunks[0].fourcc not in (b"VP8 ", b"VP8L", b"VP8X"):
        raise corrupt("has no VP8/VP8L/VP8X chunk first")
    if not any(c.fourcc in (b"VP8 ", b"VP8L", b"ANMF") for c in chunks):
        raise corrupt("has no image data")
    return chunks


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the RIFF structure is sound."""
    split(data, path=path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every AIGC carrier: the ``XMP `` chunk, then the EXIF UserComment."""
    carriers: list[Carrier] = []
    for chunk in split(data, path=path):
        if chunk.fourcc == b"XMP ":
            carriers += xmp_carriers(chunk.data, path=path)
        elif chunk.fourcc == b"EXIF":
            tiff = chunk.data[6:] if chunk.data.startswith(b"Exif\0\0") else chunk.data
            carriers += exif_carriers(tiff)
    return carriers


def read_fields(data: bytes, *, path: str | None = None) -> list[MetadataField]:
    """The EXIF chunk's fields (the XMP chunk is read by the XMP scan)."""
    fields: list[MetadataField] = []
    for chunk in split(data, path=path):
        if chunk.fourcc == b"EXIF":
            fields += exif_fields(chunk.data[6:] if chunk.data.startswith(b"Exif\0\0") else chunk.data)
    return fields


def _canvas(first: Chunk, *, path: str | None) -> tuple[int, int, bool]:
    """Width, height and alpha of a simple-format bitstream chunk."""
    data = first.data
    if first.fourcc == b"VP8 " and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack_from("<HH", data, 6)
        return width & 0x3FFF, height & 0x3FFF, False
    if first.fourcc == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        (bits,) = struct.unpack_from("<I", data, 1)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    raise CorruptFileError("WebP bitstream header is malformed", path=path, fix="re-export the image")


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one AIGC label in the ``XMP `` chunk, in extended (VP8X) format."""
    chunks = split(data, path=path)
    if chunks[0].fourcc != b"VP8X":
        width, height, alpha = _canvas(chunks[0], path=path)
        if not (0 < width <= 1 << 24 and 0 < height <= 1 << 24):
            raise CorruptFileError(f"WebP bitstream declares a {width}x{height} canvas", path=path, fix="re-export it")
        flags = _ALPHA_FLAG if alpha else 0
        header = struct.pack("<B3x", flags) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, Chunk(b"VP8X", header))
    xmp_chunks = [c for c in chunks if c.fourcc == b"XMP "]
    packet = merged_xmp(xmp_chunks[0].data if xmp_chunks else None, label, path=path)
    out: list[Chunk] = []
    for chunk in chunks:
        if chunk.fourcc == b"VP8X":
            chunk = Chunk(b"VP8X", bytes([chunk.data[0] | _XMP_FLAG]) + chunk.data[1:])
        elif chunk.fourcc == b"EXIF":
            exif_header = b"Exif\0\0" if chunk.data.startswith(b"Exif\0\0") else b""
            chunk = Chunk(b"EXIF", exif_header + sync_exif(chunk.data[len(exif_header) :], label))
        elif chunk.fourcc == b"XMP ":
            continue
        out.append(chunk)
    out.append(Chunk(b"XMP ", packet))
    body = b"WEBP" + b"".join(c.encode() for c in out)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def reencode(original: bytes, image: Image.Image, *, path: str | None = None) -> bytes:
    """Encode ``image`` as WebP (lossless if the original was, else quality 90), carrying over
    the original's ICC profile, EXIF and XMP chunks."""
    chunks = {c.fourcc: c.data for c in split(original, path=path)}
    options: dict[str, object] = {"lossless": True} if b"VP8L" in chunks else {"quality": 90}
    for fourcc, key in ((b"ICCP", "icc_profile"), (b"EXIF", "exif"), (b"XMP ", "xmp")):
        if fourcc in chunks:
            options[key] = chunks[fourcc]
    buf = io.BytesIO()
    image.save(buf, "WEBP", **options)
    return buf.getvalue()
