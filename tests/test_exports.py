"""The public surface is pinned: changing it is a deliberate act."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import synthmark
from synthmark import errors
from synthmark.protocols import Modality

MODALITIES = ("image", "audio", "video", "text")


def _ruff_order(name: str) -> tuple[int, str]:
    """RUF022's order: SCREAMING_CASE, then CamelCase, then the rest."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("module", [synthmark, *(importlib.import_module(f"synthmark.{m}") for m in MODALITIES)])
def test_all_names_synthmarks_own_objects_sorted_once(module: ModuleType) -> None:
    """Derived from the package, not a copied list: every exported name resolves (lazy ones
    too) to an object synthmark defines, listed once, in order."""
    names = [n for n in module.__all__ if n != "__version__"]
    assert names == sorted(set(names), key=_ruff_order)
    for name in names:
        value = getattr(module, name)
        owner = getattr(value, "__module__", None) if callable(value) else None
        assert owner is None or owner.startswith("synthmark"), f"{module.__name__}.{name} comes from {owner}"


def test_every_modality_offers_the_same_verbs_under_the_same_names() -> None:
    verbs = {name for name, _ in inspect.getmembers(Modality, inspect.isfunction) if not name.startswith("_")}
    verbs |= {"EXPLICIT_LAYER", "WATERMARK_OPTIONS", "embed_watermark", "detect_watermark", "Mark"}
    for name in MODALITIES:
        assert verbs <= set(importlib.import_module(f"synthmark.{name}").__all__), name
    array_verbs = {"add_explicit_label"}  # the explicit label on content in memory, one name
    for name in ("image", "audio", "text"):
        assert array_verbs <= set(importlib.import_module(f"synthmark.{name}").__all__), name


def test_no_two_public_classes_share_a_name() -> None:
    classes: dict[str, set[str]] = {}
    for package in ("synthmark", *(f"synthmark.{m}" for m in MODALITIES), "synthmark.payload", "synthmark.provenance"):
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                classes.setdefault(name, set()).add(f"{value.__module__}.{value.__qualname__}")
    assert {name: owners for name, owners in classes.items() if len(owners) > 1} == {}


def test_readme_and_benchmarks_use_the_public_api_only() -> None:
    root = Path(__file__).resolve().parent.parent
    texts = {"README.md": (root / "README.md").read_text()}
    texts |= {str(p.relative_to(root)): p.read_text() for p in (root / "benchmarks").glob("*.py")}
    for name, text in texts.items():
        assert not re.findall(r"(?:from|import) synthmark(?:\.\w+)*\._\w+", text), f"{name} imports a private module"
        if name.startswith("benchmarks"):
            assert not re.search(r"^\s*(from|import) tests\b", text, re.MULTILINE), f"{name} imports the tests"


def test_every_error_is_in_the_tree_and_one_line():
    classes = [obj for _, obj in inspect.getmembers(errors, inspect.isclass) if issubclass(obj, Exception)]
    assert all(issubclass(cls, (synthmark.SynthmarkError, errors.SynthmarkWarning)) for cls in classes)
    assert [cls.__name__ for cls in classes if issubclass(cls, Warning)] == ["ExposedKeyWarning", "SynthmarkWarning"]
    err = synthmark.CorruptFileError("JPEG is truncated\nbadly", path="a/b.jpg", fix="re-export it")
    assert str(err) == "a/b.jpg: JPEG is truncated badly; re-export it"
    assert err.exit_code == 2 and err.path == "a/b.jpg"


def test_import_stays_light():
    import subprocess
    import sys

    code = "import sys, synthmark; print(any(m in sys.modules for m in ('cv2', 'av', 'c2pa', 'pydub')))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
