"""The id_token's key comes through the ehr package's hardened key-set reader (the one the
hook's JWT check uses): public signing keys only, a size cap, one refetch per throttle window
for an unknown kid. Before, the SMART app kept a copy without the filter or the cap."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from joserfc import jwt
from joserfc.jwk import OctKey

from service.ehr.keysets import MAX_JWKS_BYTES, KeySetCache
from service.shared_state import MemoryState
from smart_app.oauth import OAuthError, validate_id_token
from tests.hooks.jwt_factory import generate_key

ISSUER = "https://ehr.test"
JWKS_URI = "https://ehr.test/jwks"


@pytest.fixture
async def key_sets() -> AsyncIterator[KeySetCache]:
    async with httpx.AsyncClient() as http:
        yield KeySetCache(http=http, state=MemoryState(), refresh_min_seconds=60)


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": "bedside",
        "exp": now + 300,
        "iat": now,
        "nonce": "n",
        "fhirUser": "Practitioner/1",
    }


async def _validate(key_sets: KeySetCache, token: str) -> dict[str, Any]:
    return await validate_id_token(
        key_sets, token, jwks_uri=JWKS_URI, issuer=ISSUER, client_id="bedside", nonce="n"
    )


async def test_a_token_signed_with_a_published_key_is_accepted(key_sets: KeySetCache) -> None:
    key = generate_key("ES384", kid="k1")
    token = jwt.encode({"alg": "ES384", "kid": "k1"}, _claims(), key, algorithms=["ES384"])
    with respx.mock:
        respx.get(JWKS_URI).respond(json={"keys": [key.as_dict(private=False)]})
        assert (await _validate(key_sets, token))["fhirUser"] == "Practitioner/1"


async def test_a_private_key_in_the_key_set_is_never_used(key_sets: KeySetCache) -> None:
    key = generate_key("ES384", kid="k1")  # published with its private half: dropped
    token = jwt.encode({"alg": "ES384", "kid": "k1"}, _claims(), key, algorithms=["ES384"])
    with respx.mock:
        respx.get(JWKS_URI).respond(json={"keys": [key.as_dict(private=True)]})
        with pytest.raises(OAuthError, match="could not be reached"):
            await _validate(key_sets, token)


async def test_a_symmetric_key_cannot_sign_an_id_token(key_sets: KeySetCache) -> None:
    secret = OctKey.generate_key(256, parameters={"kid": "k1"})
    token = jwt.encode({"alg": "HS256", "kid": "k1"}, _claims(), secret, algorithms=["HS256"])
    with respx.mock:
        route = respx.get(JWKS_URI).respond(json={"keys": [secret.as_dict(private=True)]})
        with pytest.raises(OAuthError, match="signature is not valid"):
            await _validate(key_sets, token)
    assert not route.called  # refused on its algorithm, before any fetch


async def test_an_oversized_key_set_is_refused(key_sets: KeySetCache) -> None:
    key = generate_key("ES384", kid="k1")
    token = jwt.encode({"alg": "ES384", "kid": "k1"}, _claims(), key, algorithms=["ES384"])
    padding = "x" * (MAX_JWKS_BYTES + 1)
    with respx.mock:
        respx.get(JWKS_URI).respond(json={"keys": [key.as_dict(private=False)], "pad": padding})
        with pytest.raises(OAuthError, match="could not be reached"):
            await _validate(key_sets, token)


async def test_an_id_token_without_a_kid_is_refused(key_sets: KeySetCache) -> None:
    key = generate_key("ES384", kid="k1")
    token = jwt.encode({"alg": "ES384"}, _claims(), key, algorithms=["ES384"])
    with pytest.raises(OAuthError, match=r"no signing key \(kid\)"):
        await _validate(key_sets, token)
