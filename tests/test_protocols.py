"""synthmark.protocols: every registered modality package and container codec keeps its contract,
signatures included, and the generic layers do not ask which modality a file is."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from synthmark.formats import FORMATS
from synthmark.protocols import ContainerCodec, ExplicitStyles, Modality

MODALITIES = sorted({fmt.modality for fmt in FORMATS})
CODECS = sorted({fmt.codec for fmt in FORMATS})
ROOT = Path(__file__).resolve().parent.parent / "synthmark"


def _parameters(function: object) -> list[tuple[str, object, bool]]:
    """(name, kind, has a default) of each parameter, ``self`` left out."""
    params = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default is not p.empty) for p in params if p.name != "self"]


def _keeps(implementation: object, contract: object) -> None:
    """The implementation takes every parameter of the contract, of the same kind, defaults
    where the contract has them; it may add keyword-only options with defaults (and take
    ``**options`` where the contract does)."""
    mine = {name: (kind, default) for name, kind, default in _parameters(implementation)}
    for name, kind, default in _parameters(contract):
        if kind is inspect.Parameter.VAR_KEYWORD:
            continue
        assert name in mine, f"{implementation} lacks {name}"
        assert mine[name][0] == kind and (mine[name][1] or not default), f"{implementation}: {name}"
    contract_names = {name for name, *_ in _parameters(contract)}
    for name, (kind, default) in mine.items():
        if name not in contract_names:
            assert kind is inspect.Parameter.KEYWORD_ONLY and default, f"{implementation}: extra {name}"


@pytest.mark.parametrize("name", MODALITIES)
def test_every_modality_keeps_the_modality_contract(name: str) -> None:
    module = importlib.import_module(f"synthmark.{name}")
    assert isinstance(module, Modality)
    assert module.EXPLICIT_LAYER in ("visible", "audible")
    assert isinstance(module.WATERMARK_OPTIONS, frozenset)
    for verb, contract in inspect.getmembers(Modality, inspect.isfunction):
        if not verb.startswith("_"):
            _keeps(getattr(module, verb), contract)
    options = set(inspect.signature(module.find_watermark).parameters) - {"source", "keys"}
    assert options == set(module.WATERMARK_OPTIONS)


@pytest.mark.parametrize("codec", CODECS)
def test_every_container_codec_keeps_the_codec_contract(codec: str) -> None:
    module = importlib.import_module(codec)
    assert isinstance(module, ContainerCodec)
    for verb, contract in inspect.getmembers(ContainerCodec, inspect.isfunction):
        if not verb.startswith("_"):
            _keeps(getattr(module, verb), contract)


def test_each_modality_picks_its_own_explicit_style() -> None:
    from synthmark import audio, image, text, video
    from synthmark.audio import AudibleStyle
    from synthmark.image import LabelStyle
    from synthmark.video import VideoLabelStyle

    visible, audible = LabelStyle(), AudibleStyle()
    styles = ExplicitStyles(visible, audible, VideoLabelStyle(mode="persistent"))
    assert image.explicit_style(styles) is visible and text.explicit_style(styles) is visible
    assert audio.explicit_style(styles) is audible
    assert video.explicit_style(styles) == VideoLabelStyle(mode="persistent", image=visible)
    assert video.explicit_style(ExplicitStyles(visible)) == VideoLabelStyle(image=visible)
    assert video.explicit_style(ExplicitStyles(None, audible)) is None


@pytest.mark.parametrize("module", ["labeling.py", "detect.py", "transforms/report.py"])
def test_generic_layers_never_name_a_modality(module: str) -> None:
    source = (ROOT / module).read_text()
    assert not re.search(r"modality\s*(==|!=|in)\s*[\"'(]", source)
    assert not re.search(r"[\"'](image|audio|video|text)[\"']\s*(==|!=)", source)
