"""FastAPI dependencies shared by the routers: a unit-of-work session, the settings, admin auth.

Foundation-level: it reads the worker's runtime off `app.state` by attribute and imports no
domain package, so any package's routes may use it. Each package declares the dependencies
on its own components next to its routes; `service/runtime.py: RuntimeDep` (the whole
runtime) is for the SMART app only, which sits above the runtime."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.errors import BedsideError, NotFound
from service.keys import SigningKeys
from service.settings import Settings


def component(request: Request, name: str) -> Any:
    """One of the worker's long-lived objects (`Runtime.<name>`)."""
    return getattr(request.app.state.runtime, name)


# Dependencies are async on purpose: FastAPI runs a plain `def` dependency in its thread
# pool, a thread hop on every request (measured on the hook path: ~3% of the worker's CPU).
async def get_settings(request: Request) -> Settings:
    settings: Settings = component(request, "settings")
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = component(request, "sessions")
    return sessions


SessionsDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]


async def get_server_secret(request: Request) -> bytes:
    secret: bytes = component(request, "secret")
    return secret


ServerSecretDep = Annotated[bytes, Depends(get_server_secret)]


async def get_signing_keys(request: Request) -> SigningKeys:
    keys: SigningKeys = component(request, "signing_keys")
    return keys


SigningKeysDep = Annotated[SigningKeys, Depends(get_signing_keys)]


async def get_session(sessions: SessionsDep) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: commits when the handler succeeds, rolls back otherwise."""
    async with sessions() as session, session.begin():
        yield session


# scope="function": commit before the response is sent. FastAPI's default for a yield
# dependency ends it after the response, so a client could be told "claimed" for a write
# that a crash then loses (found by the PostgreSQL crash test).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def require_admin(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """The admin API exists only when BEDSIDE_ADMIN_TOKEN is configured (404 otherwise)."""
    configured = settings.admin_token
    if configured is None:
        raise NotFound("not found")
    expected = "Bearer " + configured.get_secret_value()
    if authorization is None or not hmac.compare_digest(authorization.encode(), expected.encode()):
        raise BedsideError("admin credential required", 401)


AdminDep = Annotated[None, Depends(require_admin)]
