"""The one place that talks to c2pa-python (0.38): Context, Builder, Reader and c2pa.Signer.

Imported lazily by :mod:`synthmark.provenance` so that ``import synthmark`` never loads c2pa.
Every c2pa call gets an explicit offline ``Context`` (the global ``load_settings`` is ignored by
Reader and Builder in this version): no remote manifest fetch, no OCSP, no thumbnails unless asked.
Every ``C2paError`` leaves this module as a :class:`~synthmark.errors.ProvenanceError`.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import c2pa

from synthmark.errors import CertificateError, ProvenanceError
from synthmark.provenance._manifest import (
    parent_ingredient,
    remote_report,
    report_from_store,
    unreadable_report,
)
from synthmark.provenance._model import ProvenanceReport, Signer

#: Start of every embedded C2PA manifest store: a JUMBF description box labelled with the c2pa UUID.
C2PA_MARKER = b"jumdc2pa"

_ALG_ENUM = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ps384": c2pa.C2paSigningAlg.PS384,
    "ps512": c2pa.C2paSigningAlg.PS512,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}
_CERT_FIX = "check the certificate with synthmark.provenance.load_signer (it names what C2PA rejects)"


def _context(anchors_pem: str | None = None, *, thumbnail: bool = False) -> Any:
    settings: dict[str, Any] = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": thumbnail}},
    }
    if anchors_pem:
        settings["trust"] = {"user_anchors": anchors_pem}
    try:
        return c2pa.Context.from_dict(settings)
    except c2pa.C2paError as exc:
        raise ProvenanceError(
            f"c2pa rejected its settings: {_message(exc)}", fix="check the trust anchors are PEM certificates"
        ) from exc


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _translate(exc: Exception, doing: str, media_type: str) -> ProvenanceError:
    """A synthmark error for a c2pa failure while ``doing`` something with ``media_type`` data."""
    message = _message(exc)
    if isinstance(exc, c2pa.C2paError.Signature):
        if "not valid at time" in message:
            return CertificateError(
                f"c2pa refused to sign: the certificate is not valid now ({message})", fix=_CERT_FIX
            )
        if "does not match" in message:
            return CertificateError(
                f"c2pa refused to sign: the signature does not verify with the certificate ({message})",
                fix="make sure the key or sign callback belongs to the chain's first certificate and returns "
                "a signature for the chosen algorithm",
            )
        return CertificateError(f"c2pa refused the signing credentials ({message})", fix=_CERT_FIX)
    if isinstance(exc, c2pa.C2paError.NotSupported) or "could not be parsed" in message:
        return ProvenanceError(
            f"c2pa cannot parse the data as {media_type} while {doing} ({message})",
            fix=f"pass a complete, undamaged {media_type} file and its true media type",
        )
    if isinstance(exc, c2pa.C2paError.Verify):
        return ProvenanceError(
            f"c2pa refused the manifest while {doing} ({message})",
            fix="this is a synthmark bug: please report it with the message",
        )
    return ProvenanceError(f"c2pa failed while {doing} ({message})", fix="check the input file and settings")


def _c2pa_signer(signer: Signer, failures: list[BaseException]) -> Any:
    """A fresh c2pa.Signer; exceptions raised by a sign callback are kept in ``failures``."""
    callback = signer.sign_callback
    if signer.alg not in _ALG_ENUM or (callback is None and signer.private_key is None):
        raise ProvenanceError(
            f"the Signer for '{signer.subject}' is incomplete (alg {signer.alg!r}, no key or callback)",
            fix="make signers with load_signer or callback_signer",
        )
    if callback is not None:
        user_sign: Callable[[bytes], bytes] = callback

        def sign_claim(data: bytes) -> bytes:
            try:
                return bytes(user_sign(data))
            except Exception as exc:  # c2pa swallows it; keep it to raise it later
                failures.append(exc)
                raise

        return c2pa.Signer.from_callback(
            sign_claim, _ALG_ENUM[signer.alg], signer.cert_chain.decode("ascii"), signer.tsa_url
        )
    info = c2pa.C2paSignerInfo(
        signer.alg.encode("ascii"),
        signer.cert_chain,
        signer.private_key,
        None if signer.tsa_url is None else signer.tsa_url.encode("utf-8"),
    )
    return c2pa.Signer.from_info(info)


def manifest_title(data: bytes, media_type: str) -> tuple[bool, str | None]:
    """Whether ``data`` carries a manifest c2pa can read, and its active manifest's title.

    Raises :class:`ProvenanceError` when c2pa cannot parse the data at all.
    """
    try:
        with _context() as context:
            reader = c2pa.Reader.try_create(media_type, io.BytesIO(data), None, context)
            if reader is None:
                return False, None
            with reader:
                manifest = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        raise _translate(exc, "reading the parent", media_type) from exc
    title = manifest.get("title")
    return True, title if isinstance(title, str) else None


def sign(
    manifest: dict[str, Any],
    data: bytes,
    media_type: str,
    signer: Signer,
    *,
    parent: bytes | None,
    parent_media_type: str,
    parent_title: str | None,
    thumbnail: bool,
) -> bytes:
    """``data`` with ``manifest`` signed and embedded; ``parent`` becomes the parentOf ingredient."""
    failures: list[BaseException] = []
    output = io.BytesIO()  # c2pa writes, seeks and reads back: a w+b stream
    try:
        with _context(thumbnail=thumbnail) as context:
            builder = c2pa.Builder(manifest, context=context)
            try:
                if parent is not None:
                    builder.add_ingredient(parent_ingredient(parent_title), parent_media_type, io.BytesIO(parent))
                c2pa_signer = _c2pa_signer(signer, failures)
                try:
                    builder.sign(c2pa_signer, media_type, io.BytesIO(data), output)
                finally:
                    c2pa_signer.close()
            finally:
                builder.close()  # a no-op after a successful sign (Builders are single-use)
    except c2pa.C2paError as exc:
        if failures:
            raise ProvenanceError(
                f"the sign callback failed: {_message(failures[0])}", fix="check the KMS/HSM signing function"
            ) from failures[0]
        raise _translate(exc, "signing", media_type) from exc
    return output.getvalue()


def read(data: bytes, media_type: str, anchors_pem: str | None) -> ProvenanceReport:
    """Read and validate the manifest of ``data``; c2pa failures become report fields, not errors."""
    with _context(anchors_pem) as context:
        try:
            reader = c2pa.Reader.try_create(media_type, io.BytesIO(data), None, context)
            if reader is None:
                return ProvenanceReport(found=False)
            with reader:
                try:
                    store = json.loads(reader.json())
                except RecursionError:  # hostile nesting in an assertion
                    return unreadable_report("manifest store JSON is nested too deeply to read")
                state = reader.get_validation_state()
        except c2pa.C2paError as exc:
            message = _message(exc)
            if isinstance(exc, c2pa.C2paError.RemoteManifest) or message.startswith("Remote"):
                return remote_report(message)
            if C2PA_MARKER in data:
                return unreadable_report(message)
            return ProvenanceReport(
                found=False, reasons=(f"c2pa cannot parse this {media_type} data: {message} (general.error)",)
            )
    return report_from_store(store, state if isinstance(state, str) else None)
