"""Web plumbing of the app pages: templates, security headers, the session, CSRF checks and
reading posted forms."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import Cookie, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from service.errors import BedsideError
from service.runtime import Runtime, RuntimeDep
from smart_app.session import SESSION_COOKIE, AppSession, SessionStore

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates


@cache
def templates() -> Jinja2Templates:
    """The page templates, built on the first page rendered: jinja2 and markdown-it (~3 MB
    and 60 ms to import) are not loaded by a worker that only answers hooks."""
    from fastapi.templating import Jinja2Templates

    from smart_app.markdown import render_markdown, without_verdict

    built = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    built.env.filters["markdown"] = render_markdown
    built.env.filters["without_verdict"] = without_verdict
    return built


class SignInRequired(BedsideError):
    """No valid session: the page asks the learner to open the app again."""

    status_code = 401


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


async def frame_ancestors(runtime: Runtime) -> list[str]:
    """'self', the registered EHRs' origins and the configured extra origins."""
    origins: list[str] = ["'self'"]
    for registration in await runtime.registry.all():
        for url in (registration.fhir_base, registration.issuer):
            origin = _origin(url)
            if origin and origin not in origins:
                origins.append(origin)
    origins.extend(o for o in runtime.settings.frame_ancestors if o not in origins)
    return origins


async def page_headers(runtime: Runtime) -> dict[str, str]:
    """Headers of every app page: a CSP that lets only registered EHRs frame us (no
    X-Frame-Options DENY), no caching, no referrer leaking the path."""
    csp = (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors "
        + " ".join(await frame_ancestors(runtime))
    )
    return {
        "Content-Security-Policy": csp,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }


async def render(
    request: Request, runtime: Runtime, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the security headers."""
    response = templates().TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(await page_headers(runtime))
    return response


async def optional_session(
    runtime: RuntimeDep,
    bedside_session: Annotated[str | None, Cookie()] = None,
) -> AppSession | None:
    return await SessionStore(runtime.state, runtime.settings).get(bedside_session)


async def require_session(
    session: Annotated[AppSession | None, Depends(optional_session)],
) -> AppSession:
    if session is None:
        raise SignInRequired("Your Bedside session has ended. Open Bedside again from the EHR.")
    return session


# The services' terse 404s, said for a person; a 404 with its own words keeps them.
_TERSE_NOT_FOUND = frozenset({"not found", "learning cycle not found"})


def page_message(exc: BedsideError) -> str:
    """What an error page says for `exc`."""
    if exc.status_code == 404 and exc.message in _TERSE_NOT_FOUND:
        return "This learning cycle was not found in your account."
    return exc.message


class PageRoute(APIRoute):
    """App pages show errors as a page (a clear message and a way on), never as JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except BedsideError as exc:
                runtime: Runtime = request.app.state.runtime
                message = page_message(exc)
                # signed in: the page leads back to My learning, not to a sign-in
                session = await optional_session(runtime, request.cookies.get(SESSION_COOKIE))
                return await render(
                    request,
                    runtime,
                    "error.html",
                    status_code=exc.status_code,
                    message=message,
                    session=session if exc.status_code != 401 else None,
                )

        return page_handler


PageSessionDep = Annotated[AppSession, Depends(require_session)]
OptionalSessionDep = Annotated[AppSession | None, Depends(optional_session)]


def check_csrf(session: AppSession, token: str | None) -> None:
    """Every form carries the session's CSRF token."""
    if not token or not hmac.compare_digest(session.csrf, token):
        raise BedsideError("This form has expired. Please reload the page and try again.", 403)


class FormInvalid(BedsideError):
    """A form with fields to fix: its page is shown again with what was typed and a message
    in plain words next to each field (`errors`: field name -> message)."""

    status_code = 400

    def __init__(self, errors: dict[str, str], values: dict[str, str]) -> None:
        super().__init__("Some answers need your attention: see the messages next to them.")
        self.errors = errors
        self.values = values


class FormReader:
    """A posted form read field by field. Text is trimmed but never cut: a value over its
    limit is an error shown next to its field, so nothing is lost without a word."""

    def __init__(self, form: Mapping[str, Any]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def csrf(self) -> str | None:
        value = self.form.get("csrf")
        return value if isinstance(value, str) else None

    def present(self, name: str) -> bool:
        return isinstance(self.form.get(name), str)

    def text(self, name: str, limit: int) -> str | None:
        """The trimmed value (None when empty or absent), or an error when too long."""
        value = self.form.get(name)
        if not isinstance(value, str):
            return None
        # browsers send a textarea's line breaks as CRLF but count each as one character
        value = value.replace("\r\n", "\n").strip()
        if len(value) > limit:
            self.fail(
                name,
                f"This is {len(value):,} characters long and the limit is {limit:,}: "
                "please shorten it (nothing was saved).",
            )
            return None
        return value or None

    def fail(self, name: str, message: str) -> None:
        """Record a field's problem (the first one found is the one shown)."""
        self.errors.setdefault(name, message)

    def values(self) -> dict[str, str]:
        """What was typed, to show the form again (never the CSRF token)."""
        return {k: v for k, v in self.form.items() if isinstance(v, str) and k != "csrf"}

    def check(self) -> None:
        """Raise FormInvalid when any field needs fixing."""
        if self.errors:
            raise FormInvalid(self.errors, self.values())


__all__ = ["SESSION_COOKIE"]
