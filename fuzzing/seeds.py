"""Seed corpora for the fuzz targets, built at run time from the files under ``fixtures/``.

Nothing here is committed as a copy: :func:`build` writes each target's seeds into a work
folder. Large fixtures are made small first, keeping every byte the parsers read and dropping
what they skip (JPEG scan data, PNG IDAT, WebP bitstreams, MP4 ``mdat``, Matroska blocks), so
that libFuzzer mutates headers rather than pixels. Containers the fixtures lack (WAV, Ogg, M4A,
small MP3/FLAC, fragmented MP4) are made with PyAV from an excerpt of a fixture recording or by
stream-copying a few packets of a fixture video. Files over :data:`MAX_FIXTURE_BYTES` are skipped.

Every seed of a target that writes labels is also added labeled (the target's own
``write_label``), so the paths that replace an existing label are covered from the start.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: Fixture files larger than this are not used as seeds.
MAX_FIXTURE_BYTES = 2 << 20
#: At most this many fixtures of one format from one folder (fixtures/ocr has hundreds of PNGs).
PER_FOLDER = 6
#: Bytes of coded data kept where a slimmer cuts image or audio data.
KEEP = 64
#: Separates the parts of an ``office_parts`` input (see :func:`pack_parts`).
PART_SEPARATOR = b"\0"


# -- choosing fixtures ---------------------------------------------------------------------------


@functools.cache
def _fixture_formats() -> dict[Path, str]:
    """Every fixture file (up to the size limit) and the name of its format, as sniffed."""
    from synthmark.errors import SynthmarkError
    from synthmark.formats import sniff

    found: dict[Path, str] = {}
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or path.stat().st_size > MAX_FIXTURE_BYTES:
            continue
        try:
            found[path] = sniff(path.read_bytes(), path=path).name
        except SynthmarkError:
            continue
    return found


def fixtures(*formats: str) -> list[bytes]:
    """The fixtures sniffed as one of ``formats`` (``"jpeg"``, ``"mp4"``...), at most
    :data:`PER_FOLDER` per folder."""
    per_folder: dict[Path, int] = {}
    out = []
    for path, name in _fixture_formats().items():
        if name in formats and per_folder.get(path.parent, 0) < PER_FOLDER:
            per_folder[path.parent] = per_folder.get(path.parent, 0) + 1
            out.append(path.read_bytes())
    return out


# -- slimming fixtures ---------------------------------------------------------------------------


def slim_jpeg(data: bytes) -> bytes:
    """Header segments, SOS, :data:`KEEP` bytes of scan data and EOI (as read, unparsed if broken)."""
    from synthmark.errors import SynthmarkError
    from synthmark.image import _jpeg

    try:
        segments, rest = _jpeg.split(data)
    except SynthmarkError:
        return data
    (length,) = struct.unpack_from(">H", rest, 2)
    return b"\xff\xd8" + b"".join(s.encode() for s in segments) + rest[: 2 + length + KEEP] + b"\xff\xd9"


def slim_png(data: bytes) -> bytes:
    """Every chunk, the IDAT chunks replaced by one holding the first :data:`KEEP` bytes."""
    from synthmark.errors import SynthmarkError
    from synthmark.image import _png

    try:
        chunks = _png.split(data, strict=False)
    except SynthmarkError:
        return data
    out, idat = [], False
    for chunk in chunks:
        if chunk.type == b"IDAT":
            if not idat:
                out.append(_png.Chunk(b"IDAT", chunk.data[:KEEP]))
            idat = True
        else:
            out.append(chunk)
    return _png.SIGNATURE + b"".join(c.encode() for c in out)


def slim_webp(data: bytes) -> bytes:
    """Every RIFF chunk, the bitstream chunks cut to :data:`KEEP` bytes."""
    from synthmark.errors import SynthmarkError
    from synthmark.image import _webp

    try:
        chunks = _webp.split(data)
    except SynthmarkError:
        return data
    cut = [
        _webp.Chunk(c.fourcc, c.data[:KEEP] if c.fourcc in (b"VP8 ", b"VP8L", b"ALPH", b"ANMF") else c.data)
        for c in chunks
    ]
    body = b"WEBP" + b"".join(c.encode() for c in cut)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def slim_flac(data: bytes) -> bytes:
    """The metadata blocks and the first 1 KiB of audio frames."""
    from synthmark.audio import _flac

    start = _flac.audio_start(data)
    return data[: start + 1024] if start else data


def slim_mp3(data: bytes) -> bytes:
    """The ID3v2 tag and the first 2 KiB of MPEG frames."""
    from synthmark.audio import _mp3

    return data[: _mp3.audio_start(data) + 2048]


def slim_mp4(data: bytes) -> bytes:
    """Every top-level box, each ``mdat`` emptied (chunk offsets then point nowhere, which no
    metadata parser follows)."""
    pos, out = 0, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1 and pos + 16 <= len(data):
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = len(data) - pos
        if size < header:
            return data
        out.append(struct.pack(">I4s", 8, kind) if kind == b"mdat" else data[pos : pos + size])
        pos += size
    return b"".join(out) + data[pos:]


def slim_ebml(data: bytes) -> bytes:
    """The Matroska/WebM file without the blocks inside its clusters (the Segment size fixed)."""
    from synthmark.video._mkv import CLUSTER, EBMLError, read_vint

    def element(pos: int) -> tuple[int, int, int]:
        ident, width = read_vint(data, pos, keep_marker=True)
        size, size_width = read_vint(data, pos + width)
        return ident, pos + width + size_width, pos + width + size_width + size

    try:
        _, _, header_end = element(0)
        segment_id_end = header_end + 4
        _, body, end = element(header_end)
        children, pos = [], body
        while pos < min(end, len(data)):
            ident, child_body, child_end = element(pos)
            if ident == CLUSTER:
                kept, inner = [], child_body
                while inner < child_end:
                    inner_id, _, inner_end = element(inner)
                    if inner_id not in (0xA3, 0xA0):  # SimpleBlock, BlockGroup
                        kept.append(data[inner:inner_end])
                    inner = inner_end
                kept_body = b"".join(kept)
                children.append(
                    data[pos : pos + 4] + (0x0100000000000000 | len(kept_body)).to_bytes(8, "big") + kept_body
                )
            else:
                children.append(data[pos:child_end])
            pos = child_end
    except EBMLError:
        return data
    segment = b"".join(children)
    return data[:segment_id_end] + (0x0100000000000000 | len(segment)).to_bytes(8, "big") + segment


# -- containers made with PyAV -------------------------------------------------------------------


@functools.cache
def _speech() -> tuple[object, int]:
    """0.1 s of speech from a fixture recording, as float32 (channels, n), and its rate."""
    import av
    import numpy as np

    with av.open(str(FIXTURES / "audio" / "speech_en_female.flac")) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")
        chunks = []
        for frame in container.decode(stream):
            chunks += [out.to_ndarray() for out in resampler.resample(frame)]
            if sum(c.shape[1] for c in chunks) > stream.rate * 1.1:
                break
        samples = np.concatenate(chunks, axis=1)
        return samples[:, stream.rate : stream.rate + stream.rate // 10].copy(), stream.rate


def encode_audio(fmt: str, codec: str, *, rate: int | None = None, stereo: bool = False, **options: str) -> bytes:
    """The speech excerpt encoded with PyAV into container ``fmt`` (title and artist tags set)."""
    import av
    import numpy as np

    samples, source_rate = _speech()
    samples = np.repeat(samples[:1], 2, axis=0) if stereo else samples  # type: ignore[index]
    layout = "stereo" if samples.shape[0] == 2 else "mono"
    with tempfile.TemporaryDirectory() as folder:  # faststart rewrites a real file
        target = Path(folder) / f"seed.{fmt}"
        with av.open(str(target), "w", format=fmt, options=options) as container:
            container.metadata.update({"title": "Title", "artist": "Artist"})
            stream = container.add_stream(codec, rate=rate or source_rate, layout=layout)
            if codec == "vorbis":
                stream.codec_context.options = {"strict": "experimental"}
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples, np.float32), format="fltp", layout=layout)
            frame.sample_rate = source_rate
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)
        return target.read_bytes()


def remux_video(name: str, fmt: str, *, packets: int = 8, **options: str) -> bytes:
    """The first ``packets`` packets of fixture video ``name``, stream-copied into ``fmt``."""
    import av

    with tempfile.TemporaryDirectory() as folder, av.open(str(FIXTURES / "video" / name)) as source:
        target = Path(folder) / f"seed.{fmt}"
        with av.open(str(target), "w", format=fmt, options=options) as output:
            output.metadata["title"] = "Title"
            stream = output.add_stream_from_template(source.streams.video[0])
            for count, packet in enumerate(source.demux(source.streams.video[0])):
                if count >= packets or packet.size == 0:
                    break
                packet.stream = stream
                output.mux(packet)
        return target.read_bytes()


def _made(makers: Iterable[Callable[[], bytes]]) -> list[bytes]:
    """What each maker returns; a maker this PyAV build cannot run is left out."""
    out = []
    for make in makers:
        try:
            out.append(make())
        except Exception:  # a missing encoder only means one seed fewer
            continue
    return out


# -- seeds of the structured targets ---------------------------------------------------------------


def label_json() -> list[bytes]:
    """AIGC labels in every form a reader meets: bare, wrapped, ASCII-escaped, legacy, XML-escaped,
    JSON in a string, and each label text carried by an image or Markdown fixture."""
    import html

    from synthmark.aigc import AIGCLabel
    from synthmark.image import _jpeg, _png, _webp
    from synthmark.text import _markdown

    label = AIGCLabel.new("001191110102MACQD9K64010000", produce_id="图片-0001")
    texts = [
        label.to_json(),
        label.to_json(wrapped=True),
        label.to_json(wrapped=True, ascii_only=True),
        json.dumps({"AIGC": {"ServiceProvider": "ACME", "Time": "2023-08-01", "ContentID": "c-1"}}),
        html.escape(label.to_json(wrapped=True)),
        json.dumps(label.to_json()),
    ]
    codecs = {"jpeg": _jpeg, "png": _png, "webp": _webp, "markdown": _markdown}
    for name, codec in codecs.items():
        for data in fixtures(name):
            try:
                texts += [c.text for c in codec.read_carriers(data)]
            except Exception:  # a fixture that does not parse gives no label
                continue
    return [t.encode("utf-8") for t in dict.fromkeys(texts) if t]


def key_files() -> list[bytes]:
    """A real key file (written by :meth:`WatermarkKey.save`), one without its key id and one
    whose key id does not match."""
    from synthmark.keys import generate_key

    with tempfile.TemporaryDirectory() as folder:
        raw = generate_key().save(Path(folder) / "seed.key").read_bytes()
    doc = json.loads(raw)
    no_id = {k: v for k, v in doc.items() if k != "key_id"}
    return [raw, json.dumps(no_id).encode(), json.dumps({**doc, "key_id": "000000000000"}).encode()]


def exif_blocks() -> list[bytes]:
    """The EXIF (TIFF) blocks of the image fixtures."""
    from synthmark.errors import SynthmarkError
    from synthmark.image import _jpeg, _png, _webp

    blocks = []
    for data in fixtures("jpeg"):
        try:
            blocks += [s.payload[6:] for s in _jpeg.split(data)[0] if s.is_exif]
        except SynthmarkError:
            continue
    for data in fixtures("png"):
        blocks += [c.data for c in _png.split(data, strict=False) if c.type == b"eXIf"]
    for data in fixtures("webp"):
        blocks += [c.data.removeprefix(b"Exif\0\0") for c in _webp.split(data) if c.fourcc == b"EXIF"]
    return blocks


def xmp_packets() -> list[bytes]:
    """The XMP packets of the image fixtures, and the packet synthmark writes."""
    from synthmark import xmp
    from synthmark.aigc import AIGCLabel
    from synthmark.errors import SynthmarkError
    from synthmark.image import _jpeg, _png, _webp

    packets = [xmp.new_packet(AIGCLabel.new("001191110102MACQD9K64010000", produce_id="x-1").to_json()).encode()]
    for data in fixtures("jpeg"):
        try:
            packets += [s.payload[len(_jpeg.XMP_ID) :] for s in _jpeg.split(data)[0] if s.is_xmp]
        except SynthmarkError:
            continue
    for data in fixtures("png"):
        for chunk in _png.split(data, strict=False):
            if chunk.type in (b"iTXt", b"tEXt", b"zTXt"):
                keyword, text = _png.text_chunk(chunk)
                if keyword == _png.XMP_KEYWORD.decode() and text:
                    packets.append(text.encode())
    for data in fixtures("webp"):
        packets += [c.data for c in _webp.split(data) if c.fourcc == b"XMP "]
    return packets


def pack_parts(parts: dict[str, bytes]) -> bytes:
    """Package parts as one fuzz input: ``name\\n`` then the content, parts joined by NUL."""
    return PART_SEPARATOR.join(name.encode("utf-8") + b"\n" + body for name, body in parts.items())


def unpack_parts(data: bytes) -> bytes:
    """The ZIP package (members stored) that :func:`pack_parts` input describes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for part in data.split(PART_SEPARATOR):
            name, _, body = part.partition(b"\n")
            package.writestr(name.decode("utf-8", "replace") or "unnamed", body)
    return out.getvalue()


