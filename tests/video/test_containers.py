"""MP4/MOV and Matroska/WebM metadata labels: written without re-encoding, other tags kept, one
label per file, read back by FFmpeg; sniffing; damaged and foreign input; fuzzing of the EBML
code this package parses itself (the MP4 box code is fuzzed in tests/audio)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from types import ModuleType

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synthmark.aigc import AIGCLabel
from synthmark.errors import CorruptFileError, InputError, MetadataError, SynthmarkError, UnsupportedFormatError
from synthmark.formats import sniff
from synthmark.video import _mkv, _mp4, _sniff
from tests.conftest import PROVIDER, fixture_bytes

MODULES: dict[str, ModuleType] = {".mp4": _mp4, ".mov": _mp4, ".mkv": _mkv, ".webm": _mkv}
CARRIER = {".mp4": "mp4-keys", ".mov": "mp4-keys", ".mkv": "mkv-tag", ".webm": "mkv-tag"}
VIDEO_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "video"


def other_label() -> AIGCLabel:
    return AIGCLabel.new(PROVIDER, produce_id="other-" + "x" * 80)


def packets(data: bytes) -> list[tuple[int, int | None, bytes]]:
    with av.open(io.BytesIO(data)) as container:
        return [(p.stream.index, p.pts, bytes(p)) for p in container.demux() if p.size]


def ffmpeg_tags(data: bytes) -> dict[str, str]:
    with av.open(io.BytesIO(data)) as container:
        return dict(container.metadata)


@pytest.mark.parametrize("suffix", MODULES)
def test_round_trip_keeps_media_and_tags(suffix: str, clips: dict[str, Path], label: AIGCLabel) -> None:
    module, data = MODULES[suffix], clips[suffix].read_bytes()
    assert module.read_carriers(data) == []
    out = module.write_label(data, label)
    assert [(c.name, c.text) for c in module.read_carriers(out)] == [(CARRIER[suffix], label.to_json())]
    assert module.read_label(out) == label.to_json()
    assert packets(out) == packets(data)  # coded video, audio and subtitles untouched
    before, after = ffmpeg_tags(data), ffmpeg_tags(out)
    assert after.pop("AIGC") == label.to_json()  # FFmpeg reads the label too
    assert after == before  # the title and every other tag kept


@pytest.mark.parametrize("suffix", MODULES)
def test_relabel_replaces_and_grows_and_shrinks(suffix: str, clips: dict[str, Path], label: AIGCLabel) -> None:
    module, data = MODULES[suffix], clips[suffix].read_bytes()
    once = module.write_label(data, label)
    grown = module.write_label(once, other_label())
    shrunk = module.write_label(grown, label)
    for out, expected in ((grown, other_label()), (shrunk, label)):
        assert [c.text for c in module.read_carriers(out)] == [expected.to_json()]
        assert ffmpeg_tags(out)["AIGC"] == expected.to_json()
        assert packets(out) == packets(data)


def test_mkv_label_written_by_ffmpeg_is_replaced(clips: dict[str, Path], label: AIGCLabel) -> None:
    data = _mkv.write_label(clips[".mkv"].read_bytes(), other_label())
    remuxed = _remux_with_tag(data, "aigc", other_label().to_json())  # a second, lower-case copy
    assert len(_mkv.read_carriers(remuxed)) >= 1
    out = _mkv.write_label(remuxed, label)
    assert [c.text for c in _mkv.read_carriers(out)] == [label.to_json()]


def _remux_with_tag(data: bytes, key: str, value: str) -> bytes:
    from synthmark.video._io import remux_bytes

    return remux_bytes(data, {key: value})


def test_mkv_remux_fallback_when_the_seekhead_is_full(clips: dict[str, Path], label: AIGCLabel) -> None:
    data = bytearray(clips[".mkv"].read_bytes())
    layout = _mkv._layout(bytes(data), None)
    void = next(c for c in layout.children if c.id == _mkv.VOID)
    # Turn the SeekHead's Void padding into an unknown element: no room left to add an entry.
    data[void.start] = 0xEB
    out = _mkv.write_label(bytes(data), label)
    assert [c.text for c in _mkv.read_carriers(out)] == [label.to_json()]
    assert sorted(packets(out)) == sorted(packets(bytes(data)))  # the remux interleaves anew


@pytest.mark.parametrize("suffix", MODULES)
def test_truncated_and_empty(suffix: str, clips: dict[str, Path]) -> None:
    module, data = MODULES[suffix], clips[suffix].read_bytes()
    for cut in (0, 3, 12, 40, len(data) // 2, len(data) - 1):
        with pytest.raises(CorruptFileError) as info:
            module.write_label(data[:cut], other_label(), path="cut.bin")
        assert info.value.path == "cut.bin" and info.value.fix
        with pytest.raises(CorruptFileError):
            module.read_carriers(data[:cut], path="cut.bin")


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
@pytest.mark.parametrize("foreign", ["png", "text", "other-video"])
def test_foreign_input(suffix: str, foreign: str, clips: dict[str, Path]) -> None:
    module = MODULES[suffix]
    data = {
        "png": fixture_bytes("alpha.png"),
        "text": b"Just some text, not video at all.\n" * 20,
        "other-video": clips[".mkv" if suffix == ".mp4" else ".mp4"].read_bytes(),
    }[foreign]
    with pytest.raises(InputError):
        module.read_carriers(data)
    with pytest.raises(InputError):
        module.write_label(data, other_label())


def test_sniff_tells_video_from_audio_and_images(clips: dict[str, Path]) -> None:
    expected = {".mp4": "mp4", ".mov": "mov", ".mkv": "mkv", ".webm": "webm"}
    for suffix, name in expected.items():
        fmt = sniff(clips[suffix].read_bytes())
        assert (fmt.name, fmt.modality) == (name, "video")
    for path in VIDEO_FIXTURES.iterdir():
        if path.suffix in expected:
            assert sniff(path.read_bytes()).name == expected[path.suffix]
    audio_only = io.BytesIO()
    with av.open(audio_only, "w", format="mp4") as container:  # an isom-brand file with only audio
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
        frame.sample_rate = 48000
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    assert sniff(audio_only.getvalue()).modality == "audio"
    heic = b"\0\0\0\x18ftypheic" + bytes(12)
    with pytest.raises(UnsupportedFormatError, match="HEIC"):
        sniff(heic)
    assert _sniff.ebml_doctype(b"\x1aE\xdf\xa3\x80") is None
    assert not _sniff.is_video_mp4(b"\0\0\0\x14ftypM4A " + bytes(8))


def test_write_label_leaves_clusters_where_they_were(clips: dict[str, Path], label: AIGCLabel) -> None:
    data = clips[".mkv"].read_bytes()
    first_cluster = data.index(b"\x1f\x43\xb6\x75")
    out = _mkv.write_label(data, label)
    assert out[: first_cluster - 200][:40] == data[:40]
    assert out.index(b"\x1f\x43\xb6\x75") == first_cluster  # Tags moved to the end, a Void in its place
    assert out[first_cluster : len(data) - 40] == data[first_cluster : len(data) - 40]


# --------------------------------------------------------------------------------------------
# Fuzzing the self-parsed EBML


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzz_mkv_never_raises_untyped(clips: dict[str, Path], data: st.DataObject) -> None:
    original = bytearray(clips[".mkv"].read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, min(len(original) - 1, 900)))
        original[position] = data.draw(st.integers(0, 255))
    mutated = bytes(original)
    try:
        carriers = _mkv.read_carriers(mutated)
    except (CorruptFileError, MetadataError):
        return
    assert all(isinstance(c.text, str) for c in carriers)
    try:
        out = _mkv.write_label(mutated, other_label())
    except SynthmarkError:
        return
    assert [c.text for c in _mkv.read_carriers(out)] == [other_label().to_json()]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_mkv_arbitrary_bytes(blob: bytes) -> None:
    for data in (blob, b"\x1aE\xdf\xa3" + blob):
        with contextlib.suppress(CorruptFileError):
            _mkv.read_carriers(data)
        _sniff.ebml_doctype(data)
