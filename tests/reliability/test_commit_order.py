"""An acknowledged write is a committed write: the request's unit of work must commit before
the response leaves, or a crash (or a failed commit) after the response loses what the client
was told is done. Found by the PostgreSQL crash run of test_ledger_crash.py (1 acknowledged
claim lost out of 200): FastAPI's default scope for a dependency with `yield` ends it after the
response is sent, so `SessionDep` commits too late."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from service.credit import service as credit
from service.credit.models import LedgerEntry
from service.db.base import utcnow
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.settings import Settings
from smart_app.session import SessionStore
from tests.credit.factories import make_item, make_patch, make_profile
from tests.reliability.conftest import ISSUER, AppUnderTest, running_app

FINDING_COMMIT_AFTER_RESPONSE = (
    "finding: service/deps.py SessionDep commits after the response is sent (FastAPI's default "
    "'request' scope for yield dependencies): an acknowledged claim can be lost by a crash or "
    "a failed commit; fix: Depends(get_session, scope='function') (FastAPI >= 0.121)"
)


async def _completed_cycle(app: AppUnderTest) -> tuple[str, str]:
    runtime = app.app.state.runtime
    learner = "lrn_commit_" + uuid.uuid4().hex
    async with transaction(runtime.sessions) as session:
        await credit.update_profile(session, learner, make_profile(), now=utcnow())
        view = await credit.start_cycle(
            session, learner_key=learner, item=make_item(), card_uuid=None, now=utcnow()
        )
        await credit.update_cycle(session, learner, view.id, make_patch(), now=utcnow())
    store = SessionStore(runtime.state, runtime.settings)
    bearer = await store.issue_bearer(
        await store.create(learner_key=learner, registration_id="r", issuer=ISSUER)
    )
    return str(view.id), bearer


@pytest.mark.postgres
async def test_a_claim_is_committed_before_it_is_acknowledged(
    reliability_settings: Settings, postgres_url: str
) -> None:
    """On PostgreSQL (on SQLite the row is visible to another connection at that moment)."""
    settings = reliability_settings.model_copy(update={"database_url": postgres_url})
    async with running_app(settings) as app:
        await _claim_and_observe(app)


async def _claim_and_observe(app_with_fhir: AppUnderTest) -> None:
    cycle_id, bearer = await _completed_cycle(app_with_fhir)
    observer = make_engine(app_with_fhir.app.state.runtime.settings.resolved_database_url)
    committed_at_response: list[int] = []
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
            async with make_sessionmaker(observer)() as session:  # another connection
                count = await session.scalar(
                    select(func.count())
                    .select_from(LedgerEntry)
                    .where(LedgerEntry.claim_cycle_id == uuid.UUID(cycle_id))
                )
            committed_at_response.append(int(count or 0))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": f"/api/learner/cycles/{cycle_id}/claim",
        "raw_path": f"/api/learner/cycles/{cycle_id}/claim".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bedside.test"),
            (b"authorization", f"Bearer {bearer}".encode()),
            (b"idempotency-key", b"commit-order-1"),
        ],
        "server": ("bedside.test", 443),
        "client": ("127.0.0.1", 5000),
    }
    try:
        await app_with_fhir.app(scope, receive, send)
    finally:
        await observer.dispose()
    assert status == [200]
    assert committed_at_response == [1], "the claim was acknowledged before it was committed"
