"""What the image container modules share: carriers from XMP and EXIF, and label merging."""

from __future__ import annotations

from synthmark import xmp
from synthmark.aigc import AIGCLabel
from synthmark.aisource import MetadataField
from synthmark.errors import CorruptFileError
from synthmark.image._exif import read_ascii_tags, read_user_comment, set_user_comment
from synthmark.metadata import Carrier

__all__ = ["Carrier", "decode_xmp", "exif_carriers", "exif_fields", "merged_xmp", "sync_exif", "xmp_carriers"]


def decode_xmp(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff")


def xmp_carriers(raw: bytes, *, path: str | None) -> list[Carrier]:
    """Carriers from an XMP packet's bytes; a malformed packet yields one carrier with a problem."""
    packet = decode_xmp(raw)
    try:
        found = xmp.find_labels(packet, path=path)
    except CorruptFileError as exc:
        if "AIGC" in packet:
            return [Carrier("xmp", "", problem=exc.message)]
        return []
    carriers = []
    for item in found:
        problem = None
        if item.namespace != xmp.TC260_NS:
            problem = f"AIGC property in namespace {item.namespace or '(none)'!r}, not the TC260 one"
        elif item.form == "attribute":
            problem = "AIGC written in the XMP attribute form"
        carriers.append(Carrier("xmp", item.value, problem))
    return carriers


def exif_carriers(tiff: bytes) -> list[Carrier]:
    """The EXIF UserComment as a carrier when it holds an AIGC label."""
    comment = read_user_comment(tiff)
    if comment and ("AIGC" in comment or "ServiceProvider" in comment):
        return [Carrier("exif-usercomment", comment)]
    return []


def exif_fields(tiff: bytes) -> list[MetadataField]:
    """IFD0's text tags (Software, ImageDescription, Artist, Make, Model) and the UserComment,
    as provenance fields; a malformed block gives none."""
    fields = [MetadataField("exif", name, value) for name, value in read_ascii_tags(tiff).items()]
    comment = read_user_comment(tiff)
    if comment:
        fields.append(MetadataField("exif", "UserComment", comment))
    return fields


def sync_exif(tiff: bytes, label: AIGCLabel) -> bytes:
    """``tiff`` with a UserComment that holds an AIGC label rewritten to ``label`` (wrapped)."""
    if not exif_carriers(tiff):
        return tiff
    return set_user_comment(tiff, label.to_json(wrapped=True, ascii_only=True))


def merged_xmp(raw: bytes | None, label: AIGCLabel, *, path: str | None) -> bytes:
    """XMP packet bytes (UTF-8) with the label set, merged into ``raw`` when given."""
    packet = None if raw is None else decode_xmp(raw)
    return xmp.set_label(packet, label.to_json(), path=path).encode("utf-8")
