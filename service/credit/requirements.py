"""Requirements per license and board: how far the learner's Bedside credit goes toward what a
licensing board, the DEA or a certifying board asks per cycle (data, not code).

- `RequirementSet` and `load_requirements(path=None)`: the bundled `requirements.yaml`
  (each set cited and dated), validated; a bad file raises `RulesError`.
- `ProgressFigure`, `TopicProgress`, `RequirementProgress`, `LearnerRequirements`: the views.
- `Holding`: a license, board id or registration the learner holds, with its renewal date.
- `requirement_progress(sets, holdings, profession, entries, item_topics, today)`: pure, no
  clock: per set that applies, `earned`, `required`, `remaining` and `due`, for the total,
  the Category 1 minimum and each topic mandate, and for a topic still missing the items
  tagged with it. The cycle is the `cycle_months` ending at the renewal date (rolled forward
  a cycle at a time while it is past); a one-time set counts all time. Only standing claims
  count (a reversed claim and its reversal net out), by `earned_on`.
- `learner_requirements(session, learner_key, rules, *, item_topics, sets=None, now=None)`:
  the same for a learner, from their profile and ledger (the one function that reads).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from service.credit import records
from service.credit.profiles import get_profile
from service.credit.rules import PROFESSIONS, CreditRules, RulesError
from service.credit.schemas import LedgerEntryView
from service.credit.transcript import net
from service.db.base import utcnow

DEFAULT_REQUIREMENTS_FILE = Path(__file__).with_name("requirements.yaml")
ITEMS_PER_TOPIC = 5  # items suggested for a missing topic


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProgressFigure(BaseModel):
    """Credit earned against what is required; `remaining` is max(0, required - earned)."""

    earned: float
    required: float
    remaining: float


class TopicProgress(ProgressFigure):
    """A topic mandate's hours, and while some remain the items tagged with the topic."""

    topic: str
    title: str
    items: list[str] = Field(default_factory=list)


class RequirementProgress(ProgressFigure):
    """Progress on one requirement set (service/credit/requirements.yaml) in its current
    cycle: the total, the Category 1 minimum and each topic mandate. `due`: the cycle's end
    (none for a one-time set, or when no renewal date was given: `needs_renewal_date`)."""

    id: str
    title: str
    authority: str
    citation: str
    verified: date
    note: str | None = None
    applies_to: str
    one_time: bool
    cycle_start: date | None = None
    due: date | None = None
    needs_renewal_date: bool = False
    category_1: ProgressFigure | None = None
    topics: list[TopicProgress] = Field(default_factory=list)
    met: bool


class LearnerRequirements(BaseModel):
    """Every requirement set that applies to the learner's licenses, boards and profession;
    `as_of` is the day the cycles were computed for."""

    learner_key: str
    as_of: date
    requirements: list[RequirementProgress]


class TopicMandate(_Strict):
    """Hours a set asks on one topic; content items tagged `topic` count toward it."""

    topic: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)
    title: str = Field(min_length=1, max_length=200)
    hours: float = Field(gt=0)


class RequirementSet(_Strict):
    """One authority's requirement, cited and dated (requirements.yaml documents the keys)."""

    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    authority: str = Field(min_length=1)
    citation: str = Field(pattern=r"^https://")
    verified: date
    applies_to: str = Field(pattern=r"^(state:[A-Z]{2}|board:[A-Z0-9-]{2,20}|dea)$")
    professions: tuple[str, ...] = ()
    cycle_months: int | None = Field(default=None, ge=1, le=120)
    credits: float | None = Field(default=None, gt=0)
    category_1_minimum: float | None = Field(default=None, gt=0)
    credit_types: tuple[str, ...] = Field(min_length=1)
    category_1_types: tuple[str, ...] = ()
    topics: tuple[TopicMandate, ...] = ()
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> RequirementSet:
        unknown = [p for p in self.professions if p not in PROFESSIONS]
        if unknown:
            raise ValueError(f"unknown professions {unknown}")
        if self.credits is None and not self.topics:
            raise ValueError("a set needs credits or topics")
        if self.category_1_minimum is not None and not self.category_1_types:
            raise ValueError("a Category 1 minimum needs category_1_types")
        return self


class RequirementSets(_Strict):
    sets: tuple[RequirementSet, ...]


def load_requirements(path: Path | None = None) -> tuple[RequirementSet, ...]:
    """Load and validate a requirements file; `None` loads the bundled one."""
    source = path or DEFAULT_REQUIREMENTS_FILE
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
        return RequirementSets.model_validate(raw).sets
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise RulesError(f"{source}: invalid requirements: {exc}") from exc


@cache
def bundled_requirements() -> tuple[RequirementSet, ...]:
    """The bundled sets, read once."""
    return load_requirements()


@dataclass(frozen=True, slots=True)
class Holding:
    """What the learner holds that a set may apply to: `state:TX`, `board:ABIM` or `dea`,
    with its renewal (or MOC due) date when given."""

    applies_to: str
    renews_on: date | None = None


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):  # the 31st of a shorter month: its last day
        try:
            return date(year, month + 1, last)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def cycle_window(months: int | None, renews_on: date | None, today: date) -> tuple[date, date]:
    """The (start, end] dates of the cycle: the `months` ending at `renews_on`, rolled forward
    a cycle at a time while it ended before `today`; one-time: all time to today; no date
    known: the `months` ending today."""
    if months is None:
        return date.min, today
    end = renews_on or today
    while end < today:
        end = _add_months(end, months)
    return _add_months(end, -months), end


