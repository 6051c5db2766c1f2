"""The topic vocabulary (`topics.yaml`): what an item is about, in the words a learner picks as
a learning goal and a requirement set counts toward. Pure: the loader passes the text in.

Where the library has this vocabulary every item names 1 to 3 of its ids; a library without
`topics.yaml` accepts any tag, or none (a small test library need not carry one)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import yaml

from service.cards.checks import ParsedItem
from service.cards.frontmatter import load_yaml
from service.cards.issues import Issue

TOPICS_FILE = "topics.yaml"
_NO_TOPICS: Mapping[str, str] = MappingProxyType({})


def parse_topics(text: str, file: str) -> tuple[Mapping[str, str], list[Issue]]:
    """`{"topics": {id: label}}` as an ordered mapping, or no topics and the problem."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        return _NO_TOPICS, [Issue(file, 1, f"cannot read: {exc}")]
    topics = data.get("topics") if isinstance(data, dict) else None
    if not isinstance(topics, dict) or not topics:
        return _NO_TOPICS, [Issue(file, 1, "expected a `topics:` mapping of id to label")]
    issues = [
        Issue(file, 1, f"topic {key!r}: expected a label of 1-80 characters")
        for key, label in topics.items()
        if not isinstance(key, str) or not isinstance(label, str) or not 0 < len(label) <= 80
    ]
    if issues:
        return _NO_TOPICS, issues
    return MappingProxyType(dict(topics)), []


MAX_TOPICS = 3  # more, and a learner's goals would find the item everywhere


def check_item_topics(parsed: Iterable[ParsedItem], topics: Mapping[str, str]) -> list[Issue]:
    """Where the library has a vocabulary, every item names 1 to 3 of its topics (an untagged
    item is invisible to learning goals and requirement sets; a fourth tag is a warning)."""
    if not topics:
        return []
    issues: list[Issue] = []
    for entry in parsed:
        named = entry.item.topics
        if not named:
            issues.append(
                Issue(entry.file, 1, f"topics: missing; name 1 to {MAX_TOPICS} of {TOPICS_FILE}")
            )
        elif len(named) > MAX_TOPICS:
            issues.append(
                Issue(
                    entry.file,
                    entry.line_of(("topics",)),
                    f"topics: {len(named)} given; keep to the {MAX_TOPICS} the item is most about",
                    "warning",
                )
            )
        issues.extend(
            Issue(
                entry.file,
                entry.line_of(("topics",)),
                f"unknown topic {topic!r}: add it to {TOPICS_FILE} or use one of its ids",
            )
            for topic in named
            if topic not in topics
        )
    return issues
