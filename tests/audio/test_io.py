"""Audio I/O through PyAV: round trips per container, sample depth, rates, channel layouts, bad input."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import numpy as np
import pytest

from synthmark.audio import _io
from synthmark.audio._io import (
    CODECS,
    CONTAINERS,
    AudioInfo,
    decode_audio,
    encode_as,
    encode_audio,
)
from synthmark.errors import CorruptFileError, InputError, TooLargeError, UnsupportedFormatError

from ..conftest import lag

AUDIO = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


def on_16bit_grid(samples: np.ndarray) -> np.ndarray:
    return (np.clip(np.rint(samples * 32768.0), -32768, 32767) / 32768.0).astype(np.float32)


def excerpt(name: str, seconds: float = 4.0) -> tuple[np.ndarray, int]:
    samples, info = decode_audio(AUDIO / name)
    return samples[: round(seconds * info.sample_rate)].copy(), info.sample_rate


@pytest.fixture(scope="module")
def music() -> tuple[np.ndarray, int]:
    return excerpt("music_orchestral.flac")


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    return excerpt("speech_en_female.flac")


def tone(rate: int, channels: int, seconds: float = 1.0) -> np.ndarray:
    """A different tone in each channel plus a little noise, on the 16-bit grid."""
    t = np.arange(round(rate * seconds)) / rate
    noise = np.random.default_rng(channels).normal(0, 0.01, (t.size, channels))
    columns = [0.4 * np.sin(2 * np.pi * 110 * (c + 1) * t) for c in range(channels)]
    return on_16bit_grid(np.stack(columns, axis=1) + noise)


def wav_bytes(channels: int, rate: int, data: bytes, bits: int = 16, declared: int | None = None) -> bytes:
    """A canonical PCM WAV with exactly these header fields (nothing checked)."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- the fixtures themselves --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "channels", "min_seconds"),
    [
        ("speech_en_female.flac", 1, 30),
        ("speech_it_male.flac", 1, 30),
        ("music_orchestral.flac", 2, 30),
        ("music_electronic.flac", 2, 30),
        ("mix_interferer.flac", 2, 10),
    ],
)
def test_fixtures_decode_as_documented(name: str, channels: int, min_seconds: float) -> None:
    samples, info = decode_audio(AUDIO / name)
    assert info == AudioInfo("flac", "flac", 44100, channels, "mono" if channels == 1 else "stereo", None, "s16")
    assert samples.dtype == np.float32 and samples.shape[1] == channels
    assert min_seconds <= samples.shape[0] / 44100 <= 45
    assert 0.3 < float(np.abs(samples).max()) <= 0.9
    np.testing.assert_array_equal(samples, on_16bit_grid(samples))


# --- lossless round trips ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec"), [("wav", "pcm_s16le"), ("flac", "flac"), ("m4a", "alac"), ("ogg", "flac")]
)
def test_lossless_16bit_round_trip_is_exact(music: tuple[np.ndarray, int], container: str, codec: str) -> None:
    samples, rate = music
    data = encode_as(samples, rate, container, codec)
    decoded, info = decode_audio(data)
    assert (info.container, info.codec, info.sample_rate, info.channels, info.layout) == (
        container,
        codec,
        rate,
        2,
        "stereo",
    )
    assert info.bit_rate is None and info.sample_format == "s16"
    np.testing.assert_array_equal(decoded, samples)
    # ...and again through encode_audio with the info it returned.
    again, info2 = decode_audio(encode_audio(decoded, info))
    assert info2 == info
    np.testing.assert_array_equal(again, samples)


def test_lossless_quantises_to_the_nearest_16bit_step() -> None:
    samples = np.random.default_rng(0).uniform(-0.9, 0.9, (5000, 2)).astype(np.float32)
    decoded, _ = decode_audio(encode_as(samples, 48000, "flac", "flac"))
    np.testing.assert_array_equal(decoded, on_16bit_grid(samples))
    assert float(np.abs(decoded - samples).max()) <= 0.5 / 32768 + 1e-9


