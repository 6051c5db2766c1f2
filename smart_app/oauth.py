"""The OAuth 2.0 / SMART client side: discovery, PKCE, token exchange, id_token validation.

Every network call goes through `service/outbound.py` with the runtime's client (redirects
never followed) under an overall deadline besides the client's per-read timeouts: an EHR
trickling one byte at a time never trips a per-read timeout but must not hold a sign-in.
Discovery documents are cached in the shared state store; the EHR's key set is read through
the ehr package's `KeySetCache`, as for the hook's JWTs.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError

from service.ehr.keysets import KeySetCache, KeySetUnavailable
from service.ehr.registry import EhrRegistration
from service.keys import SIGNING_ALG, SigningKeys
from service.outbound import OutboundError, fetch
from service.shared_state import SharedState

if TYPE_CHECKING:
    from authlib.oauth2.auth import ClientAuth

ID_TOKEN_ALGORITHMS = ["ES384", "ES256", "ES512", "RS384", "RS256", "RS512", "PS384"]
CACHE_TTL_SECONDS = 300
ASSERTION_TTL_SECONDS = 300
LEEWAY_SECONDS = 60
# Whole-call deadlines (connect to last byte), whatever the EHR's pace; read at call time.
DISCOVERY_DEADLINE_SECONDS = 5.0
TOKEN_DEADLINE_SECONDS = 10.0
MAX_DOCUMENT_BYTES = 256 * 1024  # a discovery document or a token response


class OAuthError(Exception):
    """The EHR's authorization server answered something we cannot accept. The message is
    safe to show (it never contains a token or a code)."""


@dataclass(frozen=True, slots=True)
class SmartConfiguration:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    issuer: str | None


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge) pair."""
    import secrets

    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _http_url(value: object, name: str, iss: str) -> str:
    """An absolute URL; https whenever the EHR itself is https (plain http only for a local
    EHR such as the demo's simulator)."""
    schemes = ("https",) if urlsplit(iss).scheme == "https" else ("https", "http")
    if not isinstance(value, str) or urlsplit(value).scheme not in schemes:
        raise OAuthError(f"the EHR's SMART configuration has no usable {name}")
    return value


async def _get_json(http: httpx.AsyncClient, url: str, deadline_seconds: float) -> Any:
    try:
        answer = await fetch(
            http,
            "GET",
            url,
            max_bytes=MAX_DOCUMENT_BYTES,
            deadline=deadline_seconds,
            headers={"Accept": "application/json"},
        )
        return answer.json()
    except OutboundError as exc:
        raise OAuthError(_outbound_message(exc, "the EHR")) from exc


def _outbound_message(exc: OutboundError, who: str) -> str:
    """What a learner reads when a call to the EHR failed (never a URL or a body)."""
    if exc.reason in {"deadline", "unreachable"}:
        return f"{who} could not be reached"
    if exc.reason == "invalid_json":
        return f"{who} answered with invalid JSON"
    if exc.reason == "too_large":
        return f"{who} answered with a document too large to read"
    return f"{who} answered with an error"


async def discover(http: httpx.AsyncClient, state: SharedState, iss: str) -> SmartConfiguration:
    """{iss}/.well-known/smart-configuration, cached for a few minutes."""
    url = iss.rstrip("/") + "/.well-known/smart-configuration"
    cached = await state.get("app:discovery:" + url)
    document = (
        orjson.loads(cached) if cached else await _get_json(http, url, DISCOVERY_DEADLINE_SECONDS)
    )
    if not isinstance(document, dict):
        raise OAuthError("the EHR's SMART configuration is not a JSON object")
    config = SmartConfiguration(
        authorization_endpoint=_http_url(
            document.get("authorization_endpoint"), "authorization_endpoint", iss
        ),
        token_endpoint=_http_url(document.get("token_endpoint"), "token_endpoint", iss),
        jwks_uri=_http_url(document.get("jwks_uri"), "jwks_uri", iss),
        issuer=document["issuer"] if isinstance(document.get("issuer"), str) else None,
    )
    if not cached:
        await state.set("app:discovery:" + url, orjson.dumps(document), CACHE_TTL_SECONDS)
    return config


