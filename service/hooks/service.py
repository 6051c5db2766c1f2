"""The hook orchestrator: the one place where adapters (JWT, prefetch, database) meet the
pure matching core. One call per CDS Hooks service request."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
import msgspec
import orjson
from pydantic import ValidationError

from service.app_context import AppContextSigner
from service.cards import (
    ContentItem,
    FatiguePolicy,
    Match,
    PatientFacts,
    choose,
    facts_from_resources,
    observe_practice,
    render_card,
    resources_from_bundle,
    resources_from_prefetch,
)
from service.cards.library import ContentLibrary
from service.cards.ranking import why_codes
from service.cards.recall import Recall, offer_recall
from service.cards.render import render_recall_card
from service.cards.resources import Resource, resource_from
from service.credit.rules import CreditRules
from service.ehr.auth import VerifiedCaller
from service.errors import BadRequest
from service.hooks.discovery import ServiceDefinition
from service.hooks.prefetch import CircuitBreaker, FhirAccess, complete_prefetch
from service.hooks.schemas import (
    CardsResponse,
    HookRequest,
    PatientViewContext,
    describe_errors,
)
from service.identity import learner_key
from service.memory import IssuedCardRecord, LearnerMemory
from service.memory.charts import chart_key
from service.memory.recorder import LEARN, RECALL
from service.memory.state import SNOOZE_CODE

OVERRIDE_REASONS = (
    {
        "system": "urn:bedside:override-reason",
        "code": "not-relevant",
        "display": "Not relevant to this patient",
    },
    {
        "system": "urn:bedside:override-reason",
        "code": "already-known",
        "display": "I already know this",
    },
    {"system": "urn:bedside:override-reason", "code": SNOOZE_CODE, "display": "Remind me later"},
)


@dataclass(frozen=True, slots=True)
class ParsedCall:
    request: HookRequest
    context: PatientViewContext


class _TypedRequest(msgspec.Struct, rename="camel"):
    """A hook request as the typed decoder reads it: the envelope as plain JSON for the
    `HookRequest` model to check, the prefetch as `Resource`s (only the elements facts read)."""

    hook: Any = msgspec.UNSET
    hook_instance: Any = msgspec.UNSET
    fhir_server: Any = msgspec.UNSET
    fhir_authorization: Any = msgspec.UNSET
    context: Any = msgspec.UNSET
    prefetch: dict[str, Resource | None] | msgspec.UnsetType | None = msgspec.UNSET


_TYPED_REQUEST = msgspec.json.Decoder(_TypedRequest)
_ENVELOPE_FIELDS = tuple(
    zip(_TypedRequest.__struct_fields__, _TypedRequest.__struct_encode_fields__, strict=True)
)


def typed_fields(body: bytes) -> dict[str, Any]:
    """The request's fields, decoded straight into `Resource`s. Raises when the body is not
    JSON, or has a shape the typed decoder refuses (a prefetch value that is not an object,
    a Bundle entry that is not one, nesting beyond its depth, a prefetch value without a
    resource type: a CDS Hooks 1.0 `{"response": ..., "resource": ...}` wrapper keeps its
    resource in an element the decoder skips, so the plain path reads it). The decoder skips
    unread elements without checking their strings' UTF-8 (RFC 8259 requires it: checked here first,
    ~17 us for 250 KB) or their numbers' range (any size is valid JSON; orjson refuses beyond
    a double's, and so does this decoder in the elements it reads)."""
    if not body.isascii():
        body.decode()  # UnicodeDecodeError: invalid UTF-8 anywhere in the body
    request = _TYPED_REQUEST.decode(body)
    if isinstance(request.prefetch, dict) and any(
        value is not None and value.resource_type is None for value in request.prefetch.values()
    ):
        raise msgspec.ValidationError("a prefetch value has no resourceType")
    return {
        name: value
        for attribute, name in _ENVELOPE_FIELDS
        if (value := getattr(request, attribute)) is not msgspec.UNSET
    }


