"""The bundled terminology tables cover every medication code the library relies on.

Reads `service/cards/bundled/terminology/*` and the items directly (csv + yaml), so that it
does not depend on the matching engine.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "service" / "cards" / "bundled"
TERMINOLOGY = BUNDLED / "terminology"
VALUESET_FIXTURES = ROOT / "tests" / "fixtures" / "valuesets"
SYNTHEA_FIXTURES = ROOT / "tests" / "fixtures" / "synthea"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _table() -> dict[str, list[str]]:
    with (TERMINOLOGY / "rxnorm_ingredients.tsv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        assert reader.fieldnames == ["rxcui", "ingredients", "display"]
        return {row["rxcui"]: [i for i in row["ingredients"].split("|") if i] for row in reader}


TABLE = _table()
KNOWN_INGREDIENTS = {ingredient for ingredients in TABLE.values() for ingredient in ingredients}
CLASSES: dict[str, list[str]] = yaml.safe_load((TERMINOLOGY / "drug_classes.yaml").read_text())
MED_VALUESETS = sorted(VALUESET_FIXTURES.glob("*.json"))


def _front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n"), path
    front: dict[str, Any] = yaml.safe_load(text.split("---\n", 2)[1])
    return front


ITEMS = {path: _front_matter(path) for path in sorted((BUNDLED / "items").rglob("*.md"))}


def _medsets(applies: dict[str, Any]) -> list[dict[str, Any]]:
    sets: list[dict[str, Any]] = []
    for key in ("medications", "orders"):
        criterion = applies.get(key) or {}
        sets += [criterion[part] for part in ("any_of", "none_of") if part in criterion]
    return sets


def test_table_rows_are_well_formed() -> None:
    for rxcui, ingredients in TABLE.items():
        assert rxcui.isdigit(), rxcui
        assert ingredients, f"{rxcui} has no ingredient"
        for ingredient in ingredients:
            assert ingredient == ingredient.strip().lower(), (rxcui, ingredient)
            for salt in (" hydrochloride", " bitartrate", " sulfate", " phosphate", " sodium"):
                if ingredient not in {"ferrous sulfate", "sodium oxybate"}:
                    assert not ingredient.endswith(salt), (rxcui, ingredient)


def test_fixture_valuesets_present() -> None:
    names = {path.stem for path in MED_VALUESETS}
    assert {
        "opioid-analgesics-with-ambulatory-misuse-potential",
        "extended-release-opioid-with-ambulatory-misuse-potential",
        "benzodiazepine-medications",
        "naloxone-medications",
        "buprenorphine-and-methadone-medications",
    } <= names
    assert (VALUESET_FIXTURES / "LICENSE-CC0.md").exists()


@pytest.mark.parametrize("path", MED_VALUESETS, ids=lambda p: p.stem)
def test_every_cdc_medication_code_resolves_to_an_ingredient(path: Path) -> None:
    valueset = json.loads(path.read_text(encoding="utf-8"))
    codes = [c["code"] for c in valueset["expansion"]["contains"] if c["system"] == RXNORM]
    assert codes
    missing = [code for code in codes if not TABLE.get(code)]
    assert not missing, f"{path.stem}: {len(missing)} codes without ingredients, e.g. {missing[:5]}"


@pytest.mark.parametrize(
    ("rxcui", "ingredients"),
    [
        ("563026", ["diazepam"]),  # Synthea brand-level "Diazepam [Valium]", not in the CDC set
        ("857005", ["acetaminophen", "hydrocodone"]),  # salt stripped, two ingredients
        ("904419", ["alendronate"]),  # "Alendronic acid" -> RxNorm ingredient name
        ("316672", ["simvastatin"]),  # Synthea's "Simvistatin 10 MG" (sic)
        ("855332", ["warfarin"]),
        ("860975", ["metformin"]),
        ("866414", ["metoprolol"]),
        ("895994", ["fluticasone"]),
        ("745679", ["albuterol"]),
    ],
)
def test_known_mappings(rxcui: str, ingredients: list[str]) -> None:
    assert TABLE[rxcui] == ingredients


def test_every_synthea_medication_code_resolves() -> None:
    missing = set()
    for path in sorted(SYNTHEA_FIXTURES.glob("*.json")):
        bundle = json.loads(path.read_text(encoding="utf-8"))
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] != "MedicationRequest":
                continue
            for coding in resource["medicationCodeableConcept"]["coding"]:
                if coding["system"] == RXNORM and not TABLE.get(coding["code"]):
                    missing.add((coding["code"], coding.get("display")))
    assert not missing


def test_drug_class_ingredients_are_known() -> None:
    required = {
        "opioid-analgesic",
        "benzodiazepine",
        "naloxone",
        "opioid-use-disorder-medication",
        "statin",
        "sglt2-inhibitor",
        "glp1-receptor-agonist",
        "anticoagulant-warfarin",
        "doac",
        "ace-inhibitor",
        "arb",
        "arni",
        "beta-blocker-hf",
        "mra",
        "inhaled-corticosteroid",
        "saba",
        "bisphosphonate",
        "metformin",
        "insulin",
    }
    assert required <= set(CLASSES)
    for name, ingredients in CLASSES.items():
        assert ingredients, name
        unknown = [i for i in ingredients if i not in KNOWN_INGREDIENTS]
        assert not unknown, f"class {name}: unknown ingredients {unknown}"


def test_item_medication_criteria_are_known() -> None:
    valuesets = {path.stem for path in (BUNDLED / "valuesets").glob("*.yaml")}
    for path, front in ITEMS.items():
        for medset in _medsets(front.get("applies") or {}):
            for ingredient in medset.get("ingredients", []):
                assert ingredient in KNOWN_INGREDIENTS, (path.name, ingredient)
            for name in medset.get("classes", []):
                assert name in CLASSES, (path.name, name)
            for code in medset.get("rxnorm", []):
                assert code in TABLE, (path.name, code)
            for name in medset.get("valuesets", []):
                assert name in valuesets, (path.name, name)


def test_bundled_valuesets_resolve() -> None:
    for path in sorted((BUNDLED / "valuesets").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["name"] == path.stem
        assert "CC0" in doc["source"] or "CC0" in doc.get("license", "")
        for code in doc["codes"].get("rxnorm", []):
            assert TABLE.get(code), (path.name, code)


def test_no_cpt_codes_anywhere() -> None:
    """CPT codes may not be redistributed: no `cpt` key and no CPT-system URL in the library."""
    for path in sorted(BUNDLED.rglob("*")):
        if path.suffix in {".md", ".yaml", ".tsv"}:
            text = path.read_text(encoding="utf-8").lower()
            assert "www.ama-assn.org/go/cpt" not in text, path
            assert "\ncpt:" not in text, path
            assert " cpt: [" not in text, path
