"""Everything a worker builds once at start-up, in one place (the composition root's output)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.app_context import AppContextSigner
from service.db.base import utcnow
from service.ehr.registry import EhrRegistry
from service.keys import SigningKeys
from service.settings import Settings
from service.shared_state import SharedState

if TYPE_CHECKING:
    from service.cards.library import ContentLibrary
    from service.credit.rules import CreditRules
    from service.ehr.auth import EhrJwtVerifier
    from service.hooks.gate import CallerGate
    from service.hooks.service import HookService
    from service.memory import LearnerMemory


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    state: SharedState
    secret: bytes
    signing_keys: SigningKeys
    app_context: AppContextSigner
    registry: EhrRegistry
    content: ContentLibrary
    credit_rules: CreditRules
    jwt: EhrJwtVerifier
    memory: LearnerMemory
    gate: CallerGate
    hooks: HookService
    # The clinical clock: the date patients are evaluated at (frozen for demos over
    # synthetic data; never used for token lifetimes).
    clock: Callable[[], datetime] = field(default=utcnow)


async def get_runtime(request: Request) -> Runtime:
    """The whole runtime: for the SMART app and the composition root only (packages below
    the runtime take their own components through `service/deps.py`)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
