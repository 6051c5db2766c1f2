"""The profile form: the saved profile as field values, and the posted fields as a
`ProfileUpdate`, each refused field with a message in plain words next to it.

Field names: one per value, so that a form shown again keeps everything typed (a row's
`license_state_0`, `license_number_0`, `license_renews_0`; one checkbox `goal_{topic id}`
per topic of the library's vocabulary, value "yes")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core.core_schema import ErrorType

from smart_app.web import FormReader

if TYPE_CHECKING:
    from service.credit.schemas import LearnerProfileView, ProfileUpdate

Model = TypeVar("Model", bound=BaseModel)
BUILT_IN_ERRORS = frozenset(get_args(ErrorType))  # pydantic's own wording: not for learners
ROWS = 3  # license and board rows the form offers (more when the learner has more)
# what to say next to a profile field the credit service refuses (row suffixes dropped)
MESSAGES = {
    "given_name": "Your given name can be up to 100 characters.",
    "family_name": "Your family name can be up to 100 characters.",
    "profession": "Choose your profession from the list.",
    "specialty": "Your specialty can be up to 200 characters.",
    "npi": "An NPI is exactly 10 digits, for example 1234567893.",
    "license_state": "Use the state's two-letter code, for example MA.",
    "license_number": "Add the license number for this state (up to 40 characters).",
    "board": "Use the board's short name, for example ABIM.",
    "board_id": "Add your ID with this board (up to 40 characters).",
    "birth_month": "Give the month as a number from 1 to 12.",
    "birth_day": "Give the day as a number from 1 to 31.",
    "license_renews": "Give a real date as year-month-day, for example 2027-05-31.",
    "board_renews": "Give a real date as year-month-day, for example 2027-12-31.",
    "learning_goals": "Choose your learning goals from the list of topics.",
}

# the fields' labels, in the order of the page (`{n}`: the row's number)
LABELS = {
    "profession": "Profession",
    "given_name": "Given name",
    "family_name": "Family name",
    "specialty": "Specialty",
    "learning_goals": "Learning goals",
    "npi": "NPI",
    "license_state": "State {n}",
    "license_number": "License number {n}",
    "license_renews": "Renewal date {n}",
    "board": "Board {n}",
    "board_id": "Board ID {n}",
    "board_renews": "Board due date {n}",
    "birth_month": "Birth month",
    "birth_day": "Birth day",
}


def summary(errors: dict[str, str]) -> list[tuple[str, str, str]]:
    """(field, label, message) of each field to fix, in the order of the page."""
    found = []
    for name, message in errors.items():
        base, row = name, 0
        if match := re.fullmatch(r"(.+)_(\d+)", name):
            base, row = match.group(1), int(match.group(2))
        order = list(LABELS).index(base) if base in LABELS else len(LABELS)
        found.append((order, row, name, LABELS.get(base, name).format(n=row + 1), message))
    return [(name, label, message) for _, _, name, label, message in sorted(found)]


def rows(profile: LearnerProfileView) -> int:
    """License and board rows to offer: the saved ones and one empty, at least ROWS."""
    return max(ROWS, len(profile.state_licenses) + 1, len(profile.board_ids) + 1)


def values_of(profile: LearnerProfileView) -> dict[str, str]:
    """The saved profile as the form's field values."""
    values = {
        "given_name": profile.given_name or "",
        "family_name": profile.family_name or "",
        "profession": profile.profession or "",
        "specialty": profile.specialty or "",
        "npi": profile.npi or "",
        "birth_month": str(profile.birth_month or ""),
        "birth_day": str(profile.birth_day or ""),
        "consent_to_report": "yes" if profile.consent_to_report else "",
    }
    for i, lic in enumerate(profile.state_licenses):
        values |= {f"license_state_{i}": lic.state, f"license_number_{i}": lic.number}
        values[f"license_renews_{i}"] = lic.renews_on.isoformat() if lic.renews_on else ""
    for i, board in enumerate(profile.board_ids):
        values |= {f"board_{i}": board.board, f"board_id_{i}": board.id}
        values[f"board_renews_{i}"] = board.renews_on.isoformat() if board.renews_on else ""
    values |= {f"goal_{topic}": "yes" for topic in profile.learning_goals}
    return values


def goal_labels(profile: LearnerProfileView, topics: Mapping[str, str]) -> list[str]:
    """The labels of the learner's goals the vocabulary still has, in the learner's order."""
    return [topics[goal] for goal in profile.learning_goals if goal in topics]


