"""The launch of issue 20's cards: a card's `why` code is kept on the cycle it starts (the
learn page says why in one line), and a recall card's review question is opened instead of a
cycle."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from service.credit.models import LearningCycle
from smart_app import launch
from smart_app.session import AppSession
from tests.e2e.world import World, learner_of, sign_in


def _card(world: World, item_id: str, **claims: Any) -> str:
    return world.runtime.app_context.sign(
        card_uuid=str(uuid.uuid4()),
        item_id=item_id,
        hook="patient-view",
        learner=learner_of(world),
        **claims,
    )


async def _cycles(world: World) -> list[LearningCycle]:
    async with world.runtime.sessions() as session:
        return list((await session.scalars(select(LearningCycle))).all())


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[launch.LaunchResult]:
    """The launch results the callback route got."""
    results: list[launch.LaunchResult] = []
    complete = launch.complete_launch

    async def spied(*args: Any, **kwargs: Any) -> launch.LaunchResult:
        result = await complete(*args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(launch, "complete_launch", spied)
    return results


async def test_the_cards_why_is_kept_on_the_cycle_it_starts(basic_world: World) -> None:
    world = basic_world
    context = _card(world, "test-guideline", why="goal:diabetes")
    done = await sign_in(world, context)
    assert done.status_code == 303
    (cycle,) = await _cycles(world)
    assert done.headers["location"] == f"/app/cycles/{cycle.id}"
    assert cycle.shown_because == "goal:diabetes"
    again = await sign_in(world, context)  # relaunching the card: the same cycle, as it was
    assert again.headers["location"] == done.headers["location"]
    assert [c.shown_because for c in await _cycles(world)] == ["goal:diabetes"]


async def test_a_card_signed_without_a_why_starts_a_cycle_without_one(basic_world: World) -> None:
    await sign_in(basic_world, _card(basic_world, "test-guideline"))
    assert [c.shown_because for c in await _cycles(basic_world)] == [None]


async def test_a_recall_card_opens_its_review_question_and_starts_no_cycle(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, results = basic_world, _spy(monkeypatch)
    review = str(uuid.uuid4())
    done = await sign_in(
        world, _card(world, "test-case", why="recall:2026-11-27", review_id=review)
    )
    assert done.status_code == 303
    (result,) = results
    assert (result.review_id, result.cycle_id, result.notice) == (review, None, None)
    assert result.target == f"/app/reviews/{review}"
    async with world.runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LearningCycle)) == 0


async def test_a_recall_card_with_a_malformed_review_id_is_refused(
    basic_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, results = basic_world, _spy(monkeypatch)
    await sign_in(world, _card(world, "test-case", review_id="../../admin"))
    (result,) = results
    assert (result.review_id, result.notice) == (None, launch.NOTICE_INVALID)
    assert result.target == "/app/?notice=invalid"


def test_the_landing_page_is_one_of_our_own_paths() -> None:
    session = AppSession(
        id="s", learner_key="L", registration_id="r", issuer="i", csrf="c", expires_at=0.0
    )
    assert launch.LaunchResult(session, None, None).target == "/app/"
    assert launch.LaunchResult(session, "c1", None).target == "/app/cycles/c1"
    assert launch.LaunchResult(session, None, "expired").target == "/app/?notice=expired"
    assert launch.LaunchResult(session, None, None, review_id="r1").target == "/app/reviews/r1"
