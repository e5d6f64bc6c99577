"""synthmark.provenance against the real c2pa-python, real files and a real (test) PKI; no mocks.

Images are the photos under fixtures/images. Audio and video samples are made here with PyAV:
one second of a seeded tone-plus-noise signal (a container test of C2PA, not of audio quality)
and ten frames of a fixture photo.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from synthmark import provenance
from synthmark.aigc import AIGCLabel
from synthmark.errors import CertificateError, InvalidLabelError, ProvenanceError, UnsupportedFormatError
from synthmark.provenance import SUPPORTED_MEDIA_TYPES, Signer, TestPki, Watermark

from ..conftest import PROVIDER, fixture_bytes

LABEL = AIGCLabel.new(PROVIDER, produce_id="test-0001")
MARK = Watermark(payload_hex="0123456789abcdef", key_id="k-test-01")
IMAGES = {"image/jpeg": "landscape.jpg", "image/png": "gray.png", "image/webp": "photo.webp"}
NOW = datetime.now(timezone.utc)
DAY = timedelta(days=1)

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return provenance.write_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def root(pki: TestPki) -> bytes:
    return pki.root_cert.read_bytes()


@pytest.fixture(scope="session")
def signer(pki: TestPki) -> Signer:
    return provenance.load_signer(pki.chain, pki.key)


@pytest.fixture(scope="session")
def signed_jpeg(signer: Signer) -> bytes:
    return provenance.sign(fixture_bytes("landscape.jpg"), "image/jpeg", signer, label=LABEL, watermark=MARK)


def flip_media(signed: bytes, original: bytes) -> bytes:
    """``signed`` with one bit flipped inside the media (not the manifest): the middle 32 bytes of
    the original are located in the signed file, which only added a manifest around them."""
    probe = original[len(original) // 2 : len(original) // 2 + 32]
    assert signed.count(probe) == 1
    at = signed.find(probe) + 16
    return signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1 :]


# ----------------------------------------------------------------------------- samples


def _audio(container: str, codec: str) -> bytes:
    import av

    rate = 44100
    rng = np.random.default_rng(7)
    t = np.arange(rate) / rate
    wave = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(rate)
    pcm = (wave * 32767).astype(np.int16)[None, :]
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        stream = box.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            box.mux(packet)
    return out.getvalue()


def _video(container: str) -> bytes:
    import av

    photo = np.asarray(Image.open(io.BytesIO(fixture_bytes("landscape.jpg"))).convert("RGB").resize((320, 240)))
    out = io.BytesIO()
    with av.open(out, "w", format=container) as box:
        stream = box.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(photo, 8 * i, axis=1)), format="rgb24")
            for packet in stream.encode(frame):
                box.mux(packet)
        for packet in stream.encode(None):
            box.mux(packet)
    return out.getvalue()


def _pil(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(fixture_bytes("small256.jpg"))).save(out, fmt)
    return out.getvalue()


SAMPLES: dict[str, Callable[[], bytes]] = {
    "image/jpeg": lambda: fixture_bytes("landscape.jpg"),
    "image/png": lambda: fixture_bytes("gray.png"),
    "image/webp": lambda: fixture_bytes("photo.webp"),
    "image/gif": lambda: _pil("GIF"),
    "image/tiff": lambda: _pil("TIFF"),
    "video/mp4": lambda: _video("mp4"),
    "video/quicktime": lambda: _video("mov"),
    "audio/mp4": lambda: _audio("ipod", "aac"),
    "audio/mpeg": lambda: _audio("mp3", "libmp3lame"),
    "audio/wav": lambda: _audio("wav", "pcm_s16le"),
    "audio/x-wav": lambda: _audio("wav", "pcm_s16le"),
    "audio/flac": lambda: _audio("flac", "flac"),
}


def test_every_supported_media_type_has_a_sample() -> None:
    assert set(SAMPLES) == SUPPORTED_MEDIA_TYPES


# ----------------------------------------------------------------------------- sign and read


@pytest.mark.parametrize("media_type", sorted(SUPPORTED_MEDIA_TYPES))
@pytest.mark.clause("c2pa")
def test_every_supported_type_signs_reads_back_and_detects_tampering(
    media_type: str, signer: Signer, root: bytes
) -> None:
    original = SAMPLES[media_type]()
    signed = provenance.sign(original, media_type, signer, label=LABEL, watermark=MARK)
    report = provenance.read(signed, media_type, trust_anchors=[root])
    assert (report.found, report.state, report.reasons) == (True, "Trusted", ())
    assert report.aigc == LABEL.to_dict() and report.soft_binding == MARK.payload_hex
    tampered = provenance.read(flip_media(signed, original), media_type, trust_anchors=[root])
    assert tampered.state == "Invalid" and tampered.verdict == "Invalid"
    assert any("media bytes were changed after signing (assertion." in r for r in tampered.reasons)


@pytest.mark.parametrize("name", ["landscape.jpg", "flat.png", "photo.webp"])
def test_trusted_with_the_root_and_untrusted_without(name: str, signer: Signer, root: bytes) -> None:
    media_type = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}[Path(name).suffix]
    signed = provenance.sign(fixture_bytes(name), media_type, signer, label=LABEL, watermark=MARK, title=name)

    trusted = provenance.read(signed, media_type, trust_anchors=[root])
    assert (trusted.state, trusted.verdict, trusted.reasons) == ("Trusted", "Trusted", ())
    assert trusted.claim_generator is not None and trusted.claim_generator.startswith("synthmark ")
    assert trusted.signer == "synthmark TEST signer (synthmark test PKI (TEST ONLY))"
    assert trusted.ai_generated
    assert trusted.aigc == LABEL.to_dict() and list(trusted.aigc) == list(LABEL.to_dict())  # Annex E order
    assert trusted.soft_binding == "0123456789abcdef"
    assert trusted.ingredients == ()

    untrusted = provenance.read(signed, media_type)
    assert (untrusted.state, untrusted.verdict) == ("Valid", "Valid (untrusted signer)")
    assert untrusted.reasons == (
        "the signer's certificate does not chain to a trusted root (signingCredential.untrusted)",
    )


def test_report_is_json_ready(signed_jpeg: bytes, root: bytes) -> None:
    found = provenance.read(signed_jpeg, "image/jpeg", trust_anchors=[root]).to_dict()
    assert json.loads(json.dumps(found)) == found
    assert found["checked"] is True and found["found"] is True and found["verdict"] == "Trusted"
    missing = provenance.read(fixture_bytes("landscape.jpg"), "image/jpeg").to_dict()
    assert missing["checked"] is True and missing["found"] is False and missing["state"] is None


def test_manifest_without_watermark_has_no_soft_binding(signer: Signer) -> None:
    signed = provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", signer, label=LABEL)
    report = provenance.read(signed, "image/jpeg")
    assert report.soft_binding is None and report.aigc == LABEL.to_dict() and report.ai_generated


def test_thumbnail_only_when_asked(signer: Signer) -> None:
    data = fixture_bytes("landscape.jpg")
    plain = provenance.sign(data, "image/jpeg", signer, label=LABEL)
    with_thumbnail = provenance.sign(data, "image/jpeg", signer, label=LABEL, thumbnail=True)
    assert len(plain) - len(data) < 10_000 < len(with_thumbnail) - len(data)


def test_input_bytes_are_not_modified(signer: Signer) -> None:
    data = fixture_bytes("small256.jpg")
    provenance.sign(data, "image/jpeg", signer, label=LABEL)
    assert data == fixture_bytes("small256.jpg")


def test_flipped_media_byte_reads_invalid_in_plain_words(signed_jpeg: bytes, root: bytes) -> None:
    report = provenance.read(
        flip_media(signed_jpeg, fixture_bytes("landscape.jpg")), "image/jpeg", trust_anchors=[root]
    )
    assert (report.found, report.state, report.verdict) == (True, "Invalid", "Invalid")
    assert report.reasons == ("the media bytes were changed after signing (assertion.dataHash.mismatch)",)


def test_edited_aigc_assertion_reads_invalid(signed_jpeg: bytes, root: bytes) -> None:
    forged = signed_jpeg.replace(b"test-0001", b"test-0002")
    assert forged != signed_jpeg
    report = provenance.read(forged, "image/jpeg", trust_anchors=[root])
    assert report.state == "Invalid"
    assert "an assertion was changed after signing (assertion.hashedURI.mismatch)" in report.reasons


def test_damaged_manifest_reads_invalid_not_an_exception(signed_jpeg: bytes) -> None:
    at = signed_jpeg.find(b"c2pa.claim") + 20
    damaged = signed_jpeg[:at] + bytes(b ^ 0x55 for b in signed_jpeg[at : at + 32]) + signed_jpeg[at + 32 :]
    report = provenance.read(damaged, "image/jpeg")
    assert (report.found, report.state) == (True, "Invalid")
    assert report.reasons[0].startswith("the C2PA manifest is damaged and cannot be read: ")
    assert report.reasons[0].endswith("(general.error)")


def test_pillow_resave_removes_the_manifest(signed_jpeg: bytes) -> None:
    out = io.BytesIO()
    Image.open(io.BytesIO(signed_jpeg)).save(out, "JPEG", quality=95)
    assert provenance.read(out.getvalue(), "image/jpeg") == provenance.ProvenanceReport(found=False)


@pytest.mark.parametrize("media_type", sorted(IMAGES))
def test_unsigned_files_are_not_found(media_type: str) -> None:
    report = provenance.read(fixture_bytes(IMAGES[media_type]), media_type)
    assert (report.found, report.state, report.verdict, report.reasons) == (False, None, None, ())


def test_garbage_is_not_found_with_a_reason() -> None:
    report = provenance.read(b"not an image at all" * 20, "image/jpeg")
    assert not report.found and report.reasons[0].endswith("(general.error)")


# ----------------------------------------------------------------------------- relabel chain


def _resaved(data: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).rotate(2).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.clause("c2pa")
def test_relabel_chain_records_a_valid_parent(signer: Signer, signed_jpeg: bytes, root: bytes) -> None:
    child = provenance.sign(_resaved(signed_jpeg), "image/jpeg", signer, label=LABEL, parent=signed_jpeg)
    report = provenance.read(child, "image/jpeg", trust_anchors=[root])
    assert (report.state, report.reasons) == ("Trusted", ())
    assert report.ai_generated and report.aigc == LABEL.to_dict()
    (parent,) = report.ingredients
    assert (parent.relationship, parent.state, parent.reasons) == ("parentOf", "Trusted", ())
    # Without the anchor, the parent is intact but its signer untrusted, like the child.
    (untrusted,) = provenance.read(child, "image/jpeg").ingredients
    assert untrusted.state == "Valid"
    assert untrusted.reasons == (
        "the signer's certificate does not chain to a trusted root (signingCredential.untrusted)",
    )


def test_tampered_parent_is_invalid_while_the_child_validates(signer: Signer, signed_jpeg: bytes, root: bytes) -> None:
    tampered = flip_media(signed_jpeg, fixture_bytes("landscape.jpg"))
    child = provenance.sign(_resaved(signed_jpeg), "image/jpeg", signer, label=LABEL, parent=tampered)
    report = provenance.read(child, "image/jpeg", trust_anchors=[root])
    assert report.state == "Trusted"  # c2pa's own verdict on the child
    (parent,) = report.ingredients
    assert parent.state == "Invalid"
    assert parent.reasons == ("the media bytes were changed after signing (assertion.dataHash.mismatch)",)
    assert any(r.startswith("ingredient ") and "assertion.dataHash.mismatch" in r for r in report.reasons)


def test_signing_over_an_existing_manifest_needs_a_parent(signer: Signer, signed_jpeg: bytes) -> None:
    with pytest.raises(ProvenanceError, match=r"already carries a C2PA manifest.*pass the signed original as parent="):
        provenance.sign(signed_jpeg, "image/jpeg", signer, label=LABEL)


def test_unreadable_parent_is_refused(signer: Signer) -> None:
    with pytest.raises(ProvenanceError, match="while reading the parent"):
        provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", signer, label=LABEL, parent=b"junk" * 100)


def test_incomplete_hand_made_signer_is_refused(pki: TestPki) -> None:
    keyless = Signer(alg="es256", cert_chain=pki.chain.read_bytes(), subject="x", not_after=NOW)
    with pytest.raises(ProvenanceError, match="incomplete"):
        provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", keyless, label=LABEL)


def test_unsigned_parent_is_recorded_as_unsigned(signer: Signer) -> None:
    data = fixture_bytes("small256.jpg")
    child = provenance.sign(_resaved(data), "image/jpeg", signer, label=LABEL, parent=data)
    (parent,) = provenance.read(child, "image/jpeg").ingredients
    assert (parent.state, parent.relationship) == ("Unsigned", "parentOf")


# ----------------------------------------------------------------------------- input errors


def test_unsupported_media_types_are_refused(signer: Signer) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"'text/plain'.*image/jpeg"):
        provenance.sign(b"hello", "text/plain", signer, label=LABEL)
    with pytest.raises(UnsupportedFormatError):
        provenance.read(b"hello", "application/x-nothing")


def test_media_type_aliases_are_accepted(signer: Signer, root: bytes) -> None:
    signed = provenance.sign(fixture_bytes("small256.jpg"), "IMAGE/JPG; q=1", signer, label=LABEL)
    assert provenance.read(signed, "image/pjpeg", trust_anchors=[root]).state == "Trusted"


def test_data_that_is_not_its_media_type_is_a_provenance_error(signer: Signer) -> None:
    with pytest.raises(ProvenanceError, match="cannot parse the data as image/png") as caught:
        provenance.sign(fixture_bytes("small256.jpg"), "image/png", signer, label=LABEL)
    assert caught.value.__cause__ is not None


def test_bad_watermark_and_label_are_refused(signer: Signer) -> None:
    data = fixture_bytes("small256.jpg")
    with pytest.raises(ProvenanceError, match="not 16 hex digits"):
        provenance.sign(data, "image/jpeg", signer, label=LABEL, watermark=Watermark("xyz", "k"))
    with pytest.raises(InvalidLabelError):
        provenance.sign(data, "image/jpeg", signer, label=AIGCLabel(label="9", content_producer="p", produce_id="i"))


def test_bad_trust_anchor_is_refused(signed_jpeg: bytes) -> None:
    with pytest.raises(ProvenanceError, match="trust anchor 1 is not a PEM certificate"):
        provenance.read(signed_jpeg, "image/jpeg", trust_anchors=[b"garbage"])


# ----------------------------------------------------------------------------- certificates


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class MiniCA:
    """A root CA made here (independent of write_test_pki) to mint good and bad signing certs."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("mini root"))
            .issuer_name(_name("mini root"))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )

    def leaf(
        self,
        key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey,
        *,
        eku: list[x509.ObjectIdentifier] | None = None,
        start: datetime = NOW - DAY,
        end: datetime = NOW + 365 * DAY,
        self_signed: bool = False,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name("mini signer"))
            .issuer_name(_name("mini signer") if self_signed else self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key((key if self_signed else self.key).public_key()),
                critical=False,
            )
        )
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        signing_key = key if self_signed else self.key
        return builder.sign(
            signing_key, None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        )


