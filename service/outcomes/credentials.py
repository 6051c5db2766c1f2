"""Education leads' credentials: a bearer token shown once when hospital IT adds a lead, of
which only the SHA-256 is stored (`EducationLead.token_hash`). A token opens the education
dashboard and its downloads, nothing else; hospital IT's admin token does not open them.
Revoking a lead closes its token and, at their next request, its browser sessions.

Tokens carry 256 random bits, so one unsalted SHA-256 is enough: there is nothing to guess
from the hash, and a lookup by hash needs no constant-time loop over every lead.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit
from service.errors import BadRequest
from service.outcomes.models import EducationLead

TOKEN_PREFIX = "bel_"  # Bedside education lead: tells a leaked token's kind at a glance
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 200
MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class LeadView:
    """What may be shown of a lead: never its token, nor the token's hash."""

    id: uuid.UUID
    name: str
    created_at: datetime
    revoked_at: datetime | None


def view(lead: EducationLead) -> LeadView:
    return LeadView(lead.id, lead.name, lead.created_at, lead.revoked_at)


def new_token() -> str:
    """A fresh bearer token (256 random bits, URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def clean_name(name: str) -> str:
    """A lead's name, trimmed; refused when empty or over 200 characters."""
    name = " ".join(name.split())
    if not name:
        raise BadRequest('A name is required, e.g. --name "Dr A. Example".')
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"The name is over {MAX_NAME_LENGTH} characters.")
    return name


async def add_lead(
    session: AsyncSession, name: str, *, actor: str, now: datetime
) -> tuple[LeadView, str]:
    """Add a lead; returns it and its token, which is not kept anywhere and cannot be shown
    again (audited, without the token)."""
    token = new_token()
    lead = EducationLead(
        id=uuid.uuid4(), name=clean_name(name), token_hash=token_hash(token), created_at=now
    )
    session.add(lead)
    audit.add(session, actor=actor, action="education-lead.add", at=now, subject=str(lead.id))
    await session.flush()
    return view(lead), token


async def list_leads(session: AsyncSession) -> list[LeadView]:
    """Every lead, oldest first (revoked ones too, with when)."""
    query = select(EducationLead).order_by(EducationLead.created_at, EducationLead.id)
    return [view(lead) for lead in (await session.scalars(query)).all()]


async def revoke_lead(
    session: AsyncSession, lead_id: uuid.UUID, *, actor: str, now: datetime
) -> LeadView | None:
    """Revoke a lead (None when there is no such lead); revoking again keeps the first time."""
    lead = await session.get(EducationLead, lead_id)
    if lead is None:
        return None
    if lead.revoked_at is None:
        lead.revoked_at = now
        audit.add(
            session, actor=actor, action="education-lead.revoke", at=now, subject=str(lead.id)
        )
        await session.flush()
    return view(lead)


async def lead_by_token(session: AsyncSession, token: str | None) -> EducationLead | None:
    """The active (not revoked) lead whose token this is, else None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    query = select(EducationLead).where(
        EducationLead.token_hash == token_hash(token), EducationLead.revoked_at.is_(None)
    )
    lead: EducationLead | None = (await session.scalars(query)).first()
    return lead


async def active_lead(session: AsyncSession, lead_id: uuid.UUID) -> EducationLead | None:
    """The lead with this id unless it was revoked (checked on every browser request)."""
    lead = await session.get(EducationLead, lead_id)
    return lead if lead is not None and lead.revoked_at is None else None
