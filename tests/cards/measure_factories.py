"""Practice measures for the core's tests: three measures (a concordant one on orders, a
screening one on a test ordered, an inverse one), the items that carry them, a small safety
policy whose kinds exclude palliative care, and the draft orders they look at."""

from __future__ import annotations

from typing import Any

from service.cards.model import Policy
from tests.cards.factories import item_data, med_request, service_request

MEASURE_POLICY = Policy.model_validate(
    {
        "facts": {
            "palliative-care": {
                "title": "Palliative care",
                "any": [{"conditions": {"any_of": {"valuesets": ["palliative"]}}}],
            },
        },
        "kinds": {
            "screening": {"title": "Screening", "excluded_by": ["palliative-care"]},
            "drug-safety": {"title": "Drug safety", "excluded_by": ["palliative-care"]},
        },
    }
)
MORPHINE = med_request("7052", "Morphine", status="draft")
NALOXONE = med_request("1725059", "naloxone hydrochloride 40 MG/ML Nasal Spray", status="draft")
MAMMOGRAM = service_request("24606-6", display="MG Breast Screening")
NALOXONE_MEASURE = {
    "title": "Naloxone offered with an opioid prescription",
    "hooks": ["order-sign"],
    "opportunity": {"orders": {"any_of": {"classes": ["opioid-analgesic"]}}},
    "concordant": {"orders": {"any_of": {"rxnorm": ["1725059"]}}},
}
SCREENING_MEASURE = {
    "title": "Mammography ordered when due",
    "hooks": ["patient-view", "order-sign"],
    "opportunity": {"age": {"min": 50}, "sex": "female"},
    "concordant": {"service_orders": {"any_of": {"loinc": ["24606-6"]}}},
}
COMBINATION_MEASURE = {
    "title": "Opioid not ordered with a benzodiazepine",
    "hooks": ["order-sign"],
    "opportunity": {"orders": {"any_of": {"classes": ["opioid-analgesic"]}}},
    "discordant": {"medications": {"any_of": {"classes": ["benzodiazepine"]}}},
}


def measure_items() -> list[dict[str, Any]]:
    """The items carrying the three measures, and one without a measure."""
    order_hooks = ["patient-view", "order-sign"]
    return [
        item_data(
            id="naloxone", kinds=["drug-safety"], hooks=order_hooks, measure=NALOXONE_MEASURE
        ),
        item_data(
            id="mammography", kinds=["screening"], hooks=order_hooks, measure=SCREENING_MEASURE
        ),
        item_data(
            id="combination",
            kinds=["drug-safety"],
            hooks=["order-select", "order-sign"],
            measure=COMBINATION_MEASURE,
        ),
        item_data(id="no-measure", kinds=["screening"]),
    ]
