"""Scoring a case's questions (enduring-material format): pure, no state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from service.cards.model import ContentItem, Question


@dataclass(frozen=True, slots=True)
class QuestionFeedback:
    """What the learner chose for one question, whether it was right, and why."""

    question_id: str
    chosen: str | None
    correct: bool
    correct_option: str
    explanation: str


@dataclass(frozen=True, slots=True)
class CaseScore:
    """The result of a case: `score` = correct / total, `passed` = score >= passing score."""

    correct: int
    total: int
    score: float
    passed: bool
    feedback: tuple[QuestionFeedback, ...]


def _question_feedback(question: Question, chosen: str | None) -> QuestionFeedback:
    right = next((option for option in question.options if option.correct), question.options[0])
    picked = next((option for option in question.options if option.id == chosen), None)
    explanation = (picked or right).explanation
    return QuestionFeedback(
        question_id=question.id,
        chosen=picked.id if picked else None,
        correct=picked is not None and picked.correct,
        correct_option=right.id,
        explanation=explanation,
    )


def score_case(item: ContentItem, answers: Mapping[str, str]) -> CaseScore:
    """Score `answers` (question id -> option id) against the item's case.

    Unanswered questions and unknown option ids count as wrong. Raises ValueError for an item
    without a case."""
    if item.case is None:
        raise ValueError(f"content item {item.id!r} is not a case")
    feedback = tuple(
        _question_feedback(question, answers.get(question.id)) for question in item.case.questions
    )
    correct = sum(1 for entry in feedback if entry.correct)
    total = len(feedback)
    score = correct / total if total else 0.0
    return CaseScore(
        correct=correct,
        total=total,
        score=score,
        passed=score + 1e-9 >= item.case.passing_score,
        feedback=feedback,
    )
