"""xAPI 1.0.3 statements (also valid xAPI 2.0 / IEEE 9274.1.1 shapes) rendered from outbox
events (`service/credit/outbox.py` owns the event format), when pushed or exported.

The actor is the learner's pseudonymous account on this deployment:
`{"account": {"homePage": public_url, "name": learner_key}}`; never an NPI, never a patient.
Verbs: launched, answered, completed (ADL) and earned (Tin Can registry); a month of practice
on a measure is `experienced` (ADL: the actor encountered the object where no achievement or
completion is implied: the counts say what was seen, not that anything was mastered or
passed), with its counts as a `result` extension and its month and measure as `context`
extensions.

A `completed` or `earned` event's documented cycle (clinical question, source, application to
practice) goes in the statement's `result.extensions` under `DOCUMENTATION_EXTENSION` (xAPI
1.0.3 allows any JSON value there under an IRI key; `result.response` is one string meant for
an interaction's answer). Events stored without it render exactly as they always did.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

XAPI_VERSION = "1.0.3"

VERBS: dict[str, str] = {
    "launched": "http://adlnet.gov/expapi/verbs/launched",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
    "earned": "http://id.tincanapi.com/verb/earned",
    "experienced": "http://adlnet.gov/expapi/verbs/experienced",
}
ACTIVITY_TYPES = {
    "guideline": "http://adlnet.gov/expapi/activities/lesson",
    "case": "http://adlnet.gov/expapi/activities/assessment",
}


# the `result` extension of the documented cycle: question, source, application (+ text)
DOCUMENTATION_EXTENSION = "https://w3id.org/bedside/xapi/documentation"
# the `context` extensions of a practice statement: its month (YYYY-MM, UTC) and measure id
MONTH_EXTENSION = "https://w3id.org/bedside/xapi/month"
MEASURE_EXTENSION = "https://w3id.org/bedside/xapi/measure"


def _context(event: dict[str, Any]) -> dict[str, Any]:
    """The statement's context; a practice event adds its month and measure as extensions
    (other events render exactly as they always did)."""
    context: dict[str, Any] = {"platform": "Bedside", "language": "en-US"}
    if "month" in event:
        context["extensions"] = {
            MONTH_EXTENSION: event["month"],
            MEASURE_EXTENSION: event.get("measure_id", event["item_id"]),
        }
    return context


def _result(event: dict[str, Any]) -> dict[str, Any] | None:
    """The statement's result: the event's, with the documented cycle as an extension."""
    result, documented = event.get("result"), event.get("documentation")
    if not documented:
        return result or None
    result = dict(result or {})
    result["extensions"] = {**result.get("extensions", {}), DOCUMENTATION_EXTENSION: documented}
    return result


def activity_iri(public_url: str, item_id: str) -> str:
    """The IRI of a content item on this deployment."""
    return f"{public_url.rstrip('/')}/activities/{quote(item_id, safe='')}"


def build_statement(event: dict[str, Any], public_url: str) -> dict[str, Any]:
    """One xAPI statement from an outbox event."""
    verb = str(event["verb"])
    statement: dict[str, Any] = {
        "id": event["id"],
        "version": XAPI_VERSION,
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": public_url.rstrip("/"), "name": event["learner"]},
        },
        "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
        "object": {
            "objectType": "Activity",
            "id": activity_iri(public_url, str(event["item_id"])),
            "definition": {
                "name": {"en-US": event.get("title", "")},
                "type": ACTIVITY_TYPES.get(
                    str(event.get("item_type")), ACTIVITY_TYPES["guideline"]
                ),
            },
        },
        "context": _context(event),
        "timestamp": event["timestamp"],
    }
    if result := _result(event):
        statement["result"] = result
    return statement


def statements(events: list[dict[str, Any]], public_url: str) -> list[dict[str, Any]]:
    """Statements for a list of events, in order."""
    return [build_statement(event, public_url) for event in events]
