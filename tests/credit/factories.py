"""Typed factories for credit tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit.engine import CycleFacts
from service.credit.schemas import CycleItem, CyclePatch, ProfileUpdate

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


def make_item(**overrides: Any) -> CycleItem:
    values: dict[str, Any] = {
        "item_id": "guideline-afib-anticoag",
        "item_version": "3",
        "item_type": "guideline",
        "title": "Anticoagulation in atrial fibrillation",
        "credit_format": "poc",
        "question": "Should this patient with AF start anticoagulation?",
        "source_citation": "2023 ACC/AHA/ACCP/HRS Atrial Fibrillation Guideline",
        "passing_score": None,
    }
    values.update(overrides)
    return CycleItem(**values)


def make_case(**overrides: Any) -> CycleItem:
    values: dict[str, Any] = {
        "item_id": "case-chest-pain",
        "item_type": "case",
        "title": "Chest pain in the clinic",
        "credit_format": "enduring",
        "passing_score": 0.7,
    }
    values.update(overrides)
    return make_item(**values)


def make_patch(**overrides: Any) -> CyclePatch:
    values: dict[str, Any] = {"application": "changed-management"}
    values.update(overrides)
    return CyclePatch(**values)


def make_profile(**overrides: Any) -> ProfileUpdate:
    values: dict[str, Any] = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "profession": "physician-md",
        "specialty": "Internal Medicine",
        "npi": "1234567893",
        "state_licenses": [{"state": "il", "number": "036-123456"}],
        "board_ids": [{"board": "ABIM", "id": "123456"}],
        "birth_month": 12,
        "birth_day": 10,
        "consent_to_report": True,
    }
    values.update(overrides)
    return ProfileUpdate(**values)


def make_facts(**overrides: Any) -> CycleFacts:
    values: dict[str, Any] = {
        "item_id": "guideline-afib-anticoag",
        "credit_format": "poc",
        "question": "Should this patient start anticoagulation?",
        "source_citation": "AF guideline",
        "application": "changed-management",
        "application_text": None,
        "started_at": NOW,
        "completed_at": NOW,
    }
    values.update(overrides)
    return CycleFacts(**values)


async def ready_cycle(sessions: async_sessionmaker[AsyncSession], learner: str) -> uuid.UUID:
    """A learner with a profile and one documented (complete, claimable) cycle."""
    from service.credit import service as credit
    from service.db.engine import transaction

    async with transaction(sessions) as session:
        await credit.update_profile(session, learner, make_profile(), now=NOW)
        cycle = await credit.start_cycle(
            session, learner_key=learner, item=make_item(), card_uuid=None, now=NOW
        )
        await credit.update_cycle(session, learner, cycle.id, make_patch(), now=NOW)
    return cycle.id