@pytest.mark.parametrize(
    ("codec", "sample_format", "step"),
    [
        ("pcm_s24le", "s32", 2.0**-23),
        ("pcm_s32le", "s32", 2.0**-31),
        ("pcm_f32le", "flt", 0.0),
        ("pcm_u8", "u8", 2.0**-7),
    ],
)
def test_wav_depth_is_kept(codec: str, sample_format: str, step: float) -> None:
    samples = np.random.default_rng(1).uniform(-0.9, 0.9, (3000, 1)).astype(np.float32)
    decoded, info = decode_audio(encode_as(samples, 44100, "wav", codec))
    assert (info.codec, info.sample_format) == (codec, sample_format)
    assert float(np.abs(decoded - samples).max()) <= step / 2 + 1e-7
    # Re-encoding what was decoded changes nothing at that depth.
    np.testing.assert_array_equal(decode_audio(encode_audio(decoded, info))[0], decoded)


def test_24bit_flac_stays_24bit() -> None:
    samples = np.random.default_rng(2).uniform(-0.5, 0.5, (4000, 2)).astype(np.float32)
    as24 = decode_audio(encode_as(samples, 96000, "wav", "pcm_s24le"))[0]
    info = AudioInfo("flac", "flac", 96000, 2, "stereo", None, "s32")
    decoded, info2 = decode_audio(encode_audio(as24, info))
    assert info2.sample_format == "s32"
    np.testing.assert_array_equal(decoded, as24)


# --- lossy round trips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "rate", "bit_rate"),
    [
        ("mp3", "libmp3lame", 44100, 128_000),
        ("m4a", "aac", 44100, 128_000),
        ("ogg", "libopus", 48000, 64_000),
        ("ogg", "vorbis", 44100, None),
    ],
)
def test_lossy_round_trip_keeps_rate_length_and_alignment(
    music: tuple[np.ndarray, int], container: str, codec: str, rate: int, bit_rate: int | None
) -> None:
    samples, _ = music  # 44.1 kHz; Opus is fed the same samples declared as 48 kHz
    decoded, info = decode_audio(encode_as(samples, rate, container, codec, bit_rate=bit_rate))
    assert (info.container, info.codec, info.sample_rate, info.channels, info.layout) == (
        container,
        codec,
        rate,
        2,
        "stereo",
    )
    assert info.sample_format == "flt" and info.bit_rate is not None
    # FFmpeg removes the encoder delay: same start; the end padding is cut where the container
    # says how long the audio is (M4A, Ogg; FFmpeg's Vorbis encoder rounds up to 64 samples).
    assert lag(samples, decoded, search=3000) == 0
    assert samples.shape[0] <= decoded.shape[0] <= samples.shape[0] + 63
    if bit_rate is not None:
        assert 0.8 * bit_rate < info.bit_rate < 1.3 * bit_rate  # VBR Opus spends more on dense music


@pytest.mark.parametrize(("container", "codec"), [("mp3", "libmp3lame"), ("m4a", "aac"), ("ogg", "libopus")])
def test_reencoding_keeps_at_least_the_input_bit_rate(
    music: tuple[np.ndarray, int], container: str, codec: str
) -> None:
    samples, rate = music
    rate = 48000 if codec == "libopus" else rate
    decoded, info = decode_audio(encode_as(samples, rate, container, codec, bit_rate=96_000))
    again, info2 = decode_audio(encode_audio(decoded, info))
    assert (info2.container, info2.codec, info2.sample_rate, info2.layout) == (container, codec, rate, "stereo")
    assert info2.bit_rate is not None and info.bit_rate is not None
    assert info2.bit_rate >= info.bit_rate
    assert again.shape == decoded.shape
    # An explicit bit rate is used as given.
    low = decode_audio(encode_audio(decoded, info, bit_rate=48_000))[1]
    assert low.bit_rate is not None and low.bit_rate < 0.7 * info.bit_rate


