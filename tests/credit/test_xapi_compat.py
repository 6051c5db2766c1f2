"""xAPI compatibility: what a claim stores in the outbox and the statements the LRS receives
are what earlier versions stored and sent, key order included, and a row an earlier version
wrote pushes unchanged. The expected values are literals on purpose: a change of format must
show up here, since rows of a deployed database are pushed long after they were written.

The format only ever gains keys: since issue 18 a completion and a claim also store the
cycle's `documentation`, sent as a `result` extension; rows without it send what they did."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.credit import outbox
from service.credit import service as credit
from service.credit.models import XapiOutboxItem
from service.credit.rules import CreditRules
from service.db.engine import transaction
from tests.credit.factories import NOW, make_case, make_patch, make_profile

Sessions = async_sessionmaker[AsyncSession]
LEARNER = "lrn_" + "f" * 40
PUBLIC = "https://bedside.test"
LRS = "https://lrs.example/xapi"
VERB_ORDER = {"launched": 0, "answered": 1, "completed": 2, "earned": 3}
VERBS = {
    "launched": "http://adlnet.gov/expapi/verbs/launched",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "earned": "http://id.tincanapi.com/verb/earned",
}
# an `earned` event exactly as versions before the package restructure stored it
LEGACY_EARNED: dict[str, Any] = {
    "verb": "earned",
    "item_id": "guideline/afib anticoag",
    "title": "Anticoagulation in atrial fibrillation",
    "item_type": "guideline",
    "cycle_id": "0b6f7f0e-3f7c-4d67-9c59-2f8c3a1f0a11",
    "result": {
        "completion": True,
        "success": True,
        "extensions": {
            "https://w3id.org/bedside/xapi/credit": {
                "creditType": "ama-pra-1",
                "amount": 0.5,
                "activity": "POC-2026",
            }
        },
    },
    "id": "6a1d3e0c-5b7e-5f39-a7a2-0c3f8d9e4b21",
    "learner": LEARNER,
    "timestamp": "2026-06-15T14:00:00+00:00",
}
DOCUMENTATION = "https://w3id.org/bedside/xapi/documentation"
# what the case of `_claim_a_case` documents (the factories' question and source)
DOCUMENTED = {
    "question": "Should this patient with AF start anticoagulation?",
    "source": "2023 ACC/AHA/ACCP/HRS Atrial Fibrillation Guideline",
    "application": "changed-management",
}


def _text(value: object) -> str:
    """JSON text with the keys in their order: equal texts are equal bytes on the wire."""
    return json.dumps(value)


def _statement(event: dict[str, Any], activity_type: str) -> dict[str, Any]:
    """The statement earlier versions sent for an event, spelt out."""
    item = str(event["item_id"]).replace("/", "%2F").replace(" ", "%20")
    statement: dict[str, Any] = {
        "id": event["id"],
        "version": "1.0.3",
        "actor": {"objectType": "Agent", "account": {"homePage": PUBLIC, "name": LEARNER}},
        "verb": {"id": VERBS[event["verb"]], "display": {"en-US": event["verb"]}},
        "object": {
            "objectType": "Activity",
            "id": f"{PUBLIC}/activities/{item}",
            "definition": {
                "name": {"en-US": event["title"]},
                "type": f"http://adlnet.gov/expapi/activities/{activity_type}",
            },
        },
        "context": {"platform": "Bedside", "language": "en-US"},
        "timestamp": event["timestamp"],
    }
    if "documentation" in event:
        result = {**event.get("result", {})}
        result["extensions"] = {
            **result.get("extensions", {}),
            DOCUMENTATION: event["documentation"],
        }
        statement["result"] = result
    elif "result" in event:
        statement["result"] = event["result"]
    return statement


async def _claim_a_case(sessions: Sessions, rules: CreditRules) -> credit.ClaimResult:
    async with transaction(sessions) as session:
        await credit.update_profile(session, LEARNER, make_profile(), now=NOW)
        cycle = await credit.start_cycle(
            session, learner_key=LEARNER, item=make_case(case_minutes=45), card_uuid="c", now=NOW
        )
        await credit.update_cycle(session, LEARNER, cycle.id, make_patch(case_score=0.8), now=NOW)
        return await credit.claim(
            session, LEARNER, cycle.id, idempotency_key="k", rules=rules, now=NOW
        )


async def _stored(sessions: Sessions) -> list[dict[str, Any]]:
    async with sessions() as session:
        query = select(XapiOutboxItem).where(XapiOutboxItem.learner == LEARNER)
        events = [row.event for row in (await session.scalars(query)).all()]
    return sorted(events, key=lambda event: VERB_ORDER[str(event["verb"])])


def _expected_events(result: credit.ClaimResult, answered_id: object) -> list[dict[str, Any]]:
    cycle_id, entry = str(result.entry.cycle_id), result.entry
    item = {
        "item_id": "case-chest-pain",
        "title": "Chest pain in the clinic",
        "item_type": "case",
        "cycle_id": cycle_id,
    }
    stamp = {"learner": LEARNER, "timestamp": "2026-06-15T14:00:00+00:00"}

    def sid(verb: str, subject: str) -> str:
        return str(outbox.statement_id(LEARNER, verb, subject))

    credit_ = {"creditType": entry.credit_type, "amount": 0.75, "activity": entry.activity_id}
    return [
        {"verb": "launched", **item, "id": sid("launched", cycle_id), **stamp},
        {"verb": "answered", **item, "id": answered_id, **stamp},
        {
            "verb": "completed",
            **item,
            "result": {"completion": True, "success": True, "score": {"scaled": 0.8}},
            "documentation": DOCUMENTED,
            "id": sid("completed", cycle_id),
            **stamp,
        },
        {
            "verb": "earned",
            **item,
            "result": {
                "completion": True,
                "success": True,
                "extensions": {"https://w3id.org/bedside/xapi/credit": credit_},
            },
            "documentation": DOCUMENTED,
            "id": sid("earned", str(entry.id)),
            **stamp,
        },
    ]


async def _push(sessions: Sessions) -> list[Any]:
    """What the LRS receives from one push of every due row."""
    seen: list[Any] = []

    def lrs(request: httpx.Request) -> httpx.Response:
        seen.extend(json.loads(request.content))
        return httpx.Response(200, json=[])

    async with httpx.AsyncClient(transport=httpx.MockTransport(lrs)) as http:
        async with transaction(sessions) as session:
            await outbox.push_due(
                session, http=http, lrs_url=LRS, auth=None, public_url=PUBLIC + "/", now=NOW
            )
    return seen


async def test_a_claimed_case_stores_the_events_earlier_versions_stored(
    sessions: Sessions, rules: CreditRules
) -> None:
    result = await _claim_a_case(sessions, rules)
    stored = await _stored(sessions)
    uuid.UUID(str(stored[1]["id"]))  # an answer's statement id is random
    assert _text(stored) == _text(_expected_events(result, stored[1]["id"]))


async def test_the_lrs_and_the_export_get_the_statements_earlier_versions_sent(
    sessions: Sessions, rules: CreditRules
) -> None:
    await _claim_a_case(sessions, rules)
    expected = [_statement(event, "assessment") for event in await _stored(sessions)]
    assert _text(await _push(sessions)) == _text(expected)
    async with transaction(sessions) as session:
        exported = await credit.xapi_statements(session, LEARNER, public_url=PUBLIC)
    assert _text(exported) == _text(expected)


async def test_a_row_an_earlier_version_wrote_pushes_unchanged(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        session.add(
            XapiOutboxItem(
                id=uuid.uuid4(),
                statement_id=uuid.UUID(LEGACY_EARNED["id"]),
                learner=LEARNER,
                event=LEGACY_EARNED,
                attempts=0,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
    assert _text(await _push(sessions)) == _text([_statement(LEGACY_EARNED, "lesson")])
