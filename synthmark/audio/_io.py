"""Audio decoding and encoding through PyAV (FFmpeg), with the safety checks of the input layer.

Samples are always ``float32`` arrays of shape ``(n_samples, channels)`` with values in [-1, 1].
:func:`decode_audio` also returns an :class:`AudioInfo` that says how the file was encoded, so
:func:`encode_audio` can write the result back the same way (same container, codec, rate, layout
and sample depth; a lossy bit rate at least the input's).

The containers and codecs are data (:data:`CONTAINERS`, :data:`CODECS`), not branches:

=========  ==============================================  =======================================
container  codecs (PyAV encoder names)                     notes
=========  ==============================================  =======================================
wav        pcm_s16le, pcm_s24le, pcm_s32le, pcm_f32le,     lossless, depth kept
           pcm_u8
flac       flac                                            16-bit (``s16``) or 24-bit (``s32``)
mp3        libmp3lame                                      rates 8–48 kHz, mono or stereo
m4a        aac, alac                                       AAC rates 7.35–96 kHz
ogg        libopus, vorbis, flac                           Opus at 8/12/16/24/48 kHz only
=========  ==============================================  =======================================

FFmpeg's decoders remove each codec's start-up delay (the LAME/Xing gapless header of MP3, the
edit list of M4A, Opus pre-skip), so a round trip through :func:`encode_audio` and
:func:`decode_audio` is aligned sample for sample with its input. The encoder's padding at the end
is cut where the container records the true length (M4A, Ogg); FFmpeg's own Vorbis encoder rounds
that length up to a multiple of 64 samples. FFmpeg's Opus decoder always delivers 48 kHz, so an
Opus file coded at 8–24 kHz decodes (and re-encodes) at 48 kHz.

>>> import numpy as np
>>> tone = np.sin(2 * np.pi * 440 * np.arange(8000) / 8000, dtype=np.float32)[:, None] * 0.5
>>> samples, info = decode_audio(encode_as(tone, 8000, "wav", "pcm_s16le"))
>>> samples.shape, info.container, info.codec, info.sample_rate, info.layout
((8000, 1), 'wav', 'pcm_s16le', 8000, 'mono')
"""

from __future__ import annotations

import io
import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, BinaryIO

import av
import numpy as np
import numpy.typing as npt

from synthmark.errors import CorruptFileError, InputError, TooLargeError, UnsupportedFormatError

__all__ = [
    "CODECS",
    "CONTAINERS",
    "MAX_RATE",
    "MAX_SECONDS",
    "MIN_RATE",
    "AudioInfo",
    "Codec",
    "Container",
    "decode_audio",
    "default_layout",
    "encode_as",
    "encode_audio",
]

AudioSamples = npt.NDArray[np.float32]

#: Longest audio :func:`decode_audio` accepts, in seconds (4 hours); longer raises
#: :class:`TooLargeError`. Checked against the header before decoding and while decoding.
MAX_SECONDS = 4 * 3600
#: Lowest sample rate accepted, in Hz (narrow-band telephone audio).
MIN_RATE = 8_000
#: Highest sample rate accepted, in Hz.
MAX_RATE = 192_000

# Samples per encoded frame handed to PyAV at a time; bounds the size of one AudioFrame.
_CHUNK = 1 << 16
# A measured MP3 bit rate this close under a ladder step means that step: the Xing/LAME info
# frame and padding bytes make a CBR file measure a little over its nominal rate.
_LADDER_TOLERANCE = 0.98
# Bytes read from the end of an Ogg file to find its last page (a page is at most 65 307 bytes).
_TAIL = 65_536
# A file is called truncated when it decodes to less than its header declares by more than
# this many seconds and this fraction of the declared duration.
_TRUNCATION_SECONDS = 0.1
_TRUNCATION_FRACTION = 0.02


