"""Semantic checks of a parsed library (`bedside content check`): codes, references,
dates, authors, cases. Pure: takes parsed items and terminology, returns issues."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from service.cards.applies import CRITERIA
from service.cards.codes import code_problem
from service.cards.criteria import Applies
from service.cards.issues import Issue
from service.cards.model import ContentItem
from service.cards.patient_criteria import FhirPath
from service.cards.schema import CodedPart, Loc
from service.cards.terminology import Terminology

_EXPIRY_WARNING = timedelta(days=60)
_MAX_WORDS = 350
# A case teaches through its questions: at least three, each with at least three options (a
# right answer and two plausible wrong ones).
_MIN_QUESTIONS = 3
_MIN_OPTIONS = 3


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """A validated item with its file and a way to find a field's line."""

    item: ContentItem
    file: str
    line_of: Callable[[Loc], int]


def _parts(applies: Applies, at: Loc) -> Iterator[tuple[Loc, CodedPart]]:
    # every part of every criterion that lists codes or names terminology, with its place
    for kind, value in CRITERIA.present(applies):
        for loc, part in kind.parts(value):
            yield (*at, kind.key, *loc), part


def check_codes(
    applies: Applies, file: str, line_of: Callable[[Loc], int], at: Loc = ("applies",)
) -> Iterator[Issue]:
    """Codes of the wrong shape for their system (CPT-shaped ones included)."""
    for loc, part in _parts(applies, at):
        for key, codes in part.code_lists():
            field = ".".join(str(name) for name in (*loc, key))
            for position, code in enumerate(codes):
                problem = code_problem(key, code)
                if problem:
                    yield Issue(file, line_of((*loc, key, position)), f"{field}: {problem}")


def check_references(
    applies: Applies,
    where: tuple[str, Callable[[Loc], int]],
    terminology: Terminology,
    at: Loc = ("applies",),
) -> Iterator[Issue]:
    """Value sets, drug classes and ingredients the terminology does not have."""
    file, line_of = where
    ingredients = terminology.known_ingredients
    for loc, part in _parts(applies, at):
        for name, message in part.unknown_names(terminology, ingredients):
            yield Issue(file, line_of((*loc, name)), message)


def _check_dates(parsed: ParsedItem, today: date | None) -> Iterator[Issue]:
    item = parsed.item
    if item.expires <= item.reviewed:
        yield Issue(
            parsed.file,
            parsed.line_of(("expires",)),
            f"expires ({item.expires}) must be after reviewed ({item.reviewed})",
        )
    elif today is not None and item.expires < today:
        yield Issue(
            parsed.file,
            parsed.line_of(("expires",)),
            f"expired on {item.expires}: it never shows",
            "warning",
        )
    elif today is not None and item.expires - today <= _EXPIRY_WARNING:
        yield Issue(
            parsed.file,
            parsed.line_of(("expires",)),
            f"expires on {item.expires}, within 60 days",
            "warning",
        )


def _check_people_and_body(parsed: ParsedItem) -> Iterator[Issue]:
    item = parsed.item
    roles = {author.role for author in item.authors}
    if not {"author", "reviewer"} <= roles:
        yield Issue(
            parsed.file,
            parsed.line_of(("authors",)),
            "authors: at least one author and one reviewer are required",
        )
    words = len(item.detail_markdown.split())
    if words == 0:
        yield Issue(parsed.file, 1, "the Markdown body (the card's detail) is empty")
    elif words > _MAX_WORDS:
        yield Issue(
            parsed.file,
            1,
            f"the body has {words} words; keep it to about {_MAX_WORDS} (a two-minute read)",
            "warning",
        )
    if FhirPath.value_of(item.applies) is not None:
        yield Issue(
            parsed.file,
            parsed.line_of(("applies", "fhirpath")),
            "applies.fhirpath is not evaluated by this version: the item never matches",
            "warning",
        )


def _check_questions(parsed: ParsedItem) -> Iterator[Issue]:
    case = parsed.item.case
    if case is None:
        return
    for q_pos, question in enumerate(case.questions):
        correct = sum(1 for option in question.options if option.correct)
        if correct != 1:
            yield Issue(
                parsed.file,
                parsed.line_of(("case", "questions", q_pos)),
                f"case question {question.id!r} has {correct} correct options; "
                "exactly one is required",
            )
        option_ids = [option.id for option in question.options]
        if len(set(option_ids)) != len(option_ids):
            yield Issue(
                parsed.file,
                parsed.line_of(("case", "questions", q_pos)),
                f"case question {question.id!r} repeats an option id",
            )


def _check_objectives(parsed: ParsedItem) -> Iterator[Issue]:
    if not parsed.item.objectives:
        yield Issue(
            parsed.file,
            parsed.line_of(("title",)),
            "objectives: at least one learning objective is required (what the clinician can "
            "do after this item)",
        )


