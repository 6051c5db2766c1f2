"""Page view-models: what each page shows, built from the credit service and the content, and
the page forms turned into the credit service's inputs (with messages in plain words)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import BadRequest, NotFound
from service.runtime import Runtime
from smart_app import learning, profile_form
from smart_app.session import AppSession, SessionStore
from smart_app.web import FormReader, check_csrf

if TYPE_CHECKING:
    from service.cards.model import ContentItem
    from service.credit.errors import ClaimRefused
    from service.credit.requirements import LearnerRequirements
    from service.credit.schemas import CycleView, MonthCredits
    from service.reviews.service import DueReview

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
# how to fix a refused claim: a link for each fixable reason
CLAIM_FIXES = {
    "profile-incomplete": ("/app/profile?cycle={id}", "Add your profession, then come back here"),
    "case-not-passed": ("/app/cycles/{id}#case-h", "Go back to the case and answer again"),
    "cycle-incomplete": ("#question", "Complete the form below"),
}


@dataclass(frozen=True, slots=True)
class ChartBar:
    """One month's bar of the home chart, in the SVG's own units."""

    x: float
    y: float
    width: float
    height: float
    label: str
    amount: float


def credit_chart(months: list[MonthCredits]) -> list[ChartBar]:
    """Bars for a 300 x 130 SVG: the tallest month reaches the top, the axis is at y=105."""
    top = max((m.amount for m in months), default=0.0) or 1.0
    slot = 300 / max(len(months), 1)
    bars = []
    for index, month in enumerate(months):
        height = round(max(month.amount, 0.0) / top * 85, 1)
        bars.append(
            ChartBar(
                x=round(index * slot + 3, 1),
                y=round(105 - height, 1),
                width=round(slot - 6, 1),
                height=height,
                label=month.month.strftime("%b"),
                amount=month.amount,
            )
        )
    return bars


def item_topics(runtime: Runtime) -> dict[str, tuple[str, ...]]:
    """The topic tags of the library's items that carry any, by item id."""
    items: list[ContentItem] = list(runtime.content)
    return {item.id: item.topics for item in items if item.topics}


async def requirements(runtime: Runtime, db: AsyncSession, learner: str) -> LearnerRequirements:
    """The learner's progress on each requirement set that applies, with the library's topics
    (the learner API's and the home's)."""
    from service.credit import service as credit

    found: LearnerRequirements = await credit.learner_requirements(
        db, learner, runtime.credit_rules, item_topics=item_topics(runtime), now=learning.now()
    )
    return found


async def home(runtime: Runtime, db: AsyncSession, learner: str, query: str) -> dict[str, Any]:
    """To finish, credits at a glance (totals, chart), certificates, exports, the search."""
    from smart_app import practice  # practice -> api -> views: imported when used

    view = await learning.home_view(runtime.credit_rules, db, learner, learning.now())
    needs = await requirements(runtime, db, learner)
    return {
        "requirements": needs.requirements,
        "item_titles": {
            i: item.title
            for r in needs.requirements
            for t in r.topics
            for i in t.items
            if (item := learning.content_item(runtime.content, i)) is not None
        },
        "home": view,
        "chart": credit_chart(view.months),
        "year_total": round(sum(m.amount for m in view.months), 2),
        "results": learning.search_library(runtime.content, query) if query else [],
        "professions": PROFESSIONS,
        "years": sorted({t.year for t in view.totals}, reverse=True),
        "reviews": await learning.due_reviews(runtime.content, db, learner),
        # "N to review": exact up to 50, then "50+" (the list above stops at 50)
        "review_count": await learning.due_count(runtime.content, db, learner),
        # what the learner did when a practice measure applied, before and after learning
        "practice_panel": await practice.home_practice(runtime, db, learner),
    }


async def learn(runtime: Runtime, db: AsyncSession, learner: str, cycle_id: str) -> dict[str, Any]:
    """The cycle, its content item and, for a case already answered, the feedback."""
    from service.credit import service as credit

    cycle = await learning.get_cycle(runtime.credit_rules, db, learner, cycle_id)
    item = learning.content_item(runtime.content, cycle.item_id)
    score = None
    if item is not None and item.case is not None and cycle.case_answers is not None:
        score = learning.score_answers(runtime.content, cycle.item_id, cycle.case_answers)
    rules = runtime.credit_rules
    return {
        "cycle": cycle,
        "item": item,
        "why": learning.why_this_card(runtime.content, cycle),  # None: not from a card
        # accreditation: who controls the content and their disclosures, before learning
        "planners": rules.planners,
        "accreditation": rules.statements.accreditation,
        "answers": cycle.case_answers or {},
        "score": score,
        "feedback": {f.question_id: f for f in score.feedback} if score else {},
        "profession": (await credit.get_profile(db, learner)).profession,
        "professions": PROFESSIONS,
    }


