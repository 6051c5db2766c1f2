"""The app's use of the content library and the credit service, in one place.

The pages and the learner API call these functions; they turn content items into cycle items,
score case answers with the content (never trusting a score from the browser) and call
`service/credit/service.py` for everything durable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from service.cards.cases import CaseScore
    from service.cards.library import ContentLibrary
    from service.cards.model import ContentItem
    from service.credit.rules import CreditRules
    from service.credit.schemas import (
        CycleItem,
        CyclePatch,
        CycleView,
        LedgerEntryView,
        MonthCredits,
        TranscriptTotal,
    )
    from service.reviews.service import DueReview, ReviewFeedback

APPLICATIONS: tuple[tuple[str, str], ...] = (
    ("changed-management", "Changed my management"),
    ("confirmed-plan", "Confirmed my current plan"),
    ("discuss-with-patient", "Will discuss with the patient"),
    ("not-applicable", "Not applicable to this patient"),
    ("other", "Other"),
)


def now() -> datetime:
    return datetime.now(UTC)


def content_item(content: ContentLibrary, item_id: str) -> ContentItem | None:
    """The content item, or None when the library no longer has it."""
    getter = getattr(content, "get", None)
    if getter is None:
        return None
    try:
        item: ContentItem | None = getter(item_id)
    except KeyError:
        return None
    return item


def check_goals(content: ContentLibrary, goals: Iterable[str] | None) -> None:
    """Learning goals are topic ids of the library's vocabulary; BadRequest otherwise (the
    credit service stores them without knowing the library)."""
    if goals is not None and any(goal not in content.topics for goal in goals):
        raise BadRequest("Choose your learning goals from the library's topics.")


def search_library(content: ContentLibrary, query: str, limit: int = 10) -> list[ContentItem]:
    """Titles and summaries containing every word of the query (case-insensitive)."""
    words = [w for w in query.lower().split() if w][:8]
    if not words:
        return []
    items: list[ContentItem] = list(content)
    found = [
        i for i in items if all(w in f"{i.title} {i.summary} {i.question}".lower() for w in words)
    ]
    return found[:limit]


def citation(item: ContentItem) -> str:
    source = item.source
    grade = f" Grade: {source.grade}." if source.grade else ""
    return f"{source.organization}. {source.title}. {source.year}. {source.url}.{grade}"


def cycle_item(item: ContentItem) -> CycleItem:
    """The credit service's view of a content item."""
    from service.credit.schemas import CycleItem

    return CycleItem(
        item_id=item.id,
        item_version=item.version,
        item_type=item.type,
        title=item.title,
        credit_format=item.credit.format,
        question=item.question,
        source_citation=citation(item),
        passing_score=item.case.passing_score if item.case else None,
        case_minutes=item.case.minutes if item.case else None,
    )


async def start_from_card(
    content: ContentLibrary,
    rules: CreditRules,
    db: AsyncSession,
    learner: str,
    *,
    item_id: str,
    card_uuid: str | None,
    shown_because: str | None = None,
) -> str | None:
    """Start (or resume: one cycle per card) the learner's cycle for a content item;
    `shown_because`: why the card was shown (its appContext's why code), for the learn page."""
    from service.credit import service as credit

    item = content_item(content, item_id)
    if item is None:
        return None
    cycle = await credit.start_cycle(
        db,
        learner_key=learner,
        item=cycle_item(item),
        card_uuid=card_uuid,
        now=now(),
        rules=rules,
        shown_because=shown_because,
    )
    return str(cycle.id)


def parse_id(cycle_id: str) -> uuid.UUID:
    """A cycle or entry id from a URL; anything else is simply not found."""
    try:
        return uuid.UUID(cycle_id)
    except ValueError as exc:
        raise NotFound("not found") from exc


async def get_cycle(rules: CreditRules, db: AsyncSession, learner: str, cycle_id: str) -> CycleView:
    """The learner's own cycle; another learner's id is a 404 like an unknown one."""
    from service.credit import service as credit

    view: CycleView = await credit.get_cycle(db, learner, parse_id(cycle_id), rules=rules)
    return view


def score_answers(content: ContentLibrary, item_id: str, answers: dict[str, str]) -> CaseScore:
    """Score case answers with the content (the pure `score_case`)."""
    from service.cards.cases import score_case

    item = content_item(content, item_id)
    if item is None or item.case is None:
        raise NotFound("this learning item has no case questions")
    return score_case(item, answers)


