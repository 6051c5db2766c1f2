"""The learner's verifiable credentials: an Open Badges 3.0 credential per claim and a
CLR-style transcript credential (each read through `records`, rendered and signed by
`exports/credentials.py`, and audited), and their verification.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit, records
from service.credit.exports import credentials as vc
from service.credit.rules import CreditRules
from service.credit.schemas import CredentialReport
from service.db.base import utcnow
from service.keys import SigningKeys


async def open_badge_credential(
    session: AsyncSession,
    learner_key: str,
    entry_id: uuid.UUID,
    *,
    signing_keys: SigningKeys,
    rules: CreditRules,
    public_url: str,
    now: datetime | None = None,
) -> str:
    """A signed OpenBadgeCredential (VC-JWT) for one of the learner's claims (audited)."""
    now = now or utcnow()
    entry = await records.standing_claim(session, learner_key, entry_id, rules, output="credential")
    person = await records.participant(session, learner_key)
    document = vc.badge(
        entry,
        learner_key=learner_key,
        name=person.name,
        rules=rules,
        public_url=public_url,
        issued=now,
    )
    audit.add(
        session,
        actor=learner_key,
        action="export.badge",
        at=now,
        learner=learner_key,
        subject=str(entry_id),
    )
    return vc.sign(document, signing_keys, vc.subject_id(public_url, learner_key), now)


async def transcript_credential(
    session: AsyncSession,
    learner_key: str,
    *,
    signing_keys: SigningKeys,
    rules: CreditRules,
    public_url: str,
    now: datetime | None = None,
) -> str:
    """A CLR-style transcript credential (VC-JWT) of every unreversed claim (audited)."""
    now = now or utcnow()
    claims = records.standing_claims(await records.list_entries(session, learner_key, rules))
    name = (await records.participant(session, learner_key)).name
    badges = [
        vc.badge(
            e, learner_key=learner_key, name=name, rules=rules, public_url=public_url, issued=now
        )
        for e in claims
    ]
    document = vc.transcript_document(
        badges, learner_key=learner_key, name=name, rules=rules, public_url=public_url, issued=now
    )
    audit.add(
        session,
        actor=learner_key,
        action="export.transcript-credential",
        at=now,
        learner=learner_key,
        details={"credentials": len(badges)},
    )
    return vc.sign(document, signing_keys, vc.subject_id(public_url, learner_key), now)


def verify_credential(
    token: str, public_jwks: dict[str, Any], *, now: datetime | None = None
) -> CredentialReport:
    """Verify a VC-JWT against a public JWKS (now, unless told otherwise): signature, times,
    and the document's shape."""
    return vc.verify(token, public_jwks, now=now or utcnow())
