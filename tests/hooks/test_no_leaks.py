"""Tokens, JWTs, prefetch data and patient identifiers never reach a log line, an error body,
the database or an export (the outcomes report, the evidence file, the practice xAPI
statements): hook calls at DEBUG with canary values, then a search everywhere."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
import respx
from sqlalchemy import select

from service.credit.models import XapiOutboxItem
from service.migrations.schema import Base
from service.outcomes.evidence import outcomes_evidence
from service.outcomes.evidence import to_csv as evidence_csv
from service.outcomes.formats import to_csv, to_json
from service.outcomes.report import outcomes_report
from service.outcomes.statements import publish_closed_months
from tests.hooks.conftest import FHIR_BASE, HookClient
from tests.hooks.hook_requests import hook_request, synthea_bundle

PV = "bedside-patient-view"
ACCESS_CANARY = "CANARYACCESS0123456789abcdef"
PATIENT_CANARY = "canary-patient-4411"
NAME_CANARY = "Canarysurname"
BIRTH_CANARY = "1933-03-07"  # in any table as a date too: (1933, 3, 7)
OS = "bedside-order-sign"
OXYCODONE = {
    "resourceType": "MedicationRequest",
    "id": "canary-order-9137",
    "status": "draft",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049621"}]
    },
    "subject": {"reference": "Patient/" + PATIENT_CANARY},
}
ALLERGY = {  # on the allergy list (optional prefetch): read to hide cards, never kept
    "resourceType": "AllergyIntolerance",
    "id": "canary-allergy-5581",
    "code": {"text": "Canaryallergen"},
    "patient": {"reference": "Patient/" + PATIENT_CANARY},
}


def _canary_request(hook: str = "patient-view", **extra: object) -> dict:
    orders = [OXYCODONE] if hook == "order-sign" else None
    body = hook_request(synthea_bundle("Angelic_Mueller"), hook, draft_orders=orders, **extra)
    body["prefetch"]["patient"]["id"] = PATIENT_CANARY
    body["prefetch"]["patient"]["name"] = [{"family": NAME_CANARY, "given": ["Ann"]}]
    body["prefetch"]["patient"]["birthDate"] = BIRTH_CANARY
    body["context"]["patientId"] = PATIENT_CANARY
    body["prefetch"]["allergies"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": ALLERGY}],
    }
    return body


async def _outcomes_exports(hooks: HookClient) -> str:
    """What the education lead and the LRS get of the calls: the report, the evidence file
    and the practice statements (the month closed as if it were June)."""
    runtime = hooks.runtime
    async with runtime.sessions() as session, session.begin():
        report = await outcomes_report(session, runtime.content, 2021)
        evidence = await outcomes_evidence(session, runtime.content, 2021)
        published = await publish_closed_months(
            session, runtime.content, datetime(2021, 6, 1, tzinfo=UTC)
        )
        statements = (await session.execute(select(XapiOutboxItem))).scalars().all()
    assert published, "the order-sign call counted a practice measure"
    return "\n".join(
        [to_json(report), to_csv(report), evidence_csv(evidence)]
        + [str(row.event) for row in statements]
    )


async def _dump_database(hooks: HookClient) -> str:
    rows = []
    async with hooks.runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows.extend(str(tuple(row)) for row in (await session.execute(select(table))).all())
    return "\n".join(rows)


async def test_canaries_never_leak(
    hooks: HookClient, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    auth = {
        "access_token": ACCESS_CANARY,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "bedside",
    }
    jwts: list[str] = []
    bodies: list[str] = []

    async def call(body: dict, service: str = PV, **kwargs: str) -> None:
        token = hooks.ehr.token(hooks.url(service), **kwargs)
        jwts.append(token)
        response = await hooks.call(service, body, token="Bearer " + token)
        bodies.append(response.text)
        cards = response.json()["cards"] if response.status_code == 200 else []
        feedback = [
            {"card": c["uuid"], "outcome": "accepted", "outcomeTimestamp": "2021-04-01T10:00:00Z"}
            for c in cards
        ]
        answer = await hooks.feedback(service, {"feedback": feedback or [{"card": "x"}]})
        bodies.append(answer.text)

    with respx.mock(assert_all_called=False) as router:
        hooks.ehr.serve_jwks(router)
        router.get(url__startswith=FHIR_BASE).mock(return_value=httpx.Response(500))
        await call(_canary_request(fhirServer=FHIR_BASE, fhirAuthorization=auth))  # 200
        missing = _canary_request(fhirServer=FHIR_BASE, fhirAuthorization=auth)
        del missing["prefetch"]["conditions"]
        await call(missing)  # 412 after a failed fetch with the token
        await call(_canary_request("order-sign"), OS)  # 200, a practice measure counted
        await call({**_canary_request(), "fhirAuthorization": auth})  # 400
        await call(_canary_request(), exp=1)  # 401 expired
        await call(_canary_request(), aud="https://wrong.example")  # 401
    await hooks.runtime.memory.recorder.flush()
    await hooks.runtime.memory.practice.flush()

    out, err = capfd.readouterr()
    haystacks = {
        "logs": caplog.text + out + err,
        "responses": "\n".join(bodies),
        "database": await _dump_database(hooks),
        "outcomes exports": await _outcomes_exports(hooks),
    }
    canaries = [
        ACCESS_CANARY,
        PATIENT_CANARY,
        NAME_CANARY,
        BIRTH_CANARY,
        "(1933, 3, 7",
        OXYCODONE["id"],
        ALLERGY["id"],
        "Canaryallergen",
        *jwts,
        *(j.rsplit(".", 1)[1] for j in jwts),
    ]
    for where, text in haystacks.items():
        for canary in canaries:
            assert canary not in text, f"a canary leaked into {where}"
