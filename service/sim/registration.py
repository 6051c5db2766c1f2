"""Register the simulator with Bedside as an EHR (the demo and the end-to-end tests)."""

from __future__ import annotations

from sqlalchemy import delete

from service.ehr.models import EhrRecord
from service.ehr.sealing import seal
from service.runtime import Runtime
from service.sim.app import SimConfig


async def register_simulator(runtime: Runtime, config: SimConfig) -> None:
    """Issuer, JWKS URL, FHIR base and SMART client of the simulator, stored in Bedside's
    registry (the row `bedside ehr add` writes), replacing an earlier run's registration."""
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            delete(EhrRecord).where(EhrRecord.issuer == config.issuer, EhrRecord.tenant_key == "")
        )
        session.add(
            EhrRecord(
                issuer=config.issuer,
                tenant_key="",
                jwks_url=config.base_url + "/jwks",
                jku_allowlist=[],
                fhir_base=config.fhir_base,
                client_ids=[config.client_id],
                client_auth=config.client_auth,
                client_secret=seal(
                    runtime.secret, config.client_secret, issuer=config.issuer, tenant_key=""
                )
                if config.client_auth == "client_secret_basic"
                else None,
            )
        )
    runtime.registry.invalidate()
