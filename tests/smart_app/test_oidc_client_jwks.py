"""`bedside ehr add --client-jwks FILE`: the EHR-registered private key set signs the
private_key_jwt client assertion (its kid, its algorithm), and it is stored sealed like a
client secret. Before, it was stored in clear and never used: Bedside signed with its own key
and the EHR refused the assertion. Real interop: test_oidc_provider.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.db.engine import make_engine, make_sessionmaker, transaction
from service.ehr import service
from service.ehr.registry import EhrRegistration
from service.ehr.sealing import CLIENT_JWKS, SealError, is_sealed, unseal
from service.keys import load_signing_keys
from service.settings import Settings
from smart_app.oauth import ClientCredentials, OAuthError, assertion_key, exchange_code

TOKEN_URL = "https://ehr.test/token"
SERVER_SECRET = b"a-server-secret-for-this-test-0123456789abcdef"


def _rsa_jwks() -> tuple[str, RSAKey]:
    key = RSAKey.generate_key(2048, parameters={"kid": "ehr-kid-7", "use": "sig"}, private=True)
    return json.dumps({"keys": [key.as_dict(private=True)]}), key


async def _assertion(
    registration: EhrRegistration, credentials: ClientCredentials, data_dir: Path
) -> str:
    """The client assertion Bedside sends to the token endpoint."""
    seen: list[httpx.Request] = []

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id_token": "x", "access_token": "y"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(token_endpoint)) as http:
        await exchange_code(
            http,
            registration,
            client_id="bedside-at-ehr",
            credentials=credentials,
            keys=load_signing_keys(None, data_dir),  # Bedside's own: not to be used here
            token_endpoint=TOKEN_URL,
            code="c",
            redirect_uri="https://bedside.test/app/callback",
            code_verifier="v",
        )
    form = dict(httpx.QueryParams(seen[0].content.decode()))
    return form["client_assertion"]


def _registration(client_jwks: str | None) -> EhrRegistration:
    return EhrRegistration(
        id=uuid.uuid4(),
        issuer="https://ehr.test",
        jwks_url="https://ehr.test/jwks",
        client_ids=("bedside-at-ehr",),
        client_auth="private_key_jwt",
        client_jwks=client_jwks,
    )


async def test_the_ehr_registered_key_signs_the_client_assertion(tmp_path: Path) -> None:
    text, key = _rsa_jwks()
    assertion = await _assertion(_registration(text), ClientCredentials(jwks=text), tmp_path)
    public = KeySet.import_key_set({"keys": [key.as_dict(private=False)]})
    token = jwt.decode(assertion, public, algorithms=["RS384"])
    assert token.header["kid"] == "ehr-kid-7"
    assert token.header["alg"] == "RS384"  # SMART's asymmetric profile for an RSA key
    claims = token.claims
    assert claims["iss"] == claims["sub"] == "bedside-at-ehr"
    assert claims["aud"] == TOKEN_URL
    assert claims["jti"]


def test_the_key_sets_own_algorithm_and_an_ec_curve_are_honoured() -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "e1"}, private=True)
    assert assertion_key(json.dumps({"keys": [ec.as_dict(private=True)]}))[1:] == ("ES256", "e1")
    rsa = RSAKey.generate_key(2048, parameters={"kid": "r1", "alg": "PS384"}, private=True)
    assert assertion_key(json.dumps({"keys": [rsa.as_dict(private=True)]}))[1:] == ("PS384", "r1")


def test_a_key_set_without_a_private_signing_key_is_refused() -> None:
    _, key = _rsa_jwks()
    public = json.dumps({"keys": [key.as_dict(private=False)]})
    with pytest.raises(OAuthError, match="no private signing key"):
        assertion_key(public)
    with pytest.raises(OAuthError, match="cannot be read"):
        assertion_key("not json")


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.resolved_database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_a_client_jwks_is_stored_sealed(sessions: async_sessionmaker[AsyncSession]) -> None:
    text, key = _rsa_jwks()
    async with transaction(sessions) as session:
        record = await service.add_ehr(
            session,
            issuer="https://ehr.example.org",
            jwks_url="https://ehr.example.org/j",
            tenant="t1",
            client_ids=["x"],
            client_jwks=text,
            server_secret=SERVER_SECRET,
        )
    stored = record.client_jwks
    assert stored is not None
    assert is_sealed(stored)
    assert str(key.as_dict(private=True)["d"]) not in stored
    context = {"issuer": "https://ehr.example.org", "tenant_key": "t1"}
    assert unseal(SERVER_SECRET, stored, **context, field=CLIENT_JWKS) == text
    with pytest.raises(SealError):  # bound to its field: it does not open as a client secret
        unseal(SERVER_SECRET, stored, **context)
    registration = EhrRegistration.from_record(record)
    assert stored not in repr(registration)


async def test_a_client_jwks_is_never_stored_in_clear(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    text, _ = _rsa_jwks()
    async with transaction(sessions) as session:
        with pytest.raises(ValueError, match="sealed"):
            await service.add_ehr(
                session,
                issuer="https://ehr.example.org",
                jwks_url="https://ehr.example.org/j",
                client_jwks=text,
            )