@dataclass(frozen=True)
class AudioInfo:
    """How an audio file is encoded: what :func:`encode_audio` keeps when writing it back.

    Attributes
    ----------
    container:
        ``"wav"``, ``"mp3"``, ``"flac"``, ``"ogg"`` or ``"m4a"`` (keys of :data:`CONTAINERS`).
    codec:
        The PyAV *encoder* that re-encodes it (keys of :data:`CODECS`), e.g. ``"pcm_s16le"``,
        ``"libmp3lame"``, ``"aac"``, ``"libopus"``, ``"vorbis"``, ``"flac"``.
    sample_rate:
        Samples per second per channel, in Hz.
    channels:
        Number of channels.
    layout:
        FFmpeg channel layout name: ``"mono"``, ``"stereo"``, ``"5.1"``, ... (a layout the file
        leaves unspecified is given the default one for its channel count).
    bit_rate:
        Average bit rate of the coded audio of a lossy file, in bits/s, measured from the
        packet sizes (container overhead and cover art excluded); ``None`` for lossless codecs.
    sample_format:
        Packed FFmpeg sample format the decoder produced: ``"s16"``, ``"s32"``, ``"flt"``,
        ``"u8"``. For lossless codecs it gives the sample depth that is kept.
    """

    container: str
    codec: str
    sample_rate: int
    channels: int
    layout: str
    bit_rate: int | None
    sample_format: str


@dataclass(frozen=True)
class Container:
    """One container: the FFmpeg muxer that writes it and the codecs it may hold."""

    name: str
    muxer: str
    extension: str
    codecs: tuple[str, ...]
    #: The header gives the exact sample count, and FFmpeg decodes the encoder's padding after
    #: it (M4A edit lists, Ogg end granules), so decoded audio is cut to the declared length.
    exact_length: bool = False


@dataclass(frozen=True)
class Codec:
    """One encoder and how to feed it.

    ``decoders`` are the FFmpeg decoder names that mean "re-encode with this encoder".
    ``lossless`` codecs get integer samples quantised to ``depth`` bits in ``sample_format``
    (``None``: depth follows the input, 16 or 24 bits); lossy ones get planar float.
    ``max_channels`` is the codec's limit (``None``: no limit below FFmpeg's own).
    ``default_bit_rate`` is per channel, in bits/s; ``bit_rates`` an optional ladder of the
    allowed values (MP3 frames only have a fixed set); ``min_bit_rate``/``max_bit_rate`` are
    per channel. ``headroom`` multiplies the input's bit rate when re-encoding with an
    average-bit-rate encoder, whose output lands a few percent under or over its target.
    """

    encoder: str
    decoders: tuple[str, ...]
    lossless: bool
    sample_format: str | None = None
    depth: int | None = None
    max_channels: int | None = None
    default_bit_rate: int | None = None
    bit_rates: tuple[int, ...] = ()
    min_bit_rate: int = 0
    max_bit_rate: int | None = None
    headroom: float = 1.0
    options: tuple[tuple[str, str], ...] = ()


#: The containers synthmark reads and writes, keyed by :attr:`AudioInfo.container`.
CONTAINERS: dict[str, Container] = {
    "wav": Container("wav", "wav", ".wav", ("pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8")),
    "flac": Container("flac", "flac", ".flac", ("flac",)),
    "mp3": Container("mp3", "mp3", ".mp3", ("libmp3lame",)),
    # "ipod" is FFmpeg's M4A muxer (MP4 with the M4A brand).
    "m4a": Container("m4a", "ipod", ".m4a", ("aac", "alac"), exact_length=True),
    "ogg": Container("ogg", "ogg", ".ogg", ("libopus", "vorbis", "flac"), exact_length=True),
}

_MP3_RATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)

