"""EXIF (TIFF-structured) UserComment: the alternative AIGC carrier of JPEG, PNG and WebP.

Only the two IFDs on the path IFD0 -> Exif IFD -> UserComment (tag 0x9286) are walked, with
bounds checks on every offset. Writing changes that one entry: in place when the new value
fits (padded with spaces, which JSON ignores), else appended at the end of the block with the
entry's count and offset updated; every other byte stays where it was.
"""

from __future__ import annotations

import struct

__all__ = ["read_ascii_tags", "read_user_comment", "set_user_comment"]

_EXIF_IFD_POINTER = 0x8769
_USER_COMMENT = 0x9286
_CHARSET_HEADERS = {
    b"ASCII\0\0\0": "ascii",
    b"UNICODE\0": "utf-16",
    b"JIS\0\0\0\0\0": "shift_jis",
    b"\0" * 8: "utf-8",
}


class _Malformed(ValueError):
    pass


def _entry(tiff: bytes, ifd: int, tag: int, order: str) -> int | None:
    """Offset of the 12-byte entry for ``tag`` in the IFD at ``ifd``, or None."""
    if ifd + 2 > len(tiff):
        raise _Malformed("IFD offset out of bounds")
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    if ifd + 2 + 12 * count > len(tiff):
        raise _Malformed("IFD runs past the block")
    for i in range(count):
        offset = ifd + 2 + 12 * i
        if struct.unpack_from(order + "H", tiff, offset)[0] == tag:
            return offset
    return None


def _locate(tiff: bytes) -> tuple[str, int | None]:
    """Byte order and the UserComment entry offset (None when absent)."""
    if tiff[:4] == b"II*\0":
        order = "<"
    elif tiff[:4] == b"MM\0*":
        order = ">"
    else:
        raise _Malformed("not a TIFF header")
    (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
    pointer = _entry(tiff, ifd0, _EXIF_IFD_POINTER, order)
    if pointer is None:
        return order, None
    (exif_ifd,) = struct.unpack_from(order + "I", tiff, pointer + 8)
    return order, _entry(tiff, exif_ifd, _USER_COMMENT, order)


#: IFD0 ASCII tags read for provenance (tag -> name).
_ASCII_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software", 0x013B: "Artist"}
#: Longest ASCII tag value read (bytes).
_MAX_ASCII = 1 << 16


def read_ascii_tags(tiff: bytes) -> dict[str, str]:
    """IFD0's :data:`_ASCII_TAGS` that are present, decoded (UTF-8, else Latin-1); ``{}`` when
    the block is malformed."""
    found: dict[str, str] = {}
    try:
        if tiff[:4] not in (b"II*\0", b"MM\0*"):
            return found
        order = "<" if tiff[:2] == b"II" else ">"
        (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
        for tag, name in _ASCII_TAGS.items():
            entry = _entry(tiff, ifd0, tag, order)
            if entry is None:
                continue
            kind, count, offset = struct.unpack_from(order + "HII", tiff, entry + 2)
            if kind not in (2, 7) or count > _MAX_ASCII:
                continue
            raw = tiff[entry + 8 : entry + 8 + count] if count <= 4 else tiff[offset : offset + count]
            text = raw.rstrip(b"\0 ")
            try:
                found[name] = text.decode("utf-8")
            except UnicodeDecodeError:
                found[name] = text.decode("latin-1")
    except (_Malformed, struct.error):
        return found
    return found


def read_user_comment(tiff: bytes) -> str | None:
    """The decoded UserComment text, or None if absent or the block is malformed."""
    try:
        order, entry = _locate(tiff)
        if entry is None:
            return None
        count, offset = struct.unpack_from(order + "II", tiff, entry + 4)
        raw = tiff[entry + 8 : entry + 8 + count] if count <= 4 else tiff[offset : offset + count]
        if len(raw) != count or count < 8:
            return None
    except (_Malformed, struct.error):
        return None
    encoding = _CHARSET_HEADERS.get(raw[:8], "latin-1")
    body = raw[8:] if raw[:8] in _CHARSET_HEADERS else raw
    if encoding == "utf-16":
        encoding = "utf-16-le" if order == "<" else "utf-16-be"
    return body.decode(encoding, errors="replace").rstrip("\0 ")


def set_user_comment(tiff: bytes, text: str) -> bytes:
    """``tiff`` with an existing UserComment replaced by ASCII ``text``.

    The caller only replaces a UserComment that holds an AIGC label; a block without the entry
    is returned unchanged. ``text`` must be ASCII.
    """
    try:
        order, entry = _locate(tiff)
    except (_Malformed, struct.error):
        return tiff
    if entry is None:
        return tiff
    value = b"ASCII\0\0\0" + text.encode("ascii")
    count, offset = struct.unpack_from(order + "II", tiff, entry + 4)
    out = bytearray(tiff)
    if len(value) <= count and count > 4:
        out[offset : offset + count] = value.ljust(count, b" ")
        return bytes(out)
    if len(out) % 2:
        out += b"\0"
    struct.pack_into(order + "HII", out, entry + 2, 7, len(value), len(out))
    out += value
    return bytes(out)
