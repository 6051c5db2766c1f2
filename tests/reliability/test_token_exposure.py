"""Token exposure: the hook flow and a SMART launch at DEBUG with canary tokens, then a search
for every canary (and every JWT's signature) in the logs, the responses, every database table
and the learner's exports. The FHIR access token must reach the registered FHIR server, and
nothing else."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select

from ehr_simulator import smart as sim_smart
from service.migrations.schema import Base
from service.observability import configure_logging
from service.settings import Settings
from tests.e2e.world import make_world, query_of, sign_in
from tests.reliability.conftest import AppUnderTest
from tests.reliability.hostile import valid_body

ACCESS_CANARY = "CANARYFHIRACCESS0123456789abcdef"
PATIENT_CANARY = "canary-patient-8812"


async def dump_database(sessions: Any) -> str:
    """Every row of every table, as text."""
    rows: list[str] = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows.extend(str(tuple(row)) for row in (await session.execute(select(table))).all())
    return "\n".join(rows)


def _assert_absent(haystacks: dict[str, str], canaries: list[str]) -> None:
    for where, text in haystacks.items():
        for canary in canaries:
            assert canary not in text, f"a canary ({canary[:10]}...) leaked into {where}"


@pytest.fixture
def app_logging() -> Iterator[Callable[[str], None]]:
    """Configure the app's own logging (as BEDSIDE_LOG_LEVEL would); restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    noisy = ("httpx", "httpcore", "hpack", "asyncio", "aiosqlite", "uvicorn.access")
    levels = {name: logging.getLogger(name).level for name in noisy}
    yield configure_logging
    root.handlers, root.level = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _debug(caplog: pytest.LogCaptureFixture, app_logging: Callable[[str], None]) -> None:
    """The app's own logging at DEBUG (BEDSIDE_LOG_LEVEL=DEBUG), plus pytest's capture."""
    app_logging("DEBUG")
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)


def _logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    return caplog.text + out + err


async def test_hook_flow_leaks_no_token(
    app_with_fhir: AppUnderTest,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    app_logging: Callable[[str], None],
) -> None:
    _debug(caplog, app_logging)
    app = app_with_fhir
    app.fresh_breaker()
    jwts: list[str] = []
    texts: list[str] = []

    async def call(body: dict[str, Any], path: str = "/cds-services/bedside-patient-view") -> Any:
        token = app.ehr.token(app.url() + path.removeprefix("/cds-services/bedside-patient-view"))
        jwts.append(token)
        response = await app.http.post(
            path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        texts.append(response.text + str(dict(response.headers)))
        return response

    def with_token(body: dict[str, Any]) -> dict[str, Any]:
        body["fhirServer"] = app.server.base
        body["fhirAuthorization"] = {
            "access_token": ACCESS_CANARY, "token_type": "Bearer", "expires_in": 300,
            "scope": "patient/*.read", "subject": "bedside",
        }  # fmt: skip
        body["context"]["patientId"] = PATIENT_CANARY
        body["prefetch"]["patient"]["id"] = PATIENT_CANARY
        return body

    full = with_token(valid_body("patient-view"))
    response = await call(full)
    assert response.status_code == 200
    cards = response.json()["cards"]
    missing = with_token(valid_body("patient-view"))
    del missing["prefetch"]["conditions"]
    assert (await call(missing)).status_code == 200  # fetched with the token
    app.server.mode = "status:500"
    assert (await call(missing)).status_code == 412
    app.server.mode = "redirect"
    assert (await call(missing)).status_code == 412
    bad = with_token(valid_body("patient-view"))
    del bad["fhirServer"]
    assert (await call(bad)).status_code == 400
    feedback = {
        "feedback": [
            {"card": c["uuid"], "outcome": "accepted", "outcomeTimestamp": "2021-04-01T10:00:00Z"}
            for c in cards
        ]
    }
    if cards:
        assert (
            await call(feedback, "/cds-services/bedside-patient-view/feedback")
        ).status_code == 200
    expired = app.ehr.token(app.url(), exp=1)
    jwts.append(expired)
    refused = await app.http.post(
        "/cds-services/bedside-patient-view",
        json=full,
        headers={"Authorization": f"Bearer {expired}"},
    )
    assert refused.status_code == 401
    texts.append(refused.text)
    await app.app.state.runtime.memory.recorder.flush()

    seen = {auth for path, auth in app.server.requests if path.startswith("/fhir")}
    assert seen == {f"Bearer {ACCESS_CANARY}"}  # the token went to the registered server only
    assert not [p for p, _ in app.server.requests if p.startswith("/elsewhere")]
    _assert_absent(
        {
            "logs": _logs(caplog, capfd),
            "responses": "\n".join(texts),
            "database": await dump_database(app.app.state.runtime.sessions),
        },
        [ACCESS_CANARY, PATIENT_CANARY, *jwts, *(j.rsplit(".", 1)[1] for j in jwts)],
    )


async def test_smart_launch_leaks_no_token(
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    app_logging: Callable[[str], None],
) -> None:
    _debug(caplog, app_logging)
    id_tokens: list[str] = []
    original = sim_smart._id_token

    def recording(*args: Any, **kwargs: Any) -> str:
        token = original(*args, **kwargs)
        id_tokens.append(token)
        return token

    monkeypatch.setattr(sim_smart, "_id_token", recording)
    texts: list[str] = []
    async with make_world(settings, "client_secret_basic") as world:
        done = await sign_in(world)
        assert done.status_code == 303, done.text
        code = query_of(str(done.request.url))["code"]
        for path in [
            "/app/",
            "/api/learner/me",
            "/api/learner/cycles",
            "/api/learner/transcript",
            "/api/learner/export.csv",
            "/api/learner/xapi",
        ]:
            response = await world.browser.get(f"https://bedside.test{path}")
            assert response.status_code == 200, (path, response.status_code)
            texts.append(response.text + str(dict(response.headers)))
        database = await dump_database(world.runtime.sessions)
        access_tokens = list(world.sim_state.access_tokens)
        secret = world.config.client_secret
    assert id_tokens
    assert access_tokens
    tokens = [code, *access_tokens, *id_tokens, *(t.rsplit(".", 1)[1] for t in id_tokens)]
    logs = _logs(caplog, capfd)
    _assert_absent({"logs": logs, "responses+exports": "\n".join(texts)}, [*tokens, secret])
    # The registration's client secret is stored sealed (service/ehr/sealing.py).
    _assert_absent({"database": database}, [*tokens, secret])


async def test_outbound_urls_with_patient_ids_are_not_logged(
    app_with_fhir: AppUnderTest,
    capfd: pytest.CaptureFixture[str],
    app_logging: Callable[[str], None],
) -> None:
    """Regression (found here, fixed in observability.py): httpx logged every outbound URL at
    INFO, FHIR query URLs with the patient id among them."""
    app_logging("INFO")  # the default level
    app_with_fhir.fresh_breaker()
    body = valid_body("patient-view")
    body["fhirServer"] = app_with_fhir.server.base
    body["fhirAuthorization"] = {
        "access_token": ACCESS_CANARY, "token_type": "Bearer", "expires_in": 300,
        "scope": "patient/*.read", "subject": "bedside",
    }  # fmt: skip
    body["context"]["patientId"] = PATIENT_CANARY
    del body["prefetch"]["conditions"]
    assert (await app_with_fhir.post(body)).status_code == 200
    out, err = capfd.readouterr()
    assert PATIENT_CANARY not in out + err
