"""Metadata labels in audio containers: WAV, MP3, FLAC, Ogg Vorbis/Opus, MP4/M4A.

Every file is made at run time with PyAV from an excerpt of a real recording in fixtures/audio.
Per format: round trip, relabel replaces, other tags kept, audio unchanged, typed errors on
truncated/corrupt/foreign input; hypothesis fuzzes the self-parsed RIFF and MP4 code.
"""

from __future__ import annotations

import io
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import av
import mutagen.flac
import mutagen.id3
import mutagen.mp4
import mutagen.oggopus
import mutagen.oggvorbis
import mutagen.wave
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthmark.aigc import AIGCLabel
from synthmark.audio import _flac, _m4a, _mp3, _ogg, _sniff, _wav
from synthmark.errors import (
    CorruptFileError,
    InputError,
    SynthmarkError,
    UnsupportedFormatError,
)
from synthmark.metadata import interpret
from tests.conftest import PROVIDER, fixture_bytes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


# --------------------------------------------------------------------------------------------
# Making real files with PyAV


def decode(data: bytes) -> tuple[np.ndarray, int]:
    """All samples of the first audio stream as float32 (channels, n), and the rate."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")
        chunks = [out.to_ndarray() for frame in container.decode(stream) for out in resampler.resample(frame)]
        return np.concatenate(chunks, axis=1), stream.rate


def packets(data: bytes) -> list[tuple[int | None, bytes]]:
    """The coded audio packets (pts, payload), as the demuxer hands them to a decoder."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return [(p.pts, bytes(p)) for p in container.demux(stream) if p.size]


def encode(
    samples: np.ndarray,
    rate: int,
    fmt: str,
    codec: str,
    *,
    options: dict[str, str] | None = None,
    codec_options: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
) -> bytes:
    with tempfile.TemporaryDirectory() as folder:  # faststart needs a real file to rewrite
        target = Path(folder) / f"out.{fmt}"
        _encode_to(str(target), samples, rate, fmt, codec, options, codec_options, metadata)
        return target.read_bytes()


