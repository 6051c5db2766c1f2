"""The source registry (`sources.yaml`): each guideline family a library cites, with its
latest known edition and how often it is updated, and the currency checks of
`bedside content check --today`. Pure: the loader passes the text in.

The registry is the one place to record "a new edition is out": every item whose source (or
perspective) cites an older edition is then reported, and so is an item never read against
the edition it cites. Where a library has a registry, every source names its family, its
edition and the date it was verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

import yaml
from pydantic import Field, HttpUrl, ValidationError

from service.cards.checks import ParsedItem
from service.cards.frontmatter import LineMap, compose_yaml, load_yaml
from service.cards.issues import Issue, Severity
from service.cards.model import ContentItem, Source
from service.cards.schema import Frozen, Name

SOURCES_FILE = "sources.yaml"
# A yearly source (the ADA Standards, the GOLD report) is due a new edition a year after the
# last one; the grace covers the weeks a publisher may run late. Once it is overdue, an
# editor looks again at least every `_GRACE` days (and records the day in `checked`).
_YEARLY = timedelta(days=365)
_GRACE = timedelta(days=60)
STALE = "stale"  # the tag of every currency issue


class SourceFamily(Frozen):
    """A guideline family (the ADA Standards, one USPSTF topic, one ACC/AHA topic, the GOLD
    report...) and the latest edition the library's editors know of."""

    title: Annotated[str, Field(min_length=1, max_length=300)]
    organization: Name
    edition: Annotated[str, Field(min_length=1, max_length=80)]
    published: date
    cadence: Literal["yearly", "irregular"]
    url: HttpUrl
    # when an editor last looked for a newer edition
    checked: date
    note: Annotated[str, Field(min_length=1, max_length=1000)] | None = None


class Registry(Frozen):
    """Every family of a library, by key (`ada-standards`, `uspstf-colorectal-cancer`...)."""

    families: dict[Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")], SourceFamily]


@dataclass(frozen=True, slots=True)
class RegistrySource:
    """The registry and where it came from, to place issues at `file:line`."""

    registry: Registry
    file: str
    lines: LineMap


def parse_registry(text: str, file: str) -> tuple[RegistrySource | None, list[Issue]]:
    """Parse `sources.yaml` (`families: {key: {title, organization, edition, published,
    cadence, url, checked}}`). A key given twice is an error: YAML would keep the last."""
    lines = LineMap(text, 1)
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        return None, [Issue(file, 1, f"invalid YAML: {exc}")]
    if not isinstance(data, dict) or not isinstance(data.get("families") or {}, dict):
        return None, [Issue(file, 1, "expected a top-level `families:` mapping")]
    issues = [
        Issue(file, line, f"family {key!r} is given twice") for key, line in _repeated_keys(text)
    ]
    try:
        registry = Registry.model_validate({"families": data["families"] or {}})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"])
            issues.append(Issue(file, lines.line_of(error["loc"]), f"{field}: {error['msg']}"))
        return None, issues
    for key, family in registry.families.items():
        if family.checked < family.published:
            issues.append(
                Issue(
                    file,
                    lines.line_of(("families", key, "checked")),
                    f"family {key!r}: checked ({family.checked}) is before the edition was "
                    f"published ({family.published})",
                )
            )
    return RegistrySource(registry, file, lines), issues


def _repeated_keys(text: str) -> Iterator[tuple[str, int]]:
    root = compose_yaml(text)
    if not isinstance(root, yaml.MappingNode):
        return
    for key, value in root.value:
        if key.value == "families" and isinstance(value, yaml.MappingNode):
            seen: set[str] = set()
            for family, _ in value.value:
                if family.value in seen:
                    yield str(family.value), family.start_mark.line + 1
                seen.add(str(family.value))


def cited_sources(item: ContentItem) -> Iterator[tuple[tuple[str | int, ...], Source]]:
    """Every source an item cites, with its place: the item's own, then each perspective's."""
    yield ("source",), item.source
    for position, perspective in enumerate(item.perspectives):
        yield ("perspectives", position, "source"), perspective.source


def cited_families(items: Iterable[ContentItem]) -> dict[str, tuple[str, ...]]:
    """Family key -> the ids of the items citing it (in their source or a perspective)."""
    citing: dict[str, list[str]] = {}
    for item in items:
        families = (source.family for _, source in cited_sources(item))
        for key in dict.fromkeys(family for family in families if family):
            citing.setdefault(key, []).append(item.id)
    return {key: tuple(ids) for key, ids in citing.items()}


def check_currency(
    parsed: Sequence[ParsedItem], where: RegistrySource, today: date | None
) -> list[Issue]:
    """Every source without a known family, edition or verification date (errors), and, as
    of `today`, every citation of an edition older than the registry's latest, verified before
    that edition came out, or of a yearly family whose latest known edition is over a year
    old (warnings: stale content still shows, `content check --strict` fails on it)."""
    issues: list[Issue] = []
    for entry in parsed:
        for loc, source in cited_sources(entry.item):
            issues.extend(_check_source(entry, loc, source, where, today))
    return issues


def _check_source(
    entry: ParsedItem,
    loc: tuple[str | int, ...],
    source: Source,
    where: RegistrySource,
    today: date | None,
) -> Iterator[Issue]:
    field = ".".join(str(part) for part in loc)

    def issue(part: str, message: str, severity: Severity) -> Issue:
        return Issue(entry.file, entry.line_of((*loc, part)), message, severity, STALE)

    if source.family is None or source.edition is None or source.verified is None:
        missing = [name for name in ("family", "edition", "verified") if not getattr(source, name)]
        yield issue(
            missing[0],
            f"{field}: {', '.join(missing)} required (the library has a source registry: "
            "name the guideline family, the edition cited and when it was read against it)",
            "error",
        )
        return
    family = where.registry.families.get(source.family)
    if family is None:
        yield issue(
            "family", f"{field}.family: {source.family!r} is not in {SOURCES_FILE}", "error"
        )
        return
    if today is not None and source.verified > today:
        yield issue("verified", f"{field}.verified: {source.verified} is in the future", "error")
    if source.edition != family.edition:
        yield issue(
            "edition",
            f"{field}: cites {source.family} edition {source.edition!r}; the latest is "
            f"{family.edition!r} ({family.published}): read the item against it and update",
            "warning",
        )
    elif source.verified < family.published:
        yield issue(
            "verified",
            f"{field}: verified on {source.verified}, before edition {family.edition!r} of "
            f"{source.family} was published ({family.published})",
            "warning",
        )
    if today is not None and _overdue(family, today):
        yield issue(
            "family",
            f"{field}: {source.family} is updated yearly; its latest known edition "
            f"({family.edition!r}) came out on {family.published} and the registry was last "
            f"checked on {family.checked}: look for the new edition and record it, or the day "
            f"you looked, in {SOURCES_FILE}",
            "warning",
        )


def _overdue(family: SourceFamily, today: date) -> bool:
    """A yearly family past its next edition's due date (plus grace) that nobody has looked
    at in the last `_GRACE` days."""
    return (
        family.cadence == "yearly"
        and today > family.published + _YEARLY + _GRACE
        and today - family.checked > _GRACE
    )
