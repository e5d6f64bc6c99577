"""JPEG container: AIGC label in XMP (APP1), EXIF UserComment read and kept in step.

Only marker segments before the first SOS are parsed and rewritten; the scan data from SOS to
the end of the file is copied unchanged, so a metadata-only relabel leaves the entropy-coded
image data byte-identical.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image, JpegImagePlugin

from synthmark.aigc import AIGCLabel
from synthmark.aisource import MetadataField
from synthmark.errors import CorruptFileError, MetadataError, MetadataTooLargeError
from synthmark.image._container import Carrier, exif_carriers, exif_fields, merged_xmp, sync_exif, xmp_carriers

XMP_ID = b"http://ns.adobe.com/xap/1.0/\0"
EXIF_ID = b"Exif\0\0"
_APP1, _SOS, _EOI, _COM = 0xE1, 0xDA, 0xD9, 0xFE
_MAX_SEGMENT = 0xFFFF - 2  # payload bytes after the 2-byte length field


@dataclass(frozen=True)
class Segment:
    marker: int
    payload: bytes

    def encode(self) -> bytes:
        return struct.pack(">BBH", 0xFF, self.marker, len(self.payload) + 2) + self.payload

    @property
    def is_xmp(self) -> bool:
        return self.marker == _APP1 and self.payload.startswith(XMP_ID)

    @property
    def is_exif(self) -> bool:
        return self.marker == _APP1 and self.payload.startswith(EXIF_ID)


def split(data: bytes, *, path: str | None = None) -> tuple[list[Segment], bytes]:
    """Header segments (SOI excluded, up to but not including SOS) and the rest from SOS on.

    Raises :class:`CorruptFileError` when the structure is broken or the file is truncated.
    """

    def corrupt(what: str) -> CorruptFileError:
        return CorruptFileError(f"JPEG {what}", path=path, fix="re-export the image from its source")

    if not data.startswith(b"\xff\xd8"):
        raise corrupt("does not start with SOI")
    segments: list[Segment] = []
    pos = 2
    while True:
        if pos + 4 > len(data):
            raise corrupt("is truncated in its header")
        if data[pos] != 0xFF:
            raise corrupt(f"has garbage at byte {pos} where a marker belongs")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (_EOI, 0xD8) or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            raise corrupt(f"has marker 0x{marker:02X} before any image data")
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            raise corrupt("is truncated inside a header segment")
        if marker == _SOS:
            rest = data[pos:]
            if rest.rfind(b"\xff\xd9") < 4:
                raise corrupt("is truncated: the image data has no end marker")
            return segments, rest
        segments.append(Segment(marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the JPEG structure is sound."""
    split(data, path=path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every AIGC carrier: XMP APP1 segments, then the EXIF UserComment."""
    segments, _ = split(data, path=path)
    carriers: list[Carrier] = []
    for seg in segments:
        if seg.is_xmp:
            carriers += xmp_carriers(seg.payload[len(XMP_ID) :], path=path)
    for seg in segments:
        if seg.is_exif:
            carriers += exif_carriers(seg.payload[len(EXIF_ID) :])
    return carriers


def read_fields(data: bytes, *, path: str | None = None) -> list[MetadataField]:
    """EXIF fields and COM comments of the header, read even when the image data is damaged."""
    fields: list[MetadataField] = []
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (_SOS, _EOI):
        if data[pos + 1] == 0xFF:
            pos += 1
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        segment = Segment(data[pos + 1], data[pos + 4 : pos + 2 + length])
        if segment.is_exif:
            fields += exif_fields(segment.payload[len(EXIF_ID) :])
        elif segment.marker == _COM:
            fields.append(MetadataField("jpeg-comment", "Comment", segment.payload.decode("utf-8", "replace")))
        pos += 2 + max(length, 2)
    return fields


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one AIGC label, in the (merged) XMP packet; scan data untouched."""
    segments, rest = split(data, path=path)
    xmp_at = [i for i, seg in enumerate(segments) if seg.is_xmp]
    if len(xmp_at) > 1:
        raise MetadataError(
            f"JPEG has {len(xmp_at)} standard XMP segments, where one is allowed",
            path=path,
            fix="merge the XMP packets with an XMP editor",
        )
    old = segments[xmp_at[0]].payload[len(XMP_ID) :] if xmp_at else None
    payload = XMP_ID + merged_xmp(old, label, path=path)
    if len(payload) > _MAX_SEGMENT:
        raise MetadataTooLargeError(
            f"XMP packet would be {len(payload)} bytes, over JPEG's {_MAX_SEGMENT}-byte APP1 limit",
            path=path,
            fix="move large XMP properties to extended XMP with an XMP editor",
        )
    new = Segment(_APP1, payload)
    out = [
        Segment(s.marker, EXIF_ID + sync_exif(s.payload[len(EXIF_ID) :], label)) if s.is_exif else s for s in segments
    ]
    if xmp_at:
        out[xmp_at[0]] = new
    else:
        at = 0
        while at < len(out) and (out[at].marker == 0xE0 or out[at].is_exif):
            at += 1
        out.insert(at, new)
    for seg in out:
        if len(seg.payload) > _MAX_SEGMENT:
            raise MetadataTooLargeError("EXIF segment would exceed 64 KiB", path=path, fix="shorten the EXIF data")
    return b"\xff\xd8" + b"".join(seg.encode() for seg in out) + rest


def _is_metadata(seg: Segment) -> bool:
    """APP1-APP13, APP15 and COM: what describes the image rather than how it is coded."""
    return 0xE1 <= seg.marker <= 0xED or seg.marker in (0xEF, _COM)


def reencode(original: bytes, image: Image.Image, source: Image.Image, *, path: str | None = None) -> bytes:
    """Encode ``image`` as JPEG with ``source``'s quantisation tables, subsampling and
    progressive flag, carrying over ``original``'s metadata segments (EXIF, XMP, ICC, IPTC, ...)."""
    buf = io.BytesIO()
    options: dict[str, object] = {"progressive": bool(source.info.get("progressive"))}
    if isinstance(source, JpegImagePlugin.JpegImageFile) and source.quantization:
        options["qtables"] = source.quantization
        sampling = JpegImagePlugin.get_sampling(source)
        if sampling != -1:
            options["subsampling"] = sampling
    else:
        options["quality"] = 92
    image.save(buf, "JPEG", **options)
    fresh, rest = split(buf.getvalue(), path=path)
    kept, _ = split(original, path=path)
    coding = [seg for seg in fresh if not _is_metadata(seg)]
    lead = [seg for seg in coding if seg.marker in (0xE0, 0xEE)]
    tail = [seg for seg in coding if seg.marker not in (0xE0, 0xEE)]
    segments = lead + [seg for seg in kept if _is_metadata(seg)] + tail
    return b"\xff\xd8" + b"".join(seg.encode() for seg in segments) + rest
