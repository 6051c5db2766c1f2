"""A synthetic content library for benchmarks: realistic code distributions (a few common
conditions and drugs, a long tail of rare codes), valid under `content check`.

Pure: returns `{relative path: text}`; the CLI writes the files."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import yaml

from service.cards.codes import verhoeff_digit

# Common codes (Synthea's most frequent), with their ICD-10-CM families.
COMMON_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("44054006", "E11"),
    ("38341003", "I10"),
    ("55822004", "E78"),
    ("53741008", "I25"),
    ("49436004", "I48"),
    ("88805009", "I50"),
    ("370143000", "F32"),
    ("195967001", "J45"),
    ("162864005", "E66"),
    ("15777000", "R73"),
    ("64859006", "M81"),
    ("87433001", "J43"),
    ("128613002", "G40"),
)
INGREDIENTS: tuple[tuple[str, str], ...] = (
    ("6809", "metformin"),
    ("36567", "simvastatin"),
    ("83367", "atorvastatin"),
    ("29046", "lisinopril"),
    ("17767", "amlodipine"),
    ("5487", "hydrochlorothiazide"),
    ("11289", "warfarin"),
    ("32968", "clopidogrel"),
    ("3322", "diazepam"),
    ("5489", "hydrocodone"),
    ("161", "acetaminophen"),
    ("7052", "morphine"),
    ("7804", "oxycodone"),
    ("596", "alprazolam"),
    ("6470", "lorazepam"),
    ("435", "albuterol"),
)
CLASSES: dict[str, list[str]] = {
    "statin": ["simvastatin", "atorvastatin"],
    "opioid-analgesic": ["hydrocodone", "morphine", "oxycodone"],
    "benzodiazepine": ["diazepam", "alprazolam", "lorazepam"],
    "anticoagulant": ["warfarin"],
}
# A long tail of made-up ingredients (codes 9100000+) so that drug criteria spread out.
RARE_INGREDIENTS: tuple[tuple[str, str], ...] = tuple(
    (str(9100000 + n), f"synthetine-{n}") for n in range(400)
)
LABS = ("4548-4", "2093-3", "18262-6", "2160-0", "33914-3", "8480-6")
HOOKS = ("patient-view", "order-select", "order-sign")  # the hooks synthetic items favour


def _rare_snomed(rng: random.Random) -> str:
    base = str(rng.randrange(100000, 99999999)) + "00"  # concept id, core partition 00
    return base + verhoeff_digit(base)


def _pick_condition(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.02:  # Zipf-like over the common codes, then a long tail
        index = min(int(rng.paretovariate(1.2)) - 1, len(COMMON_CONDITIONS) - 1)
        return COMMON_CONDITIONS[index]
    letter = rng.choice("ABCDGHIJKLMN")
    return _rare_snomed(rng), f"{letter}{rng.randrange(10, 99)}"


def _applies(rng: random.Random, kind: float) -> dict[str, Any]:
    applies: dict[str, Any] = {}
    if kind < 0.03:  # demographic-only (screening-like)
        low = rng.randrange(18, 60)
        applies["age"] = {"min": low, "max": low + rng.randrange(10, 30)}
        if rng.random() < 0.5:
            applies["sex"] = rng.choice(["female", "male"])
        return applies
    if kind < 0.8:
        picks = [_pick_condition(rng) for _ in range(rng.randrange(1, 4))]
        applies["conditions"] = {
            "any_of": {"snomed": [s for s, _ in picks], "icd10": sorted({i for _, i in picks})}
        }
    elif rng.random() < 0.02:
        applies["medications"] = {"any_of": {"classes": [rng.choice(sorted(CLASSES))]}}
    else:
        pool = INGREDIENTS if rng.random() < 0.05 else RARE_INGREDIENTS
        applies["medications"] = {"any_of": {"ingredients": [rng.choice(pool)[1]]}}
    if rng.random() < 0.3:
        applies["age"] = {"min": rng.randrange(18, 50)}
    if rng.random() < 0.2:
        applies["labs"] = [{"loinc": [rng.choice(LABS)], "op": ">", "value": 7, "within_days": 365}]
    return applies


def _item(position: int, rng: random.Random) -> dict[str, Any]:
    reviewed = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 300))
    hooks = ["patient-view"] if rng.random() < 0.8 else rng.sample(HOOKS, 2)
    return {
        "id": f"synthetic-{position:05d}",
        "version": "1",
        "type": "guideline",
        "title": f"Synthetic guideline {position}",
        "summary": f"Synthetic benchmark guideline number {position}.",
        "objectives": ["Apply the synthetic guideline to the patients it is for."],
        "source": {
            "organization": "Bedside benchmarks",
            "title": "Synthetic guideline",
            "year": 2026,
            "url": "https://example.org/synthetic",
            "grade": "B",
            "license": "CC0-1.0",
        },
        "authors": [
            {"name": "Generator", "role": "author", "disclosure": "None."},
            {"name": "Generator", "role": "reviewer", "disclosure": "None."},
        ],
        "reviewed": reviewed,
        "expires": reviewed + timedelta(days=3650),
        "hooks": hooks,
        "applies": _applies(rng, rng.random()),
        "question": "What does the guideline recommend for this patient?",
        "credit": {"format": "poc"},
    }


def synthetic_library(count: int, seed: int = 0) -> dict[str, str]:
    """A library of `count` items plus its terminology, as `{relative path: text}`."""
    rng = random.Random(seed)
    files: dict[str, str] = {}
    for position in range(count):
        front = yaml.safe_dump(_item(position, rng), sort_keys=False, allow_unicode=True)
        path = f"items/area-{position % 50:02d}/synthetic-{position:05d}.md"
        files[path] = f"---\n{front}---\nSynthetic body for benchmarks: **do** this.\n"
    rows = ["rxcui\tingredients\tname"]
    rows += [f"{code}\t{name}\t{name}" for code, name in INGREDIENTS + RARE_INGREDIENTS]
    files["terminology/rxnorm_ingredients.tsv"] = "\n".join(rows) + "\n"
    files["terminology/drug_classes.yaml"] = yaml.safe_dump(CLASSES, sort_keys=True)
    return files
