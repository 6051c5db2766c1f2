"""The credit service on the test database: cycles, profiles, claims, reversals, transcript."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import audit
from service.credit import service as credit
from service.credit.rules import CreditRules
from service.db.engine import transaction
from service.errors import Conflict, NotFound, Unprocessable
from tests.credit.factories import NOW, make_case, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "a" * 40
OTHER = "lrn_" + "b" * 40


async def _completed_cycle(sessions: Sessions, learner: str = LEARNER, **item: object) -> uuid.UUID:
    async with transaction(sessions) as session:
        view = await credit.start_cycle(
            session,
            learner_key=learner,
            item=make_item(**item),
            card_uuid=str(uuid.uuid4()),
            now=NOW,
        )
        done = await credit.update_cycle(session, learner, view.id, make_patch(), now=NOW)
    assert done.status == "complete"
    return view.id


async def _profile(sessions: Sessions, learner: str = LEARNER, **fields: object) -> None:
    async with transaction(sessions) as session:
        await credit.update_profile(session, learner, make_profile(**fields), now=NOW)


async def test_relaunching_a_card_returns_the_same_cycle(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        first = await credit.start_cycle(
            session, learner_key=LEARNER, item=make_item(), card_uuid="card-1", now=NOW
        )
        again = await credit.start_cycle(
            session,
            learner_key=LEARNER,
            item=make_item(),
            card_uuid="card-1",
            now=NOW + timedelta(hours=1),
        )
        other = await credit.start_cycle(
            session, learner_key=OTHER, item=make_item(), card_uuid="card-1", now=NOW
        )
    assert first.id == again.id
    assert other.id != first.id
    assert first.status == "pending"
    assert first.missing == ["how this applies to your practice"]
    assert "patient" in first.patient_data_reminder


async def test_cycle_completes_when_question_source_and_application_documented(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        view = await credit.start_cycle(
            session, learner_key=LEARNER, item=make_item(question=None), card_uuid=None, now=NOW
        )
        assert "your clinical question" in view.missing
        view = await credit.update_cycle(session, LEARNER, view.id, make_patch(), now=NOW)
        assert view.status == "pending"
        view = await credit.update_cycle(
            session, LEARNER, view.id, credit.CyclePatch(question="What dose?"), now=NOW
        )
    assert view.status == "complete"
    assert view.completed_at == NOW


async def test_another_learners_cycle_is_not_found(sessions: Sessions) -> None:
    cycle_id = await _completed_cycle(sessions)
    async with transaction(sessions) as session:
        with pytest.raises(NotFound):
            await credit.get_cycle(session, OTHER, cycle_id)
        assert [c.id for c in await credit.list_cycles(session, LEARNER, "complete")] == [cycle_id]
        assert await credit.list_cycles(session, OTHER, None) == []


async def test_claim_is_recorded_once_and_replayed(sessions: Sessions, rules: CreditRules) -> None:
    await _profile(sessions)
    cycle_id = await _completed_cycle(sessions)
    async with transaction(sessions) as session:
        first = await credit.claim(
            session, LEARNER, cycle_id, idempotency_key="k1", rules=rules, now=NOW
        )
    async with transaction(sessions) as session:
        again = await credit.claim(
            session,
            LEARNER,
            cycle_id,
            idempotency_key="k1",
            rules=rules,
            now=NOW + timedelta(minutes=1),
        )
        other_key = await credit.claim(
            session, LEARNER, cycle_id, idempotency_key="k2", rules=rules, now=NOW
        )
        entries = await credit.list_entries(session, LEARNER, rules)
        cycle = await credit.get_cycle(session, LEARNER, cycle_id)
    assert again == first
    assert other_key == first
    assert len(entries) == 1
    assert first.entry.amount == 0.5
    assert first.entry.credit_type == "ama-pra-1"
    assert first.certificate == "credit"
    assert cycle.status == "claimed"


async def test_same_key_for_another_cycle_is_422(sessions: Sessions, rules: CreditRules) -> None:
    await _profile(sessions)
    first, second = await _completed_cycle(sessions), await _completed_cycle(sessions)
    async with transaction(sessions) as session:
        await credit.claim(session, LEARNER, first, idempotency_key="k", rules=rules, now=NOW)
    async with transaction(sessions) as session:
        with pytest.raises(Unprocessable):
            await credit.claim(session, LEARNER, second, idempotency_key="k", rules=rules, now=NOW)


async def test_refusals_speak_to_the_clinician(sessions: Sessions, rules: CreditRules) -> None:
    async with transaction(sessions) as session:
        view = await credit.start_cycle(
            session, learner_key=LEARNER, item=make_item(), card_uuid=None, now=NOW
        )
    async with transaction(sessions) as session:
        with pytest.raises(credit.ClaimRefused) as refused:
            await credit.claim(session, LEARNER, view.id, idempotency_key="k", rules=rules, now=NOW)
    assert set(refused.value.codes) == {"cycle-incomplete", "profile-incomplete"}
    assert refused.value.status_code == 422
    assert any("how this applies to your practice" in r for r in refused.value.reasons)


async def test_window_passed_is_409(sessions: Sessions, rules: CreditRules) -> None:
    await _profile(sessions)
    cycle_id = await _completed_cycle(sessions)
    late = NOW + timedelta(days=rules.claim_window_days + 1)
    async with transaction(sessions) as session:
        with pytest.raises(credit.ClaimRefused) as refused:
            await credit.claim(
                session, LEARNER, cycle_id, idempotency_key="k", rules=rules, now=late
            )
    assert refused.value.codes == ["window-passed"]
    assert refused.value.status_code == 409


async def test_pharmacist_gets_participation(sessions: Sessions, rules: CreditRules) -> None:
    await _profile(sessions, profession="pharmacist")
    cycle_id = await _completed_cycle(sessions)
    async with transaction(sessions) as session:
        result = await credit.claim(
            session, LEARNER, cycle_id, idempotency_key="k", rules=rules, now=NOW
        )
    assert result.certificate == "participation"
    assert result.entry.credit_type == "participation"
    assert "certificate of participation" in result.notes[0]


async def test_case_needs_a_passing_score(sessions: Sessions, rules: CreditRules) -> None:
    await _profile(sessions)
    async with transaction(sessions) as session:
        view = await credit.start_cycle(
            session, learner_key=LEARNER, item=make_case(), card_uuid=None, now=NOW
        )
        view = await credit.update_cycle(
            session, LEARNER, view.id, make_patch(case_answers={"q1": "b"}, case_score=0.5), now=NOW
        )
    assert view.status == "pending"
    async with transaction(sessions) as session:
        with pytest.raises(credit.ClaimRefused) as refused:
            await credit.claim(session, LEARNER, view.id, idempotency_key="k", rules=rules, now=NOW)
    assert refused.value.codes == ["case-not-passed"]
    assert "50%" in refused.value.reasons[0]
    async with transaction(sessions) as session:
        view = await credit.update_cycle(
            session, LEARNER, view.id, credit.CyclePatch(case_score=0.8), now=NOW
        )
        result = await credit.claim(
            session, LEARNER, view.id, idempotency_key="k2", rules=rules, now=NOW
        )
    assert view.status == "complete"
    assert result.entry.activity_id == rules.activities.enduring_default.id


async def test_reversal_is_a_new_entry_and_totals_follow(
    sessions: Sessions, rules: CreditRules
) -> None:
    await _profile(sessions)
    ids = [await _completed_cycle(sessions) for _ in range(3)]
    async with transaction(sessions) as session:
        results = [
            await credit.claim(session, LEARNER, c, idempotency_key=f"k{i}", rules=rules, now=NOW)
            for i, c in enumerate(ids)
        ]
    async with transaction(sessions) as session:
        reversal = await credit.reverse_entry(
            session, results[0].entry.id, reason="duplicate", actor="admin", rules=rules, now=NOW
        )
        again = await credit.reverse_entry(
            session, results[0].entry.id, reason="duplicate", actor="admin", rules=rules, now=NOW
        )
        with pytest.raises(Conflict):
            await credit.reverse_entry(
                session, reversal.id, reason="x", actor="admin", rules=rules, now=NOW
            )
        view = await credit.transcript(session, LEARNER, rules)
        actions = [e.action for e in await audit.events(session, LEARNER)]
    assert again.id == reversal.id
    assert reversal.amount == -0.5
    assert reversal.reverses_id == results[0].entry.id
    assert len(view.entries) == 4
    assert view.by_year == {"2026": 1.0}
    assert view.by_credit_type == {"ama-pra-1": 1.0}
    assert view.by_activity == {"BEDSIDE-POC-2026": 1.0}
    assert actions.count("credit.claimed") == 3
    assert actions.count("credit.reversed") == 1
    assert "profile.updated" in actions


async def test_profile_round_trip_and_audit(sessions: Sessions) -> None:
    await _profile(sessions)
    async with transaction(sessions) as session:
        view = await credit.get_profile(session, LEARNER)
        empty = await credit.get_profile(session, OTHER)
        events = await audit.events(session, LEARNER)
    assert view.state_licenses[0].state == "IL"
    assert view.consent_to_report is True
    assert empty.profession is None
    fields = events[0].details["fields"]
    assert isinstance(fields, list)
    assert fields == sorted(fields)
    assert "npi" in fields
    assert "1234567893" not in str(events[0].details)


async def test_claimed_cycle_cannot_change(sessions: Sessions, rules: CreditRules) -> None:
    await _profile(sessions)
    cycle_id = await _completed_cycle(sessions)
    async with transaction(sessions) as session:
        await credit.claim(session, LEARNER, cycle_id, idempotency_key="k", rules=rules, now=NOW)
    async with transaction(sessions) as session:
        with pytest.raises(Conflict):
            await credit.update_cycle(session, LEARNER, cycle_id, make_patch(application="other"))


def test_credit_tables_hold_no_patient_data() -> None:
    from service.credit import models

    forbidden = ("patient", "encounter", "fhir", "token", "mrn", "dob", "birth_date")
    for table in (
        models.LearnerProfile,
        models.LearningCycle,
        models.LedgerEntry,
        models.AuditEvent,
        models.XapiOutboxItem,
    ):
        for column in table.__table__.columns:
            assert not any(word in column.name for word in forbidden), column
