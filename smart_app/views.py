"""Page view-models: what each page shows, built from the credit service and the content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import BadRequest, NotFound
from service.runtime import Runtime
from smart_app import learning
from smart_app.session import AppSession, SessionStore
from smart_app.web import check_csrf

FormData = Mapping[str, Any]
PROFESSIONS: tuple[tuple[str, str], ...] = (
    ("physician-md", "Physician (MD)"),
    ("physician-do", "Physician (DO)"),
    ("nurse-practitioner", "Nurse practitioner"),
    ("physician-assistant", "Physician assistant"),
    ("registered-nurse", "Registered nurse"),
    ("pharmacist", "Pharmacist"),
    ("other", "Other"),
)


def _text(form: FormData, name: str, limit: int) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip()[:limit] or None


async def my_learning(
    runtime: Runtime, db: AsyncSession, learner: str, query: str
) -> dict[str, Any]:
    """Pending cycles, the transcript (totals and entries), the profile, search results."""
    from service.credit import service as credit

    pending = await credit.list_cycles(db, learner, status="pending", rules=runtime.credit_rules)
    transcript = await credit.transcript(db, learner, rules=runtime.credit_rules)
    profile = await credit.get_profile(db, learner)
    return {
        "pending": pending,
        "transcript": transcript,
        "profile": profile,
        "results": learning.search_library(runtime.content, query) if query else [],
        "professions": PROFESSIONS,
        "years": sorted({t.year for t in transcript.totals}, reverse=True),
    }


async def learn(runtime: Runtime, db: AsyncSession, learner: str, cycle_id: str) -> dict[str, Any]:
    """The cycle, its content item and, for a case already answered, the feedback."""
    cycle = await learning.get_cycle(runtime.credit_rules, db, learner, cycle_id)
    item = learning.content_item(runtime.content, cycle.item_id)
    score = None
    if item is not None and item.case is not None and cycle.case_answers is not None:
        score = learning.score_answers(runtime.content, cycle.item_id, cycle.case_answers)
    rules = runtime.credit_rules
    return {
        "cycle": cycle,
        "item": item,
        # accreditation: who controls the content and their disclosures, before learning
        "planners": rules.planners,
        "accreditation": rules.statements.accreditation,
        "answers": cycle.case_answers or {},
        "score": score,
        "feedback": {f.question_id: f for f in score.feedback} if score else {},
    }


async def answer_case(
    runtime: Runtime, db: AsyncSession, session: AppSession, cycle_id: str, form: FormData
) -> None:
    """Record the case answers (one option id per question) and their server-side score."""
    from service.credit.schemas import CyclePatch

    check_csrf(session, _text(form, "csrf", 100))
    cycle = await learning.get_cycle(runtime.credit_rules, db, session.learner_key, cycle_id)
    item = learning.content_item(runtime.content, cycle.item_id)
    if item is None or item.case is None:
        raise BadRequest("This learning item has no questions.")
    answers = {
        q.id: value
        for q in item.case.questions
        if (value := _text(form, "q_" + q.id, 20)) is not None
    }
    await learning.document(
        runtime.content,
        runtime.credit_rules,
        db,
        session.learner_key,
        cycle_id,
        CyclePatch(case_answers=answers),
    )


async def save_reflection(
    runtime: Runtime, db: AsyncSession, session: AppSession, cycle_id: str, form: FormData
) -> bool:
    """Save question and application; claim when asked. True when credit was claimed."""
    from service.credit import service as credit
    from service.credit.schemas import CyclePatch

    check_csrf(session, _text(form, "csrf", 100))
    application = _text(form, "application", 40)
    try:
        patch = CyclePatch(
            question=_text(form, "question", 2000),
            application=application,
            application_text=_text(form, "application_text", 4000),
        )
    except ValidationError as exc:
        raise BadRequest("Choose one of the listed applications to practice.") from exc
    cycle = await learning.document(
        runtime.content, runtime.credit_rules, db, session.learner_key, cycle_id, patch
    )
    if form.get("action") != "claim":
        return False
    await credit.claim(
        db,
        session.learner_key,
        cycle.id,
        idempotency_key=credit.default_idempotency_key(cycle.id),
        rules=runtime.credit_rules,
        now=learning.now(),
    )
    return True


async def start_from_library(
    runtime: Runtime, db: AsyncSession, session: AppSession, item_id: str, form: FormData
) -> str:
    """A learning cycle the learner starts from the library (no card behind it)."""
    check_csrf(session, _text(form, "csrf", 100))
    cycle_id = await learning.start_from_card(
        runtime.content,
        runtime.credit_rules,
        db,
        session.learner_key,
        item_id=item_id[:200],
        card_uuid=None,
    )
    if cycle_id is None:
        raise NotFound("That learning item is no longer in the library.")
    return cycle_id


async def issue_token(runtime: Runtime, session: AppSession, form: FormData) -> str:
    """A bearer token for the learner API, bound to this session."""
    check_csrf(session, _text(form, "csrf", 100))
    return await SessionStore(runtime.state, runtime.settings).issue_bearer(session)


def _number(form: FormData, name: str) -> int | None:
    value = _text(form, name, 2)
    return int(value) if value and value.isdigit() else None


def _pairs(form: FormData, first: str, second: str, rows: int = 3) -> list[tuple[str, str]]:
    """The filled rows of a repeated two-field group (empty rows are ignored)."""
    pairs = []
    for i in range(rows):
        a, b = _text(form, f"{first}_{i}", 40), _text(form, f"{second}_{i}", 40)
        if a or b:
            pairs.append((a or "", b or ""))
    return pairs


async def save_profile(
    runtime: Runtime, db: AsyncSession, session: AppSession, form: FormData
) -> None:
    """The profile form: every field optional; an empty field clears it."""
    from service.credit import service as credit
    from service.credit.schemas import BoardId, ProfileUpdate, StateLicense

    del runtime
    check_csrf(session, _text(form, "csrf", 100))
    try:
        update = ProfileUpdate(
            name=_text(form, "name", 200),
            profession=_text(form, "profession", 40),
            specialty=_text(form, "specialty", 200),
            npi=_text(form, "npi", 10),
            state_licenses=[
                StateLicense(state=state.upper(), number=number)
                for state, number in _pairs(form, "license_state", "license_number")
            ],
            board_ids=[
                BoardId(board=board.upper(), id=board_id)
                for board, board_id in _pairs(form, "board", "board_id")
            ],
            birth_month=_number(form, "birth_month"),
            birth_day=_number(form, "birth_day"),
            consent_to_report=form.get("consent_to_report") == "yes",
        )
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        raise BadRequest(f"Please check these fields: {fields}.") from exc
    await credit.update_profile(db, session.learner_key, update, now=learning.now())
