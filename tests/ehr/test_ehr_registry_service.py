"""Registry operations (service/ehr/service.py) and what EhrRegistry then serves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.engine import make_engine, make_sessionmaker, transaction
from service.ehr import service
from service.ehr.registry import EhrRegistry
from service.errors import Conflict, NotFound, Unprocessable
from service.settings import Settings


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.resolved_database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_registered_ehr_is_found_by_issuer_tenant_and_fhir_base(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with transaction(sessions) as session:
        await service.add_ehr(
            session,
            issuer="https://ehr.example.org",
            tenant="t1",
            jwks_url="https://ehr.example.org/jwks",
            fhir_base="https://ehr.example.org/fhir/",
            client_ids=["app"],
        )
    registry = EhrRegistry(sessions, ttl_seconds=0)
    found = await registry.find("https://ehr.example.org", "t1")
    assert found is not None
    assert found.client_ids == ("app",)
    assert await registry.by_fhir_base("https://ehr.example.org/fhir") == found
    assert await registry.find("https://ehr.example.org", None) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://ehr.example.org/jwks",
        "file:///etc/passwd",
        "https://user:pw@ehr.example.org/jwks",
        "/jwks",
        "https://",
    ],
)
async def test_urls_must_be_https(sessions: async_sessionmaker[AsyncSession], url: str) -> None:
    async with transaction(sessions) as session:
        with pytest.raises(Unprocessable):
            await service.add_ehr(session, issuer="https://ehr.example.org", jwks_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8001/jwks", "http://localhost/jwks", "http://[::1]:8001/jwks"]
)
async def test_loopback_http_is_allowed(
    sessions: async_sessionmaker[AsyncSession], url: str
) -> None:
    async with transaction(sessions) as session:
        record = await service.add_ehr(session, issuer="https://ehr.example.org", jwks_url=url)
    assert record.jwks_url == url


async def test_duplicate_issuer_and_tenant(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        await service.add_ehr(
            session, issuer="https://ehr.example.org", jwks_url="https://ehr.example.org/jwks"
        )
        await service.add_ehr(
            session,
            issuer="https://ehr.example.org",
            tenant="other",
            jwks_url="https://ehr.example.org/jwks",
        )
        with pytest.raises(Conflict):
            await service.add_ehr(
                session, issuer="https://ehr.example.org/", jwks_url="https://ehr.example.org/jwks"
            )


async def test_client_auth_rules(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        base = {"issuer": "https://ehr.example.org", "jwks_url": "https://ehr.example.org/j"}
        with pytest.raises(Unprocessable):
            await service.add_ehr(session, **base, client_secret="s", client_jwks="{}")
        with pytest.raises(Unprocessable):
            await service.add_ehr(session, **base, client_auth="private_key_jwt", client_secret="s")
        with pytest.raises(Unprocessable):
            await service.add_ehr(session, **base, client_jwks='{"keys": [{"kty": "oct"}]}')
        with pytest.raises(Unprocessable):
            await service.add_ehr(session, **base, client_auth="magic")
        with pytest.raises(ValueError, match="sealed"):  # never stored in clear by mistake
            await service.add_ehr(session, **base, client_secret="s")


async def test_a_client_secret_is_stored_sealed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from service.ehr.sealing import is_sealed, unseal

    key = b"a-server-secret-for-this-test-0123456789abcdef"
    async with transaction(sessions) as session:
        record = await service.add_ehr(
            session,
            issuer="https://ehr.example.org",
            jwks_url="https://ehr.example.org/j",
            tenant="t1",
            client_secret="the-secret",
            server_secret=key,
        )
    assert record.client_secret is not None
    assert is_sealed(record.client_secret)
    assert "the-secret" not in record.client_secret
    opened = unseal(key, record.client_secret, issuer="https://ehr.example.org", tenant_key="t1")
    assert opened == "the-secret"


async def test_remove(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        record = await service.add_ehr(
            session, issuer="https://ehr.example.org", jwks_url="https://ehr.example.org/jwks"
        )
        await service.remove_ehr(session, record.id)
        assert await service.list_ehrs(session) == []
        with pytest.raises(NotFound):
            await service.remove_ehr(session, record.id)
        with pytest.raises(NotFound):
            await service.remove_ehr_by_issuer(session, "https://ehr.example.org")


class _GatedLoads:
    """load_registrations replaced: counts calls, each waits until the test opens the gate."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate = asyncio.Event()
        self.answer: tuple[str, ...] = ("first",)

    async def __call__(self, _session: object) -> tuple[str, ...]:
        self.calls += 1
        answer = self.answer
        await self.gate.wait()
        return answer


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> _GatedLoads:
    """The registry's loads, gated by the test."""
    gated = _GatedLoads()
    monkeypatch.setattr("service.ehr.registry.load_registrations", gated)
    return gated


async def test_an_expired_registry_answers_at_once_and_reloads_once(
    sessions: async_sessionmaker[AsyncSession], loads: _GatedLoads
) -> None:
    registry = EhrRegistry(sessions, ttl_seconds=0.01)
    first = asyncio.create_task(registry.all())
    await asyncio.sleep(0.01)
    assert not first.done()  # nothing known yet: the first lookup waits
    loads.gate.set()
    assert await first == ("first",)
    loads.gate.clear()
    loads.answer = ("second",)
    await asyncio.sleep(0.02)  # expired
    answers = await asyncio.wait_for(asyncio.gather(*(registry.all() for _ in range(16))), 1)
    assert set(answers) == {("first",)}  # the known registrations, without waiting
    assert loads.calls == 2  # and one reload for all sixteen
    loads.gate.set()
    await asyncio.sleep(0.01)
    assert await registry.all() == ("second",)


async def test_after_invalidate_a_lookup_waits_for_a_reload_begun_after_it(
    sessions: async_sessionmaker[AsyncSession], loads: _GatedLoads
) -> None:
    registry = EhrRegistry(sessions, ttl_seconds=60)
    loads.gate.set()
    assert await registry.all() == ("first",)
    loads.gate.clear()
    await asyncio.sleep(0)
    registry._loaded_at = -1e9  # expired: a background reload reads the old rows ...
    assert await registry.all() == ("first",)
    registry.invalidate()  # ... when this worker changes them
    loads.answer = ("changed",)
    waiting = asyncio.create_task(registry.all())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    loads.gate.set()
    assert await waiting == ("changed",)
    assert loads.calls == 3
