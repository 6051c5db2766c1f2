"""The launch use case: /app/launch (EHR launch), /app/login (standalone) and /app/callback.

One orchestrator joins the registry, discovery, PKCE, the token exchange, id_token validation,
the learner key and the appContext -> a learning cycle. The access token is dropped as soon as
the token response has been read: Bedside asks for no FHIR scope and keeps no EHR token.

A standalone sign-in (the learner's own device, or "Sign in again" after signing out) asks
the EHR to authenticate the user again (`prompt=login`): otherwise an EHR session left open on
a shared workstation signs the next person in as the previous clinician without a word.
"""

from __future__ import annotations

import hmac
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.app_context import InvalidAppContext
from service.ehr.registry import EhrRegistration, EhrRegistry
from service.ehr.sealing import CLIENT_JWKS, CLIENT_SECRET, SealError, unseal
from service.errors import BedsideError
from service.identity import learner_key
from service.runtime import Runtime
from smart_app import learning
from smart_app.oauth import (
    ClientCredentials,
    OAuthError,
    authorize_url,
    check_response_issuer,
    discover,
    exchange_code,
    pkce_pair,
    validate_id_token,
)
from smart_app.session import AppSession, LaunchState, SessionStore, new_secret

log = logging.getLogger("bedside.smart")

EHR_LAUNCH_SCOPE = "launch openid fhirUser"
STANDALONE_SCOPE = "openid fhirUser"
# Why no cycle was started (shown on My learning; the texts live in pages.NOTICES).
NOTICE_EXPIRED = "expired"
NOTICE_INVALID = "invalid"
NOTICE_MISSING = "missing"


class LaunchError(BedsideError):
    """A launch that cannot go on; the message is shown to the clinician."""

    status_code = 400


@dataclass(frozen=True, slots=True)
class AuthorizationStart:
    """Where to send the browser, and the `state` its launch cookie is named after."""

    url: str
    state: str


@dataclass(frozen=True, slots=True)
class LaunchResult:
    """Who signed in, and where the launch leads: the card's learning cycle, the review
    question a recall card named, or My learning (with a notice when the card's context
    could not be used)."""

    session: AppSession
    cycle_id: str | None
    notice: str | None
    review_id: str | None = None

    @property
    def target(self) -> str:
        """The page to open after sign-in: only our own paths and notice codes, nothing
        from the request."""
        if self.notice:
            return f"/app/?notice={self.notice}"
        if self.review_id:
            return f"/app/reviews/{self.review_id}"
        return f"/app/cycles/{self.cycle_id}" if self.cycle_id else "/app/"


def redirect_uri(public_url: str) -> str:
    """Our one registered redirect URI, exactly."""
    return public_url + "/app/callback"


async def begin_ehr_launch(
    runtime: Runtime, *, iss: str, launch: str, bind: str
) -> AuthorizationStart:
    """Check `iss` against the registry (before any network call), discover the EHR's
    endpoints and return the authorization URL to redirect to."""
    registration = await runtime.registry.by_fhir_base(iss)
    if registration is None or not launch:
        raise LaunchError("This EHR is not registered with Bedside, or the launch is incomplete.")
    return await _authorize(runtime, registration, iss=iss, launch=launch, bind=bind)


async def begin_standalone_launch(
    runtime: Runtime, *, registration_id: str, bind: str
) -> AuthorizationStart:
    """A learner outside a chart signs in at a registered EHR chosen by its id."""
    registration = await find_registration(runtime.registry, registration_id)
    if registration is None or not registration.fhir_base:
        raise LaunchError("Choose one of the listed organisations.")
    return await _authorize(
        runtime, registration, iss=registration.fhir_base, launch=None, bind=bind
    )


async def launchable_registrations(registry: EhrRegistry) -> list[EhrRegistration]:
    """Registered EHRs a learner can sign in at (a FHIR base and a SMART client id)."""
    return [r for r in await registry.all() if r.fhir_base and r.client_ids]


async def find_registration(registry: EhrRegistry, registration_id: str) -> EhrRegistration | None:
    for registration in await launchable_registrations(registry):
        if str(registration.id) == registration_id:
            return registration
    return None


async def _authorize(
    runtime: Runtime, registration: EhrRegistration, *, iss: str, launch: str | None, bind: str
) -> AuthorizationStart:
    if not registration.client_ids:
        raise LaunchError("Bedside has no SMART client registered at this EHR.")
    try:
        config = await discover(runtime.http, runtime.state, iss)
    except OAuthError as exc:
        raise LaunchError(f"Sign-in is not possible right now: {exc}.") from exc
    verifier, challenge = pkce_pair()
    nonce = new_secret()
    client_id = registration.client_ids[0]
    state = await SessionStore(runtime.state, runtime.settings).save_launch(
        LaunchState(
            bind=bind,
            registration_id=str(registration.id),
            iss=iss,
            client_id=client_id,
            token_endpoint=config.token_endpoint,
            jwks_uri=config.jwks_uri,
            id_token_issuer=config.issuer or registration.issuer,
            nonce=nonce,
            code_verifier=verifier,
            iss_parameter_required=config.iss_parameter_supported,
            fresh_login_since=None if launch else time.time(),
        )
    )
    params = _authorize_params(
        runtime, client_id, iss=iss, launch=launch, state=state, nonce=nonce, challenge=challenge
    )
    return AuthorizationStart(url=authorize_url(config, params), state=state)


