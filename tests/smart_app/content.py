"""Typed factories for the content items the SMART app tests learn from."""

from __future__ import annotations

from typing import Any

from service.cards.model import ContentItem

_BASE: dict[str, Any] = {
    "version": "2026.1",
    "summary": "A short summary for the card.",
    "source": {
        "organization": "US Preventive Services Task Force",
        "title": "Screening recommendation",
        "year": 2024,
        "url": "https://www.uspreventiveservicestaskforce.org/",
        "grade": "B",
        "license": "public-domain",
    },
    "authors": [
        {
            "name": "Content team",
            "role": "author",
            "disclosure": "No relevant financial relationships.",
        }
    ],
    "reviewed": "2026-06-01",
    "expires": "2028-06-01",
    "hooks": ["patient-view"],
    "applies": {},
    "question": "Which adults should be screened?",
    "detail_markdown": "Screen adults aged 40 to 70 **every 3 years**.",
}


def make_guideline(**overrides: Any) -> ContentItem:
    data = {
        **_BASE,
        "id": "test-guideline",
        "type": "guideline",
        "title": "Screening for prediabetes",
        "credit": {"format": "poc"},
        **overrides,
    }
    return ContentItem.model_validate(data)


def make_divergent(**overrides: Any) -> ContentItem:
    """A guideline on which two authorities differ, with objectives and a verified edition."""
    cdc = {
        "organization": "Centers for Disease Control and Prevention",
        "title": "Child and Adolescent Immunization Schedule",
        "year": 2026,
        "url": "https://www.cdc.gov/vaccines/hcp/imz-schedules/child-adolescent-age.html",
        "family": "cdc-child-schedule",
        "edition": "2026",
        "verified": "2026-12-01",
    }
    aap = {**cdc, "organization": "American Academy of Pediatrics", "family": "aap-schedule"}
    return make_guideline(
        id="test-views",
        title="Hepatitis B vaccine at birth",
        objectives=["Explain to parents where the CDC and AAP schedules differ."],
        source={**cdc, "note": "The AAP policy statement table was not readable."},
        perspectives=[
            {"label": "CDC (2026)", "position": "Birth dose by shared decision.", "source": cdc},
            {"label": "AAP (2026)", "position": "Every newborn within 24 hours.", "source": aap},
        ],
        **overrides,
    )


def make_case(**overrides: Any) -> ContentItem:
    case = {
        "vignette": "A 52-year-old man asks about screening.",
        "passing_score": 0.5,
        "questions": [
            {
                "id": "q1",
                "stem": "What do you recommend?",
                "options": [
                    {
                        "id": "a",
                        "text": "Screen now",
                        "correct": True,
                        "explanation": "He is in the recommended age range.",
                    },
                    {
                        "id": "b",
                        "text": "No screening",
                        "correct": False,
                        "explanation": "Screening is recommended at his age.",
                    },
                ],
            },
            {
                "id": "q2",
                "stem": "How often?",
                "options": [
                    {
                        "id": "a",
                        "text": "Every 3 years",
                        "correct": True,
                        "explanation": "The interval is 3 years when normal.",
                    },
                    {
                        "id": "b",
                        "text": "Every month",
                        "correct": False,
                        "explanation": "Far too often.",
                    },
                ],
            },
        ],
    }
    data = {
        **_BASE,
        "id": "test-case",
        "type": "case",
        "title": "A two-minute screening case",
        "credit": {"format": "enduring"},
        "case": case,
        **overrides,
    }
    return ContentItem.model_validate(data)
