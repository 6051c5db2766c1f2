"""Learner profiles: what a clinician chooses to tell us for certificates and board reports.
Every change is audited (which fields, never their values)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit
from service.credit.models import LearnerProfile
from service.credit.schemas import BoardId, LearnerProfileView, ProfileUpdate, StateLicense
from service.db.base import utcnow
from service.db.changes import learner_changed

_LIST_FIELDS = frozenset({"state_licenses", "board_ids"})


def profile_view(learner_key: str, row: LearnerProfile | None) -> LearnerProfileView:
    """The API view of a profile row (an empty profile when the learner gave nothing yet)."""
    if row is None:
        return LearnerProfileView(learner_key=learner_key)
    return LearnerProfileView(
        learner_key=learner_key,
        name=row.name,
        profession=row.profession,
        specialty=row.specialty,
        npi=row.npi,
        state_licenses=[StateLicense.model_validate(x) for x in row.state_licenses],
        board_ids=[BoardId.model_validate(x) for x in row.board_ids],
        birth_month=row.birth_month,
        birth_day=row.birth_day,
        consent_to_report=row.consent_to_report,
    )


async def load_profile(session: AsyncSession, learner_key: str) -> LearnerProfile | None:
    """The learner's profile row, if any."""
    return await session.get(LearnerProfile, learner_key)


async def get_profile(session: AsyncSession, learner_key: str) -> LearnerProfileView:
    """The learner's profile (empty when none was given)."""
    return profile_view(learner_key, await load_profile(session, learner_key))


async def _get_or_create(session: AsyncSession, learner_key: str, now: datetime) -> LearnerProfile:
    row = await load_profile(session, learner_key)
    if row is not None:
        return row
    row = LearnerProfile(
        learner=learner_key, state_licenses=[], board_ids=[], created_at=now, updated_at=now
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:  # created concurrently: use the winner's row
        found = await load_profile(session, learner_key)
        assert found is not None
        return found
    return row


async def update_profile(
    session: AsyncSession,
    learner_key: str,
    update: ProfileUpdate,
    *,
    now: datetime | None = None,
) -> LearnerProfileView:
    """Change the fields given in `update`; audited with the names of the changed fields."""
    now = now or utcnow()
    row = await _get_or_create(session, learner_key, now)
    changes = update.model_dump(exclude_unset=True, mode="json")
    changed: list[str] = []
    for field, value in changes.items():
        if field == "consent_to_report" and value is None:
            continue
        if getattr(row, field) != value:
            setattr(row, field, [] if value is None and field in _LIST_FIELDS else value)
            changed.append(field)
    if changed:
        row.updated_at = now
        if {"profession", "specialty"} & set(changed):
            learner_changed(session, learner_key)  # the hook's audience and specialty
        audit.add(
            session,
            actor=learner_key,
            action="profile.updated",
            at=now,
            learner=learner_key,
            details={"fields": sorted(changed)},
        )
    await session.flush()
    return profile_view(learner_key, row)
