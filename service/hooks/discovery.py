"""The services Bedside offers, each declared once: its hook, the context model that hook's
calls must carry, the prefetch templates the matching core needs. A hook content can target
is named in `service/cards/hook_names.py`; `tests/hooks/test_discovery.py` checks that every
one of them is served here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.cards.hook_names import Hook
from service.hooks.prefetch import OPTIONAL_PREFETCH
from service.hooks.schemas import (
    EncounterStartContext,
    OrderSelectContext,
    OrderSignContext,
    PatientViewContext,
)

PATIENT_DATA_PREFETCH: dict[str, str] = {
    "patient": "Patient/{{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medications": "MedicationRequest?patient={{context.patientId}}&status=active",
    "observations": "Observation?patient={{context.patientId}}&category=laboratory,social-history",
    "procedures": "Procedure?patient={{context.patientId}}",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
}

_USAGE = (
    "Register the EHR with Bedside first (issuer, JWKS URL, tenant, FHIR base): every call must "
    "carry a JWT signed by the EHR. Cards link to Bedside's SMART app (/app/launch)."
)


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    id: str
    hook: Hook
    context: type[PatientViewContext]  # the model of the hook's `context`
    title: str
    description: str
    prefetch: dict[str, str] = field(default_factory=lambda: dict(PATIENT_DATA_PREFETCH))
    optional: frozenset[str] = OPTIONAL_PREFETCH  # prefetch keys that are not required

    def to_wire(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "prefetch": self.prefetch,
            "usageRequirements": _USAGE,
        }


SERVICES: tuple[ServiceDefinition, ...] = (
    ServiceDefinition(
        id="bedside-patient-view",
        hook="patient-view",
        context=PatientViewContext,
        title="Bedside: point-of-care learning for this patient",
        description="Suggests at most a couple of short guideline snippets or two-minute cases "
        "relevant to the patient in the chart, each earning accredited CME credit.",
    ),
    ServiceDefinition(
        id="bedside-order-select",
        hook="order-select",
        context=OrderSelectContext,
        title="Bedside: learning about the order being selected",
        description="Offers a short, cited guideline snippet about the medication being "
        "selected (for example opioid safety) with accredited CME credit.",
    ),
    ServiceDefinition(
        id="bedside-order-sign",
        hook="order-sign",
        context=OrderSignContext,
        title="Bedside: learning about the orders being signed",
        description="Offers a short, cited guideline snippet about the orders being signed "
        "(for example an opioid with an active benzodiazepine) with accredited CME credit.",
    ),
    ServiceDefinition(
        id="bedside-encounter-start",
        hook="encounter-start",
        context=EncounterStartContext,
        title="Bedside: learning at the start of the encounter",
        description="Suggests preventive-care guideline snippets relevant to the patient at the "
        "start of an encounter, with accredited CME credit.",
    ),
)

SERVICES_BY_ID: dict[str, ServiceDefinition] = {service.id: service for service in SERVICES}


def discovery_document() -> dict[str, Any]:
    return {"services": [service.to_wire() for service in SERVICES]}
