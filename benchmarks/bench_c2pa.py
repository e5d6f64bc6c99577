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
        _chain(data, signer, anchors, repeat=repeat)


def _chain(data: bytes, signer: provenance.Signer, anchors: list[bytes], *, repeat: int) -> None:
    """Reading a 3-deep chain (created -> relabeled -> relabeled) beside a single manifest: the
    chain walk's cost is the difference, plus the walk alone on the parsed store JSON."""
    import c2pa

    single = provenance.sign(data, "image/jpeg", signer, label=LABEL)
    chain = single
    for _ in range(2):
        chain = provenance.sign(chain, "image/jpeg", signer, label=LABEL, parent=chain)
    report = provenance.read(chain, "image/jpeg", trust_anchors=anchors)
    depths = [node.depth for node in report.chain]
    context = c2pa.Context.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
    store = json.loads(c2pa.Reader("image/jpeg", io.BytesIO(chain), context=context).json())
    rows = [
        (
            "synthmark provenance.read, 1 manifest",
            median_ms(lambda: provenance.read(single, "image/jpeg", trust_anchors=anchors), repeat=repeat),
        ),
        (
            f"synthmark provenance.read, chain of {len(depths)} (depths {depths})",
            median_ms(lambda: provenance.read(chain, "image/jpeg", trust_anchors=anchors), repeat=repeat),
        ),
        (
            "the walk alone (report_from_store on the 3-manifest JSON)",
            median_ms(lambda: provenance.report_from_store(store, "Trusted"), repeat=repeat),
        ),
    ]
    table(
        "C2PA chain walk (target: <= 10 ms beyond a single-manifest read)",
        rows,
        baseline="synthmark provenance.read, 1 manifest",
    )
    print(
        f"  chain read - single read: {rows[1][1] - rows[0][1]:.2f} ms; previous figure (before the walk, "
        "README): read + validate 2 ms per manifest"
    )
