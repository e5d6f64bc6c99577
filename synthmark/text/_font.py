"""The bundled CJK font (``synthmark/fonts``, Noto Sans CJK SC Bold, SIL OFL 1.1) for the labels
drawn into documents: glyph coverage, advance widths, and a subset of the label's glyphs to
embed in a PDF (a few kilobytes instead of the whole font).

fontTools (a dependency) reads the font lazily: only ``cmap``, ``hmtx`` and the tables a subset
needs are parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from synthmark.errors import MissingGlyphError, RenderError

__all__ = ["EmbeddableFont", "advance", "check_covered", "font_path", "subset"]

FONT_FILE = "NotoSansSC-Subset.otf"


def font_path() -> str:
    """Path of the bundled font."""
    return str(resources.files("synthmark") / "fonts" / FONT_FILE)


def _open() -> Any:
    from fontTools.ttLib import TTFont

    try:
        return TTFont(font_path(), lazy=True)
    except Exception as exc:  # fontTools raises many types for a damaged file
        raise RenderError(f"cannot read the bundled font ({exc})", path=font_path(), fix="reinstall synthmark") from exc


@lru_cache(maxsize=1)
def _metrics() -> tuple[dict[int, str], dict[str, int], int]:
    """The font's cmap (code point -> glyph name), advance widths (font units) and units/em."""
    with _open() as font:
        return (
            dict(font.getBestCmap() or {}),
            {n: m[0] for n, m in font["hmtx"].metrics.items()},
            font["head"].unitsPerEm,
        )


def check_covered(text: str, *, path: str | None = None) -> None:
    """Raise :class:`MissingGlyphError` naming the characters of ``text`` the font lacks."""
    cmap = _metrics()[0]
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in cmap})
    if missing:
        raise MissingGlyphError(
            f"the bundled font has no glyph for {''.join(missing)!r}",
            path=path,
            fix="use a label wording with common Chinese characters and ASCII (e.g. 'AI生成')",
        )


def advance(text: str) -> float:
    """Width of ``text`` set in the font, in em (multiply by the font size)."""
    cmap, widths, upm = _metrics()
    return sum(widths.get(cmap.get(ord(ch), ".notdef"), upm) for ch in text) / upm


@dataclass(frozen=True)
class EmbeddableFont:
    """A subset of the font for one label, ready for a PDF ``CIDFontType0`` font with the
    ``Identity-H`` encoding: ``cff`` the bare CID-keyed CFF program (``FontFile3`` subtype
    ``CIDFontType0C``), ``cids`` each character's CID (the 2-byte code in the text string),
    ``widths`` each CID's advance (1/1000 em), and the descriptor's metrics (1/1000 em)."""

    name: str
    cff: bytes
    cids: dict[str, int]
    widths: dict[int, int]
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]
    registry: str
    ordering: str
    supplement: int


def subset(text: str, *, path: str | None = None) -> EmbeddableFont:
    """The glyphs of ``text`` as an :class:`EmbeddableFont` (:class:`MissingGlyphError` if the
    font lacks one). Cached per text: a batch embeds the same few wordings again and again."""
    check_covered(text, path=path)
    return _subset("".join(sorted(set(text))))


@lru_cache(maxsize=32)
def _subset(chars: str) -> EmbeddableFont:
    from fontTools import subset as fonttools_subset

    with _open() as font:
        options = fonttools_subset.Options()
        # Only the CFF program is embedded; it keeps its own Notice and Copyright strings, and
        # the OFL allows embedding the font in documents.
        options.notdef_outline = True
        options.layout_features = []
        options.hinting = False
        subsetter = fonttools_subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(ch) for ch in chars])
        subsetter.subset(font)
        cff_table = font["CFF "].cff
        top = cff_table.topDictIndex[0]
        cmap = font.getBestCmap()
        order = font.getGlyphOrder()
        ros = getattr(top, "ROS", None)
        # A CID-keyed CFF names glyphs cidNNNNN and the PDF code is that CID; otherwise the code
        # is the glyph index (ISO 32000-1 9.7.4.2).
        cids = {ch: int(cmap[ord(ch)][3:]) if ros else order.index(cmap[ord(ch)]) for ch in chars}
        upm = font["head"].unitsPerEm
        scale = 1000 / upm
        metrics = font["hmtx"].metrics
        widths = {cids[ch]: round(metrics[cmap[ord(ch)]][0] * scale) for ch in chars}
        os2, head = font["OS/2"], font["head"]
        bbox = (head.xMin, head.yMin, head.xMax, head.yMax)
        return EmbeddableFont(
            name=str(cff_table.fontNames[0]),
            cff=font.getTableData("CFF "),
            cids=cids,
            widths=widths,
            ascent=round(os2.sTypoAscender * scale),
            descent=round(os2.sTypoDescender * scale),
            cap_height=round(getattr(os2, "sCapHeight", os2.sTypoAscender) * scale),
            bbox=(round(bbox[0] * scale), round(bbox[1] * scale), round(bbox[2] * scale), round(bbox[3] * scale)),
            registry=str(ros[0]) if ros else "Adobe",
            ordering=str(ros[1]) if ros else "Identity",
            supplement=int(ros[2]) if ros else 0,
        )
