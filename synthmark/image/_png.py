"""PNG container: AIGC label in XMP (iTXt ``XML:com.adobe.xmp``); ``tEXt AIGC`` and the eXIf
UserComment read and kept in step. Every chunk's CRC is checked; pixel chunks are never touched."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from synthmark.aigc import AIGCLabel
from synthmark.aisource import MetadataField
from synthmark.errors import CorruptFileError, MetadataError
from synthmark.image._container import Carrier, exif_carriers, exif_fields, merged_xmp, sync_exif, xmp_carriers

SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_KEYWORD = b"XML:com.adobe.xmp"
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
#: Largest decompressed text chunk read (bytes); bigger ones are reported, not inflated.
MAX_TEXT_BYTES = 16 << 20
# Chunks that describe the image rather than encode it, carried over when pixels are re-encoded.
_METADATA_TYPES = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"pHYs", b"tIME"}


@dataclass(frozen=True)
class Chunk:
    type: bytes
    data: bytes

    def encode(self) -> bytes:
        crc = zlib.crc32(self.type + self.data) & 0xFFFFFFFF
        return struct.pack(">I", len(self.data)) + self.type + self.data + struct.pack(">I", crc)


def split(data: bytes, *, path: str | None = None, strict: bool = True) -> list[Chunk]:
    """All chunks, CRC-checked, ending with IEND; raises :class:`CorruptFileError` otherwise.

    ``strict=False`` (reading metadata from a damaged file) skips the CRC checks and returns the
    chunks before a truncation instead of raising; a missing signature still raises.
    """

    def corrupt(what: str) -> CorruptFileError:
        return CorruptFileError(f"PNG {what}", path=path, fix="re-export the image from its source")

    if not data.startswith(SIGNATURE):
        raise corrupt("signature is missing")
    chunks: list[Chunk] = []
    pos = len(SIGNATURE)
    while True:
        if pos + 12 > len(data):
            if not strict:
                return chunks
            raise corrupt("is truncated (no IEND chunk)")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            if not strict:
                return chunks
            raise corrupt(f"is truncated inside chunk {kind!r}")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if strict and zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise corrupt(f"chunk {kind.decode('latin-1')!r} at byte {pos} fails its CRC")
        chunks.append(Chunk(kind, body))
        pos = end
        if kind == b"IEND":
            break
    if not chunks or chunks[0].type != b"IHDR":
        raise corrupt("does not start with IHDR")
    if not any(c.type == b"IDAT" for c in chunks):
        raise corrupt("has no image data (IDAT)")
    return chunks


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the PNG structure and CRCs are sound."""
    split(data, path=path)


def _inflate(data: bytes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_TEXT_BYTES)
    except zlib.error:
        return None
    return None if inflater.unconsumed_tail else out


def text_chunk(chunk: Chunk) -> tuple[str, str | None]:
    """(keyword, text) of a tEXt/zTXt/iTXt chunk; text is None when it cannot be decoded."""
    keyword, _, rest = chunk.data.partition(b"\0")
    name = keyword.decode("latin-1")
    if chunk.type == b"tEXt":
        return name, rest.decode("latin-1")
    if chunk.type == b"zTXt":
        raw = _inflate(rest[1:])
        return name, None if raw is None else raw.decode("latin-1")
    if len(rest) < 2:
        return name, None
    compressed, body = rest[0], rest[2:]
    _lang, _, body = body.partition(b"\0")
    _translated, _, body = body.partition(b"\0")
    raw = _inflate(body) if compressed else body
    return name, None if raw is None else raw.decode("utf-8", errors="replace")


