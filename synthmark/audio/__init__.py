"""Audio: the audible label, the invisible watermark and the metadata label for WAV, MP3, FLAC,
Ogg (Vorbis/Opus) and M4A.

The verbs every modality shares:

* :func:`add_explicit_label` — the rhythm ("short-long-short-short") or spoken prompt of
  GB 45438 5.3, pure on sample arrays; :func:`find_rhythm_prompt` finds it again;
* :func:`embed_watermark` / :func:`detect_watermark` — the keyed watermark, pure on arrays
  (``(n, channels)`` float32 in [-1, 1] or int16, with the sample rate), and
  :class:`StreamingEmbedder` for live audio;
* :func:`read_metadata` / :func:`write_metadata` — the AIGC label in the container, without
  re-encoding the audio.

PyAV (FFmpeg) and mutagen are imported on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from synthmark._lazy import lazy_attributes
from synthmark.aigc import AIGCLabel
from synthmark.audio import watermark as _watermark
from synthmark.audio.watermark import AudioWatermarkReport, StreamingEmbedder
from synthmark.errors import LowCapacityError, MetadataError, RenderError, WatermarkError, WordingError
from synthmark.keys import WatermarkKey
from synthmark.media import Media
from synthmark.metadata import MetadataReading, interpret, write_checked
from synthmark.payload import Mark
from synthmark.protocols import ExplicitStyles, Source

if TYPE_CHECKING:
    from synthmark.aisource import ProvenanceMetadata
    from synthmark.audio.audible import find_rhythm_prompt

__all__ = [
    "EXPLICIT_LAYER",
    "WATERMARK_OPTIONS",
    "AudibleStyle",
    "AudioWatermarkReport",
    "Mark",
    "StreamingEmbedder",
    "add_explicit_label",
    "detect_watermark",
    "embed_watermark",
    "evaluate_robustness",
    "explicit_style",
    "find_explicit",
    "find_rhythm_prompt",
    "find_watermark",
    "read_metadata",
    "read_provenance_metadata",
    "read_samples",
    "relabel_content",
    "write_metadata",
]

__getattr__ = lazy_attributes(__name__, {"find_rhythm_prompt": "synthmark.audio.audible"})


#: The Modality contract (synthmark.protocols): the explicit label's layer name, the options
#: find_watermark takes beyond the keys.
EXPLICIT_LAYER = "audible"
WATERMARK_OPTIONS: frozenset[str] = frozenset()


def explicit_style(styles: ExplicitStyles) -> AudibleStyle | None:
    """The audible label's style (a voice prompt or the rhythm)."""
    return styles.audible  # type: ignore[no-any-return]


# pydub interop: an AudioSegment carries its own rate; it is recognised by duck typing, so
# pydub is never imported here (it warns about a missing system FFmpeg, which synthmark does
# not use).
def _is_segment(samples: Any) -> bool:
    return hasattr(samples, "get_array_of_samples") and hasattr(samples, "frame_rate")


def _from_segment(segment: Any) -> tuple[np.ndarray, int]:
    full = float(1 << (8 * segment.sample_width - 1))
    raw = np.array(segment.get_array_of_samples(), dtype=np.float32)
    return raw.reshape(-1, segment.channels) / np.float32(full), int(segment.frame_rate)


def _to_segment(samples: np.ndarray, like: Any) -> Any:
    """``samples`` (float in [-1, 1]) as an AudioSegment with ``like``'s width, rate and channels."""
    width = int(like.sample_width)
    full = 1 << (8 * width - 1)
    dtype = {1: np.int8, 2: np.int16, 4: np.int32}[width]
    ints = np.clip(np.rint(samples.astype(np.float64) * full), -full, full - 1).astype(dtype)
    return type(like)(data=ints.tobytes(), sample_width=width, frame_rate=like.frame_rate, channels=like.channels)


def _samples_and_rate(samples: Any, sample_rate: int | None) -> tuple[np.ndarray, int]:
    if _is_segment(samples):
        return _from_segment(samples)
    if sample_rate is None:
        raise WatermarkError("a sample rate is needed with a numpy array", fix="pass sample_rate in Hz")
    return samples, sample_rate


def embed_watermark(samples: Any, sample_rate: int | None, key: WatermarkKey, content_id: int, **options: Any) -> Any:
    """:func:`synthmark.audio.watermark.embed_watermark` for numpy arrays (with ``sample_rate``)
    or a pydub ``AudioSegment`` (``sample_rate`` None: the segment's own); the same kind out."""
    array, rate = _samples_and_rate(samples, sample_rate)
    marked = _watermark.embed_watermark(array, rate, key, content_id, **options)
    return _to_segment(marked, samples) if _is_segment(samples) else marked


