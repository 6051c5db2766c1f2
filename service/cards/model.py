"""The content model: one `ContentItem` per Markdown file (docs/content-format.md).

Frozen pydantic models that refuse unknown fields: a typo in the front matter is a schema
error reported by `content check`, never a criterion silently ignored. The `applies` block is
the criterion kinds' (`applies.py`): each parses its own key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field, HttpUrl, field_validator

from service.cards.applies import AppliesBlock
from service.cards.criteria import Applies
from service.cards.hook_names import HOOKS as HOOKS  # re-exported
from service.cards.hook_names import Hook as Hook  # re-exported
from service.cards.schema import Frozen, Name


class Source(Frozen):
    organization: Name
    title: Annotated[str, Field(min_length=1, max_length=300)]
    year: Annotated[int, Field(ge=1900, le=2100)]
    url: HttpUrl
    grade: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    license: Literal["public-domain", "CC0-1.0", "CC-BY-4.0", "summarized"] | None = None
    # The guideline family in the library's source registry (`sources.yaml`) and the edition
    # cited, as the registry names it: `content check --today` warns when a newer one is out.
    family: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)] | None = (
        None
    )
    edition: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    # When a reviewer last read the item's statements against this source's own text; `note`
    # says what could not be read (a paywalled table, a page the reviewer could not reach).
    verified: date | None = None
    note: Annotated[str, Field(min_length=1, max_length=1000)] | None = None

    @field_validator("url")
    @classmethod
    def _https(cls, value: HttpUrl) -> HttpUrl:
        if value.scheme != "https":
            raise ValueError("the source url must use https")
        return value


class Author(Frozen):
    name: Name
    role: Literal["author", "reviewer", "editor"]
    disclosure: Annotated[str, Field(min_length=1, max_length=500)]


class Audience(Frozen):
    professions: tuple[Name, ...] = ()
    specialties: tuple[Name, ...] = ()


class Perspective(Frozen):
    """One authority's position where authorities differ (CDC vs AAP, ACC/AHA vs ESC): shown
    side by side on the learn page, each with its own source."""

    label: Annotated[str, Field(min_length=1, max_length=60)]
    position: Annotated[str, Field(min_length=1, max_length=600)]
    source: Source


class Credit(Frozen):
    format: Literal["poc", "enduring"]


class Option(Frozen):
    id: Annotated[str, Field(min_length=1, max_length=20)]
    text: Annotated[str, Field(min_length=1)]
    correct: bool = False
    explanation: Annotated[str, Field(min_length=1)]


class Question(Frozen):
    id: Annotated[str, Field(min_length=1, max_length=20)]
    stem: Annotated[str, Field(min_length=1)]
    options: Annotated[tuple[Option, ...], Field(min_length=2, max_length=5)]


class Case(Frozen):
    vignette: Annotated[str, Field(min_length=1)]
    # The time a learner needs, as the planners estimated it: enduring-material credit is in
    # proportion to it (`credit_types[].per_hour` in the credit rules).
    minutes: Annotated[int, Field(ge=1, le=120)] | None = None
    questions: Annotated[tuple[Question, ...], Field(min_length=1, max_length=6)]
    passing_score: Annotated[float, Field(gt=0, le=1)]
    guidelines: tuple[Name, ...] = ()


class Link(Frozen):
    label: Annotated[str, Field(min_length=1, max_length=200)]
    url: HttpUrl


MeasureHook = Literal["patient-view", "order-select", "order-sign"]
"""The calls a practice measure may observe: those where a clinician's action can show."""


class Measure(Frozen):
    """A practice measure (docs/content-format.md, "Practice measures"): on every call of
    `hooks`, whether the patient is an `opportunity` for the item's advice (with the item's
    kinds' exclusions), and whether the recommended action is seen in the same call
    (`concordant`), or the action the advice warns against (`discordant`, an inverse
    measure). Exactly one of the two; `content check` says so. Its id is the item's."""

    title: Annotated[str, Field(min_length=1, max_length=100)]
    hooks: Annotated[tuple[MeasureHook, ...], Field(min_length=1)]
    opportunity: AppliesBlock
    concordant: AppliesBlock | None = None
    discordant: AppliesBlock | None = None
    # The eCQM (or other published measure) it is modelled on, by id and title.
    model: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @property
    def inverse(self) -> bool:
        """True when the measure names the wrong action (`discordant`)."""
        return self.discordant is not None and self.concordant is None

    @property
    def action(self) -> Applies | None:
        """The criteria of the action it looks for (`concordant`, else `discordant`)."""
        return self.concordant if self.concordant is not None else self.discordant


