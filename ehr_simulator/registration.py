"""Register the simulator with Bedside as an EHR (the demo and the end-to-end tests)."""

from __future__ import annotations

from ehr_simulator.state import SimConfig
from service.ehr.service import add_ehr, remove_ehr_by_issuer
from service.errors import NotFound
from service.runtime import Runtime


async def register_simulator(runtime: Runtime, config: SimConfig) -> None:
    """Issuer, JWKS URL, FHIR base and SMART client of the simulator, stored in Bedside's
    registry as `bedside ehr add` does, replacing an earlier run's registration."""
    secret = config.client_secret if config.client_auth == "client_secret_basic" else None
    async with runtime.sessions() as session, session.begin():
        try:
            await remove_ehr_by_issuer(session, config.issuer)
        except NotFound:
            pass  # a first run: nothing to replace
        await add_ehr(
            session,
            issuer=config.issuer,
            jwks_url=config.base_url + "/jwks",
            fhir_base=config.fhir_base,
            client_ids=[config.client_id],
            client_auth=config.client_auth,
            client_secret=secret,
            server_secret=runtime.secret,
        )
    runtime.registry.invalidate()