async def reflect(
    runtime: Runtime, db: AsyncSession, learner: str, cycle_id: str
) -> dict[str, Any]:
    """The reflect page: the form with the cycle's values, or a claimed cycle's credit."""
    from service.credit import service as credit

    rules = runtime.credit_rules
    cycle = await learning.get_cycle(rules, db, learner, cycle_id)
    return {
        "cycle": cycle,
        "claim": await learning.claim_of(rules, db, learner, cycle),
        "applications": learning.APPLICATIONS,
        "professions": PROFESSIONS,
        "profession": (await credit.get_profile(db, learner)).profession,
        "values": {
            "question": cycle.question or "",
            "application": cycle.application or "",
            "application_text": cycle.application_text or "",
        },
        "errors": {},
        "refusals": [],
    }


def claim_refusals(exc: ClaimRefused, cycle: CycleView) -> list[tuple[str, str | None, str]]:
    """Each reason a claim was refused, with a link to fix it where there is one."""
    found = []
    for code, reason in zip(exc.codes, exc.reasons, strict=False):
        href, text = CLAIM_FIXES.get(code, (None, ""))
        found.append((reason, href.format(id=cycle.id) if href else None, text))
    return found


async def answer_case(
    runtime: Runtime, db: AsyncSession, session: AppSession, cycle_id: str, form: FormData
) -> None:
    """Record the case answers (one option id per question) and their server-side score; a
    question ticked "I'm not sure" (`unsure_{id}`) comes back for review even when right."""
    from service.credit.schemas import CyclePatch

    check_csrf(session, FormReader(form).csrf())
    cycle = await learning.get_cycle(runtime.credit_rules, db, session.learner_key, cycle_id)
    if cycle.status == "claimed":
        return  # the record is final; the learn page shows the claimed state
    item = learning.content_item(runtime.content, cycle.item_id)
    if item is None or item.case is None:
        raise BadRequest("This learning item has no questions.")
    reader = FormReader(form)
    answers = {q.id: value for q in item.case.questions if (value := reader.text("q_" + q.id, 20))}
    unsure = [q.id for q in item.case.questions if reader.text("unsure_" + q.id, 3) == "yes"]
    await learning.document(
        runtime.content,
        runtime.credit_rules,
        db,
        session.learner_key,
        cycle_id,
        CyclePatch(case_answers=answers),
        unsure=unsure,
    )


def _reflection(reader: FormReader) -> tuple[Any, str | None]:
    """The reflection's patch and the profession given with it; FormInvalid to fix first."""
    from service.credit.schemas import CyclePatch

    question = reader.text("question", 2000)
    if question is None and "question" not in reader.errors:
        reader.fail("question", "Write your clinical question: credit needs it.")
    application = reader.text("application", 40)
    if application and application not in dict(learning.APPLICATIONS):
        reader.fail("application", "Choose one of the listed ways this applies to your practice.")
    text = reader.text("application_text", 4000)
    profession = reader.text("profession", 40)
    if profession and profession not in dict(PROFESSIONS):
        reader.fail("profession", profile_form.MESSAGES["profession"])
    reader.check()
    # an emptied text clears it (None would keep the old one)
    cleared = "" if reader.present("application_text") else None
    patch = CyclePatch(question=question, application=application, application_text=text or cleared)
    return patch, profession


async def save_reflection(
    runtime: Runtime, db: AsyncSession, session: AppSession, cycle_id: str, form: FormData
) -> str:
    """Save question, application (and a profession given here); claim when asked.
    Returns "claimed", "saved", or "final" for a cycle claimed before (nothing changes)."""
    from service.credit import service as credit
    from service.credit.schemas import ProfileUpdate

    reader = FormReader(form)
    check_csrf(session, reader.csrf())
    cycle = await learning.get_cycle(runtime.credit_rules, db, session.learner_key, cycle_id)
    if cycle.status == "claimed":
        return "final"
    patch, profession = _reflection(reader)
    learner, now = session.learner_key, learning.now()
    if profession:
        update = ProfileUpdate.model_validate({"profession": profession})
        await credit.update_profile(db, learner, update, now=now)
    cycle = await learning.document(
        runtime.content, runtime.credit_rules, db, learner, cycle_id, patch
    )
    if form.get("action") != "claim":
        return "saved"
    await credit.claim(
        db,
        learner,
        cycle.id,
        idempotency_key=credit.default_idempotency_key(cycle.id),
        rules=runtime.credit_rules,
        now=now,
    )
    return "claimed"


