"""The registry of criterion kinds, and the `applies` block they make up.

`CRITERIA` lists every kind, in the order its criteria are evaluated (cheap demographic
checks first, named facts last); the `Applies` model of the content schema is built from it
(one field per kind: its key, its schema), and compiling, `content check` and the index read
the kinds through it. Adding a criterion is one `CriterionKind` subclass and its entry here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import GetPydanticSchema, create_model

from service.cards.code_criteria import (
    Allergies,
    Conditions,
    Medications,
    Orders,
    Procedures,
    ServiceOrders,
)
from service.cards.criteria import (
    Applies,
    CompileContext,
    CompiledApplies,
    Criterion,
    CriterionKind,
)
from service.cards.fact_criteria import Facts
from service.cards.index_keys import IndexKey
from service.cards.lab_criteria import Labs, LabsMissing
from service.cards.patient_criteria import Age, FhirPath, Pregnancy, Sex, SmokedWithin, Smoking

Kind = type[CriterionKind[Any]]


class CriterionRegistry:
    """Criterion kinds by `applies` key, in evaluation order, and the `Applies` model that
    parses a block of them (`model`: a subclass of `criteria.Applies` with one field per
    kind, refusing unknown keys)."""

    __slots__ = ("by_key", "kinds", "model")

    def __init__(self, *kinds: Kind) -> None:
        self.kinds: tuple[Kind, ...] = kinds
        self.by_key: dict[str, Kind] = {kind.key: kind for kind in kinds}
        if len(self.by_key) != len(kinds):
            raise ValueError("two criterion kinds share an `applies` key")
        ranks = [kind.trigger_rank for kind in kinds if kind.trigger_rank is not None]
        if len(set(ranks)) != len(ranks):
            raise ValueError("two criterion kinds share a trigger rank")
        fields: dict[str, Any] = {kind.key: (kind.schema, kind.default) for kind in kinds}
        self.model: type[Applies] = create_model(
            "Applies", __base__=Applies, __module__=__name__, **fields
        )

    def present(self, applies: Applies) -> Iterator[tuple[Kind, Any]]:
        """(kind, value) of every kind given in the block, in evaluation order."""
        for kind in self.kinds:
            value = kind.value_of(applies)
            if value is not None:
                yield kind, value

    def compile(self, applies: Applies, context: CompileContext) -> CompiledApplies:
        """Every kind's criteria, in evaluation order, and the item's trigger: the trigger of
        the present kind of lowest `trigger_rank` that has one."""
        criteria: list[Criterion] = []
        trigger: tuple[int, list[IndexKey]] | None = None
        for kind, value in self.present(applies):
            compiled = kind.compile(value, context)
            criteria += compiled.criteria
            rank = kind.trigger_rank
            keys = compiled.trigger
            if rank is not None and keys is not None and (trigger is None or rank < trigger[0]):
                trigger = (rank, keys)
        return CompiledApplies(criteria, None if trigger is None else trigger[1])


CRITERIA = CriterionRegistry(
    Sex,
    Age,
    Pregnancy,
    Smoking,
    SmokedWithin,
    Orders,
    ServiceOrders,
    Conditions,
    Procedures,
    Medications,
    Allergies,
    Labs,
    LabsMissing,
    Facts,
    FhirPath,
)
"""Every criterion kind, in evaluation order."""

AppliesBlock = Annotated[
    Applies, GetPydanticSchema(lambda _source, handler: handler(CRITERIA.model))
]
"""The type of an `applies` field in the content model: typed as `criteria.Applies`, parsed
and validated by the registry's model."""