def _check_perspectives(parsed: ParsedItem) -> Iterator[Issue]:
    views = parsed.item.perspectives
    labels = [view.label for view in views]
    if views and (len(views) < 2 or len(set(labels)) != len(labels)):
        yield Issue(
            parsed.file,
            parsed.line_of(("perspectives",)),
            "perspectives: at least two, each with its own label (authorities side by side)",
        )


def _check_case_shape(parsed: ParsedItem) -> Iterator[Issue]:
    case = parsed.item.case
    if case is None:
        return
    total = len(case.questions)
    if total < _MIN_QUESTIONS:
        yield Issue(
            parsed.file,
            parsed.line_of(("case", "questions")),
            f"a case needs at least {_MIN_QUESTIONS} questions (has {total})",
        )
    for q_pos, question in enumerate(case.questions):
        if len(question.options) < _MIN_OPTIONS:
            yield Issue(
                parsed.file,
                parsed.line_of(("case", "questions", q_pos, "options")),
                f"case question {question.id!r} needs at least {_MIN_OPTIONS} options",
            )
    if total > 1 and case.passing_score > (total - 1) / total + 1e-9:
        yield Issue(
            parsed.file,
            parsed.line_of(("case", "passing_score")),
            f"passing_score {case.passing_score} needs all {total} answers right: set it at "
            f"most {(total - 1) / total:.2f} so that one miss can still pass",
        )
    if case.minutes is None:
        yield Issue(
            parsed.file,
            parsed.line_of(("case",)),
            "case.minutes is required: the time a learner needs (credit follows it)",
        )


def _check_case(parsed: ParsedItem, ids: frozenset[str]) -> Iterator[Issue]:
    item = parsed.item
    if item.type == "case" and item.case is None:
        yield Issue(parsed.file, parsed.line_of(("type",)), "type case requires a `case` block")
    if item.type != "case" and item.case is not None:
        yield Issue(parsed.file, parsed.line_of(("case",)), "`case` is only for type: case")
    if item.case is None:
        return
    if item.credit.format != "enduring":
        yield Issue(
            parsed.file,
            parsed.line_of(("credit", "format")),
            "a case uses credit.format: enduring",
            "warning",
        )
    yield from _check_questions(parsed)
    yield from _check_case_shape(parsed)
    question_ids = [question.id for question in item.case.questions]
    if len(set(question_ids)) != len(question_ids):
        yield Issue(parsed.file, parsed.line_of(("case", "questions")), "repeated question id")
    for name in item.case.guidelines:
        if name not in ids:
            yield Issue(
                parsed.file,
                parsed.line_of(("case", "guidelines")),
                f"case.guidelines: unknown item {name!r}",
                "warning",
            )


def check_items(
    parsed: Sequence[ParsedItem], terminology: Terminology, today: date | None = None
) -> list[Issue]:
    """Every semantic issue of the parsed items (schema errors are found while parsing)."""
    issues: list[Issue] = []
    first_file: dict[str, str] = {}
    ids = frozenset(entry.item.id for entry in parsed)
    for entry in parsed:
        item_id = entry.item.id
        if item_id in first_file:
            issues.append(
                Issue(
                    entry.file,
                    entry.line_of(("id",)),
                    f"duplicate id {item_id!r} (also in {first_file[item_id]})",
                )
            )
        else:
            first_file[item_id] = entry.file
        issues.extend(check_codes(entry.item.applies, entry.file, entry.line_of))
        issues.extend(
            check_references(entry.item.applies, (entry.file, entry.line_of), terminology)
        )
        issues.extend(_check_dates(entry, today))
        issues.extend(_check_people_and_body(entry))
        issues.extend(_check_objectives(entry))
        issues.extend(_check_perspectives(entry))
        issues.extend(_check_case(entry, ids))
    return issues


def check_terminology(terminology: Terminology, files: dict[str, str]) -> list[Issue]:
    """Malformed or CPT-shaped codes in value sets; class members missing from the table."""
    issues: list[Issue] = []
    for name, valueset in terminology.valuesets.items():
        file = files.get(name, f"valuesets/{name}.yaml")
        for key, codes in valueset.codes.items():
            issues.extend(
                Issue(file, 1, f"codes.{key}: {problem}")
                for code in sorted(codes)
                if (problem := code_problem(key, code))
            )
    known = terminology.known_ingredients
    classes_file = files.get("drug_classes", "terminology/drug_classes.yaml")
    for name, members in terminology.classes.items():
        for member in sorted(members - known):
            issues.append(
                Issue(
                    classes_file,
                    1,
                    f"class {name!r}: ingredient {member!r} is not in rxnorm_ingredients.tsv",
                    "warning",
                )
            )
    return issues
