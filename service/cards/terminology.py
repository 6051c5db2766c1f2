"""Terminology shipped with a library: RxNorm -> ingredients, drug classes, value sets.

Parsers take already-read text or YAML data (the loader reads the files), so this module
stays pure. Ingredient names are lower case everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from service.cards.codes import ICD10, LOINC, RXNORM, SNOMED, normalize_code
from service.cards.issues import Issue

VALUESET_SYSTEMS = (SNOMED, ICD10, LOINC, RXNORM)
_EMPTY: Mapping[str, frozenset[str]] = MappingProxyType({})
# Salt and form words dropped from a display name to reach the ingredient.
_SALTS = frozenset(
    "hydrochloride hcl bitartrate sodium potassium calcium magnesium succinate tartrate "
    "maleate besylate mesylate citrate sulfate phosphate acetate fumarate bromide chloride "
    "monohydrate dihydrate trihydrate anhydrous hyclate propionate furoate tromethamine "
    "epolamine".split()
)
_LEADING_NOISE = re.compile(
    r"^(?:(?:NDA\d+|\d+(?:\.\d+)?\s*(?:hr|day|actuat|ml))\s+)+", re.IGNORECASE
)
_DOSE = re.compile(r"\s\d")
# The route an RxNorm dose form names, for the ingredients the table splits by route (e.g.
# "diclofenac (systemic)" and "diclofenac (topical)"). First match wins, so that "Oral Gel"
# is systemic and "Ophthalmic Gel" ophthalmic; a display without a dose form has no route, nor
# has a bare "spray" (nasal ketorolac is systemic, a topical spray says "topical").
_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ophthalmic", re.compile(r"\b(?:ophthalmic|eye)\b", re.IGNORECASE)),
    (
        "systemic",
        re.compile(
            r"\b(?:oral|tablets?|capsules?|injection|injectable|intravenous|intramuscular|"
            r"prefilled syringe|auto-injector|cartridge|rectal|suppository|nasal|intranasal|"
            r"sublingual|buccal)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "topical",
        re.compile(
            r"\b(?:topical|transdermal|cutaneous|gel|cream|ointment|lotion|patch|foam|"
            r"medicated pad)\b",
            re.IGNORECASE,
        ),
    ),
    # abbreviations last: a word of a dose form outranks them ("gel ... apply to IV site")
    ("systemic", re.compile(r"\b(?:tabs?|caps?|po|inj|iv|im|supp)\b", re.IGNORECASE)),
)


@dataclass(frozen=True, slots=True)
class ValueSet:
    """A named flat code list per system key (`snomed`, `icd10`, `loinc`, `rxnorm`)."""

    name: str
    title: str
    codes: Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class Terminology:
    """RxNorm code -> ingredients, class -> ingredients, name -> value set."""

    rxnorm: Mapping[str, frozenset[str]] = field(default_factory=lambda: _EMPTY)
    classes: Mapping[str, frozenset[str]] = field(default_factory=lambda: _EMPTY)
    valuesets: Mapping[str, ValueSet] = field(default_factory=lambda: MappingProxyType({}))
    # ingredient names the table splits by route ("diclofenac (topical)"), derived
    routed: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        routed = {name for names in self.rxnorm.values() for name in names if name.endswith(")")}
        object.__setattr__(self, "routed", frozenset(routed))

    @property
    def known_ingredients(self) -> frozenset[str]:
        """Every ingredient name the RxNorm table knows."""
        return frozenset().union(*self.rxnorm.values()) if self.rxnorm else frozenset()

    def ingredients_for(self, codes: Iterable[str], display: str) -> frozenset[str]:
        """Ingredients of a medication: from its RxNorm codes through the table, else parsed
        from the display name's leading ingredient names. An ingredient the table splits by
        route takes the route of the display's dose form ("Diclofenac Sodium 75 MG Delayed
        Release Oral Tablet" -> "diclofenac (systemic)"); without a dose form it stays bare,
        so that a class naming only the routed form does not count it."""
        found: set[str] = set()
        for code in codes:
            found.update(self.rxnorm.get(code, ()))
        if found:
            return frozenset(found)
        names = ingredients_from_display(display)
        if not self.routed or not names:
            return names
        route = route_of(display)
        if route is None:
            return names
        return frozenset(
            routed if (routed := f"{name} ({route})") in self.routed else name for name in names
        )


def ingredients_from_display(display: str) -> frozenset[str]:
    """Best-effort ingredient names from an RxNorm-style name: `Diazepam [Valium]` ->
    diazepam; `Hydrocodone Bitartrate 10 MG / Acetaminophen 325 MG Oral Tablet` ->
    hydrocodone, acetaminophen; `24 HR Metformin hydrochloride 500 MG ...` -> metformin."""
    if not display:
        return frozenset()
    text = re.sub(r"\[[^\]]*\]|\{|\}|\([^)]*\)", " ", display)
    names: set[str] = set()
    for part in text.split(" / "):
        part = _LEADING_NOISE.sub("", part.strip())
        part = _DOSE.split(" " + part, maxsplit=1)[0]
        words = [w for w in part.lower().split() if w not in _SALTS and w.isascii()]
        if words and not words[0][0].isdigit():
            names.add(" ".join(words))
    return frozenset(names)


def route_of(display: str) -> str | None:
    """ "systemic", "topical" or "ophthalmic" from the dose form an RxNorm-style name names
    ("... Delayed Release Oral Tablet", "... Topical Gel"); None when it names none. A brand
    in brackets is not read."""
    text = re.sub(r"\[[^\]]*\]", " ", display)
    for route, pattern in _ROUTES:
        if pattern.search(text):
            return route
    return None


def _split_ingredients(cell: str) -> frozenset[str]:
    parts = re.split(r"\s*(?:;|\||\s/\s)\s*", cell.strip().lower())
    return frozenset(part for part in parts if part)


def parse_rxnorm_tsv(text: str, file: str) -> tuple[dict[str, frozenset[str]], list[Issue]]:
    """`rxcui<TAB>ingredient[;ingredient...][<TAB>name]` lines; `#` comments and a header
    line starting with `rxcui` are skipped."""
    table: dict[str, frozenset[str]] = {}
    issues: list[Issue] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#") or line.lower().startswith("rxcui"):
            continue
        cells = line.split("\t")
        code = cells[0].strip()
        ingredients = _split_ingredients(cells[1]) if len(cells) > 1 else frozenset()
        if not code.isdigit() or not ingredients:
            issues.append(Issue(file, number, "expected `rxcui<TAB>ingredient[;ingredient]`"))
            continue
        table[code] = table.get(code, frozenset()) | ingredients
    return table, issues


def parse_drug_classes(data: Any, file: str) -> tuple[dict[str, frozenset[str]], list[Issue]]:
    """`class-name: [ingredients]` or `class-name: {ingredients: [...], ...}` (optionally
    under a top-level `classes:` key)."""
    if isinstance(data, dict) and isinstance(data.get("classes"), dict):
        data = data["classes"]
    if not isinstance(data, dict):
        return {}, [Issue(file, 1, "expected a mapping of class name -> ingredient names")]
    classes: dict[str, frozenset[str]] = {}
    issues: list[Issue] = []
    for name, value in data.items():
        members = value.get("ingredients") if isinstance(value, dict) else value
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            issues.append(Issue(file, 1, f"class {name!r}: expected a list of ingredient names"))
            continue
        classes[str(name)] = frozenset(m.strip().lower() for m in members if m.strip())
    return classes, issues


def parse_valueset(data: Any, file: str, default_name: str) -> tuple[ValueSet | None, list[Issue]]:
    """A value set file: `name`, `title`, `codes: {snomed|icd10|loinc|rxnorm: [codes]}`."""
    codes = data.get("codes") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(codes, dict) or not codes:
        return None, [Issue(file, 1, "expected `name`, `title` and a non-empty `codes` mapping")]
    issues: list[Issue] = []
    parsed: dict[str, frozenset[str]] = {}
    for key, values in codes.items():
        if key not in VALUESET_SYSTEMS or not isinstance(values, list):
            issues.append(
                Issue(
                    file,
                    1,
                    f"codes.{key}: expected one of "
                    f"{', '.join(VALUESET_SYSTEMS)} with a list of codes",
                )
            )
            continue
        parsed[key] = frozenset(normalize_code(key, str(v)) for v in values if str(v).strip())
    name = str(data.get("name") or default_name)
    title = str(data.get("title") or name)
    return ValueSet(name=name, title=title, codes=MappingProxyType(parsed)), issues
