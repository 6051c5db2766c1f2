"""The demo's education lead and its synthetic cohort, so that `/education/` has something to
show: a number describing fewer than 5 learners is hidden (docs/outcomes.md), and the demo
has one clinician. Demo only: the product never imports this module.

The cohort is six made-up learners' practice counts for the naloxone measure this month, a
few before learning and a few after; the demo's clinician adds their own calls on top. Their
learner keys are not HMACs of any EHR user, so no launch can ever sign in as one of them."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.memory.models import PracticeTally
from service.outcomes.credentials import add_lead
from service.outcomes.models import EducationLead

COHORT_MEASURE = "cdc-opioid-naloxone"
# (before: opportunities, concordant), (after: opportunities, concordant) per learner
_COHORT = (((5, 1), (4, 3)), ((3, 0), (3, 2)), ((4, 2), (2, 2)), ((6, 1), (5, 3)),
           ((2, 0), (3, 1)), ((4, 1), (4, 4)))  # fmt: skip
COHORT_PREFIX = "demo-cohort-"
DEMO_LEAD = "Demo education lead"


def cohort_learner(number: int) -> str:
    """A 64-character key like a real learner's, recognisably not one (never an HMAC)."""
    return (COHORT_PREFIX + hashlib.sha256(f"cohort {number}".encode()).hexdigest())[:64]


async def seed_demo_outcomes(sessions: async_sessionmaker[AsyncSession], now: datetime) -> str:
    """Add an education lead for this run (its token is returned, to print) and, once per
    data directory, the synthetic cohort's counts for this month."""
    month = now.strftime("%Y-%m")
    async with sessions() as session, session.begin():
        # the previous runs' demo tokens stop working: one printed token is valid at a time
        await session.execute(
            update(EducationLead)
            .where(EducationLead.name == DEMO_LEAD, EducationLead.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        _, token = await add_lead(session, DEMO_LEAD, actor="demo", now=now)
        seeded = await session.scalar(
            select(func.count())
            .select_from(PracticeTally)
            .where(PracticeTally.learner.like(COHORT_PREFIX + "%"))
        )
        if not seeded:
            for number, phases in enumerate(_COHORT, start=1):
                for phase, (opportunities, concordant) in zip(
                    ("before", "after"), phases, strict=True
                ):
                    session.add(
                        PracticeTally(
                            id=uuid.uuid4(),
                            learner=cohort_learner(number),
                            measure_id=COHORT_MEASURE,
                            item_id=COHORT_MEASURE,
                            month=month,
                            phase=phase,
                            opportunities=opportunities,
                            concordant=concordant,
                            updated_at=now,
                        )
                    )
    return token