def authorize_url(config: SmartConfiguration, params: dict[str, str]) -> str:
    """The authorization endpoint with our query parameters (existing query kept)."""
    separator = "&" if urlsplit(config.authorization_endpoint).query else "?"
    return config.authorization_endpoint + separator + urlencode(params)


def _client_auth(
    registration: EhrRegistration,
    client_id: str,
    client_secret: str | None,
    keys: SigningKeys,
    token_endpoint: str,
) -> ClientAuth:
    # authlib (~1 MB and 20 ms to import) only for the token exchange of a sign-in: a hook
    # worker need not load it to start.
    from authlib.oauth2.auth import ClientAuth
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    if registration.client_auth == "private_key_jwt":
        # A fresh auth object per exchange: authlib stores the jti in `claims`.
        method = PrivateKeyJWT(
            token_endpoint,
            alg=SIGNING_ALG,
            claims={"exp": int(time.time()) + ASSERTION_TTL_SECONDS},
            headers={"kid": keys.kid, "typ": "JWT"},
        )
        return ClientAuth(client_id, keys.current, method)
    if registration.client_auth == "client_secret_basic":
        return ClientAuth(client_id, client_secret or "", "client_secret_basic")
    return ClientAuth(client_id, None, "none")


async def exchange_code(
    http: httpx.AsyncClient,
    registration: EhrRegistration,
    *,
    client_id: str,
    client_secret: str | None = None,
    keys: SigningKeys,
    token_endpoint: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> dict[str, Any]:
    """POST the authorization code to the token endpoint; returns the token response.
    `client_secret` (unsealed by the caller) authenticates client_secret_basic."""
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    auth = _client_auth(registration, client_id, client_secret, keys, token_endpoint)
    uri, headers, body = auth.prepare("POST", token_endpoint, headers, body)
    try:
        answer = await fetch(
            http,
            "POST",
            uri,
            max_bytes=MAX_DOCUMENT_BYTES,
            deadline=TOKEN_DEADLINE_SECONDS,
            headers=headers,
            content=body,
        )
    except OutboundError as exc:
        if exc.reason.startswith("status_"):
            raise OAuthError("the EHR refused the authorization code") from exc
        raise OAuthError(_outbound_message(exc, "the EHR's token endpoint")) from exc
    try:
        payload = answer.json()
    except OutboundError as exc:
        raise OAuthError("the EHR's token response is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("id_token"), str):
        raise OAuthError("the EHR's token response has no id_token (scope openid)")
    return payload


async def validate_id_token(
    key_sets: KeySetCache,
    id_token: str,
    *,
    jwks_uri: str,
    issuer: str,
    client_id: str,
    nonce: str,
) -> dict[str, Any]:
    """Verify the id_token's signature (asymmetric algorithms only) and its iss, aud, exp and
    nonce; returns its claims. The key comes from the EHR's key set through the same
    hardened cache the hook's JWT check uses (public signing keys only, size-capped,
    refreshed at most once per throttle window when the kid is unknown)."""
    try:
        header = jws.extract_compact(id_token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise OAuthError("the id_token is not a signed JWT") from exc
    if header.get("alg") not in ID_TOKEN_ALGORITHMS:  # unsigned, or a symmetric algorithm
        raise OAuthError("the id_token signature is not valid")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise OAuthError("the id_token names no signing key (kid)")
    try:
        key = await key_sets.find_key(issuer, jwks_uri, kid)
    except KeySetUnavailable as exc:
        raise OAuthError("the EHR could not be reached") from exc
    if key is None:
        raise OAuthError("the id_token signature is not valid")
    try:
        token = jwt.decode(id_token, key, algorithms=ID_TOKEN_ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise OAuthError("the id_token signature is not valid") from exc
    return _check_claims(dict(token.claims), issuer=issuer, client_id=client_id, nonce=nonce)


def _check_claims(
    claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str
) -> dict[str, Any]:
    now = time.time()
    if str(claims.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
        raise OAuthError("the id_token was issued by someone else")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise OAuthError("the id_token is not meant for this app")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp + LEEWAY_SECONDS < now:
        raise OAuthError("the id_token has expired")
    if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
        raise OAuthError("the id_token does not belong to this sign-in")
    if not isinstance(claims.get("fhirUser"), str) or not claims["fhirUser"]:
        raise OAuthError("the id_token names no fhirUser (scope fhirUser)")
    return claims