def _encode_to(
    target: str,
    samples: np.ndarray,
    rate: int,
    fmt: str,
    codec: str,
    options: dict[str, str] | None,
    codec_options: dict[str, str] | None,
    metadata: dict[str, str] | None,
) -> None:
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    with av.open(target, "w", format=fmt, options=options or {}) as container:
        for key, value in (metadata or {}).items():
            container.metadata[key] = value
        stream = container.add_stream(codec, rate=rate, layout=layout, options=codec_options or {})
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=layout
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    samples, rate = decode((FIXTURES / "speech_en_female.flac").read_bytes())
    return samples[:, rate : rate + rate // 2].copy(), rate  # 0.5 s of speech keeps every file small


@dataclass(frozen=True)
class Kind:
    module: ModuleType
    carrier: str
    make: Callable[[np.ndarray, int], bytes]


def _m4a_file(faststart: bool) -> Callable[[np.ndarray, int], bytes]:
    flags = "+faststart" if faststart else ""
    return lambda s, r: encode(s, r, "ipod", "aac", options={"movflags": flags} if flags else None)


_INFO = {"title": "Title", "artist": "Artist"}  # FFmpeg writes these as a LIST/INFO chunk


def _vorbis(samples: np.ndarray, rate: int) -> bytes:
    stereo = np.repeat(samples[:1], 2, axis=0)  # FFmpeg's own Vorbis encoder is stereo only
    return encode(stereo, rate, "ogg", "vorbis", codec_options={"strict": "experimental"})


def _mp3_file(samples: np.ndarray, rate: int, id3v2_version: str) -> bytes:
    return encode(samples, rate, "mp3", "libmp3lame", options={"id3v2_version": id3v2_version})


KINDS: dict[str, Kind] = {
    "wav": Kind(_wav, "riff-aigc", lambda s, r: encode(s, r, "wav", "pcm_s16le", metadata=_INFO)),
    "wav-rf64": Kind(
        _wav, "riff-aigc", lambda s, r: encode(s, r, "wav", "pcm_s16le", options={"rf64": "always"}, metadata=_INFO)
    ),
    "wav-extensible": Kind(_wav, "riff-aigc", lambda s, r: encode(s, r, "wav", "pcm_s24le")),
    "mp3": Kind(_mp3, "id3-txxx", lambda s, r: encode(s, r, "mp3", "libmp3lame")),
    "mp3-id3v23": Kind(
        _mp3, "id3-txxx", lambda s, r: encode(s, r, "mp3", "libmp3lame", options={"id3v2_version": "3"})
    ),
    "mp3-no-id3": Kind(
        _mp3, "id3-txxx", lambda s, r: encode(s, r, "mp3", "libmp3lame", options={"id3v2_version": "0"})
    ),
    "flac": Kind(_flac, "vorbis-comment", lambda s, r: encode(s, r, "flac", "flac")),
    "ogg-vorbis": Kind(_ogg, "vorbis-comment", lambda s, r: _vorbis(s, r)),
    "ogg-opus": Kind(_ogg, "vorbis-comment", lambda s, r: encode(s, 48000, "ogg", "libopus")),  # Opus: 48 kHz
    "m4a": Kind(_m4a, "mp4-keys", _m4a_file(faststart=False)),
    "m4a-faststart": Kind(_m4a, "mp4-keys", _m4a_file(faststart=True)),
}


@pytest.fixture(scope="module")
def files(speech: tuple[np.ndarray, int]) -> dict[str, bytes]:
    samples, rate = speech
    return {name: kind.make(samples, rate) for name, kind in KINDS.items()}


def other_label() -> AIGCLabel:
    return AIGCLabel.new(PROVIDER, produce_id="relabel-0002", propagator_same=True)


# --------------------------------------------------------------------------------------------
# Every container


@pytest.mark.parametrize("name", KINDS)
def test_round_trip(name: str, files: dict[str, bytes], label: AIGCLabel) -> None:
    kind, data = KINDS[name], files[name]
    kind.module.check(data)
    assert kind.module.read_carriers(data) == []
    out = kind.module.write_label(data, label)
    kind.module.check(out)
    carriers = kind.module.read_carriers(out)
    assert [(c.name, c.text, c.problem) for c in carriers] == [(kind.carrier, label.to_json(), None)]
    reading = interpret(carriers, strict=True)
    assert reading.label == label and reading.form == "bare" and not reading.problems


@pytest.mark.parametrize("name", KINDS)
def test_relabel_replaces(name: str, files: dict[str, bytes], label: AIGCLabel) -> None:
    kind = KINDS[name]
    once = kind.module.write_label(files[name], label)
    twice = kind.module.write_label(once, other_label())
    thrice = kind.module.write_label(twice, other_label())
    carriers = kind.module.read_carriers(thrice)
    assert [c.text for c in carriers] == [other_label().to_json()]
    assert thrice == twice  # relabeling with the same label changes nothing


@pytest.mark.parametrize("name", KINDS)
def test_audio_unchanged(name: str, files: dict[str, bytes], label: AIGCLabel) -> None:
    kind, data = KINDS[name], files[name]
    out = kind.module.write_label(kind.module.write_label(data, other_label()), label)
    assert packets(out) == packets(data)
    before, _ = decode(data)
    after, _ = decode(out)
    assert np.array_equal(before, after)
    if kind.module is _wav:
        old, new = _wav.parse(data), _wav.parse(out)
        for chunk_id in (b"fmt ", b"data"):
            a, b = old.chunk(chunk_id), new.chunk(chunk_id)
            assert a is not None and b is not None
            assert data[a.payload_start : a.payload_end] == out[b.payload_start : b.payload_end]
    elif kind.module is _mp3:
        assert out[_mp3.audio_start(out) :] == data[_mp3.audio_start(data) :]
    elif kind.module is _flac:
        assert out[_flac.audio_start(out) :] == data[_flac.audio_start(data) :]


def _tag(name: str, data: bytes) -> bytes:
    """``data`` with a title and an artist written by mutagen (the way other taggers do)."""
    buffer = io.BytesIO(data)
    module = KINDS[name].module
    if module is _wav and data[:4] == b"RF64":
        return data  # mutagen cannot tag RF64; FFmpeg's LIST/INFO chunk holds title and artist
    if module is _wav:
        wave: Any = mutagen.wave.WAVE(buffer)
        wave.add_tags()
        wave.tags.add(mutagen.id3.TIT2(encoding=3, text=["Title"]))
        wave.tags.add(mutagen.id3.TPE1(encoding=3, text=["Artist"]))
        buffer.seek(0)
        wave.save(buffer)
    elif module is _mp3:
        tags: Any = mutagen.id3.ID3(buffer) if data[:3] == b"ID3" else mutagen.id3.ID3()
        tags.add(mutagen.id3.TIT2(encoding=3, text=["Title"]))
        tags.add(mutagen.id3.TPE1(encoding=3, text=["Artist"]))
        buffer.seek(0)
        tags.save(buffer, v2_version=4 if data[3:4] == b"\x04" or data[:3] != b"ID3" else 3)
    elif module is _m4a:
        mp4: Any = mutagen.mp4.MP4(buffer)
        mp4["\xa9nam"], mp4["\xa9ART"] = ["Title"], ["Artist"]
        buffer.seek(0)
        mp4.save(buffer)
    else:
        opener = {_flac: mutagen.flac.FLAC, _ogg: mutagen.oggvorbis.OggVorbis}[module]
        if name == "ogg-opus":
            opener = mutagen.oggopus.OggOpus
        audio: Any = opener(buffer)
        audio["title"], audio["artist"] = ["Title"], ["Artist"]
        buffer.seek(0)
        audio.save(buffer)
    return buffer.getvalue()


def _tags(name: str, data: bytes) -> dict[str, str]:
    """Title and artist as FFmpeg reads them (so a second reader confirms mutagen's view)."""
    with av.open(io.BytesIO(data)) as container:
        found = {**container.metadata, **container.streams.audio[0].metadata}
    return {k: found[k] for k in ("title", "artist") if k in found}


@pytest.mark.parametrize("name", KINDS)
def test_other_tags_preserved(name: str, files: dict[str, bytes], label: AIGCLabel) -> None:
    tagged = _tag(name, files[name])
    assert _tags(name, tagged) == {"title": "Title", "artist": "Artist"}
    out = KINDS[name].module.write_label(KINDS[name].module.write_label(tagged, label), other_label())
    assert _tags(name, out) == {"title": "Title", "artist": "Artist"}
    assert [c.text for c in KINDS[name].module.read_carriers(out)] == [other_label().to_json()]
    assert packets(out) == packets(files[name])


@pytest.mark.parametrize("name", KINDS)
def test_truncated_and_empty(name: str, files: dict[str, bytes]) -> None:
    module, data = KINDS[name].module, files[name]
    cuts = [0, 3, 12, 40]
    if module in (_wav, _ogg, _m4a):  # these structures say how long they are
        cuts += [len(data) // 2, len(data) - 1]
    for cut in cuts:
        for call in (module.check, module.read_carriers):
            with pytest.raises(CorruptFileError):
                call(data[:cut], path="cut.bin")
        with pytest.raises(CorruptFileError) as info:
            module.write_label(data[:cut], other_label(), path="cut.bin")
        assert info.value.path == "cut.bin" and info.value.fix


@pytest.mark.parametrize("name", KINDS)
@pytest.mark.parametrize("foreign", ["png", "jpeg", "text", "other-audio"])
def test_foreign_input(name: str, foreign: str, files: dict[str, bytes]) -> None:
    module = KINDS[name].module
    other = next(n for n, k in KINDS.items() if k.module is not module and not (module is _mp3 and k.module is _m4a))
    data = {
        "png": fixture_bytes("alpha.png"),
        "jpeg": fixture_bytes("small256.jpg"),
        "text": b"Just some text, not audio at all.\n" * 20,
        "other-audio": files[other],
    }[foreign]
    with pytest.raises(InputError):
        module.read_carriers(data)
    with pytest.raises(InputError):
        module.write_label(data, other_label())


# --------------------------------------------------------------------------------------------
# Container specifics


def test_wav_keeps_every_other_chunk_and_pads(files: dict[str, bytes], label: AIGCLabel) -> None:
    data = files["wav"]
    wave = _wav.parse(data)
    data_chunk = wave.chunk(b"data")
    assert data_chunk is not None and wave.chunk(b"LIST") is not None
    bext = b"bext" + struct.pack("<I", 3) + b"abc\0"  # odd size: pad byte follows
    with_bext = data[: data_chunk.start] + bext + data[data_chunk.start :]
    with_bext = with_bext[:4] + struct.pack("<I", len(with_bext) - 8) + with_bext[8:]
    out = _wav.write_label(with_bext, label)
    new = _wav.parse(out)
    assert [c.id for c in new.chunks] == [b"fmt ", b"LIST", b"bext", b"AIGC", b"data"]
    for chunk in _wav.parse(with_bext).chunks:
        copy = new.chunk(chunk.id)
        assert copy is not None and with_bext[chunk.start : chunk.payload_end] == out[copy.start : copy.payload_end]
    aigc = new.chunk(b"AIGC")
    assert aigc is not None and aigc.size == len(label.to_json().encode())
    assert aigc.start % 2 == 0 and new.chunk(b"data").start % 2 == 0  # type: ignore[union-attr]
    assert struct.unpack_from("<I", out, 4)[0] == len(out) - 8


def test_wav_rf64_and_extensible(files: dict[str, bytes], label: AIGCLabel) -> None:
    rf64 = _wav.parse(files["wav-rf64"])
    assert rf64.form == b"RF64" and rf64.sizes_in_ds64
    out = _wav.write_label(files["wav-rf64"], label)
    assert struct.unpack_from("<I", out, 4)[0] == 0xFFFFFFFF
    assert struct.unpack_from("<Q", out, 20)[0] == len(out) - 8  # ds64 RIFF size
    assert _wav.parse(files["wav-extensible"]).format_tag == 0xFFFE


def test_wav_duplicate_labels_collapse(files: dict[str, bytes], label: AIGCLabel) -> None:
    data = files["wav"]
    chunk = _wav.label_chunk(other_label())
    doubled = data[:12] + chunk + chunk + data[12:]
    doubled = doubled[:4] + struct.pack("<I", len(doubled) - 8) + doubled[8:]
    assert len(_wav.read_carriers(doubled)) == 2
    assert [c.text for c in _wav.read_carriers(_wav.write_label(doubled, label))] == [label.to_json()]


def test_wav_not_wave_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormatError):
        _wav.check(fixture_bytes("photo.webp"))


def test_mp3_keeps_id3_version(files: dict[str, bytes], label: AIGCLabel) -> None:
    assert files["mp3"][3] == 4 and files["mp3-id3v23"][3] == 3 and files["mp3-no-id3"][:3] != b"ID3"
    assert _mp3.write_label(files["mp3"], label)[3] == 4
    assert _mp3.write_label(files["mp3-id3v23"], label)[3] == 3
    assert _mp3.write_label(files["mp3-no-id3"], label)[:4] == b"ID3\x04"


def test_mp3_keeps_id3v1_tail(files: dict[str, bytes], label: AIGCLabel) -> None:
    v1 = b"TAG" + b"Old title".ljust(30, b"\0") + bytes(95)
    data = files["mp3"] + v1
    out = _mp3.write_label(data, label)
    assert out.endswith(v1) and out[_mp3.audio_start(out) :] == data[_mp3.audio_start(data) :]


def test_vorbis_comment_field_is_case_insensitive(files: dict[str, bytes], label: AIGCLabel) -> None:
    buffer = io.BytesIO(files["flac"])
    flac: Any = mutagen.flac.FLAC(buffer)
    flac["aigc"] = [other_label().to_json()]
    buffer.seek(0)
    flac.save(buffer)
    assert [c.text for c in _flac.read_carriers(buffer.getvalue())] == [other_label().to_json()]
    assert [c.text for c in _flac.read_carriers(_flac.write_label(buffer.getvalue(), label))] == [label.to_json()]


def _ogg_page(packet: bytes, header_type: int) -> bytes:
    """One Ogg page holding ``packet`` (CRC left zero: only the page structure is read here)."""
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    return b"OggS\0" + bytes([header_type]) + bytes(8) + b"\1\0\0\0" + bytes(8) + bytes([len(lacing)]) + lacing + packet


def test_ogg_flac_is_unsupported() -> None:
    data = _ogg_page(b"\x7fFLAC\x01\x00\x00\x01fLaC" + bytes(38), 0x02) + _ogg_page(bytes(40), 0x04)
    assert _sniff.ogg_codec(data) == "flac"
    with pytest.raises(UnsupportedFormatError, match="Ogg Flac"):
        _ogg.check(data)


def _ffmpeg_metadata(data: bytes) -> dict[str, str]:
    with av.open(io.BytesIO(data)) as container:
        return dict(container.metadata)


@pytest.mark.parametrize("name", ["m4a", "m4a-faststart"])
def test_m4a_written_in_ffmpegs_keys_form(name: str, files: dict[str, bytes], label: AIGCLabel) -> None:
    out = _m4a.write_label(_tag(name, files[name]), label)
    assert _ffmpeg_metadata(out)["AIGC"] == label.to_json()  # FFmpeg reads the keys form
    moov = _m4a.parse_moov(out)
    udta = moov.find(b"udta")
    assert udta is not None
    metas = udta.all(b"meta")
    # mutagen's iTunes meta stays first (where iTunes-style readers look), ours follows.
    assert [m.find(b"hdlr").prefix[8:12] for m in metas] == [b"mdir", b"mdta"]  # type: ignore[union-attr]
    keys = metas[1].find(b"keys")
    assert keys is not None and keys.prefix.endswith(struct.pack(">I4s", 12, b"mdta") + b"AIGC")
    item = metas[1].find(b"ilst").children[0]  # type: ignore[union-attr,index]
    assert item.type == struct.pack(">I", 1)
    assert item.children[0].prefix[:8] == struct.pack(">II", 1, 0)  # type: ignore[index]
    tags: Any = mutagen.mp4.MP4(io.BytesIO(out))
    assert tags["\xa9nam"] == ["Title"]
    order = [s for s in (b"moov", b"mdat") if s in out]
    assert (out.index(b"moov") < out.index(b"mdat")) == (name == "m4a-faststart") and order


def test_m4a_relabels_ffmpeg_keys_and_keeps_other_keys(speech: tuple[np.ndarray, int], label: AIGCLabel) -> None:
    meta = {"title": "Kept", "AIGC": other_label().to_json(), "comment": "also kept"}
    data = encode(*speech, "ipod", "aac", options={"movflags": "use_metadata_tags+faststart"}, metadata=meta)
    assert [(c.name, c.text) for c in _m4a.read_carriers(data)] == [("mp4-keys", other_label().to_json())]
    out = _m4a.write_label(data, label)
    seen = _ffmpeg_metadata(out)
    assert seen["AIGC"] == label.to_json() and seen["title"] == "Kept" and seen["comment"] == "also kept"
    assert packets(out) == packets(data)
    assert len(_m4a.read_carriers(out)) == 1


def test_m4a_reads_and_syncs_itunes_freeform(files: dict[str, bytes], label: AIGCLabel) -> None:
    buffer = io.BytesIO(files["m4a"])
    mp4: Any = mutagen.mp4.MP4(buffer)
    mp4["----:com.apple.iTunes:AIGC"] = [mutagen.mp4.MP4FreeForm(other_label().to_json().encode())]
    mp4["\xa9nam"] = ["Title"]
    buffer.seek(0)
    mp4.save(buffer)
    tagged = buffer.getvalue()
    assert [(c.name, c.text) for c in _m4a.read_carriers(tagged)] == [("mp4-freeform", other_label().to_json())]
    out = _m4a.write_label(tagged, label)
    carriers = _m4a.read_carriers(out)
    assert sorted(c.name for c in carriers) == ["mp4-freeform", "mp4-keys"]
    assert {c.text for c in carriers} == {label.to_json()}
    # The copy that arrived in the iTunes freeform atom is kept in step and reported (one label per file).
    assert [p.code for p in interpret(carriers).problems] == ["duplicate-labels"]
    assert dict(mutagen.mp4.MP4(io.BytesIO(out)).tags or {})["\xa9nam"] == ["Title"]  # type: ignore[no-untyped-call]


def test_m4a_free_box_absorbs_size_changes(files: dict[str, bytes]) -> None:
    long_label = AIGCLabel.new(PROVIDER, produce_id="x" * 200)
    short_label = AIGCLabel.new(PROVIDER, produce_id="y")
    grown = _m4a.write_label(files["m4a-faststart"], long_label)
    shrunk = _m4a.write_label(grown, short_label)
    assert len(shrunk) == len(grown) and shrunk.index(b"mdat") == grown.index(b"mdat")  # free box fills in
    regrown = _m4a.write_label(shrunk, long_label)
    assert regrown == grown.replace(b"moov", b"moov")  # the free box gave its room back
    assert packets(regrown) == packets(files["m4a-faststart"])


def _with_co64(data: bytes) -> bytes:
    """``data`` (moov first) with its stco boxes turned into co64, offsets moved accordingly."""
    moov = _m4a.parse_moov(data)
    boxes = [n for n in moov.walk() if n.type == b"stco"]
    growth = sum(4 * struct.unpack_from(">I", box.prefix, 4)[0] for box in boxes)
    for box in boxes:
        (count,) = struct.unpack_from(">I", box.prefix, 4)
        offsets = struct.unpack_from(f">{count}I", box.prefix, 8)
        box.type = b"co64"
        box.prefix = box.prefix[:8] + struct.pack(f">{count}Q", *(o + growth for o in offsets))
    start = data.index(b"moov") - 4
    (size,) = struct.unpack_from(">I", data, start)
    return data[:start] + moov.encode() + data[start + size :]


def test_m4a_moves_co64_offsets(files: dict[str, bytes], label: AIGCLabel) -> None:
    data = _with_co64(files["m4a-faststart"])
    assert packets(data) == packets(files["m4a-faststart"])  # the co64 file itself is right
    out = _m4a.write_label(data, label)
    assert packets(out) == packets(data)


def test_m4a_fragmented(speech: tuple[np.ndarray, int], label: AIGCLabel) -> None:
    relative = encode(*speech, "mp4", "aac", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"})
    out = _m4a.write_label(relative, label)
    assert packets(out) == packets(relative) and _ffmpeg_metadata(out)["AIGC"] == label.to_json()
    absolute = encode(*speech, "mp4", "aac", options={"movflags": "frag_keyframe+empty_moov"})
    out = _m4a.write_label(absolute, label)  # tfhd base offsets and the mfra index move along
    assert packets(out) == packets(absolute) and _ffmpeg_metadata(out)["AIGC"] == label.to_json()


def test_m4a_reads_quicktime_meta_in_moov(files: dict[str, bytes], label: AIGCLabel) -> None:
    """Apple writes mdta metadata straight in moov, with no version/flags on the meta box."""
    data = files["m4a"]
    moov = _m4a.parse_moov(data)
    keys = _m4a.Node(b"keys", bytes(4) + struct.pack(">I", 1) + struct.pack(">I4s", 12, b"mdta") + b"AIGC")
    value = _m4a.Node(b"data", struct.pack(">II", 1, 0) + other_label().to_json().encode())
    hdlr = _m4a.Node(b"hdlr", bytes(8) + b"mdta" + bytes(13))
    meta = _m4a.Node(
        b"meta", b"", [hdlr, keys, _m4a.Node(b"ilst", children=[_m4a.Node(b"\0\0\0\1", children=[value])])]
    )
    moov.children = [*(moov.children or []), meta]
    start = data.index(b"moov") - 4
    apple = data[:start] + moov.encode()  # moov is the last box of this file
    assert [(c.name, c.text) for c in _m4a.read_carriers(apple)] == [("mp4-keys", other_label().to_json())]
    out = _m4a.write_label(apple, label)
    assert [c.text for c in _m4a.read_carriers(out)] == [label.to_json(), label.to_json()]


def test_sniff_table(files: dict[str, bytes], speech: tuple[np.ndarray, int]) -> None:
    for name, data in files.items():
        row = next(row for row in _sniff.AUDIO_MAGIC if row.matches(data))
        assert row.codec == KINDS[name].module.__name__, name
    assert _sniff.ogg_codec(files["ogg-vorbis"]) == "vorbis" and _sniff.ogg_codec(files["ogg-opus"]) == "opus"
    assert _sniff.mp4_media_type(files["m4a"]) == "audio/mp4"
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=5)
        stream.width = stream.height = 32
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    assert _sniff.mp4_media_type(buffer.getvalue()) == "video/mp4"
    assert _sniff.mp4_media_type(b"not an mp4") == "video/mp4"
    assert not any(row.matches(fixture_bytes("alpha.png")) for row in _sniff.AUDIO_MAGIC)


# --------------------------------------------------------------------------------------------
# Fuzzing the self-parsed structures


@pytest.fixture(scope="module")
def tiny(speech: tuple[np.ndarray, int]) -> dict[str, bytes]:
    samples, rate = speech
    short = samples[:, : rate // 20]
    label = AIGCLabel.new(PROVIDER, produce_id="fuzz")
    return {
        "wav": _wav.write_label(encode(short, rate, "wav", "pcm_s16le", metadata={"title": "T"}), label),
        "wav-rf64": _wav.write_label(encode(short, rate, "wav", "pcm_s16le", options={"rf64": "always"}), label),
        "m4a": _m4a.write_label(_tag("m4a", encode(short, rate, "ipod", "aac")), label),
        "m4a-faststart": _m4a.write_label(
            encode(short, rate, "ipod", "aac", options={"movflags": "+faststart"}), label
        ),
        "mp4-fragmented": encode(short, rate, "mp4", "aac", options={"movflags": "frag_keyframe+empty_moov"}),
    }


def _survives(module: ModuleType, data: bytes) -> None:
    """Only synthmark's own errors (never a bug guard) may come out, and a write reads back."""
    try:
        module.check(data)
        module.read_carriers(data)
        out = module.write_label(data, other_label())
    except SynthmarkError as exc:
        assert exc.fix != "report this bug", exc
        return
    assert other_label().to_json() in [c.text for c in module.read_carriers(out)]


_mutations = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=6)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None, focus: tuple[int, int]) -> bytes:
    buffer = bytearray(data)
    lo, hi = focus
    for position, value in edits:
        buffer[lo + position % (hi - lo)] = value
    return bytes(buffer[:cut] if cut is not None else buffer)