async def start_from_library(
    runtime: Runtime, db: AsyncSession, session: AppSession, item_id: str, form: FormData
) -> str:
    """A learning cycle the learner starts from the library (no card behind it)."""
    check_csrf(session, FormReader(form).csrf())
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


async def review_page(
    runtime: Runtime, db: AsyncSession, learner: str, review_id: str
) -> dict[str, Any]:
    """One missed or unsure question to answer again: why it is there, the question and its
    options."""
    review = await learning.get_review(runtime.content, db, learner, review_id)
    return {
        "review": review,
        "why": _why_queued(review),
        "feedback": None,
        "next_review": None,
        "error": None,
    }


def _why_queued(review: DueReview) -> str:
    from service.reviews.service import why_queued

    return why_queued(review.reason, review.queued_at, learning.now().date())


async def answer_review(
    runtime: Runtime, db: AsyncSession, session: AppSession, review_id: str, form: FormData
) -> dict[str, Any]:
    """Grade the review answer; the page then shows the feedback, when the question comes
    back and the next question due. No choice (or a forged one) asks the question again."""
    reader = FormReader(form)
    check_csrf(session, reader.csrf())
    learner = session.learner_key
    review = await learning.get_review(runtime.content, db, learner, review_id)
    choice = reader.text("choice", 20)
    if choice is None or choice not in {option.id for option in review.options}:
        raise BadRequest("Choose one of the answers.")
    feedback = await learning.answer_review(runtime.content, db, learner, review_id, choice)
    due = await learning.due_reviews(runtime.content, db, learner)
    following = next((r for r in due if r.id != review.id), None)
    return {
        "review": review,
        "why": _why_queued(review),
        "feedback": feedback,
        "next_review": following,
        "error": None,
    }


async def issue_token(runtime: Runtime, session: AppSession, form: FormData) -> str:
    """A bearer token for the learner API, bound to this session."""
    check_csrf(session, FormReader(form).csrf())
    return await SessionStore(runtime.state, runtime.settings).issue_bearer(session)


async def profile_page(
    runtime: Runtime, db: AsyncSession, learner: str, cycle_id: str
) -> dict[str, Any]:
    """The profile form with the saved values, and the cycle to go back to (if any)."""
    from service.credit import service as credit
    from service.credit.schemas import MAX_LEARNING_GOALS

    profile = await credit.get_profile(db, learner)
    topics = runtime.content.topics
    return {
        "values": profile_form.values_of(profile),
        "topics": list(topics.items()),  # the learning goals to choose from
        "goals": profile_form.goal_labels(profile, topics),
        "max_goals": MAX_LEARNING_GOALS,
        "errors": {},
        "summary": [],
        "name_notice": profile.name_notice,
        "old_name": profile.name if not (profile.given_name or profile.family_name) else None,
        "professions": PROFESSIONS,
        "back": await back_to(runtime, db, learner, cycle_id),
        "rows": profile_form.rows(profile),
    }


async def back_to(
    runtime: Runtime, db: AsyncSession, learner: str, cycle_id: str
) -> CycleView | None:
    """The learner's own cycle the profile was opened from; anything else is ignored."""
    if not cycle_id:
        return None
    try:
        return await learning.get_cycle(runtime.credit_rules, db, learner, cycle_id)
    except NotFound:
        return None


async def save_profile(
    db: AsyncSession, session: AppSession, form: FormData, *, topics: Mapping[str, str]
) -> None:
    """The profile form: an empty field clears it; FormInvalid with a message per field.
    `topics`: the library's vocabulary, the learning goals to choose from."""
    from service.credit import service as credit

    reader = FormReader(form)
    check_csrf(session, reader.csrf())
    update = profile_form.profile_update(reader, topics)
    await credit.update_profile(db, session.learner_key, update, now=learning.now())


async def save_profession(db: AsyncSession, session: AppSession, form: FormData) -> None:
    """The one-step profession question of a first sign-in."""
    from service.credit import service as credit
    from service.credit.schemas import ProfileUpdate

    reader = FormReader(form)
    check_csrf(session, reader.csrf())
    profession = reader.text("profession", 40)
    if profession not in dict(PROFESSIONS):
        reader.fail("profession", profile_form.MESSAGES["profession"])
    reader.check()
    update = ProfileUpdate.model_validate({"profession": profession})
    await credit.update_profile(db, session.learner_key, update, now=learning.now())
