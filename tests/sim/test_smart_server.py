"""The simulator's authorization server is strict: the end-to-end tests rely on it."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from ehr_simulator.state import register_launch
from smart_app.oauth import pkce_pair
from tests.sim.conftest import BEDSIDE, EHR

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _assertion(key: ECKey, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "bedside",
        "sub": "bedside",
        "aud": EHR + "/token",
        "exp": now + 240,
        "jti": f"jti-{time.monotonic_ns()}",
        **overrides,
    }
    return jwt.encode({"alg": "ES384", "kid": key.kid}, claims, key, algorithms=["ES384"])


async def _code(ehr: httpx.AsyncClient, sim_app: FastAPI, challenge: str, **overrides: str) -> str:
    practitioner = sim_app.state.config.patients.practitioners()[0]["id"]
    launch = register_launch(
        sim_app.state, patient=None, practitioner=practitioner, app_context="ctx"
    )
    params = {
        "response_type": "code",
        "client_id": "bedside",
        "redirect_uri": BEDSIDE + "/app/callback",
        "scope": "launch openid fhirUser",
        "state": "s" * 43,
        "aud": EHR + "/fhir",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "launch": launch,
        **overrides,
    }
    response = await ehr.get("/authorize", params=params)
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


async def _token(
    ehr: httpx.AsyncClient,
    code: str,
    verifier: str,
    assertion: str,
    redirect_uri: str = BEDSIDE + "/app/callback",
) -> httpx.Response:
    return await ehr.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


async def test_discovery_lists_the_endpoints(ehr: httpx.AsyncClient) -> None:
    config = (await ehr.get("/fhir/.well-known/smart-configuration")).json()
    assert config["token_endpoint"] == EHR + "/token"
    assert "S256" in config["code_challenge_methods_supported"]


async def test_token_with_id_token_and_app_context(
    ehr: httpx.AsyncClient, sim_app: FastAPI, bedside_key: ECKey
) -> None:
    verifier, challenge = pkce_pair()
    code = await _code(ehr, sim_app, challenge)
    response = await _token(ehr, code, verifier, _assertion(bedside_key))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["appContext"] == "ctx"
    keys = KeySet.import_key_set((await ehr.get("/jwks")).json())
    claims = jwt.decode(body["id_token"], keys, algorithms=["ES384"]).claims
    assert claims["aud"] == "bedside"
    assert claims["nonce"] == "n-1"
    assert claims["fhirUser"].startswith(EHR + "/fhir/Practitioner/")
    fhir = await ehr.get(
        claims["fhirUser"].removeprefix(EHR),
        headers={"Authorization": "Bearer " + body["access_token"]},
    )
    assert fhir.status_code == 200
    again = await _token(ehr, code, verifier, _assertion(bedside_key))
    assert again.json() == {"error": "invalid_grant"}  # codes are single use


@pytest.mark.parametrize(
    "override",
    [
        {"redirect_uri": BEDSIDE + "/app/callback/"},
        {"client_id": "other"},
        {"code_challenge_method": "plain"},
        {"aud": "https://elsewhere/fhir"},
    ],
)
async def test_authorize_refuses(
    ehr: httpx.AsyncClient, sim_app: FastAPI, override: dict[str, str]
) -> None:
    with pytest.raises(AssertionError):
        await _code(ehr, sim_app, pkce_pair()[1], **override)


async def test_token_refuses_a_wrong_verifier_or_redirect(
    ehr: httpx.AsyncClient, sim_app: FastAPI, bedside_key: ECKey
) -> None:
    verifier, challenge = pkce_pair()
    code = await _code(ehr, sim_app, challenge)
    wrong = await _token(ehr, code, pkce_pair()[0], _assertion(bedside_key))
    assert wrong.status_code == 400
    code = await _code(ehr, sim_app, challenge)
    moved = await _token(ehr, code, verifier, _assertion(bedside_key), "https://evil/cb")
    assert moved.status_code == 400


@pytest.mark.parametrize(
    "override",
    [
        {"aud": "https://ehr.test/other"},
        {"iss": "someone"},
        {"exp": int(time.time()) + 3600},
        {"exp": int(time.time()) - 10},
    ],
)
async def test_token_refuses_bad_client_assertions(
    ehr: httpx.AsyncClient, sim_app: FastAPI, bedside_key: ECKey, override: dict[str, Any]
) -> None:
    verifier, challenge = pkce_pair()
    code = await _code(ehr, sim_app, challenge)
    response = await _token(ehr, code, verifier, _assertion(bedside_key, **override))
    assert response.status_code == 401


async def test_token_refuses_a_replayed_assertion_or_foreign_key(
    ehr: httpx.AsyncClient, sim_app: FastAPI, bedside_key: ECKey
) -> None:
    from ehr_simulator.state import new_key

    verifier, challenge = pkce_pair()
    assertion = _assertion(bedside_key)
    assert (
        await _token(ehr, await _code(ehr, sim_app, challenge), verifier, assertion)
    ).status_code == 200
    replay = await _token(ehr, await _code(ehr, sim_app, challenge), verifier, assertion)
    assert replay.status_code == 401
    foreign = await _token(
        ehr, await _code(ehr, sim_app, challenge), verifier, _assertion(new_key())
    )
    assert foreign.status_code == 401


async def test_fhir_needs_a_token_and_searches_by_patient(
    ehr: httpx.AsyncClient, sim_app: FastAPI
) -> None:
    patient = sim_app.state.config.patients.patients()[0]["id"]
    assert (await ehr.get(f"/fhir/Patient/{patient}")).status_code == 401
    sim_app.state.sim.access_tokens.add("t")
    bundle = (
        await ehr.get(
            "/fhir/Condition", params={"patient": patient}, headers={"Authorization": "Bearer t"}
        )
    ).json()
    assert bundle["type"] == "searchset"
    assert all(
        e["resource"]["subject"]["reference"] == f"Patient/{patient}" for e in bundle["entry"]
    )


async def test_a_standalone_prompt_login_asks_who_signs_in(
    ehr: httpx.AsyncClient, sim_app: FastAPI
) -> None:
    """Bedside sends prompt=login on a standalone sign-in (after a sign-out, say): the
    simulator shows its sign-in page instead of approving whoever it picks first."""
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "bedside",
        "redirect_uri": BEDSIDE + "/app/callback",
        "scope": "openid fhirUser",
        "state": "s" * 43,
        "aud": EHR + "/fhir",
        "nonce": "n-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "login",
    }
    page = await ehr.get("/authorize", params=params)
    assert page.status_code == 200
    practitioners = sim_app.state.config.patients.practitioners()
    links = [
        link.replace("&amp;", "&")
        for link in re.findall(r'class="sign-in-as" href="([^"]+)"', page.text)
    ]
    assert len(links) == len(practitioners) > 1
    chosen = practitioners[-1]["id"]  # not the first: a choice, not a default
    link = next(link for link in links if f"practitioner={chosen}" in link)
    assert "prompt=" not in link
    approved = await ehr.get(link)
    assert approved.status_code == 302
    code = parse_qs(urlsplit(approved.headers["location"]).query)["code"][0]
    assert sim_app.state.sim.codes[code]["practitioner"] == chosen
