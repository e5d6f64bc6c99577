"""Signing identities: PEM loading and the C2PA certificate profile checks, and a test PKI.

Every check here mirrors what c2pa-python 0.38 (c2pa-rs 0.91) does when it signs, so a
:class:`~synthmark.provenance.Signer` that loads is one c2pa accepts, and the error arrives before
any media is touched, naming the file and the fix. Uses ``cryptography`` (a c2pa dependency).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from synthmark._atomic import write_atomic
from synthmark.errors import CertificateError, InputError, ProvenanceError
from synthmark.formats import read_bytes
from synthmark.provenance._model import MAX_PEM_BYTES, PathOrBytes, Signer, TestPki

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey

#: c2pa signing algorithms this module hands out; RSA keys sign with RSASSA-PSS.
ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
_CURVE_ALG = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
_MIN_RSA_BITS = 2048
_KEY_FIX = "use a P-256 (ES256), P-384, P-521, Ed25519 or RSA (2048 bits or more) key"

# Extended key usages: c2pa accepts a signing certificate with emailProtection, or with
# timeStamping or OCSPSigning as its only EKU; anyExtendedKeyUsage is refused.
_ACCEPTED_EKU = {
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
}
_SOLE_EKU = {ExtendedKeyUsageOID.TIME_STAMPING, ExtendedKeyUsageOID.OCSP_SIGNING}
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ObjectIdentifier("1.3.6.1.5.5.7.3.36"): "documentSigning",
    ObjectIdentifier("1.3.6.1.4.1.62558.2.1"): "c2pa claimSigning",
    **_ACCEPTED_EKU,
}
_EKU_FIX = "reissue the signing certificate with extended key usage emailProtection (1.3.6.1.5.5.7.3.4)"


def _read(source: PathOrBytes, what: str) -> tuple[bytes, str | None]:
    """The bytes of a PEM given as content (``bytes``) or as a path, and the path (or ``None``)."""
    if isinstance(source, bytes | bytearray):
        return bytes(source), None
    if isinstance(source, str) and source.lstrip().startswith("-----BEGIN"):
        raise CertificateError(
            f"the {what} was given as PEM text in a str, which is read as a file name",
            fix="pass PEM content as bytes, or pass the file's path",
        )
    path = os.fspath(source)
    try:
        return read_bytes(path, limit=MAX_PEM_BYTES), path
    except InputError as exc:
        raise CertificateError(
            f"cannot read the {what}: {exc.message}", path=path, fix="check the path and its permissions"
        ) from exc


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(timezone.utc)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _subject(cert: x509.Certificate) -> str:
    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        values = cert.subject.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return cert.subject.rfc4514_string()


def _parse_chain(data: bytes, path: str | None) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise CertificateError(
            "the certificate chain is not PEM certificates",
            path=path,
            fix="export the chain as PEM (-----BEGIN CERTIFICATE-----), end-entity first, then intermediates",
        ) from exc
    return certs


def _alg_of_public_key(key: object) -> str | None:
    """The c2pa algorithm for a public or private key, ``None`` if c2pa cannot sign with it."""
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return _CURVE_ALG.get(key.curve.name)
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "ps256" if key.key_size >= _MIN_RSA_BITS else None
    return None


def _key_description(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"EC key on curve {key.curve.name}"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"RSA key of {key.key_size} bits"
    return type(key).__name__.lstrip("_")


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    except UnsupportedAlgorithm:  # e.g. RSA-PSS signatures: trust the names
        return cert.issuer == issuer.subject
    return True


def _check_validity(cert: x509.Certificate, role: str, path: str | None, now: datetime) -> None:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now > end:
        raise CertificateError(
            f"the {role} certificate '{_subject(cert)}' expired on {end:%Y-%m-%d %H:%M} UTC",
            path=path,
            fix="renew the certificate (and use a timestamp authority so signed files outlive it)",
        )
    if now < start:
        raise CertificateError(
            f"the {role} certificate '{_subject(cert)}' is not valid before {start:%Y-%m-%d %H:%M} UTC",
            path=path,
            fix="check the system clock or wait until the certificate's validity starts",
        )


def _check_profile(leaf: x509.Certificate, path: str | None) -> None:
    """The end-entity rules of the C2PA certificate profile that c2pa enforces at signing."""
    name = _subject(leaf)
    if leaf.issuer == leaf.subject and _issued_by(leaf, leaf):
        raise CertificateError(
            f"the signing certificate '{name}' is self-signed; C2PA validators never trust it",
            path=path,
            fix="have it issued by a CA (for tests: synthmark.provenance.write_test_pki)",
        )
    try:
        constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise CertificateError(
            f"the signing certificate '{name}' is a CA certificate",
            path=path,
            fix="sign with an end-entity certificate (BasicConstraints CA:false) issued by the CA",
        )
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        raise CertificateError(
            f"the signing certificate '{name}' lacks key usage digitalSignature",
            path=path,
            fix="reissue it with KeyUsage digitalSignature (critical)",
        )
    if usage.key_cert_sign:
        raise CertificateError(
            f"the signing certificate '{name}' has key usage keyCertSign, which C2PA rejects",
            path=path,
            fix="reissue it with KeyUsage digitalSignature only",
        )
    try:
        leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    except x509.ExtensionNotFound:
        raise CertificateError(
            f"the signing certificate '{name}' has no authority key identifier, which C2PA requires",
            path=path,
            fix="reissue it with the AuthorityKeyIdentifier extension (every CA tool adds it by default)",
        ) from None
    digest = leaf.signature_hash_algorithm
    if digest is not None and digest.name in ("md5", "sha1"):
        raise CertificateError(
            f"the signing certificate '{name}' is signed with {digest.name.upper()}, which C2PA rejects",
            path=path,
            fix="reissue it signed with SHA-256 or stronger",
        )
    try:
        ekus = set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        raise CertificateError(
            f"the signing certificate '{name}' has no extended key usage, which C2PA requires",
            path=path,
            fix=_EKU_FIX,
        ) from None
    listed = ", ".join(sorted(_EKU_NAMES.get(oid, oid.dotted_string) for oid in ekus))
    if ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in ekus or not ekus & _ACCEPTED_EKU.keys():
        raise CertificateError(
            f"the signing certificate '{name}' has extended key usage {listed}, which C2PA rejects",
            path=path,
            fix=_EKU_FIX,
        )
    if ekus & _SOLE_EKU and len(ekus) > 1:
        raise CertificateError(
            f"the signing certificate '{name}' combines timeStamping or OCSPSigning with other "
            f"extended key usages ({listed}), which C2PA rejects",
            path=path,
            fix=_EKU_FIX,
        )


def _check_chain(certs: list[x509.Certificate], path: str | None, now: datetime) -> x509.Certificate:
    """Validate a parsed chain (end-entity first) and return the end-entity certificate."""
    if not certs:
        raise CertificateError("the certificate chain is empty", path=path, fix="pass the PEM chain, end-entity first")
    leaf = certs[0]
    if _alg_of_public_key(leaf.public_key()) is None:
        raise CertificateError(
            f"the signing certificate holds an unsupported {_key_description(leaf.public_key())}",
            path=path,
            fix=_KEY_FIX,
        )
    _check_profile(leaf, path)
    _check_validity(leaf, "signing", path, now)
    for index, (cert, issuer) in enumerate(itertools.pairwise(certs), start=1):
        if not _issued_by(cert, issuer):
            raise CertificateError(
                f"certificate {index} of the chain ('{_subject(cert)}') is not issued by certificate "
                f"{index + 1} ('{_subject(issuer)}')",
                path=path,
                fix="order the PEM chain end-entity first, then each issuer",
            )
        _check_validity(issuer, "intermediate", path, now)
    return leaf


def _pem_chain(certs: list[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)


def _check_tsa(tsa_url: str | None) -> None:
    if tsa_url is not None and not tsa_url.startswith(("http://", "https://")):
        raise ProvenanceError(
            f"timestamp authority URL {tsa_url!r} is not http(s)",
            fix="pass an RFC 3161 TSA URL such as http://timestamp.digicert.com, or None",
        )


def load_signer(
    cert_chain: PathOrBytes,
    private_key: PathOrBytes,
    *,
    tsa_url: str | None = None,
    now: datetime | None = None,
) -> Signer:
    """See :func:`synthmark.provenance.load_signer`."""
    moment = _utc(now)
    _check_tsa(tsa_url)
    chain_data, chain_path = _read(cert_chain, "certificate chain")
    key_data, key_path = _read(private_key, "private key")
    certs = _parse_chain(chain_data, chain_path)
    try:
        key = serialization.load_pem_private_key(key_data, password=None)
    except TypeError as exc:
        raise CertificateError(
            "the private key is encrypted",
            path=key_path,
            fix="decrypt it (openssl pkey -in KEY -out PLAIN.key, keep it mode 0600) or keep it in a KMS "
            "and use callback_signer",
        ) from exc
    except UnsupportedAlgorithm as exc:
        raise CertificateError("the private key's type is not supported", path=key_path, fix=_KEY_FIX) from exc
    except ValueError as exc:
        raise CertificateError(
            "the private key is not a PEM private key",
            path=key_path,
            fix="pass the unencrypted PEM key (-----BEGIN PRIVATE KEY-----) that matches the certificate",
        ) from exc
    alg = _alg_of_public_key(key)
    if alg is None or not isinstance(key, PrivateKey):
        raise CertificateError(
            f"the private key is an unsupported {_key_description(key)}", path=key_path, fix=_KEY_FIX
        )
    if not certs:
        raise CertificateError(
            "the certificate chain is empty", path=chain_path, fix="pass the PEM chain, end-entity first"
        )
    public = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*public) != certs[0].public_key().public_bytes(*public):
        raise CertificateError(
            f"the private key does not match the signing certificate '{_subject(certs[0])}'"
            + (f" in {chain_path}" if chain_path else ""),
            path=key_path,
            fix="pass the key the certificate was issued for (the chain must start with the end-entity certificate)",
        )
    leaf = _check_chain(certs, chain_path, moment)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Signer(
        alg=alg,
        cert_chain=_pem_chain(certs),
        subject=_subject(leaf),
        not_after=leaf.not_valid_after_utc,
        tsa_url=tsa_url,
        private_key=pkcs8,
    )


def callback_signer(
    sign: Callable[[bytes], bytes],
    cert_chain: PathOrBytes,
    alg: str,
    *,
    tsa_url: str | None = None,
    now: datetime | None = None,
) -> Signer:
    """See :func:`synthmark.provenance.callback_signer`."""
    if not callable(sign):
        raise ProvenanceError("the sign callback is not callable", fix="pass a function bytes -> signature bytes")
    name = alg.lower()
    if name not in ALGORITHMS:
        raise CertificateError(f"signing algorithm {alg!r} is not supported", fix="use one of " + " ".join(ALGORITHMS))
    _check_tsa(tsa_url)
    chain_data, chain_path = _read(cert_chain, "certificate chain")
    certs = _parse_chain(chain_data, chain_path)
    leaf = _check_chain(certs, chain_path, _utc(now))
    expected = _alg_of_public_key(leaf.public_key())
    if expected != name and not (expected == "ps256" and name.startswith("ps")):
        raise CertificateError(
            f"signing algorithm {alg!r} does not fit the certificate's {_key_description(leaf.public_key())}",
            path=chain_path,
            fix=f"use alg={expected!r}",
        )
    return Signer(
        alg=name,
        cert_chain=_pem_chain(certs),
        subject=_subject(leaf),
        not_after=leaf.not_valid_after_utc,
        tsa_url=tsa_url,
        sign_callback=sign,
    )


def anchors_pem(anchors: Sequence[bytes]) -> str | None:
    """Trust anchors (PEM bytes each, possibly several certificates) joined for c2pa's settings."""
    if isinstance(anchors, bytes | bytearray):
        anchors = [bytes(anchors)]
    certs: list[x509.Certificate] = []
    for index, anchor in enumerate(anchors, start=1):
        try:
            certs += x509.load_pem_x509_certificates(bytes(anchor))
        except (ValueError, TypeError) as exc:
            raise ProvenanceError(
                f"trust anchor {index} is not a PEM certificate",
                fix="pass each trust anchor as PEM bytes (-----BEGIN CERTIFICATE-----)",
            ) from exc
    return _pem_chain(certs).decode("ascii") if certs else None


