"""A hypothesis state machine of claims, retries, reused keys, reversals and caps across
several learners; after every step the database's ledger equals a simple model.

Runs on the test database (SQLite, or PostgreSQL when the suite targets it); each example
uses fresh learner keys, so examples never see each other's rows.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from service.credit import service as credit
from service.credit.rules import CreditRules, load_rules
from service.db.engine import make_engine, make_sessionmaker, transaction
from service.errors import Unprocessable
from tests.credit.factories import make_item, make_patch, make_profile

CAP = 1.0  # two 0.5 claims per calendar year: caps are reached quickly
PROFESSIONS = ["physician-md", "physician-do", "pharmacist"]
KEYS = ["a", "b", "c"]


def small_cap_rules() -> CreditRules:
    data = load_rules().model_dump(mode="json")
    data["caps"] = [{"credit_type": "ama-pra-1", "max": CAP, "period": "calendar-year"}]
    return CreditRules.model_validate(data)


@dataclass
class ModelEntry:
    learner: str
    credit_type: str
    amount: float
    year: int
    reversal_of: uuid.UUID | None = None


@dataclass
class Model:
    cycles: list[tuple[str, uuid.UUID, int]] = field(default_factory=list)
    entries: dict[uuid.UUID, ModelEntry] = field(default_factory=dict)
    keys: dict[tuple[str, str], tuple[uuid.UUID, Any]] = field(default_factory=dict)
    claims_by_cycle: dict[uuid.UUID, Any] = field(default_factory=dict)
    reversed: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)

    def net(self, learner: str, credit_type: str, year: int) -> float:
        return sum(
            e.amount
            for e in self.entries.values()
            if e.learner == learner and e.credit_type == credit_type and e.year == year
        )


class LedgerMachine(RuleBasedStateMachine):
    database_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine = make_engine(self.database_url, pool_size=2)
        self.sessions = make_sessionmaker(self.engine)
        self.credit_rules = small_cap_rules()
        self.model = Model()
        self.learners = [f"lrn_sm_{uuid.uuid4().hex[:12]}_{i}" for i in range(3)]

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _in_tx(self, fn: Any) -> Any:
        async with transaction(self.sessions) as session:
            return await fn(session)

    @initialize()
    def profiles(self) -> None:
        for learner, profession in zip(self.learners, PROFESSIONS, strict=True):
            self.run(
                self._in_tx(
                    lambda s, lr=learner, p=profession: credit.update_profile(
                        s, lr, make_profile(profession=p)
                    )
                )
            )
            for year in (2026, 2026, 2026, 2027):  # enough cycles to reach the cap early
                self._complete(learner, year)

    @rule(who=st.integers(0, 2), year=st.sampled_from([2026, 2027]))
    def complete_a_cycle(self, who: int, year: int) -> None:
        self._complete(self.learners[who], year)

    def _complete(self, learner: str, year: int) -> None:
        when = datetime(year, 3, 1, tzinfo=UTC)

        async def go(session: Any) -> uuid.UUID:
            view = await credit.start_cycle(
                session, learner_key=learner, item=make_item(), card_uuid=None, now=when
            )
            await credit.update_cycle(session, learner, view.id, make_patch(), now=when)
            return view.id

        self.model.cycles.append((learner, self.run(self._in_tx(go)), year))

    @rule(pick=st.integers(0, 1000), key=st.sampled_from([*KEYS, "derived"]))
    def claim(self, pick: int, key: str) -> None:
        if not self.model.cycles:
            return
        learner, cycle_id, year = self.model.cycles[pick % len(self.model.cycles)]
        key = f"cycle:{cycle_id}" if key == "derived" else key
        expected = self._expect_claim(learner, cycle_id, key, year)
        try:
            got: Any = self.run(
                self._in_tx(
                    lambda s: credit.claim(
                        s,
                        learner,
                        cycle_id,
                        idempotency_key=key,
                        rules=self.credit_rules,
                        now=datetime(2028, 1, 1, tzinfo=UTC),
                    )
                )
            )
        except (Unprocessable, credit.ClaimRefused) as exc:
            got = exc
        event(f"claim: {expected if isinstance(expected, str) else 'replayed'}")
        self._check_claim(expected, got, learner, cycle_id, key, year)

    def _expect_claim(self, learner: str, cycle_id: uuid.UUID, key: str, year: int) -> Any:
        if (learner, key) in self.model.keys:
            used_for, response = self.model.keys[(learner, key)]
            return response if used_for == cycle_id else "422"
        if cycle_id in self.model.claims_by_cycle:
            return self.model.claims_by_cycle[cycle_id]
        profession = PROFESSIONS[self.learners.index(learner)]
        if (
            profession.startswith("physician")
            and self.model.net(learner, "ama-pra-1", year) + 0.5 > CAP
        ):
            return "cap"
        return "new"

    def _check_claim(
        self, expected: Any, got: Any, learner: str, cycle_id: uuid.UUID, key: str, year: int
    ) -> None:
        if expected == "422":
            assert isinstance(got, Unprocessable)
            assert got.status_code == 422
        elif expected == "cap":
            assert isinstance(got, credit.ClaimRefused)
            assert got.codes == ["cap-reached"]
        elif expected == "new":
            assert isinstance(got, credit.ClaimResult), got
            self.model.entries[got.entry.id] = ModelEntry(learner, got.entry.credit_type, 0.5, year)
            self.model.keys[(learner, key)] = (cycle_id, got)
            self.model.claims_by_cycle[cycle_id] = got
        else:
            assert got == expected

    @rule(pick=st.integers(0, 1000))
    def reverse(self, pick: int) -> None:
        claims = [i for i, e in self.model.entries.items() if e.reversal_of is None]
        if not claims:
            return
        entry_id = claims[pick % len(claims)]
        view = self.run(
            self._in_tx(
                lambda s: credit.reverse_entry(
                    s,
                    entry_id,
                    reason="test",
                    actor="admin",
                    rules=self.credit_rules,
                    now=datetime(2028, 2, 1, tzinfo=UTC),
                )
            )
        )
        event("reverse: again" if entry_id in self.model.reversed else "reverse: new")
        if entry_id in self.model.reversed:
            assert view.id == self.model.reversed[entry_id]
            return
        original = self.model.entries[entry_id]
        self.model.reversed[entry_id] = view.id
        self.model.entries[view.id] = ModelEntry(
            original.learner, original.credit_type, -0.5, original.year, entry_id
        )

    async def _transcript(self, session: Any, learner: str) -> Any:
        return await credit.transcript(session, learner, self.credit_rules)

    @invariant()
    def database_equals_model(self) -> None:
        for learner in self.learners:
            view = self.run(self._in_tx(lambda s, lr=learner: self._transcript(s, lr)))
            assert {e.id for e in view.entries} == {
                i for i, e in self.model.entries.items() if e.learner == learner
            }
            for year in (2026, 2027):
                for credit_type in ("ama-pra-1", "participation"):
                    db = sum(
                        t.amount
                        for t in view.totals
                        if t.year == year and t.credit_type == credit_type
                    )
                    assert db == pytest.approx(self.model.net(learner, credit_type, year))
                    assert db <= CAP or credit_type != "ama-pra-1"

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()


def test_ledger_matches_model(database_url: str) -> None:
    LedgerMachine.database_url = database_url
    runner = LedgerMachine.TestCase
    runner.settings = settings(
        max_examples=15,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    runner().runTest()
