"""The OAuth 2.0 / SMART client side: discovery, PKCE, token exchange, id_token validation.

Every network call goes through `service/outbound.py` with the runtime's client (redirects
never followed) under an overall deadline besides the client's per-read timeouts: an EHR
trickling one byte at a time never trips a per-read timeout but must not hold a sign-in.
Discovery documents are cached in the shared state store; the EHR's key set is read through
the ehr package's `KeySetCache`, as for the hook's JWTs.

The checks follow OpenID Connect Core 3.1.3.7 (id_token), RFC 9207 (the authorization
response's `iss`) and SMART App Launch 2 (PKCE S256); docs/security.md lists them.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey

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
    # RFC 9207: the EHR promises an `iss` parameter in its authorization responses.
    iss_parameter_supported: bool = False


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
    _check_pkce_methods(document)
    config = SmartConfiguration(
        authorization_endpoint=_http_url(
            document.get("authorization_endpoint"), "authorization_endpoint", iss
        ),
        token_endpoint=_http_url(document.get("token_endpoint"), "token_endpoint", iss),
        jwks_uri=_http_url(document.get("jwks_uri"), "jwks_uri", iss),
        issuer=document["issuer"] if isinstance(document.get("issuer"), str) else None,
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported")
        is True,
    )
    if not cached:
        await state.set("app:discovery:" + url, orjson.dumps(document), CACHE_TTL_SECONDS)
    return config


def _check_pkce_methods(document: dict[str, Any]) -> None:
    """Bedside always sends a PKCE S256 challenge: an EHR that lists its methods must list
    S256. An EHR that lists none is trusted to support it (SMART App Launch 2 requires S256
    of every server), or the sign-in would fail for servers that merely omit the field."""
    methods = document.get("code_challenge_methods_supported")
    if methods is None:
        return
    if not isinstance(methods, list) or "S256" not in methods:
        raise OAuthError(
            "the EHR does not support PKCE with S256 (code_challenge_methods_supported), "
            "which Bedside requires"
        )


def check_response_issuer(expected: str, given: str | None, *, required: bool) -> None:
    """RFC 9207: the authorization response's `iss` names the server we sent the learner to
    (a mix-up attack swaps in another server's response); required when discovery says the
    EHR sends it."""
    if given is None:
        if required:
            raise OAuthError("the EHR's authorization response names no issuer (iss)")
        return
    if given != expected:
        raise OAuthError("the authorization response came from another issuer")


def authorize_url(config: SmartConfiguration, params: dict[str, str]) -> str:
    """The authorization endpoint with our query parameters (existing query kept)."""
    separator = "&" if urlsplit(config.authorization_endpoint).query else "?"
    return config.authorization_endpoint + separator + urlencode(params)


AssertionKey = RSAKey | ECKey | OKPKey
_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What authenticates Bedside at an EHR's token endpoint, unsealed by the caller: the
    client secret (client_secret_basic) or the EHR-registered private key set (`--client-jwks`,
    private_key_jwt); neither means Bedside's own keys for private_key_jwt."""

    secret: str | None = field(default=None, repr=False)
    jwks: str | None = field(default=None, repr=False)


def assertion_key(client_jwks: str) -> tuple[AssertionKey, str, str]:
    """The signing key of an EHR-registered client key set, its algorithm and its kid: the
    first private asymmetric key meant for signatures. The algorithm is the key's own `alg`,
    else RS384 for RSA (SMART's asymmetric profile) and the curve's ES* for EC."""
    try:
        key_set = KeySet.import_key_set(orjson.loads(client_jwks))
    except (orjson.JSONDecodeError, JoseError, KeyError, TypeError, ValueError) as exc:
        raise OAuthError("this EHR's client key set cannot be read") from exc
    for key in key_set:
        if not isinstance(key, AssertionKey) or not key.is_private:
            continue
        if key.get("use", "sig") != "sig":
            continue
        alg = key.alg or _default_alg(key)
        if alg:
            return key, alg, key.kid or key.thumbprint()
    raise OAuthError("this EHR's client key set has no private signing key")


def _default_alg(key: AssertionKey) -> str | None:
    if isinstance(key, RSAKey):
        return "RS384"
    if isinstance(key, ECKey):
        return _CURVE_ALGORITHMS.get(str(key.get("crv")))
    return "EdDSA"


def _client_auth(
    registration: EhrRegistration,
    client_id: str,
    credentials: ClientCredentials,
    keys: SigningKeys,
    token_endpoint: str,
) -> ClientAuth:
    # authlib (~1 MB and 20 ms to import) only for the token exchange of a sign-in: a hook
    # worker need not load it to start.
    from authlib.oauth2.auth import ClientAuth
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    if registration.client_auth == "private_key_jwt":
        # The EHR-registered key set when there is one (the EHR knows only its public half),
        # else Bedside's own keys (published at /.well-known/jwks.json).
        if credentials.jwks:
            key, alg, kid = assertion_key(credentials.jwks)
        else:
            key, alg, kid = keys.current, SIGNING_ALG, keys.kid
        # A fresh auth object per exchange: authlib stores the jti in `claims`.
        method = PrivateKeyJWT(
            token_endpoint,
            alg=alg,
            claims={"exp": int(time.time()) + ASSERTION_TTL_SECONDS},
            headers={"kid": kid, "typ": "JWT"},
        )
        return ClientAuth(client_id, key, method)
    if registration.client_auth == "client_secret_basic":
        return ClientAuth(client_id, credentials.secret or "", "client_secret_basic")
    return ClientAuth(client_id, None, "none")


async def exchange_code(
    http: httpx.AsyncClient,
    registration: EhrRegistration,
    *,
    client_id: str,
    credentials: ClientCredentials,
    keys: SigningKeys,
    token_endpoint: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> dict[str, Any]:
    """POST the authorization code to the token endpoint; returns the token response,
    authenticated as the registration's `client_auth` says with `credentials`."""
    body = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        }
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    auth = _client_auth(registration, client_id, credentials, keys, token_endpoint)
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
    authenticated_after: float | None = None,
) -> dict[str, Any]:
    """Verify the id_token's signature (asymmetric algorithms only) and its claims (see
    `_check_claims`); returns them. The key comes from the EHR's key set through the same
    hardened cache the hook's JWT check uses (public signing keys only, size-capped,
    refreshed at most once per throttle window when the kid is unknown).
    `authenticated_after`: a sign-in that asked the EHR to authenticate the user again
    (`prompt=login`); an `auth_time` before it means the EHR resumed an older session."""
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
    claims = _check_claims(dict(token.claims), issuer=issuer, client_id=client_id, nonce=nonce)
    if authenticated_after is not None:
        _check_auth_time(claims, authenticated_after)
    return claims


