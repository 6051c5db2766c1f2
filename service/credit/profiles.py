"""Learner profiles: what a clinician chooses to tell us for certificates and board reports,
and the learning goals (topic ids) the hook ranks cards by. Every change is audited (which
fields, never their values); a change the hook reads marks the learner changed.

Names: `given_name` and `family_name` are held apart (board reports need them as given). A
profile written before them has only the single `name`: it still prints on certificates, and
the profile says it needs both names before board reporting; it is never split."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import audit
from service.credit.models import LearnerProfile
from service.credit.schemas import BoardId, LearnerProfileView, ProfileUpdate, StateLicense
from service.db.base import utcnow
from service.db.changes import learner_changed

_LIST_FIELDS = frozenset({"state_licenses", "board_ids", "learning_goals"})
# what the hook reads of a profile: its audience, specialty and the learner's goals (ranking)
_HOOK_FIELDS = frozenset({"profession", "specialty", "learning_goals"})


def display_name(given: str | None, family: str | None, single: str | None) -> str | None:
    """The name certificates print: "Given Family" (whichever is given), else the single
    name of a profile written before given and family names existed."""
    return " ".join(part for part in (given, family) if part) or single or None


def name_notice(given: str | None, family: str | None, single: str | None) -> str | None:
    """What the profile still needs for board reports, in plain words (None: nothing)."""
    if given and family:
        return None
    if given or family:
        what = "family name" if given else "given name"
        return f"Please add your {what}: board reports need your given and family names."
    if single:
        return (
            "Please add your given and family names: board reports need them apart, and we "
            "do not guess them from the single name you gave before."
        )
    return "Please add your given and family names: certificates and board reports need them."


def profile_view(learner_key: str, row: LearnerProfile | None) -> LearnerProfileView:
    """The API view of a profile row (an empty profile when the learner gave nothing yet)."""
    if row is None:
        return LearnerProfileView(
            learner_key=learner_key, name_notice=name_notice(None, None, None)
        )
    names = (row.given_name, row.family_name, row.name)
    return LearnerProfileView(
        learner_key=learner_key,
        given_name=row.given_name,
        family_name=row.family_name,
        display_name=display_name(*names),
        needs_names=not (row.given_name and row.family_name),
        name_notice=name_notice(*names),
        name=row.name,
        profession=row.profession,
        specialty=row.specialty,
        npi=row.npi,
        state_licenses=[StateLicense.model_validate(x) for x in row.state_licenses],
        board_ids=[BoardId.model_validate(x) for x in row.board_ids],
        birth_month=row.birth_month,
        birth_day=row.birth_day,
        consent_to_report=row.consent_to_report,
        learning_goals=list(row.learning_goals or []),
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
        learner=learner_key,
        state_licenses=[],
        board_ids=[],
        learning_goals=[],
        created_at=now,
        updated_at=now,
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
        if _HOOK_FIELDS & set(changed):
            learner_changed(session, learner_key)  # the hook's audience, specialty, goals
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
