"""Web plumbing of the app pages: templates, security headers, the session and CSRF checks."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
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

    from smart_app.markdown import render_markdown

    built = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    built.env.filters["markdown"] = render_markdown
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


class PageRoute(APIRoute):
    """App pages show errors as a page (a clear message and a way on), never as JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except BedsideError as exc:
                runtime: Runtime = request.app.state.runtime
                message = exc.message
                if exc.status_code == 404:
                    message = "This learning cycle was not found in your account."
                return await render(
                    request,
                    runtime,
                    "error.html",
                    status_code=exc.status_code,
                    message=message,
                    session=None,
                )

        return page_handler


PageSessionDep = Annotated[AppSession, Depends(require_session)]
OptionalSessionDep = Annotated[AppSession | None, Depends(optional_session)]


def check_csrf(session: AppSession, token: str | None) -> None:
    """Every form carries the session's CSRF token."""
    if not token or not hmac.compare_digest(session.csrf, token):
        raise BedsideError("This form has expired. Please reload the page and try again.", 403)


__all__ = ["SESSION_COOKIE"]
