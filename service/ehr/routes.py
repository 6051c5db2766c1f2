"""Admin HTTP API of the EHR registry (hospital IT). Exists only with BEDSIDE_ADMIN_TOKEN.

Each change runs in its own unit of work and invalidates the worker's registry cache only
after the commit, so that no request reloads the registry half-way.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response

from service.db.engine import transaction
from service.deps import AdminDep, ServerSecretDep, SessionsDep, component
from service.ehr import service
from service.ehr.registry import EhrRegistry
from service.ehr.schemas import EhrCreate, EhrList, EhrOut

router = APIRouter(prefix="/admin/ehrs", tags=["admin"])


async def get_registry(request: Request) -> EhrRegistry:
    registry: EhrRegistry = component(request, "registry")
    return registry


RegistryDep = Annotated[EhrRegistry, Depends(get_registry)]


@router.get("")
async def list_registrations(_admin: AdminDep, sessions: SessionsDep) -> EhrList:
    """Every registered EHR (secrets never included)."""
    async with sessions() as session:
        records = await service.list_ehrs(session)
    return EhrList(ehrs=[EhrOut.from_record(record) for record in records])


@router.post("", status_code=201)
async def add_registration(
    body: EhrCreate,
    _admin: AdminDep,
    sessions: SessionsDep,
    registry: RegistryDep,
    secret: ServerSecretDep,
) -> EhrOut:
    """Register an EHR: 409 when (issuer, tenant) exists, 422 on invalid URLs or client auth."""
    async with transaction(sessions) as session:
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
            display_name=body.display_name,
            server_secret=secret,
        )
        out = EhrOut.from_record(record)
    registry.invalidate()
    return out


@router.delete("/{ehr_id}", status_code=204)
async def remove_registration(
    ehr_id: uuid.UUID, _admin: AdminDep, sessions: SessionsDep, registry: RegistryDep
) -> Response:
    """Remove a registration; its EHR's calls are refused from the next cache refresh."""
    async with transaction(sessions) as session:
        await service.remove_ehr(session, ehr_id)
    registry.invalidate()
    return Response(status_code=204)
