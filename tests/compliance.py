"""The compliance matrix: which test checks which clause of the rules.

Tests carry ``@pytest.mark.clause("ID")`` markers naming an entry of :data:`CLAUSES` (the
clauses of shared/spec/labeling-rules.md). This module finds the markers statically (by parsing
the test files, so a partial test run cannot shrink the table) and renders the README table
between ``<!-- compliance-matrix:start -->`` and ``<!-- compliance-matrix:end -->``.

``python -m tests.compliance`` rewrites that part of README.md; tests/test_compliance.py fails
when the README table is stale, a marker names an unknown clause, or a clause has no test.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- compliance-matrix:start -->", "<!-- compliance-matrix:end -->"

#: clause id -> (source, what it requires, the feature that meets it)
CLAUSES: dict[str, tuple[str, str, str]] = {
    "wording": (
        "GB 45438-2025 cl. 5",
        "explicit label text has the AI element (AI, 人工智能) and 生成/合成; English only as an extra line",
        "`aigc.check_wording`; `WordingError` for labels, notices and voice prompts",
    ),
    "image-explicit": (
        "GB 45438-2025 5.2",
        "image: text on an edge or corner, height ≥ 5 % of the shortest side, legible",
        "`image.add_explicit_label` (positions, height, contrast); OCR reading of labels",
    ),
    "video-explicit": (
        "GB 45438-2025 cl. 5 (video)",
        "video: the label in the opening frames for ≥ 2 s",
        "`video.VideoLabeler` schedule from the first presented frame, measured on output",
    ),
    "audio-explicit": (
        "GB 45438-2025 cl. 5 (audio)",
        "audio: a voice prompt or the short-long-short-short rhythm",
        "`audio.add_explicit_label`, the rhythm and voice prompt detectors",
    ),
    "text-explicit": (
        "GB 45438-2025 cl. 5 (text); Measures art. 4",
        "text: a phrase at the start or end, also inside exported files",
        "`text.add_explicit_label` per document format",
    ),
    "one-label": (
        "GB 45438-2025 6.1 c",
        "exactly one metadata label per file; rewriting replaces",
        "`metadata.interpret` reports copies and conflicts; writers keep copies in step",
    ),
    "annex-e-fields": (
        "GB 45438-2025 Annex E",
        "seven string fields in order, compact JSON, wrapped or bare",
        "`aigc.AIGCLabel`, `aigc.parse_label`",
    ),
    "carriers": (
        "TC260 guides 2025-08",
        "per-format carriers: XMP `TC260:AIGC` (bare), EXIF UserComment and PNG `tEXt AIGC` "
        "(wrapped), container tags (bare)",
        "the container modules, read back by exiftool, mutagen, FFmpeg, pypdf",
    ),
    "charset": (
        "GB 45438-2025 Annex E",
        "values mainly printable ASCII plus the escaped quote; deviations reported, not refused on read",
        "`aigc.validate`; propagation keeps fields as found",
    ),
    "first-write": (
        "GB 45438-2025 Annex E note 1",
        "at first write the propagator fields equal the producer's (option: empty)",
        "`AIGCLabel.new(propagator_same=True)`, `--propagator-empty`",
    ),
    "provider-code": (
        "TC260-PG-20252A",
        "27-character provider code: USCC with its check character, extension 00000 or type + app code",
        "`aigc.validate(strict=True)`",
    ),
    "classify": (
        "Measures art. 6",
        "platforms read labels and classify confirmed / possible / suspected",
        "`verify` (every layer, files from other tools), `batch.classify`",
    ),
    "notice": (
        "Measures art. 6",
        "platform notice in the reader's language per class",
        "`batch` notices AI生成 / 可能为AI生成 / 疑似AI生成 (configurable)",
    ),
    "no-alteration": (
        "Measures art. 10",
        "no one alters, forges or replaces another's label; propagation keeps the producer fields",
        "`ForeignLabelError`; `AIGCLabel.with_propagator`; `batch relabel`",
    ),
    "omission-log": (
        "Measures art. 9",
        "content handed out without the explicit label at a user's request is logged ≥ 6 months",
        "`omissions.OmissionLog`, `label --no-visible`, `log export`",
    ),
    "watermark-robustness": (
        "TC260-PG-20233A",
        "the mark survives crops ≥ 50 % and ≥ 384 × 384 (images), any 10 s (audio), any 5 s (video)",
        "the image, audio and video watermarks",
    ),
    "c2pa": (
        "C2PA 2.x; EU AI Act art. 50",
        "machine-readable provenance: created / trainedAlgorithmicMedia, AIGC assertion, soft binding",
        "`provenance.sign` / `provenance.read` (chain walk)",
    ),
}


def _clause_ids(decorator: ast.expr) -> list[str]:
    """The clause ids of one ``@pytest.mark.clause("a", "b")`` decorator, else []."""
    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
        return []
    if decorator.func.attr != "clause" or not isinstance(decorator.func.value, ast.Attribute):
        return []
    return [arg.value for arg in decorator.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]


def collect(root: Path = ROOT / "tests") -> dict[str, list[str]]:
    """clause id -> the tests marked with it (``path::name``), in file order."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                for decorator in node.decorator_list:
                    for clause in _clause_ids(decorator):
                        found[clause].append(f"{path.relative_to(ROOT).as_posix()}::{node.name}")
    return dict(found)


def render(found: dict[str, list[str]]) -> str:
    """The Markdown table, one row per clause."""
    lines = ["| clause | requires | feature | tests |", "|---|---|---|---|"]
    for clause, (source, requires, feature) in CLAUSES.items():
        tests = "<br>".join(f"`{name}`" for name in found.get(clause, [])) or "**none**"
        lines.append(f"| {source} | {requires} | {feature} | {tests} |")
    return "\n".join(lines)


def updated_readme(text: str, table: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table}\n{END}{tail}"


if __name__ == "__main__":
    readme = README.read_text(encoding="utf-8")
    if START not in readme:
        sys.exit(f"README.md has no {START} marker")
    README.write_text(updated_readme(readme, render(collect())), encoding="utf-8")
