"""The codes that say whether a patient smokes or is pregnant: smoking-status and
pregnancy-status observation values, and the problem-list codes that override or add to them
(`facts._Collector` reads them while walking a patient's resources)."""

from __future__ import annotations

SMOKING_LOINC = "72166-2"
PREGNANCY_LOINC = "82810-3"
OWN_LOINCS = frozenset({SMOKING_LOINC, PREGNANCY_LOINC})  # the facts read these themselves
SMOKING_VALUES: dict[str, str] = {
    "449868002": "current",
    "428041000124106": "current",
    "77176002": "current",
    "65568007": "current",
    "428071000124103": "current",
    "428061000124105": "current",
    "8517006": "former",
    "266919005": "never",
}
PREGNANT_SNOMED = frozenset({"77386006", "72892002", "47200007", "16356006", "237238006"})
# ICD-10-CM codes that mean "pregnant now": supervision of (high-risk) pregnancy, pregnant
# state, weeks of gestation. Not every O code: childbirth and puerperium codes (O80-O92,
# O10.x3...) describe a woman who is no longer pregnant; a library's pregnancy value set
# (the eCQM one lists the trimester-specific O codes) adds the rest.
PREGNANT_ICD10 = ("O09", "Z331", "Z34", "Z3A")

# Active diagnoses that say the patient smokes now / smoked before (SNOMED CT, ICD-10-CM).
CURRENT_SMOKING = (
    frozenset({"449868002", "77176002", "65568007", "428041000124106", "56294008"}),
    ("F172", "Z720"),
)
FORMER_SMOKING = (frozenset({"8517006"}), ("Z87891",))


def smoking_status(codes: frozenset[str], display: str) -> str | None:
    """A smoking-status value as current, former or never (None: not recognised)."""
    for code in codes:
        if code in SMOKING_VALUES:
            return SMOKING_VALUES[code]
    for word, status in (
        ("never", "never"),
        ("former", "former"),
        ("ex-", "former"),
        ("smoker", "current"),
    ):
        if word in display:
            return status
    return None