async def document(
    content: ContentLibrary,
    rules: CreditRules,
    db: AsyncSession,
    learner: str,
    cycle_id: str,
    patch: CyclePatch,
    unsure: Iterable[str] = (),
) -> CycleView:
    """Save what the learner documented; case answers are scored here, server side. Each
    question missed, and each answered right but marked unsure (`unsure`: question ids, read
    only with case answers), joins the learner's review queue (once)."""
    from service.credit import service as credit
    from service.credit.schemas import CyclePatch
    from service.reviews import service as reviews

    cycle = await get_cycle(rules, db, learner, cycle_id)
    missed: list[str] = []
    doubted: list[str] = []
    if patch.case_answers is not None:
        result = score_answers(content, cycle.item_id, patch.case_answers)
        patch = patch.model_copy(update={"case_score": result.score, "case_passed": result.passed})
        marked = set(unsure)
        missed = [entry.question_id for entry in result.feedback if not entry.correct]
        doubted = [e.question_id for e in result.feedback if e.correct and e.question_id in marked]
    else:  # a score only ever comes from the answers, never from the caller
        patch = CyclePatch(
            **patch.model_dump(exclude_unset=True, exclude={"case_score", "case_passed"})
        )
    view: CycleView = await credit.update_cycle(
        db, learner, cycle.id, patch, rules=rules, now=now()
    )
    await reviews.enqueue_answers(
        db, learner, cycle.item_id, missed=missed, unsure=doubted, now=now()
    )
    return view


def why_this_card(content: ContentLibrary, cycle: CycleView) -> str | None:
    """The learn page's one line on why the card behind a cycle was shown (from the code the
    launch kept, `shown_because`); None for a cycle the learner started from the library,
    where no card was shown."""
    from service.cards.why import why_line

    if cycle.card_uuid is None:
        return None
    line: str = why_line(cycle.shown_because, content.topics, now().date())
    return line


@dataclass(frozen=True, slots=True)
class HomeView:
    """What the learner home shows at a glance."""

    to_finish: list[CycleView]  # not claimed yet, the nearest claim deadline first
    totals: list[TranscriptTotal]  # by year and credit type
    months: list[MonthCredits]  # the last 12 months, oldest first, empty months included
    entries: list[LedgerEntryView]  # the ledger, oldest first
    profession: str | None


async def home_view(rules: CreditRules, db: AsyncSession, learner: str, at: datetime) -> HomeView:
    """The learner home from the credit service's `learner_home`: a cycle still claimable
    stays to finish (a refused claim must not hide it), the nearest deadline first."""
    from service.credit import service as credit

    home = await credit.learner_home(db, learner, rules, at)
    to_finish: list[CycleView] = sorted(
        [*home.pending, *home.ready_to_claim], key=lambda cycle: cycle.claim_deadline
    )
    return HomeView(
        to_finish=to_finish,
        totals=home.totals,
        months=home.months,
        entries=home.entries,
        profession=home.profession,
    )


async def claim_of(
    rules: CreditRules, db: AsyncSession, learner: str, cycle: CycleView
) -> LedgerEntryView | None:
    """The ledger entry that claimed this cycle's credit (None before it is claimed)."""
    from service.credit import service as credit

    if cycle.status != "claimed":
        return None
    entries: list[LedgerEntryView] = await credit.list_entries(db, learner, rules)
    return next((e for e in entries if e.kind == "claim" and e.cycle_id == cycle.id), None)


async def due_reviews(content: ContentLibrary, db: AsyncSession, learner: str) -> list[DueReview]:
    """The learner's missed or unsure questions due now (the review queue's)."""
    from service.reviews import service as reviews

    found: list[DueReview] = await reviews.due_reviews(content, db, learner, now())
    return found


async def due_count(content: ContentLibrary, db: AsyncSession, learner: str) -> str:
    """The home's "N to review" number: exact up to 50, then "50+"."""
    from service.reviews import service as reviews

    count = await reviews.count_due(content, db, learner, now())
    label: str = reviews.count_label(count)
    return label


async def get_review(
    content: ContentLibrary, db: AsyncSession, learner: str, review_id: str
) -> DueReview:
    """One of the learner's review questions; another learner's id is a 404."""
    from service.reviews import service as reviews

    found: DueReview = await reviews.get_review(content, db, learner, review_id)
    return found


async def answer_review(
    content: ContentLibrary, db: AsyncSession, learner: str, review_id: str, choice: str
) -> ReviewFeedback:
    """Grade a review answer with the content and schedule the question again."""
    from service.reviews import service as reviews

    feedback: ReviewFeedback = await reviews.answer_review(
        content, db, learner, review_id, choice, now()
    )
    return feedback
