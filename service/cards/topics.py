"""The topic vocabulary (`topics.yaml`): what an item is about, in the words a learner picks as
a learning goal and a requirement set counts toward. Pure: the loader passes the text in.

An item's `topics` must be ids of this vocabulary when the library has one; a library without
`topics.yaml` accepts any tag (a small test library need not carry one)."""

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


def check_item_topics(parsed: Iterable[ParsedItem], topics: Mapping[str, str]) -> list[Issue]:
    """Every topic an item names is in the vocabulary (when there is one)."""
    if not topics:
        return []
    return [
        Issue(
            entry.file,
            entry.line_of(("topics",)),
            f"unknown topic {topic!r}: add it to {TOPICS_FILE} or use one of its ids",
        )
        for entry in parsed
        for topic in entry.item.topics
        if topic not in topics
    ]
