"""The functional core: content library, compiled index, patient facts, matching, ranking,
fatigue policy and card rendering. No I/O outside `loader.py` (and the `cli.py` adapter)."""

from service.cards.cases import CaseScore, QuestionFeedback, score_case
from service.cards.facts import (
    PatientFacts,
    facts_from_resources,
    resources_from_bundle,
    resources_from_prefetch,
)
from service.cards.issues import ContentError, Issue
from service.cards.library import ContentLibrary, load_library
from service.cards.matching import Explanation, Match, explain, match, match_exhaustive
from service.cards.model import ContentItem
from service.cards.ranking import FatiguePolicy, LearnerState, choose, select
from service.cards.render import render_card

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
    "QuestionFeedback",
    "choose",
    "explain",
    "facts_from_resources",
    "load_library",
    "match",
    "match_exhaustive",
    "render_card",
    "resources_from_bundle",
    "resources_from_prefetch",
    "score_case",
    "select",
]
