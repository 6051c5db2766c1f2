"""Prefetch: render our templates, check what the EHR sent, fetch what is missing.

A missing key means the client did not satisfy the template; `null` means there is no data;
an OperationOutcome means the client's own fetch failed. A client that keys its prefetch by
resource type instead of by our template names (`Patient`, `condition`, `MedicationRequest`:
HealthChain and CDS Connect do) is read by what its values hold: a template our own key does
not satisfy is satisfied by the client's key whose value is (or is a Bundle holding) the
template's resource type, or, for a value that holds nothing (null, an empty Bundle), by a
key named after that type. What is still missing, and failed keys, are fetched from
`fhirServer` with the request's access token, but only when that server is the FHIR base
registered for the verified issuer and tenant (otherwise any valid token would make Bedside an
SSRF proxy), in parallel, following `next` links on the same server, under one deadline.
The access token is a transient value: it is passed to the fetcher and dropped.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from service.cards.resource_fields import items
from service.cards.resources import (
    Resource,
    is_operation_outcome,
    resource_from,
    resources_from_bundle,
)
from service.errors import BedsideError
from service.observability import FHIR_FETCH_FAILURES, FHIR_FETCH_LATENCY
from service.outbound import OutboundError, fetch

_TOKEN = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
_USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
MAX_PAGES = 10
MAX_RESPONSE_BYTES = 20_000_000


class PrefetchUnavailable(BedsideError):
    """Required data could be neither prefetched nor fetched: 412 Precondition Failed."""

    status_code = 412

    def __init__(self, keys: list[str]) -> None:
        super().__init__("required prefetch data is unavailable: " + ", ".join(sorted(keys)), 412)
        self.keys = keys

    def operation_outcome(self) -> dict[str, Any]:
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": self.message}],
        }


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill `{{context.x}}` and user tokens; None when a token cannot be filled."""
    missing = False

    def _fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = _token_value(match.group(1), context)
        if value is None:
            missing = True
            return ""
        return value

    rendered = _TOKEN.sub(_fill, template)
    return None if missing else rendered


def _token_value(token: str, context: Mapping[str, Any]) -> str | None:
    if token.startswith("context."):
        value = context.get(token.removeprefix("context."))
        # only root-level primitive context fields are eligible
        if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
            return str(value)
        return None
    resource_type = _USER_TOKENS.get(token)
    user = context.get("userId")
    if resource_type and isinstance(user, str) and user.startswith(resource_type + "/"):
        return user.split("/", 1)[1]
    return None


def keys_to_fetch(
    templates: Mapping[str, str], prefetch: Mapping[str, Resource | None] | None
) -> list[str]:
    """Template keys the client did not satisfy (absent) or could not (OperationOutcome)."""
    given = prefetch or {}
    return [key for key in templates if key not in given or is_operation_outcome(given[key])]


def template_type(template: str) -> str:
    """The resource type a template reads: `Condition?patient=...` -> `Condition`."""
    return re.split(r"[/?]", template.lstrip("/"), maxsplit=1)[0]


def _types_held(value: Resource | None) -> frozenset[str]:
    """The resource types in a prefetch value: itself, or a Bundle's entries (nested Bundles
    flattened)."""
    return frozenset(resource.resource_type for resource in resources_from_bundle(value))


def _holders(
    given: Mapping[str, Resource | None], wanted: frozenset[str], ours: Mapping[str, object]
) -> dict[str, str]:
    """For each wanted resource type, the client key that holds it: by content first (keys we
    already use first, then the client's order), by the key's name for a value holding
    nothing."""
    names = {kind.lower(): kind for kind in wanted} | {kind.lower() + "s": kind for kind in wanted}
    holders: dict[str, str] = {}
    for key in sorted(given, key=lambda key: key not in ours):
        value = given[key]
        if is_operation_outcome(value):
            continue
        held = _types_held(value)
        if held:
            kinds = held & wanted
        else:
            named = names.get(key.lower())
            kinds = frozenset((named,)) if named else frozenset()
        for kind in kinds:
            holders.setdefault(kind, key)
    return holders


