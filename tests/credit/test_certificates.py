"""Issue 18, item 7: a certificate prints the designation of its entry's own format, names the
amount once in the AMA PRA form ("0.5 AMA PRA Category 1 Credit™"), and a year's certificate
ends with its total."""

from __future__ import annotations

import io
import uuid

from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.rules import Activity, CreditRules
from service.credit.schemas import CycleItem, CyclePatch
from service.db.engine import transaction
from tests.credit.factories import NOW, make_case, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "9" * 40


async def _claim(
    sessions: Sessions, rules: CreditRules, item: CycleItem, patch: CyclePatch, **profile: object
) -> uuid.UUID:
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(**profile), now=NOW)
        cycle = await credit.start_cycle(
            session, learner_key=LEARNER, item=item, card_uuid=str(uuid.uuid4()), now=NOW
        )
        await credit.update_cycle(session, LEARNER, cycle.id, patch, now=NOW)
        result = await credit.claim(
            session, LEARNER, cycle.id, idempotency_key=str(cycle.id), rules=rules, now=NOW
        )
    return result.entry.id


async def _pdf(sessions: Sessions, rules: CreditRules, *, entry_id: uuid.UUID | None = None) -> str:
    async with transaction(sessions) as session:
        pdf = await credit.certificate_pdf(
            session, LEARNER, rules, entry_id=entry_id, year=2026, now=NOW
        )
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def _renamed_case_activity(rules: CreditRules) -> CreditRules:
    """The provider's rules after it renamed its case activity (a new accreditation)."""
    renamed = Activity(id="BEDSIDE-CASES-V2", title="Bedside Clinical Cases, second edition")
    activities = rules.activities.model_copy(update={"enduring_default": renamed})
    return rules.model_copy(update={"activities": activities})


async def test_a_case_keeps_the_enduring_designation_after_its_activity_is_renamed(
    sessions: Sessions, rules: CreditRules
) -> None:
    case = make_case(case_minutes=45)
    entry_id = await _claim(sessions, rules, case, make_patch(case_score=0.9))
    text = await _pdf(sessions, _renamed_case_activity(rules), entry_id=entry_id)
    assert "designates this enduring material for a maximum of 0.75" in text
    assert "point-of-care" not in text
    async with transaction(sessions) as session:
        (entry,) = await credit.list_entries(session, LEARNER, rules)
    assert entry.credit_format == "enduring"


async def test_the_amount_is_named_once_in_the_ama_pra_form(
    sessions: Sessions, rules: CreditRules
) -> None:
    entry_id = await _claim(sessions, rules, make_item(), make_patch())
    text = await _pdf(sessions, rules, entry_id=entry_id)
    assert "0.5 AMA PRA Category 1 Credit™" in text
    assert "(credits)" not in text
    assert "Credit™ (" not in text
    assert "Total" not in text  # one entry: no total line


async def test_a_years_certificate_ends_with_its_total(
    sessions: Sessions, rules: CreditRules
) -> None:
    await _claim(sessions, rules, make_item(item_id="g1"), make_patch())
    await _claim(sessions, rules, make_item(item_id="g2"), make_patch())
    await _claim(sessions, rules, make_case(case_minutes=45), make_patch(case_score=0.9))
    text = await _pdf(sessions, rules)
    assert "1 AMA PRA Category 1 Credit™" in text  # the point-of-care line
    assert "0.75 AMA PRA Category 1 Credit™" in text  # the case line
    assert "designates this Internet point-of-care activity" in text
    assert (
        "designates this enduring material for a maximum of 0.75 AMA PRA Category 1 Credit™."
        in text
    )
    assert "Total for 2026: 1.75 AMA PRA Category 1 Credits™" in text


async def test_participation_is_counted_in_hours_of_participation(
    sessions: Sessions, rules: CreditRules
) -> None:
    entry_id = await _claim(
        sessions, rules, make_item(), make_patch(), profession="physician-assistant"
    )
    text = await _pdf(sessions, rules, entry_id=entry_id)
    assert "0.5 hour of participation" in text
    assert "Certificate of participation (" not in text


def test_an_amount_is_named_in_the_singular_up_to_one(rules: CreditRules) -> None:
    ama, ancc = rules.credit_type("ama-pra-1"), rules.credit_type("ancc-contact-hours")
    assert ama.amount_text(0.25) == "0.25 AMA PRA Category 1 Credit™"
    assert ama.amount_text(1) == "1 AMA PRA Category 1 Credit™"
    assert ama.amount_text(20) == "20 AMA PRA Category 1 Credits™"
    assert ancc.amount_text(1.5) == "1.5 ANCC nursing contact hours"
    unnamed = ama.model_copy(update={"amount_names": None})
    assert unnamed.amount_text(2) == "2 AMA PRA Category 1 Credit™"  # the label