#: The encoders, keyed by :attr:`AudioInfo.codec`.
CODECS: dict[str, Codec] = {
    "pcm_s16le": Codec("pcm_s16le", ("pcm_s16le",), True, "s16", 16),
    "pcm_s24le": Codec("pcm_s24le", ("pcm_s24le",), True, "s32", 24),
    "pcm_s32le": Codec("pcm_s32le", ("pcm_s32le",), True, "s32", 32),
    "pcm_f32le": Codec("pcm_f32le", ("pcm_f32le",), True, "flt"),
    "pcm_u8": Codec("pcm_u8", ("pcm_u8",), True, "u8", 8),
    "flac": Codec("flac", ("flac",), True),
    "alac": Codec("alac", ("alac",), True),
    "libmp3lame": Codec(
        "libmp3lame",
        ("mp3float", "mp3"),
        False,
        max_channels=2,
        default_bit_rate=96_000,
        bit_rates=tuple(k * 1000 for k in _MP3_RATES),
    ),
    "aac": Codec(
        "aac", ("aac",), False, default_bit_rate=96_000, min_bit_rate=8_000, max_bit_rate=256_000, headroom=1.05
    ),
    # libopus caps at 256 kbit/s per channel.
    "libopus": Codec(
        "libopus",
        ("opus", "libopus"),
        False,
        default_bit_rate=64_000,
        min_bit_rate=6_000,
        max_bit_rate=256_000,
        headroom=1.05,
    ),
    # libvorbis is not in PyAV's wheels; FFmpeg's own encoder is "experimental" and ignores the
    # bit rate (it encodes at a fixed, usually high, quality).
    "vorbis": Codec("vorbis", ("vorbis", "libvorbis"), False, max_channels=2, options=(("strict", "experimental"),)),
}

_ENCODER_FOR_DECODER = {decoder: codec.encoder for codec in CODECS.values() for decoder in codec.decoders}

# Demuxer name (as PyAV reports it) -> container key.
_DEMUXERS = {
    "wav": "wav",
    "flac": "flac",
    "mp3": "mp3",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a",
    "ogg": "ogg",
}

# FFmpeg's default layout for each channel count (av_channel_layout_default).
_DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}

# Leading bytes of the formats we read: an FFmpeg failure on one of these is a damaged file,
# on anything else an unsupported one.
_MAGIC: tuple[tuple[int, bytes], ...] = ((8, b"WAVE"), (0, b"fLaC"), (0, b"ID3"), (0, b"OggS"), (4, b"ftyp"))


def _supported() -> str:
    return " ".join(container.extension for container in CONTAINERS.values())


def default_layout(channels: int) -> str:
    """FFmpeg's default layout name for ``channels`` channels (``2`` -> ``"stereo"``).

    Raises :class:`UnsupportedFormatError` for counts outside 1–8.
    """
    try:
        return _DEFAULT_LAYOUTS[channels]
    except KeyError:
        raise UnsupportedFormatError(
            f"{channels} audio channels are not supported", fix="use 1 to 8 channels"
        ) from None


# --- decoding ----------------------------------------------------------------------------------