def detect_watermark(samples: Any, sample_rate: int | None, keys: Any, **options: Any) -> AudioWatermarkReport:
    """:func:`synthmark.audio.watermark.detect_watermark` for arrays or an ``AudioSegment``."""
    array, rate = _samples_and_rate(samples, sample_rate)
    return _watermark.detect_watermark(array, rate, keys, **options)


def add_explicit_label(samples: Any, sample_rate: int | None = None, **options: Any) -> Any:
    """:func:`synthmark.audio.audible.add_explicit_label` for arrays (with ``sample_rate``) or a
    pydub ``AudioSegment``; the same kind out."""
    from synthmark.audio import audible

    array, rate = _samples_and_rate(samples, sample_rate)
    labeled = audible.add_explicit_label(array, rate, **options)
    return _to_segment(labeled, samples) if _is_segment(samples) else labeled


@dataclass(frozen=True)
class AudibleStyle:
    """The audible label: ``kind`` "rhythm" (Morse "AI", 120 ms unit at 1046.5 Hz) or "voice"
    (the bundled spoken "人工智能生成", or English with ``language="en"``), placed ``at`` "start",
    "end", "both" or a time in seconds, ``gap`` seconds of silence from the programme."""

    kind: Literal["rhythm", "voice"] = "rhythm"
    at: Literal["start", "end", "both"] | float = "start"
    language: str = "zh"
    gap: float = 0.2

    def __post_init__(self) -> None:
        # GB 45438 5.2: a spoken label needs the AI element and 生成/合成; the English prompt
        # ("AI generated content") has no Chinese generation element, so it cannot be the label.
        if self.kind == "voice" and self.language != "zh":
            raise WordingError(
                f"the {self.language!r} voice prompt lacks the 生成/合成 element GB 45438 requires of a spoken label",
                fix="use the Chinese voice prompt (language='zh', 人工智能生成) or the rhythm prompt",
            )


def audio_format(data: bytes, *, path: str | None) -> Any:
    """The audio :class:`~synthmark.formats.Format` of ``data``; other media raise
    :class:`UnsupportedFormatError`."""
    from synthmark.formats import sniff_modality  # not at import: formats reads this package's magic table

    return sniff_modality(data, "audio", path=path)


def _load(source: Source) -> tuple[bytes, str | None]:
    from synthmark.formats import load_source

    return load_source(source)


def read_metadata(source: Source, *, strict: bool = False) -> MetadataReading:
    """The AIGC metadata label of an audio file, read leniently (problems reported, not raised)."""
    data, path = _load(source)
    fmt = audio_format(data, path=path)
    return interpret(fmt.module().read_carriers(data, path=path), strict=strict)


def write_metadata(source: Source, label: AIGCLabel, *, path: str | None = None) -> bytes:
    """The file's bytes with exactly one AIGC label; the audio frames are not re-encoded and
    other tags are kept. The label is read back before returning; ``path`` names bytes in
    errors."""
    data, source_path = _load(source)
    path = path or source_path
    return write_checked(audio_format(data, path=path).module(), data, label, path=path)


def relabel_content(
    data: bytes,
    style: AudibleStyle | None,
    mark: Mark | None = None,
    *,
    path: str | None = None,
    progress: Any = None,  # unused: one decode, one encode (the Modality contract)
) -> tuple[bytes, None]:
    """Add the audible label and/or the watermark, then re-encode once in the input's format,
    sample rate, channel layout and (lossy) bit rate. The metadata label is written after this
    by the caller; other tags of the input are not carried across a re-encode."""
    from synthmark.audio._io import decode_audio, encode_audio

    fmt = audio_format(data, path=path)
    fmt.module().check(data, path=path)
    samples, info = decode_audio(data, path=path)
    if style is not None:
        from synthmark.audio.audible import add_explicit_label

        samples = add_explicit_label(
            samples, info.sample_rate, kind=style.kind, at=style.at, language=style.language, gap=style.gap
        )
    if mark is not None:
        samples = embed_watermark(samples, info.sample_rate, mark.key, mark.content_id)
    out = _carry_tags(data, encode_audio(samples, info), path)
    decoded, _ = decode_audio(out, path=path)
    if style is not None:
        _check_prompt_reads_back(decoded, info.sample_rate, style, path)
    if mark is not None:
        # Refuse a silent, unreadable mark: read it back from the encoded file.
        report = detect_watermark(decoded, info.sample_rate, mark.key)
        if not report.found or report.content_id != mark.content_id:
            raise LowCapacityError(
                "the watermark does not read back from the labeled audio (too short, too quiet or "
                "speech-like for this version's mark)",
                path=path,
                fix="label it without --key (the other layers still apply)",
            )
    return out, None


