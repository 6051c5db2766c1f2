"""Liberal in what the hook accepts (issue 18): clients that key their prefetch by resource
type instead of by our template names (HealthChain, AHRQ CDS Connect), a Patient wrapped in a
Bundle, a mix of both, CDS Hooks 1.0 `{"response", "resource"}` wrappers, all get the cards
our own template names get; data that is truly missing is still fetched, or a 412.

`fixtures/healthchain_patient_view.json` is shaped as HealthChain's `CdsDataGenerator` emits a
prefetch (one resource per lowercase type key); `fixtures/cds_connect_statin_use.json` as CDS
Connect's CQL Services prefetch templates key theirs (`Patient`, `Condition`, ... each a
search Bundle), with a CDS Hooks 2.0 envelope. Both hand-written, not fetched."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from service.cards.facts import PatientFacts, facts_from_resources
from service.cards.resources import resource_from, resources_from_prefetch
from service.hooks.discovery import PATIENT_DATA_PREFETCH
from service.hooks.prefetch import CircuitBreaker, assign_prefetch, complete_prefetch
from tests.hooks.conftest import FHIR_BASE, HookClient
from tests.hooks.hook_requests import hook_request, searchset, synthea_bundle

PV = "bedside-patient-view"
AT = date(2021, 4, 1)  # the hook tests' evaluation date
FIXTURES = Path(__file__).parent / "fixtures"
AUTHORIZATION = {
    "access_token": "fhir-token-1",
    "token_type": "Bearer",
    "expires_in": 300,
    "scope": "patient/*.read",
    "subject": "bedside",
}
BY_TYPE = {
    "patient": "Patient",
    "conditions": "Condition",
    "medications": "MedicationRequest",
    "observations": "Observation",
    "procedures": "Procedure",
}


def _fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return body


def _topics(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [card["source"]["topic"]["code"] for card in response.json()["cards"]]


def _ours(body: dict[str, Any], user: str) -> dict[str, Any]:
    """The same request with a type-keyed prefetch moved under our template names (each
    type's resources in one searchset), for another clinician (a fresh learner)."""
    ours = copy.deepcopy(body)
    resources = [r for value in body["prefetch"].values() for r in _resources(value)]
    ours["prefetch"] = {
        key: searchset([r for r in resources if r["resourceType"] == kind])
        for key, kind in BY_TYPE.items()
    }
    ours["context"]["userId"] = user
    return ours


def _resources(value: dict[str, Any]) -> list[dict[str, Any]]:
    if value.get("resourceType") == "Bundle":
        return [entry["resource"] for entry in value.get("entry", [])]
    return [value]


async def _facts(prefetch: dict[str, Any]) -> PatientFacts:
    async with httpx.AsyncClient() as http:
        completed = await complete_prefetch(
            http,
            PATIENT_DATA_PREFETCH,
            {"patientId": "123"},
            prefetch,
            None,
            deadline_seconds=1,
            breaker=CircuitBreaker(),
        )
    return facts_from_resources(resources_from_prefetch(completed), at=AT)


@pytest.mark.parametrize("name", ["healthchain_patient_view.json", "cds_connect_statin_use.json"])
async def test_a_type_keyed_prefetch_reads_as_ours(name: str) -> None:
    body = _fixture(name)
    facts = await _facts(body["prefetch"])
    assert facts == await _facts(_ours(body, "Practitioner/other")["prefetch"])
    assert facts.sex == "male"
    assert facts.age == 58
    assert facts.conditions
    assert facts.medications


@pytest.mark.parametrize("name", ["healthchain_patient_view.json", "cds_connect_statin_use.json"])
async def test_healthchain_and_cds_connect_bodies_get_cards(hooks: HookClient, name: str) -> None:
    body = _fixture(name)
    topics = _topics(await hooks.call(PV, body))
    assert topics
    assert topics == _topics(await hooks.call(PV, _ours(body, "Practitioner/other")))


async def test_cds_hooks_1_0_wrapped_values_get_the_same_cards(hooks: HookClient) -> None:
    body = _fixture("cds_connect_statin_use.json")
    wrapped = copy.deepcopy(body)
    wrapped["context"]["userId"] = "Practitioner/wrapped"
    wrapped["prefetch"] = {
        key: {"response": {"status": "200 OK"}, "resource": value}
        for key, value in body["prefetch"].items()
    }
    assert _topics(await hooks.call(PV, wrapped)) == _topics(await hooks.call(PV, body))


@pytest.mark.parametrize("kind", ["searchset", "collection"])
@pytest.mark.parametrize("key", ["patient", "Patient"])
async def test_a_patient_wrapped_in_a_bundle(hooks: HookClient, key: str, kind: str) -> None:
    bundle = synthea_bundle("Angelic_Mueller")
    plain = hook_request(bundle, user="Practitioner/plain")
    wrapped = hook_request(bundle, user="Practitioner/wrapped")
    patient = wrapped["prefetch"].pop("patient")
    wrapped["prefetch"][key] = {**searchset([patient]), "type": kind}
    assert _topics(await hooks.call(PV, wrapped)) == _topics(await hooks.call(PV, plain))


async def test_one_bundle_of_everything_under_patient(hooks: HookClient) -> None:
    """HealthChain's sandbox can send the whole record as one collection Bundle."""
    bundle = synthea_bundle("Angelic_Mueller")
    plain = hook_request(bundle, user="Practitioner/plain")
    everything = hook_request(bundle, user="Practitioner/everything")
    resources = [r for value in plain["prefetch"].values() for r in _resources(value)]
    everything["prefetch"] = {"patient": {**searchset(resources), "type": "collection"}}
    assert _topics(await hooks.call(PV, everything)) == _topics(await hooks.call(PV, plain))


async def test_a_mixed_key_body(hooks: HookClient) -> None:
    bundle = synthea_bundle("Angelic_Mueller")
    plain = hook_request(bundle, user="Practitioner/plain")
    mixed = hook_request(bundle, user="Practitioner/mixed")
    prefetch = mixed["prefetch"]
    mixed["prefetch"] = {
        "patient": prefetch["patient"],  # ours
        "Condition": prefetch["conditions"],
        "medications": prefetch["medications"],  # ours
        "observation": prefetch["observations"],
        "PROCEDURES": searchset([]),  # holds nothing: read by its name
        "encounter": {"resourceType": "Encounter", "status": "in-progress"},
    }
    assert _topics(await hooks.call(PV, mixed)) == _topics(await hooks.call(PV, plain))


async def test_truly_missing_data_is_still_412(hooks: HookClient) -> None:
    """HealthChain's default patient-view prefetch: patient, encounter, condition only."""
    body = _fixture("healthchain_patient_view.json")
    for key in ("medicationrequest", "observation", "procedure"):
        del body["prefetch"][key]
    response = await hooks.call(PV, body)
    assert response.status_code == 412
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"].endswith("medications, observations, procedures")


async def test_a_type_named_key_holding_an_operation_outcome_is_missing(hooks: HookClient) -> None:
    body = _fixture("cds_connect_statin_use.json")
    body["prefetch"]["Observation"] = {"resourceType": "OperationOutcome", "issue": []}
    response = await hooks.call(PV, body)
    assert response.status_code == 412
    assert response.json()["issue"][0]["diagnostics"].endswith(": observations")


async def test_only_the_truly_missing_type_is_fetched(hooks: HookClient) -> None:
    """The missing observations are fetched, with the optional allergies beside them (which
    this server fails: the call goes on without them); nothing the client sent is fetched."""
    body = _fixture("cds_connect_statin_use.json")
    observations = body["prefetch"].pop("Observation")
    body.update(fhirServer=FHIR_BASE, fhirAuthorization=AUTHORIZATION)
    with respx.mock(assert_all_called=False) as router:
        hooks.ehr.serve_jwks(router)
        fetched = router.get(f"{FHIR_BASE}/Observation").mock(
            return_value=httpx.Response(200, json=observations)
        )
        allergies = router.get(f"{FHIR_BASE}/AllergyIntolerance").mock(
            return_value=httpx.Response(500)
        )
        others = router.get(url__startswith=FHIR_BASE).mock(return_value=httpx.Response(500))
        response = await hooks.call(PV, body)
    assert _topics(response)
    assert fetched.call_count == 1
    assert allergies.call_count == 1
    assert not others.called


def test_our_own_keys_come_first() -> None:
    patient = resource_from({"resourceType": "Patient", "gender": "female"})
    other = resource_from({"resourceType": "Patient", "gender": "male"})
    given = {"Patient": other, "patient": patient, "conditions": None}
    assigned, missing = assign_prefetch(PATIENT_DATA_PREFETCH, given)
    assert assigned == {"patient": patient, "conditions": None}
    assert missing == ["medications", "observations", "procedures", "allergies"]


def test_content_outranks_the_key_name() -> None:
    """A key named after one type but holding another is read by what it holds."""
    observations = resource_from(searchset([{"resourceType": "Observation", "status": "final"}]))
    given = {"patient": None, "Condition": observations}
    assigned, missing = assign_prefetch(PATIENT_DATA_PREFETCH, given)
    assert assigned == {"patient": None, "Condition": observations}
    assert missing == ["conditions", "medications", "procedures", "allergies"]
