"""The kinds of key of the compiled index, named once.

An index key is a tuple `(kind, *code)`: a criterion kind files an item under the keys of its
codes (`CriterionKind.compile`), and `FactView.index_keys` lists the keys of the patient's
facts; an item is a candidate when the two share a key. The kinds are short plain strings
(module constants, not enum members: an enum member's look-up costs ~0.1 us, and the hook
builds every patient's keys), so that keys hash and compare as string tuples do.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

IndexKey = tuple[str, ...]
IndexKind = Literal["c", "cp", "h", "hp", "m", "o", "l", "p", "s"]
"""The first element of every index key: which family of patient facts it looks up."""

CONDITION: Final = "c"
"""An active condition's coding: `(CONDITION, system, code)`."""
CONDITION_PREFIX: Final = "cp"
"""An ICD-10-CM prefix (three characters and up) of an active condition's code:
`(CONDITION_PREFIX, prefix)`."""
PAST_CONDITION: Final = "h"
"""A resolved or inactive condition's coding (`conditions.ever`):
`(PAST_CONDITION, system, code)`."""
PAST_CONDITION_PREFIX: Final = "hp"
"""An ICD-10-CM prefix of a resolved or inactive condition's code."""
MEDICATION: Final = "m"
"""An active medication's ingredient or RxNorm code: `(MEDICATION, "ingredient", name)` or
`(MEDICATION, "rxnorm", code)`."""
ORDER: Final = "o"
"""A draft order's ingredient or RxNorm code, as `MEDICATION`."""
LAB: Final = "l"
"""A LOINC code with a numeric value: `(LAB, code)`."""
PROCEDURE: Final = "p"
"""A procedure's coding, or an observation's LOINC code (a test done):
`(PROCEDURE, system, code)`."""
SERVICE_ORDER: Final = "s"
"""A draft order's SNOMED CT or LOINC coding (a test or procedure being ordered):
`(SERVICE_ORDER, system, code)`."""

INDEX_KINDS: Final[tuple[IndexKind, ...]] = get_args(IndexKind)
"""Every kind of index key."""
