"""Expected matches of the bundled library against the Synthea test patients.

One row per synthetic patient (patient-view at 2021-04-01, the last encounters being in
Feb-Mar 2021), plus order-sign rows built from a Synthea bundle as CDS Hooks requests. Each row
lists items that MUST apply and items that MUST NOT apply, with a short clinical reason.
Runs through the CLI (`bedside match --json`) as a content author would.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cli import main

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA = ROOT / "tests" / "fixtures" / "synthea"
BUNDLED = ROOT / "service" / "cards" / "bundled"
AT = "2021-04-01"

ADULT_SCREENING = (
    "uspstf-colorectal-cancer-screening",
    "uspstf-breast-cancer-screening",
    "uspstf-cervical-cancer-screening",
    "uspstf-lung-cancer-screening",
    "uspstf-aaa-screening",
    "uspstf-statin-primary-prevention",
    "uspstf-hypertension-screening",
    "uspstf-prediabetes-diabetes-screening",
    "uspstf-hepatitis-c-screening",
    "uspstf-depression-screening",
    "uspstf-osteoporosis-screening",
    "uspstf-tobacco-cessation",
    "uspstf-unhealthy-alcohol-screening",
    "uspstf-falls-prevention",
    "acip-pneumococcal-older-adults",
    "acip-zoster",
)
OPIOID_ORDER_ITEMS = ("cdc-opioid-benzodiazepine", "cdc-opioid-immediate-release-first")


def bundle_path(prefix: str) -> Path:
    (path,) = SYNTHEA.glob(f"{prefix}_*.json")
    return path


@dataclass(frozen=True)
class Row:
    patient: str  # file prefix in tests/fixtures/synthea
    reason: str
    must: tuple[str, ...]
    must_not: tuple[str, ...]
    hook: str = "patient-view"
    order: tuple[str, str] | None = None  # (RxNorm code, display) of a draft MedicationRequest

    @property
    def id(self) -> str:
        suffix = f"-{self.hook}-{self.order[0]}" if self.order else ""
        return f"{self.patient.split('_')[0]}{suffix}"


ROWS = [
    Row(
        "Angelic_Mueller",
        "42F, hypertension and hyperlipidemia on simvastatin, BMI 27.7: breast and cervical "
        "screening due; statin already active; too young for colorectal screening",
        must=(
            "uspstf-breast-cancer-screening",
            "uspstf-cervical-cancer-screening",
            "hypertension-treatment-target",
            "uspstf-prediabetes-diabetes-screening",
            "uspstf-hepatitis-c-screening",
            "uspstf-hiv-screening",
            "uspstf-folic-acid-supplementation",
            "uspstf-intimate-partner-violence-screening",
            "case-statin-primary-prevention",
        ),
        must_not=(
            "uspstf-statin-primary-prevention",
            "uspstf-hypertension-screening",
            "uspstf-colorectal-cancer-screening",
            "uspstf-aaa-screening",
            "uspstf-osteoporosis-screening",
            "uspstf-lung-cancer-screening",
            "uspstf-obesity-adults",
        ),
    ),
    Row(
        "Delbert_Williamson",
        "25M with epilepsy on brand diazepam: adult screening for his age only; no opioid, "
        "so no opioid chronic-therapy cards; male, so no female-only screening",
        must=(
            "uspstf-hypertension-screening",
            "uspstf-hiv-screening",
            "uspstf-unhealthy-alcohol-screening",
            "uspstf-depression-screening",
            "case-opioid-benzodiazepine-epilepsy",
        ),
        must_not=(
            "cdc-opioid-naloxone",
            "cdc-opioid-benzodiazepine",
            "uspstf-cervical-cancer-screening",
            "uspstf-chlamydia-gonorrhea-screening",
            "uspstf-colorectal-cancer-screening",
            "uspstf-statin-primary-prevention",
            "beers-benzodiazepine-older-adults",
            "uspstf-folic-acid-supplementation",
            "uspstf-intimate-partner-violence-screening",
        ),
    ),
    Row(
        "Gayla_Ferry",
        "83F with osteoporosis on alendronate, CAD and hypertension on simvastatin: treatment "
        "cards, no screening for what is diagnosed, too old for colorectal/breast screening",
        must=(
            "osteoporosis-treatment",
            "hypertension-treatment-target",
            "uspstf-falls-prevention",
            "acip-pneumococcal-older-adults",
            "acip-zoster",
            "ascvd-statin-intensity",
            "acip-rsv-older-adults",
            "case-osteoporosis-bisphosphonate-duration",
        ),
        must_not=(
            "uspstf-osteoporosis-screening",
            "uspstf-hypertension-screening",
            "uspstf-statin-primary-prevention",
            "uspstf-colorectal-cancer-screening",
            "uspstf-breast-cancer-screening",
            "uspstf-hepatitis-c-screening",
            "uspstf-cervical-cancer-screening",
            "uspstf-aspirin-primary-prevention",
        ),
    ),
    Row(
        "Kirsten_Witting",
        "72F, hypertension, CAD (secondary prevention, so no primary-prevention statin card), "
        "emphysema, no colonoscopy or DXA on record",
        must=(
            "uspstf-colorectal-cancer-screening",
            "uspstf-breast-cancer-screening",
            "uspstf-osteoporosis-screening",
            "hypertension-treatment-target",
            "uspstf-falls-prevention",
            "copd-maintenance-therapy",
            "ascvd-statin-intensity",
            "prediabetes-lifestyle-program",
            "case-copd-emphysema-inhalers",
        ),
        must_not=(
            "uspstf-statin-primary-prevention",
            "uspstf-hypertension-screening",
            "uspstf-cervical-cancer-screening",
            "uspstf-prediabetes-diabetes-screening",
            "uspstf-aaa-screening",
            "uspstf-anxiety-screening",
            "acip-rsv-older-adults",
        ),
    ),
    Row(
        "Liz_Conn",
        "34F with hypertension on HCTZ: cervical screening due; too young for breast, "
        "colorectal and diabetes screening",
        must=(
            "uspstf-cervical-cancer-screening",
            "hypertension-treatment-target",
            "uspstf-hiv-screening",
        ),
        must_not=(
            "uspstf-breast-cancer-screening",
            "uspstf-colorectal-cancer-screening",
            "uspstf-prediabetes-diabetes-screening",
            "uspstf-hypertension-screening",
            "uspstf-statin-primary-prevention",
        ),
    ),
    Row(
        "Lonnie_Von",
        "70M with osteoporotic fracture on hydrocodone-acetaminophen and alendronate, "
        "colonoscopy in 2020: naloxone and toxicology cards; colorectal screening suppressed; "
        "never smoker, so no AAA screening",
        must=(
            "cdc-opioid-naloxone",
            "cdc-opioid-urine-drug-testing",
            "osteoporosis-treatment",
            "uspstf-falls-prevention",
            "cdc-opioid-taper-caution",
            "case-opioid-fracture-older-adult",
        ),
        must_not=(
            "uspstf-colorectal-cancer-screening",
            "uspstf-aaa-screening",
            "uspstf-osteoporosis-screening",
            "uspstf-lung-cancer-screening",
            "cdc-opioid-use-disorder-treatment",
        ),
    ),
    Row(
        "Luigi_Wiegand",
        "5-month-old infant: no adult screening, too young for the influenza card",
        must=(),
        must_not=(
            *ADULT_SCREENING,
            "uspstf-hiv-screening",
            "acip-influenza-annual",
            "uspstf-hepatitis-c-screening",
            "acip-hpv",
            "acip-tdap-td",
            "case-pediatric-asthma-control",
        ),
    ),
    Row(
        "Margarita_Montalvo",
        "20F with asthma on fluticasone and hypertension: chlamydia screening and asthma "
        "card; at 20 she is too young for cervical screening (starts at 21)",
        must=(
            "uspstf-chlamydia-gonorrhea-screening",
            "asthma-ics-controller",
            "hypertension-treatment-target",
            "acip-influenza-annual",
            "case-chlamydia-young-woman",
            "uspstf-folic-acid-supplementation",
        ),
        must_not=(
            "uspstf-cervical-cancer-screening",
            "uspstf-breast-cancer-screening",
            "uspstf-hypertension-screening",
            "uspstf-statin-primary-prevention",
            "case-pediatric-asthma-control",
            "case-cervical-screening-interval",
        ),
    ),
    Row(
        "Max_Dicki",
        "78M with atrial fibrillation on warfarin and Alzheimer disease: anticoagulation "
        "review; too old for colorectal (75) and AAA (75) screening",
        must=(
            "af-anticoagulation-review",
            "uspstf-falls-prevention",
            "acip-zoster",
            "warfarin-inr-monitoring",
            "acip-rsv-older-adults",
            "case-af-warfarin-dementia",
        ),
        must_not=(
            "uspstf-colorectal-cancer-screening",
            "uspstf-aaa-screening",
            "uspstf-statin-primary-prevention",
            "uspstf-breast-cancer-screening",
            "heart-failure-gdmt",
            "beers-benzodiazepine-older-adults",
        ),
    ),
    Row(
        "Milan_Beatty",
        "47M with major depression on fluoxetine and prediabetes: depression and diabetes "
        "screening suppressed by the diagnoses; colorectal screening due",
        must=(
            "uspstf-colorectal-cancer-screening",
            "uspstf-hiv-screening",
            "depression-measurement-based-care",
            "prediabetes-lifestyle-program",
            "case-depression-long-term-ssri",
        ),
        must_not=(
            "uspstf-depression-screening",
            "uspstf-prediabetes-diabetes-screening",
            "t2dm-a1c-individualized-target",
            "uspstf-breast-cancer-screening",
        ),
    ),
    Row(
        "Patria_Schimmel",
        "46F with type 2 diabetes on metformin, no statin: diabetes cards and primary-"
        "prevention statin; diabetes screening suppressed; no cardiorenal card without "
        "ASCVD, heart failure or CKD",
        must=(
            "t2dm-a1c-individualized-target",
            "uspstf-statin-primary-prevention",
            "uspstf-breast-cancer-screening",
            "uspstf-cervical-cancer-screening",
            "uspstf-colorectal-cancer-screening",
            "t2dm-kidney-screening",
            "statin-diabetes-40-75",
            "uspstf-obesity-adults",
            "case-t2dm-new-diagnosis",
        ),
        must_not=(
            "t2dm-cardiorenal-protection",
            "uspstf-prediabetes-diabetes-screening",
            "hypertension-treatment-target",
            "uspstf-osteoporosis-screening",
            "t2dm-metformin-first-line",
            "prediabetes-lifestyle-program",
        ),
    ),
    Row(
        "Sherron_Kutch",
        "10-year-old girl with asthma on fluticasone: asthma and influenza cards only; "
        "children never get adult screening",
        must=(
            "asthma-ics-controller",
            "acip-influenza-annual",
            "case-pediatric-asthma-control",
            "acip-hpv",
        ),
        must_not=(
            *ADULT_SCREENING,
            "uspstf-hiv-screening",
            "uspstf-chlamydia-gonorrhea-screening",
            "uspstf-cervical-cancer-screening",
            "uspstf-folic-acid-supplementation",
            "uspstf-intimate-partner-violence-screening",
            "uspstf-anxiety-screening",
            "acip-tdap-td",
            "case-chlamydia-young-woman",
        ),
    ),
    Row(
        "Tom_Goodwin",
        "52M with prediabetes and hyperlipidemia on simvastatin, no colonoscopy: colorectal "
        "screening due; statin and diabetes screening suppressed",
        must=("uspstf-colorectal-cancer-screening", "acip-zoster", "uspstf-hypertension-screening"),
        must_not=(
            "uspstf-statin-primary-prevention",
            "uspstf-prediabetes-diabetes-screening",
            "uspstf-breast-cancer-screening",
            "t2dm-a1c-individualized-target",
        ),
    ),
    Row(
        "Tommy_Friesen",
        "73M with chronic heart failure on metoprolol and furosemide, colonoscopy in 2017: "
        "GDMT review; colorectal screening suppressed",
        must=(
            "heart-failure-gdmt",
            "uspstf-falls-prevention",
            "acip-pneumococcal-older-adults",
            "case-hf-gdmt-gaps",
        ),
        must_not=(
            "uspstf-colorectal-cancer-screening",
            "af-anticoagulation-review",
            "uspstf-aaa-screening",
            "t2dm-cardiorenal-protection",
            "heart-failure-nsaid-avoid",
        ),
    ),
    Row(
        "Trenton_Turner",
        "36M with prior drug overdose and migraine, BMI 29: diabetes screening due; no opioid "
        "or OUD diagnosis on record, so no opioid cards",
        must=(
            "uspstf-prediabetes-diabetes-screening",
            "uspstf-hiv-screening",
            "uspstf-hypertension-screening",
        ),
        must_not=(
            "cdc-opioid-naloxone",
            "cdc-opioid-use-disorder-treatment",
            "uspstf-colorectal-cancer-screening",
            "uspstf-lung-cancer-screening",
        ),
    ),
    Row(
        "Trey_Leffler",
        "63M who smokes daily and has alcoholism, colonoscopy in 2017: lung screening and "
        "cessation; alcohol screening suppressed by the diagnosis; too young for AAA",
        must=(
            "uspstf-lung-cancer-screening",
            "uspstf-tobacco-cessation",
            "uspstf-statin-primary-prevention",
            "alcohol-use-disorder-pharmacotherapy",
            "case-lung-screening-current-smoker",
            "case-alcohol-use-disorder-treatment",
        ),
        must_not=(
            "uspstf-unhealthy-alcohol-screening",
            "uspstf-colorectal-cancer-screening",
            "uspstf-aaa-screening",
            "uspstf-prediabetes-diabetes-screening",
        ),
    ),
    # order-sign rows: CDS Hooks request bodies built from a Synthea bundle
    Row(
        "Delbert_Williamson",
        "oxycodone 5 mg IR ordered for a patient on diazepam [Valium] (brand-level RxNorm): "
        "benzodiazepine warning; IR product, so no ER/LA warning",
        must=("cdc-opioid-benzodiazepine", "cdc-opioid-pdmp-review"),
        must_not=(
            "cdc-opioid-immediate-release-first",
            "uspstf-hiv-screening",
            "cdc-opioid-acute-pain-duration",  # an order-select card: duration is chosen then
            "case-opioid-benzodiazepine-epilepsy",  # cases never interrupt order signing
        ),
        hook="order-sign",
        order=("1049621", "oxycodone hydrochloride 5 MG Oral Tablet"),
    ),
    Row(
        "Delbert_Williamson",
        "oxycodone selected for an opioid-naive patient on diazepam: quantity/duration advice "
        "and the benzodiazepine warning while the order is being written",
        must=(
            "cdc-opioid-acute-pain-duration",
            "cdc-opioid-benzodiazepine",
            "cdc-opioid-pdmp-review",
        ),
        must_not=("cdc-opioid-immediate-release-first", "acip-influenza-annual"),
        hook="order-select",
        order=("1049621", "oxycodone hydrochloride 5 MG Oral Tablet"),
    ),
    Row(
        "Delbert_Williamson",
        "ER oxycodone ordered for an opioid-naive patient on diazepam: both the ER/LA and the "
        "benzodiazepine warnings",
        must=("cdc-opioid-benzodiazepine", "cdc-opioid-immediate-release-first"),
        must_not=(),
        hook="order-sign",
        order=("1049502", "12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet"),
    ),
    Row(
        "Lonnie_Von",
        "ER oxycodone ordered for a patient already on hydrocodone (not opioid-naive) and not "
        "on a benzodiazepine: neither order warning applies",
        must=("cdc-opioid-pdmp-review",),
        must_not=(*OPIOID_ORDER_ITEMS, "cdc-opioid-acute-pain-duration"),
        hook="order-sign",
        order=("1049502", "12 HR oxycodone hydrochloride 10 MG Extended Release Oral Tablet"),
    ),
    Row(
        "Max_Dicki",
        "non-opioid order (amoxicillin) for a patient on warfarin: no opioid order warnings",
        must=(),
        must_not=(*OPIOID_ORDER_ITEMS, "cdc-opioid-pdmp-review"),
        hook="order-sign",
        order=("308192", "Amoxicillin 500 MG Oral Tablet"),
    ),
    Row(
        "Tommy_Friesen",
        "ibuprofen ordered for a patient with chronic heart failure: NSAID warning",
        must=("heart-failure-nsaid-avoid",),
        must_not=OPIOID_ORDER_ITEMS,
        hook="order-sign",
        order=("310965", "Ibuprofen 200 MG Oral Tablet"),
    ),
    Row(
        "Max_Dicki",
        "ibuprofen ordered for a patient without heart failure: no NSAID-in-HF warning",
        must=(),
        must_not=("heart-failure-nsaid-avoid",),
        hook="order-sign",
        order=("310965", "Ibuprofen 200 MG Oral Tablet"),
    ),
]


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r} for r in resources],
    }


def order_request(
    bundle: dict[str, Any], code: str, display: str, hook: str = "order-sign"
) -> dict[str, Any]:
    """A CDS Hooks order request: the patient's record as prefetch, one draft order."""
    resources = [entry["resource"] for entry in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")

    def of(kind: str) -> list[dict[str, Any]]:
        return [r for r in resources if r["resourceType"] == kind]

    draft = {
        "resourceType": "MedicationRequest",
        "id": "draft-1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient['id']}"},
        "authoredOn": AT,
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": code,
                    "display": display,
                }
            ],
            "text": display,
        },
    }
    context_extra = {"selections": ["MedicationRequest/draft-1"]} if hook == "order-select" else {}
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/example",
            "patientId": patient["id"],
            **context_extra,
            "draftOrders": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": draft}],
            },
        },
        "prefetch": {
            "patient": patient,
            "conditions": _searchset(of("Condition")),
            "medications": _searchset(of("MedicationRequest")),
            "observations": _searchset(of("Observation")),
            "procedures": _searchset(of("Procedure")),
        },
    }


