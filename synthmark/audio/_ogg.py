"""Ogg container, Vorbis and Opus: the AIGC label as the comment ``AIGC=`` (Vorbis comment header
or OpusTags).

The codec is decided by the codec header of the beginning-of-stream pages, not by the extension.
Uses mutagen on an in-memory file: only the comment header packet is rewritten, so the pages that
follow keep their audio packets byte for byte (their page sequence numbers and CRCs may be
renumbered when the comment packet needs more or fewer pages).
"""

from __future__ import annotations

import io
from typing import Any

import mutagen.oggopus
import mutagen.oggvorbis

from synthmark.aigc import AIGCLabel
from synthmark.audio._flac import set_vorbis_label, translated, verify, vorbis_carriers
from synthmark.audio._sniff import ogg_codec
from synthmark.errors import CorruptFileError, UnsupportedFormatError
from synthmark.metadata import Carrier

__all__ = ["CODECS", "check", "read_carriers", "write_label"]

#: Ogg codecs whose comments synthmark labels, by the name :func:`ogg_codec` gives.
#: (mutagen's annotations are partial: its classes are used untyped here.)
CODECS: dict[str, Any] = {"vorbis": mutagen.oggvorbis.OggVorbis, "opus": mutagen.oggopus.OggOpus}


def _walk_pages(data: bytes, path: str | None) -> None:
    """Follow every page header to the end of the data (mutagen reads only the first and last)."""
    pos = 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS":
            raise CorruptFileError(
                f"Ogg has no page at byte {pos}", path=path, fix="re-export the audio from its source"
            )
        segments = data[pos + 26] if pos + 27 <= len(data) else 0
        body = pos + 27 + segments
        if body > len(data):
            raise CorruptFileError(
                f"Ogg is truncated in the page header at byte {pos}", path=path, fix="re-export the audio"
            )
        end = body + sum(data[pos + 27 : body])
        if end > len(data):
            raise CorruptFileError(
                f"Ogg is truncated inside the page at byte {pos}", path=path, fix="re-export the audio"
            )
        pos = end


def _load(data: bytes, path: str | None) -> tuple[str, Any]:
    if data[:4] != b"OggS":
        raise CorruptFileError("Ogg does not start with OggS", path=path, fix="re-export the audio from its source")
    _walk_pages(data, path)
    codec = ogg_codec(data)
    if codec is None:
        raise CorruptFileError(
            "Ogg stream has no Vorbis or Opus header", path=path, fix="re-export the audio from its source"
        )
    if codec not in CODECS:
        raise UnsupportedFormatError(
            f"Ogg {codec.capitalize()} is not supported", path=path, fix=f"supported Ogg codecs: {', '.join(CODECS)}"
        )
    kind = f"Ogg {codec.capitalize()}"
    with translated(kind, path):
        audio: Any = CODECS[codec](io.BytesIO(data))
    return kind, audio


def check(data: bytes, *, path: str | None = None) -> None:
    """Raise :class:`CorruptFileError` unless the Ogg pages and the codec headers parse."""
    _load(data, path)


def read_carriers(data: bytes, *, path: str | None = None) -> list[Carrier]:
    """Every ``AIGC=`` comment, as a ``"vorbis-comment"`` carrier."""
    return vorbis_carriers(_load(data, path)[1].tags)


def write_label(data: bytes, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """``data`` with exactly one ``AIGC=`` comment holding ``label``; other comments and the
    audio packets unchanged."""
    kind, audio = _load(data, path)
    if audio.tags is None:  # pragma: no cover - mutagen always finds the mandatory comment header
        audio.add_tags()
    set_vorbis_label(audio.tags, label)
    buffer = io.BytesIO(data)
    with translated(kind, path):
        audio.save(buffer)
    out = buffer.getvalue()
    return verify(out, label, read_carriers(out, path=path), kind, path)