def plain_fields(body: bytes) -> dict[str, Any]:
    """The request's fields through orjson and `resource_from`: slower, but it takes any JSON
    object (malformed prefetch values are no data, malformed entries are skipped), and its
    errors are the ones the client sees."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("request body is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise BadRequest("request body must be a JSON object")
    prefetch = raw.get("prefetch")
    if isinstance(prefetch, dict):
        raw["prefetch"] = {key: resource_from(_unwrapped(value)) for key, value in prefetch.items()}
    return raw


def _unwrapped(value: object) -> object:
    """A CDS Hooks 1.0 prefetch value (`{"response": {"status": "200 OK"}, "resource": R}`,
    as CDS Connect's examples send it) as its resource R; any other value as it is."""
    if isinstance(value, dict) and "resourceType" not in value:
        inner = value.get("resource")
        if isinstance(inner, dict):
            return inner
    return value


def parse_call(body: bytes, service: ServiceDefinition) -> ParsedCall:
    """Lean parsing: the typed decoder (or orjson for a body it refuses), a strict envelope,
    the hook's context. 400 with a clear message."""
    try:
        fields = typed_fields(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        fields = plain_fields(body)
    try:
        request = HookRequest.model_validate(fields)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc, "request")) from exc
    if request.hook != service.hook:
        raise BadRequest(
            f"service {service.id} answers hook {service.hook!r}, not {request.hook!r}"
        )
    try:
        context = service.context.model_validate(request.context)
    except ValidationError as exc:
        raise BadRequest(describe_errors(exc, "context")) from exc
    return ParsedCall(request=request, context=context)


def fhir_access(request: HookRequest, caller: VerifiedCaller) -> FhirAccess | None:
    """The FHIR server we may call: only the base registered for this issuer and tenant."""
    registered = caller.registration.fhir_base
    if not request.fhir_server or not request.fhir_authorization or not registered:
        return None
    if request.fhir_server.rstrip("/") != registered.rstrip("/"):
        return None
    return FhirAccess(base=registered.rstrip("/"), token=request.fhir_authorization.access_token)


@dataclass(frozen=True, slots=True)
class PatientCall:
    """What a call leaves once its body is read: the patient as facts and a few ids."""

    facts: PatientFacts
    user_id: str
    patient_id: str
    hook_instance: str


@dataclass(frozen=True, slots=True)
class CardLinks:
    """How a card links to the SMART app: the launch URL, a signed `appContext`, the credit
    it promises."""

    launch_url: str
    signer: AppContextSigner
    rules: CreditRules


@dataclass
class HookService:
    """Answers CDS Hooks calls: built once per worker with exactly what a call uses."""

    content: ContentLibrary
    memory: LearnerMemory
    links: CardLinks
    http: httpx.AsyncClient
    secret: bytes  # the learner-key secret
    policy: FatiguePolicy
    fetch_deadline_seconds: float
    clock: Callable[[], datetime]
    # Open while the registered FHIR server keeps failing: the worker's, not a module's.
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)

    async def read_call(
        self, service: ServiceDefinition, body: bytes, caller: VerifiedCaller, at: date
    ) -> PatientCall:
        """Parse the body, complete the prefetch and reduce the patient to facts. The parsed
        body (hundreds of resources for a large prefetch) is freed when this returns, before
        the call's database await: alive across that await, it survived young-generation
        collections under concurrency and every older-generation pass rescanned it
        (measured: ~30% of a 50 KB call's CPU went to the garbage collector)."""
        call = parse_call(body, service)
        request, context = call.request, call.context
        prefetch = await complete_prefetch(
            self.http,
            service.prefetch,
            request.context,
            request.prefetch,
            fhir_access(request, caller),
            deadline_seconds=self.fetch_deadline_seconds,
            breaker=self.breaker,
            optional=service.optional,
        )
        draft_orders = resources_from_bundle(getattr(context, "draft_orders", None) or {})
        facts = facts_from_resources(
            resources_from_prefetch(prefetch),
            at=at,
            draft_orders=draft_orders,
            observations=self.content.observation_codes,
        )
        return PatientCall(facts, context.user_id, context.patient_id, request.hook_instance)

    async def handle_hook(
        self, service: ServiceDefinition, body: bytes, caller: VerifiedCaller
    ) -> dict[str, Any]:
        """Answer one CDS Hooks call: parse, complete prefetch, match, rank, render,
        remember, count practice. A quick-recall card may follow the chosen cards
        (`recall.offer_recall`: in a free place under the cap or an info card's, never a
        safety card's, and never beside a critical card)."""
        now = self.clock()
        patient = await self.read_call(service, body, caller, now.date())
        learner = learner_key(
            self.secret, caller.registration.issuer, caller.tenant, patient.user_id
        )
        state = await self.memory.state_of(learner, now)
        chart = chart_key(self.secret, learner, service.hook, patient.patient_id)
        on_chart = self.memory.charts.shown(chart)
        hook, today = service.hook, now.date()
        chosen = choose(
            self.content,
            patient.facts,
            state,
            self.policy,
            hook=hook,
            at=today,
            now=now,
            on_chart=on_chart,
        )
        recall = offer_recall(
            self.content, patient.facts, state, chosen, self.policy, hook=hook, at=today, now=now
        )
        if recall is not None and recall.displaces is not None:
            chosen = [found for found in chosen if found is not recall.displaces]
        whys = why_codes(chosen, state, now, library=self.content, on_chart=on_chart)
        issued = Issue(service, patient.hook_instance, caller, learner, now)
        cards, records = render_cards(self.links, issued, chosen, whys)
        if recall is not None:
            card, record = render_recall(self.links, issued, recall)
            cards.append(card)
            records.append(record)
        self.memory.remember(learner, now, records, chart=chart)
        # practice: what this call shows the learner doing where a measure applies (counts
        # only, per learner, measure, month and phase; the patient id only keys same-day repeats)
        observations = observe_practice(self.content, patient.facts, hook=hook, at=today)
        if observations:
            self.memory.practice.observe(
                learner, now, observations, state.learned, patient.patient_id
            )
        return CardsResponse.model_validate({"cards": cards}).to_wire()


