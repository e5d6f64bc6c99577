"""Magic bytes of the audio containers, as data for ``synthmark.formats`` to merge.

Each :data:`AUDIO_MAGIC` row is ``(magic, name, media_type, extensions, codec)`` where ``magic``
is a tuple of ``(offset, signature)`` pairs that must all match (the shape of
``synthmark.formats.Format.magic``), so a row becomes
``Format(name, media_type, "audio", extensions, codec, magic)``. A format may have several rows
(MP3 with or without an ID3 tag, three RIFF forms, four MP4 brands); the first row of a format
names its default extension first.

Two things the magic cannot tell are refined from the file's first bytes:
:func:`ogg_codec` (Vorbis or Opus, from the codec header) and :func:`mp4_media_type`
(``audio/mp4`` only when every track is audio; ``isom``/``mp42`` files are often video).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["AUDIO_MAGIC", "AudioMagic", "mp4_media_type", "ogg_codec"]


class AudioMagic(NamedTuple):
    """One signature of an audio container (see the module docstring)."""

    magic: tuple[tuple[int, bytes], ...]
    name: str
    media_type: str
    extensions: tuple[str, ...]
    codec: str

    def matches(self, head: bytes) -> bool:
        return all(head[offset : offset + len(sig)] == sig for offset, sig in self.magic)


_WAV = ("wav", "audio/wav", (".wav", ".wave"), "synthmark.audio._wav")
_MP3 = ("mp3", "audio/mpeg", (".mp3",), "synthmark.audio._mp3")
_FLAC = ("flac", "audio/flac", (".flac",), "synthmark.audio._flac")
_OGG = ("ogg", "audio/ogg", (".ogg", ".oga", ".opus"), "synthmark.audio._ogg")
_M4A = ("m4a", "audio/mp4", (".m4a", ".m4b", ".mp4"), "synthmark.audio._m4a")

#: Audio container signatures, most specific first. MP3 frame sync: ``FFFB``/``FFFA`` MPEG-1
#: Layer III (without/with CRC), ``FFF3``/``FFF2`` MPEG-2 Layer III; ADTS AAC (``FFF1``/``FFF9``)
#: deliberately does not match.
AUDIO_MAGIC: tuple[AudioMagic, ...] = (
    AudioMagic(((0, b"RIFF"), (8, b"WAVE")), *_WAV),
    AudioMagic(((0, b"RF64"), (8, b"WAVE")), *_WAV),
    AudioMagic(((0, b"BW64"), (8, b"WAVE")), *_WAV),
    AudioMagic(((0, b"ID3"),), *_MP3),
    AudioMagic(((0, b"\xff\xfb"),), *_MP3),
    AudioMagic(((0, b"\xff\xfa"),), *_MP3),
    AudioMagic(((0, b"\xff\xf3"),), *_MP3),
    AudioMagic(((0, b"\xff\xf2"),), *_MP3),
    AudioMagic(((0, b"fLaC"),), *_FLAC),
    AudioMagic(((0, b"OggS"),), *_OGG),
    AudioMagic(((4, b"ftypM4A "),), *_M4A),
    AudioMagic(((4, b"ftypM4B "),), *_M4A),
    AudioMagic(((4, b"ftypisom"),), *_M4A),
    AudioMagic(((4, b"ftypmp42"),), *_M4A),
)

_OGG_CODECS = (
    (b"\x01vorbis", "vorbis"),
    (b"OpusHead", "opus"),
    (b"\x7fFLAC", "flac"),
    (b"Speex   ", "speex"),
    (b"\x80theora", "theora"),
)


def ogg_codec(data: bytes) -> str | None:
    """The first audio codec among the Ogg stream's beginning-of-stream pages.

    ``"vorbis"``, ``"opus"``, ``"flac"`` or ``"speex"``; ``None`` when the data is not Ogg or no
    audio stream begins in it. Only page headers are read, with bounds checks.
    """
    pos = 0
    while data[pos : pos + 4] == b"OggS" and pos + 27 <= len(data):
        header_type, segments = data[pos + 5], data[pos + 26]
        if not header_type & 0x02:  # past the beginning-of-stream pages
            return None
        table = data[pos + 27 : pos + 27 + segments]
        if len(table) < segments:
            return None
        body = pos + 27 + segments
        for prefix, codec in _OGG_CODECS:
            if data[body : body + len(prefix)] == prefix and codec != "theora":
                return codec
        pos = body + sum(table)
    return None


def mp4_media_type(data: bytes) -> str:
    """``"audio/mp4"`` when every track of the MP4/QuickTime file is audio, else ``"video/mp4"``.

    Reads only the ``moov`` box's track handlers; a file whose structure cannot be followed is
    called ``video/mp4`` (the container module reports the damage when it is used).
    """
    from synthmark.audio._m4a import track_handlers
    from synthmark.errors import SynthmarkError

    try:
        handlers = track_handlers(data)
    except SynthmarkError:
        return "video/mp4"
    media = [h for h in handlers if h in (b"soun", b"vide", b"pict", b"auxv")]
    return "audio/mp4" if media and all(h == b"soun" for h in media) else "video/mp4"