def _is_aigc_text(chunk: Chunk) -> bool:
    return chunk.type in _TEXT_TYPES and "AIGC" in chunk.data.partition(b"\0")[0].decode("latin-1")


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every AIGC carrier: XMP iTXt, text chunks keyed ``AIGC``, the eXIf UserComment."""
    carriers: list[Carrier] = []
    for chunk in split(data, path=path):
        if chunk.type in _TEXT_TYPES:
            keyword, text = text_chunk(chunk)
            if keyword == XMP_KEYWORD.decode():
                if text is None:
                    carriers.append(Carrier("xmp", "", "XMP chunk could not be decompressed"))
                else:
                    carriers += xmp_carriers(text.encode("utf-8"), path=path)
            elif _is_aigc_text(chunk):
                carriers.append(
                    Carrier("png-text", text or "", None if text is not None else "text chunk could not be decoded")
                )
        elif chunk.type == b"eXIf":
            carriers += exif_carriers(chunk.data)
    return carriers


def read_fields(data: bytes, *, path: str | None = None) -> list[MetadataField]:
    """The text chunks (other than XMP and AIGC) and EXIF fields, read leniently (CRCs not
    checked): what generators such as Stable Diffusion WebUI and ComfyUI write."""
    fields: list[MetadataField] = []
    for chunk in split(data, path=path, strict=False):
        if chunk.type in _TEXT_TYPES and not _is_aigc_text(chunk):
            keyword, text = text_chunk(chunk)
            if keyword != XMP_KEYWORD.decode() and text is not None:
                fields.append(MetadataField("png-text", keyword, text))
        elif chunk.type == b"eXIf":
            fields += exif_fields(chunk.data)
    return fields


def _xmp_chunk(packet: bytes) -> Chunk:
    return Chunk(b"iTXt", XMP_KEYWORD + b"\0\0\0\0\0" + packet)


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one AIGC label (XMP iTXt; existing AIGC text chunks rewritten to the
    same label); IHDR, PLTE, IDAT and every other chunk unchanged."""
    chunks = split(data, path=path)
    xmp_at = [i for i, c in enumerate(chunks) if c.type in _TEXT_TYPES and text_chunk(c)[0] == XMP_KEYWORD.decode()]
    if len(xmp_at) > 1:
        raise MetadataError(
            f"PNG has {len(xmp_at)} XMP chunks, where one is allowed", path=path, fix="merge them with an XMP editor"
        )
    old_text = text_chunk(chunks[xmp_at[0]])[1] if xmp_at else None
    if xmp_at and old_text is None:
        raise MetadataError("PNG XMP chunk cannot be decompressed", path=path, fix="repair the XMP chunk")
    packet = merged_xmp(None if old_text is None else old_text.encode("utf-8"), label, path=path)
    out: list[Chunk] = []
    for i, chunk in enumerate(chunks):
        if xmp_at and i == xmp_at[0]:
            out.append(_xmp_chunk(packet))
        elif _is_aigc_text(chunk):
            # The image guide's Annex B writes the wrapped form in tEXt AIGC.
            out.append(Chunk(b"tEXt", b"AIGC\0" + label.to_json(wrapped=True, ascii_only=True).encode("ascii")))
        elif chunk.type == b"eXIf":
            out.append(Chunk(b"eXIf", sync_exif(chunk.data, label)))
        else:
            out.append(chunk)
    if not xmp_at:
        first_idat = next(i for i, c in enumerate(out) if c.type == b"IDAT")
        out.insert(first_idat, _xmp_chunk(packet))
    return SIGNATURE + b"".join(c.encode() for c in out)


def is_deep_color(data: bytes) -> bool:
    """True for 16-bit RGB/RGBA PNGs, which Pillow would reduce to 8 bits."""
    bit_depth, color_type = data[24], data[25]
    return bit_depth == 16 and color_type in (2, 6)


def reencode(original: bytes, image: Image.Image | np.ndarray, *, path: str | None = None) -> bytes:
    """Encode ``image`` (PIL image, or a uint16 BGR(A) array for deep-colour PNGs) as PNG,
    carrying over ``original``'s metadata chunks (text, XMP, EXIF, ICC, gamma, pHYs, tIME)."""
    if isinstance(image, np.ndarray):
        import cv2

        ok, encoded = cv2.imencode(".png", image)
        if not ok:  # pragma: no cover - OpenCV fails only on unsupported arrays
            raise CorruptFileError("OpenCV could not encode the PNG", path=path, fix="report this bug")
        fresh = split(encoded.tobytes(), path=path)
    else:
        buf = io.BytesIO()
        image.save(buf, "PNG")
        fresh = split(buf.getvalue(), path=path)
    kept = [c for c in split(original, path=path) if c.type in _METADATA_TYPES]
    coding = [c for c in fresh if c.type not in _METADATA_TYPES]
    return SIGNATURE + b"".join(c.encode() for c in coding[:1] + kept + coding[1:])