# ----------------------------------------------------------------------------- test PKI

_README = """\
TEST ONLY — not for production.

This folder holds a throw-away certificate authority made by synthmark.provenance.write_test_pki:

  root.pem    the test root CA (10 years): give it to read(..., trust_anchors=[...]) to see "Trusted"
  chain.pem   the signing certificate (2 years, P-256, EKU emailProtection) then the intermediate CA
  signer.key  the signing certificate's private key (mode 0600)

The root and intermediate private keys were discarded. Anyone who has signer.key can sign as this
identity; nothing signed with it proves anything outside a test.
"""


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "synthmark test PKI (TEST ONLY)"),
        ]
    )


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    now: datetime,
    days: int,
    path_length: int | None,
) -> x509.Certificate:
    """A certificate: a CA when ``path_length`` is not ``None``, else a C2PA signing certificate."""
    ca = path_length is not None
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_test_pki(outdir: str | os.PathLike[str]) -> TestPki:
    """See :func:`synthmark.provenance.write_test_pki`."""
    folder = Path(outdir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProvenanceError(
            f"cannot create the folder ({exc.strerror or exc})", path=folder, fix="choose a writable folder"
        ) from exc
    now = datetime.now(timezone.utc)
    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _issue(
        "synthmark TEST root CA", root_key, _name("synthmark TEST root CA"), root_key, now=now, days=3650, path_length=1
    )
    inter = _issue(
        "synthmark TEST intermediate CA", inter_key, root.subject, root_key, now=now, days=3650, path_length=0
    )
    leaf = _issue("synthmark TEST signer", leaf_key, inter.subject, inter_key, now=now, days=730, path_length=None)
    pki = TestPki(
        root_cert=folder / "root.pem",
        chain=folder / "chain.pem",
        key=folder / "signer.key",
        readme=folder / "README.txt",
    )
    write_atomic(pki.root_cert, _pem_chain([root]))
    write_atomic(pki.chain, _pem_chain([leaf, inter]))
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_atomic(pki.key, key_pem, mode=0o600)
    write_atomic(pki.readme, _README.encode("utf-8"))
    return pki