def assign_prefetch(
    templates: Mapping[str, str], given: Mapping[str, Resource | None]
) -> tuple[dict[str, Resource | None], list[str]]:
    """The prefetched data to read, by key, and the template keys it does not satisfy. Our own
    template keys come first; a template they leave unsatisfied takes the client's key that
    holds its resource type (kept under the client's key, each value once)."""
    ours = {k: given[k] for k in templates if k in given and not is_operation_outcome(given[k])}
    if len(ours) == len(templates):
        return ours, []  # the usual call: every template under its own key
    unsatisfied = [key for key in templates if key not in ours]
    kinds = {key: template_type(templates[key]) for key in unsatisfied}
    holders = _holders(given, frozenset(kinds.values()), ours)
    missing: list[str] = []
    for key in unsatisfied:
        holder = holders.get(kinds[key])
        if holder is None:
            missing.append(key)
        else:
            ours.setdefault(holder, given[holder])
    return ours, missing


# Templates whose data only sharpens what is known (an allergy hides a card advising that
# drug): read when the EHR sends them, fetched only beside required data that is fetched
# anyway, and never a reason for 412 (`complete_prefetch`).
OPTIONAL_PREFETCH: frozenset[str] = frozenset({"allergies"})


@dataclass(frozen=True, slots=True)
class FhirAccess:
    """Where and how to fetch: the registered base and the request's transient token."""

    base: str
    token: str

    def __repr__(self) -> str:  # never show the token
        return f"FhirAccess(base={self.base!r})"


