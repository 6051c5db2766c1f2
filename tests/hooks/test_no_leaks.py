"""Tokens, JWTs, prefetch data and patient identifiers never reach a log line, an error body
or the database: hook calls at DEBUG with canary values, then a search everywhere."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx
from sqlalchemy import select

from service.migrations.schema import Base
from tests.hooks.conftest import FHIR_BASE, HookClient
from tests.hooks.hook_requests import hook_request, synthea_bundle

PV = "bedside-patient-view"
ACCESS_CANARY = "CANARYACCESS0123456789abcdef"
PATIENT_CANARY = "canary-patient-4411"
NAME_CANARY = "Canarysurname"


def _canary_request(**extra: object) -> dict:
    body = hook_request(synthea_bundle("Angelic_Mueller"), **extra)
    body["prefetch"]["patient"]["id"] = PATIENT_CANARY
    body["prefetch"]["patient"]["name"] = [{"family": NAME_CANARY, "given": ["Ann"]}]
    body["context"]["patientId"] = PATIENT_CANARY
    return body


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
        await call({**_canary_request(), "fhirAuthorization": auth})  # 400
        await call(_canary_request(), exp=1)  # 401 expired
        await call(_canary_request(), aud="https://wrong.example")  # 401
    await hooks.runtime.memory.recorder.flush()

    out, err = capfd.readouterr()
    haystacks = {
        "logs": caplog.text + out + err,
        "responses": "\n".join(bodies),
        "database": await _dump_database(hooks),
    }
    canaries = [
        ACCESS_CANARY,
        PATIENT_CANARY,
        NAME_CANARY,
        *jwts,
        *(j.rsplit(".", 1)[1] for j in jwts),
    ]
    for where, text in haystacks.items():
        for canary in canaries:
            assert canary not in text, f"a canary leaked into {where}"
