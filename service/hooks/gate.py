"""Who may call a CDS service: the EHR's JWT verified (`service/ehr/auth.py`) and each
issuer's calls counted against the per-minute limit, before the body is read."""

from __future__ import annotations

import time
from dataclasses import dataclass

from service.ehr.auth import EhrJwtVerifier, VerifiedCaller
from service.errors import BedsideError
from service.observability import bind_log_context
from service.shared_state import SharedState


class TooManyRequests(BedsideError):
    status_code = 429


@dataclass(frozen=True, slots=True)
class CallerGate:
    verifier: EhrJwtVerifier
    state: SharedState
    public_url: str
    per_minute: int  # 0: no limit

    async def admit(self, authorization: str | None, path: str, endpoint: str) -> VerifiedCaller:
        """The verified caller of `path` (its URL is the JWT's audience); 401 or 429."""
        audience = f"{self.public_url}{path}"
        caller = await self.verifier.verify(authorization, audience, endpoint)
        bind_log_context(issuer=caller.issuer, tenant=caller.tenant, jti=caller.jti)
        if self.per_minute:
            now = time.time()
            window = int(now // 60)
            count = await self.state.incr_window(f"rl:{caller.issuer}:{window}", 61)
            if count > self.per_minute:
                retry_after = str(max(1, 60 - int(now % 60)))
                raise TooManyRequests(
                    "rate limit exceeded; retry later", headers={"Retry-After": retry_after}
                )
        return caller
