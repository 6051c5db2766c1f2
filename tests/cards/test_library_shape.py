"""The bundled library's breadth and shape (issue 16): enough snippets and cases, every
everyday primary-care topic covered, divergent authorities shown, and every item with
patients in the clinical panel who must and who must never get it."""

from __future__ import annotations

from collections import Counter

import pytest

from service.cards.library import ContentLibrary, load_library
from tests.cards.clinical_panel import load_panel

# The topics a clinician reviewer found missing, each with the items that now cover it.
TOPICS = {
    "chronic kidney disease (KDIGO 2024)": ["kdigo-ckd-sglt2", "kdigo-ckd-raasi-albuminuria"],
    "thyroid": ["subclinical-hypothyroidism-older-adults", "hypothyroidism-tsh-monitoring"],
    "anaemia": ["iron-deficiency-anemia-gi-evaluation", "oral-iron-once-daily"],
    "antibiotic stewardship: urinary tract": [
        "idsa-uncomplicated-cystitis-women",
        "idsa-asymptomatic-bacteriuria",
    ],
    "antibiotic stewardship: acute respiratory infection": [
        "acp-cdc-acute-bronchitis",
        "acp-cdc-acute-rhinosinusitis",
        "acp-cdc-pharyngitis",
    ],
    "low back pain": ["acp-low-back-pain-noninvasive"],
    "osteoarthritis": ["acr-osteoarthritis-knee-hip"],
    "gout": ["acr-gout-urate-lowering"],
    "migraine": ["acp-migraine-acute-treatment", "acp-migraine-prevention"],
    "contraception (US MEC 2024)": ["us-mec-chc-migraine-aura", "us-mec-chc-smoker-35"],
    "prenatal care": ["uspstf-aspirin-preeclampsia", "uspstf-gestational-diabetes-screening"],
    "prostate cancer screening": ["uspstf-prostate-cancer-screening"],
    "HIV PrEP": ["uspstf-prep-hiv"],
    "syphilis": ["uspstf-syphilis-screening"],
    "hepatitis B screening": ["cdc-hepatitis-b-screening"],
    "latent tuberculosis": ["uspstf-latent-tb-screening"],
    "obesity pharmacotherapy": ["obesity-pharmacotherapy"],
    "pediatrics and well-child care": [
        "uspstf-vision-screening-children",
        "uspstf-depression-screening-adolescents",
        "uspstf-high-bmi-children",
    ],
    "COVID-19 vaccination": ["acip-covid-19-vaccination"],
    "NSAIDs with anticoagulants or antiplatelets": ["nsaid-with-anticoagulant-or-antiplatelet"],
}

# Where authorities differ, both are shown (the two examples).
DIVERGENT = {
    "childhood immunization: CDC 2026 vs AAP": ("acip-hpv", {"CDC", "AAP"}),
    "LDL-C goals: ACC/AHA vs ESC": ("ascvd-statin-intensity", {"ACC/AHA", "ESC"}),
}


@pytest.fixture(scope="module")
def library() -> ContentLibrary:
    return load_library()


def test_breadth(library: ContentLibrary) -> None:
    counts = Counter(item.type for item in library)
    assert counts["guideline"] >= 120
    assert counts["case"] >= 45


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_every_missing_topic_is_covered(library: ContentLibrary, topic: str) -> None:
    for item_id in TOPICS[topic]:
        item = library.get(item_id)
        assert item is not None, f"{topic}: {item_id} is missing"
        assert item.objectives, item_id


@pytest.mark.parametrize("question", sorted(DIVERGENT))
def test_divergent_authorities_are_side_by_side(library: ContentLibrary, question: str) -> None:
    item_id, authorities = DIVERGENT[question]
    item = library.get(item_id)
    assert item is not None
    labels = " ".join(view.label for view in item.perspectives)
    assert all(name in labels for name in authorities), labels
    assert "differ" in item.summary.lower()


def test_every_case_teaches_through_questions_and_earns_for_its_time(
    library: ContentLibrary,
) -> None:
    for item in library:
        if item.case is None:
            continue
        total = len(item.case.questions)
        assert total >= 3, item.id
        assert all(len(question.options) >= 3 for question in item.case.questions), item.id
        assert item.case.passing_score <= (total - 1) / total + 1e-9, item.id
        assert item.case.minutes, item.id


def test_every_item_has_patients_who_must_and_must_never_get_it(library: ContentLibrary) -> None:
    cases = load_panel()
    must = {item_id for case in cases for item_id in case.must}
    never = {item_id for case in cases for item_id in case.never}
    ids = {item.id for item in library}
    assert sorted(ids - must) == [], "items no panel patient must get"
    assert sorted(ids - never) == [], "items no panel patient must never get"
    assert sorted((must | never) - ids) == [], "panel names unknown items"
