"""The fuzz targets: one function per parser synthmark wrote itself, and the seeds of each.

Every target takes arbitrary bytes and holds synthmark to one contract: a function either
returns or raises an exception derived from :class:`~synthmark.errors.SynthmarkError`. Each
target catches ``SynthmarkError`` and nothing else, so any other exception escapes to the
fuzzer as a crash (and a hang is caught by libFuzzer's ``-timeout``).

A container target reads the carriers, interprets them (leniently and strictly), checks the
relabel rule, and, when reading succeeded, writes a label and reads the result back. Text
targets also extract the text, cut it into blocks for the explicit-label reader, and add an
explicit label. :data:`TARGETS` maps each name to its function and the seeds it starts from.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from fuzzing import seeds
from synthmark import aisource, xmp
from synthmark.aigc import AIGCLabel, check_wording, parse_label, validate
from synthmark.audio import _flac, _m4a, _mp3, _ogg, _sniff, _wav
from synthmark.errors import SynthmarkError
from synthmark.formats import provenance_only_media_type, sniff
from synthmark.image import _container, _exif, _jpeg, _png, _webp
from synthmark.keys import parse_key
from synthmark.metadata import Carrier, check_relabel, interpret
from synthmark.text import _html, _markdown, _office, _pdf
from synthmark.text.explicit import TextLabelStyle, find_explicit_phrases, locate_labels
from synthmark.video import _mkv, _mp4
from synthmark.video import _sniff as _video_sniff

#: The label every target writes (valid, so a refusal is never about the label itself).
LABEL = AIGCLabel.new("001191110102MACQD9K64010000", produce_id="fuzz-0001")
_STYLES = (TextLabelStyle(position="start"), TextLabelStyle(position="end"))


def _try(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, or None when it raises a :class:`SynthmarkError` (the contract)."""
    try:
        return function(*args, **kwargs)
    except SynthmarkError:
        return None


def _container_round(codec: ModuleType, data: bytes) -> bytes | None:
    """Read, interpret and (when reading worked) write and read back; returns the written bytes."""
    carriers = _try(codec.read_carriers, data)
    if carriers is None:
        return None
    reading = _try(interpret, carriers)
    _try(interpret, carriers, strict=True)
    if reading is not None:
        _try(check_relabel, reading.label, LABEL)
    out = _try(codec.write_label, data, LABEL)
    if out is not None:
        back = _try(codec.read_carriers, out)
        if back is not None:
            _try(interpret, back)
    return out


def _image(codec: ModuleType, data: bytes) -> None:
    fields = _try(codec.read_fields, data)
    _try(aisource.read, data, fields or [])
    _container_round(codec, data)


def _text(codec: ModuleType, data: bytes, *, relabel: bool = True) -> None:
    _container_round(codec, data)
    text = _try(codec.text_of, data)
    if text is not None:
        _try(find_explicit_phrases, text)
    blocks = _try(codec.explicit_blocks, data)
    if blocks is not None:
        _try(locate_labels, blocks)
    _try(codec.supports_explicit, data)
    if relabel:
        _try(codec.relabel, data, _STYLES[len(data) % 2], None)


def target_jpeg(data: bytes) -> None:
    """JPEG marker segments up to SOS: XMP and EXIF APP1 carriers, COM and EXIF fields (and the
    generator fingerprints read from them), the label write."""
    _image(_jpeg, data)


def target_png(data: bytes) -> None:
    """PNG chunks with CRCs: tEXt/zTXt/iTXt (inflated), XMP iTXt, eXIf, generator fingerprints in
    text chunks (Stable Diffusion, ComfyUI...), the label write."""
    _image(_png, data)


def target_webp(data: bytes) -> None:
    """WebP RIFF chunks: XMP and EXIF chunks, the VP8/VP8L canvas header, the VP8X write."""
    _image(_webp, data)


def target_exif(data: bytes) -> None:
    """A TIFF-structured EXIF block: IFD0 ASCII tags, the Exif IFD UserComment, its rewrite."""
    for function in (_exif.read_ascii_tags, _exif.read_user_comment, _container.exif_fields, _container.exif_carriers):
        _try(function, data)
    _try(_container.sync_exif, data, LABEL)  # set_user_comment, as the containers call it


def target_xmp(data: bytes) -> None:
    """An XMP packet: the AIGC properties found, the label merged in by text surgery, the
    provenance fields (DigitalSourceType, CreatorTool...)."""
    _try(_container.xmp_carriers, data, path=None)
    packet = _container.decode_xmp(data)
    _try(xmp.find_labels, packet)
    _try(xmp.set_label, packet, LABEL.to_json())
    fields = _try(aisource.fields_from_xmp, packet)
    if fields is not None:
        _try(aisource.interpret, fields[0])


