"""Structured JSON logs with request context, a redaction layer, and Prometheus metrics.

Never tokens, JWTs, prefetch data or anything about a patient: the redaction filter scrubs
JWT-shaped strings, bearer credentials and secret-named fields from every record, whatever a
caller passed in by mistake.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram

log_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "bedside_log_context", default=None
)

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_SECRET_KV = re.compile(
    r"(?i)(access_token|refresh_token|id_token|client_secret|password|authorization|code_verifier)"
    r"([\"']?\s*[:=]\s*[\"']?)([^\"'&\s,}]+)"
)
SAFE_CONTEXT_KEYS = frozenset(
    {"hook", "service_id", "hook_instance", "issuer", "tenant", "jti", "request_id", "reason"}
)


def redact(text: str) -> str:
    """Remove anything that looks like a credential from a string."""
    text = _JWT.sub("[redacted-jwt]", text)
    text = _BEARER.sub(r"\1 [redacted]", text)
    return _SECRET_KV.sub(r"\1\2[redacted]", text)


class RedactingJsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        payload.update(log_context.get() or {})
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            payload.update(
                {
                    k: v
                    for k, v in extra.items()
                    if k in SAFE_CONTEXT_KEYS
                    or k.startswith("n_")
                    or k in {"status", "duration_ms", "path", "item"}
                }
            )
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, default=str))


def bind_log_context(**fields: str | None) -> None:
    """Add safe fields (hook, issuer, jti, ...) to every log line of this request."""
    current = dict(log_context.get() or {})
    current.update({k: v for k, v in fields.items() if v is not None and k in SAFE_CONTEXT_KEYS})
    log_context.set(current)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingJsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO: FHIR query URLs carry patient ids.
    for chatty in ("httpx", "httpcore", "hpack"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    for noisy in ("asyncio", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    # uvicorn's access log prints query strings (SMART `code`, `launch`): keep it off.
    logging.getLogger("uvicorn.access").disabled = True


HOOK_LATENCY = Histogram(
    "bedside_hook_duration_seconds",
    "Time to answer a CDS Hooks service call",
    ["service"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
CARDS_PER_RESPONSE = Histogram(
    "bedside_cards_per_response",
    "Cards returned per hook response",
    ["service"],
    buckets=(0, 1, 2, 3, 5, 10),
)
JWT_REJECTIONS = Counter("bedside_jwt_rejections_total", "EHR JWTs rejected", ["reason"])
FHIR_FETCH_LATENCY = Histogram(
    "bedside_fhir_fetch_duration_seconds",
    "Prefetch fallback FHIR fetch time",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 3.0),
)
FHIR_FETCH_FAILURES = Counter(
    "bedside_fhir_fetch_failures_total", "Prefetch fallback FHIR fetch failures", ["reason"]
)