class ContentItem(Frozen):
    """One content item: front matter fields plus the Markdown body (`detail_markdown`)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=120)]
    version: Annotated[str, Field(min_length=1, max_length=40)]
    type: Literal["guideline", "case"]
    title: Annotated[str, Field(min_length=1, max_length=90)]
    summary: Annotated[str, Field(min_length=1, max_length=139)]
    # What the clinician can do after this item (accreditation asks for them): one sentence
    # each, starting with a verb.
    objectives: tuple[Annotated[str, Field(min_length=1, max_length=300)], ...] = ()
    indicator: Literal["info", "warning", "critical"] = "info"
    source: Source
    # Where authorities differ: each one's position and source, side by side.
    perspectives: tuple[Perspective, ...] = ()
    authors: Annotated[tuple[Author, ...], Field(min_length=1)]
    reviewed: date
    expires: date
    audience: Audience = Audience()
    # What kind of advice this is (`policy.yaml`): the library's safety policy excludes
    # patients by kind (every screening item: not in hospice...). Required where the library
    # has a policy; `content check` says so.
    kinds: tuple[Name, ...] = ()
    # Topic tags a board's or the DEA's topic mandate counts (`opioid-prescribing`,
    # `substance-use-disorder`: service/credit/requirements.yaml names the tags it counts).
    topics: tuple[Name, ...] = ()
    hooks: Annotated[tuple[Hook, ...], Field(min_length=1)]
    applies: AppliesBlock
    # What the service counts, per learner, when this advice applies (issue 19).
    measure: Measure | None = None
    question: Annotated[str, Field(min_length=1, max_length=500)]
    credit: Credit
    case: Case | None = None
    links: tuple[Link, ...] = ()
    detail_markdown: str = ""

    @property
    def credit_format(self) -> str:
        """`poc` or `enduring` (from `credit.format`)."""
        return self.credit.format


class FactDefinition(Frozen):
    """A named clinical fact (`facts.yaml`): holds when any alternative's criteria all hold.
    Alternatives are `applies` blocks, so a fact is written like an item's criteria."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    note: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    any: Annotated[tuple[AppliesBlock, ...], Field(min_length=1)]


class Kind(Frozen):
    """A kind of advice (`policy.yaml`) and the facts that exclude a patient from every item
    of that kind."""

    title: Annotated[str, Field(min_length=1, max_length=200)]
    note: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    excluded_by: tuple[Name, ...] = ()


class Policy(Frozen):
    """A library's named facts and its safety policy (kinds and their exclusions)."""

    facts: dict[Name, FactDefinition] = Field(default_factory=dict)
    kinds: dict[Name, Kind] = Field(default_factory=dict)

    @property
    def present(self) -> bool:
        """True when the library declares kinds (then every item must name its kinds)."""
        return bool(self.kinds)


@dataclass
class PartsTable:
    """The distinct parts seen so far while loading one library (see `share_equal_parts`)."""

    models: dict[BaseModel, BaseModel] = field(default_factory=dict)
    field_sets: dict[frozenset[str], set[str]] = field(default_factory=dict)


def _share_fields(model: BaseModel, table: PartsTable) -> None:
    # pydantic keeps a set of the fields given, per instance (~470 bytes each); frozen models
    # never change it and copies copy it, so equal sets can be one object.
    given = model.__pydantic_fields_set__
    object.__setattr__(
        model, "__pydantic_fields_set__", table.field_sets.setdefault(frozenset(given), given)
    )
    fields = model.__dict__
    for name, value in fields.items():
        if isinstance(value, BaseModel):
            fields[name] = _shared(value, table)
        elif isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
            fields[name] = tuple(_shared(part, table) for part in value)


def _shared(model: BaseModel, table: PartsTable) -> BaseModel:
    if (known := table.models.get(model)) is not None:
        return known  # its own parts were shared when it was added
    _share_fields(model, table)
    table.models[model] = model
    return model


def share_equal_parts(item: ContentItem, table: PartsTable) -> ContentItem:
    """The item with its parts (sources, authors, audiences, criteria, code sets...) swapped
    for equal ones already in `table` (and new ones added): a library holds each distinct part
    once instead of once per item (real libraries repeat sources, authors and credit blocks;
    10,000 synthetic items hold ~50 MB less). Call it on each item as it is validated, so the
    duplicates are freed before the next item is built. Only for items this process just
    validated: the swap is in place, of equal frozen instances, which nothing but an identity
    check can tell apart."""
    _share_fields(item, table)
    return item