def standing(entries: Iterable[LedgerEntryView]) -> list[LedgerEntryView]:
    """The claims no reversal among `entries` took back."""
    listed = list(entries)
    reversed_ids = {e.reverses_id for e in listed if e.reverses_id is not None}
    return [e for e in listed if e.kind == "claim" and e.id not in reversed_ids]


def figure(earned: float, required: float) -> ProgressFigure:
    """Earned against required: `remaining` is never below zero."""
    return ProgressFigure(
        earned=net(earned), required=net(required), remaining=net(max(0.0, required - earned))
    )


def _topic(
    mandate: TopicMandate,
    counted: Sequence[LedgerEntryView],
    item_topics: Mapping[str, Sequence[str]],
) -> TopicProgress:
    earned = sum(e.amount for e in counted if mandate.topic in item_topics.get(e.item_id, ()))
    progress = figure(earned, mandate.hours)
    items = (
        sorted(i for i, topics in item_topics.items() if mandate.topic in topics)
        if progress.remaining > 0
        else []
    )
    return TopicProgress(
        topic=mandate.topic,
        title=mandate.title,
        **progress.model_dump(),
        items=items[:ITEMS_PER_TOPIC],
    )


def _totals(
    requirement: RequirementSet, counted: Sequence[LedgerEntryView], topics: list[TopicProgress]
) -> tuple[ProgressFigure, ProgressFigure | None]:
    """The set's total (credits, else its topics, each up to its own hours) and Category 1."""
    if requirement.credits is not None:
        total = figure(sum(e.amount for e in counted), requirement.credits)
    else:
        total = figure(
            sum(min(t.earned, t.required) for t in topics), sum(t.hours for t in requirement.topics)
        )
    if requirement.category_1_minimum is None:
        return total, None
    cat1 = sum(e.amount for e in counted if e.credit_type in requirement.category_1_types)
    return total, figure(cat1, requirement.category_1_minimum)


def _progress(
    requirement: RequirementSet,
    holding: Holding,
    claims: Sequence[LedgerEntryView],
    item_topics: Mapping[str, Sequence[str]],
    today: date,
) -> RequirementProgress:
    start, end = cycle_window(requirement.cycle_months, holding.renews_on, today)
    counted = [
        e
        for e in claims
        if e.credit_type in requirement.credit_types and start < e.earned_on <= end
    ]
    topics = [_topic(m, counted, item_topics) for m in requirement.topics]
    total, category_1 = _totals(requirement, counted, topics)
    one_time = requirement.cycle_months is None
    return RequirementProgress(
        id=requirement.id,
        title=requirement.title,
        authority=requirement.authority,
        citation=requirement.citation,
        verified=requirement.verified,
        note=requirement.note,
        applies_to=requirement.applies_to,
        one_time=one_time,
        cycle_start=None if one_time else start,
        due=None if one_time or holding.renews_on is None else end,
        needs_renewal_date=not one_time and holding.renews_on is None,
        **total.model_dump(),
        category_1=category_1,
        topics=topics,
        met=total.remaining == 0
        and (category_1 is None or category_1.remaining == 0)
        and all(t.remaining == 0 for t in topics),
    )


def requirement_progress(
    sets: Sequence[RequirementSet],
    holdings: Sequence[Holding],
    profession: str | None,
    entries: Sequence[LedgerEntryView],
    item_topics: Mapping[str, Sequence[str]],
    today: date,
) -> list[RequirementProgress]:
    """Progress on each set that applies to what the learner holds (and their profession,
    where the set names professions), in the order of `sets`."""
    claims = standing(entries)
    held = {h.applies_to: h for h in holdings}
    found = []
    for requirement in sets:
        holding = held.get(requirement.applies_to)
        if holding is None:
            continue
        if requirement.professions and profession not in requirement.professions:
            continue
        found.append(_progress(requirement, holding, claims, item_topics, today))
    return found


def holdings_of(
    states: Iterable[tuple[str, date | None]],
    boards: Iterable[tuple[str, date | None]],
    profession: str | None,
    sets: Sequence[RequirementSet],
) -> list[Holding]:
    """What a profile holds: each state license and board id with its date, and a DEA
    registration assumed for the professions a DEA set names (Bedside cannot know it)."""
    found = [Holding(f"state:{s.upper()}", d) for s, d in states]
    found += [Holding(f"board:{b.upper()}", d) for b, d in boards]
    dea = [s for s in sets if s.applies_to == "dea"]
    if any(not s.professions or profession in s.professions for s in dea):
        found.append(Holding("dea"))
    return found


async def learner_requirements(
    session: AsyncSession,
    learner_key: str,
    rules: CreditRules,
    *,
    item_topics: Mapping[str, Sequence[str]],
    sets: Sequence[RequirementSet] | None = None,
    now: datetime | None = None,
) -> LearnerRequirements:
    """The learner's progress on every set that applies (the bundled sets by default), from
    their profile and ledger; `item_topics`: the topic tags of the library's items by id."""
    today = (now or utcnow()).date()
    chosen = bundled_requirements() if sets is None else sets
    profile = await get_profile(session, learner_key)
    holdings = holdings_of(
        [(lic.state, lic.renews_on) for lic in profile.state_licenses],
        [(board.board, board.renews_on) for board in profile.board_ids],
        profile.profession,
        chosen,
    )
    entries = await records.list_entries(session, learner_key, rules)
    progress = requirement_progress(
        chosen, holdings, profile.profession, entries, item_topics, today
    )
    return LearnerRequirements(learner_key=learner_key, as_of=today, requirements=progress)