def _check_claims(
    claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """OpenID Connect Core 3.1.3.7: `iss` exactly the issuer from discovery (or the
    registration), our client in `aud` (and in `azp`), the times, the nonce; SMART: fhirUser."""
    if claims.get("iss") != issuer:  # exact: no trailing-slash or case leniency
        raise OAuthError("the id_token was issued by someone else")
    _check_audience(claims, client_id)
    _check_times(claims, time.time())
    if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
        raise OAuthError("the id_token does not belong to this sign-in")
    if not isinstance(claims.get("fhirUser"), str) or not claims["fhirUser"]:
        raise OAuthError("the id_token names no fhirUser (scope fhirUser)")
    return claims


def _check_audience(claims: dict[str, Any], client_id: str) -> None:
    """Our client id in `aud`; several audiences need an `azp` (authorized party), and an
    `azp` must name us: a token issued to another client that merely lists us is not ours."""
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise OAuthError("the id_token is not meant for this app")
    azp = claims.get("azp")
    if azp is None and len(set(audiences)) > 1:
        raise OAuthError("the id_token names several audiences but no authorized party (azp)")
    if azp is not None and azp != client_id:
        raise OAuthError("the id_token was issued to another app (azp)")


def _numeric(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OAuthError(f"the id_token's {name} is not a time")
    return float(value)


def _check_times(claims: dict[str, Any], now: float) -> None:
    """Not expired, and neither issued (`iat`) nor valid from (`nbf`) in the future, each
    with the leeway for clock skew."""
    exp = _numeric(claims, "exp")
    if exp is None or exp + LEEWAY_SECONDS < now:
        raise OAuthError("the id_token has expired")
    for name in ("iat", "nbf"):
        value = _numeric(claims, name)
        if value is not None and value > now + LEEWAY_SECONDS:
            raise OAuthError(f"the id_token is not valid yet ({name} in the future)")


def _check_auth_time(claims: dict[str, Any], authenticated_after: float) -> None:
    """After `prompt=login`, an `auth_time` (when the EHR sends one) must be this sign-in's."""
    auth_time = _numeric(claims, "auth_time")
    if auth_time is not None and auth_time + LEEWAY_SECONDS < authenticated_after:
        raise OAuthError("the EHR did not ask for a new sign-in (auth_time)")