#: The parts of an Office package that synthmark reads (styles, themes, layouts left out).
_READ_PARTS = re.compile(
    r"\[Content_Types\]\.xml|_rels/\.rels|docProps/custom\.xml|(word|xl|ppt)/_rels/\w+\.xml\.rels"
    r"|word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml|xl/(workbook|sharedStrings|comments\d*)\.xml"
    r"|xl/worksheets/(_rels/)?sheet\d+\.xml(\.rels)?|ppt/presentation\.xml|ppt/slides/(_rels/)?slide\d+\.xml(\.rels)?"
)


def office_parts() -> list[bytes]:
    """The parts synthmark reads of each Office fixture, unlabeled and labeled, packed."""
    from synthmark.aigc import AIGCLabel
    from synthmark.text import _office

    label = AIGCLabel.new("001191110102MACQD9K64010000", produce_id="office-1")
    documents = fixtures("docx", "xlsx", "pptx")
    seeds = []
    for data in documents + [_office.write_label(d, label) for d in documents]:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = [n for n in package.namelist() if _READ_PARTS.fullmatch(n)]
            seeds.append(pack_parts({n: package.read(n) for n in names}))
    return seeds


# -- building the corpora -------------------------------------------------------------------------


def audio(*kinds: str) -> list[bytes]:
    """Containers made with PyAV from the speech excerpt, by kind."""
    makers: dict[str, list[Callable[[], bytes]]] = {
        "wav": [
            lambda: encode_audio("wav", "pcm_s16le"),
            lambda: encode_audio("wav", "pcm_s16le", rf64="always"),
            lambda: encode_audio("wav", "pcm_s24le"),
        ],
        "mp3": [
            lambda: encode_audio("mp3", "libmp3lame"),
            lambda: encode_audio("mp3", "libmp3lame", id3v2_version="3"),
            lambda: encode_audio("mp3", "libmp3lame", id3v2_version="0"),
        ],
        "flac": [lambda: encode_audio("flac", "flac")],
        "ogg": [
            lambda: encode_audio("ogg", "vorbis", stereo=True),
            lambda: encode_audio("ogg", "libopus", rate=48000),
        ],
        "m4a": [
            lambda: encode_audio("ipod", "aac"),
            lambda: encode_audio("ipod", "aac", movflags="+faststart"),
            lambda: encode_audio("mp4", "aac", movflags="frag_keyframe+empty_moov"),
        ],
    }
    return _made(make for kind in kinds for make in makers[kind])


