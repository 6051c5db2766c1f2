"""The learner JSON API (/api/learner): a contract for the app's pages and the learner's tools.

Authentication: the app's session cookie, or a bearer token issued to a session
(POST /api/learner/token). Requests that change something and authenticate by cookie must
carry the session's CSRF token in `X-CSRF-Token` (a custom header: no cross-site form can
send it). Another learner's ids are 404, exactly like unknown ones.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from service.credit import service as credit
from service.credit.requirements import LearnerRequirements
from service.credit.schemas import (
    Application,
    ClaimResult,
    CyclePatch,
    CycleStatus,
    CycleView,
    LearnerProfileView,
    ProfileUpdate,
    TranscriptView,
)
from service.deps import SessionDep
from service.errors import BedsideError, NotFound
from service.reviews.service import DueReview, ReviewFeedback
from service.runtime import RuntimeDep
from smart_app import learning, views
from smart_app.session import AppSession, SessionStore
from smart_app.web import check_csrf

router = APIRouter(prefix="/api/learner", tags=["learner"])
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class LearnerCyclePatch(BaseModel):
    """What a learner may change on a cycle; a case's score is computed by the server.
    `unsure`: the ids of questions the learner is not sure of, with `case_answers` only (a
    right answer marked so comes back for review; ids not in the case are ignored)."""

    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(default=None, max_length=2000)
    application: Application | None = None
    application_text: str | None = Field(default=None, max_length=4000)
    case_answers: dict[str, str] | None = None
    unsure: list[Annotated[str, Field(min_length=1, max_length=20)]] | None = Field(
        default=None, max_length=50
    )

    @model_validator(mode="after")
    def _unsure_with_answers(self) -> LearnerCyclePatch:
        if self.unsure and self.case_answers is None:
            raise PydanticCustomError(
                "unsure_without_answers", "Send unsure marks with the case answers they go with."
            )
        return self


class ReviewAnswer(BaseModel):
    """A review answer: one of the question's option ids."""

    model_config = ConfigDict(extra="forbid")

    choice: str = Field(min_length=1, max_length=20)


