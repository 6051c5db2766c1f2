#!/usr/bin/env python3
"""Authoring-time builder for the bundled terminology tables and CDC value sets.

Reads the reference data in ``../shared/data`` (CDC Opioid Prescribing Support IG value
sets, CC0-1.0, and the Synthea bundles, Apache-2.0) and writes:

* ``service/cards/bundled/terminology/rxnorm_ingredients.tsv``
  (``rxcui<TAB>ingredients<TAB>display``; ingredients lower-case, salts stripped,
  ``|``-separated), covering every RxNorm code of the CDC medication value sets, every
  RxNorm code of the Synthea MedicationRequests, and hand-listed ingredient-level RXCUIs
  for the drug classes in ``drug_classes.yaml``;
* ``service/cards/bundled/valuesets/cdc-*.yaml`` for the CDC value sets the library uses;
* ``service/cards/bundled/valuesets/<name>.yaml`` for the CMS eCQM value sets (VSAC
  expansions from cqframework's eCQM content, CC0-1.0, CPT and HCPCS already removed) that
  the library's facts, policy and items use (``ECQM_BUNDLED``). To use another one, add its
  file name (``../shared/data/valuesets/ecqm/<name>.json``) there and run the script.

Run from the repository root:  python scripts/build_terminology.py [--shared ../shared]
Tests never run this script; its output is committed. Rows already in the RxNorm table are
kept as they are (hand-verified rows, ingredients named by route): the script only adds.
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "service" / "cards" / "bundled"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# CDC value sets whose RxNorm members go into the ingredient table.
CDC_MED_VALUESETS = [
    "opioid-analgesics-with-ambulatory-misuse-potential",
    "extended-release-opioid-with-ambulatory-misuse-potential",
    "non-synthetic-opioid-medications",
    "synthetic-opioid-medications",
    "fentanyl-type-medications",
    "oxycodone-medications",
    "benzodiazepine-medications",
    "naloxone-medications",
    "buprenorphine-and-methadone-medications",
    "buprenorphine-medications",
    "methadone-medications",
    "cns-depressant-medications",
    "amphetamines-class-medications",
    "barbiturate-medications",
]

# CDC value sets shipped as bundled value sets: bundled name -> (source file, title)
CDC_BUNDLED = {
    "cdc-opioid-analgesics": (
        "opioid-analgesics-with-ambulatory-misuse-potential",
        "Opioid analgesics with ambulatory misuse potential",
    ),
    "cdc-extended-release-opioids": (
        "extended-release-opioid-with-ambulatory-misuse-potential",
        "Extended-release / long-acting opioids with ambulatory misuse potential",
    ),
    "cdc-benzodiazepines": ("benzodiazepine-medications", "Benzodiazepine medications"),
    "cdc-naloxone": ("naloxone-medications", "Naloxone medications"),
    "cdc-buprenorphine-methadone": (
        "buprenorphine-and-methadone-medications",
        "Buprenorphine and methadone medications",
    ),
    "cdc-opioid-misuse-disorders": ("opioid-misuse-disorders", "Opioid misuse disorders"),
    "cdc-substance-misuse-conditions": (
        "conditions-documenting-substance-misuse",
        "Conditions documenting substance misuse",
    ),
    "cdc-sickle-cell-diseases": ("sickle-cell-diseases", "Sickle cell diseases"),
    "cdc-malignant-cancer-conditions": (
        "cdc-malignant-cancer-conditions",
        "Malignant cancer conditions",
    ),
    "cdc-conditions-likely-terminal": (
        "conditions-likely-terminal-for-opioid-prescribing",
        "Conditions likely terminal for opioid prescribing",
    ),
    "cdc-hospice-findings": ("hospice-finding", "Hospice findings"),
    "cdc-hospice-procedures": ("hospice-procedure", "Hospice procedures"),
    "cdc-limited-life-expectancy": (
        "limited-life-expectancy-conditions",
        "Limited life expectancy conditions",
    ),
    "cdc-urine-drug-screening-tests": (
        "all-urine-drug-screening-tests",
        "Urine drug screening tests",
    ),
}

# eCQM value sets shipped under their own names (files of ../shared/data/valuesets/ecqm).
ECQM_BUNDLED = [
    # clinical ASCVD (CMS347) and its procedures
    "myocardial-infarction",
    "acute-myocardial-infarction",
    "ischemic-stroke",
    "cerebrovascular-disease-stroke-or-tia",
    "atherosclerosis-and-peripheral-arterial-disease",
    "stable-and-unstable-angina",
    "ischemic-heart-disease-or-related-diagnoses",
    "coronary-artery-disease-no-mi",
    "pci",
    "percutaneous-coronary-intervention",
    "cabg-surgeries",
    # chronic disease
    "diabetes",
    "type-1-diabetes",
    "diagnosis-of-hypertension",
    "essential-hypertension",
    "heart-failure",
    "atrial-fibrillation-or-flutter",
    "chronic-kidney-disease-stage-5",
    "end-stage-renal-disease",
    "kidney-failure",
    "dialysis-services",
    "asthma",
    "osteoporosis",
    "osteoporosis-without-current-fracture",
    "familial-hypercholesterolemia",
    "hiv",
    "depression",
    "major-depression",
    "bipolar-disorder",
    "opioid-use-disorder",
    "tobacco-user",
    "current-tobacco-smoker",
    # pregnancy (CMS165 exclusion)
    "pregnancy",
    # end of life (every eCQM's exclusions)
    "hospice-diagnosis",
    "hospice-care-ambulatory",
    "hospice-care-referral-or-admission",
    "palliative-care-diagnosis",
    "palliative-care-intervention",
    "palliative-or-hospice-care",
    "advanced-illness",
    "frailty-diagnosis",
    "frailty-symptom",
    # organ absent (CMS124, CMS125, CMS130)
    "hysterectomy-with-no-residual-cervix",
    "congenital-or-acquired-absence-of-cervix",
    "bilateral-mastectomy",
    "history-of-bilateral-mastectomy",
    "unilateral-mastectomy-left",
    "unilateral-mastectomy-right",
    "status-post-left-mastectomy",
    "status-post-right-mastectomy",
    "malignant-neoplasm-of-colon",
    "total-colectomy",
    # screening tests and their look-backs
    "colonoscopy",
    "flexible-sigmoidoscopy",
    "fecal-occult-blood-test-fobt",
    "sdna-fit-test",
    "ct-colonography",
    "mammography",
    "pap-test",
    "hpv-test",
    "hba1c-laboratory-test",
    "ldl-cholesterol",
    # medications
    "ace-inhibitor-or-arb-or-arni",
    "medications-for-opioid-use-disorder-moud",
    "high-intensity-statin-therapy",
    "moderate-intensity-statin-therapy",
    "low-intensity-statin-therapy",
    # statin allergy (CMS347 exception): ingredient RxNorm and SNOMED CT substance codes
    "statin-allergen",
    "anticoagulants-for-all-indications",
]
ECQM_SYSTEMS = {"snomed": "snomed", "icd10cm": "icd10", "loinc": "loinc", "rxnorm": "rxnorm"}

SYSTEM_KEYS = {
    RXNORM: "rxnorm",
    "http://snomed.info/sct": "snomed",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10",
    "http://loinc.org": "loinc",
}

# Words dropped from an ingredient name (salts, esters, hydrates).
SALT_WORDS = {
    "hydrochloride",
    "hcl",
    "bitartrate",
    "sodium",
    "potassium",
    "dipotassium",
    "sulfate",
    "acetate",
    "succinate",
    "tartrate",
    "citrate",
    "phosphate",
    "hydrobromide",
    "maleate",
    "mesylate",
    "besylate",
    "fumarate",
    "calcium",
    "magnesium",
    "chloride",
    "dihydrate",
    "monohydrate",
    "anhydrous",
    "lactate",
    "propionate",
    "dipropionate",
    "furoate",
    "xinafoate",
    "tromethamine",
    "pentahydrate",
    "trihydrate",
    "bromide",
    "napsylate",
    "polistirex",
    "sulfosalicylate",
    "saccharate",
    "aspartate",
    "resinate",
    "mucate",
    "camsylate",
    "bisulfate",
    "gluconate",
    "disodium",
    "hemihydrate",
    "dimesylate",
    "terephthalate",
    "liposomal",
    "resin",
    "tincture",
    "matrix",
    "delivery",
}
# Ingredient names that contain a salt word but are the ingredient themselves.
KEEP_AS_IS = {
    "ferrous sulfate",
    "sodium oxybate",
    "magnesium sulfate",
    "potassium chloride",
    "sodium chloride",
    "calcium carbonate",
    "penicillin v potassium",
    "amphetamine aspartate",
    "amphetamine sulfate",
    "dextroamphetamine saccharate",
    "dextroamphetamine sulfate",
}
# Normalisations to the RxNorm ingredient (IN) name.
ALIASES = {
    "alendronic acid": "alendronate",
    "simvistatin": "simvastatin",
    "penicillin v potassium": "penicillin v",
    "amphetamine aspartate": "amphetamine",
    "amphetamine sulfate": "amphetamine",
    "dextroamphetamine saccharate": "dextroamphetamine",
    "dextroamphetamine sulfate": "dextroamphetamine",
    "clavulanate": "clavulanate",
    "zoledronic acid": "zoledronic acid",
    "valproic acid": "valproate",
    "24hr nicotine": "nicotine",
}
# Synthea codes whose display is a brand, pack or free text: ingredients by hand.
MANUAL = {
    "563026": "diazepam",  # Diazepam [Valium] (brand name)
    "757594": "norethindrone",  # Jolivette 28 Day Pack
    "751905": "ethinyl estradiol|norgestimate",  # Trinessa 28 Day Pack
    "1367439": "ethinyl estradiol|etonogestrel",  # NuvaRing
    "807283": "levonorgestrel",  # Mirena
    "315971": "furosemide",  # Lasix 40mg
    "198031": "nicotine",  # 24hr nicotine transdermal patch
    "316672": "simvastatin",  # Simvistatin 10 MG (sic)
    "406022": "fluoxetine",  # Fluoxetine 25MG
}
# Ingredient-level RXCUIs (term type IN) for the drug classes.
INGREDIENTS = {
    # opioids and related
    "7804": "oxycodone",
    "5489": "hydrocodone",
    "7052": "morphine",
    "2670": "codeine",
    "4337": "fentanyl",
    "3423": "hydromorphone",
    "7814": "oxymorphone",
    "6813": "methadone",
    "10689": "tramadol",
    "787390": "tapentadol",
    "1819": "buprenorphine",
    "6754": "meperidine",
    "6378": "levorphanol",
    "8001": "pentazocine",
    "1841": "butorphanol",
    "7242": "naloxone",
    "7243": "naltrexone",
    # benzodiazepines
    "3322": "diazepam",
    "596": "alprazolam",
    "6470": "lorazepam",
    "2598": "clonazepam",
    "10355": "temazepam",
    "2356": "chlordiazepoxide",
    "10767": "triazolam",
    "7781": "oxazepam",
    "6960": "midazolam",
    # cardiometabolic
    "83367": "atorvastatin",
    "36567": "simvastatin",
    "301542": "rosuvastatin",
    "42463": "pravastatin",
    "6472": "lovastatin",
    "41127": "fluvastatin",
    "861634": "pitavastatin",
    "6809": "metformin",
    "1545653": "empagliflozin",
    "1488564": "dapagliflozin",
    "1373458": "canagliflozin",
    "1992672": "ertugliflozin",
    "475968": "liraglutide",
    "1991302": "semaglutide",
    "1551291": "dulaglutide",
    "60548": "exenatide",
    "1440051": "lixisenatide",
    "2601723": "tirzepatide",
    "274783": "insulin glargine",
    "86009": "insulin lispro",
    "51428": "insulin aspart",
    "139825": "insulin detemir",
    "1670007": "insulin degludec",
    "253182": "insulin regular, human",
    "314684": "insulin isophane, human",
    "11289": "warfarin",
    "1364430": "apixaban",
    "1114195": "rivaroxaban",
    "1546356": "dabigatran",
    "1599538": "edoxaban",
    "29046": "lisinopril",
    "3827": "enalapril",
    "35296": "ramipril",
    "1998": "captopril",
    "18867": "benazepril",
    "35208": "quinapril",
    "50166": "fosinopril",
    "54552": "perindopril",
    "38454": "trandolapril",
    "52175": "losartan",
    "69749": "valsartan",
    "83818": "irbesartan",
    "214354": "candesartan",
    "321064": "olmesartan",
    "73494": "telmisartan",
    "1656328": "sacubitril",
    "6918": "metoprolol",
    "20352": "carvedilol",
    "19484": "bisoprolol",
    "9997": "spironolactone",
    "298869": "eplerenone",
    "5487": "hydrochlorothiazide",
    "2409": "chlorthalidone",
    "17767": "amlodipine",
    "4603": "furosemide",
    "3407": "digoxin",
    "11170": "verapamil",
    "32968": "clopidogrel",
    "1191": "aspirin",
    # respiratory
    "41126": "fluticasone",
    "19831": "budesonide",
    "1347": "beclomethasone",
    "108118": "mometasone",
    "274964": "ciclesonide",
    "435": "albuterol",
    "237159": "levalbuterol",
    "36117": "salmeterol",
    "25255": "formoterol",
    "1424884": "vilanterol",
    "274535": "tiotropium",
    # bone
    "46041": "alendronate",
    "73056": "risedronate",
    "115264": "ibandronate",
    "77655": "zoledronic acid",
    "993449": "denosumab",
    "72143": "raloxifene",
    "110634": "teriparatide",
    # other
    "4493": "fluoxetine",
    "36437": "sertraline",
    "32937": "paroxetine",
    "321988": "escitalopram",
    "2556": "citalopram",
    "42347": "bupropion",
    "7407": "nicotine",
    "591622": "varenicline",
    "161": "acetaminophen",
    "5640": "ibuprofen",
    "7258": "naproxen",
}

_STRENGTH = re.compile(r"^\d")
_PREFIX = re.compile(
    r"^(?:\{[^}]*\}\s*)?"
    r"(?:(?:abuse-deterrent|matrix delivery|\d+(?:\.\d+)?\s*(?:hr|actuat|ml|day|mg)\b)\s*)+",
    re.I,
)
DOSE_FORM_WORDS = {
    "oral",
    "tablet",
    "capsule",
    "solution",
    "injection",
    "injectable",
    "patch",
    "transdermal",
    "system",
    "spray",
    "nasal",
    "film",
    "pack",
    "extended",
    "release",
    "chewable",
    "prefilled",
    "syringe",
    "cartridge",
    "suspension",
    "sublingual",
    "buccal",
    "auto-injector",
    "metered",
    "dose",
    "inhaler",
}


def strip_salts(name: str) -> str:
    name = " ".join(name.lower().split())
    if name in KEEP_AS_IS:
        return ALIASES.get(name, name)
    words = [w for w in name.split() if w not in SALT_WORDS]
    out = " ".join(words) if words else name
    return ALIASES.get(out, out)


def ingredients_from_display(display: str) -> list[str]:
    """'Acetaminophen 325 MG / HYDROcodone Bitartrate 7.5 MG Oral Tablet [Norco]'
    -> ['acetaminophen', 'hydrocodone']."""
    text = re.sub(r"\[[^\]]*\]", "", display).strip()
    # packs: "{2 (fentanyl 0.6 MG/ACTUAT Mucosal Spray) } Pack" -> inner product(s)
    text = re.sub(r"\{\s*\d+\s*\(", " ", text)
    text = re.sub(r"[{}()]", " ", text)
    text = re.sub(r"^\s*NDA\d+\s*", "", text)
    text = " ".join(text.split())
    text = _PREFIX.sub("", text).strip()
    found: list[str] = []
    for part in re.split(r" / ", text):
        part = _PREFIX.sub("", part.strip()).strip()
        words = []
        for w in part.split():
            if _STRENGTH.match(w):
                break
            words.append(w)
        # no strength given: drop trailing dose-form words
        while words and words[-1].lower() in DOSE_FORM_WORDS:
            words.pop()
        if not words:
            continue
        name = strip_salts(" ".join(words))
        if name and name not in found:
            found.append(name)
    return found


def load_valueset(shared: Path, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (shared / "valuesets" / "opioid-cds-r4" / f"{name}.json").read_text()
    )
    return doc


def existing_rows(path: Path) -> dict[str, tuple[list[str], str]]:
    """The table as committed: rxcui -> (ingredients, display)."""
    rows: dict[str, tuple[list[str], str]] = {}
    if not path.exists():
        return rows
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) >= 2 and cells[0].isdigit():
            rows[cells[0]] = (cells[1].split("|"), cells[2] if len(cells) > 2 else "")
    return rows


def build(shared: Path) -> None:
    rows: dict[str, tuple[list[str], str]] = {}
    for vs in CDC_MED_VALUESETS:
        for c in load_valueset(shared, vs)["expansion"]["contains"]:
            if c["system"] != RXNORM:
                continue
            ings = ingredients_from_display(c["display"])
            if not ings:
                sys.exit(f"no ingredient parsed from {c['code']} {c['display']!r}")
            rows[c["code"]] = (ings, c["display"])
    for path in sorted(glob.glob(str(shared / "synthea" / "*.json"))):
        bundle = json.loads(Path(path).read_text())
        for entry in bundle.get("entry", []):
            res = entry.get("resource", {})
            if res.get("resourceType") != "MedicationRequest":
                continue
            for c in res.get("medicationCodeableConcept", {}).get("coding", []):
                if c.get("system") != RXNORM:
                    continue
                code, display = c["code"], c.get("display", "")
                ings = (
                    MANUAL[code].split("|") if code in MANUAL else ingredients_from_display(display)
                )
                if not ings:
                    sys.exit(f"no ingredient parsed from Synthea {code} {display!r}")
                rows[code] = (ings, display)
    for name in ECQM_BUNDLED:
        doc = json.loads((shared / "valuesets" / "ecqm" / f"{name}.json").read_text())
        for code in doc["codes"].get("rxnorm", []):
            display = doc["displays"].get(code) or doc["displays"].get(f"{RXNORM}|{code}", "")
            ings = ingredients_from_display(display)
            if not ings:
                sys.exit(f"no ingredient parsed from eCQM {name} {code} {display!r}")
            rows.setdefault(code, (ings, display))
    for code, name in INGREDIENTS.items():
        rows.setdefault(code, ([name], name))

    out = BUNDLED / "terminology" / "rxnorm_ingredients.tsv"
    # Rows already in the table win: many were added and verified by hand (their commits say
    # where from), some name an ingredient by route ("diclofenac (systemic)") that a display
    # cannot give. The script only adds codes the table does not have yet.
    rows.update(existing_rows(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("rxcui\tingredients\tdisplay\n")
        for code in sorted(rows, key=int):
            ings, display = rows[code]
            display = display.replace("\t", " ").strip()
            fh.write(f"{code}\t{'|'.join(ings)}\t{display}\n")
    sys.stdout.write(f"wrote {out.relative_to(ROOT)}: {len(rows)} codes\n")

    (BUNDLED / "valuesets").mkdir(parents=True, exist_ok=True)
    for name, (src, title) in CDC_BUNDLED.items():
        valueset = load_valueset(shared, src)
        codes: dict[str, list[str]] = {}
        for c in valueset["expansion"]["contains"]:
            key = SYSTEM_KEYS.get(c["system"])
            if key is None:
                continue
            if key == "icd10" and "-" in c["code"]:
                continue  # chapter/block ranges (C00-C96): covered by their member codes
            codes.setdefault(key, [])
            if c["code"] not in codes[key]:
                codes[key].append(c["code"])
        doc = {
            "name": name,
            "title": title,
            "source": f"CDC Opioid Prescribing Support IG (CC0-1.0), ValueSet {src}"
            f" ({valueset.get('url', '')}, version {valueset.get('version', 'n/a')})",
            "license": "CC0-1.0 (value set definition); member codes remain under their"
            " code systems' terms (SNOMED CT, LOINC, RxNorm, ICD-10-CM); see NOTICE.md",
            "codes": {k: sorted(v) for k, v in sorted(codes.items())},
        }
        write_valueset(doc, f"../shared/data/valuesets/opioid-cds-r4/{src}.json")


def write_valueset(doc: dict[str, Any], origin: str) -> None:
    """Write one bundled value set (`doc["name"]`.yaml), saying where it came from."""
    target = BUNDLED / "valuesets" / f"{doc['name']}.yaml"
    header = f"# Generated by scripts/build_terminology.py from {origin}. Do not edit by hand.\n"
    text = yaml.safe_dump(doc, sort_keys=False, width=100, default_flow_style=None)
    target.write_text(header + text, encoding="utf-8")
    counts = ", ".join(f"{key} {len(codes)}" for key, codes in doc["codes"].items())
    sys.stdout.write(f"wrote {target.relative_to(ROOT)}: {counts}\n")


def build_ecqm(shared: Path) -> None:
    """The eCQM value sets of ECQM_BUNDLED as bundled value sets (ICD-10-PCS, ICD-9-CM and
    CVX members are left out: the facts read none of them)."""
    index = json.loads((shared / "valuesets" / "ecqm" / "index.json").read_text())
    for name in ECQM_BUNDLED:
        doc = json.loads((shared / "valuesets" / "ecqm" / f"{name}.json").read_text())
        codes = {
            key: sorted(doc["codes"][system])
            for system, key in ECQM_SYSTEMS.items()
            if doc["codes"].get(system)
        }
        source = doc["source"]
        out = {
            "name": name,
            "title": doc["title"],
            "source": f"CMS eCQM value set {doc['title']} (VSAC OID {doc['oid']}, expansion"
            f" {doc['version']}), from {source['repo']}@{source['commit'][:7]} {source['path']}",
            "license": "CC0-1.0 (value set content); member codes remain under their code"
            " systems' terms (SNOMED CT, LOINC, RxNorm, ICD-10-CM); see NOTICE.md. CPT and"
            " HCPCS codes removed.",
            "codes": codes,
        }
        write_valueset(
            out, f"../shared/data/valuesets/ecqm/{name}.json ({index[name]['source_repo']})"
        )


def build_type_2_diabetes(shared: Path) -> None:
    """`type-2-diabetes`: the members of the eCQM Diabetes value set that are type 2 (SNOMED CT
    concepts whose display says type 2 or type II; ICD-10-CM E11*). The eCQM set mixes type 1,
    type 2, secondary and gestational diabetes; type 2 advice (metformin first) needs only
    type 2, and no standard type 2 set is in the reference data."""
    doc = json.loads((shared / "valuesets" / "ecqm" / "diabetes.json").read_text())
    displays = doc["displays"]
    snomed = [
        code
        for code in doc["codes"]["snomed"]
        if re.search(r"\btype (2|ii)\b", displays.get(code, "").lower())
    ]
    icd10 = [code for code in doc["codes"]["icd10cm"] if code.startswith("E11")]
    out = {
        "name": "type-2-diabetes",
        "title": "Type 2 diabetes mellitus",
        "source": "Derived by scripts/build_terminology.py from the CMS eCQM value set Diabetes"
        f" (VSAC OID {doc['oid']}, expansion {doc['version']}): its type 2 members",
        "license": "CC0-1.0 (value set content); member codes remain under their code"
        " systems' terms; see NOTICE.md",
        "codes": {"snomed": sorted(snomed), "icd10": sorted(icd10)},
    }
    write_valueset(out, "../shared/data/valuesets/ecqm/diabetes.json (its type 2 members)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        default=str(ROOT.parent / "shared" / "data"),
        help="path to the shared reference data (default ../shared/data)",
    )
    args = parser.parse_args(argv)
    build(Path(args.shared))
    build_ecqm(Path(args.shared))
    build_type_2_diabetes(Path(args.shared))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
