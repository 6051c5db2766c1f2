"""The simulator as a CDS Hooks client: signed JWT, prefetch from Bedside's templates."""

from __future__ import annotations

from joserfc import jwt
from joserfc.jwk import KeySet

from ehr_simulator.hooks_client import draft_naloxone, draft_oxycodone, hook_jwt, prefetch
from ehr_simulator.state import SimConfig, SimState, new_key


def test_hook_jwt_is_es384_for_the_service_url() -> None:
    config = SimConfig(base_url="https://ehr.test", bedside_url="https://bedside.test")
    sim = SimState(key=new_key())
    url = "https://bedside.test/cds-services/bedside-patient-view"
    token = hook_jwt(config, sim, url)
    keys = KeySet.import_key_set({"keys": [sim.key.as_dict(private=False)]})
    decoded = jwt.decode(token, keys, algorithms=["ES384"])
    assert decoded.header["kid"] == sim.key.kid
    assert decoded.claims["aud"] == url
    assert decoded.claims["iss"] == "https://ehr.test"
    assert decoded.claims["exp"] - decoded.claims["iat"] <= 300


def test_prefetch_is_filled_from_the_bundle() -> None:
    config = SimConfig(base_url="https://ehr.test", bedside_url="https://bedside.test")
    patient = config.patients.patients()[0]["id"]
    answered = prefetch(
        config,
        {
            "patient": "Patient/{{context.patientId}}",
            "meds": "MedicationRequest?patient={{context.patientId}}",
        },
        {"patientId": patient},
    )
    assert answered["patient"]["id"] == patient
    assert answered["meds"]["resourceType"] == "Bundle"


def test_draft_order_is_oxycodone_5_mg() -> None:
    order = draft_oxycodone("p1", "dr1")
    coding = order["medicationCodeableConcept"]["coding"][0]
    assert (order["status"], coding["code"]) == ("draft", "1049621")


def test_naloxone_draft_is_a_nasal_spray_rxnorm_knows_as_naloxone() -> None:
    from service.cards.library import load_library

    order = draft_naloxone("p1", "dr1")
    coding = order["medicationCodeableConcept"]["coding"][0]
    assert (order["status"], coding["code"]) == ("draft", "1725059")
    ingredients = load_library().terminology.ingredients_for([coding["code"]], "")
    assert "naloxone" in ingredients
