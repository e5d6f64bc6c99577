"""Pure helpers: the manifest definition synthmark signs, and the report made from what c2pa reads.

Nothing here touches c2pa or the file system, so all of it can be tested on plain dicts. The shapes
are those of c2pa-python 0.38 (c2pa-rs 0.91): ``Reader.json()`` gives ``{"active_manifest": id,
"manifests": {id: {...}}, "validation_results": {...}, "validation_state": ...}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from synthmark.aigc import FIELD_NAMES, AIGCLabel
from synthmark.errors import ProvenanceError
from synthmark.provenance._model import (
    AI_SOURCE_TYPES,
    AIGC_ASSERTION,
    SOFT_BINDING_ALGS,
    TRAINED_ALGORITHMIC_MEDIA,
    VERDICTS,
    IngredientReport,
    ProvenanceReport,
    Watermark,
)

#: ``label`` given to the parent ingredient so actions can reference it (``ingredientIds``).
PARENT_ID = "parent"
SOFT_BINDING_LABEL = "c2pa.soft-binding"
_PAYLOAD = re.compile(r"[0-9a-fA-F]{16}")
_KEY_ID = re.compile(r"[\x21-\x7e]{1,128}")

#: c2pa validation codes in plain words (the code is appended in parentheses by :func:`explain`).
#: Codes not listed here keep c2pa's own explanation.
REASONS: dict[str, str] = {
    # the signer's certificate
    "signingCredential.untrusted": "the signer's certificate does not chain to a trusted root",
    "signingCredential.expired": "the signer's certificate has expired and no trusted timestamp proves "
    "it was valid at signing",
    "signingCredential.invalid": "the signer's certificate is not acceptable for C2PA "
    "(key usage, extended key usage or profile)",
    "signingCredential.revoked": "the signer's certificate has been revoked",
    "signingCredential.ocsp.revoked": "the signer's certificate has been revoked (OCSP)",
    "signingCredential.ocsp.unknown": "the certificate's revocation status is unknown (OCSP)",
    "signingCredential.ocsp.inaccessible": "the certificate's revocation status could not be fetched (OCSP)",
    # the claim signature
    "claimSignature.mismatch": "the manifest's signature does not match its contents: the manifest was "
    "altered after signing",
    "claimSignature.missing": "the manifest has no signature",
    "claimSignature.outsideValidity": "the manifest was signed outside the certificate's validity period",
    "timeStamp.mismatch": "the timestamp does not match the signature",
    "timeStamp.untrusted": "the timestamp authority is not trusted",
    "timeStamp.outsideValidity": "the timestamp lies outside the timestamp authority's validity",
    "timeStamp.malformed": "the timestamp is malformed",
    "algorithm.unsupported": "the manifest uses a signing or hash algorithm that is not supported",
    # the binding to the media bytes
    "assertion.dataHash.mismatch": "the media bytes were changed after signing",
    "assertion.bmffHash.mismatch": "the media bytes were changed after signing",
    "assertion.boxesHash.mismatch": "the media bytes were changed after signing",
    "assertion.collectionHash.mismatch": "a file of the signed collection was changed after signing",
    "assertion.dataHash.malformed": "the manifest's data hash is malformed",
    "assertion.bmffHash.malformed": "the manifest's MP4/MOV hash is malformed",
    "claim.hardBindings.missing": "the manifest is not bound to the media bytes (no content hash)",
    "assertion.multipleHardBindings": "the manifest has more than one content hash",
    # the assertions
    "assertion.hashedURI.mismatch": "an assertion was changed after signing",
    "assertion.missing": "an assertion listed by the claim is missing",
    "assertion.undeclared": "the manifest holds an assertion the claim does not list",
    "assertion.inaccessible": "an assertion could not be read",
    "assertion.cbor.invalid": "an assertion is not valid CBOR",
    "assertion.json.invalid": "an assertion is not valid JSON",
    "assertion.action.malformed": "the actions assertion is malformed",
    "assertion.action.ingredientMismatch": "an action refers to an ingredient that is not in the manifest",
    "assertion.action.softBindingMissing": "a watermark action has no soft-binding assertion",
    "assertion.ingredient.malformed": "an ingredient assertion is malformed",
    "claim.missing": "the manifest has no claim",
    "claim.multiple": "the manifest has more than one claim",
    "claim.malformed": "the claim is malformed",
    # ingredients and the manifest store
    "ingredient.manifest.missing": "the ingredient's manifest is missing from the file",
    "ingredient.manifest.mismatch": "the ingredient's manifest differs from the one the child recorded",
    "ingredient.claimSignature.missing": "the ingredient's manifest has no signature",
    "ingredient.claimSignature.mismatch": "the ingredient's signature does not match its manifest",
    "ingredient.hashedURI.mismatch": "the reference to the ingredient was altered",
    "ingredient.unknownProvenance": "the ingredient's provenance is unknown",
    "manifest.inaccessible": "the manifest could not be reached (remote manifests are not fetched offline)",
    "manifest.missing": "a manifest referenced by the file is missing",
    "manifest.multipleParents": "the manifest names more than one parent ingredient",
    "manifest.update.invalid": "an update manifest changes more than an update may",
    "manifest.update.wrongParents": "an update manifest does not have exactly one parent",
    "general.error": "the manifest could not be validated",
}
# The one failure code that leaves a manifest "Valid" rather than "Invalid".
_UNTRUSTED = "signingCredential.untrusted"
_TRUSTED = "signingCredential.trusted"


def explain(code: str, explanation: str | None = None) -> str:
    """Plain words for a c2pa validation ``code``, with the code kept in parentheses.

    Unknown codes keep c2pa's ``explanation`` (or just the code).

    >>> explain("assertion.dataHash.mismatch")
    'the media bytes were changed after signing (assertion.dataHash.mismatch)'
    >>> explain("brand.newCode", "something new")
    'something new (brand.newCode)'
    """
    words = REASONS.get(code) or (explanation or "").strip() or "validation failed"
    return f"{words} ({code})"


def check_watermark(watermark: Watermark) -> None:
    """Raise :class:`ProvenanceError` unless the payload is 16 hex digits and the key id printable."""
    if not _PAYLOAD.fullmatch(watermark.payload_hex):
        raise ProvenanceError(
            f"watermark payload {watermark.payload_hex!r} is not 16 hex digits",
            fix="pass the 64-bit content id as 16 hex digits",
        )
    if not _KEY_ID.fullmatch(watermark.key_id):
        raise ProvenanceError(
            f"watermark key id {watermark.key_id!r} is not 1-128 printable ASCII characters",
            fix="pass the key's public id, never the key",
        )


def build_manifest(
    *,
    label: AIGCLabel,
    version: str,
    watermark: Watermark | None = None,
    has_parent: bool = False,
    title: str | None = None,
) -> dict[str, Any]:
    """The manifest definition for ``c2pa.Builder``.

    Without a parent: ``c2pa.created`` with digitalSourceType trainedAlgorithmicMedia. With a
    parent: ``c2pa.opened`` of the parent ingredient (still trainedAlgorithmicMedia, so the AI
    origin travels with the edit) then ``c2pa.edited``. With a watermark: ``c2pa.watermarked``
    plus a ``c2pa.soft-binding`` assertion (c2pa refuses the action without it). Always the
    :data:`AIGC_ASSERTION` with the seven fields.
    """
    if has_parent:
        actions: list[dict[str, Any]] = [
            {
                "action": "c2pa.opened",
                "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                "parameters": {"ingredientIds": [PARENT_ID]},
            },
            {"action": "c2pa.edited", "description": "AIGC labels renewed by synthmark"},
        ]
    else:
        actions = [{"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]
    assertions: list[dict[str, Any]] = [
        {"label": "c2pa.actions", "data": {"actions": actions}},
        {"label": AIGC_ASSERTION, "data": label.to_dict()},
    ]
    if watermark is not None:
        actions.append(
            {
                "action": "c2pa.watermarked",
                "description": f"invisible watermark {watermark.alg}, key id {watermark.key_id}",
            }
        )
        assertions.append(
            {
                "label": SOFT_BINDING_LABEL,
                "data": {
                    "alg": watermark.alg,
                    "blocks": [{"scope": {}, "value": watermark.payload_hex.lower()}],
                },
            }
        )
    manifest: dict[str, Any] = {
        "claim_generator_info": [{"name": "synthmark", "version": version}],
        "assertions": assertions,
    }
    if title is not None:
        manifest["title"] = title
    return manifest


def parent_ingredient(title: str | None) -> dict[str, Any]:
    """The ingredient definition of the parent (``relationship`` parentOf)."""
    return {"title": title or "parent", "relationship": "parentOf", "label": PARENT_ID}


# ----------------------------------------------------------------------------- reading


def _family(code: str) -> str:
    return code.split(".", 1)[0]


def _entries(results: Any, kind: str) -> list[Mapping[str, Any]]:
    """``results[kind]`` as a list of ``{"code", "explanation"}`` mappings (empty if odd)."""
    if not isinstance(results, Mapping):
        return []
    found = results.get(kind)
    return [e for e in found if isinstance(e, Mapping) and isinstance(e.get("code"), str)] if found else []


def _explain_all(entries: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for entry in entries:
        seen.setdefault(explain(entry["code"], entry.get("explanation")), None)
    return tuple(seen)


def _ingredient(ingredient: Mapping[str, Any], delta: Mapping[str, Any] | None) -> IngredientReport:
    """An ingredient's state from the results c2pa stored when it was added, corrected by the
    read-time ``delta`` (c2pa re-checks the ingredient's signature and trust on every read)."""
    title = ingredient.get("title")
    relationship = ingredient.get("relationship")
    stored = ingredient.get("validation_results")
    if isinstance(stored, Mapping):
        active = stored.get("activeManifest")
        failures, successes = _entries(active, "failure"), _entries(active, "success")
    elif isinstance(ingredient.get("validation_status"), list):  # claims v1: one flat list
        status = [e for e in ingredient["validation_status"] if isinstance(e, Mapping) and "code" in e]
        failures = [e for e in status if not e["code"].endswith((".match", ".validated", ".trusted", "Validity"))]
        successes = [e for e in status if e not in failures]
    elif ingredient.get("active_manifest") is None and ingredient.get("manifest_data") is None:
        return IngredientReport(title, relationship, "Unsigned", ())
    else:
        failures, successes = [], []
    if delta is not None:
        changed = [*_entries(delta, "failure"), *_entries(delta, "success"), *_entries(delta, "informational")]
        families = {_family(e["code"]) for e in changed}
        failures = [e for e in failures if _family(e["code"]) not in families] + _entries(delta, "failure")
        successes = [e for e in successes if _family(e["code"]) not in families] + _entries(delta, "success")
    trusted = any(e["code"] == _TRUSTED for e in successes)
    fatal = any(e["code"] != _UNTRUSTED for e in failures)
    state = "Invalid" if fatal else "Trusted" if trusted else "Valid"
    return IngredientReport(
        title if isinstance(title, str) else None,
        relationship if isinstance(relationship, str) else None,
        state,
        _explain_all(failures),
    )


def _assertions(manifest: Mapping[str, Any], label: str) -> list[Any]:
    """The ``data`` of every assertion labelled ``label`` (also ``label.v2``, ``label__1``)."""
    found = []
    for assertion in manifest.get("assertions") or ():
        name = assertion.get("label", "") if isinstance(assertion, Mapping) else ""
        base = re.sub(r"(__\d+)?$", "", name)
        if base == label or re.fullmatch(re.escape(label) + r"\.v\d+", base):
            found.append(assertion.get("data"))
    return found


def _ai_generated(manifest: Mapping[str, Any]) -> bool:
    for data in _assertions(manifest, "c2pa.actions"):
        for action in (data or {}).get("actions") or ():
            if isinstance(action, Mapping) and action.get("digitalSourceType") in AI_SOURCE_TYPES:
                return True
    return False


def _aigc(manifest: Mapping[str, Any]) -> dict[str, str] | None:
    for data in _assertions(manifest, AIGC_ASSERTION):
        if isinstance(data, Mapping):
            ordered = [name for name in FIELD_NAMES if name in data] + [k for k in data if k not in FIELD_NAMES]
            return {str(key): str(data[key]) for key in ordered}
    return None


def _soft_binding(manifest: Mapping[str, Any]) -> str | None:
    for data in _assertions(manifest, SOFT_BINDING_LABEL):
        if isinstance(data, Mapping) and data.get("alg") in SOFT_BINDING_ALGS.values():
            for block in data.get("blocks") or ():
                if isinstance(block, Mapping) and isinstance(block.get("value"), str):
                    return str(block["value"])
    return None


def _signer(manifest: Mapping[str, Any]) -> str | None:
    info = manifest.get("signature_info")
    if not isinstance(info, Mapping):
        return None
    name, org = info.get("common_name"), info.get("issuer")
    if name and org and name != org:
        return f"{name} ({org})"
    return str(name or org) if (name or org) else None


def _claim_generator(manifest: Mapping[str, Any]) -> str | None:
    infos = manifest.get("claim_generator_info")
    if isinstance(infos, list) and infos and isinstance(infos[0], Mapping) and infos[0].get("name"):
        first = infos[0]
        return f"{first['name']} {first['version']}" if first.get("version") else str(first["name"])
    generator = manifest.get("claim_generator")
    return generator if isinstance(generator, str) else None


def report_from_store(store: Mapping[str, Any], state: str | None) -> ProvenanceReport:
    """A :class:`ProvenanceReport` from c2pa's manifest-store JSON and validation state."""
    manifests = store.get("manifests") or {}
    active_id = store.get("active_manifest")
    manifest: Mapping[str, Any] = manifests.get(active_id) or {}
    results = store.get("validation_results")
    if isinstance(results, Mapping):
        failures = _entries(results.get("activeManifest"), "failure")
        deltas = results.get("ingredientDeltas") or []
    else:  # older stores: one flat validation_status list of failures
        failures = [e for e in store.get("validation_status") or () if isinstance(e, Mapping) and "code" in e]
        deltas = []
    ingredients = []
    for ingredient in manifest.get("ingredients") or ():
        suffix = f"{active_id}/c2pa.assertions/{ingredient.get('label')}"
        delta = next(
            (
                d.get("validationDeltas")
                for d in deltas
                if isinstance(d, Mapping) and str(d.get("ingredientAssertionURI", "")).endswith(suffix)
            ),
            None,
        )
        ingredients.append(_ingredient(ingredient, delta))
    reasons = list(_explain_all(failures))
    for item in ingredients:
        reasons += [f"ingredient {item.title or '(untitled)'!r}: {reason}" for reason in item.reasons]
    return ProvenanceReport(
        found=True,
        state=state,
        verdict=VERDICTS.get(state or "", state),
        reasons=tuple(reasons),
        signer=_signer(manifest),
        claim_generator=_claim_generator(manifest),
        ai_generated=_ai_generated(manifest),
        aigc=_aigc(manifest),
        soft_binding=_soft_binding(manifest),
        ingredients=tuple(ingredients),
    )


def unreadable_report(message: str) -> ProvenanceReport:
    """A file that carries C2PA data c2pa cannot parse: Invalid, with c2pa's message."""
    reason = f"the C2PA manifest is damaged and cannot be read: {message} (general.error)"
    return ProvenanceReport(found=True, state="Invalid", verdict="Invalid", reasons=(reason,))


def remote_report(message: str) -> ProvenanceReport:
    """A file that points at a remote manifest, which is never fetched here: not checkable."""
    return ProvenanceReport(
        found=True, reasons=(f"{REASONS['manifest.inaccessible']}: {message} (manifest.inaccessible)",)
    )