class ApiToken(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


async def learner_session(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
    bedside_session: Annotated[str | None, Cookie()] = None,
) -> AppSession:
    """The session behind a bearer token or the session cookie."""
    store = SessionStore(runtime.state, runtime.settings)
    if authorization:
        scheme, _, token = authorization.partition(" ")
        session = await store.by_bearer(token.strip()) if scheme.lower() == "bearer" else None
        if session is None:
            raise BedsideError("a valid learner token is required", 401)
        return session
    session = await store.get(bedside_session)
    if session is None:
        raise BedsideError("sign in to Bedside first", 401)
    if request.method in _UNSAFE:
        check_csrf(session, x_csrf_token)
    return session


LearnerDep = Annotated[AppSession, Depends(learner_session)]


@router.post("/token")
async def issue_token(runtime: RuntimeDep, session: LearnerDep) -> ApiToken:
    """A bearer token for this session (valid for the session's remaining life)."""
    token = await SessionStore(runtime.state, runtime.settings).issue_bearer(session)
    return ApiToken(access_token=token, expires_in=int(session.expires_at - time.time()))


@router.get("/me")
async def get_me(db: SessionDep, session: LearnerDep) -> LearnerProfileView:
    return await credit.get_profile(db, session.learner_key)


@router.put("/me")
async def put_me(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep, body: ProfileUpdate
) -> LearnerProfileView:
    """Change the fields given; `learning_goals` must be topic ids of the library."""
    learning.check_goals(runtime.content, body.learning_goals)
    return await credit.update_profile(db, session.learner_key, body, now=learning.now())


@router.get("/cycles")
async def list_cycles(
    runtime: RuntimeDep,
    db: SessionDep,
    session: LearnerDep,
    status: Annotated[CycleStatus | None, Query()] = None,
) -> list[CycleView]:
    return await credit.list_cycles(
        db, session.learner_key, status=status, rules=runtime.credit_rules
    )


@router.get("/cycles/{cycle_id}")
async def get_cycle(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep, cycle_id: str
) -> CycleView:
    return await learning.get_cycle(runtime.credit_rules, db, session.learner_key, cycle_id)


@router.patch("/cycles/{cycle_id}")
async def patch_cycle(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep, cycle_id: str, body: LearnerCyclePatch
) -> CycleView:
    """Document the cycle; case answers are scored here with the content, and missed or
    unsure questions join the review queue."""
    patch = CyclePatch(**body.model_dump(exclude_unset=True, exclude={"unsure"}))
    return await learning.document(
        runtime.content,
        runtime.credit_rules,
        db,
        session.learner_key,
        cycle_id,
        patch,
        unsure=body.unsure or (),
    )


@router.post("/cycles/{cycle_id}/claim")
async def claim(
    runtime: RuntimeDep,
    db: SessionDep,
    session: LearnerDep,
    cycle_id: str,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ClaimResult:
    """Claim the cycle's credit; a retry with the same Idempotency-Key returns the same
    result (without the header, the key is derived from the cycle: one claim per cycle)."""
    cycle = learning.parse_id(cycle_id)  # the claim's one query reads it, and 404s another's
    key = idempotency_key or credit.default_idempotency_key(cycle)
    return await credit.claim(
        db,
        session.learner_key,
        cycle,
        idempotency_key=key,
        rules=runtime.credit_rules,
        now=learning.now(),
    )


@router.get("/transcript")
async def transcript(runtime: RuntimeDep, db: SessionDep, session: LearnerDep) -> TranscriptView:
    return await credit.transcript(db, session.learner_key, runtime.credit_rules)


@router.get("/requirements")
async def requirements(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep
) -> LearnerRequirements:
    """Progress on each requirement set of the learner's licenses and boards (this cycle)."""
    return await views.requirements(runtime, db, session.learner_key)


@router.get("/reviews/due")
async def reviews_due(runtime: RuntimeDep, db: SessionDep, session: LearnerDep) -> list[DueReview]:
    """The missed or unsure case questions due now (never a mastered one), the longest
    overdue first, each with why it is in the queue."""
    return await learning.due_reviews(runtime.content, db, session.learner_key)


@router.post("/reviews/{review_id}/answer")
async def answer_review(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep, review_id: str, body: ReviewAnswer
) -> ReviewFeedback:
    """Grade the answer (right: Good, wrong: Again), with the case's explanation, the date
    the question comes back and whether it is now mastered (answered well twice in a row:
    it leaves the queue); a choice not among the options is 400."""
    return await learning.answer_review(
        runtime.content, db, session.learner_key, review_id, body.choice
    )


def _download(content: bytes | str, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


async def _own_entry(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep, entry_id: str
) -> uuid.UUID:
    """An entry id of this learner's ledger; anything else is 404."""
    wanted = learning.parse_id(entry_id)
    entries = await credit.list_entries(db, session.learner_key, runtime.credit_rules)
    if not any(entry.id == wanted for entry in entries):
        raise NotFound("not found")
    return wanted


EntryDep = Annotated[uuid.UUID, Depends(_own_entry)]


@router.get("/entries/{entry_id}/certificate.pdf")
async def entry_certificate(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep, entry_id: EntryDep
) -> Response:
    pdf = await credit.certificate_pdf(
        db, session.learner_key, runtime.credit_rules, entry_id=entry_id
    )
    return _download(pdf, "application/pdf", f"bedside-certificate-{entry_id}.pdf")


@router.get("/certificate.pdf")
async def year_certificate(
    runtime: RuntimeDep,
    db: SessionDep,
    session: LearnerDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    pdf = await credit.certificate_pdf(db, session.learner_key, runtime.credit_rules, year=year)
    return _download(pdf, "application/pdf", f"bedside-certificate-{year}.pdf")


@router.get("/export.csv")
async def export_csv(runtime: RuntimeDep, db: SessionDep, session: LearnerDep) -> Response:
    csv = await credit.export_csv(db, session.learner_key, runtime.credit_rules)
    return _download(csv, "text/csv; charset=utf-8", "bedside-credits.csv")


@router.get("/xapi")
async def xapi(runtime: RuntimeDep, db: SessionDep, session: LearnerDep) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = await credit.xapi_statements(
        db, session.learner_key, public_url=runtime.settings.public_url
    )
    return statements


@router.get("/entries/{entry_id}/badge")
async def badge(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep, entry_id: EntryDep
) -> Response:
    """An Open Badges 3.0 credential for one entry, as a VC-JWT."""
    token = await credit.open_badge_credential(
        db,
        session.learner_key,
        entry_id,
        signing_keys=runtime.signing_keys,
        rules=runtime.credit_rules,
        public_url=runtime.settings.public_url,
    )
    return PlainTextResponse(
        token, media_type="application/vc+jwt", headers={"Cache-Control": "no-store"}
    )


@router.get("/transcript/credential")
async def transcript_credential(
    runtime: RuntimeDep, db: SessionDep, session: LearnerDep
) -> Response:
    """The whole transcript as a verifiable credential (VC-JWT)."""
    token = await credit.transcript_credential(
        db,
        session.learner_key,
        signing_keys=runtime.signing_keys,
        rules=runtime.credit_rules,
        public_url=runtime.settings.public_url,
    )
    return PlainTextResponse(
        token, media_type="application/vc+jwt", headers={"Cache-Control": "no-store"}
    )