def run_match(
    path: Path, hook: str, capsys: pytest.CaptureFixture[str], content_dir: Path | None = None
) -> dict[str, dict[str, Any]]:
    argv = ["match", str(path), "--hook", hook, "--at", AT, "--json"]
    if content_dir is not None:
        argv += ["--content-dir", str(content_dir)]
    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr().out
    assert code in (0, None), out
    return {row["id"]: row for row in json.loads(out)}


@pytest.fixture(scope="module")
def item_ids() -> set[str]:
    ids = set()
    for path in (BUNDLED / "items").rglob("*.md"):
        ids.add(yaml.safe_load(path.read_text(encoding="utf-8").split("---\n", 2)[1])["id"])
    return ids


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_expected_matches(
    row: Row, capsys: pytest.CaptureFixture[str], tmp_path: Path, item_ids: set[str]
) -> None:
    for item in row.must + row.must_not:
        assert item in item_ids, f"table names an unknown item {item}"
    path = bundle_path(row.patient)
    if row.order:
        bundle = json.loads(path.read_text(encoding="utf-8"))
        body = order_request(bundle, *row.order, hook=row.hook)
        path = tmp_path / "request.json"
        path.write_text(json.dumps(body), encoding="utf-8")
    found = run_match(path, row.hook, capsys)
    missing = [item for item in row.must if item not in found]
    unexpected = [item for item in row.must_not if item in found]
    assert not missing, f"{row.reason}\nmissing: {missing}\nfound: {sorted(found)}"
    assert not unexpected, f"{row.reason}\nunexpected: {unexpected}"
    for item in row.must:
        assert found[item]["reasons"], f"{item} matched without reasons"


def test_every_row_patient_exists() -> None:
    assert len({row.patient for row in ROWS}) == len(list(SYNTHEA.glob("*.json"))) == 16


def test_expired_item_never_shows(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Copy the library, give the breast screening item an expiry in the past: it disappears."""
    library = tmp_path / "library"
    shutil.copytree(BUNDLED, library)
    item = next(library.rglob("uspstf-breast-cancer-screening.md"))
    text = item.read_text(encoding="utf-8")
    head, body = text.split("---\n", 2)[1:]
    front = yaml.safe_load(head)
    front["reviewed"] = "2019-01-01"
    front["expires"] = "2020-01-01"
    item.write_text(
        "---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + body, encoding="utf-8"
    )
    patient = bundle_path("Angelic_Mueller")
    assert "uspstf-breast-cancer-screening" in run_match(patient, "patient-view", capsys)
    expired = run_match(patient, "patient-view", capsys, content_dir=library)
    assert "uspstf-breast-cancer-screening" not in expired
    assert "uspstf-cervical-cancer-screening" in expired  # the rest of the library still works
