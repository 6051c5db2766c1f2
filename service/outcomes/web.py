"""Web plumbing of the education pages: who is asking (a lead's bearer token, or a signed
browser session), the session cookie, CSRF tokens, templates and security headers.

Two ways in, both ending at an active `EducationLead`:
- `EducationLeadDep`: `Authorization: Bearer bel_...` (scripts, the JSON and CSV files).
  A token that matches no active lead gets the same terse 404 as the admin API when it is
  off, so a probe learns nothing; hospital IT's admin token is not a lead's token and gets
  that 404 too.
- A browser signs in once by pasting its token (`/education/sign-in`) and then holds a
  cookie with the lead's id and an expiry (8 hours), signed with an HMAC under the server
  secret: HttpOnly, SameSite=Strict, Secure (and `__Host-` named) on https. The token
  itself is never put in a cookie, a log or a page. Every request looks the lead up again,
  so revoking a lead ends its sessions at their next click.

Forms carry a CSRF token: the HMAC of the session cookie (sign-out), or a random value
also set as a short-lived cookie before a session exists (sign-in: double submit).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from service.deps import ServerSecretDep, SessionDep, SettingsDep
from service.errors import BedsideError, NotFound
from service.outcomes import credentials
from service.outcomes.models import EducationLead
from service.settings import Settings

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

SESSION_COOKIE = "bedside_education"
FORM_COOKIE = "bedside_education_form"
HOST_PREFIX = "__Host-"
SESSION_SECONDS = 8 * 3600
FORM_SECONDS = 3600
SIGN_IN = "/education/sign-in"
DASHBOARD = "/education/"
_MAX_COOKIE = 300


@cache
def templates() -> Jinja2Templates:
    """The page templates, built on the first page (a worker that only answers hooks never
    imports jinja2)."""
    from fastapi.templating import Jinja2Templates

    return Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def headers() -> dict[str, str]:
    """Every education page: no framing (it is never embedded in an EHR), no scripts, no
    caching, no referrer carrying the period."""
    return {
        "Content-Security-Policy": (
            "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
            "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    """A page with the security headers."""
    response = templates().TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(headers())
    return response


# --- signed values --------------------------------------------------------------------------


def _mac(secret: bytes, purpose: bytes, text: str) -> str:
    """HMAC-SHA256 of `text` under a key of its own for `purpose`, derived from the server
    secret (so a session MAC is never valid as a CSRF token, nor as anything else)."""
    key = hmac.new(secret, b"bedside-education\x1f" + purpose, hashlib.sha256).digest()
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def session_value(secret: bytes, lead_id: uuid.UUID, expires_at: int) -> str:
    """The session cookie's value: `<lead id>.<expiry, unix seconds>.<mac>`."""
    payload = f"{lead_id.hex}.{expires_at}"
    return f"{payload}.{_mac(secret, b'session', payload)}"


def session_lead_id(secret: bytes, value: str | None, now: float) -> uuid.UUID | None:
    """The lead id of a genuine, unexpired session value, else None."""
    if not value or len(value) > _MAX_COOKIE or value.count(".") != 2:
        return None
    payload, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac, _mac(secret, b"session", payload)):
        return None
    lead_hex, _, expiry = payload.partition(".")
    try:
        if int(expiry) <= now:
            return None
        return uuid.UUID(hex=lead_hex)
    except ValueError:
        return None


def csrf_token(secret: bytes, session: str) -> str:
    """The CSRF token of the forms of a signed-in page: bound to its session cookie."""
    return _mac(secret, b"csrf", session)


def check_csrf(expected: str | None, given: object) -> None:
    if not expected or not isinstance(given, str) or not hmac.compare_digest(expected, given):
        raise BedsideError("This form has expired. Please reload the page and try again.", 403)


# --- cookies --------------------------------------------------------------------------------


