"""Ranking and the fatigue policy: pure functions over the learner state the service passes
in. Nothing here remembers anything between calls.

Safety first: the item's precedence (`precedence.item_key`: code-triggered, indicator,
criteria, guideline before case, grade) decides, and nothing about the learner ever lifts an
item over one of a better place. Within one place the learner decides, in this order
(`_learner_key`): an item on a topic the learner chose as a goal, or missed in a case (the
item or its topic), first; an item the learner has not been shown (a year back) before one
shown already; an item not mastered before a mastered one (the item, or all its topics,
answered well twice); in the learner's specialty first; then the id, so that the same
patient, learner state and library always give the same cards.

What a reopened chart showed last time comes in as `on_chart`: the repeat window does not
hide those items there (it hides them on every other chart), they are not "shown before"
there either (or the chart would show the next ones), while a dismissal, a snooze, a
completed cycle or the learner's profession still hides them.

`why_code` says in a short code which of these placed a card (it travels in the card's
signed appContext and is kept on the cycle); `why.why_line` turns it into the learn page's
one line of plain words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType

from service.cards.facts import PatientFacts
from service.cards.library import ContentLibrary
from service.cards.matching import Match, match_by_precedence
from service.cards.model import ContentItem
from service.cards.precedence import grade_rank, item_key

__all__ = [
    "FatiguePolicy",
    "LearnerState",
    "ReviewDue",
    "choose",
    "grade_rank",
    "rank_key",
    "select",
    "why_code",
    "why_codes",
]

_EMPTY: Mapping[str, datetime] = MappingProxyType({})
WHY_MAX = 80  # `learning_cycle.shown_because` is a String(80)


@dataclass(frozen=True, slots=True)
class ReviewDue:
    """A case question of the learner's review queue that is due: what a recall card links to.
    Content ids and times only."""

    review_id: str
    question_id: str
    reason: str  # "missed" | "unsure"
    queued_at: datetime
    due: datetime


@dataclass(frozen=True, slots=True)
class LearnerState:
    """What the service knows about the learner (from its own storage)."""

    recently_shown: Mapping[str, datetime] = field(default_factory=lambda: _EMPTY)
    dismissed: frozenset[str] = frozenset()
    snoozed_until: Mapping[str, datetime] = field(default_factory=lambda: _EMPTY)
    learned: frozenset[str] = frozenset()
    specialty: str | None = None
    profession: str | None = None
    # topic ids the learner asked to focus on (profile)
    goals: frozenset[str] = frozenset()
    # item id -> when a question of it last went to the review queue (missed or unsure)
    missed: Mapping[str, datetime] = field(default_factory=lambda: _EMPTY)
    # items of `missed` whose open questions were all marked unsure (none answered wrongly)
    unsure: frozenset[str] = frozenset()
    # item ids whose queued questions are all mastered (answered well twice in a row)
    mastered: frozenset[str] = frozenset()
    # item id -> its longest-overdue question due when the state was read
    due_reviews: Mapping[str, ReviewDue] = field(default_factory=lambda: MappingProxyType({}))
    last_recall_at: datetime | None = None  # the last recall card issued to the learner


@dataclass(frozen=True, slots=True)
class FatiguePolicy:
    """At most `max_cards` per response; the same item not again within the window."""

    max_cards: int = 2
    repeat_window_days: int = 30


@dataclass(frozen=True, slots=True)
class _Filter:
    """What hides a match in one call: the learner's state, the repeat window as of `now`, and
    the items this chart showed when last opened (exempt from the window only)."""

    state: LearnerState
    window: timedelta
    now: datetime
    on_chart: frozenset[str]


def _blocked(match: Match, hide: _Filter) -> bool:
    item_id = match.item.id
    state = hide.state
    if item_id in state.dismissed or item_id in state.learned:
        return True
    snoozed = state.snoozed_until.get(item_id)
    if snoozed is not None and snoozed > hide.now:
        return True
    shown = state.recently_shown.get(item_id)
    if shown is not None and hide.now - shown < hide.window and item_id not in hide.on_chart:
        return True
    professions = match.item.audience.professions
    return bool(state.profession and professions and state.profession not in professions)


@dataclass(slots=True)  # not frozen: built on every call, never changed (frozen init is slow)
class _Focus:
    """The learner's signals for one call, resolved to topics once: open misses (not
    mastered) by item and by topic, mastered topics (a mastered item's, unless an open miss
    shares it), and the best learner key an item could still get (`choose`'s early stop)."""

    state: LearnerState
    on_chart: frozenset[str]
    open_missed: Mapping[str, datetime]
    missed_topics: Mapping[str, tuple[datetime, str]]  # topic -> (latest miss, its item)
    mastered_topics: frozenset[str]
    best: tuple[int, int, int, int]
    plain: bool = False  # no goals, misses or mastery: only history and specialty count


_NO_TOPICS: Mapping[str, tuple[datetime, str]] = MappingProxyType({})


def _topics_of(library: ContentLibrary | None, item_id: str) -> tuple[str, ...]:
    item = library.get(item_id) if library is not None else None
    return item.topics if item is not None else ()


def _focus(
    state: LearnerState,
    library: ContentLibrary | None,
    now: datetime | None,
    on_chart: frozenset[str],
) -> _Focus:
    """`library` resolves the topics of missed and mastered items (None: only the items
    themselves count); a miss after `now` (None: none is) does not count yet."""
    specialty = 0 if state.specialty else 1
    if not (state.goals or state.missed or state.mastered):  # most learners: nothing to do
        best = (1, 0, 0, specialty)
        return _Focus(state, on_chart, _EMPTY, _NO_TOPICS, frozenset(), best, plain=True)
    open_missed = {
        item_id: at
        for item_id, at in state.missed.items()
        if item_id not in state.mastered and (now is None or at <= now)
    }
    missed_topics: dict[str, tuple[datetime, str]] = {}
    for item_id, at in sorted(open_missed.items()):
        for topic in _topics_of(library, item_id):
            if topic not in missed_topics or at > missed_topics[topic][0]:
                missed_topics[topic] = (at, item_id)
    mastered_topics = frozenset(
        topic
        for item_id in state.mastered
        for topic in _topics_of(library, item_id)
        if topic not in missed_topics
    )
    rise = 0 if (state.goals or open_missed) else 1
    return _Focus(
        state, on_chart, open_missed, missed_topics, mastered_topics, (rise, 0, 0, specialty)
    )


def _rises(item: ContentItem, focus: _Focus) -> bool:
    goals = focus.state.goals
    return item.id in focus.open_missed or any(
        topic in goals or topic in focus.missed_topics for topic in item.topics
    )


def _seen(item: ContentItem, focus: _Focus) -> bool:
    return item.id in focus.state.recently_shown and item.id not in focus.on_chart


def _mastered(item: ContentItem, focus: _Focus) -> bool:
    if item.id in focus.state.mastered:
        return True
    topics = item.topics
    return bool(topics) and all(topic in focus.mastered_topics for topic in topics)


def _in_specialty(item: ContentItem, state: LearnerState) -> bool:
    return bool(state.specialty and state.specialty in item.audience.specialties)


def _learner_key(item: ContentItem, focus: _Focus) -> tuple[int, int, int, int]:
    """Within one precedence place: goal or missed topic, not shown before, not mastered, in
    the learner's specialty (0 is better)."""
    if focus.plain:  # the hook's usual learner: two lookups, not four
        return (1, 1 if _seen(item, focus) else 0, 0, 0 if _in_specialty(item, focus.state) else 1)
    return (
        0 if _rises(item, focus) else 1,
        1 if _seen(item, focus) else 0,
        1 if _mastered(item, focus) else 0,
        0 if _in_specialty(item, focus.state) else 1,
    )


RankKey = tuple[int, int, int, int, int, int, int, int, int, str]


def _rank_key(match: Match, focus: _Focus) -> RankKey:
    item = match.item
    return (
        *item_key(item, code_triggered=match.code_triggered, criteria_count=match.criteria_count),
        *_learner_key(item, focus),
        item.id,
    )


def rank_key(
    match: Match,
    state: LearnerState,
    *,
    now: datetime | None = None,
    on_chart: frozenset[str] = frozenset(),
    library: ContentLibrary | None = None,
) -> RankKey:
    """Sort key: the item's precedence (`precedence.item_key`), then the learner's key
    (goal or missed topic, not shown before, not mastered, specialty), then the id. Without
    `now` every miss in the state counts."""
    return _rank_key(match, _focus(state, library, now, on_chart))


def select(
    matches: Iterable[Match],
    state: LearnerState,
    policy: FatiguePolicy,
    *,
    now: datetime,
    on_chart: frozenset[str] = frozenset(),
    library: ContentLibrary | None = None,
) -> list[Match]:
    """The matches to show, best first: drop dismissed, snoozed, learned, recently shown (unless
    `on_chart`: shown on this chart when it was last opened) and other-profession items, rank
    the rest and keep `policy.max_cards`. `library` resolves the topics of the learner's
    missed and mastered items (`choose` passes its own). Datetimes in the state and `now`
    must be comparable (all timezone-aware, or all naive)."""
    hide = _Filter(state, timedelta(days=policy.repeat_window_days), now, on_chart)
    focus = _focus(state, library, now, on_chart)
    seen: set[str] = set()
    kept: list[Match] = []
    for candidate in matches:
        if candidate.item.id not in seen and not _blocked(candidate, hide):
            seen.add(candidate.item.id)
            kept.append(candidate)
    kept.sort(key=lambda candidate: _rank_key(candidate, focus))
    return kept[: max(policy.max_cards, 0)]


def choose(
    library: ContentLibrary,
    facts: PatientFacts,
    state: LearnerState,
    policy: FatiguePolicy,
    *,
    hook: str,
    at: date,
    now: datetime,
    on_chart: frozenset[str] = frozenset(),
) -> list[Match]:
    """`select(match(library, facts, hook=hook, at=at), state, policy, now=now,
    on_chart=on_chart, library=library)`, without evaluating every candidate: candidates come
    best-first by precedence, equal places by id. Once `policy.max_cards` are kept, nothing
    later outranks them unless it is of the same place with a better learner key (a goal
    topic, not shown before...) than a kept one: the search ends once that cannot happen, or
    at the first candidate of a lower place. A large library with many candidates for a
    patient then costs about as much as a small one."""
    limit = max(policy.max_cards, 0)
    if limit == 0:
        return []
    hide = _Filter(state, timedelta(days=policy.repeat_window_days), now, on_chart)
    focus = _focus(state, library, now, on_chart)
    seen: set[str] = set()
    kept: list[tuple[int, Match]] = []
    cutoff: int | None = None
    settled = 0  # kept matches no later candidate can displace (`_beyond_reach`)
    for place, candidate in match_by_precedence(library, facts, hook=hook, at=at):
        if cutoff is not None and place > cutoff:
            break
        if candidate.item.id in seen or _blocked(candidate, hide):
            continue
        seen.add(candidate.item.id)
        kept.append((place, candidate))
        if cutoff is not None:
            settled += _beyond_reach(place, candidate, cutoff, focus)
        elif len(kept) == limit:
            cutoff = place
            settled = sum(_beyond_reach(p, c, cutoff, focus) for p, c in kept)
        if settled >= limit:
            break
    chosen = sorted((candidate for _, candidate in kept), key=lambda c: _rank_key(c, focus))
    return chosen[:limit]


def _beyond_reach(place: int, kept: Match, cutoff: int, focus: _Focus) -> int:
    """1 when no later candidate can displace this kept match (a later one of the cutoff
    place has a larger id), else 0: it comes from a better place than the cutoff, or it
    already has the best learner key any item could get for this learner (a later one with
    the same key loses on its id). The search ends once `limit` kept matches are."""
    return 1 if place < cutoff or _learner_key(kept.item, focus) == focus.best else 0


# --- why this card ------------------------------------------------------------------------


def _dated(kind: str, at: datetime) -> str:
    return f"{kind}:{at.date().isoformat()}"


def _miss_code(item_id: str, at: datetime, state: LearnerState) -> str:
    return _dated("unsure" if item_id in state.unsure else "missed", at)


def _why(item: ContentItem, focus: _Focus) -> str | None:
    """The first signal of the learner key that holds, as a code."""
    state = focus.state
    if not focus.plain:
        missed_at = focus.open_missed.get(item.id)
        if missed_at is not None:
            return _miss_code(item.id, missed_at, state)
        goal = next((topic for topic in item.topics if topic in state.goals), None)
        if goal is not None:
            return f"goal:{goal}"
        misses = [focus.missed_topics[t] for t in item.topics if t in focus.missed_topics]
        if misses:
            at, missed_item = max(misses)
            return _miss_code(missed_item, at, state)
    if not _seen(item, focus):
        return "new"
    return "specialty" if _in_specialty(item, state) else None


def why_codes(
    matches: Sequence[Match],
    state: LearnerState,
    now: datetime,
    *,
    library: ContentLibrary | None = None,
    on_chart: frozenset[str] = frozenset(),
) -> list[str | None]:
    """`why_code` of each match (the learner's signals resolved once)."""
    focus = _focus(state, library, now, on_chart)
    codes = [_why(chosen.item, focus) for chosen in matches]
    return [code if code is None or len(code) <= WHY_MAX else None for code in codes]


def why_code(
    match: Match,
    state: LearnerState,
    now: datetime,
    *,
    library: ContentLibrary | None = None,
    on_chart: frozenset[str] = frozenset(),
) -> str | None:
    """Why the ranking placed this card for this learner, as a short code: `missed:<date>` or
    `unsure:<date>` (a question of this item, or of one on the same topic, went to the review
    queue then), `goal:<topic id>`, `new` (not shown to the learner before), `specialty`;
    None when only the patient's record placed it. `library` resolves the topics of missed
    items, `on_chart` as for `select`."""
    return why_codes([match], state, now, library=library, on_chart=on_chart)[0]
