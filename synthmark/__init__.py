"""synthmark: label AI-generated media the way GB 45438-2025, C2PA and the EU AI Act require,
and prove the labels are there.

>>> import synthmark
>>> label = synthmark.AIGCLabel.new("001191110102MACQD9K64010000", produce_id="demo-1")
>>> label.to_json(wrapped=True)[:26]
'{"AIGC":{"Label":"1","Cont'
"""

from __future__ import annotations

from synthmark.aigc import (
    FIELD_NAMES,
    AIGCLabel,
    ParsedLabel,
    Problem,
    WordingCheck,
    check_wording,
    new_produce_id,
    parse_label,
    validate,
)
from synthmark.detect import Evidence, Report, verify_bytes, verify_file
from synthmark.errors import (
    CertificateError,
    CorruptFileError,
    ImageTooSmallError,
    InputError,
    InvalidLabelError,
    KeyFileError,
    LabelDoesNotFitError,
    LabelError,
    LowCapacityError,
    MetadataError,
    MetadataTooLargeError,
    MissingGlyphError,
    OutputError,
    OutputExistsError,
    OutputNotWritableError,
    ProvenanceError,
    RenderError,
    SynthmarkError,
    TooLargeError,
    UnsupportedFormatError,
    WatermarkError,
    WordingError,
)
from synthmark.image.visible import LabelStyle
from synthmark.labeler import Labeler
from synthmark.labeling import LabelResult, label_bytes, label_file
from synthmark.metadata import MetadataReading

__version__ = "0.1.0"

__all__ = [
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
    "Labeler",
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
