"""The profile's learning goals and renewal dates below the pages: the schema's rules (at most
5 goals, a chosen topic once; a renewal date at most 10 years ahead) and the profile service
(goals saved on the test database, and a change the hook reads marks the learner changed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.schemas import ProfileUpdate, StateLicense, latest_renewal
from service.db.changes import on_learners_changed
from service.db.engine import make_engine, make_sessionmaker, transaction

LEARNER = "lrn_" + "g" * 40
NOW = datetime(2026, 12, 6, 9, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def test_goals_are_at_most_five_and_each_once() -> None:
    update = ProfileUpdate(learning_goals=["lipids", "kidney", "lipids"])
    assert update.learning_goals == ["lipids", "kidney"]
    with pytest.raises(ValidationError, match="Choose at most 5 learning goals"):
        ProfileUpdate(learning_goals=[f"topic-{n}" for n in range(6)])
    with pytest.raises(ValidationError, match="from the list of topics"):
        ProfileUpdate(learning_goals=["Lipids and <b>"])


def test_a_renewal_date_is_at_most_ten_years_ahead() -> None:
    today = datetime.now(UTC).date()
    limit = latest_renewal(today)
    assert StateLicense(state="TX", number="1", renews_on=limit).renews_on == limit
    with pytest.raises(ValidationError, match="at most 10 years ahead"):
        StateLicense(state="TX", number="1", renews_on=limit + timedelta(days=1))
    long_ago = date(2001, 1, 31)  # a past date rolls forward a cycle at a time: kept
    assert StateLicense(state="TX", number="1", renews_on=long_ago).renews_on == long_ago


def test_ten_years_after_29_february_is_28_february() -> None:
    assert latest_renewal(date(2028, 2, 29)) == date(2038, 2, 28)
    assert latest_renewal(date(2026, 12, 6)) == date(2036, 12, 6)


async def test_goals_are_saved_and_a_change_marks_the_learner_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The hook ranks cards by the learner's goals: it must drop its kept copy after a change."""
    heard: list[set[str]] = []
    on_learners_changed(sessions, heard.append)

    async def save(update: ProfileUpdate) -> tuple[list[str], set[str]]:
        heard.clear()
        async with transaction(sessions) as db:
            view = await credit.update_profile(db, LEARNER, update, now=NOW)
        await asyncio.sleep(0)
        return view.learning_goals, set().union(*heard)

    assert await save(ProfileUpdate(learning_goals=["diabetes"])) == (["diabetes"], {LEARNER})
    assert await save(ProfileUpdate(learning_goals=["diabetes"])) == (["diabetes"], set())
    assert await save(ProfileUpdate(given_name="Ann")) == (["diabetes"], set())
    assert await save(ProfileUpdate(learning_goals=None)) == ([], {LEARNER})
    async with sessions() as db:
        assert (await credit.get_profile(db, LEARNER)).learning_goals == []
