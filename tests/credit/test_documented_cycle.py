"""Issue 18, item 13: the documented cycle (clinical question, source consulted, application to
practice) goes with the learner's CSV export and xAPI statements."""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import service as credit
from service.credit.exports import xapi
from service.credit.rules import CreditRules
from service.db.engine import transaction
from tests.credit.factories import NOW, make_item, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "6" * 40
PUBLIC = "https://bedside.test"
QUESTION = "Does a CHA2DS2-VASc of 2 call for anticoagulation?"
SOURCE = "2023 ACC/AHA/ACCP/HRS Atrial Fibrillation Guideline"


async def _claimed(sessions: Sessions, rules: CreditRules) -> credit.ClaimResult:
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=NOW)
        cycle = await credit.start_cycle(
            session,
            learner_key=LEARNER,
            item=make_item(question=QUESTION, source_citation=SOURCE),
            card_uuid=str(uuid.uuid4()),
            now=NOW,
        )
        patch = make_patch(application="other", application_text="=Started apixaban")
        await credit.update_cycle(session, LEARNER, cycle.id, patch, now=NOW)
        return await credit.claim(
            session, LEARNER, cycle.id, idempotency_key="k", rules=rules, now=NOW
        )


async def test_the_csv_carries_the_documented_cycle_of_each_claim(
    sessions: Sessions, rules: CreditRules
) -> None:
    result = await _claimed(sessions, rules)
    async with transaction(sessions) as session:
        await credit.reverse_entry(
            session, result.entry.id, reason="duplicate", actor="admin", rules=rules, now=NOW
        )
        text = await credit.export_csv(session, LEARNER, rules)
    claim, reversal = csv.DictReader(io.StringIO(text))
    assert claim["clinical_question"] == QUESTION
    assert claim["source_consulted"] == SOURCE
    assert claim["application"] == "other"
    assert claim["application_text"] == "'=Started apixaban"  # no formula injection
    assert claim["credit_format"] == "poc"
    documented = ("clinical_question", "source_consulted", "application", "application_text")
    assert [reversal[c] for c in documented] == ["", "", "", ""]


async def test_the_completed_and_earned_statements_carry_the_documented_cycle(
    sessions: Sessions, rules: CreditRules
) -> None:
    await _claimed(sessions, rules)
    async with transaction(sessions) as session:
        statements = await credit.xapi_statements(session, LEARNER, public_url=PUBLIC)
    by_verb = {s["verb"]["display"]["en-US"]: s for s in statements}
    expected = {
        "question": QUESTION,
        "source": SOURCE,
        "application": "other",
        "applicationText": "=Started apixaban",
    }
    for verb in ("completed", "earned"):
        assert by_verb[verb]["result"]["extensions"][xapi.DOCUMENTATION_EXTENSION] == expected
    assert by_verb["completed"]["result"]["completion"] is True
    assert len(by_verb["earned"]["result"]["extensions"]) == 2  # the credit too
    assert "result" not in by_verb["launched"]