def target_wav(data: bytes) -> None:
    """RIFF/RF64/BW64 WAVE chunks, the ds64 size table, the AIGC chunk write, chunk carry-over."""
    if _container_round(_wav, data) is not None:
        _try(_wav.carry_chunks, data, data)


def target_mp3_id3(data: bytes) -> None:
    """The leading ID3v2 tag (size, footer) and mutagen's reading of it: TXXX:AIGC frames."""
    _try(_mp3.audio_start, data)
    _container_round(_mp3, data)


def target_flac(data: bytes) -> None:
    """FLAC metadata blocks (after an optional ID3v2 tag) and the Vorbis comment AIGC=."""
    _try(_flac.audio_start, data)
    _container_round(_flac, data)


def target_ogg(data: bytes) -> None:
    """Ogg page headers, the codec of the first pages, Vorbis/Opus comment headers."""
    _try(_sniff.ogg_codec, data)
    _container_round(_ogg, data)


def target_m4a(data: bytes) -> None:
    """MP4 boxes of audio files: moov tree, mdta keys/ilst, freeform atoms, offset shifting."""
    _try(_m4a.track_handlers, data)
    _try(_sniff.mp4_media_type, data)
    _container_round(_m4a, data)


def target_mp4(data: bytes) -> None:
    """MP4/MOV boxes of video files: the same box code as M4A from video seeds (stco/co64,
    fragments with tfhd/tfra), and the video sniffing by track handler."""
    _try(_video_sniff.is_video_mp4, data)
    _container_round(_mp4, data)


def target_mkv_ebml(data: bytes) -> None:
    """EBML elements of Matroska/WebM: header DocType, Segment children, Tags/SimpleTag, the
    SeekHead rewrite (and a PyAV remux when no SeekHead has room)."""
    _try(_video_sniff.ebml_doctype, data)
    _container_round(_mkv, data)


def target_markdown_front_matter(data: bytes) -> None:
    """Markdown: YAML front matter (block, flow and string AIGC values), fenced code, the
    explicit-label paragraph placement."""
    _text(_markdown, data)


def target_html(data: bytes) -> None:
    """HTML: meta AIGC elements, visible text, hidden elements, the label element placement."""
    _text(_html, data)


def target_office_custom_xml(data: bytes) -> None:
    """DOCX/XLSX/PPTX ZIP packages: custom.xml properties, parts read within limits, the
    package rewrite, paragraphs, the explicit label per kind."""
    _text(_office, data)


def target_office_parts(data: bytes) -> None:
    """The same as ``office_custom_xml``, with the fuzz input as the package's parts rather
    than its ZIP bytes (see :func:`fuzzing.seeds.pack_parts`), so mutations reach the XML
    instead of breaking CRCs."""
    _text(_office, seeds.unpack_parts(data))


def target_pdf_info(data: bytes) -> None:
    """PDF (through pypdf): the information dictionary /AIGC, the incremental update, page text
    and annotations for the explicit-label reader."""
    _text(_pdf, data, relabel=False)


def target_aigc_json(data: bytes) -> None:
    """The AIGC label reader: JSON, wrapped, XML-escaped, JSON in a string, legacy form; then
    validation and interpretation as a carrier."""
    text = data.decode("utf-8", "replace")
    for value in (data, text):
        parsed = _try(parse_label, value)
        if parsed is not None and parsed.label is not None:
            _try(validate, parsed.label, strict=True)
            _try(parsed.label.to_json, wrapped=True, ascii_only=True)
    _try(interpret, [Carrier("fuzz", text)], strict=True)
    _try(check_wording, text)


def target_key_file(data: bytes) -> None:
    """The watermark key file reader (JSON, base64 secret, key id)."""
    _try(parse_key, data)


def target_sniff(data: bytes) -> None:
    """Format sniffing: magic bytes, the ID3 skip, MP4 track handlers, EBML DocType, text and
    Office packages."""
    _try(sniff, data)
    _try(provenance_only_media_type, data)


@dataclass(frozen=True)
class Target:
    """A fuzz target: its function, its seeds (a function returning them), the codec that
    labels its seeds, and its longest input (0: libFuzzer's guess, the longest seed)."""

    function: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    writes: ModuleType | None = None
    max_len: int = 0

    @property
    def doc(self) -> str:
        return " ".join((self.function.__doc__ or "").split("\n\n")[0].split())


def _slimmed(slim: Callable[[bytes], bytes], *formats: str) -> Callable[[], list[bytes]]:
    return lambda: [slim(data) for data in seeds.fixtures(*formats)]


def _plus(*makers: Callable[[], list[bytes]]) -> Callable[[], list[bytes]]:
    return lambda: [seed for make in makers for seed in make()]


def _all_containers() -> list[bytes]:
    return [seed for name, t in TARGETS.items() if t.writes is not None and name != "sniff" for seed in t.seeds()]