@dataclass(frozen=True, slots=True)
class Issue:
    """Who the cards of one call go to, and when."""

    service: ServiceDefinition
    hook_instance: str
    caller: VerifiedCaller
    learner: str
    at: datetime


def render_cards(
    links: CardLinks,
    issue: Issue,
    chosen: list[Match],
    whys: Sequence[str | None] = (),
) -> tuple[list[dict[str, Any]], list[IssuedCardRecord]]:
    """The cards on the wire, and what the learner memory remembers of each. `whys`: each
    card's `why_code` (none given: none signed), carried in its appContext."""
    cards: list[dict[str, Any]] = []
    records: list[IssuedCardRecord] = []
    hook = issue.service.hook
    for position, chosen_match in enumerate(chosen):
        item = chosen_match.item
        card_uuid = uuid.uuid4()
        app_context = links.signer.sign(
            card_uuid=str(card_uuid),
            item_id=item.id,
            hook=hook,
            learner=issue.learner,
            why=whys[position] if position < len(whys) else None,
        )
        card = render_card(
            item,
            card_uuid=str(card_uuid),
            launch_url=links.launch_url,
            app_context=app_context,
            credit_label=credit_label(links.rules, item),
            reasons=chosen_match.reasons,
        )
        card["overrideReasons"] = [dict(reason) for reason in OVERRIDE_REASONS]
        cards.append(card)
        records.append(_record(issue, card_uuid, item))
    return cards, records


def render_recall(
    links: CardLinks, issue: Issue, recall: Recall
) -> tuple[dict[str, Any], IssuedCardRecord]:
    """The quick-recall card, whose appContext names the due review question (the launch
    opens it), and its record (purpose "recall": it hides nothing for the repeat window)."""
    card_uuid = uuid.uuid4()
    app_context = links.signer.sign(
        card_uuid=str(card_uuid),
        item_id=recall.item.id,
        hook=issue.service.hook,
        learner=issue.learner,
        why=recall.why,
        review_id=recall.review.review_id,
    )
    card = render_recall_card(
        recall.item,
        reason=recall.review.reason,
        card_uuid=str(card_uuid),
        launch_url=links.launch_url,
        app_context=app_context,
    )
    return card, _record(issue, card_uuid, recall.item, purpose=RECALL)


def _record(
    issue: Issue, card_uuid: uuid.UUID, item: ContentItem, *, purpose: str = LEARN
) -> IssuedCardRecord:
    return IssuedCardRecord(
        uuid=card_uuid,
        item_id=item.id,
        item_version=item.version,
        learner=issue.learner,
        service_id=issue.service.id,
        hook=issue.service.hook,
        hook_instance=issue.hook_instance,
        issuer=issue.caller.registration.issuer,
        tenant=issue.caller.tenant,
        issued_at=issue.at,
        purpose=purpose,
    )


def credit_label(rules: CreditRules, item: ContentItem) -> str:
    """What the card promises, from the configured rules: the first credit type is the
    headline one (AMA PRA Category 1 in the bundled rules)."""
    headline, credit_format = rules.credit_types[0], item.credit.format
    if credit_format not in headline.amounts:
        return "earn CME credit"
    minutes = item.case.minutes if item.case is not None else None
    return f"earn {headline.amount_for(credit_format, minutes):g} CME"
