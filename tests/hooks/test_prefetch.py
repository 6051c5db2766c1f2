"""The prefetch engine: tokens, missing vs null vs OperationOutcome, the FHIR fallback fetch
(token sent, pagination followed on the same server only, deadline honoured, SSRF refused)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx

from service.cards.resources import resource_from
from service.hooks.discovery import PATIENT_DATA_PREFETCH
from service.hooks.prefetch import (
    CircuitBreaker,
    FhirAccess,
    PrefetchUnavailable,
    complete_prefetch,
    keys_to_fetch,
    render_template,
)

BASE = "https://ehr.example/fhir"
ACCESS = FhirAccess(base=BASE, token="access-token-canary")
CONTEXT = {"userId": "Practitioner/p1", "patientId": "pat-1", "encounterId": "enc-1"}
OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}


def _bundle(*resources: dict, next_url: str | None = None) -> dict:
    bundle: dict = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def _full_prefetch() -> dict:
    return {
        "patient": {"resourceType": "Patient", "id": "pat-1", "gender": "female"},
        "conditions": _bundle(),
        "medications": None,
        "observations": _bundle(),
        "procedures": _bundle(),
    }


async def _complete(
    prefetch: dict | None,
    access: FhirAccess | None = ACCESS,
    *,
    deadline: float = 2,
    breaker: CircuitBreaker | None = None,
) -> dict:
    """`complete_prefetch` with our templates and context, on a client of its own."""
    async with httpx.AsyncClient() as http:
        return await complete_prefetch(
            http,
            PATIENT_DATA_PREFETCH,
            CONTEXT,
            prefetch,
            access,
            deadline_seconds=deadline,
            breaker=breaker or CircuitBreaker(),
        )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Patient/{{context.patientId}}", "Patient/pat-1"),
        (
            "Observation?patient={{ context.patientId }}&encounter={{context.encounterId}}",
            "Observation?patient=pat-1&encounter=enc-1",
        ),
        ("Practitioner/{{userPractitionerId}}", "Practitioner/p1"),
        ("PractitionerRole/{{userPractitionerRoleId}}", None),
        ("Patient/{{userPatientId}}", None),
        ("RelatedPerson/{{userRelatedPersonId}}", None),
        ("Condition?patient={{context.missing}}", None),
        ("Bundle?x={{context.nested}}", None),
    ],
)
def test_render_template(template: str, expected: str | None) -> None:
    context = {**CONTEXT, "nested": {"a": 1}}
    assert render_template(template, context) == expected


def test_user_patient_token() -> None:
    assert render_template("Patient/{{userPatientId}}", {"userId": "Patient/9"}) == "Patient/9"


def test_missing_and_failed_keys_are_fetched_null_is_no_data() -> None:
    given = {"patient": {"resourceType": "Patient"}, "conditions": None, "medications": OUTCOME}
    prefetch = {key: resource_from(value) for key, value in given.items()}
    assert keys_to_fetch(PATIENT_DATA_PREFETCH, prefetch) == [
        "medications",
        "observations",
        "procedures",
        "allergies",
    ]
    assert keys_to_fetch(PATIENT_DATA_PREFETCH, None) == list(PATIENT_DATA_PREFETCH)


async def test_complete_prefetch_needs_no_fetch() -> None:
    result = await _complete(_full_prefetch(), None, deadline=1)
    assert result["medications"] is None
    patient = result["patient"]
    assert patient is not None
    assert patient.gender == "female"


@respx.mock(assert_all_called=False)
async def test_optional_allergies_alone_missing_are_not_fetched(respx_mock: respx.Router) -> None:
    """The five required templates sent, the allergies not: no round trip for them alone,
    and the call goes on without them (an allergy list only hides cards)."""
    anything = respx_mock.route(url__startswith=BASE).mock(return_value=httpx.Response(200))
    result = await _complete(_full_prefetch(), deadline=1)
    assert "allergies" not in result
    assert not anything.called


@respx.mock
async def test_optional_allergies_fetched_beside_required_data() -> None:
    allergy = {"resourceType": "AllergyIntolerance", "id": "a1", "code": {"text": "statin"}}
    conditions = respx.get(f"{BASE}/Condition").mock(
        return_value=httpx.Response(200, json=_bundle())
    )
    allergies = respx.get(f"{BASE}/AllergyIntolerance", params={"patient": "pat-1"}).mock(
        return_value=httpx.Response(200, json=_bundle(allergy))
    )
    prefetch = _full_prefetch()
    del prefetch["conditions"]
    result = await _complete(prefetch)
    assert conditions.call_count == allergies.call_count == 1
    fetched = result["allergies"]
    assert fetched is not None
    assert [e.resource.code for e in fetched.entry or () if e.resource] == [{"text": "statin"}]


@respx.mock
async def test_optional_allergies_failing_is_no_412_and_no_breaker_failure() -> None:
    """A FHIR server that cannot search allergies (500 here) neither fails the call nor opens
    the circuit for the required data."""
    respx.get(f"{BASE}/Condition").mock(return_value=httpx.Response(200, json=_bundle()))
    failing = respx.get(f"{BASE}/AllergyIntolerance").mock(return_value=httpx.Response(500))
    breaker = CircuitBreaker(threshold=2)
    for _ in range(4):
        prefetch = _full_prefetch()
        del prefetch["conditions"]
        result = await _complete(prefetch, breaker=breaker)
        assert "allergies" not in result
        assert result["conditions"] is not None
    assert failing.call_count == 4
    assert breaker.allows(BASE)


async def test_missing_data_without_fhir_access_is_412() -> None:
    prefetch = _full_prefetch()
    del prefetch["conditions"]
    with pytest.raises(PrefetchUnavailable) as caught:
        await _complete(prefetch, None, deadline=1)
    assert caught.value.status_code == 412
    assert caught.value.keys == ["conditions"]
    assert caught.value.operation_outcome()["resourceType"] == "OperationOutcome"


@respx.mock
async def test_fetches_missing_with_token_and_follows_pages() -> None:
    first = respx.get(f"{BASE}/Condition", params={"patient": "pat-1"}).mock(
        return_value=httpx.Response(
            200,
            json=_bundle(
                {"resourceType": "Condition", "id": "c1", "code": {"text": "c1"}},
                next_url=f"{BASE}/Condition?page=2",
            ),
        )
    )
    second = respx.get(f"{BASE}/Condition", params={"page": "2"}).mock(
        return_value=httpx.Response(
            200, json=_bundle({"resourceType": "Condition", "id": "c2", "code": {"text": "c2"}})
        )
    )
    prefetch = _full_prefetch()
    prefetch["conditions"] = OUTCOME  # the client's own fetch failed
    result = await _complete(prefetch)
    conditions = result["conditions"]
    assert conditions is not None
    codes = [e.resource.code for e in conditions.entry or () if e.resource]
    assert codes == [{"text": "c1"}, {"text": "c2"}]
    assert conditions.link is None  # the merged pages leave no next link behind
    for route in (first, second):
        assert route.calls.last.request.headers["Authorization"] == "Bearer access-token-canary"


@respx.mock
async def test_next_link_to_another_server_is_refused() -> None:
    evil = respx.get("https://attacker.example/steal").mock(return_value=httpx.Response(200))
    respx.get(f"{BASE}/Condition").mock(
        return_value=httpx.Response(200, json=_bundle(next_url="https://attacker.example/steal"))
    )
    prefetch = _full_prefetch()
    del prefetch["conditions"]
    with pytest.raises(PrefetchUnavailable):
        await _complete(prefetch)
    assert not evil.called  # the token never went to another host


@respx.mock
async def test_deadline_is_honoured() -> None:
    async def slow(_request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json=_bundle())

    respx.get(f"{BASE}/Procedure").mock(side_effect=slow)
    prefetch = _full_prefetch()
    del prefetch["procedures"]
    started = time.perf_counter()
    with pytest.raises(PrefetchUnavailable):
        await _complete(prefetch, deadline=0.2)
    assert time.perf_counter() - started < 2  # far below the 5 s the server would take


@respx.mock
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500),
        httpx.Response(429),
        httpx.Response(302, headers={"Location": "/x"}),
        httpx.Response(200, content=b"{not json"),
        httpx.Response(200, json=OUTCOME),
    ],
)
async def test_failing_fhir_server_is_412(response: httpx.Response) -> None:
    respx.get(f"{BASE}/MedicationRequest").mock(return_value=response)
    prefetch = _full_prefetch()
    del prefetch["medications"]
    async with httpx.AsyncClient(follow_redirects=False) as http:
        with pytest.raises(PrefetchUnavailable):
            await complete_prefetch(
                http,
                PATIENT_DATA_PREFETCH,
                CONTEXT,
                prefetch,
                ACCESS,
                deadline_seconds=1,
                breaker=CircuitBreaker(),
            )


@respx.mock
async def test_circuit_breaker_stops_calling_a_dead_server() -> None:
    route = respx.get(f"{BASE}/Procedure").mock(return_value=httpx.Response(503))
    breaker = CircuitBreaker(threshold=2, cooldown_seconds=60)
    prefetch = _full_prefetch()
    del prefetch["procedures"]
    for _ in range(4):
        with pytest.raises(PrefetchUnavailable):
            await _complete(prefetch, deadline=1, breaker=breaker)
    assert route.call_count == 2


def test_access_repr_hides_token() -> None:
    assert "canary" not in repr(ACCESS)
