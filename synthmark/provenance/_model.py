"""The plain records and constants of synthmark.provenance (no c2pa, no cryptography imports)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

from synthmark.aisource import IPTC_DIGITAL_SOURCE_TYPE
from synthmark.errors import UnsupportedFormatError

#: Label of the custom assertion carrying the seven GB 45438-2025 Annex E fields.
AIGC_ASSERTION = "cn.tc260.aigc"
#: Name of synthmark's invisible watermark algorithm inside ``c2pa.soft-binding``.
SOFT_BINDING_ALG = "org.synthmark.image-tile.v1"
#: synthmark's watermark algorithm names in ``c2pa.soft-binding``, per modality.
SOFT_BINDING_ALGS = {
    "image": SOFT_BINDING_ALG,
    "audio": "org.synthmark.audio-tf.v1",
    "video": "org.synthmark.video-frame.v1",
}

TRAINED_ALGORITHMIC_MEDIA = IPTC_DIGITAL_SOURCE_TYPE + "trainedAlgorithmicMedia"

#: Largest PEM file read (certificate chain, private key, trust bundle), bytes.
MAX_PEM_BYTES = 4 << 20
#: Deepest ingredient chain walked (manifests below it are reported as a problem, not read).
MAX_CHAIN_DEPTH = 16
#: Most manifests walked in one store, and most actions read per manifest.
MAX_MANIFESTS = 256
MAX_ACTIONS = 512

#: Media types c2pa-python 0.38 both signs and reads back with a valid manifest here; each one
#: is exercised with a real file in tests/provenance.
SUPPORTED_MEDIA_TYPES: frozenset[str] = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/tiff",
        "video/mp4",
        "video/quicktime",
        "audio/mp4",
        "audio/mpeg",
        "audio/wav",
        "audio/x-wav",
        "audio/flac",
    }
)
#: Media types whose manifests are read (c2pa-python 0.38's Reader; a subset of
#: ``c2pa.Reader.get_supported_mime_types()``, pinned by a test): every signed type plus the
#: documents and containers synthmark does not sign.
READ_MEDIA_TYPES: frozenset[str] = SUPPORTED_MEDIA_TYPES | {
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/epub+zip",
    "image/avif",
    "image/heic",
    "image/heif",
    "image/jxl",
    "image/svg+xml",
    "video/x-m4v",
    "video/x-msvideo",
}
# Other spellings seen in the wild -> the name handed to c2pa.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-webp": "image/webp",
    "image/tif": "image/tiff",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-flac": "audio/flac",
}


def canonical_media_type(media_type: str, *, supported: frozenset[str] = SUPPORTED_MEDIA_TYPES) -> str:
    """The media type c2pa is given for ``media_type`` (case and ``;params`` ignored).

    Raises :class:`UnsupportedFormatError` listing ``supported`` (default: the types synthmark
    signs, :data:`SUPPORTED_MEDIA_TYPES`) otherwise.
    """
    name = media_type.split(";", 1)[0].strip().lower()
    name = _ALIASES.get(name, name)
    if name not in supported:
        raise UnsupportedFormatError(
            f"media type {media_type!r} is not supported for C2PA manifests",
            fix="use one of " + " ".join(sorted(supported)),
        )
    return name


@dataclass(frozen=True)
class Signer:
    """A validated C2PA signing identity; reusable and holding no open resources.

    Make one with :func:`~synthmark.provenance.load_signer` (PEM key on disk or in memory) or
    :func:`~synthmark.provenance.callback_signer` (key in a KMS/HSM). A fresh c2pa signer is
    created from it for every :func:`~synthmark.provenance.sign` call.

    Attributes
    ----------
    alg:
        c2pa signing algorithm: ``"es256"``, ``"es384"``, ``"es512"``, ``"ps256"`` or ``"ed25519"``.
    cert_chain:
        PEM certificates, end-entity first, then intermediates (never the root).
    subject:
        The end-entity certificate's common name (or organisation), for display.
    not_after:
        End of the end-entity certificate's validity (UTC). Without a timestamp authority,
        manifests read as Invalid after this moment.
    tsa_url:
        RFC 3161 timestamp authority URL, or ``None`` (no timestamp; nothing is fetched).
    """

    alg: str
    cert_chain: bytes = field(repr=False)
    subject: str
    not_after: datetime
    tsa_url: str | None = None
    private_key: bytes | None = field(default=None, repr=False)
    sign_callback: Callable[[bytes], bytes] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Watermark:
    """The invisible watermark to bind softly to the manifest (``c2pa.soft-binding``).

    ``payload_hex`` is the 64-bit content id as 16 hex digits; ``key_id`` the watermark key's
    public id (never the key itself); ``alg`` the algorithm name (one of
    :data:`SOFT_BINDING_ALGS`).
    """

    payload_hex: str
    key_id: str
    alg: str = SOFT_BINDING_ALG


@dataclass(frozen=True)
class IngredientReport:
    """One ingredient of the active manifest and its own validation.

    ``state`` is ``"Trusted"``, ``"Valid"`` (signature fine, signer not trusted), ``"Invalid"``
    or ``"Unsigned"`` (the ingredient carried no C2PA manifest). ``reasons`` are plain words with
    the c2pa code in parentheses, as in :attr:`ProvenanceReport.reasons`.
    """

    title: str | None
    relationship: str | None
    state: str
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "title": self.title,
            "relationship": self.relationship,
            "state": self.state,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Action:
    """One action of a manifest: its name and the digital source type it declares, if any.

    ``source_type`` is the IPTC term (e.g. ``"trainedAlgorithmicMedia"``) or the raw value when
    it is not in the vocabulary; ``declared_by`` names the field it came from
    (``"digitalSourceType"``, or a vendor parameter such as
    ``"parameters.com.adobe.digitalSourceType"``); ``ai`` whether the term means generative AI;
    ``software_agent`` the tool the action names.
    """

    action: str
    source_type: str | None = None
    declared_by: str | None = None
    ai: bool = False
    software_agent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "action": self.action,
            "digital_source_type": self.source_type,
            "declared_by": self.declared_by,
            "ai": self.ai,
            "software_agent": self.software_agent,
        }


@dataclass(frozen=True)
class ManifestNode:
    """One manifest of the store, in the order of a walk from the active manifest down its
    ingredients (depth 0 is the active manifest).

    ``state`` is the manifest's validation (``"Trusted"``, ``"Valid"``, ``"Invalid"``; for an
    ingredient as recorded when it was added, corrected by what c2pa re-checked on this read);
    ``title`` and ``relationship`` are those of the ingredient that holds it (None at depth 0).
    """

    label: str
    depth: int
    title: str | None
    relationship: str | None
    claim_generator: str | None
    signer: str | None
    state: str | None
    reasons: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()

    @property
    def ai_actions(self) -> tuple[Action, ...]:
        """The actions that declare generative AI."""
        return tuple(a for a in self.actions if a.ai)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "depth": self.depth,
            "title": self.title,
            "relationship": self.relationship,
            "claim_generator": self.claim_generator,
            "signer": self.signer,
            "state": self.state,
            "reasons": list(self.reasons),
            "actions": [action.to_dict() for action in self.actions],
        }


@dataclass(frozen=True)
class AIDeclaration:
    """Where in a manifest chain AI generation is declared: the manifest's depth (0 = active),
    claim generator and validation state, and how (``"c2pa.created: digitalSourceType
    trainedAlgorithmicMedia"``). A declaration counts whatever the state: an expired signer does
    not make AI content human-made; the state is reported beside it."""

    depth: int
    manifest: str
    claim_generator: str | None
    state: str | None
    how: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "depth": self.depth,
            "manifest": self.manifest,
            "claim_generator": self.claim_generator,
            "state": self.state,
            "how": self.how,
        }


#: Investigator wording of c2pa's validation states.
VERDICTS = {"Trusted": "Trusted", "Valid": "Valid (untrusted signer)", "Invalid": "Invalid"}


@dataclass(frozen=True)
class ProvenanceReport:
    """What :func:`~synthmark.provenance.read` found.

    Attributes
    ----------
    found:
        Whether the file carries a C2PA manifest (embedded, or a remote reference).
    state:
        c2pa's validation state: ``"Trusted"`` (chains to a given trust anchor), ``"Valid"``
        (intact but the signer is not trusted) or ``"Invalid"``; ``None`` when not found or not
        checkable (remote manifest, not fetched offline).
    verdict:
        ``"Trusted"``, ``"Valid (untrusted signer)"`` or ``"Invalid"`` (``None`` as for state).
    reasons:
        Plain words for every failure seen, each ending with the c2pa code in parentheses, e.g.
        ``"the media bytes were changed after signing (assertion.dataHash.mismatch)"``.
        Ingredient failures are included, prefixed with the ingredient's title.
    signer:
        The signing certificate's common name and organisation as c2pa reports them.
    claim_generator:
        The tool that made the manifest, ``"name version"``.
    ai_generated:
        Some manifest of the chain (the active one or any ingredient's, at any depth) has an
        action whose digital source type means generative AI (see
        :data:`synthmark.aisource.SOURCE_TYPES`), standard or vendor parameter.
    aigc:
        The :data:`AIGC_ASSERTION` fields (Annex E names, in the standard's order), if present.
    soft_binding:
        The watermark payload (hex) of a ``c2pa.soft-binding`` with :data:`SOFT_BINDING_ALG`.
    ingredients:
        Each ingredient with its own validation: a tampered parent reads Invalid even when the
        child is Trusted.
    chain:
        Every manifest of the store reached from the active one, depth first.
    ai_declarations:
        Where AI generation is declared in the chain (empty when nowhere).
    problems:
        What stopped the walk short (depth or size limits, a cycle, a missing manifest).
    """

    found: bool
    state: str | None = None
    verdict: str | None = None
    reasons: tuple[str, ...] = ()
    signer: str | None = None
    claim_generator: str | None = None
    ai_generated: bool = False
    aigc: dict[str, str] | None = None
    soft_binding: str | None = None
    ingredients: tuple[IngredientReport, ...] = ()
    chain: tuple[ManifestNode, ...] = ()
    ai_declarations: tuple[AIDeclaration, ...] = ()
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"checked": True, "found": ..., ...}``."""
        return {
            "checked": True,
            "found": self.found,
            "state": self.state,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "signer": self.signer,
            "claim_generator": self.claim_generator,
            "ai_generated": self.ai_generated,
            "aigc": None if self.aigc is None else dict(self.aigc),
            "soft_binding": self.soft_binding,
            "ingredients": [ingredient.to_dict() for ingredient in self.ingredients],
            "ai_declared": [declaration.to_dict() for declaration in self.ai_declarations],
            "chain": [node.to_dict() for node in self.chain],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class TestPki:
    """Paths written by :func:`~synthmark.provenance.write_test_pki`. TEST ONLY.

    ``root_cert`` is the trust anchor (``root.pem``), ``chain`` the end-entity certificate then
    the intermediate (``chain.pem``), ``key`` the end-entity private key (``signer.key``, mode
    0600), ``readme`` the warning note (``README.txt``).
    """

    __test__ = False  # not a pytest test class

    root_cert: Path
    chain: Path
    key: Path
    readme: Path


#: A PEM file given by path, or its content.
PathOrBytes: TypeAlias = str | os.PathLike[str] | bytes
