"""The simulator as a CDS Hooks client: discovery, prefetch from the bundle, a signed JWT.

The JWT is what an EHR sends (ES384 with its own key, iss = the EHR, aud = the service URL,
short expiry, fresh jti); prefetch is filled from Bedside's own templates.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

import httpx
from joserfc import jwt

from ehr_simulator.state import SimConfig, SimState

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
OXYCODONE = {
    "system": RXNORM,
    "code": "1049621",
    "display": "oxycodone hydrochloride 5 MG Oral Tablet",
}
NALOXONE = {  # 4 mg in 0.1 mL per spray (Narcan's strength)
    "system": RXNORM,
    "code": "1725059",
    "display": "naloxone hydrochloride 40 MG/ML Nasal Spray",
}
_TEMPLATE = re.compile(r"\{\{\s*context\.(\w+)\s*\}\}")


class HookError(Exception):
    """Bedside did not answer the hook call as expected (shown on the simulator's page)."""


def hook_jwt(config: SimConfig, sim: SimState, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": config.issuer,
        "sub": config.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(16),
    }
    header = {"alg": "ES384", "typ": "JWT", "kid": sim.key.kid}
    return jwt.encode(header, claims, sim.key, algorithms=["ES384"])


def draft_order(
    coding: dict[str, str], dosage: str, patient_id: str, practitioner_id: str
) -> dict[str, Any]:
    """A draft MedicationRequest for one RxNorm product, as an EHR sends it at order-sign."""
    return {
        "resourceType": "MedicationRequest",
        "id": f"draft-{uuid.uuid4().hex[:12]}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [coding], "text": coding["display"]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "requester": {"reference": f"Practitioner/{practitioner_id}"},
        "dosageInstruction": [{"text": dosage}],
    }


def draft_oxycodone(patient_id: str, practitioner_id: str) -> dict[str, Any]:
    """Oxycodone hydrochloride 5 MG Oral Tablet (RxNorm 1049621)."""
    return draft_order(
        OXYCODONE, "1 tablet every 6 hours as needed for pain", patient_id, practitioner_id
    )


def draft_naloxone(patient_id: str, practitioner_id: str) -> dict[str, Any]:
    """Naloxone 4 mg nasal spray (RxNorm 1725059), offered with an opioid prescription."""
    return draft_order(
        NALOXONE,
        "1 spray in one nostril for suspected opioid overdose; may repeat in 2-3 minutes",
        patient_id,
        practitioner_id,
    )


def _fill(template: str, context: dict[str, Any]) -> str:
    return _TEMPLATE.sub(lambda m: str(context.get(m.group(1), "")), template)


def prefetch(
    config: SimConfig, templates: dict[str, str], context: dict[str, Any]
) -> dict[str, Any]:
    """Each prefetch template answered from the bundled patients."""
    answered: dict[str, Any] = {}
    for key, template in templates.items():
        answered[key] = config.patients.query(_fill(template, context))
    return answered


async def _service_for(http: httpx.AsyncClient, config: SimConfig, hook: str) -> dict[str, Any]:
    response = await http.get(config.bedside_url + "/cds-services")
    if response.status_code != 200:
        raise HookError(f"Bedside discovery answered {response.status_code}")
    for service in response.json().get("services", []):
        if service.get("hook") == hook:
            return dict(service)
    raise HookError(f"Bedside offers no {hook} service")


async def call_hook(
    http: httpx.AsyncClient, config: SimConfig, sim: SimState, hook: str, context: dict[str, Any]
) -> list[dict[str, Any]]:
    """Fire a hook at Bedside and return its cards."""
    service = await _service_for(http, config, hook)
    url = f"{config.bedside_url}/cds-services/{service['id']}"
    body = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": config.fhir_base,
        "context": context,
        "prefetch": prefetch(config, service.get("prefetch", {}), context),
    }
    response = await http.post(
        url, json=body, headers={"Authorization": "Bearer " + hook_jwt(config, sim, url)}
    )
    if response.status_code != 200:
        raise HookError(f"Bedside answered {response.status_code} to {hook}")
    cards: list[dict[str, Any]] = response.json().get("cards", [])
    return cards