def on_https(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def cookie_name(settings: Settings, name: str) -> str:
    """`__Host-` names on https: such a cookie cannot be planted by a sibling subdomain."""
    return HOST_PREFIX + name if on_https(settings) else name


def set_cookie(response: Response, settings: Settings, name: str, value: str, age: int) -> None:
    response.set_cookie(
        cookie_name(settings, name),
        value,
        max_age=age,
        path="/",
        httponly=True,
        secure=on_https(settings),
        samesite="strict",
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        cookie_name(settings, name),
        path="/",
        httponly=True,
        secure=on_https(settings),
        samesite="strict",
    )


def new_form_token() -> str:
    return secrets.token_urlsafe(32)


def start_session(
    response: Response, settings: Settings, secret: bytes, lead_id: uuid.UUID
) -> None:
    """Sign the lead in on this browser for 8 hours (and drop the sign-in form's cookie)."""
    expires = int(time.time()) + SESSION_SECONDS
    set_cookie(
        response, settings, SESSION_COOKIE, session_value(secret, lead_id, expires), SESSION_SECONDS
    )
    clear_cookie(response, settings, FORM_COOKIE)


# --- who is asking --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadSession:
    """A signed-in lead in one browser: the lead and the CSRF token of its forms."""

    lead_id: uuid.UUID
    name: str
    csrf: str


class SignInNeeded(BedsideError):
    """No valid session: the browser is sent to the sign-in page."""

    status_code = 303


async def lead_session(
    request: Request, db: SessionDep, settings: SettingsDep, secret: ServerSecretDep
) -> LeadSession | None:
    """The browser's session, if it is genuine, unexpired and its lead still active."""
    value = request.cookies.get(cookie_name(settings, SESSION_COOKIE))
    lead_id = session_lead_id(secret, value, time.time())
    if lead_id is None or value is None:
        return None
    lead = await credentials.active_lead(db, lead_id)
    if lead is None:
        return None
    return LeadSession(lead.id, lead.name, csrf_token(secret, value))


OptionalLeadDep = Annotated[LeadSession | None, Depends(lead_session)]


async def require_session(session: OptionalLeadDep) -> LeadSession:
    if session is None:
        raise SignInNeeded("Please sign in.")
    return session


LeadSessionDep = Annotated[LeadSession, Depends(require_session)]


def bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def bearer_lead(
    db: SessionDep, authorization: Annotated[str | None, Header()] = None
) -> EducationLead:
    """The active lead whose bearer token this is; any other caller gets a terse 404."""
    lead = await credentials.lead_by_token(db, bearer(authorization))
    if lead is None:
        raise NotFound("not found")
    return lead


EducationLeadDep = Annotated[EducationLead, Depends(bearer_lead)]


async def reader(
    db: SessionDep,
    session: OptionalLeadDep,
    authorization: Annotated[str | None, Header()] = None,
) -> uuid.UUID:
    """Who downloads a file: a bearer token when one is sent (404 if it is no lead's), else
    the browser's session (no session: to the sign-in page). The lead's id."""
    if authorization is not None:
        return (await bearer_lead(db, authorization)).id
    if session is None:
        raise SignInNeeded("Please sign in.")
    return session.lead_id


ReaderDep = Annotated[uuid.UUID, Depends(reader)]


class EducationPage(APIRoute):
    """Education pages answer an error with a page in plain words and a way on (a browser
    without a session goes to the sign-in page); a bearer caller's 404 stays a terse 404."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                response = RedirectResponse(SIGN_IN, status_code=303)
                response.headers["Cache-Control"] = "no-store"
                return response
            except BedsideError as exc:
                if "authorization" in request.headers:
                    raise  # an API caller: the usual {"detail": ...}
                return render(request, "error.html", exc.status_code, message=exc.message)

        return page_handler


def form_token(request: Request, settings: Settings) -> str | None:
    """The sign-in form's double-submit cookie, if the browser holds one."""
    value = request.cookies.get(cookie_name(settings, FORM_COOKIE))
    return value if value and len(value) <= _MAX_COOKIE else None
