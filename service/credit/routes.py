"""HTTP routes of the credit package (thin: dependencies in, one call, a schema out).

- `POST /api/credentials/verify` (public): body `{"credential": "<vc-jwt>"}`, answers a
  `CredentialReport`, verifying with our own published JWKS.
- `POST /admin/credit/entries/{entry_id}/reverse` (admin bearer): body `{"reason": "..."}`,
  appends a reversal entry (idempotent: one reversal per entry) and answers it.

The learner-facing cycle, claim and export endpoints are mounted by the SMART app
(smart_app/api.py) on top of service/credit/service.py.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from service.credit.claims import reverse_entry
from service.credit.credentials import verify_credential
from service.credit.rules import CreditRules
from service.credit.schemas import CredentialReport, LedgerEntryView
from service.db.base import utcnow
from service.deps import AdminDep, SessionDep, SigningKeysDep, component

router = APIRouter()


async def get_credit_rules(request: Request) -> CreditRules:
    rules: CreditRules = component(request, "credit_rules")
    return rules


CreditRulesDep = Annotated[CreditRules, Depends(get_credit_rules)]


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: str = Field(min_length=1, max_length=500_000)


class ReverseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")


@router.post("/api/credentials/verify", tags=["credentials"])
async def verify(body: VerifyRequest, keys: SigningKeysDep) -> CredentialReport:
    """Verify an Open Badge or transcript credential issued by this deployment."""
    return verify_credential(body.credential, keys.public_jwks())


@router.post("/admin/credit/entries/{entry_id}/reverse", tags=["admin"])
async def reverse(
    entry_id: uuid.UUID,
    body: ReverseRequest,
    _admin: AdminDep,
    rules: CreditRulesDep,
    session: SessionDep,
) -> LedgerEntryView:
    """Reverse a claim with a reason; the reversal is a new ledger entry."""
    return await reverse_entry(
        session,
        entry_id,
        reason=body.reason,
        actor="admin",
        rules=rules,
        now=utcnow(),
    )