EMAIL = ExtendedKeyUsageOID.EMAIL_PROTECTION


@pytest.fixture(scope="module")
def mini() -> MiniCA:
    return MiniCA()


def _bad_certificates(mini: MiniCA) -> dict[str, tuple[bytes, bytes, str]]:
    """name -> (chain PEM, key PEM, expected message fragment)."""
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    good = mini.leaf(key, eku=[EMAIL])
    return {
        "expired": (
            _pem(mini.leaf(key, eku=[EMAIL], start=NOW - 400 * DAY, end=NOW - DAY)),
            _key_pem(key),
            "expired on",
        ),
        "not yet valid": (_pem(mini.leaf(key, eku=[EMAIL], start=NOW + DAY)), _key_pem(key), "is not valid before"),
        "self-signed": (_pem(mini.leaf(key, eku=[EMAIL], self_signed=True)), _key_pem(key), "is self-signed"),
        "serverAuth": (
            _pem(mini.leaf(key, eku=[ExtendedKeyUsageOID.SERVER_AUTH])),
            _key_pem(key),
            "extended key usage serverAuth, which C2PA rejects",
        ),
        "codeSigning": (
            _pem(mini.leaf(key, eku=[ExtendedKeyUsageOID.CODE_SIGNING])),
            _key_pem(key),
            "extended key usage codeSigning, which C2PA rejects",
        ),
        "no EKU": (_pem(mini.leaf(key)), _key_pem(key), "has no extended key usage"),
        "wrong key": (_pem(good), _key_pem(other), "private key does not match the signing certificate"),
        "not PEM chain": (b"this is not a certificate", _key_pem(key), "not PEM certificates"),
        "not PEM key": (_pem(good), b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n", "not a PEM"),
        "unsupported key": (
            _pem(mini.leaf(k := ec.generate_private_key(ec.SECP256K1()), eku=[EMAIL])),
            _key_pem(k),
            "unsupported EC key on curve secp256k1",
        ),
    }


BAD = ["expired", "not yet valid", "self-signed", "serverAuth", "codeSigning", "no EKU", "wrong key"]
BAD += ["not PEM chain", "not PEM key", "unsupported key"]


@pytest.mark.parametrize("case", BAD)
def test_bad_certificates_fail_at_load_time_with_file_and_fix(case: str, mini: MiniCA, tmp_path: Path) -> None:
    chain, key, fragment = _bad_certificates(mini)[case]
    (tmp_path / "chain.pem").write_bytes(chain)
    (tmp_path / "signer.key").write_bytes(key)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(CertificateError) as caught:
        provenance.load_signer(tmp_path / "chain.pem", tmp_path / "signer.key")
    message = str(caught.value)
    assert fragment in message and "\n" not in message
    assert caught.value.path is not None and message.startswith(caught.value.path + ": ")
    assert caught.value.fix
    assert sorted(tmp_path.iterdir()) == before  # nothing written


@pytest.mark.parametrize("case", ["expired", "serverAuth", "codeSigning", "no EKU"])
def test_c2pa_itself_refuses_what_load_signer_refuses(case: str, mini: MiniCA) -> None:
    """The pre-checks are not stricter than c2pa: bypassing them, c2pa refuses at signing."""
    chain, key, _ = _bad_certificates(mini)[case]
    unchecked = Signer(alg="es256", cert_chain=chain, subject="x", not_after=NOW, private_key=key)
    with pytest.raises(CertificateError, match="c2pa refused"):
        provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", unchecked, label=LABEL)


def test_expiry_is_checked_at_the_given_moment(pki: TestPki) -> None:
    with pytest.raises(CertificateError, match="expired on"):
        provenance.load_signer(pki.chain, pki.key, now=NOW + 800 * DAY)


def test_unreadable_and_misused_inputs(pki: TestPki, tmp_path: Path) -> None:
    with pytest.raises(CertificateError, match="cannot read the certificate chain") as caught:
        provenance.load_signer(tmp_path / "missing.pem", pki.key)
    assert caught.value.path == str(tmp_path / "missing.pem")
    with pytest.raises(CertificateError, match="pass PEM content as bytes"):
        provenance.load_signer(pki.chain.read_text(), pki.key)
    encrypted = serialization.load_pem_private_key(pki.key.read_bytes(), None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(CertificateError, match="private key is encrypted"):
        provenance.load_signer(pki.chain, encrypted)
    certs = x509.load_pem_x509_certificates(pki.chain.read_bytes())
    with pytest.raises(CertificateError, match="private key does not match"):  # chain given root-first
        provenance.load_signer(_pem(*reversed(certs)), pki.key)


def test_load_signer_accepts_paths_and_bytes(pki: TestPki) -> None:
    by_path = provenance.load_signer(str(pki.chain), os.fspath(pki.key))
    by_bytes = provenance.load_signer(pki.chain.read_bytes(), pki.key.read_bytes())
    assert by_path == by_bytes and by_path.alg == "es256" and by_path.subject == "synthmark TEST signer"
    assert "PRIVATE" not in repr(by_path)


@pytest.mark.parametrize(
    ("make_key", "alg"),
    [
        (lambda: ec.generate_private_key(ec.SECP384R1()), "es384"),
        (ed25519.Ed25519PrivateKey.generate, "ed25519"),
        (lambda: rsa.generate_private_key(65537, 2048), "ps256"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "es256"),
    ],
)
def test_algorithm_follows_the_key(make_key: Callable[[], ec.EllipticCurvePrivateKey], alg: str, mini: MiniCA) -> None:
    key = make_key()
    loaded = provenance.load_signer(_pem(mini.leaf(key, eku=[EMAIL])), _key_pem(key))
    assert loaded.alg == alg
    signed = provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", loaded, label=LABEL)
    assert provenance.read(signed, "image/jpeg", trust_anchors=[_pem(mini.cert)]).state == "Trusted"


@pytest.mark.parametrize("eku", ["timeStamping", "OCSPSigning", "emailProtection+serverAuth"])
def test_ekus_c2pa_accepts_load(eku: str, mini: MiniCA) -> None:
    oids = {
        "timeStamping": [ExtendedKeyUsageOID.TIME_STAMPING],
        "OCSPSigning": [ExtendedKeyUsageOID.OCSP_SIGNING],
        "emailProtection+serverAuth": [EMAIL, ExtendedKeyUsageOID.SERVER_AUTH],
    }[eku]
    key = ec.generate_private_key(ec.SECP256R1())
    loaded = provenance.load_signer(_pem(mini.leaf(key, eku=oids)), _key_pem(key))
    signed = provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", loaded, label=LABEL)
    assert provenance.read(signed, "image/jpeg", trust_anchors=[_pem(mini.cert)]).state == "Trusted"


# ----------------------------------------------------------------------------- callback signer


def test_callback_signer_signs_with_a_python_function(pki: TestPki, root: bytes) -> None:
    key = serialization.load_pem_private_key(pki.key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    calls: list[int] = []

    def kms_sign(claim: bytes) -> bytes:
        calls.append(len(claim))
        return key.sign(claim, ec.ECDSA(hashes.SHA256()))

    remote = provenance.callback_signer(kms_sign, pki.chain, "es256")
    signed = provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", remote, label=LABEL, watermark=MARK)
    report = provenance.read(signed, "image/jpeg", trust_anchors=[root])
    assert report.state == "Trusted" and report.soft_binding == MARK.payload_hex
    assert len(calls) == 1 and calls[0] > 0


def test_callback_signer_with_rsa_pss(mini: MiniCA) -> None:
    key = rsa.generate_private_key(65537, 2048)

    def kms_sign(claim: bytes) -> bytes:
        return key.sign(claim, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())

    remote = provenance.callback_signer(kms_sign, _pem(mini.leaf(key, eku=[EMAIL])), "ps256")
    signed = provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", remote, label=LABEL)
    assert provenance.read(signed, "image/jpeg", trust_anchors=[_pem(mini.cert)]).state == "Trusted"


def test_callback_failures_are_provenance_errors(pki: TestPki) -> None:
    def broken(claim: bytes) -> bytes:
        raise RuntimeError("HSM offline")

    with pytest.raises(ProvenanceError, match="the sign callback failed: HSM offline") as caught:
        provenance.sign(
            fixture_bytes("small256.jpg"),
            "image/jpeg",
            provenance.callback_signer(broken, pki.chain, "es256"),
            label=LABEL,
        )
    assert isinstance(caught.value.__cause__, RuntimeError)

    stranger = ec.generate_private_key(ec.SECP256R1())
    wrong = provenance.callback_signer(lambda c: stranger.sign(c, ec.ECDSA(hashes.SHA256())), pki.chain, "es256")
    with pytest.raises(CertificateError, match="does not verify with the certificate"):
        provenance.sign(fixture_bytes("small256.jpg"), "image/jpeg", wrong, label=LABEL)


def test_callback_signer_checks_alg_and_chain(pki: TestPki, mini: MiniCA) -> None:
    with pytest.raises(CertificateError, match="does not fit the certificate's EC key on curve secp256r1"):
        provenance.callback_signer(lambda c: c, pki.chain, "ed25519")
    with pytest.raises(CertificateError, match="'rs256' is not supported"):
        provenance.callback_signer(lambda c: c, pki.chain, "rs256")
    chain, _, _ = _bad_certificates(mini)["serverAuth"]
    with pytest.raises(CertificateError, match="serverAuth"):
        provenance.callback_signer(lambda c: c, chain, "es256")


# ----------------------------------------------------------------------------- test PKI, wording, surface


def test_write_test_pki_writes_a_c2pa_ready_chain(pki: TestPki) -> None:
    assert sorted(p.name for p in pki.root_cert.parent.iterdir()) == [
        "README.txt",
        "chain.pem",
        "root.pem",
        "signer.key",
    ]
    assert "TEST ONLY — not for production" in pki.readme.read_text(encoding="utf-8")
    assert pki.key.stat().st_mode & 0o777 == 0o600
    leaf, intermediate = x509.load_pem_x509_certificates(pki.chain.read_bytes())
    (root_cert,) = x509.load_pem_x509_certificates(pki.root_cert.read_bytes())
    leaf.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root_cert)
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage([EMAIL])
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert 729 <= (leaf.not_valid_after_utc - NOW).days <= 730
    assert 3649 <= (root_cert.not_valid_after_utc - NOW).days <= 3650


def test_reason_wording() -> None:
    for code in (
        "signingCredential.untrusted",
        "signingCredential.expired",
        "signingCredential.invalid",
        "claimSignature.mismatch",
        "assertion.dataHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.hashedURI.mismatch",
        "ingredient.manifest.mismatch",
        "ingredient.claimSignature.mismatch",
        "manifest.inaccessible",
    ):
        assert code in provenance.REASONS
        assert provenance.explain(code).endswith(f" ({code})")
    assert provenance.explain("new.code", "c2pa's words") == "c2pa's words (new.code)"


def test_public_surface_and_light_import() -> None:
    kind = lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)  # noqa: E731 - constants, classes, functions
    assert provenance.__all__ == sorted(provenance.__all__, key=kind)
    assert all(hasattr(provenance, name) for name in provenance.__all__)
    code = "import sys, synthmark.provenance; print(sorted(m for m in ('c2pa', 'cryptography') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
