"""Pseudonymous learner keys: a keyed hash of the verified (issuer, tenant, user)."""

from __future__ import annotations

import hashlib
import hmac
import re

_RESOURCE_REF = re.compile(r"(Practitioner|PractitionerRole|Patient|RelatedPerson|Person)/[^/]+$")


def normalize_user_ref(user: str) -> str:
    """'https://ehr/fhir/Practitioner/123' and 'Practitioner/123' name the same user."""
    user = user.strip().rstrip("/")
    match = _RESOURCE_REF.search(user)
    return match.group(0) if match else user


def learner_key(secret: bytes, issuer: str, tenant: str | None, user: str) -> str:
    """A stable, non-reversible learner id; the same clinician gets the same key from the hook
    call (context.userId) and from the SMART launch (fhirUser)."""
    message = "\x1f".join([issuer.rstrip("/"), tenant or "", normalize_user_ref(user)])
    digest = hmac.new(secret, b"learner\x1f" + message.encode(), hashlib.sha256).hexdigest()
    return "lrn_" + digest[:40]