class CircuitBreaker:
    """Stops calling a FHIR server that keeps failing (per worker, in memory).

    Closed: every call goes; `threshold` failures in a row open it. Open: every call is refused
    for `cooldown_seconds`. Half-open (after the cooldown): exactly one trial call goes, the
    others are still refused while it is in flight; its success closes the breaker, its failure
    opens it for another cooldown. A trial that ends without an outcome (cancelled, nothing to
    fetch) is `release`d, so the next call becomes the trial. Calls end within the fetch
    deadline, well inside a cooldown, so only the trial reports while half-open.
    """

    def __init__(
        self,
        threshold: int = 5,
        cooldown_seconds: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._failures: dict[str, int] = {}
        self._open_until: dict[str, float] = {}  # open or half-open bases only
        self._trials: set[str] = set()  # half-open bases whose trial call is in flight

    def allows(self, base: str) -> bool:
        """Whether a call to `base` may go now; True while half-open makes it the trial."""
        until = self._open_until.get(base)
        if until is None:
            return True  # closed: the hot path is one dict lookup
        if base in self._trials or self._clock() < until:
            return False
        self._trials.add(base)
        return True

    def record(self, base: str, ok: bool) -> None:
        """The outcome of an allowed call."""
        self._trials.discard(base)
        if ok:
            self._failures.pop(base, None)
            self._open_until.pop(base, None)
            return
        count = self._failures.get(base, 0) + 1
        if base in self._open_until or count >= self._threshold:
            self._open_until[base] = self._clock() + self._cooldown
            self._failures.pop(base, None)
        else:
            self._failures[base] = count

    def release(self, base: str) -> None:
        """An allowed call ended without an outcome: free the trial slot, change nothing."""
        self._trials.discard(base)


class FetchFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _get_json(http: httpx.AsyncClient, url: str, access: FhirAccess) -> Any:
    """One FHIR read; the prefetch's overall deadline bounds it (and every other fetch)."""
    headers = {"Authorization": f"Bearer {access.token}", "Accept": "application/fhir+json"}
    try:
        answer = await fetch(http, "GET", url, headers=headers, max_bytes=MAX_RESPONSE_BYTES)
        return answer.json()
    except OutboundError as exc:  # counted by reason; a transport error by its type
        raise FetchFailed(exc.detail or exc.reason) from exc


def _next_link(bundle: Resource | None) -> str | None:
    if bundle is None:
        return None
    for link in items(bundle.link):
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None


def _same_server(url: str, base: str) -> bool:
    return url == base or url.startswith(base.rstrip("/") + "/") or url.startswith(base + "?")


async def follow_pages(http: httpx.AsyncClient, first: Resource, access: FhirAccess) -> Resource:
    """Merge the entries of a paginated searchset Bundle, on the registered server only."""
    bundle = first
    pages = 1
    next_url = _next_link(bundle)
    while next_url and pages < MAX_PAGES:
        if not _same_server(next_url, access.base):
            raise FetchFailed("foreign_next_link")
        page = resource_from(await _get_json(http, next_url, access))
        if page is None:
            raise FetchFailed("invalid_page")
        entries = [*(bundle.entry or ()), *(page.entry or ())]
        bundle = msgspec.structs.replace(bundle, entry=entries)
        pages += 1
        next_url = _next_link(page)
    return msgspec.structs.replace(bundle, link=None)


async def fetch_query(http: httpx.AsyncClient, query: str, access: FhirAccess) -> Resource | None:
    """One template's data from the FHIR server (None: the server sent no JSON object)."""
    started = time.perf_counter()
    try:
        url = f"{access.base.rstrip('/')}/{query.lstrip('/')}"
        value = resource_from(await _get_json(http, url, access))
        if value is None:
            return None
        value = await follow_pages(http, value, access)
        if is_operation_outcome(value):
            raise FetchFailed("operation_outcome")
        return value
    finally:
        FHIR_FETCH_LATENCY.observe(time.perf_counter() - started)


async def complete_prefetch(
    http: httpx.AsyncClient,
    templates: Mapping[str, str],
    context: Mapping[str, Any],
    prefetch: Mapping[str, object] | None,
    access: FhirAccess | None,
    *,
    deadline_seconds: float,
    breaker: CircuitBreaker,
    optional: frozenset[str] = OPTIONAL_PREFETCH,
) -> dict[str, Resource | None]:
    """The data of every template as `Resource`s (None for 'no data'): under the template's
    key, or under the client's key that holds it (`assign_prefetch`); or PrefetchUnavailable
    (412). Prefetched values may be `Resource`s (as the hook decodes them) or plain dicts.
    An `optional` template the client left out is fetched only beside required data being
    fetched (no round trip of its own), and is simply absent when it cannot be had: its
    failures never make a 412 nor count against the FHIR server's circuit breaker."""
    given = {key: resource_from(value) for key, value in (prefetch or {}).items()}
    result, wanted = assign_prefetch(templates, given)
    required = [key for key in wanted if key not in optional]
    if not required:
        wanted = []  # only optional data is missing: no fetch for it alone
    paginated = {k: v for k, v in result.items() if v is not None and _next_link(v)}
    if not wanted and not (paginated and access):
        return result
    queries = {key: render_template(templates[key], context) for key in wanted}
    if unfillable := [key for key in required if queries[key] is None]:
        raise PrefetchUnavailable(unfillable)  # before the breaker: no trial call is taken
    if access is None or not breaker.allows(access.base):
        if required:
            FHIR_FETCH_FAILURES.labels("no_access" if access is None else "circuit_open").inc()
            raise PrefetchUnavailable(required)
        return result
    try:
        jobs: dict[str, Any] = {k: fetch_query(http, q, access) for k, q in queries.items() if q}
        jobs.update((key, follow_pages(http, bundle, access)) for key, bundle in paginated.items())
        fetched = await _gather_under_deadline(
            jobs, deadline_seconds, breaker, access.base, optional
        )
    except BaseException:
        breaker.release(access.base)  # no outcome recorded: a half-open trial must not stick
        raise
    failed = [key for key in required if key not in fetched]
    if failed:
        raise PrefetchUnavailable(failed)
    result.update(fetched)
    return result


async def _gather_under_deadline(
    jobs: dict[str, Any],
    deadline: float,
    breaker: CircuitBreaker,
    base: str,
    optional: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    tasks = {key: asyncio.ensure_future(job) for key, job in jobs.items()}
    try:
        done, pending = await asyncio.wait(tasks.values(), timeout=deadline)
    except asyncio.CancelledError:  # the hook call itself was cancelled: stop its fetches
        for task in tasks.values():
            task.cancel()
        raise
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
        FHIR_FETCH_FAILURES.labels("deadline").inc()
    results: dict[str, Any] = {}
    for key, task in tasks.items():
        if task not in done:
            continue
        error = task.exception()
        if error is None:
            results[key] = task.result()
        else:
            reason = error.reason if isinstance(error, FetchFailed) else type(error).__name__
            FHIR_FETCH_FAILURES.labels(reason).inc()
    counted = [key for key in tasks if key not in optional]  # optional data: no verdict
    breaker.record(base, ok=all(key in results for key in counted))
    return results
