"""A seeded generator of hostile CDS Hooks bodies, and the pure path they are judged on.

Every body starts from a compact valid call (an adult with conditions, medications, labs,
procedures and, for order hooks, a draft opioid order) and is then broken: a hostile value at
any path of the envelope or of the FHIR fields the core reads, a deleted key, a duplicated
key, or byte-level damage (truncation, invalid UTF-8, deep nesting, huge arrays, 1e400, NaN,
BOMs, other encodings). `judge_pure` runs what a hook call runs without I/O and returns the
HTTP status the app would answer.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from service.cards import (
    ContentLibrary,
    FatiguePolicy,
    LearnerState,
    facts_from_resources,
    match,
    render_card,
    resources_from_bundle,
    resources_from_prefetch,
    select,
)
from service.errors import BedsideError
from service.hooks.discovery import SERVICES_BY_ID
from service.hooks.prefetch import keys_to_fetch
from service.hooks.service import parse_call

NOW = datetime(2021, 4, 1, 12, tzinfo=UTC)
ALLOWED = frozenset({200, 400, 401, 404, 412, 413, 415, 422})
SERVICE_IDS = ("bedside-patient-view", "bedside-order-sign", "bedside-order-select")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
Json = Any


def _concept(system: str, code: str, display: str = "x") -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _status(code: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/x", "code": code}]}


def _searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def _oxycodone(status: str = "draft") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": _concept(RXNORM, "1049621", "oxycodone 5 MG Oral Tablet"),
    }


def valid_body(hook: str) -> dict[str, Any]:
    """A small valid call for `hook` whose patient triggers several content items."""
    condition = {
        "resourceType": "Condition",
        "code": _concept(ICD10, "I10", "Essential hypertension"),
        "clinicalStatus": _status("active"),
        "verificationStatus": _status("confirmed"),
    }
    diabetes = {**condition, "code": _concept(SNOMED, "44054006", "Diabetes mellitus type 2")}
    benzo = {**_oxycodone("active"), "medicationCodeableConcept": _concept(RXNORM, "197591")}
    a1c = {
        "resourceType": "Observation",
        "status": "final",
        "code": _concept(LOINC, "4548-4", "Hemoglobin A1c"),
        "valueQuantity": {"value": 8.1, "unit": "%"},
        "effectiveDateTime": "2021-01-05T10:00:00Z",
    }
    smoking = {
        **a1c,
        "code": _concept(LOINC, "72166-2", "Tobacco smoking status"),
        "valueCodeableConcept": _concept(SNOMED, "77176002", "Smoker"),
    }
    procedure = {
        "resourceType": "Procedure",
        "status": "completed",
        "code": _concept(SNOMED, "73761001", "Colonoscopy"),
        "performedDateTime": "2012-03-01",
    }
    patient = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1956-05-02"}
    context: dict[str, Any] = {"userId": "Practitioner/pr-1", "patientId": "p1"}
    if hook in {"order-sign", "order-select"}:
        context["draftOrders"] = _searchset(_oxycodone())
        if hook == "order-select":
            context["selections"] = ["MedicationRequest/draft-1"]
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": {
            "patient": patient,
            "conditions": _searchset(condition, diabetes),
            "medications": _searchset(benzo, _oxycodone("active")),
            "observations": _searchset(a1c, smoking),
            "procedures": _searchset(procedure),
        },
    }


def _nested(depth: int) -> Json:
    value: Json = "x"
    for level in range(depth):
        value = [value] if level % 3 else {"a": value}
    return value


# Values are never mutated after insertion (bodies are serialised at once): build them once.
HOSTILE_VALUES: tuple[Json, ...] = (
        None, True, False, 0, -1, 2**63, -(2**63), 2**64, 10**40, 1.5, -0.0, 1e308, -1e308,
        "", " ", "\u0000", "\ud800", "é" * 3,
        "x" * 300, "x" * 5000, "x" * 70_000,
        "2021-02-30", "0000-00-00", "9999-12-31T99:99:99Z", "1956", "../../etc/passwd",
        "{{context.patientId}}", "Patient/../../admin", "javascript:alert(1)",
        [], [None], [1, "a", {}], {}, {"coding": "x"}, {"coding": [None, 1, "x", {"code": []}]},
        {"coding": [{"system": [], "code": {"a": 1}}]}, {"value": "8.1"}, {"value": [1]},
        {"resourceType": "Bundle", "entry": "x"}, {"resourceType": ["Patient"]},
        {"resourceType": {"a": 1}}, {"start": []}, _nested(5), _nested(50), _nested(200),
        list(range(10)), list(range(10_000)),
    )  # fmt: skip


def _paths(value: Json, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes)."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _set(root: Json, path: tuple[Any, ...], value: Json, *, delete: bool = False) -> Json:
    if not path:
        return value
    parent = root
    for step in path[:-1]:
        parent = parent[step]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return root


def _dumps(value: Json, rng: random.Random) -> bytes:
    ascii_only = bool(rng.getrandbits(1))
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _mutate_structure(rng: random.Random, body: Json) -> bytes:
    paths = [p for p in _paths(body) if p]
    target = rng.choice(paths)
    roll = rng.random()
    if roll < 0.15:
        _set(body, target, None, delete=True)
    elif roll < 0.25 and len(target) >= 1:  # a duplicate key, the later one hostile
        text = _dumps(body, rng)
        key = json.dumps(str(target[-1]))
        hostile = json.dumps(rng.choice([1, [], None, "x", {"a": 1}]))
        return text.replace(f"{key}:".encode(), f"{key}: {hostile}, {key}:".encode(), 1)
    else:
        _set(body, target, rng.choice(HOSTILE_VALUES))
    return _dumps(body, rng)


def _damage_bytes(rng: random.Random, raw: bytes) -> bytes:
    choice = rng.randrange(12)
    position = rng.randrange(max(1, len(raw)))
    if choice == 0:
        return raw[:position]
    if choice == 1:
        return (
            raw[:position]
            + rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"])
            + raw[position:]
        )
    if choice == 2:
        depth = rng.choice([100, 1_000, 100_000])
        return b"[" * depth + b"]" * depth
    if choice == 3:
        return b'{"hook": "patient-view", "x": [' + b"0," * rng.choice([1000, 200_000]) + b"0]}"
    if choice == 4:
        return raw.replace(b"8.1", b"1e400", 1).replace(b'"gender"', b'"g": NaN, "gender"', 1)
    if choice == 5:
        return rng.choice([b"\xef\xbb\xbf", b"\xfe\xff", b"\x00"]) + raw
    if choice == 6:
        return raw.decode("utf-8", "surrogatepass").encode(
            rng.choice(["utf-16", "utf-32"]), "surrogatepass"
        )
    if choice == 7:
        return rng.choice([b"", b"null", b"[]", b"0", b'"x"', b"{}", b"true", b"Infinity", b"-"])
    if choice == 8:
        return rng.randbytes(rng.choice([1, 64, 4096]))
    if choice == 9:
        return raw[:position] + b"\x00" + raw[position:]
    if choice == 10:
        return raw.replace(b"1956-05-02", b"1956-05-02" * rng.choice([2, 1000]), 1)
    return raw + rng.choice([b",", b"}", b" garbage", b"\n" * 10])


def hostile_bodies(seed: int, count: int) -> Iterator[tuple[str, bytes]]:
    """`count` (service id, body bytes) pairs, reproducible from `seed`."""
    rng = random.Random(seed)
    for _ in range(count):
        service_id = rng.choice(SERVICE_IDS)
        hook = SERVICES_BY_ID[service_id].hook
        body = valid_body(rng.choice([hook, hook, hook, "patient-view", "order-sign"]))
        roll = rng.random()
        if roll < 0.6:
            raw = _mutate_structure(rng, body)
        elif roll < 0.75:
            raw = _mutate_structure(rng, copy.deepcopy(body))
            raw = _damage_bytes(rng, raw)
        else:
            raw = _damage_bytes(rng, _dumps(body, rng))
        yield service_id, raw


def judge_pure(library: ContentLibrary, service_id: str, body: bytes) -> int:
    """What the hook path answers, without I/O (no FHIR server: missing required data is a
    412; optional data missing is simply not read)."""
    service = SERVICES_BY_ID[service_id]
    try:
        call = parse_call(body, service)
    except BedsideError as exc:
        return exc.status_code
    prefetch = call.request.prefetch
    if [key for key in keys_to_fetch(service.prefetch, prefetch) if key not in service.optional]:
        return 412
    resources = resources_from_prefetch(
        {k: v for k, v in (prefetch or {}).items() if k in service.prefetch}
    )
    orders = resources_from_bundle(getattr(call.context, "draft_orders", None) or {})
    facts = facts_from_resources(resources, at=NOW.date(), draft_orders=orders)
    matches = match(library, facts, hook=service.hook, at=NOW.date())
    for chosen in select(matches, LearnerState(), FatiguePolicy(), now=NOW):
        render_card(
            chosen.item,
            card_uuid=str(uuid.uuid4()),
            launch_url="https://b.test/app/launch",
            app_context="x",
            credit_label="earn",
        )
    return 200


Judge = Callable[[ContentLibrary, str, bytes], int]
