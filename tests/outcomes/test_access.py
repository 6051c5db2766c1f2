"""Education leads' credentials: only a token's hash is stored; a lead's token opens the
education endpoints and nothing else, and hospital IT's admin token does not open them;
revoking a lead closes its token."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.models import AuditEvent
from service.db.engine import transaction
from service.errors import BadRequest
from service.outcomes import credentials
from service.outcomes.models import EducationLead
from tests.outcomes.factories import at

Sessions = async_sessionmaker[AsyncSession]
ADMIN = {"Authorization": "Bearer test-admin-token"}  # the conftest's BEDSIDE_ADMIN_TOKEN


async def _add(sessions: Sessions, name: str = "Dr A") -> tuple[uuid.UUID, str]:
    async with transaction(sessions) as session:
        lead, token = await credentials.add_lead(session, name, actor="test", now=at(1))
    return lead.id, token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_only_the_hash_of_a_token_is_kept(sessions: Sessions) -> None:
    lead_id, token = await _add(sessions, "  Dr   A.  Example ")
    assert token.startswith("bel_")
    assert len(token) >= 4 + 43  # 32 random bytes, URL-safe base64
    async with sessions() as session:
        stored = (await session.scalars(select(EducationLead))).one()
        actions = [(e.action, e.subject) for e in (await session.scalars(select(AuditEvent)))]
    assert stored.name == "Dr A. Example"
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(stored.__dict__)
    assert actions == [("education-lead.add", str(lead_id))]
    listed = await _list(sessions)
    assert token not in repr(listed)
    assert stored.token_hash not in repr(listed)


async def _list(sessions: Sessions) -> list[credentials.LeadView]:
    async with sessions() as session:
        return await credentials.list_leads(session)


async def test_two_leads_get_different_tokens_and_a_name_is_required(sessions: Sessions) -> None:
    _, first = await _add(sessions)
    _, second = await _add(sessions)
    assert first != second
    with pytest.raises(BadRequest, match="name is required"):
        await _add(sessions, "   ")


async def test_revoking_closes_the_token_once(sessions: Sessions) -> None:
    lead_id, token = await _add(sessions)
    async with transaction(sessions) as session:
        first = await credentials.revoke_lead(session, lead_id, actor="test", now=at(2))
        again = await credentials.revoke_lead(session, lead_id, actor="test", now=at(3))
        missing = await credentials.revoke_lead(session, uuid.uuid4(), actor="test", now=at(3))
    assert first is not None
    assert again is not None
    assert missing is None
    assert first.revoked_at == again.revoked_at == at(2)
    async with sessions() as session:
        assert await credentials.lead_by_token(session, token) is None
        assert await credentials.active_lead(session, lead_id) is None


async def test_a_lead_token_opens_the_education_endpoints(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    _, token = await _add(sessions, "Dr A")
    probe = await client.get("/test/lead", headers=_bearer(token))
    assert (probe.status_code, probe.json()) == (200, {"name": "Dr A"})
    report = await client.get("/education/report.json?period=2026", headers=_bearer(token))
    assert report.status_code == 200
    assert report.json()["period"] == 2026


async def test_the_admin_token_does_not_open_them(client: httpx.AsyncClient) -> None:
    for path in ("/test/lead", "/education/report.json", "/education/evidence.csv"):
        refused = await client.get(path, headers=ADMIN)
        assert (refused.status_code, refused.json()) == (404, {"detail": "not found"}), path


async def test_a_lead_token_does_not_open_admin_endpoints(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    _, token = await _add(sessions)
    assert (await client.get("/admin/ehrs", headers=ADMIN)).status_code == 200
    refused = await client.get("/admin/ehrs", headers=_bearer(token))
    assert refused.status_code == 401


async def test_revoked_wrong_and_malformed_tokens_are_refused_alike(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    lead_id, token = await _add(sessions)
    async with transaction(sessions) as session:
        await credentials.revoke_lead(session, lead_id, actor="test", now=at(2))
    for header in (
        _bearer(token),
        _bearer("bel_" + "x" * 43),
        _bearer("bel_" + "x" * 500),
        {"Authorization": token},  # no scheme
        {"Authorization": "Basic " + token},
    ):
        refused = await client.get("/test/lead", headers=header)
        assert (refused.status_code, refused.json()) == (404, {"detail": "not found"})
