"""WAV container (RIFF/WAVE, RF64 and BW64): the AIGC label in a top-level chunk with ID ``AIGC``.

The chunk holds the bare seven-field JSON in UTF-8, padded to an even size as RIFF requires (the
pad byte is not counted in the chunk size). The RIFF structure is parsed here, with bounds checks
on every size; every other chunk (``fmt``, ``data``, ``LIST``/``INFO``, ``id3``, ``bext``,
``cue``...) is copied byte for byte, so relabeling never touches the samples. A new label chunk
goes just before ``data``, where streaming readers still see it and a ``data`` chunk that runs to
the end of the file stays last. RF64/BW64 files keep their 64-bit sizes: the ``ds64`` chunk's
RIFF size is updated.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, MetadataError, MetadataTooLargeError, UnsupportedFormatError
from synthmark.metadata import Carrier

__all__ = ["CHUNK_ID", "Chunk", "Wave", "check", "parse", "read_carriers", "write_label"]

#: ID of the chunk that carries the label.
CHUNK_ID = b"AIGC"
_FORMS = (b"RIFF", b"RF64", b"BW64")
_UNKNOWN_SIZE = 0xFFFFFFFF
#: Most chunks read from one file; real WAV files have a handful.
MAX_CHUNKS = 100_000


@dataclass(frozen=True)
class Chunk:
    """One top-level chunk: ``start`` is the offset of its 8-byte header, ``size`` the payload
    length (the real one for RF64 chunks whose 32-bit size is ``0xFFFFFFFF``)."""

    id: bytes
    start: int
    size: int

    @property
    def payload_start(self) -> int:
        return self.start + 8

    @property
    def payload_end(self) -> int:
        return self.start + 8 + self.size


@dataclass(frozen=True)
class Wave:
    """A parsed WAV file: its RIFF form, chunks in file order, where the last chunk ends, where
    the RIFF body ends (bytes after it are kept as they are), the format tag of its ``fmt``
    chunk (1 PCM, 3 float, 0xFFFE extensible...) and whether its sizes live in ``ds64``."""

    form: bytes
    chunks: tuple[Chunk, ...]
    chunks_end: int
    body_end: int
    format_tag: int
    sizes_in_ds64: bool

    def chunk(self, chunk_id: bytes) -> Chunk | None:
        return next((c for c in self.chunks if c.id == chunk_id), None)


def _corrupt(what: str, path: str | None) -> CorruptFileError:
    return CorruptFileError(f"WAV {what}", path=path, fix="re-export the audio from its source")


def _ds64(data: bytes, path: str | None) -> tuple[int, int, dict[bytes, int]]:
    """(riff size, data size, chunk size table) of an RF64/BW64 file's leading ds64 chunk."""
    if len(data) < 20 or data[12:16] != b"ds64":
        raise _corrupt("is RF64 but has no ds64 chunk first", path)
    (size,) = struct.unpack_from("<I", data, 16)
    if size < 28 or 20 + size > len(data):
        raise _corrupt("ds64 chunk is truncated", path)
    riff_size, data_size, _samples, table_length = struct.unpack_from("<QQQI", data, 20)
    if 28 + 12 * table_length > size:
        raise _corrupt("ds64 size table runs past its chunk", path)
    table = {}
    for i in range(table_length):
        chunk_id, chunk_size = struct.unpack_from("<4sQ", data, 48 + 12 * i)
        table[chunk_id] = chunk_size
    return riff_size, data_size, table


def parse(data: bytes, *, path: str | None = None) -> Wave:
    """The file's RIFF structure; raises :class:`CorruptFileError` for anything malformed and
    :class:`UnsupportedFormatError` for a RIFF file that is not WAVE (AVI, WebP...)."""
    if len(data) < 12 or data[:4] not in _FORMS:
        raise _corrupt("does not start with a RIFF/RF64 header", path)
    form = data[:4]
    if data[8:12] != b"WAVE":
        kind = data[8:12].decode("latin-1", errors="replace").strip()
        raise UnsupportedFormatError(
            f"RIFF file of form {kind!r} is not WAVE", path=path, fix="pass a .wav file (RIFF form WAVE)"
        )
    (riff_size,) = struct.unpack_from("<I", data, 4)
    data_size: int | None = None
    table: dict[bytes, int] = {}
    sizes_in_ds64 = form != b"RIFF" and riff_size == _UNKNOWN_SIZE
    if sizes_in_ds64:
        riff_size, data_size, table = _ds64(data, path)
    body_end = 8 + riff_size
    # A missing final pad byte is common and harmless; anything shorter is a truncated file.
    if body_end > len(data) + 1:
        raise _corrupt(f"is truncated: RIFF header says {body_end} bytes, the file has {len(data)}", path)
    body_end = min(body_end, len(data))
    chunks: list[Chunk] = []
    pos = 12
    while pos + 8 <= body_end:
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        if size == _UNKNOWN_SIZE and form != b"RIFF":
            if chunk_id == b"data" and data_size is not None:
                size = data_size
            elif chunk_id in table:
                size = table[chunk_id]
        end = pos + 8 + size
        if end > body_end:
            raise _corrupt(f"is truncated inside chunk {chunk_id!r} at byte {pos}", path)
        chunks.append(Chunk(chunk_id, pos, size))
        if len(chunks) > MAX_CHUNKS:
            raise _corrupt(f"has more than {MAX_CHUNKS} chunks", path)
        pos = end + (size & 1)
    chunks_end = min(pos, body_end)
    fmt = next((c for c in chunks if c.id == b"fmt "), None)
    if fmt is None or fmt.size < 16:
        raise _corrupt("has no valid fmt chunk", path)
    if not any(c.id == b"data" for c in chunks):
        raise _corrupt("has no data chunk", path)
    (format_tag,) = struct.unpack_from("<H", data, fmt.payload_start)
    return Wave(form, tuple(chunks), chunks_end, body_end, format_tag, sizes_in_ds64)


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the RIFF/WAVE structure is sound."""
    parse(data, path=path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every ``AIGC`` chunk, as a ``"riff-aigc"`` carrier (trailing NUL bytes dropped)."""
    carriers = []
    for chunk in parse(data, path=path).chunks:
        if chunk.id != CHUNK_ID:
            continue
        raw = data[chunk.payload_start : chunk.payload_end].rstrip(b"\0")
        try:
            carriers.append(Carrier("riff-aigc", raw.decode("utf-8")))
        except UnicodeDecodeError:
            carriers.append(Carrier("riff-aigc", raw.decode("utf-8", errors="replace"), "AIGC chunk is not UTF-8"))
    return carriers


