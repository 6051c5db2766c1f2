"""CDS Hooks 2.0 wire models, with the specification's own field names.

Requests: a strict, small envelope (unknown fields and extensions tolerated, as the spec
requires) and a per-hook context model. FHIR resources are never validated as FHIR models
(~55x the cost of parsing): the prefetch arrives as `service/cards/resources.py: Resource`s,
decoded with only the elements the facts read. Responses: models that refuse what the
spec forbids (summary >= 140 chars, unknown indicators, appContext on absolute links,
suggestions without selectionBehavior) and serialise without nulls or empty values.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

_TOLERANT = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=True)
_STRICT_OUT = ConfigDict(extra="forbid", populate_by_name=True)
NonEmpty = Field(min_length=1, max_length=4096)


class FhirAuthorization(BaseModel):
    """The EHR's access token: a transient value, never stored or logged (repr hides it)."""

    model_config = _TOLERANT
    access_token: str = Field(min_length=1, max_length=16384, repr=False)
    token_type: str = Field(min_length=1, max_length=40)
    expires_in: int = Field(ge=0)
    scope: str = Field(min_length=1, max_length=8192)
    subject: str = Field(min_length=1, max_length=1024)
    patient: str | None = Field(default=None, max_length=1024)

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("token_type must be Bearer")
        return "Bearer"


class HookRequest(BaseModel):
    model_config = _TOLERANT
    hook: str = Field(min_length=1, max_length=200)
    hook_instance: str = Field(alias="hookInstance", min_length=1, max_length=200)
    fhir_server: str | None = Field(default=None, alias="fhirServer", max_length=2048)
    fhir_authorization: FhirAuthorization | None = Field(default=None, alias="fhirAuthorization")
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _server_with_authorization(self) -> HookRequest:
        if self.fhir_authorization is not None and not self.fhir_server:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        return self


class PatientViewContext(BaseModel):
    model_config = _TOLERANT
    user_id: str = Field(alias="userId", min_length=1, max_length=1024)
    patient_id: str = Field(alias="patientId", min_length=1, max_length=1024)
    encounter_id: str | None = Field(default=None, alias="encounterId", max_length=1024)


class EncounterStartContext(PatientViewContext):
    encounter_id: str = Field(alias="encounterId", min_length=1, max_length=1024)


class OrderSignContext(PatientViewContext):
    draft_orders: dict[str, Any] = Field(alias="draftOrders")

    @field_validator("draft_orders")
    @classmethod
    def _bundle(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("resourceType") != "Bundle":
            raise ValueError("draftOrders must be a FHIR Bundle")
        return value


class OrderSelectContext(OrderSignContext):
    selections: list[str] = Field(min_length=1)


# --- responses ---------------------------------------------------------------------------


class Coding(BaseModel):
    model_config = _STRICT_OUT
    system: str = NonEmpty
    code: str = NonEmpty
    display: str | None = Field(default=None, min_length=1)


class Source(BaseModel):
    model_config = _STRICT_OUT
    label: str = NonEmpty
    url: str | None = Field(default=None, pattern=r"^https?://")
    icon: str | None = Field(default=None, pattern=r"^https?://")
    topic: Coding | None = None


class Link(BaseModel):
    model_config = _STRICT_OUT
    label: str = NonEmpty
    url: str = Field(pattern=r"^https?://")
    type: Literal["absolute", "smart"]
    app_context: str | None = Field(default=None, alias="appContext", min_length=1)
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context_only_smart(self) -> Link:
        if self.app_context is not None and self.type != "smart":
            raise ValueError("appContext is only valid on smart links")
        return self


class Suggestion(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    label: str = NonEmpty
    uuid: str | None = None
    is_recommended: bool | None = Field(default=None, alias="isRecommended")
    actions: list[dict[str, Any]] | None = Field(default=None, min_length=1)


class Card(BaseModel):
    model_config = _STRICT_OUT
    uuid: str = NonEmpty
    summary: str = Field(min_length=1, max_length=139)
    detail: str | None = Field(default=None, min_length=1)
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = Field(default=None, min_length=1)
    selection_behavior: Literal["at-most-one", "any"] | None = Field(
        default=None, alias="selectionBehavior"
    )
    override_reasons: list[Coding] | None = Field(
        default=None, alias="overrideReasons", min_length=1
    )
    links: list[Link] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> Card:
        if self.suggestions and self.selection_behavior is None:
            raise ValueError("selectionBehavior is required with suggestions")
        for reason in self.override_reasons or ():
            if not reason.display:
                raise ValueError("every overrideReason needs a display")
        return self


class CardsResponse(BaseModel):
    model_config = _STRICT_OUT
    cards: list[Card]

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: no nulls; `cards: []` is the one empty value allowed."""
        return self.model_dump(by_alias=True, exclude_none=True)


# --- feedback ----------------------------------------------------------------------------


class OverrideReason(BaseModel):
    model_config = _TOLERANT
    reason: Coding | None = None
    user_comment: str | None = Field(default=None, alias="userComment", max_length=4096)


class AcceptedSuggestion(BaseModel):
    model_config = _TOLERANT
    id: str = Field(min_length=1, max_length=200)


class FeedbackItem(BaseModel):
    model_config = _TOLERANT
    card: str = Field(min_length=1, max_length=100)
    outcome: Literal["accepted", "overridden"]
    accepted_suggestions: list[AcceptedSuggestion] = Field(
        default_factory=list, alias="acceptedSuggestions", max_length=100
    )
    override_reason: OverrideReason | None = Field(default=None, alias="overrideReason")
    outcome_timestamp: str = Field(alias="outcomeTimestamp", min_length=10, max_length=64)


class FeedbackRequest(BaseModel):
    model_config = _TOLERANT
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


def describe_errors(error: ValidationError, where: str) -> str:
    """Field paths and messages only: never the input values (they may hold PHI or tokens)."""
    parts = []
    for issue in error.errors()[:5]:
        path = ".".join(str(p) for p in (where, *issue.get("loc", ())))
        parts.append(f"{path}: {issue.get('msg', 'invalid')}")
    return "; ".join(parts)