def _looks_like_audio(head: bytes) -> bool:
    if any(head[offset : offset + len(sig)] == sig for offset, sig in _MAGIC):
        return True
    # An MPEG audio frame sync (11 set bits) at the start: an MP3 without an ID3 tag.
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _wav_data_size(head: bytes) -> tuple[int, int] | None:
    """(declared size, offset) of the WAV ``data`` chunk found in ``head``, if any."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    offset = 12
    while offset + 8 <= len(head):
        chunk_id, size = head[offset : offset + 4], struct.unpack_from("<I", head, offset + 4)[0]
        if chunk_id == b"data":
            return size, offset + 8
        offset += 8 + size + (size & 1)
    return None


def _ogg_ends_cleanly(tail: bytes) -> bool:
    """Whether ``tail`` (the file's last bytes) ends with a complete Ogg page flagged end-of-stream.

    A page is 27 header bytes, a segment table of ``n`` bytes, then the segments; a file cut
    short ends inside a page, so no page found in the tail ends exactly at the end of the file.
    """
    position = tail.rfind(b"OggS")
    while position >= 0:
        if position + 27 <= len(tail):
            segments = tail[position + 26]
            table = tail[position + 27 : position + 27 + segments]
            if len(table) == segments and position + 27 + segments + sum(table) == len(tail):
                return bool(tail[position + 5] & 0x04)
        position = tail.rfind(b"OggS", 0, position)
    return False


def _read_tail(source: bytes | str | os.PathLike[str], size: int) -> bytes:
    if isinstance(source, bytes):
        return source[-_TAIL:]
    with open(source, "rb") as handle:
        handle.seek(max(0, size - _TAIL))
        return handle.read()


def _read_head(source: bytes | str | os.PathLike[str], name: str | None) -> tuple[bytes, int]:
    """The first 64 KiB and the total size of ``source``, translating OS errors."""
    if isinstance(source, bytes):
        return source[: 1 << 16], len(source)
    from synthmark.formats import os_error  # not at import: formats reads this package's magic table

    try:
        with open(source, "rb") as handle:
            return handle.read(1 << 16), os.fstat(handle.fileno()).st_size
    except OSError as exc:
        raise os_error(exc, name) from exc


def _frame_to_array(frame: Any) -> npt.NDArray[np.float32]:
    """One decoded frame as float32 ``(samples, channels)``, scaled to [-1, 1]."""
    channels = int(frame.layout.nb_channels)
    raw = np.asarray(frame.to_ndarray())
    data = raw if frame.format.is_planar else raw.reshape(-1, channels).T
    if data.dtype == np.int16:
        scaled = data.astype(np.float32) / np.float32(32768.0)
    elif data.dtype == np.int32:
        scaled = (data.astype(np.float64) / 2147483648.0).astype(np.float32)
    elif data.dtype == np.uint8:
        scaled = (data.astype(np.float32) - np.float32(128.0)) / np.float32(128.0)
    else:
        scaled = data.astype(np.float32)
    return np.ascontiguousarray(scaled.T)


def decode_audio(
    source: bytes | str | os.PathLike[str],
    *,
    path: str | os.PathLike[str] | None = None,
    lenient: bool = False,
) -> tuple[AudioSamples, AudioInfo]:
    """Decode the first audio stream of a WAV, FLAC, MP3, M4A or Ogg file.

    Parameters
    ----------
    source:
        The file's bytes, or its path.
    path:
        Name used in error messages (defaults to ``source`` when it is a path).
    lenient:
        Decode what can be decoded of a damaged or truncated file (packets that fail are
        skipped, a truncated tail is accepted) instead of raising :class:`CorruptFileError`:
        for detection on damaged files, whose damage the caller reports. Default ``False``.

    Returns
    -------
    samples:
        New ``float32`` array of shape ``(n_samples, channels)``, values in [-1, 1]. Integer
        samples are scaled by 1/2^(bits-1) (16-bit ``x`` becomes ``x/32768``), so 16- and 24-bit
        input is represented exactly. Lossy decoders can overshoot full scale; such peaks are
        clipped to ±1.
    info:
        How the file is encoded (see :class:`AudioInfo`).

    Raises
    ------
    CorruptFileError
        Empty file, no audio samples, 0 channels, damaged data, or truncated (the file holds
        less audio than its header declares).
    UnsupportedFormatError
        Not one of the supported containers/codecs, no audio stream, or a sample rate outside
        :data:`MIN_RATE`–:data:`MAX_RATE`.
    TooLargeError
        Longer than :data:`MAX_SECONDS`.
    InputError
        The path cannot be read.
    """
    handle: BinaryIO | str
    name: str | None = None if path is None else os.fspath(path)
    if isinstance(source, bytes):
        handle = io.BytesIO(source)
    else:
        handle = os.fspath(source)
        name = handle if name is None else name
    head, size = _read_head(source, name)
    if size == 0:
        raise CorruptFileError("file is empty (0 bytes)", path=name, fix="pass a real audio file")

    try:
        container = av.open(handle, mode="r", metadata_errors="ignore")
    except av.FFmpegError as exc:
        if _looks_like_audio(head):
            raise CorruptFileError(
                "damaged or truncated audio file (FFmpeg cannot parse its header)",
                path=name,
                fix="re-export the file from its source",
            ) from exc
        raise UnsupportedFormatError(
            "not an audio format synthmark reads", path=name, fix=f"supported: {_supported()}"
        ) from exc
    with container:
        samples, info, declared = _decode_container(container, name, lenient)
    if lenient:
        if samples.shape[0] == 0:
            raise CorruptFileError("no audio could be decoded", path=name, fix="export the file again")
        return samples, info

    if declared is not None and CONTAINERS[info.container].exact_length:
        samples = samples[: round(declared * info.sample_rate)]
    decoded_seconds = samples.shape[0] / info.sample_rate
    if declared is not None and declared - decoded_seconds > max(_TRUNCATION_SECONDS, _TRUNCATION_FRACTION * declared):
        raise CorruptFileError(
            f"truncated: decodes to {decoded_seconds:.2f} s but its header declares {declared:.2f} s",
            path=name,
            fix="the file was cut short; copy or export it again",
        )
    wav = _wav_data_size(head) if info.container == "wav" else None
    if wav is not None:
        declared_bytes, offset = wav
        # 0 and 0xFFFFFFFF are what streaming writers leave when they cannot seek back.
        if declared_bytes not in (0, 0xFFFFFFFF) and size - offset < declared_bytes:
            raise CorruptFileError(
                f"truncated: the WAV data chunk declares {declared_bytes} bytes but only {size - offset} are present",
                path=name,
                fix="the file was cut short; copy or export it again",
            )
    if info.container == "ogg" and not _ogg_ends_cleanly(_read_tail(source, size)):
        raise CorruptFileError(
            "truncated: the Ogg stream does not end with a complete end-of-stream page",
            path=name,
            fix="the file was cut short; copy or export it again",
        )
    if samples.shape[0] == 0:
        raise CorruptFileError("contains no audio samples", path=name, fix="pass a file with audio in it")
    return samples, info


def _decode_container(
    container: Any, name: str | None, lenient: bool = False
) -> tuple[AudioSamples, AudioInfo, float | None]:
    demuxer = str(container.format.name)
    container_key = _DEMUXERS.get(demuxer)
    if container_key is None:
        raise UnsupportedFormatError(
            f"container {demuxer!r} is not supported for audio", path=name, fix=f"supported: {_supported()}"
        )
    if not container.streams.audio:
        raise UnsupportedFormatError("the file has no audio stream", path=name, fix="pass an audio file")
    stream = container.streams.audio[0]
    context = stream.codec_context
    if context is None:  # FFmpeg found no decoder for what the header declares (e.g. 0 bits a sample)
        raise CorruptFileError(
            "the audio stream's header is damaged (no decoder matches it)", path=name, fix="re-export the file"
        )
    decoder = str(context.name)
    encoder = _ENCODER_FOR_DECODER.get(decoder)
    if encoder is None or encoder not in CONTAINERS[container_key].codecs:
        allowed = ", ".join(CONTAINERS[container_key].codecs)
        raise UnsupportedFormatError(
            f"audio codec {decoder!r} in {container_key} is not supported",
            path=name,
            fix=f"{container_key} files must use one of: {allowed}",
        )
    channels = int(context.channels)
    if channels <= 0:
        raise CorruptFileError("the header declares 0 audio channels", path=name, fix="re-export the file")
    rate = int(context.sample_rate)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise UnsupportedFormatError(
            f"sample rate {rate} Hz is outside {MIN_RATE}–{MAX_RATE} Hz",
            path=name,
            fix="resample the file to a standard rate such as 44100 or 48000 Hz",
        )
    declared = _declared_seconds(container, stream)
    if declared is not None and declared > MAX_SECONDS:
        raise TooLargeError(
            f"audio is {declared:.0f} s long, over the {MAX_SECONDS} s limit",
            path=name,
            fix="split the file, or raise synthmark.audio._io.MAX_SECONDS if it is trusted",
        )

    chunks: list[npt.NDArray[np.float32]] = []
    total = 0
    coded_bytes = 0
    sample_format = str(context.format.packed.name) if context.format is not None else "flt"
    limit = MAX_SECONDS * rate
    try:
        for packet in container.demux(stream):
            coded_bytes += int(packet.size)
            try:
                frames = packet.decode()
            except av.FFmpegError:
                if not lenient:
                    raise
                continue  # a damaged packet: skip it, decode the rest
            for frame in frames:
                block = _frame_to_array(frame)
                if block.shape[1] != channels:
                    raise CorruptFileError(
                        f"channel count changes mid-stream ({channels} -> {block.shape[1]})",
                        path=name,
                        fix="re-export the file",
                    )
                sample_format = str(frame.format.packed.name)
                chunks.append(block)
                total += block.shape[0]
                if total > limit:
                    raise TooLargeError(
                        f"audio is longer than the {MAX_SECONDS} s limit",
                        path=name,
                        fix="split the file, or raise synthmark.audio._io.MAX_SECONDS if it is trusted",
                    )
    except av.FFmpegError as exc:
        # Lenient: the demuxer gave up (e.g. a truncated tail); keep what decoded.
        if not (lenient and chunks):
            raise CorruptFileError(
                f"damaged audio data after {total / rate:.2f} s ({exc.strerror or type(exc).__name__})",
                path=name,
                fix="the file is truncated or corrupt; export it again",
            ) from exc

    samples = np.concatenate(chunks, axis=0) if chunks else np.zeros((0, channels), dtype=np.float32)
    np.clip(samples, -1.0, 1.0, out=samples)
    layout = str(context.layout.name)
    if layout.endswith("channels") or layout.startswith("unknown"):
        layout = _DEFAULT_LAYOUTS.get(channels, layout)
    lossless = CODECS[encoder].lossless
    seconds = total / rate
    bit_rate = None if lossless or seconds == 0 else round(coded_bytes * 8 / seconds)
    info = AudioInfo(container_key, encoder, rate, channels, layout, bit_rate, sample_format)
    return samples, info, declared


def _declared_seconds(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return float(container.duration) / 1_000_000
    return None


# --- encoding ----------------------------------------------------------------------------------


def _check_samples(samples: npt.NDArray[Any], channels: int | None = None) -> AudioSamples:
    """``samples`` as float32 ``(n, channels)`` clipped to [-1, 1], or :class:`InputError`."""
    if not isinstance(samples, np.ndarray) or not np.issubdtype(samples.dtype, np.floating):
        got = f"{type(samples).__name__} of dtype {getattr(samples, 'dtype', None)}"
        raise InputError(f"expected a float array of audio samples, got {got}", fix="pass float32 samples in [-1, 1]")
    array = samples[:, None] if samples.ndim == 1 else samples
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(
            f"expected samples of shape (n_samples, channels), got {samples.shape}",
            fix="pass a non-empty (n_samples, channels) array",
        )
    if channels is not None and array.shape[1] != channels:
        raise InputError(
            f"samples have {array.shape[1]} channels but the target has {channels}",
            fix="mix the samples to the target's channel count",
        )
    if not np.all(np.isfinite(array)):
        raise InputError("samples contain NaN or infinite values", fix="replace them before encoding")
    clipped: AudioSamples = np.clip(array, -1.0, 1.0).astype(np.float32, copy=False)
    return clipped


def _quantise(samples: AudioSamples, sample_format: str, depth: int | None) -> npt.NDArray[Any]:
    """``samples`` (n, ch) in the dtype of the packed ``sample_format``, rounded to ``depth`` bits."""
    if sample_format == "flt":
        return samples.astype(np.float32)
    if sample_format == "u8":
        return (np.clip(np.rint(samples.astype(np.float64) * 128.0), -128, 127) + 128).astype(np.uint8)
    bits = depth or (16 if sample_format == "s16" else 32)
    scale = float(1 << (bits - 1))
    values = np.clip(np.rint(samples.astype(np.float64) * scale), -scale, scale - 1)
    if sample_format == "s16":
        return values.astype(np.int16)
    # s32 holds 24-bit samples in its top bits (FFmpeg's convention for pcm_s24le, flac, alac).
    return (values.astype(np.int64) << (32 - bits)).astype(np.int32)


def _encoder_format(encoder: str, packed: str) -> str:
    """The sample format to hand ``encoder``: ``packed`` or its planar twin, whichever it takes."""
    offered = [fmt.name for fmt in (av.Codec(encoder, "w").audio_formats or ())]
    if not offered or packed in offered:
        return packed
    return packed + "p" if packed + "p" in offered else str(offered[0])


def _lossless_format(codec: Codec, sample_format: str | None) -> tuple[str, int | None]:
    """(packed sample format, bit depth) to feed a lossless encoder."""
    if codec.sample_format is not None:
        return codec.sample_format, codec.depth
    # flac/alac: 16 bits unless the input had more (FFmpeg stores 24 in s32).
    if sample_format in ("s32", "flt", "dbl", "s64"):
        return "s32", 24
    return "s16", 16


def _target_bit_rate(codec: Codec, channels: int, wanted: int | None) -> int | None:
    """The bit rate to ask ``codec`` for: ``wanted`` (or the default) rounded up to what it allows."""
    if codec.lossless or codec.default_bit_rate is None:
        return None
    rate = wanted if wanted is not None else codec.default_bit_rate * channels
    if codec.bit_rates:
        allowed = [value for value in codec.bit_rates if value >= rate * _LADDER_TOLERANCE]
        return allowed[0] if allowed else codec.bit_rates[-1]
    low = codec.min_bit_rate * channels
    high = codec.max_bit_rate * channels if codec.max_bit_rate is not None else rate
    return int(min(max(rate, low), high))


def _check_rate(codec: Codec, rate: int) -> None:
    rates = av.Codec(codec.encoder, "w").audio_rates
    if rates and rate not in rates:
        listed = ", ".join(str(value) for value in sorted(rates))
        raise UnsupportedFormatError(
            f"{codec.encoder} cannot encode at {rate} Hz",
            fix=f"resample to one of: {listed} Hz",
        )


def _encode(
    samples: AudioSamples,
    sample_rate: int,
    container_key: str,
    encoder: str,
    layout: str,
    bit_rate: int | None,
    sample_format: str | None,
) -> bytes:
    container = CONTAINERS.get(container_key)
    if container is None:
        raise UnsupportedFormatError(
            f"unknown audio container {container_key!r}", fix=f"use one of: {', '.join(CONTAINERS)}"
        )
    codec = CODECS.get(encoder)
    if codec is None or encoder not in container.codecs:
        raise UnsupportedFormatError(
            f"codec {encoder!r} cannot be written to {container_key}",
            fix=f"{container_key} takes: {', '.join(container.codecs)}",
        )
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise UnsupportedFormatError(
            f"sample rate {sample_rate} Hz is outside {MIN_RATE}–{MAX_RATE} Hz", fix="resample first"
        )
    channels = samples.shape[1]
    if codec.max_channels is not None and channels > codec.max_channels:
        raise UnsupportedFormatError(
            f"{encoder} carries at most {codec.max_channels} channels, got {channels}",
            fix="downmix, or use a codec such as aac or libopus",
        )
    _check_rate(codec, sample_rate)

    packed, depth = _lossless_format(codec, sample_format) if codec.lossless else ("flt", None)
    fmt = _encoder_format(encoder, packed)
    target = _target_bit_rate(codec, channels, bit_rate)

    buffer = io.BytesIO()
    try:
        with av.open(buffer, mode="w", format=container.muxer, options={"fflags": "+bitexact"}) as output:
            stream = output.add_stream(codec.encoder, rate=sample_rate, layout=layout, options=dict(codec.options))
            stream.codec_context.format = fmt
            if target is not None:
                stream.bit_rate = target
            for frame in _frames(samples, sample_rate, layout, fmt, depth):
                for packet in stream.encode(frame):
                    output.mux(packet)
            for packet in stream.encode(None):
                output.mux(packet)
    except av.FFmpegError as exc:
        raise UnsupportedFormatError(
            f"FFmpeg cannot encode {channels}-channel {sample_rate} Hz audio as {encoder} in {container_key}: "
            f"{exc.strerror or type(exc).__name__}",
            fix="choose another codec, rate or layout",
        ) from exc
    return buffer.getvalue()


def _frames(samples: AudioSamples, rate: int, layout: str, fmt: str, depth: int | None) -> Iterator[Any]:
    planar = fmt.endswith("p")
    packed = fmt[:-1] if planar else fmt
    for start in range(0, samples.shape[0], _CHUNK):
        block = _quantise(samples[start : start + _CHUNK], packed, depth)
        # PyAV wants planar data as (channels, n) and packed data interleaved as (1, n*channels).
        array = np.ascontiguousarray(block.T if planar else block.reshape(1, -1))
        frame = av.AudioFrame.from_ndarray(array, format=fmt, layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        yield frame


def encode_audio(samples: npt.NDArray[Any], info: AudioInfo, *, bit_rate: int | None = None) -> bytes:
    """Encode ``samples`` the way ``info`` describes: same container, codec, rate and layout.

    Parameters
    ----------
    samples:
        Float array ``(n_samples, info.channels)`` (or 1-D for mono), values in [-1, 1]; values
        outside are clipped. Not modified.
    info:
        Usually the :class:`AudioInfo` :func:`decode_audio` returned for the original.
    bit_rate:
        Bit rate for a lossy codec, in bits/s, used as given. By default the input's
        (``info.bit_rate``) so re-encoding never asks for fewer bits than the original had:
        MP3 takes the next step of its fixed ladder (32–320 kbit/s) at or above it (a
        measurement within 2 % under a step counts as that step), AAC and Opus, whose average
        rate lands a few percent around their target, get 5 % more. Without either, 96 kbit/s
        per channel (64 for Opus). Ignored for lossless codecs and for ``vorbis`` (FFmpeg's own
        Vorbis encoder has no rate control; PyAV's wheels have no libvorbis).

    Returns
    -------
    bytes
        The encoded file. Lossless codecs keep the sample depth of ``info.sample_format``
        (16-bit input round-trips exactly); integer codecs round to the nearest step.

    Raises
    ------
    InputError
        ``samples`` is not a finite float array with ``info.channels`` channels.
    UnsupportedFormatError
        ``info`` names a container/codec/rate/layout combination FFmpeg cannot write.
    """
    array = _check_samples(samples, info.channels)
    codec = CODECS.get(info.codec)
    wanted = bit_rate
    if wanted is None and info.bit_rate is not None and codec is not None:
        wanted = math.ceil(info.bit_rate * codec.headroom)
    return _encode(array, info.sample_rate, info.container, info.codec, info.layout, wanted, info.sample_format)


def encode_as(
    samples: npt.NDArray[Any],
    sample_rate: int,
    container: str,
    codec: str,
    *,
    bit_rate: int | None = None,
) -> bytes:
    """Encode ``samples`` at ``sample_rate`` with any supported ``container``/``codec`` pair.

    The layout is the default one for the channel count (see :func:`default_layout`); lossless
    codecs write 16-bit samples unless the codec is wider (``pcm_s24le``, ``pcm_s32le``,
    ``pcm_f32le``); ``bit_rate`` is in bits/s (lossy codecs only; default 96 kbit/s per
    channel, 64 for Opus). The rate must be one the encoder accepts (MP3: 8–48 kHz; Opus: 8,
    12, 16, 24 or 48 kHz), else :class:`UnsupportedFormatError` lists them.

    >>> import numpy as np
    >>> data = encode_as(np.zeros((4800, 2), np.float32), 48000, "ogg", "libopus", bit_rate=32000)
    >>> data[:4]
    b'OggS'
    """
    array = _check_samples(samples)
    layout = default_layout(array.shape[1])
    return _encode(array, int(sample_rate), container, codec, layout, bit_rate, None)
