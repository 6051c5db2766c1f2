"""The contextual recall card (issue 20): when a question of the learner's review queue is due
and the patient in front of them matches its item, the hook may add one quiet card, "Quick
recall (30 s)", linking to that question. Pure: a function of (library, facts, state, the
cards already chosen, policy, now).

It is never a safety card's rival: it comes only after `ranking.choose` and counts in the
fatigue cap. It takes a free place under the cap, or, when the cap is full, the place of the
last chosen card if that one is not a safety card (indicator `info`: a card that teaches
rather than warns; it is not recorded as shown, so it comes back on a later call). It never
displaces a warning or a critical card, never appears on a call that shows a critical card,
comes at most once a day per learner, and only for an item whose criteria and whose kinds'
safety exclusions hold for this patient: a recall of a screening case never appears on a hospice
patient's chart, whatever the learner's state of that item (it may be learned or dismissed:
the question is still due).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from service.cards.compiler import CompiledItem
from service.cards.criteria import FactView
from service.cards.facts import PatientFacts
from service.cards.library import ContentLibrary
from service.cards.matching import Match
from service.cards.measures import view_after_matching
from service.cards.model import ContentItem
from service.cards.ranking import FatiguePolicy, LearnerState, ReviewDue

RECALL_GAP = timedelta(hours=24)  # at most one recall card a day
MAX_CANDIDATES = 20  # due questions looked at per call (the longest overdue first)


@dataclass(frozen=True, slots=True)
class Recall:
    """The one recall card of a call: the item, its due question, and the chosen card whose
    place it takes when the cap was full (None: it follows the chosen cards)."""

    item: ContentItem
    review: ReviewDue
    displaces: Match | None = None

    @property
    def why(self) -> str:
        """The `why_code` of a recall card: when the question went to the queue."""
        return f"recall:{self.review.queued_at.date().isoformat()}"


def recall_allowed(
    state: LearnerState, chosen: Sequence[Match], policy: FatiguePolicy, now: datetime
) -> bool:
    """Whether this call may carry a recall card at all: a question is due, there is a place
    for it (`recall_place`), no chosen card is critical, and no recall card in the last day."""
    if not state.due_reviews or recall_place(chosen, policy) is None:
        return False
    if any(found.item.indicator == "critical" for found in chosen):
        return False
    last = state.last_recall_at
    return last is None or now - last >= RECALL_GAP


def recall_place(chosen: Sequence[Match], policy: FatiguePolicy) -> int | None:
    """Where a recall card may stand among the chosen cards: after them when the cap has room,
    else in the last one's place when that card is not a safety card; None otherwise."""
    if policy.max_cards <= 0:
        return None
    if len(chosen) < policy.max_cards:
        return len(chosen)
    if len(chosen) > policy.max_cards:
        return None  # more than the cap: not what `choose` gives
    return len(chosen) - 1 if chosen[-1].item.indicator == "info" else None


def _applies(entry: CompiledItem, view: FactView, hook: str, at: date) -> bool:
    """The item's own criteria and its kinds' exclusions (compiled into its criteria) hold
    for this patient, for this hook, and the item has not expired."""
    item = entry.item
    if entry.never or hook not in item.hooks or item.expires < at:
        return False
    return all(criterion.check(view)[0] for criterion in entry.criteria)


def offer_recall(
    library: ContentLibrary,
    facts: PatientFacts,
    state: LearnerState,
    chosen: Sequence[Match],
    policy: FatiguePolicy,
    *,
    hook: str,
    at: date,
    now: datetime,
) -> Recall | None:
    """The recall card to add to `chosen`, or None. Due questions are tried longest overdue
    first (then by item id); an item already among the chosen cards is skipped (its card
    teaches it now), and so is one the library no longer has."""
    if not recall_allowed(state, chosen, policy, now):
        return None
    place = recall_place(chosen, policy)
    displaced = chosen[place] if place is not None and place < len(chosen) else None
    showing = {found.item.id for found in chosen if found is not displaced}
    due = sorted(
        (review.due, item_id)
        for item_id, review in state.due_reviews.items()
        if review.due <= now and item_id not in showing
    )
    view: FactView | None = None
    for _, item_id in due[:MAX_CANDIDATES]:
        entry = library.compiled(item_id)
        if entry is None:
            continue
        view = view or view_after_matching(library, facts, at)
        if _applies(entry, view, hook, at):
            return Recall(entry.item, state.due_reviews[item_id], displaced)
    return None
