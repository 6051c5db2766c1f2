"""The functional core: content library, compiled index, patient facts, matching, ranking,
fatigue policy, card rendering and practice measures. No I/O outside `loader.py` (and the
`cli.py` adapter).

The names below are imported on first use (PEP 562): `bedside serve` and the other commands
register their arguments through `service.cards.cli` without loading the content model and
the matcher (~0.15 s) in a process that never matches anything.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.cards.cases import CaseScore, QuestionFeedback, score_case
    from service.cards.facts import PatientFacts, facts_from_resources
    from service.cards.issues import ContentError, Issue
    from service.cards.library import ContentLibrary, load_library
    from service.cards.matching import Explanation, Match, explain, match, match_exhaustive
    from service.cards.measures import PracticeObservation, observe_practice
    from service.cards.model import ContentItem
    from service.cards.ranking import FatiguePolicy, LearnerState, choose, select
    from service.cards.render import render_card
    from service.cards.resources import resources_from_bundle, resources_from_prefetch

_EXPORTS = {
    "CaseScore": "cases",
    "QuestionFeedback": "cases",
    "score_case": "cases",
    "PatientFacts": "facts",
    "facts_from_resources": "facts",
    "resources_from_bundle": "resources",
    "resources_from_prefetch": "resources",
    "ContentError": "issues",
    "Issue": "issues",
    "ContentLibrary": "library",
    "load_library": "library",
    "Explanation": "matching",
    "Match": "matching",
    "explain": "matching",
    "match": "matching",
    "match_exhaustive": "matching",
    "PracticeObservation": "measures",
    "observe_practice": "measures",
    "ContentItem": "model",
    "FatiguePolicy": "ranking",
    "LearnerState": "ranking",
    "choose": "ranking",
    "select": "ranking",
    "render_card": "render",
}

__all__ = [
    "CaseScore",
    "ContentError",
    "ContentItem",
    "ContentLibrary",
    "Explanation",
    "FatiguePolicy",
    "Issue",
    "LearnerState",
    "Match",
    "PatientFacts",
    "PracticeObservation",
    "QuestionFeedback",
    "choose",
    "explain",
    "facts_from_resources",
    "load_library",
    "match",
    "match_exhaustive",
    "observe_practice",
    "render_card",
    "resources_from_bundle",
    "resources_from_prefetch",
    "score_case",
    "select",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