def _valid(reader: FormReader, model: type[Model], fields: dict[str, Any]) -> Model | None:
    """Build a schema from form fields (schema field -> (form field, value)); each refused
    field gets its message in plain words next to it."""
    try:
        return model(**{key: value for key, (_, value) in fields.items()})
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else ""
            name = fields[key][0] if key in fields else "profession"
            own = error["type"] not in BUILT_IN_ERRORS  # the credit service's plain words
            reader.fail(name, error["msg"] if own else MESSAGES[re.sub(r"_\d+$", "", name)])
        return None


def _number(reader: FormReader, name: str) -> int | None:
    value = reader.text(name, 2)
    if value is not None and not value.isdigit():
        reader.fail(name, MESSAGES[name])
        return None
    return int(value) if value else None


def _date(reader: FormReader, name: str) -> date | None:
    """A date field (`<input type=date>` sends year-month-day); anything else, or a day the
    calendar lacks (30 February), gets its message."""
    value = reader.text(name, 40)
    if value is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        reader.fail(name, MESSAGES[re.sub(r"_\d+$", "", name)])
        return None


def _rows(
    reader: FormReader, model: type[Model], first: str, second: str, renews: str
) -> list[Model]:
    """The valid filled rows of a repeated group of two fields and a renewal date (empty rows
    are ignored; a date alone asks for the row's other fields)."""
    keys = ("state", "number") if first == "license_state" else ("board", "id")
    found = []
    for i in range(10):
        a, b = reader.text(f"{first}_{i}", 40), reader.text(f"{second}_{i}", 40)
        typed = reader.text(f"{renews}_{i}", 40) is not None
        day = _date(reader, f"{renews}_{i}")
        if a or b or typed:
            pairs = {
                keys[0]: (f"{first}_{i}", (a or "").upper()),
                keys[1]: (f"{second}_{i}", b),
                "renews_on": (f"{renews}_{i}", day),
            }
            if (row := _valid(reader, model, pairs)) is not None:
                found.append(row)
    return found


def _goals(reader: FormReader, topics: Mapping[str, str]) -> list[str]:
    """The topics ticked, in the vocabulary's order (a box for a topic the vocabulary lacks
    is ignored: the form never offered it)."""
    return [topic for topic in topics if reader.text(f"goal_{topic}", 3) == "yes"]


def profile_update(reader: FormReader, topics: Mapping[str, str]) -> ProfileUpdate:
    """The profile form as a ProfileUpdate (an empty field clears it; the single `name` of an
    older profile is left as it is); FormInvalid otherwise. `topics`: the vocabulary the
    learning goals are chosen from (no boxes ticked clears the goals)."""
    from service.credit.schemas import BoardId, ProfileUpdate, StateLicense

    month, day = _number(reader, "birth_month"), _number(reader, "birth_day")
    if (no_such_day := _no_such_day(month, day)) is not None:
        reader.fail("birth_day", no_such_day)
    limits = {"given_name": 100, "family_name": 100, "profession": 40, "specialty": 200, "npi": 40}
    fields: dict[str, tuple[str, Any]] = {
        name: (name, reader.text(name, limit)) for name, limit in limits.items()
    }
    fields |= {"birth_month": ("birth_month", month), "birth_day": ("birth_day", day)}
    fields["consent_to_report"] = ("consent", reader.text("consent_to_report", 3) == "yes")
    fields["state_licenses"] = (
        "license_state_0",
        _rows(reader, StateLicense, "license_state", "license_number", "license_renews"),
    )
    fields["board_ids"] = ("board_0", _rows(reader, BoardId, "board", "board_id", "board_renews"))
    fields["learning_goals"] = ("learning_goals", _goals(reader, topics))
    update = _valid(reader, ProfileUpdate, fields)
    reader.check()
    assert update is not None
    return update


def _no_such_day(month: int | None, day: int | None) -> str | None:
    """ "April has no day 31." (29 February is a birthday, so a leap year is used)."""
    if month is None or day is None or not (1 <= month <= 12 and 1 <= day <= 31):
        return None  # absent or out of range: the profile schema says so
    days = (date(2000 + month // 12, month % 12 + 1, 1) - date(2000, month, 1)).days
    return f"{date(2000, month, 1):%B} has no day {day}." if day > days else None
