"""FastAPI dependencies shared by the routers: the runtime, a unit-of-work session, admin auth."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import BedsideError, NotFound
from service.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """Async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    hop on every request (measured on the hook path: ~3% of the worker's CPU)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits when the handler succeeds, rolls back otherwise."""
    async with runtime.sessions() as session, session.begin():
        yield session


# scope="function": commit before the response is sent. FastAPI's default for a yield
# dependency ends it after the response, so a client could be told "claimed" for a write
# that a crash then loses (found by the PostgreSQL crash test).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def require_admin(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """The admin API exists only when BEDSIDE_ADMIN_TOKEN is configured (404 otherwise)."""
    configured = runtime.settings.admin_token
    if configured is None:
        raise NotFound("not found")
    expected = "Bearer " + configured.get_secret_value()
    if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise BedsideError("admin credential required", 401)


AdminDep = Annotated[None, Depends(require_admin)]
