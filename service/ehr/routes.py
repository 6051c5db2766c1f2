"""Admin HTTP API of the EHR registry (hospital IT). Exists only with BEDSIDE_ADMIN_TOKEN.

Each change runs in its own unit of work and invalidates the worker's registry cache only
after the commit, so that no request reloads the registry half-way.
"""

from __future__ import annotations

import uuid

import orjson
from fastapi import APIRouter, Response

from service.db.engine import transaction
from service.deps import AdminDep, RuntimeDep
from service.ehr import service
from service.ehr.schemas import EhrCreate, EhrList, EhrOut

router = APIRouter(prefix="/admin/ehrs", tags=["admin"])


@router.get("")
async def list_registrations(_admin: AdminDep, runtime: RuntimeDep) -> EhrList:
    """Every registered EHR (secrets never included)."""
    async with runtime.sessions() as session:
        records = await service.list_ehrs(session)
    return EhrList(ehrs=[EhrOut.from_record(record) for record in records])


@router.post("", status_code=201)
async def add_registration(body: EhrCreate, _admin: AdminDep, runtime: RuntimeDep) -> EhrOut:
    """Register an EHR: 409 when (issuer, tenant) exists, 422 on invalid URLs or client auth."""
    async with transaction(runtime.sessions) as session:
        record = await service.add_ehr(
            session,
            issuer=body.issuer,
            jwks_url=body.jwks_url,
            tenant=body.tenant,
            fhir_base=body.fhir_base,
            client_ids=body.client_ids,
            client_auth=body.client_auth,
            client_secret=body.client_secret.get_secret_value() if body.client_secret else None,
            client_jwks=orjson.dumps(body.client_jwks).decode() if body.client_jwks else None,
            jku_allowlist=body.jku_allowlist,
            server_secret=runtime.secret,
        )
        out = EhrOut.from_record(record)
    runtime.registry.invalidate()
    return out


@router.delete("/{ehr_id}", status_code=204)
async def remove_registration(ehr_id: uuid.UUID, _admin: AdminDep, runtime: RuntimeDep) -> Response:
    """Remove a registration; its EHR's calls are refused from the next cache refresh."""
    async with transaction(runtime.sessions) as session:
        await service.remove_ehr(session, ehr_id)
    runtime.registry.invalidate()
    return Response(status_code=204)
