"""C2PA manifests for AI-generated media: build, sign, read and validate (c2pa-python 0.38).

* :func:`load_signer` / :func:`callback_signer` check a certificate chain against the C2PA
  certificate profile *before* any signing and give a reusable :class:`Signer`.
* :func:`sign` embeds a manifest: ``c2pa.created`` (or ``c2pa.opened`` + ``c2pa.edited`` of a
  parent) with digitalSourceType trainedAlgorithmicMedia, the seven AIGC fields as the
  :data:`AIGC_ASSERTION` custom assertion, and optionally the watermark as ``c2pa.soft-binding``.
* :func:`read` validates offline and explains the outcome in plain words
  (:class:`ProvenanceReport`): ``"Trusted"``, ``"Valid (untrusted signer)"`` or ``"Invalid"``,
  and walks the whole manifest store (every ingredient's manifest, to :data:`MAX_CHAIN_DEPTH`)
  to say where in the chain AI generation is declared (:class:`AIDeclaration`).
* :func:`write_test_pki` makes a throw-away root → intermediate → signer chain for tests.

Nothing here goes to the network: no timestamp authority unless ``tsa_url`` is given, no OCSP,
no remote manifests. c2pa and cryptography are imported on first use, so importing this package
is cheap.

Layout: ``_model`` (records, constants), ``_manifest`` (pure: manifest JSON, reason wording,
report from c2pa's JSON), ``_certs`` (cryptography: certificate checks, test PKI), ``_engine``
(the only module that calls c2pa).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime

from synthmark.aigc import AIGCLabel
from synthmark.errors import ProvenanceError
from synthmark.provenance._manifest import REASONS, build_manifest, check_watermark, explain, report_from_store
from synthmark.provenance._model import (
    AIGC_ASSERTION,
    MAX_ACTIONS,
    MAX_CHAIN_DEPTH,
    MAX_MANIFESTS,
    MAX_PEM_BYTES,
    READ_MEDIA_TYPES,
    SOFT_BINDING_ALG,
    SOFT_BINDING_ALGS,
    SUPPORTED_MEDIA_TYPES,
    Action,
    AIDeclaration,
    IngredientReport,
    ManifestNode,
    PathOrBytes,
    ProvenanceReport,
    Signer,
    TestPki,
    Watermark,
    canonical_media_type,
)

__all__ = [
    "AIGC_ASSERTION",
    "MAX_ACTIONS",
    "MAX_CHAIN_DEPTH",
    "MAX_MANIFESTS",
    "MAX_PEM_BYTES",
    "READ_MEDIA_TYPES",
    "REASONS",
    "SOFT_BINDING_ALG",
    "SOFT_BINDING_ALGS",
    "SUPPORTED_MEDIA_TYPES",
    "AIDeclaration",
    "Action",
    "IngredientReport",
    "ManifestNode",
    "ProvenanceReport",
    "Signer",
    "TestPki",
    "Watermark",
    "callback_signer",
    "explain",
    "load_signer",
    "read",
    "report_from_store",
    "sign",
    "write_test_pki",
]


def load_signer(
    cert_chain: PathOrBytes,
    private_key: PathOrBytes,
    *,
    tsa_url: str | None = None,
    now: datetime | None = None,
) -> Signer:
    """Load and check a PEM certificate chain and private key for C2PA signing.

    Parameters
    ----------
    cert_chain:
        Path to (``str``/``PathLike``) or content of (``bytes``) the PEM chain: the end-entity
        (signing) certificate first, then intermediates; the root is not needed.
    private_key:
        Path to or content of the end-entity's unencrypted PEM private key (PKCS#8, SEC1 or PKCS#1).
    tsa_url:
        RFC 3161 timestamp authority, contacted at each signing; default ``None`` (no timestamp,
        so manifests read Invalid once the certificate expires).
    now:
        The moment validity is checked at; default the current time (naive = UTC).

    Returns
    -------
    Signer
        With ``alg`` picked from the key: P-256 → es256, P-384 → es384, P-521 → es512,
        Ed25519 → ed25519, RSA (≥ 2048 bits) → ps256.

    Raises
    ------
    CertificateError
        One line naming the file and the fix, for: unreadable or not PEM; encrypted key; key
        that does not match the first certificate; unsupported key type; end-entity expired or
        not yet valid; self-signed or CA end-entity; no KeyUsage digitalSignature; no EKU, or an
        EKU set c2pa rejects (only serverAuth/codeSigning/clientAuth, anyExtendedKeyUsage,
        documentSigning, timeStamping or OCSPSigning mixed with others); a chain out of order;
        an expired intermediate. emailProtection, timeStamping and OCSPSigning pass.
    """
    from synthmark.provenance import _certs

    return _certs.load_signer(cert_chain, private_key, tsa_url=tsa_url, now=now)


def callback_signer(
    sign: Callable[[bytes], bytes],
    cert_chain: PathOrBytes,
    alg: str,
    *,
    tsa_url: str | None = None,
    now: datetime | None = None,
) -> Signer:
    """A :class:`Signer` whose key stays in a KMS/HSM: ``sign(claim_bytes) -> signature``.

    ``alg`` is one of ``es256 es384 es512 ps256 ps384 ps512 ed25519`` and must fit the
    certificate's key. For ECDSA the callback may return DER or raw ``r||s``; for PS* RSASSA-PSS
    with MGF1 and the matching SHA-2 (salt = hash length); for Ed25519 the 64-byte signature.
    ``cert_chain`` is checked as in :func:`load_signer` (``now`` likewise); the key cannot be
    compared with the certificate here, so a wrong key fails at :func:`sign` with
    :class:`CertificateError`. An exception raised by ``sign`` is re-raised as the cause of a
    :class:`ProvenanceError`.
    """
    from synthmark.provenance import _certs

    return _certs.callback_signer(sign, cert_chain, alg, tsa_url=tsa_url, now=now)


def sign(
    data: bytes,
    media_type: str,
    signer: Signer,
    *,
    label: AIGCLabel,
    watermark: Watermark | None = None,
    parent: bytes | None = None,
    parent_media_type: str | None = None,
    thumbnail: bool = False,
    title: str | None = None,
    kept_from: AIGCLabel | None = None,
) -> bytes:
    """Return ``data`` with a signed C2PA manifest embedded (``data`` itself is not modified).

    Parameters
    ----------
    data:
        The media file's bytes, of ``media_type`` (one of :data:`SUPPORTED_MEDIA_TYPES`; common
        aliases such as ``image/jpg`` and ``audio/x-wav`` are accepted).
    signer:
        From :func:`load_signer` or :func:`callback_signer`.
    label:
        The AIGC label; it must pass :func:`synthmark.aigc.validate` (non-strict).
    watermark:
        When given, a ``c2pa.watermarked`` action and a ``c2pa.soft-binding`` assertion
        ``{"alg": SOFT_BINDING_ALG, "blocks": [{"scope": {}, "value": payload_hex}]}``.
    parent:
        The previous version's bytes (normally carrying its own manifest): recorded as the
        parentOf ingredient, with ``c2pa.opened`` + ``c2pa.edited`` instead of ``c2pa.created``.
        Its manifest is validated as it is added and the result travels in the new manifest.
    parent_media_type:
        The parent's media type; default ``media_type``.
    thumbnail:
        Embed a claim thumbnail (and, with a parent, an ingredient thumbnail); default
        ``False`` (they cost about 40 ms and 100 KB or more per 1080p JPEG).
    title:
        The manifest's ``dc:title`` (e.g. the file name); default none.
    kept_from:
        The label the file already carried, when ``label`` propagates it: its producer fields
        are carried as found (see :meth:`~synthmark.AIGCLabel.checked`).

    Raises
    ------
    UnsupportedFormatError
        ``media_type`` is not supported.
    InvalidLabelError
        The label breaks the Annex E rules.
    CertificateError
        c2pa refused the signer (e.g. a callback key that does not match the certificate).
    ProvenanceError
        ``data`` already carries a manifest and no ``parent`` was given (it would be silently
        replaced), the watermark is malformed, c2pa cannot parse the data, or another c2pa failure.
    """
    import synthmark
    from synthmark.provenance import _engine

    kind = canonical_media_type(media_type)
    parent_kind = kind if parent_media_type is None else canonical_media_type(parent_media_type)
    label.checked(kept_from=kept_from)
    if watermark is not None:
        check_watermark(watermark)
    parent_title = None
    if parent is not None:
        _, parent_title = _engine.manifest_title(parent, parent_kind)
    elif _engine.C2PA_MARKER in data:
        raise ProvenanceError(
            "the data already carries a C2PA manifest, which signing would replace",
            fix="pass the signed original as parent= to keep its provenance as the parent ingredient",
        )
    manifest = build_manifest(
        label=label, version=synthmark.__version__, watermark=watermark, has_parent=parent is not None, title=title
    )
    return _engine.sign(
        manifest,
        data,
        kind,
        signer,
        parent=parent,
        parent_media_type=parent_kind,
        parent_title=parent_title,
        thumbnail=thumbnail,
    )


def read(data: bytes, media_type: str, *, trust_anchors: Sequence[bytes] = ()) -> ProvenanceReport:
    """Read and validate the C2PA manifest of ``data``, offline.

    Parameters
    ----------
    data:
        The file's bytes, of ``media_type`` (see :data:`READ_MEDIA_TYPES`: every type c2pa
        reads, PDF and Office documents included, not only the ones synthmark signs).
    trust_anchors:
        Root certificates (PEM bytes each) whose chains read ``"Trusted"``; default none, so a
        valid manifest reads ``"Valid (untrusted signer)"``.

    Returns
    -------
    ProvenanceReport
        ``found=False`` for files without a manifest (never an exception); a manifest that c2pa
        cannot parse reads ``"Invalid"`` with c2pa's message; a manifest stored remotely is
        reported found but not checked (``state=None``), since nothing is fetched.

    Raises
    ------
    UnsupportedFormatError
        ``media_type`` is not supported.
    ProvenanceError
        A trust anchor is not a PEM certificate.
    """
    from synthmark.provenance import _certs, _engine

    kind = canonical_media_type(media_type, supported=READ_MEDIA_TYPES)
    return _engine.read(data, kind, _certs.anchors_pem(trust_anchors))


def write_test_pki(outdir: str | os.PathLike[str]) -> TestPki:
    """Write a throw-away C2PA test PKI into ``outdir`` (created if missing). TEST ONLY.

    root CA (10 years) → intermediate CA (10 years) → signing certificate (2 years), all P-256;
    the signing certificate has EKU emailProtection, KeyUsage digitalSignature (critical) and
    BasicConstraints CA:false, so c2pa accepts it and, with ``root.pem`` as trust anchor,
    validates it as Trusted. Files: ``root.pem``, ``chain.pem`` (signer then intermediate),
    ``signer.key`` (mode 0600) and ``README.txt`` ("TEST ONLY — not for production"); existing
    files are replaced atomically. The CA keys are not kept.
    """
    from synthmark.provenance import _certs

    return _certs.write_test_pki(outdir)