def _check_prompt_reads_back(samples: np.ndarray, rate: int, style: AudibleStyle, path: str | None) -> None:
    """The audible label is reported only when the written file shows it: the prompt's detector
    must find it where it was placed (a window of the prompt's length, the gap and 1 s around
    each placement, so the check costs a fraction of a second on any length)."""
    from synthmark.audio import audible

    if style.kind == "rhythm":
        length = audible.rhythm_prompt(rate).shape[0] / rate
    else:
        length = audible.voice_prompt(rate, language=style.language).shape[0] / rate
    span, total = length + style.gap + 1.0, samples.shape[0] / rate
    if isinstance(style.at, str):
        windows = [(0.0, span)] * (style.at in ("start", "both")) + [(total - span, total)] * (
            style.at in ("end", "both")
        )
    else:
        windows = [(float(style.at) - 1.0, float(style.at) + span)]
    for low, high in windows:
        chunk = samples[round(max(low, 0.0) * rate) : round(min(high, total) * rate)]
        found = (
            audible.find_rhythm_prompt(chunk, rate)
            if style.kind == "rhythm"
            else audible.find_voice_prompt(chunk, rate, languages=(style.language,))
        )
        if not found:
            raise RenderError(
                f"the {style.kind} prompt does not read back from the written file near {max(low, 0.0):.1f} s",
                path=path,
                fix="this is a synthmark bug: please report it with the file",
            )


def _carry_tags(original: bytes, encoded: bytes, path: str | None) -> bytes:
    """``encoded`` with the original's tags (ID3 frames, Vorbis comments, MP4 items, FLAC
    pictures; for WAV its descriptive chunks: LIST/INFO, bext, iXML, id3) copied over, so a
    re-encode loses no metadata."""
    import io

    import mutagen

    from synthmark.audio import _wav

    if audio_format(original, path=path).module() is _wav:
        return _wav.carry_chunks(original, encoded, path=path)

    try:
        source = mutagen.File(io.BytesIO(original))
        if source is None or not source.tags:
            return encoded
        buffer = io.BytesIO(encoded)
        target = mutagen.File(buffer)
        if target is None:
            return encoded
        if target.tags is None:
            target.add_tags()
        if hasattr(source.tags, "getall"):  # ID3: copy frames
            for frame in source.tags.values():
                target.tags.add(frame)
        else:
            for name, value in source.tags.items():
                target.tags[name] = value
        for picture in getattr(source, "pictures", ()):
            target.add_picture(picture)
        buffer.seek(0)
        target.save(buffer)
        return buffer.getvalue()
    except (mutagen.MutagenError, KeyError, ValueError, TypeError) as exc:
        raise MetadataError(
            f"could not carry the file's tags over the re-encode ({exc})",
            path=path,
            fix="label without --key and the audible label (metadata only), or report this file",
        ) from exc


def read_samples(source: Source, *, lenient: bool = False) -> tuple[np.ndarray, int]:
    """Decoded samples ``(n, channels)`` float32 and the sample rate. ``lenient``: of a damaged
    file, what decodes (damaged packets skipped) instead of :class:`CorruptFileError`."""
    from synthmark.audio._io import decode_audio

    media = Media.of(source)

    def decode() -> tuple[np.ndarray, int]:
        samples, info = decode_audio(media.data, path=media.path, lenient=lenient)
        return samples, info.sample_rate

    return media.cached(("samples", lenient), decode)


def find_watermark(source: Source, keys: list[WatermarkKey]) -> AudioWatermarkReport:
    """:func:`detect_watermark` on a file, searching playback speeds too (a file from elsewhere
    may have been sped up or slowed down); a damaged file is searched in what decodes."""
    samples, rate = read_samples(source, lenient=True)
    return detect_watermark(samples, rate, keys, speed_search=True)


