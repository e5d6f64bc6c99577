"""C2PA signing and verification on the bundled 1080p JPEG: synthmark's wrapper beside the
same c2pa-python calls made directly (the peer), so the ratio is synthmark's overhead
(certificate checks, manifest building, reporting in plain words)."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._timing import median_ms, table
from synthmark import provenance
from synthmark.aigc import AIGCLabel

PHOTO = Path(__file__).resolve().parent.parent / "fixtures" / "images" / "photo1080p.jpg"
LABEL = AIGCLabel.new("001191110102MACQD9K64010000", produce_id="bench-0001")


def _direct(pki: Any, data: bytes) -> tuple[Any, Any]:
    """Sign and read with c2pa-python alone: the minimal AI-generated manifest, offline."""
    import c2pa

    settings = {
        "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
        "trust": {"user_anchors": pki.root_cert.read_text()},
    }
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki.chain.read_bytes(), pki.key.read_bytes(), None)
    manifest = {
        "claim_generator_info": [{"name": "bench", "version": "1"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
                        }
                    ]
                },
            }
        ],
    }

    def sign() -> bytes:
        context = c2pa.Context.from_dict(settings)
        builder = c2pa.Builder(json.dumps(manifest), context=context)
        out = io.BytesIO()
        builder.sign(c2pa.Signer.from_info(info), "image/jpeg", io.BytesIO(data), out)
        return out.getvalue()

    signed = sign()

    def read() -> str:
        context = c2pa.Context.from_dict(settings)
        reader = c2pa.Reader("image/jpeg", io.BytesIO(signed), context=context)
        return str(reader.get_validation_state())

    return sign, read


def main(*, repeat: int = 30) -> None:
    data = PHOTO.read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        pki = provenance.write_test_pki(folder)
        signer = provenance.load_signer(pki.chain, pki.key)
        anchors = [pki.root_cert.read_bytes()]
        mark = provenance.Watermark("0123456789abcdef", "bench")
        signed = provenance.sign(data, "image/jpeg", signer, label=LABEL, watermark=mark)
        direct_sign, direct_read = _direct(pki, data)
        print(f"\nC2PA on {PHOTO.name} (1920x1080 JPEG), no thumbnail, median of {repeat}")
        table(
            "sign (manifest embedded, bytes in memory)",
            [
                (
                    "synthmark provenance.sign (AIGC assertion + soft binding)",
                    median_ms(
                        lambda: provenance.sign(data, "image/jpeg", signer, label=LABEL, watermark=mark), repeat=repeat
                    ),
                ),
                ("c2pa-python Builder.sign directly (created action only)", median_ms(direct_sign, repeat=repeat)),
            ],
            baseline="synthmark provenance.sign (AIGC assertion + soft binding)",
        )
        table(
            "read + validate (trusted root)",
            [
                (
                    "synthmark provenance.read (report in plain words)",
                    median_ms(lambda: provenance.read(signed, "image/jpeg", trust_anchors=anchors), repeat=repeat),
                ),
                ("c2pa-python Reader directly (validation state only)", median_ms(direct_read, repeat=repeat)),
            ],
            baseline="synthmark provenance.read (report in plain words)",
        )
