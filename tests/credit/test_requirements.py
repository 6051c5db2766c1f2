"""Requirements per license and board: the pure engine (no clock), the bundled sets, and a
learner's progress from their profile's renewal date and their ledger (test database)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.requirements import (
    Holding,
    RequirementProgress,
    RequirementSet,
    bundled_requirements,
    cycle_window,
    holdings_of,
    requirement_progress,
)
from service.credit.rules import CreditRules
from service.credit.schemas import LedgerEntryView, ProfileUpdate
from service.db.engine import transaction
from tests.credit.factories import NOW, make_item, make_patch

TODAY = date(2026, 12, 6)
SETS = {s.id: s for s in bundled_requirements()}


def entry(amount: float, earned_on: date, item: str = "x", **extra: object) -> LedgerEntryView:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "kind": "claim",
        "cycle_id": None,
        "reverses_id": None,
        "credit_type": "ama-pra-1",
        "credit_label": "AMA",
        "amount": amount,
        "activity_id": "A",
        "activity_title": "A",
        "item_id": item,
        "topic": "t",
        "earned_on": earned_on,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(extra)
    return LedgerEntryView.model_validate(values)


def reversal_of(claim: LedgerEntryView) -> LedgerEntryView:
    return claim.model_copy(
        update={
            "id": uuid.uuid4(),
            "kind": "reversal",
            "amount": -claim.amount,
            "reverses_id": claim.id,
        }
    )


def progress(
    s: RequirementSet, entries: list[LedgerEntryView], renews: date | None = None
) -> RequirementProgress:
    found = requirement_progress(
        [s], [Holding(s.applies_to, renews)], "physician-md", entries, TOPICS, TODAY
    )
    return found[0]


TOPICS = {"opioid-a": ("opioid-prescribing",), "sud-a": ("substance-use-disorder",)}


def test_bundled_sets_are_cited_and_dated() -> None:
    assert set(SETS) == {
        "tx-tmb-physician",
        "fl-bom-physician",
        "dea-mate-training",
        "abim-moc-points",
    }
    for s in SETS.values():
        assert s.citation.startswith("https://")
        assert s.verified == date(2026, 12, 6)


def test_texas_48_credits_24_category_1_and_2_ethics_over_24_months() -> None:
    tx = progress(SETS["tx-tmb-physician"], [entry(10, date(2026, 3, 1))], date(2027, 5, 31))
    assert (tx.earned, tx.required, tx.remaining, tx.due) == (10, 48, 38, date(2027, 5, 31))
    assert tx.cycle_start == date(2025, 5, 31)
    assert tx.category_1 is not None
    assert tx.category_1.remaining == 14
    assert [(t.topic, t.required) for t in tx.topics] == [("medical-ethics", 2)]


def test_florida_opioid_topic_lists_tagged_items_until_met() -> None:
    fl = SETS["fl-bom-physician"]
    before = progress(fl, [], date(2027, 1, 31))
    assert before.required == 40
    assert before.topics[0].items == ["opioid-a"]
    after = progress(fl, [entry(2, date(2026, 6, 1), "opioid-a")], date(2027, 1, 31))
    assert after.topics[0].remaining == 0
    assert after.topics[0].items == []


def test_dea_one_time_counts_all_time_and_only_the_topic() -> None:
    dea = SETS["dea-mate-training"]
    found = progress(dea, [entry(5, date(2019, 1, 1), "sud-a"), entry(9, date(2026, 1, 1))])
    assert (found.earned, found.required, found.remaining) == (5, 8, 3)
    assert found.one_time
    assert found.due is None
    assert not found.needs_renewal_date


def test_abim_100_points_over_5_years_and_a_missing_date_is_said() -> None:
    abim = progress(SETS["abim-moc-points"], [entry(30, date(2026, 1, 1))])
    assert (abim.earned, abim.required, abim.due, abim.needs_renewal_date) == (30, 100, None, True)


def test_a_past_renewal_date_rolls_forward_a_cycle() -> None:
    assert cycle_window(24, date(2025, 1, 31), TODAY) == (date(2025, 1, 31), date(2027, 1, 31))


def test_sets_apply_by_license_board_and_profession() -> None:
    sets = list(SETS.values())
    held = holdings_of([("tx", None)], [("abim", None)], "pharmacist", sets)
    ids = [p.id for p in requirement_progress(sets, held, "pharmacist", [], {}, TODAY)]
    assert ids == ["abim-moc-points"]  # Texas asks physicians; DEA is shown to prescribers
    held = holdings_of([("FL", None)], [], "physician-md", sets)
    ids = [p.id for p in requirement_progress(sets, held, "physician-md", [], {}, TODAY)]
    assert ids == ["fl-bom-physician", "dea-mate-training"]


DAYS = st.integers(min_value=-2000, max_value=400).map(lambda d: TODAY + timedelta(days=d))
ENTRIES = st.lists(
    st.tuples(st.sampled_from([0.25, 0.5, 1.0, 2.0]), DAYS, st.sampled_from(["x", "opioid-a"])),
    max_size=15,
).map(lambda rows: [entry(a, d, i) for a, d, i in rows])
SET_IDS = st.sampled_from(sorted(SETS))
RENEWS = st.none() | DAYS


@given(SET_IDS, ENTRIES, RENEWS)
def test_remaining_is_required_minus_earned_never_below_zero(
    set_id: str, entries: list[LedgerEntryView], renews: date | None
) -> None:
    found = progress(SETS[set_id], entries, renews)
    for part in [found, *found.topics, *([found.category_1] if found.category_1 else [])]:
        assert part.remaining == round(max(0.0, part.required - part.earned), 2)


@given(SET_IDS, ENTRIES, ENTRIES, RENEWS)
def test_earned_is_monotone_in_entries(
    set_id: str, first: list[LedgerEntryView], more: list[LedgerEntryView], renews: date | None
) -> None:
    assert (
        progress(SETS[set_id], first + more, renews).earned
        >= progress(SETS[set_id], first, renews).earned
    )


@given(SET_IDS, ENTRIES, RENEWS)
def test_entries_outside_the_window_never_count(
    set_id: str, entries: list[LedgerEntryView], renews: date | None
) -> None:
    s = SETS[set_id]
    start, end = cycle_window(s.cycle_months, renews, TODAY)
    inside = [e for e in entries if start < e.earned_on <= end]
    assert progress(s, entries, renews) == progress(s, inside, renews)


@given(SET_IDS, ENTRIES, ENTRIES, RENEWS)
def test_reversals_net_out(
    set_id: str, kept: list[LedgerEntryView], taken_back: list[LedgerEntryView], renews: date | None
) -> None:
    reversals = [reversal_of(e) for e in taken_back]
    assert progress(SETS[set_id], kept + taken_back + reversals, renews) == progress(
        SETS[set_id], kept, renews
    )


async def test_a_renewal_date_in_the_profile_dates_the_cycle_and_a_claim_moves_it(
    sessions: async_sessionmaker[AsyncSession], rules: CreditRules
) -> None:
    """Texas (22 TAC 161.35(a)): 48 credits, 24 of them Category 1, in the 24 months before
    the renewal. A claimed 0.5 AMA PRA Category 1 credit counts toward both."""
    learner, renews = "lrn_" + "r" * 40, date(2027, 5, 31)
    license_ = {"state": "tx", "number": "X1", "renews_on": renews}
    async with transaction(sessions) as db:
        update = ProfileUpdate.model_validate(
            {"profession": "physician-md", "state_licenses": [license_]}
        )
        await credit.update_profile(db, learner, update, now=NOW)
        before = await credit.learner_requirements(db, learner, rules, item_topics={}, now=NOW)
        cycle = await credit.start_cycle(
            db, learner_key=learner, item=make_item(), card_uuid="card-1", now=NOW
        )
        await credit.update_cycle(db, learner, cycle.id, make_patch(), now=NOW)
        claimed = await credit.claim(
            db, learner, cycle.id, idempotency_key="k", rules=rules, now=NOW
        )
        after = await credit.learner_requirements(db, learner, rules, item_topics={}, now=NOW)
    assert claimed.entry.amount == 0.5
    texas = {r.id: r for r in before.requirements}["tx-tmb-physician"]
    assert (texas.earned, texas.required, texas.due, texas.cycle_start) == (
        0,
        48,
        renews,
        date(2025, 5, 31),
    )
    assert not texas.needs_renewal_date
    moved = {r.id: r for r in after.requirements}["tx-tmb-physician"]
    assert (moved.earned, moved.remaining, moved.due) == (0.5, 47.5, renews)
    assert moved.category_1 is not None
    assert (moved.category_1.earned, moved.category_1.remaining) == (0.5, 23.5)
