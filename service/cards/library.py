"""The content library: validated items, their terminology and the compiled index.

`load_library` is what the service calls at start-up; `ContentLibrary.build` is the pure
constructor used by it and by tests.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path
from types import MappingProxyType

from service.cards.compiler import (
    CompiledItem,
    CompiledMeasure,
    compile_item,
    compile_measure,
    observation_codes,
)
from service.cards.index import HookIndex, build_index
from service.cards.issues import ContentError, Issue
from service.cards.model import HOOKS, ContentItem, Policy
from service.cards.policy import compile_policy
from service.cards.precedence import ordinals
from service.cards.terminology import Terminology

__all__ = ["BUNDLED_DIR", "ContentError", "ContentLibrary", "load_library"]

BUNDLED_DIR = Path(__file__).parent / "bundled"


class ContentLibrary:
    """An immutable, compiled content library: `items` (library order), `terminology`,
    `warnings`, `get(id)`, the per-hook index used by `matching.match`, and the practice
    measures by hook used by `measures.observe_practice`."""

    __slots__ = (
        "_by_id",
        "_compiled",
        "_index",
        "_measures",
        "_measures_by_hook",
        "evaluation_order",
        "items",
        "observation_codes",
        "policy",
        "precedence",
        "terminology",
        "topics",
        "warnings",
    )

    def __init__(
        self,
        items: Iterable[ContentItem],
        terminology: Terminology | None = None,
        warnings: Iterable[Issue] = (),
        policy: Policy | None = None,
        topics: Mapping[str, str] | None = None,
    ) -> None:
        self.items: tuple[ContentItem, ...] = tuple(items)
        # the topic vocabulary: id -> label, in the library's order (learning goals, requirements)
        self.topics: Mapping[str, str] = MappingProxyType(dict(topics or {}))
        self.terminology = terminology or Terminology()
        self.warnings: tuple[Issue, ...] = tuple(warnings)
        # Compiling allocates many small long-lived tuples: collector passes over them are
        # pure waste (they roughly double the build time of a 10,000-item library).
        collecting = gc.isenabled()
        gc.disable()
        try:
            # named facts compiled once, shared by every item that names them or is excluded
            # by them
            self.policy = compile_policy(policy or Policy(), self.terminology)
            self._compiled: tuple[CompiledItem, ...] = tuple(
                compile_item(position, item, self.terminology, self.policy)
                for position, item in enumerate(self.items)
            )
            self._by_id: Mapping[str, CompiledItem] = MappingProxyType(
                {entry.item.id: entry for entry in self._compiled}
            )
            self._index: Mapping[str, HookIndex] = build_index(self._compiled)
            # each position's place in the learner-independent ranking order, and its rank
            # when equal places are ordered by id (the order matching evaluates candidates in)
            self.precedence, self.evaluation_order = ordinals(self._compiled)
            # practice measures, compiled once and chosen per hook here: they run on every call
            self._measures: tuple[CompiledMeasure, ...] = tuple(
                found
                for item in self.items
                if (found := compile_measure(item, self.terminology, self.policy)) is not None
            )
            self._measures_by_hook: Mapping[str, tuple[CompiledMeasure, ...]] = MappingProxyType(
                {
                    hook: tuple(m for m in self._measures if hook in m.hooks and not m.never)
                    for hook in HOOKS
                }
            )
            # the LOINC codes any item or measure can look up: the hook reads only these
            self.observation_codes: frozenset[str] = frozenset(
                {code for entry in self._compiled for code in observation_codes(entry)}
                | {code for measure in self._measures for code in measure.observation_codes()}
            )
        finally:
            if collecting:
                gc.enable()

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[ContentItem]:
        return iter(self.items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._by_id

    def get(self, item_id: str) -> ContentItem | None:
        """The item with this id, or None."""
        entry = self._by_id.get(item_id)
        return entry.item if entry else None

    def compiled(self, item_id: str) -> CompiledItem | None:
        """The compiled form of an item (criteria and trigger keys)."""
        return self._by_id.get(item_id)

    @property
    def compiled_items(self) -> tuple[CompiledItem, ...]:
        """Every compiled item, in library order."""
        return self._compiled

    def hook_index(self, hook: str) -> HookIndex | None:
        """The index of one hook (None when no item serves it)."""
        return self._index.get(hook)

    @property
    def measures(self) -> tuple[ContentItem, ...]:
        """The items that carry a practice measure, in library order (measure id = item id)."""
        return tuple(measure.item for measure in self._measures)

    def measures_for(self, hook: str) -> tuple[CompiledMeasure, ...]:
        """The compiled measures a call of `hook` observes, in library order."""
        return self._measures_by_hook.get(hook, ())


def load_library(
    content_dir: Path | None = None, *, today: date | None = None, cache_dir: Path | None = None
) -> ContentLibrary:
    """Read, validate and compile a content library (None = the bundled one). Raises
    `ContentError` listing `file:line: message` for every error; warnings (items expiring
    within 60 days of `today`) are kept on `library.warnings`. `cache_dir` keeps the
    checked library between starts (see `loader.read_library`)."""
    from service.cards.loader import read_library

    loaded = read_library(content_dir or BUNDLED_DIR, today=today, cache_dir=cache_dir)
    loaded.raise_for_errors()
    return ContentLibrary(
        loaded.items, loaded.terminology, loaded.warnings, loaded.policy, loaded.topics
    )
