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
from synthmark.aisource import name_generator, source_type
from synthmark.errors import ProvenanceError
from synthmark.provenance._model import (
    AIGC_ASSERTION,
    MAX_ACTIONS,
    MAX_CHAIN_DEPTH,
    MAX_MANIFESTS,
    SOFT_BINDING_ALGS,
    TRAINED_ALGORITHMIC_MEDIA,
    VERDICTS,
    Action,
    AIDeclaration,
    IngredientReport,
    ManifestNode,
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


def _agent(action: Mapping[str, Any]) -> str | None:
    agent = action.get("softwareAgent")
    if isinstance(agent, Mapping):  # claims v2: {"name": ..., "version": ...}
        name, version = agent.get("name"), agent.get("version")
        return None if not isinstance(name, str) else f"{name} {version}" if isinstance(version, str) else name
    return agent if isinstance(agent, str) else None


def _action(action: Mapping[str, Any]) -> Action:
    """An action record: the digital source type from the standard field or, failing that, a
    vendor parameter whose name ends in ``digitalSourceType`` (Adobe: ``com.adobe.digitalSourceType``)."""
    declared: list[tuple[str, Any]] = [("digitalSourceType", action.get("digitalSourceType"))]
    parameters = action.get("parameters")
    if isinstance(parameters, Mapping):
        declared += [
            (f"parameters.{key}", value)
            for key, value in list(parameters.items())[:64]
            if isinstance(key, str) and key.lower().endswith("digitalsourcetype")
        ]
    name = action.get("action")
    name = name if isinstance(name, str) else "(unnamed)"
    for field, value in declared:
        if isinstance(value, str) and value:
            kind = source_type(value)
            term = value if kind is None else kind.term
            return Action(name, term, field, kind is not None and kind.ai, _agent(action))
    return Action(name, software_agent=_agent(action))


def _actions(manifest: Mapping[str, Any]) -> tuple[Action, ...]:
    found: list[Action] = []
    for data in _assertions(manifest, "c2pa.actions"):
        items = data.get("actions") if isinstance(data, Mapping) else None
        for action in items if isinstance(items, list) else ():
            if len(found) >= MAX_ACTIONS:
                return tuple(found)
            if isinstance(action, Mapping):
                found.append(_action(action))
    return tuple(found)


def _declarations(node: ManifestNode) -> list[AIDeclaration]:
    """How ``node`` declares AI: a digital source type meaning AI, or a generator it names."""
    declared = [
        AIDeclaration(
            node.depth, node.label, node.claim_generator, node.state, f"{a.action}: {a.declared_by} {a.source_type}"
        )
        for a in node.ai_actions
    ]
    tools: list[tuple[str, str, str | None]] = [(a.action, "softwareAgent", a.software_agent) for a in node.actions]
    tools.append(("claim", "claim generator", node.claim_generator))
    for action, what, tool in tools:
        generator = name_generator(tool) if tool else None
        if generator is not None and not declared:
            declared.append(
                AIDeclaration(
                    node.depth,
                    node.label,
                    node.claim_generator,
                    node.state,
                    f"{action}: {what} {tool!r} is a generative-AI tool ({generator})",
                )
            )
    return declared


def _delta(deltas: list[Any], parent: str, ingredient: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The read-time validation delta c2pa gives for ``ingredient`` of manifest ``parent``."""
    suffix = f"{parent}/c2pa.assertions/{ingredient.get('label')}"
    for delta in deltas:
        if isinstance(delta, Mapping) and str(delta.get("ingredientAssertionURI", "")).endswith(suffix):
            found = delta.get("validationDeltas")
            return found if isinstance(found, Mapping) else None
    return None


def _walk(
    manifests: Mapping[str, Any], active_id: str, state: str | None, reasons: tuple[str, ...], deltas: list[Any]
) -> tuple[list[ManifestNode], list[IngredientReport], list[str]]:
    """Depth-first walk from the active manifest down every ingredient that has a manifest in the
    store; bounded by :data:`MAX_CHAIN_DEPTH` and :data:`MAX_MANIFESTS`, guarded against cycles.

    Returns the nodes in walk order, the active manifest's ingredients and the walk's problems.
    """
    nodes: list[ManifestNode] = []
    top_ingredients: list[IngredientReport] = []
    problems: list[str] = []
    walked: set[str] = set()
    # (manifest label, depth, title, relationship, state, reasons, labels on the path above)
    stack: list[tuple[str, int, str | None, str | None, str | None, tuple[str, ...], frozenset[str]]] = [
        (active_id, 0, None, None, state, reasons, frozenset())
    ]
    while stack:
        label, depth, title, relationship, node_state, node_reasons, above = stack.pop()
        if label in above:
            problems.append(f"the ingredient chain loops back to manifest {label} (cycle); not followed")
            continue
        if label in walked:
            continue
        if len(walked) >= MAX_MANIFESTS:
            problems.append(f"the store has more than {MAX_MANIFESTS} manifests; the rest were not walked")
            break
        walked.add(label)
        manifest = manifests.get(label)
        if not isinstance(manifest, Mapping):
            problems.append(f"an ingredient names manifest {label}, which is not in the store")
            continue
        node = ManifestNode(
            label,
            depth,
            title,
            relationship,
            _claim_generator(manifest),
            _signer(manifest),
            node_state,
            node_reasons,
            _actions(manifest),
        )
        nodes.append(node)
        children = []
        ingredients = manifest.get("ingredients")
        for ingredient in ingredients if isinstance(ingredients, list) else ():
            if not isinstance(ingredient, Mapping):
                continue
            report = _ingredient(ingredient, _delta(deltas, label, ingredient))
            if depth == 0:
                top_ingredients.append(report)
            child = ingredient.get("active_manifest")
            if not isinstance(child, str):
                continue
            if depth + 1 > MAX_CHAIN_DEPTH:
                problems.append(f"the ingredient chain is deeper than {MAX_CHAIN_DEPTH}; deeper manifests not read")
                continue
            children.append(
                (child, depth + 1, report.title, report.relationship, report.state, report.reasons, above | {label})
            )
        stack.extend(reversed(children))
    return nodes, top_ingredients, list(dict.fromkeys(problems))


def report_from_store(store: Mapping[str, Any], state: str | None) -> ProvenanceReport:
    """A :class:`ProvenanceReport` from c2pa's manifest-store JSON and validation state: the
    active manifest, and every manifest reachable through ingredients (the chain)."""
    manifests = store.get("manifests")
    manifests = manifests if isinstance(manifests, Mapping) else {}
    active_id = store.get("active_manifest")
    manifest: Mapping[str, Any] = manifests.get(active_id) or {}
    results = store.get("validation_results")
    if isinstance(results, Mapping):
        failures = _entries(results.get("activeManifest"), "failure")
        deltas = results.get("ingredientDeltas") or []
    else:  # older stores: one flat validation_status list of failures
        failures = [e for e in store.get("validation_status") or () if isinstance(e, Mapping) and "code" in e]
        deltas = []
    active_reasons = _explain_all(failures)
    if isinstance(active_id, str):
        chain, ingredients, problems = _walk(manifests, active_id, state, active_reasons, list(deltas))
    else:
        chain, ingredients, problems = [], [], ["the store names no active manifest"]
    reasons = list(active_reasons)
    for item in ingredients:
        reasons += [f"ingredient {item.title or '(untitled)'!r}: {reason}" for reason in item.reasons]
    declarations = tuple(d for node in chain for d in _declarations(node))
    return ProvenanceReport(
        found=True,
        state=state,
        verdict=VERDICTS.get(state or "", state),
        reasons=tuple(reasons),
        signer=_signer(manifest),
        claim_generator=_claim_generator(manifest),
        ai_generated=bool(declarations),
        aigc=_aigc(manifest),
        soft_binding=_soft_binding(manifest),
        ingredients=tuple(ingredients),
        chain=tuple(chain),
        ai_declarations=declarations,
        problems=tuple(problems),
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
