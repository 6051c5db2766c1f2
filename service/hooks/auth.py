"""PLACEHOLDER (owned by the JWT helper): verification of the EHR's JWT."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.ehr.registry import EhrRegistration
from service.errors import Unauthorized


@dataclass(frozen=True, slots=True)
class VerifiedCaller:
    issuer: str
    tenant: str | None
    jti: str
    registration: EhrRegistration


class EhrJwtVerifier:
    def __init__(self, **kwargs: Any) -> None:
        self._deps = kwargs

    async def verify(self, authorization: str | None, audience: str,
                     endpoint: str) -> VerifiedCaller:
        del authorization, audience, endpoint
        raise Unauthorized("not_implemented")