def label_chunk(label: AIGCLabel) -> bytes:
    """The ``AIGC`` chunk for ``label``: header, bare JSON in UTF-8, pad byte when odd."""
    payload = label.to_json().encode("utf-8")
    return CHUNK_ID + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one ``AIGC`` chunk holding ``label``.

    An existing label chunk is replaced where it is (further copies are dropped); otherwise the
    chunk is inserted before ``data``. Every other chunk is copied unchanged.
    """
    wave = parse(data, path=path)
    new_chunk = label_chunk(label)
    parts: list[bytes] = []
    placed = False
    data_chunk = wave.chunk(b"data")
    has_label = wave.chunk(CHUNK_ID) is not None
    for chunk in wave.chunks:
        if chunk.id == CHUNK_ID:
            if not placed:
                parts.append(new_chunk)
                placed = True
            continue
        if chunk is data_chunk and not has_label:
            parts.append(new_chunk)
            placed = True
        parts.append(data[chunk.start : min(chunk.payload_end + (chunk.size & 1), wave.body_end)])
    parts.append(data[wave.chunks_end : wave.body_end])  # stray bytes after the last chunk
    riff_size = 4 + sum(len(part) for part in parts)
    if wave.sizes_in_ds64:
        ds64 = bytearray(parts[0])
        struct.pack_into("<Q", ds64, 8, riff_size)
        parts[0] = bytes(ds64)
        size_field = _UNKNOWN_SIZE
    elif riff_size >= _UNKNOWN_SIZE:
        raise MetadataTooLargeError(
            f"the labeled WAV would exceed the 4 GiB RIFF limit ({riff_size} bytes)",
            path=path,
            fix="convert the file to RF64 first",
        )
    else:
        size_field = riff_size
    out = wave.form + struct.pack("<I", size_field) + b"WAVE" + b"".join(parts) + data[wave.body_end :]
    _verify(out, label, path)
    return out


#: Chunks that describe the recording rather than its samples: carried over a re-encode.
#: (``cue ``/``smpl`` point at sample positions, which an audible label moves: not carried.)
DESCRIPTIVE_CHUNKS = frozenset({b"LIST", b"bext", b"iXML", b"axml", b"id3 ", b"ID3 ", b"_PMX"})


def carry_chunks(original: bytes, encoded: bytes, *, path: str | None = None) -> bytes:
    """``encoded`` (a WAV just written by the encoder) with the original's descriptive chunks
    (:data:`DESCRIPTIVE_CHUNKS`: LIST/INFO, BWF ``bext``, iXML, ID3...) in place of its own, in
    the original's order, before ``data``; the encoder's ``fmt``/``data`` are kept."""
    source, target = parse(original, path=path), parse(encoded, path=path)
    carried = [
        original[c.start : min(c.payload_end + (c.size & 1), source.body_end)]
        for c in source.chunks
        if c.id in DESCRIPTIVE_CHUNKS
    ]
    if not carried:
        return encoded
    parts: list[bytes] = []
    for chunk in target.chunks:
        if chunk.id in DESCRIPTIVE_CHUNKS:
            continue
        if chunk.id == b"data":
            parts.extend(carried)
        parts.append(encoded[chunk.start : min(chunk.payload_end + (chunk.size & 1), target.body_end)])
    if target.sizes_in_ds64:  # the encoder wrote RF64: leave it, its sizes live in ds64
        return encoded
    riff_size = 4 + sum(len(part) for part in parts)
    if riff_size >= _UNKNOWN_SIZE:
        return encoded
    return target.form + struct.pack("<I", riff_size) + b"WAVE" + b"".join(parts)


def _verify(out: bytes, label: AIGCLabel, path: str | None) -> None:
    carriers = read_carriers(out, path=path)
    if [c.text for c in carriers] != [label.to_json()]:  # pragma: no cover - a bug guard
        raise MetadataError("the AIGC chunk did not read back after writing", path=path, fix="report this bug")
