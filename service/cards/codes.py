"""Code systems: canonical keys, normalisation and the shape checks of `content check`.

A coding is carried through the core as a `(system_key, code)` pair where the key is one of
`snomed`, `icd10`, `loinc`, `rxnorm`, `cvx` or, for anything else, the system URL itself.
"""

from __future__ import annotations

import re
from functools import cache

SNOMED = "snomed"
ICD10 = "icd10"
LOINC = "loinc"
RXNORM = "rxnorm"
CVX = "cvx"

_SYSTEM_KEYS: dict[str, str] = {
    "http://snomed.info/sct": SNOMED,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10,
    "http://hl7.org/fhir/sid/icd-10": ICD10,
    "urn:oid:2.16.840.1.113883.6.90": ICD10,
    "http://loinc.org": LOINC,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "http://hl7.org/fhir/sid/cvx": CVX,
}

SYSTEM_LABELS: dict[str, str] = {
    SNOMED: "SNOMED",
    ICD10: "ICD-10-CM",
    LOINC: "LOINC",
    RXNORM: "RxNorm",
    CVX: "CVX",
}

_ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:[0-9A-Z]{1,4})?$")
_SNOMED_RE = re.compile(r"^[1-9][0-9]{5,17}$")
_LOINC_RE = re.compile(r"^([0-9]{1,7})-([0-9])$")
_RXNORM_RE = re.compile(r"^[1-9][0-9]{0,8}$")
_CPT_RE = re.compile(r"^(?:[0-9]{5}|[0-9]{4}[FTU])$")

# Verhoeff dihedral-group tables (SNOMED CT check digit).
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


@cache
def system_urls(key: str) -> frozenset[str]:
    """Every code system URL with this key (the key itself, as `system_key` answers for an
    unknown URL). Lets a reader test membership instead of mapping every coding's URL."""
    return frozenset(url for url, known in _SYSTEM_KEYS.items() if known == key) or frozenset({key})


def system_key(system: str) -> str:
    """The short key of a FHIR code system URL (the URL itself when unknown)."""
    return _SYSTEM_KEYS.get(system, system)


def normalize_icd10(code: str) -> str:
    """ICD-10-CM as matched: dot removed, upper case, surrounding blanks stripped."""
    return code.replace(".", "").strip().upper()


def normalize_code(key: str, code: str) -> str:
    """Normalise a code of the given system key (only ICD-10 codes change)."""
    return normalize_icd10(code) if key == ICD10 else code.strip()


def verhoeff_valid(digits: str) -> bool:
    """True when the digit string ends with a valid Verhoeff check digit."""
    check = 0
    for i, char in enumerate(reversed(digits)):
        check = _D[check][_P[i % 8][int(char)]]
    return check == 0


def verhoeff_digit(digits: str) -> str:
    """The Verhoeff check digit to append to `digits`."""
    check = 0
    for i, char in enumerate(reversed(digits)):
        check = _D[check][_P[(i + 1) % 8][int(char)]]
    return str(_INV[check])


def loinc_check_digit(number: str) -> str:
    """The LOINC mod-10 check digit of the part before the dash."""
    total = 0
    for i, char in enumerate(reversed(number)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value // 10 + value % 10
    return str((10 - total % 10) % 10)


def is_cpt_shaped(code: str) -> bool:
    """Five digits, or four digits and F/T/U: what a CPT (or CPT category II/III) code looks
    like. CPT codes may not be redistributed."""
    return bool(_CPT_RE.match(code.strip()))


def code_problem(key: str, code: str) -> str | None:
    """Why `code` is not a well-formed code of the system `key`, or None when it is.

    ICD-10 entries are prefixes (`E11` is fine). RxNorm codes may legitimately be five digits,
    so the CPT-shape rule applies to every other list."""
    code = code.strip()
    if key != RXNORM and is_cpt_shaped(code):
        return f"{code!r} looks like a CPT code; CPT codes may not be shipped"
    if key == ICD10:
        if not _ICD10_RE.match(normalize_icd10(code)):
            return f"{code!r} is not an ICD-10-CM code (letter, two characters, up to 4 more)"
    elif key == SNOMED:
        if not _SNOMED_RE.match(code):
            return f"{code!r} is not a SNOMED CT identifier (6 to 18 digits)"
        if not verhoeff_valid(code):
            return f"{code!r} has an invalid SNOMED CT (Verhoeff) check digit"
    elif key == LOINC:
        found = _LOINC_RE.match(code)
        if not found:
            return f"{code!r} is not a LOINC code (digits, dash, check digit)"
        if loinc_check_digit(found.group(1)) != found.group(2):
            return f"{code!r} has an invalid LOINC check digit"
    elif key == RXNORM and not _RXNORM_RE.match(code):
        return f"{code!r} is not an RxNorm code (digits)"
    return None


def icd10_prefixes(code: str) -> tuple[str, ...]:
    """Every prefix of a normalised ICD-10 code from three characters up (E1165: E11, E116,
    E1165): the keys under which prefix-indexed content is looked up."""
    return tuple(code[:n] for n in range(3, len(code) + 1))
