"""The building blocks of the content schema: frozen models that refuse unknown fields, and
the code and name fields every part of it uses (the content model, and the criterion kinds
that parse their own part of `applies`). A typo in the front matter is a schema error
reported by `content check`, never a criterion silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

if TYPE_CHECKING:
    from service.cards.terminology import Terminology


def _code_text(value: object) -> object:
    # YAML reads unquoted 44054006 as an int; codes are strings.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Code = Annotated[str, BeforeValidator(_code_text), Field(min_length=1, max_length=40)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Codes = tuple[Code, ...]
# Where a value sits in a document: `("applies", "labs", 0, "loinc")`.
Loc = tuple[str | int, ...]


class Frozen(BaseModel):
    """Base of every content model: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CodedPart(Protocol):
    """A part of a criterion that lists codes or names terminology (a code set, a lab rule):
    what `content check` checks of it."""

    def code_lists(self) -> Iterator[tuple[str, Sequence[str]]]:
        """(system key, codes) of each of its code lists; the key is also the field's name
        (`snomed`, `icd10`, `rxnorm`, `loinc`)."""
        ...

    def unknown_names(
        self, terminology: Terminology, ingredients: frozenset[str]
    ) -> Iterator[tuple[str, str]]:
        """(field, message) for every name the terminology does not know (`ingredients`:
        every ingredient it knows, computed once per check)."""
        ...