def find_explicit(source: Source) -> dict[str, Any]:
    """The explicit-label evidence of an audio file: where synthmark's rhythm prompt and its own
    voice prompts are, if anywhere.

    The file is decoded once; both detectors run on the same samples.
    :func:`~synthmark.audio.audible.find_voice_prompt` scans the whole recording (several
    hundred times real time on one core). :func:`~synthmark.audio.audible.find_rhythm_prompt`
    (about 20x real time) scans all of a recording up to
    :data:`~synthmark.audio.audible.RHYTHM_FULL_SCAN` (600 s) long, and of a longer one the first
    and last :data:`~synthmark.audio.audible.RHYTHM_EDGE_SCAN` (120 s), where start and end
    prompts go; ``rhythm["scanned"]`` gives the spans looked at, in seconds.

    Returns ``found``, ``checked`` (True), ``kind`` (``"rhythm prompt"``, ``"voice prompt"``,
    ``"rhythm prompt, voice prompt"`` or None), ``where`` (each prompt found, in time order:
    ``start`` and ``end`` in seconds, ``kind``; a voice prompt also ``prompt`` -- ``"zh"``
    "人工智能生成" or ``"en"`` "AI generated content" --, ``score`` and ``wording_ok``: whether its
    words carry both elements GB 45438 asks for, which the English prompt, lacking 生成/合成,
    does not), ``rhythm`` and ``voice`` (each ``checked``, ``found``, ``scanned``; ``voice`` also
    ``prompts``, the prompts looked for) and ``foreign_speech`` (not checked: a spoken label other
    than synthmark's own needs speech recognition).
    """
    from synthmark.aigc import check_wording
    from synthmark.audio.audible import (
        RHYTHM_EDGE_SCAN,
        RHYTHM_FULL_SCAN,
        VOICE_LANGUAGES,
        find_rhythm_prompt,
        find_voice_prompt,
    )

    samples, rate = read_samples(source, lenient=True)  # a damaged file: search what decodes
    total = len(samples)
    if total <= RHYTHM_FULL_SCAN * rate:
        spans = [(0, total)]
    else:
        edge = round(RHYTHM_EDGE_SCAN * rate)
        spans = [(0, edge), (total - edge, total)]
    where: list[dict[str, Any]] = []
    for begin, end in spans:
        for rhythm in find_rhythm_prompt(samples[begin:end], rate):
            start = rhythm.start + begin / rate
            where.append(
                {"start": round(start, 3), "end": round(rhythm.end + begin / rate, 3), "kind": "rhythm prompt"}
            )
    rhythm_found = bool(where)
    languages = tuple(VOICE_LANGUAGES)
    voices = find_voice_prompt(samples, rate, languages=languages)
    for voice in voices:
        where.append(
            {
                "start": round(voice.start, 3),
                "end": round(voice.end, 3),
                "kind": "voice prompt",
                "prompt": voice.language,
                "score": voice.score,
                "wording_ok": check_wording(voice.text).ok,
            }
        )
    where.sort(key=lambda item: item["start"])
    kinds = [name for name, hit in (("rhythm prompt", rhythm_found), ("voice prompt", bool(voices))) if hit]
    return {
        "found": bool(where),
        "checked": True,
        "kind": ", ".join(kinds) or None,
        "where": where,
        "rhythm": {
            "checked": True,
            "found": rhythm_found,
            "scanned": [[round(a / rate, 3), round(b / rate, 3)] for a, b in spans],
        },
        "voice": {
            "checked": True,
            "found": bool(voices),
            "prompts": list(languages),
            "scanned": [[0.0, round(total / rate, 3)]],
        },
        "foreign_speech": {
            "checked": False,
            "reason": "spoken labels other than synthmark's own prompts need speech recognition, which is not run",
        },
    }


def read_provenance_metadata(source: Source) -> ProvenanceMetadata:
    """AI origin declared in the file's ordinary metadata: IPTC digital source type and
    generator tools in any XMP packet it holds (see :mod:`synthmark.aisource`)."""
    from synthmark import aisource

    return aisource.read(_load(source)[0])


def evaluate_robustness(path: str | os.PathLike[str], key: WatermarkKey, **options: Any) -> Any:
    """The audio suite of ``shared/spec/robustness.md`` against the mark in the file at
    ``path`` (a :class:`~synthmark.transforms.report.RobustnessReport`; options as
    :func:`synthmark.transforms.report.evaluate_file`)."""
    from synthmark.transforms.report import evaluate_audio_file

    return evaluate_audio_file(path, key, **options)
