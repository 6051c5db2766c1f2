"""Tenant and learner isolation: every endpoint that takes an id answers 404 for another
learner's or another tenant's id (exactly as for an unknown one); one learner's data never
appears in another's exports; 1,000 alternating requests of two tenants over a pool of two
database connections leak nothing."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

import service.app as app_module
from service.credit import service as credit
from service.db.base import utcnow
from service.db.engine import make_engine, transaction
from service.settings import Settings
from smart_app.session import SessionStore
from tests.credit.factories import make_item, make_patch, make_profile
from tests.hooks.jwt_factory import FakeEhr
from tests.reliability.conftest import ISSUER, AppUnderTest, running_app
from tests.reliability.hostile import valid_body


@dataclass
class Learner:
    """A signed-in learner with one claimed cycle (and so one ledger entry)."""

    key: str
    bearer: str
    cycle_id: str
    entry_id: str
    title: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}


async def _learner(app: AppUnderTest, name: str, tenant: str | None) -> Learner:
    runtime = app.app.state.runtime
    key = "lrn_" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex
    title = f"Isolation item of {name} {uuid.uuid4().hex[:8]}"
    async with transaction(runtime.sessions) as session:
        view = await credit.start_cycle(
            session,
            learner_key=key,
            item=make_item(item_id=f"item-{name}", title=title),
            card_uuid=str(uuid.uuid4()),
            now=utcnow(),
        )
        await credit.update_cycle(session, key, view.id, make_patch(), now=utcnow())
        await credit.update_profile(session, key, make_profile(name=f"Dr {name}"), now=utcnow())
        result = await credit.claim(
            session, key, view.id, idempotency_key=f"k-{name}", rules=runtime.credit_rules,
            now=utcnow(),
        )  # fmt: skip
    store = SessionStore(runtime.state, runtime.settings)
    app_session = await store.create(
        learner_key=key, registration_id=f"reg-{tenant}", issuer=ISSUER
    )
    bearer = await store.issue_bearer(app_session)
    return Learner(key, bearer, str(view.id), str(result.entry.id), title)


@pytest.fixture
async def two_learners(app_with_fhir: AppUnderTest) -> tuple[AppUnderTest, Learner, Learner]:
    alice = await _learner(app_with_fhir, "alice", "t-a")
    bob = await _learner(app_with_fhir, "bob", "t-b")
    return app_with_fhir, alice, bob


def _id_endpoints(victim: Learner) -> list[tuple[str, str, dict[str, Any] | None]]:
    cycle, entry = victim.cycle_id, victim.entry_id
    return [
        ("GET", f"/api/learner/cycles/{cycle}", None),
        ("PATCH", f"/api/learner/cycles/{cycle}", {"question": "Mine now?"}),
        ("POST", f"/api/learner/cycles/{cycle}/claim", None),
        ("GET", f"/api/learner/entries/{entry}/certificate.pdf", None),
        ("GET", f"/api/learner/entries/{entry}/badge", None),
    ]


async def test_another_learners_ids_are_404(
    two_learners: tuple[AppUnderTest, Learner, Learner],
) -> None:
    app, alice, bob = two_learners
    for method, path, body in _id_endpoints(alice):
        own = await app.http.request(method, path, json=body, headers=alice.auth)
        assert own.status_code < 400 or own.status_code == 409, (path, own.status_code)
        stolen = await app.http.request(method, path, json=body, headers=bob.auth)
        unknown_path = path.replace(alice.cycle_id, str(uuid.uuid4())).replace(
            alice.entry_id, str(uuid.uuid4())
        )
        unknown = await app.http.request(method, unknown_path, json=body, headers=bob.auth)
        assert stolen.status_code == 404, (method, path, stolen.status_code)
        assert unknown.status_code == 404
        assert (
            stolen.content == unknown.content.replace(unknown_path.encode(), path.encode())
            or alice.title.encode() not in stolen.content
        )


async def test_exports_hold_only_the_learners_own_data(
    two_learners: tuple[AppUnderTest, Learner, Learner],
) -> None:
    app, alice, bob = two_learners
    exports = [
        "/api/learner/cycles",
        "/api/learner/transcript",
        "/api/learner/export.csv",
        "/api/learner/xapi",
        "/api/learner/transcript/credential",
        "/api/learner/me",
    ]
    for path in exports:
        own = await app.http.get(path, headers=bob.auth)
        assert own.status_code == 200, (path, own.status_code)
        text = own.text
        for secret in (alice.key, alice.cycle_id, alice.entry_id, alice.title):
            assert secret not in text, f"alice's {secret[:12]} in bob's {path}"
        if path not in {"/api/learner/me", "/api/learner/transcript/credential"}:
            assert bob.title in text or bob.cycle_id in text or bob.entry_id in text, path


async def test_admin_endpoints_with_unknown_ids_are_404(app_with_fhir: AppUnderTest) -> None:
    admin = {"Authorization": "Bearer test-admin-token"}
    response = await app_with_fhir.http.post(
        f"/admin/credit/entries/{uuid.uuid4()}/reverse", json={"reason": "x"}, headers=admin
    )
    assert response.status_code == 404
    for path in [f"/admin/ehrs/{uuid.uuid4()}"]:
        response = await app_with_fhir.http.delete(path, headers=admin)
        assert response.status_code in {404, 405}, path


async def _hook_cards(app: AppUnderTest, ehr: FakeEhr) -> list[dict[str, Any]]:
    response = await app.http.post(
        "/cds-services/bedside-patient-view",
        json=valid_body("patient-view"),
        headers={"Authorization": ehr.bearer(app.url())},
    )
    assert response.status_code == 200
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def _feedback(card_uuid: str) -> dict[str, Any]:
    return {
        "feedback": [
            {"card": card_uuid, "outcome": "accepted", "outcomeTimestamp": "2021-04-01T10:00:00Z"}
        ]
    }


async def test_feedback_on_another_tenants_card_is_404(reliability_settings: Settings) -> None:
    tenant_a = FakeEhr(issuer=ISSUER, tenant="tenant-a")
    async with running_app(reliability_settings, tenant_a) as app:
        tenant_b = FakeEhr(issuer=ISSUER, tenant="tenant-b")
        other_issuer = FakeEhr(issuer="https://other.reliability.test")
        for ehr in (tenant_b, other_issuer):
            ehr.jwks_url = app.server.jwks_url
            await ehr.register(app.app.state.runtime.sessions)
        app.server.jwks = {
            "keys": [k for e in (tenant_a, tenant_b, other_issuer) for k in e.jwks()["keys"]]
        }
        cards = await _hook_cards(app, tenant_a)
        assert cards, "the test patient must get at least one card"
        url = app.url() + "/feedback"
        path = "/cds-services/bedside-patient-view/feedback"
        for intruder in (tenant_b, other_issuer):
            response = await app.http.post(
                path,
                json=_feedback(cards[0]["uuid"]),
                headers={"Authorization": intruder.bearer(url)},
            )
            assert response.status_code == 404
        response = await app.http.post(
            path, json=_feedback(cards[0]["uuid"]), headers={"Authorization": tenant_a.bearer(url)}
        )
        assert response.status_code == 200


async def _alternate(app: AppUnderTest, alice: Learner, bob: Learner, total: int) -> None:
    async def one(index: int) -> None:
        me, other = (alice, bob) if index % 2 == 0 else (bob, alice)
        path = ["/api/learner/cycles", "/api/learner/transcript", "/api/learner/me"][index % 3]
        response = await app.http.get(path, headers=me.auth)
        assert response.status_code == 200
        assert other.key not in response.text
        assert other.cycle_id not in response.text
        assert other.title not in response.text

    for start in range(0, total, 10):  # ten in flight at a time over two connections
        await asyncio.gather(*(one(i) for i in range(start, min(start + 10, total))))


@pytest.fixture
def two_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's engine with a pool of at most two connections (PostgreSQL: 1 + 1 overflow)."""
    monkeypatch.setattr(
        app_module, "make_engine", lambda url, pool_size=1: make_engine(url, pool_size=1)
    )


async def test_alternating_learners_over_two_connections(
    two_connections: None, two_learners: tuple[AppUnderTest, Learner, Learner]
) -> None:
    """On the run's database: SQLite, or PostgreSQL (pool of 1 + 1 overflow) in CI's second
    run (BEDSIDE_TEST_DATABASE_URL)."""
    app, alice, bob = two_learners
    engine = app.app.state.runtime.engine
    if engine.dialect.name == "postgresql":
        assert engine.pool.size() == 1
    await _alternate(app, alice, bob, 1_000)
