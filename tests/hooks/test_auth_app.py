"""The verifier wired into the running app: a bare 401 on the CDS Hooks endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import select

from service.ehr.models import AuthAuditRecord
from tests.hooks.jwt_factory import FakeEhr

FEEDBACK = "https://bedside.test/cds-services/bedside-patient-view/feedback"


class _StubLibrary:
    def __len__(self) -> int:
        return 1


@pytest.fixture(autouse=True)
def _content_stub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.cards.library.load_library", lambda _dir=None, **_: _StubLibrary())


@pytest.fixture
def jwks_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as router:
        router.route(host="bedside.test").pass_through()
        yield router


async def test_bad_token_is_a_bare_401_and_audited(
    app_client: httpx.AsyncClient, jwks_mock: respx.MockRouter
) -> None:
    runtime: Any = app_client.app.state.runtime  # type: ignore[attr-defined]
    ehr = FakeEhr()
    ehr.serve_jwks(jwks_mock)
    await ehr.register(runtime.sessions)
    runtime.registry.invalidate()
    wrong_aud = ehr.token("https://bedside.test/cds-services/bedside-patient-view")

    response = await app_client.post(
        FEEDBACK, json={"feedback": []}, headers={"Authorization": f"Bearer {wrong_aud}"}
    )

    assert response.status_code == 401
    assert response.content == b""
    async with runtime.sessions() as session:
        rows = list((await session.scalars(select(AuthAuditRecord))).all())
    assert [(r.reason, r.endpoint, r.issuer) for r in rows] == [
        ("wrong_aud", "feedback", ehr.issuer)
    ]


async def test_good_token_passes_authentication(
    app_client: httpx.AsyncClient, jwks_mock: respx.MockRouter
) -> None:
    runtime: Any = app_client.app.state.runtime  # type: ignore[attr-defined]
    ehr = FakeEhr()
    ehr.serve_jwks(jwks_mock)
    await ehr.register(runtime.sessions)
    runtime.registry.invalidate()

    response = await app_client.post(
        FEEDBACK, json={"feedback": []}, headers={"Authorization": ehr.bearer(FEEDBACK)}
    )

    assert response.status_code != 401
