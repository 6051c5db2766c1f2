"""id_token claims, the authorization response's issuer and PKCE discovery, with forged
tokens and documents for what a real provider never sends (OIDC Core 3.1.3.7, RFC 9207,
SMART App Launch 2). The provider's happy paths are in test_oidc_provider.py."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import respx
from joserfc import jwt

from service.ehr.keysets import KeySetCache
from service.shared_state import MemoryState
from smart_app.oauth import (
    LEEWAY_SECONDS,
    OAuthError,
    check_response_issuer,
    discover,
    validate_id_token,
)
from tests.hooks.jwt_factory import generate_key

ISSUER = "https://ehr.test"
JWKS_URI = "https://ehr.test/jwks"
KEY = generate_key("ES384", kid="k1")


@pytest.fixture
async def key_sets() -> AsyncIterator[KeySetCache]:
    async with httpx.AsyncClient() as http:
        yield KeySetCache(http=http, state=MemoryState(), refresh_min_seconds=60)


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "bedside",
        "exp": now + 300,
        "iat": now,
        "nonce": "n",
        "fhirUser": "Practitioner/1",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


async def _validate(
    key_sets: KeySetCache, claims: dict[str, Any], authenticated_after: float | None = None
) -> dict[str, Any]:
    token = jwt.encode({"alg": "ES384", "kid": "k1"}, claims, KEY, algorithms=["ES384"])
    with respx.mock:
        respx.get(JWKS_URI).respond(json={"keys": [KEY.as_dict(private=False)]})
        return await validate_id_token(
            key_sets,
            token,
            jwks_uri=JWKS_URI,
            issuer=ISSUER,
            client_id="bedside",
            nonce="n",
            authenticated_after=authenticated_after,
        )


@dataclass(frozen=True)
class FromNow:
    """A time `seconds` from when the test runs (parameters are built at collection, which
    can be minutes earlier in a whole-suite run)."""

    seconds: int


def _resolved(changes: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    return {k: now + v.seconds if isinstance(v, FromNow) else v for k, v in changes.items()}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aud": ["bedside", "another-app"]}, "no authorized party"),
        ({"aud": ["bedside", "another-app"], "azp": "another-app"}, "issued to another app"),
        ({"azp": "another-app"}, "issued to another app"),
        ({"iss": ISSUER + "/"}, "issued by someone else"),
        ({"iss": ISSUER.upper()}, "issued by someone else"),
        ({"nbf": FromNow(LEEWAY_SECONDS + 120)}, "nbf in the future"),
        ({"iat": FromNow(LEEWAY_SECONDS + 120)}, "iat in the future"),
        ({"iat": "now"}, "iat is not a time"),
    ],
)
async def test_id_token_claims_are_refused(
    key_sets: KeySetCache, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(OAuthError, match=message):
        await _validate(key_sets, _claims(**_resolved(changes)))


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": ["bedside"]},  # one audience, in a list
        {"aud": ["bedside", "another-app"], "azp": "bedside"},
        {"azp": "bedside"},
        {"iat": FromNow(30), "nbf": FromNow(30)},  # within the leeway
        {"nbf": FromNow(-300)},  # Epic: nbf well before iat
    ],
)
async def test_id_token_claims_are_accepted(key_sets: KeySetCache, changes: dict[str, Any]) -> None:
    assert (await _validate(key_sets, _claims(**_resolved(changes))))["fhirUser"] == (
        "Practitioner/1"
    )


async def test_after_prompt_login_an_old_auth_time_is_refused(key_sets: KeySetCache) -> None:
    started = time.time()
    stale = _claims(auth_time=int(started) - 3600)  # the EHR resumed an hour-old session
    with pytest.raises(OAuthError, match="auth_time"):
        await _validate(key_sets, stale, authenticated_after=started)
    assert await _validate(key_sets, _claims(auth_time=int(started)), started)
    assert await _validate(key_sets, _claims(), started)  # an EHR that sends none
    assert await _validate(key_sets, stale)  # an EHR launch asks no new sign-in


def test_authorization_response_issuer() -> None:
    check_response_issuer(ISSUER, ISSUER, required=True)
    check_response_issuer(ISSUER, None, required=False)  # an EHR without RFC 9207
    with pytest.raises(OAuthError, match="another issuer"):
        check_response_issuer(ISSUER, "https://attacker.test", required=False)
    with pytest.raises(OAuthError, match="another issuer"):
        check_response_issuer(ISSUER, ISSUER + "/", required=True)
    with pytest.raises(OAuthError, match="no issuer"):
        check_response_issuer(ISSUER, None, required=True)


def _smart_configuration(**changes: Any) -> dict[str, Any]:
    document = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/authorize",
        "token_endpoint": ISSUER + "/token",
        "jwks_uri": JWKS_URI,
        "code_challenge_methods_supported": ["S256"],
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


@pytest.mark.parametrize("methods", [["plain"], [], "S256"])
async def test_discovery_without_s256_is_refused(methods: object) -> None:
    async with httpx.AsyncClient() as http:
        with respx.mock:
            respx.get(ISSUER + "/fhir/.well-known/smart-configuration").respond(
                json=_smart_configuration(code_challenge_methods_supported=methods)
            )
            with pytest.raises(OAuthError, match="PKCE with S256"):
                await discover(http, MemoryState(), ISSUER + "/fhir")


@pytest.mark.parametrize(
    ("changes", "iss_parameter"),
    [
        ({}, False),
        ({"code_challenge_methods_supported": None}, False),  # absent: S256 assumed (SMART 2)
        ({"authorization_response_iss_parameter_supported": True}, True),
        ({"authorization_response_iss_parameter_supported": "yes"}, False),
    ],
)
async def test_discovery_accepts(changes: dict[str, Any], iss_parameter: bool) -> None:
    async with httpx.AsyncClient() as http:
        with respx.mock:
            respx.get(ISSUER + "/fhir/.well-known/smart-configuration").respond(
                json=_smart_configuration(**changes)
            )
            config = await discover(http, MemoryState(), ISSUER + "/fhir")
    assert config.iss_parameter_supported is iss_parameter
