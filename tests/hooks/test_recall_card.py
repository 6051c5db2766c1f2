"""The contextual recall card through the real hook endpoint (issue 20: "the contextual card
appears once for a matching patient when due"), for the clinical panel's patients: a learner
who did a case the guideline gives this patient, and has one of its questions due, gets one
quiet recall card after the same cards as a learner whose question is not due yet; not again
the same day, again the next; never for a patient who must never see that case; never on a
call with a critical card. The card links to its review question (signed appContext) and is
recorded as a recall, not as a new card."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.cards.library import load_library
from service.credit.models import LearningCycle
from service.identity import learner_key
from service.memory.models import IssuedCard
from service.reviews.models import ReviewItem
from service.settings import Settings
from tests.cards.clinical_panel import DEFAULT_AT, PanelCase, bundle_of, draft_orders_of, load_panel
from tests.hooks.conftest import HookClient, running_hooks
from tests.hooks.hook_requests import hook_request

CASES = load_panel()
SERVICES = {
    "patient-view": "bedside-patient-view",
    "order-select": "bedside-order-select",
    "order-sign": "bedside-order-sign",
}
ROOM = 40  # more cards than any panel patient matches: the cap leaves room for the recall


@pytest.fixture
async def hooks(settings: Settings) -> AsyncIterator[HookClient]:
    panel = settings.model_copy(update={"evaluation_date": DEFAULT_AT, "max_cards": 10})
    async with running_hooks(panel) as client:
        service = client.runtime.hooks
        service.policy = dataclasses.replace(service.policy, max_cards=ROOM)
        yield client


def _noon() -> datetime:
    return datetime.combine(DEFAULT_AT, time(12), tzinfo=UTC)


class Learner:
    """A clinician who completed the cycles of some cases and missed a question of each."""

    def __init__(self, hooks: HookClient) -> None:
        self.hooks = hooks
        self.user = f"Practitioner/{uuid.uuid4()}"
        self.key = learner_key(hooks.runtime.secret, hooks.ehr.issuer, None, self.user)
        self.reviews: dict[str, uuid.UUID] = {}

    async def did(self, *item_ids: str, due_in: timedelta) -> None:
        now = _noon()
        rows: list[Any] = []
        for item_id in item_ids:
            review = uuid.uuid4()
            self.reviews[item_id] = review
            rows.append(_review(self.key, item_id, review, due=now + due_in))
            rows.append(_cycle(self.key, item_id, now))
        async with self.hooks.runtime.sessions() as session, session.begin():
            session.add_all(rows)

    async def open(self, case: PanelCase) -> list[dict[str, Any]]:
        body = hook_request(
            bundle_of(case), case.hook, user=self.user, draft_orders=draft_orders_of(case)
        )
        response = await self.hooks.call(SERVICES[case.hook], body)
        assert response.status_code == 200, (case.id, response.text)
        cards: list[dict[str, Any]] = response.json()["cards"]
        return cards


def _review(learner: str, item_id: str, review: uuid.UUID, *, due: datetime) -> ReviewItem:
    queued = _noon() - timedelta(days=9)
    return ReviewItem(
        id=review,
        learner=learner,
        item_id=item_id,
        question_id="q1",
        state={},
        due=due,
        last_review=queued,
        created_at=queued,
    )


def _cycle(learner: str, item_id: str, now: datetime) -> LearningCycle:
    return LearningCycle(
        learner=learner,
        item_id=item_id,
        item_version="1",
        item_type="case",
        title="T",
        credit_format="enduring",
        source_citation="S",
        status="complete",
        started_at=now,
        updated_at=now,
        completed_at=now,
    )


def _is_recall(card: dict[str, Any]) -> bool:
    return str(card["summary"]).startswith("Quick recall (30 s): ")


def _topics(cards: list[dict[str, Any]]) -> list[str]:
    return [card["source"]["topic"]["code"] for card in cards]


def _case_items() -> frozenset[str]:
    return frozenset(item.id for item in load_library() if item.case is not None)


async def test_the_recall_card_appears_once_for_a_matching_patient_when_due(
    hooks: HookClient,
) -> None:
    cases, recalled = _case_items(), 0
    for case in CASES:
        for item_id in sorted(case.must & cases):
            due, control = Learner(hooks), Learner(hooks)
            await due.did(item_id, due_in=-timedelta(days=1))
            await control.did(item_id, due_in=timedelta(days=1))  # the same miss, due tomorrow
            expected = _topics(await control.open(case))
            cards = await due.open(case)
            assert _topics(cards) == [*expected, item_id], case.id  # after the same cards
            assert [_is_recall(card) for card in cards].count(True) == 1, case.id
            again = await due.open(case)
            assert _topics(again) == expected, case.id  # not again the same day
            recalled += 1
    assert recalled >= 40


async def test_the_recall_card_links_to_its_question_and_is_kept_as_a_recall(
    hooks: HookClient,
) -> None:
    case = next(c for c in CASES if c.id == "cx-t2dm-adult-gets-case")
    learner = Learner(hooks)
    await learner.did("case-t2dm-new-diagnosis", due_in=-timedelta(hours=1))
    recall = (await learner.open(case))[-1]
    assert recall["indicator"] == "info"
    item = load_library().get("case-t2dm-new-diagnosis")
    assert item is not None
    assert recall["summary"] == f"Quick recall (30 s): {item.title}"
    assert "overrideReasons" not in recall
    (link,) = recall["links"]
    assert link["type"] == "smart"
    context = hooks.runtime.app_context.verify(link["appContext"])
    assert context.review_id == str(learner.reviews["case-t2dm-new-diagnosis"])
    assert context.why == f"recall:{(_noon() - timedelta(days=9)).date().isoformat()}"
    assert (context.item_id, context.learner, context.card_uuid) == (
        "case-t2dm-new-diagnosis",
        learner.key,
        recall["uuid"],
    )
    await hooks.runtime.memory.recorder.flush()
    async with hooks.runtime.sessions() as session:
        rows = (
            await session.execute(select(IssuedCard).where(IssuedCard.learner == learner.key))
        ).scalars()
        purposes = {str(row.uuid): row.purpose for row in rows}
    assert purposes[recall["uuid"]] == "recall"
    assert set(purposes.values()) == {"learn", "recall"}
    # the next day it comes back (the question is still due); the learning cards do not move
    service = hooks.runtime.hooks
    service.clock = lambda: _noon() + timedelta(days=1, minutes=1)
    assert _is_recall((await learner.open(case))[-1])


async def test_never_for_a_patient_who_must_never_see_the_case(hooks: HookClient) -> None:
    cases, checked = _case_items(), 0
    for case in CASES:
        excluded = sorted(case.never & cases)
        if not excluded:
            continue
        learner = Learner(hooks)
        await learner.did(*excluded, due_in=-timedelta(days=1))
        cards = await learner.open(case)
        assert not any(_is_recall(card) for card in cards), case.id
        checked += 1
    assert checked >= 100


async def test_never_on_a_call_with_a_critical_card(hooks: HookClient) -> None:
    library = load_library()
    cases, checked = _case_items(), 0
    for case in CASES:
        criticals = {
            i for i in case.must if (item := library.get(i)) and item.indicator == "critical"
        }
        if not criticals:
            continue
        learner = Learner(hooks)
        await learner.did(*sorted(cases), due_in=-timedelta(days=1))
        cards = await learner.open(case)
        assert criticals <= set(_topics(cards)), case.id
        assert not any(_is_recall(card) for card in cards), case.id
        checked += 1
    assert checked >= 5


async def test_under_a_full_cap_it_takes_a_teaching_cards_place_never_a_warnings(
    hooks: HookClient,
) -> None:
    """The cap counts the recall card: with the cap full, it takes the place of the last card
    when that card only teaches (indicator info), never a warning's or a critical's."""
    cases, library = _case_items(), load_library()
    took = 0
    for case in CASES:
        for item_id in sorted(case.must & cases):
            due, control, counting = Learner(hooks), Learner(hooks), Learner(hooks)
            await due.did(item_id, due_in=-timedelta(days=1))
            for other in (control, counting):  # the same miss, due tomorrow
                await other.did(item_id, due_in=timedelta(days=1))
            full = len(await counting.open(case))
            if full == 0:
                continue
            hooks.runtime.hooks.policy = dataclasses.replace(
                hooks.runtime.hooks.policy, max_cards=full
            )
            try:
                expected = _topics(await control.open(case))
                cards = await due.open(case)
            finally:
                hooks.runtime.hooks.policy = dataclasses.replace(
                    hooks.runtime.hooks.policy, max_cards=ROOM
                )
            last = library.get(expected[-1])
            assert last is not None
            if last.indicator == "info":
                assert _topics(cards) == [*expected[:-1], item_id], case.id
                took += 1
            else:
                assert _topics(cards) == expected, case.id
    # every panel call that can recall ends with a teaching card: a warning kept in its place
    # is held by tests/cards/test_recall.py (recall_allowed, and the property test)
    assert took >= 40
