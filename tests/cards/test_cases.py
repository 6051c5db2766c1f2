"""Scoring cases."""

from __future__ import annotations

import pytest

from service.cards.cases import score_case
from tests.cards.factories import case_block, make_item


def make_case(passing: float = 0.66):
    block = case_block((False, True, False))
    block["questions"] = block["questions"][:1]
    block["questions"].append(
        {
            "id": "q2",
            "stem": "And then?",
            "options": [
                {"id": "a", "text": "A", "correct": True, "explanation": "Right."},
                {"id": "b", "text": "B", "explanation": "Wrong."},
            ],
        }
    )
    block["passing_score"] = passing
    return make_item(type="case", case=block, credit={"format": "enduring"})


def test_all_correct_passes() -> None:
    result = score_case(make_case(), {"q1": "b", "q2": "a"})
    assert (result.correct, result.total, result.score, result.passed) == (2, 2, 1.0, True)


def test_partial_and_feedback() -> None:
    result = score_case(make_case(), {"q1": "a", "q2": "a"})
    assert (result.correct, result.passed) == (1, False)
    first = result.feedback[0]
    assert (first.question_id, first.chosen, first.correct, first.correct_option) == (
        "q1",
        "a",
        False,
        "b",
    )


def test_passing_threshold_inclusive() -> None:
    assert score_case(make_case(passing=0.5), {"q1": "b"}).passed


def test_unknown_and_missing_answers_are_wrong() -> None:
    result = score_case(make_case(), {"q1": "zzz"})
    assert result.correct == 0
    assert result.feedback[0].chosen is None
    assert result.feedback[1].chosen is None


def test_not_a_case() -> None:
    with pytest.raises(ValueError, match="not a case"):
        score_case(make_item(), {})