def video(*kinds: str) -> list[bytes]:
    """Short stream copies of the fixture videos, by kind."""
    makers: dict[str, list[Callable[[], bytes]]] = {
        "mp4": [
            lambda: remux_video("kenburns_meadow.mp4", "mp4"),
            lambda: remux_video("kenburns_meadow.mp4", "mp4", movflags="+faststart"),
            lambda: remux_video("kenburns_meadow.mp4", "mp4", movflags="frag_keyframe+empty_moov"),
            lambda: remux_video("kenburns_meadow.mp4", "mp4", movflags="frag_keyframe"),
            lambda: remux_video("rotated_dogs.mov", "mov"),
        ],
        "mkv": [
            lambda: remux_video("kenburns_clock.mkv", "matroska"),
            lambda: remux_video("kenburns_bird.webm", "webm", packets=2),
            lambda: remux_video("kenburns_clock.mkv", "matroska", live="1"),
        ],
    }
    return [slim_mp4(d) if "mp4" in kinds else slim_ebml(d) for d in _made(m for k in kinds for m in makers[k])]


def write(folder: Path, seeds: Iterable[bytes]) -> int:
    """Write each distinct seed as ``folder/<sha1>``; returns how many."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()  # a file name, as libFuzzer names them
        if not (folder / name).exists():
            (folder / name).write_bytes(seed)
            count += 1
    return count