TARGETS: dict[str, Target] = {
    "jpeg": Target(target_jpeg, _slimmed(seeds.slim_jpeg, "jpeg"), _jpeg),
    "png": Target(target_png, _slimmed(seeds.slim_png, "png"), _png),
    "webp": Target(target_webp, _slimmed(seeds.slim_webp, "webp"), _webp),
    "exif": Target(target_exif, seeds.exif_blocks),
    "xmp": Target(target_xmp, seeds.xmp_packets),
    "wav": Target(target_wav, lambda: seeds.audio("wav"), _wav),
    "mp3_id3": Target(target_mp3_id3, _plus(_slimmed(seeds.slim_mp3, "mp3"), lambda: seeds.audio("mp3")), _mp3),
    "flac": Target(target_flac, _plus(_slimmed(seeds.slim_flac, "flac"), lambda: seeds.audio("flac")), _flac),
    "ogg": Target(target_ogg, lambda: seeds.audio("ogg"), _ogg),
    "m4a": Target(target_m4a, lambda: seeds.audio("m4a"), _m4a),
    "mp4": Target(target_mp4, _plus(_slimmed(seeds.slim_mp4, "mp4", "mov"), lambda: seeds.video("mp4")), _mp4),
    "mkv_ebml": Target(
        target_mkv_ebml, _plus(_slimmed(seeds.slim_ebml, "mkv", "webm"), lambda: seeds.video("mkv")), _mkv
    ),
    "markdown_front_matter": Target(
        target_markdown_front_matter, lambda: seeds.fixtures("markdown"), _markdown, max_len=4096
    ),
    "html": Target(target_html, lambda: seeds.fixtures("html"), _html),
    "office_custom_xml": Target(target_office_custom_xml, lambda: seeds.fixtures("docx", "xlsx", "pptx"), _office),
    "office_parts": Target(target_office_parts, seeds.office_parts),
    "pdf_info": Target(target_pdf_info, lambda: seeds.fixtures("pdf"), _pdf),
    "aigc_json": Target(target_aigc_json, seeds.label_json),
    "key_file": Target(target_key_file, seeds.key_files),
    "sniff": Target(target_sniff, _all_containers),
}


def _labeled(codec: ModuleType, seed: bytes) -> bytes | None:
    try:
        out: bytes = codec.write_label(seed, LABEL)
    except Exception:  # a seed that breaks the contract is found again when fuzzed
        return None
    return out


def seeds_of(name: str) -> list[bytes]:
    """The seeds of target ``name``: its own, and each labeled by the target's codec."""
    target = TARGETS[name]
    found = target.seeds()
    if target.writes is not None:
        found += [out for out in (_labeled(target.writes, s) for s in found) if out is not None]
    return found


def seed_folder(name: str, work: Path) -> Path:
    """``work/seeds/<name>``, holding the seeds of target ``name`` (built on first use)."""
    folder = work / "seeds" / name
    done = work / "seeds" / f"{name}.done"
    if not done.exists():
        seeds.write(folder, seeds_of(name))
        done.touch()
    return folder


# -- crashes ---------------------------------------------------------------------------------------

_ROOT = Path(__file__).resolve().parent.parent


def describe(exc: BaseException) -> dict[str, str]:
    """What a crash is: ``signature`` (exception type and the innermost synthmark function, the
    same for every input that hits the same bug), ``where`` (that frame's file:line), the
    message and the formatted traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/synthmark/" in f.filename] or frames
    frame = ours[-1]
    try:
        file = Path(frame.filename).resolve().relative_to(_ROOT).as_posix()
    except ValueError:
        file = frame.filename
    return {
        "signature": f"{type(exc).__name__} in {file}:{frame.name}",
        "where": f"{file}:{frame.lineno}",
        "message": str(exc)[:200],
        "traceback": "".join(traceback.format_exception(exc)),
    }


def crash_signature(function: Callable[[bytes], None], data: bytes) -> str | None:
    """The signature of the crash ``data`` causes in ``function``, or None when it causes none."""
    try:
        function(data)
    except Exception as exc:  # every exception that gets here is a crash
        return describe(exc)["signature"]
    return None


def minimize(function: Callable[[bytes], None], data: bytes, *, seconds: float = 120) -> tuple[bytes, str]:
    """``data`` with as many bytes deleted as keep the same crash signature (chunks of halving
    size, until ``seconds`` run out); returns it and the signature."""
    signature = crash_signature(function, data)
    if signature is None:
        raise ValueError("the input does not crash the target")
    deadline = time.monotonic() + seconds
    chunk = max(1, len(data) // 2)
    while time.monotonic() < deadline:
        at, shrunk = 0, False
        while at < len(data) and time.monotonic() < deadline:
            candidate = data[:at] + data[at + chunk :]
            if crash_signature(function, candidate) == signature:
                data, shrunk = candidate, True
            else:
                at += chunk
        if not shrunk:
            if chunk == 1:
                break
            chunk //= 2
    return data, signature