def _moov_span(data: bytes) -> tuple[int, int]:
    start = data.index(b"moov") - 4
    return start, start + struct.unpack_from(">I", data, start)[0]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["wav", "wav-rf64"]), edits=_mutations, cut=st.none() | st.integers(0, 4000))
def test_fuzz_riff(tiny: dict[str, bytes], name: str, edits: list[tuple[int, int]], cut: int | None) -> None:
    data = tiny[name]
    header_end = _wav.parse(data).chunk(b"data").payload_start  # type: ignore[union-attr]
    _survives(_wav, _mutate(data, edits, cut, (0, header_end)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["m4a", "m4a-faststart", "mp4-fragmented"]),
    edits=_mutations,
    cut=st.none() | st.integers(0, 3000),
)
def test_fuzz_mp4(tiny: dict[str, bytes], name: str, edits: list[tuple[int, int]], cut: int | None) -> None:
    data = tiny[name]
    focus = (0, len(data)) if name == "mp4-fragmented" else _moov_span(data)  # fragments hold offsets too
    _survives(_m4a, _mutate(data, edits, cut, focus))


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=300))
def test_fuzz_random_boxes_and_chunks(body: bytes) -> None:
    _survives(_wav, b"RIFF" + struct.pack("<I", len(body) + 4) + b"WAVE" + body)
    _survives(_m4a, struct.pack(">I4s", 16, b"ftyp") + b"M4A \0\0\0\0" + body)
    _survives(_m4a, struct.pack(">I4s", len(body) + 8, b"moov") + body)


@pytest.mark.parametrize("name", KINDS)
def test_reencode_carries_other_tags(name: str, files: dict[str, bytes]) -> None:
    """The audible label re-encodes the audio: title and artist (ID3, Vorbis comments, MP4
    items, WAV LIST/INFO or id3 chunks) come through, read back by FFmpeg."""
    from synthmark import audio

    tagged = _tag(name, files[name])
    out, _ = audio.relabel_content(tagged, audio.AudibleStyle(), None)
    assert decode(out)[0].shape[1] > decode(tagged)[0].shape[1]  # really re-encoded, prompt added
    assert _tags(name, out) == {"title": "Title", "artist": "Artist"}