def test_mp3_bit_rate_follows_the_ladder(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    _, info = decode_audio(encode_as(samples, rate, "mp3", "libmp3lame", bit_rate=128_000))
    assert info.bit_rate is not None and 128_000 <= info.bit_rate < 131_000  # the Xing frame adds a little
    _, info2 = decode_audio(encode_audio(decode_audio(encode_as(samples, rate, "mp3", "libmp3lame"))[0], info))
    assert info2.bit_rate is not None and 128_000 <= info2.bit_rate < 131_000  # not bumped to 160k
    odd = AudioInfo("mp3", "libmp3lame", rate, 1, "mono", 137_000, "flt")
    _, info3 = decode_audio(encode_audio(samples, odd))
    assert info3.bit_rate is not None and info3.bit_rate >= 160_000


# --- rates and channel layouts -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "rate"),
    [
        ("wav", "pcm_s16le", 8000),
        ("flac", "flac", 8000),
        ("mp3", "libmp3lame", 8000),
        ("ogg", "libopus", 8000),
        ("m4a", "aac", 8000),
        ("wav", "pcm_s16le", 96000),
        ("flac", "flac", 96000),
        ("m4a", "aac", 96000),
        ("flac", "flac", 192000),
    ],
)
def test_low_and_high_rates(container: str, codec: str, rate: int) -> None:
    samples = tone(rate, 1, 0.5)
    decoded, info = decode_audio(encode_as(samples, rate, container, codec))
    # FFmpeg's Opus decoder always delivers 48 kHz, whatever rate was encoded.
    decoded_rate = 48000 if codec == "libopus" else rate
    assert info.sample_rate == decoded_rate and info.channels == 1 and info.layout == "mono"
    assert abs(decoded.shape[0] - samples.shape[0] * decoded_rate // rate) <= 63
    if CODECS[codec].lossless:
        np.testing.assert_array_equal(decoded, samples)


@pytest.mark.parametrize(
    ("container", "codec", "layout"),
    [
        ("wav", "pcm_s16le", "5.1"),
        ("flac", "flac", "5.1"),
        ("m4a", "aac", "5.1"),
        ("ogg", "libopus", "5.1"),
        ("wav", "pcm_s16le", "7.1"),
        ("flac", "flac", "7.1"),
    ],
)
def test_multichannel_layouts_are_kept(container: str, codec: str, layout: str) -> None:
    channels = av.AudioLayout(layout).nb_channels
    rate = 48000
    samples = tone(rate, channels, 0.5)
    decoded, info = decode_audio(encode_as(samples, rate, container, codec))
    assert (info.channels, info.layout) == (channels, layout)
    if CODECS[codec].lossless:
        np.testing.assert_array_equal(decoded, samples)
    else:
        # Each channel keeps its own tone (no channel swapped or downmixed). The LFE channel is
        # low-passed by the codec (around 120 Hz for AAC), so its tone is not expected through.
        names = [channel.name for channel in av.AudioLayout(layout).channels]
        for c in (c for c in range(channels) if names[c] != "LFE"):
            corr = [abs(np.corrcoef(samples[:, c], decoded[: samples.shape[0], k])[0, 1]) for k in range(channels)]
            assert int(np.argmax(corr)) == c and corr[c] > 0.9
        info2 = decode_audio(encode_audio(decoded, info))[1]
        assert (info2.channels, info2.layout) == (channels, layout)


def test_unspecified_wav_layout_gets_the_default_name() -> None:
    data = wav_bytes(1, 16000, np.zeros(1600, np.int16).tobytes())
    samples, info = decode_audio(data)
    assert info.layout == "mono" and samples.shape == (1600, 1)


def test_unsupported_encodings_are_refused_with_the_alternatives() -> None:
    with pytest.raises(UnsupportedFormatError, match="at most 2 channels"):
        encode_as(tone(44100, 6, 0.1), 44100, "mp3", "libmp3lame")
    with pytest.raises(UnsupportedFormatError, match=r"44100 Hz.*48000"):
        encode_as(tone(44100, 2, 0.1), 44100, "ogg", "libopus")
    with pytest.raises(UnsupportedFormatError, match="cannot be written to wav"):
        encode_as(tone(44100, 2, 0.1), 44100, "wav", "aac")
    with pytest.raises(UnsupportedFormatError, match="unknown audio container"):
        encode_as(tone(44100, 2, 0.1), 44100, "aiff", "pcm_s16le")
    with pytest.raises(UnsupportedFormatError, match="outside"):
        encode_as(tone(8000, 1, 0.1), 4000, "wav", "pcm_s16le")


def test_encode_rejects_bad_samples() -> None:
    info = AudioInfo("wav", "pcm_s16le", 44100, 2, "stereo", None, "s16")
    with pytest.raises(InputError, match="channels"):
        encode_audio(np.zeros((100, 1), np.float32), info)
    with pytest.raises(InputError, match="float"):
        encode_audio(np.zeros((100, 2), np.int16), info)
    with pytest.raises(InputError, match="NaN"):
        encode_audio(np.full((100, 2), np.nan, np.float32), info)
    with pytest.raises(InputError, match="shape"):
        encode_audio(np.zeros((0, 2), np.float32), info)


def test_encode_clips_and_does_not_modify_its_input() -> None:
    samples = np.array([[1.5], [-2.0], [0.25]], dtype=np.float32)
    before = samples.copy()
    decoded, _ = decode_audio(encode_as(samples, 8000, "wav", "pcm_s16le"))
    np.testing.assert_array_equal(samples, before)
    np.testing.assert_array_equal(decoded[:, 0], [32767 / 32768, -1.0, 0.25])


def test_encoding_is_reproducible(speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    for container, codec in (("flac", "flac"), ("mp3", "libmp3lame"), ("m4a", "aac")):
        assert encode_as(samples, rate, container, codec) == encode_as(samples, rate, container, codec)


# --- sources and names -------------------------------------------------------------------------


def test_path_and_bytes_give_the_same_result(tmp_path: Path, speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    data = encode_as(samples, rate, "mp3", "libmp3lame")
    path = tmp_path / "clip.mp3"
    path.write_bytes(data)
    from_bytes, info_bytes = decode_audio(data)
    from_path, info_path = decode_audio(path)
    from_str, _ = decode_audio(str(path))
    assert info_bytes == info_path
    np.testing.assert_array_equal(from_bytes, from_path)
    np.testing.assert_array_equal(from_bytes, from_str)


def test_lossy_overshoot_is_clipped() -> None:
    # A full-scale square wave makes every lossy codec ring past ±1.
    square = np.where(np.sin(2 * np.pi * 200 * np.arange(44100) / 44100) >= 0, 1.0, -1.0).astype(np.float32)
    decoded, _ = decode_audio(encode_as(square[:, None], 44100, "mp3", "libmp3lame"))
    assert float(np.abs(decoded).max()) <= 1.0


# --- bad input ---------------------------------------------------------------------------------


def test_truncated_mp3_is_corrupt(tmp_path: Path, speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech
    data = encode_as(samples, rate, "mp3", "libmp3lame")
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated") as err:
        decode_audio(path)
    assert err.value.path == str(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("container", "codec"),
    [("flac", "flac"), ("wav", "pcm_s16le"), ("m4a", "aac"), ("ogg", "libopus"), ("ogg", "vorbis")],
)
def test_truncated_files_are_corrupt(music: tuple[np.ndarray, int], container: str, codec: str) -> None:
    samples, rate = music
    data = encode_as(samples, 48000 if codec == "libopus" else rate, container, codec)
    with pytest.raises(CorruptFileError) as err:
        decode_audio(data[: len(data) * 2 // 3], path=f"cut.{container}")
    assert f"cut.{container}" in str(err.value)


def test_empty_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(CorruptFileError, match="empty") as err:
        decode_audio(path)
    assert str(path) in str(err.value)


def test_zero_length_wav_is_corrupt() -> None:
    with pytest.raises(CorruptFileError, match="no audio samples") as err:
        decode_audio(wav_bytes(2, 44100, b""), path="silent.wav")
    assert "silent.wav" in str(err.value)


def test_random_bytes_are_unsupported() -> None:
    data = np.random.default_rng(5).bytes(20_000)
    with pytest.raises(UnsupportedFormatError, match="not an audio format") as err:
        decode_audio(data, path="noise.bin")
    assert "noise.bin" in str(err.value) and ".wav" in str(err.value)


def test_damaged_header_of_a_known_format_is_corrupt() -> None:
    with pytest.raises(CorruptFileError, match="damaged") as err:
        decode_audio(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk", path="bad.wav")
    assert "bad.wav" in str(err.value)


def test_wav_with_zero_channels_is_refused() -> None:
    with pytest.raises(CorruptFileError, match="0 audio channels") as err:
        decode_audio(wav_bytes(0, 44100, b"\0" * 100), path="zero.wav")
    assert "zero.wav" in str(err.value)


@pytest.mark.parametrize("rate", [1, 4000, 384_000])
def test_absurd_sample_rates_are_unsupported(rate: int) -> None:
    with pytest.raises(UnsupportedFormatError, match=f"sample rate {rate} Hz") as err:
        decode_audio(wav_bytes(1, rate, b"\0" * 200), path="odd.wav")
    assert "odd.wav" in str(err.value)


def test_other_containers_and_codecs_are_unsupported(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="adts") as output:  # raw AAC, no container we write
        stream = output.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4410), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            output.mux(packet)
    with pytest.raises(UnsupportedFormatError, match="container 'aac'"):
        decode_audio(buffer.getvalue())
    with pytest.raises(UnsupportedFormatError, match="codec 'pcm_alaw'"):
        alaw = wav_bytes(1, 8000, b"\x55" * 800, bits=8).replace(b"\x01\x00\x01\x00", b"\x06\x00\x01\x00", 1)
        decode_audio(alaw)


def test_missing_path_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        decode_audio(tmp_path / "nope.wav")
    with pytest.raises(UnsupportedFormatError, match="directory"):
        decode_audio(tmp_path)


def test_duration_limit(monkeypatch: pytest.MonkeyPatch, speech: tuple[np.ndarray, int]) -> None:
    samples, rate = speech  # 4 s
    data = encode_as(samples, rate, "flac", "flac")
    monkeypatch.setattr(_io, "MAX_SECONDS", 2)
    with pytest.raises(TooLargeError, match="4 s long, over the 2 s limit") as err:
        decode_audio(data, path="long.flac")
    assert "long.flac" in str(err.value)
    # A header that hides or understates the length is caught while decoding.
    monkeypatch.setattr(_io, "_declared_seconds", lambda container, stream: None)
    with pytest.raises(TooLargeError, match="longer than the 2 s limit"):
        decode_audio(data, path="long.flac")


def test_registry_is_consistent() -> None:
    for container in CONTAINERS.values():
        for codec in container.codecs:
            assert codec in CODECS
    for name, codec in CODECS.items():
        assert codec.encoder == name
        av.Codec(name, "w")  # every encoder exists in this PyAV build


def test_wav_with_zero_bits_per_sample_is_corrupt() -> None:
    # FFmpeg opens it but finds no decoder for 0-bit PCM.
    with pytest.raises(CorruptFileError, match="header is damaged") as err:
        decode_audio(wav_bytes(1, 16000, b"\0" * 3200, bits=0), path="zero-bits.wav")
    assert "zero-bits.wav" in str(err.value)
