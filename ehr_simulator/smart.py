"""The simulator's SMART authorization server: discovery, authorize, token and JWKS.

Strict on purpose, so that the end-to-end tests prove Bedside behaves: exact redirect URI,
PKCE S256, single-use codes, client_secret_basic or private_key_jwt (checked against
Bedside's published JWKS), and an id_token (ES384) with fhirUser, nonce, aud and iss.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ehr_simulator.data import patient_name
from ehr_simulator.ehr import TEMPLATES
from ehr_simulator.state import SimConfig, SimState

router = APIRouter()
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _parts(request: Request) -> tuple[SimConfig, SimState]:
    return request.app.state.config, request.app.state.sim


@router.get("/fhir/.well-known/smart-configuration")
async def smart_configuration(request: Request) -> dict[str, Any]:
    config, _ = _parts(request)
    return {
        "issuer": config.issuer,
        "jwks_uri": config.base_url + "/jwks",
        "authorization_endpoint": config.base_url + "/authorize",
        "token_endpoint": config.base_url + "/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "grant_types_supported": ["authorization_code"],
        "scopes_supported": ["openid", "fhirUser", "launch", "launch/patient"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-ehr",
            "launch-standalone",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "sso-openid-connect",
            "context-ehr-patient",
        ],
    }


@router.get("/jwks")
async def jwks(request: Request) -> dict[str, Any]:
    _, sim = _parts(request)
    return {"keys": [sim.key.as_dict(private=False)]}


def _refuse(message: str, status: int = 400) -> Response:
    return PlainTextResponse(message, status_code=status)


@router.get("/authorize")
async def authorize(
    request: Request,
    client_id: str = "",
    redirect_uri: str = "",
    response_type: str = "",
    scope: str = "",
    state: str = "",
    aud: str = "",
    code_challenge: str = "",
    code_challenge_method: str = "",
    nonce: str = "",
    launch: str = "",
    prompt: str = "",
    practitioner: Annotated[str, Query()] = "",
) -> Response:
    """Auto-approve: the launch's practitioner (or the chosen / first one when standalone).
    A standalone `prompt=login` without a chosen clinician answers the EHR's sign-in page
    first, as a real EHR would: never a silent sign-in as whoever was signed in before."""
    config, sim = _parts(request)
    if client_id != config.client_id or redirect_uri != config.redirect_uri:
        return _refuse("unknown client or redirect_uri")  # never redirect to an unknown URI
    if response_type != "code" or code_challenge_method != "S256" or not code_challenge:
        return _refuse("response_type=code and PKCE S256 required")
    if aud.rstrip("/") != config.fhir_base or not state or "openid" not in scope.split():
        return _refuse("aud must be the FHIR base; state and scope openid required")
    if not launch and "login" in prompt.split() and not practitioner:
        return _sign_in_page(request, config)
    context = _launch_context(config, sim, launch, scope, practitioner)
    if context is None:
        return _refuse("unknown launch")
    code = secrets.token_urlsafe(24)
    sim.codes[code] = {
        "redirect_uri": redirect_uri,
        "challenge": code_challenge,
        "nonce": nonce,
        "scope": scope,
        "expires": time.time() + 60,
        **context,
    }
    return RedirectResponse(
        redirect_uri + "?" + urlencode({"code": code, "state": state}), status_code=302
    )


def _sign_in_page(request: Request, config: SimConfig) -> Response:
    """Each clinician links back here with the same request, chosen and signed in."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "prompt"]
    practitioners = [
        (p["id"], patient_name(p), "/authorize?" + urlencode([*query, ("practitioner", p["id"])]))
        for p in config.patients.practitioners()
    ]
    return TEMPLATES.TemplateResponse(request, "login.html", {"practitioners": practitioners})


def _launch_context(
    config: SimConfig, sim: SimState, launch: str, scope: str, practitioner: str
) -> dict[str, Any] | None:
    """The registered EHR-launch context, or a standalone one (chosen or first practitioner)."""
    if launch:
        found = sim.launches.get(launch)
        return dict(found) if found is not None and "launch" in scope.split() else None
    ids = [p["id"] for p in config.patients.practitioners()]
    chosen = practitioner if practitioner in ids else ids[0]
    return {"patient": None, "appContext": None, "practitioner": chosen}


async def _client_ok(
    request: Request,
    config: SimConfig,
    authorization: str | None,
    assertion_type: str,
    assertion: str,
) -> bool:
    if config.client_auth == "client_secret_basic":
        expected = base64.b64encode(f"{config.client_id}:{config.client_secret}".encode())
        given = (authorization or "").removeprefix("Basic ").encode()
        return hmac.compare_digest(given, expected)
    if assertion_type != ASSERTION_TYPE or not assertion:
        return False
    return await _assertion_ok(request, config, assertion)


async def _assertion_ok(request: Request, config: SimConfig, assertion: str) -> bool:
    """private_key_jwt: Bedside's key (its JWKS), iss = sub = client_id, aud = token URL,
    exp within 5 minutes, fresh jti."""
    _, sim = _parts(request)
    response = await request.app.state.http.get(config.bedside_url + "/.well-known/jwks.json")
    try:
        token = jwt.decode(
            assertion, KeySet.import_key_set(response.json()), algorithms=["ES384", "RS384"]
        )
    except (JoseError, ValueError):
        return False
    claims, now = token.claims, time.time()
    jti = str(claims.get("jti", ""))
    valid = (
        claims.get("iss") == claims.get("sub") == config.client_id
        and claims.get("aud") == config.base_url + "/token"
        and "kid" in token.header
        and now < float(claims.get("exp", 0)) <= now + 300
        and bool(jti)
        and jti not in sim.used_jti
    )
    sim.used_jti.add(jti)
    return valid


def _pkce_ok(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode(), challenge)


@router.post("/token")
async def token(
    request: Request,
    grant_type: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    redirect_uri: Annotated[str, Form()] = "",
    code_verifier: Annotated[str, Form()] = "",
    client_assertion_type: Annotated[str, Form()] = "",
    client_assertion: Annotated[str, Form()] = "",
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    config, sim = _parts(request)
    if not await _client_ok(
        request, config, authorization, client_assertion_type, client_assertion
    ):
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    grant = sim.codes.pop(code, None)  # single use, whatever happens next
    if (
        grant_type != "authorization_code"
        or grant is None
        or grant["expires"] < time.time()
        or grant["redirect_uri"] != redirect_uri
        or not _pkce_ok(code_verifier, grant["challenge"])
    ):
        return JSONResponse({"error": "invalid_grant"}, status_code=400)
    access_token = secrets.token_urlsafe(32)
    sim.access_tokens.add(access_token)
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": grant["scope"],
        "id_token": _id_token(config, sim, grant),
    }
    if grant.get("patient"):
        body["patient"] = grant["patient"]
    if grant.get("appContext"):
        body["appContext"] = grant["appContext"]
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _id_token(config: SimConfig, sim: SimState, grant: dict[str, Any]) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": config.issuer,
        "sub": grant["practitioner"],
        "aud": config.client_id,
        "iat": now,
        "exp": now + 300,
        "nonce": grant["nonce"],
        "fhirUser": f"{config.fhir_base}/Practitioner/{grant['practitioner']}",
    }
    claims.update(sim.id_token_faults)
    if sim.unsigned_id_token:

        def segment(value: dict[str, Any]) -> str:
            import json

            raw = json.dumps(value).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims)}."
    key = sim.id_token_key or sim.key
    header = {"alg": "ES384", "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=["ES384"])