def _authorize_params(
    runtime: Runtime,
    client_id: str,
    *,
    iss: str,
    launch: str | None,
    state: str,
    nonce: str,
    challenge: str,
) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri(runtime.settings.public_url),
        "scope": EHR_LAUNCH_SCOPE if launch else STANDALONE_SCOPE,
        "state": state,
        "aud": iss,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if launch:
        params["launch"] = launch
    else:
        params["prompt"] = "login"  # never a silent sign-in into an EHR session left open
    return params


async def complete_launch(
    runtime: Runtime,
    db: AsyncSession,
    *,
    state: str,
    code: str,
    bind: str | None,
    response_iss: str | None = None,
) -> LaunchResult:
    """The callback: consume the state, check the response's issuer (RFC 9207), exchange the
    code, validate the id_token, sign the learner in and start the learning cycle the card's
    appContext names (if any), or, for a recall card, point at its review question."""
    launch = await SessionStore(runtime.state, runtime.settings).pop_launch(state)
    if launch is None or not bind or not hmac.compare_digest(launch.bind, bind):
        raise LaunchError(
            "This sign-in has expired or was already used. Please open Bedside again from the EHR."
        )
    registration = await find_registration(runtime.registry, launch.registration_id)
    if registration is None or not code:
        raise LaunchError("This sign-in cannot be completed. Please try again.")
    try:
        check_response_issuer(
            launch.id_token_issuer, response_iss, required=launch.iss_parameter_required
        )
        claims, app_context = await _tokens(runtime, registration, launch, code)
    except OAuthError as exc:
        log.warning("smart launch refused: %s", exc)
        raise LaunchError(f"Sign-in failed: {exc}.") from exc
    learner = learner_key(
        runtime.secret, registration.issuer, registration.tenant, str(claims["fhirUser"])
    )
    session = await SessionStore(runtime.state, runtime.settings).create(
        learner_key=learner, registration_id=str(registration.id), issuer=registration.issuer
    )
    landing = await _landing(runtime, db, learner, app_context)
    return LaunchResult(
        session=session, cycle_id=landing.cycle_id, notice=landing.notice, review_id=landing.review
    )


def _credentials(server_secret: bytes, registration: EhrRegistration) -> ClientCredentials:
    """The registration's client secret or client key set, unsealed (both are stored sealed:
    service/ehr/sealing.py; a value stored in clear by an older version is read as it is)."""
    return ClientCredentials(
        secret=_unsealed(server_secret, registration, registration.client_secret, CLIENT_SECRET),
        jwks=_unsealed(server_secret, registration, registration.client_jwks, CLIENT_JWKS),
    )


def _unsealed(
    server_secret: bytes, registration: EhrRegistration, stored: str | None, field: str
) -> str | None:
    if stored is None:
        return None
    try:
        return unseal(
            server_secret,
            stored,
            issuer=registration.issuer,
            tenant_key=registration.tenant or "",
            field=field,
        )
    except SealError:
        what = "client secret" if field == CLIENT_SECRET else "client key set"
        log.error("the %s of EHR %s cannot be unsealed", what, registration.id)
        raise LaunchError(
            f"Sign-in failed: this EHR's {what} must be registered again "
            "(the server secret changed)."
        ) from None


async def _tokens(
    runtime: Runtime, registration: EhrRegistration, launch: LaunchState, code: str
) -> tuple[dict[str, Any], object]:
    response = await exchange_code(
        runtime.http,
        registration,
        client_id=launch.client_id,
        credentials=_credentials(runtime.secret, registration),
        keys=runtime.signing_keys,
        token_endpoint=launch.token_endpoint,
        code=code,
        redirect_uri=redirect_uri(runtime.settings.public_url),
        code_verifier=launch.code_verifier,
    )
    id_token = str(response["id_token"])
    app_context = response.get("appContext")
    response.clear()  # the access token (and any refresh token) goes no further than here
    claims = await validate_id_token(
        runtime.jwt.key_sets,
        id_token,
        jwks_uri=launch.jwks_uri,
        issuer=launch.id_token_issuer,
        client_id=launch.client_id,
        nonce=launch.nonce,
        authenticated_after=launch.fresh_login_since,
    )
    return claims, app_context


@dataclass(frozen=True, slots=True)
class _Landing:
    cycle_id: str | None = None
    notice: str | None = None
    review: str | None = None


async def _landing(runtime: Runtime, db: AsyncSession, learner: str, raw: object) -> _Landing:
    """appContext -> the card's cycle (started with why the card was shown), a recall card's
    review question (no cycle: answering it is the whole visit), or a notice for My
    learning."""
    if raw is None or raw == "":
        return _Landing()
    if not isinstance(raw, str):
        return _Landing(notice=NOTICE_INVALID)
    try:
        context = runtime.app_context.verify(raw)
    except InvalidAppContext as exc:
        return _Landing(notice=NOTICE_EXPIRED if "expired" in str(exc) else NOTICE_INVALID)
    if context.learner and context.learner != learner:
        return _Landing(notice=NOTICE_INVALID)  # a card issued to another clinician
    if context.review_id is not None:
        review = _review_id(context.review_id)
        return _Landing(review=review) if review else _Landing(notice=NOTICE_INVALID)
    cycle_id = await learning.start_from_card(
        runtime.content,
        runtime.credit_rules,
        db,
        learner,
        item_id=context.item_id,
        card_uuid=context.card_uuid,
        shown_because=context.why,
    )
    return _Landing(cycle_id=cycle_id) if cycle_id else _Landing(notice=NOTICE_MISSING)


def _review_id(value: str) -> str | None:
    """A review question's id as our paths write it (a UUID), or None."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None
