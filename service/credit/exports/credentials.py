"""Verifiable credentials, rendered and read back: an Open Badges 3.0 OpenBadgeCredential per
ledger entry and a CLR-style transcript credential, both VC-JWT signed ES384 with our key
(`kid` of the JWKS published at /.well-known/jwks.json), so anyone can verify them offline.

The subject is the learner's pseudonymous id on this deployment plus, when given, the name
from the profile; never an NPI. `creditsEarned` carries the amount, the achievement's `tag`
the credit type and `humanCode` the accredited activity id. Pure: the entries, the name, the
signing keys and the time come in (service/credit/credentials.py reads and audits).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from service.credit.rules import CreditRules
from service.credit.schemas import CredentialReport, LedgerEntryView
from service.keys import SIGNING_ALG, SigningKeys

VC_CONTEXT = "https://www.w3.org/2018/credentials/v1"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
KINDS = ("OpenBadgeCredential", "ClrCredential")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer(rules: CreditRules, public_url: str) -> dict[str, Any]:
    return {
        "id": public_url,
        "type": ["Profile"],
        "name": rules.provider.name,
        "address": {"type": ["Address"], "streetAddress": rules.provider.address},
    }


def subject_id(public_url: str, learner_key: str) -> str:
    """The learner's pseudonymous subject id on this deployment."""
    return f"{public_url}/learners/{learner_key}"


def badge(
    entry: LedgerEntryView,
    *,
    learner_key: str,
    name: str | None,
    rules: CreditRules,
    public_url: str,
    issued: datetime,
) -> dict[str, Any]:
    """The OpenBadgeCredential document (unsigned) for one claim entry."""
    subject: dict[str, Any] = {
        "id": subject_id(public_url, learner_key),
        "type": ["AchievementSubject"],
        "achievement": {
            "id": f"{public_url}/achievements/{entry.activity_id}",
            "type": ["Achievement"],
            "achievementType": "Course",
            "name": entry.activity_title,
            "description": f"{entry.credit_label}: {entry.topic}",
            "criteria": {
                "narrative": "A completed point-of-care learning cycle or case: "
                "clinical question, sources consulted, application to practice."
            },
            "humanCode": entry.activity_id,
            "tag": [entry.credit_type],
        },
        "creditsEarned": entry.amount,
        "activityEndDate": entry.earned_on.isoformat() + "T00:00:00Z",
    }
    if name:
        subject["name"] = name
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{entry.id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": _issuer(rules, public_url),
        "issuanceDate": _iso(issued),
        "name": f"{entry.amount:g} {entry.credit_label}",
        "credentialSubject": subject,
    }


def sign(
    credential: dict[str, Any], signing_keys: SigningKeys, subject: str, issued: datetime
) -> str:
    """VC-JWT: the credential under `vc`, iss/sub/jti/nbf mirrored as JWT claims."""
    header = {"alg": SIGNING_ALG, "kid": signing_keys.kid, "typ": "JWT"}
    claims = {
        "iss": credential["issuer"]["id"],
        "sub": subject,
        "jti": credential["id"],
        "nbf": int(issued.timestamp()),
        "iat": int(issued.timestamp()),
        "vc": credential,
    }
    return jwt.encode(header, claims, signing_keys.current, algorithms=[SIGNING_ALG])


def transcript_document(
    badges: list[dict[str, Any]],
    *,
    learner_key: str,
    name: str | None,
    rules: CreditRules,
    public_url: str,
    issued: datetime,
) -> dict[str, Any]:
    """The CLR-style ClrCredential document (unsigned) embedding the learner's badges."""
    subject: dict[str, Any] = {
        "id": subject_id(public_url, learner_key),
        "type": ["ClrSubject"],
        "verifiableCredential": badges,
    }
    if name:
        subject["name"] = name
    return {
        "@context": [VC_CONTEXT, CLR_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": _issuer(rules, public_url),
        "issuanceDate": _iso(issued),
        "name": f"Transcript of {rules.provider.name}",
        "credentialSubject": subject,
    }


def _credits(vc: dict[str, Any]) -> list[dict[str, object]]:
    subject = vc.get("credentialSubject", {})
    inner = subject.get("verifiableCredential") if "ClrCredential" in vc.get("type", []) else [vc]
    credits: list[dict[str, object]] = []
    for item in inner or []:
        achieved = item.get("credentialSubject", {})
        achievement = achieved.get("achievement", {})
        credits.append(
            {
                "credit_type": (achievement.get("tag") or [None])[0],
                "amount": achieved.get("creditsEarned"),
                "activity_id": achievement.get("humanCode"),
                "activity": achievement.get("name"),
                "date": str(achieved.get("activityEndDate", ""))[:10],
            }
        )
    return credits


def _check_document(claims: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    vc = claims.get("vc")
    if not isinstance(vc, dict):
        return {}, ["the token carries no verifiable credential ('vc' claim)"]
    errors = []
    types = vc.get("type", [])
    if "VerifiableCredential" not in types or not any(k in types for k in KINDS):
        errors.append("not an OpenBadgeCredential or ClrCredential")
    issuer = vc.get("issuer", {})
    if not isinstance(issuer, dict) or issuer.get("id") != claims.get("iss"):
        errors.append("the credential's issuer does not match the token's issuer")
    if vc.get("id") != claims.get("jti"):
        errors.append("the credential id does not match the token id")
    return vc, errors


def verify(token: str, public_jwks: dict[str, Any], *, now: datetime) -> CredentialReport:
    """Verify a VC-JWT against a public JWKS at `now`: signature, times, and the document's
    shape."""
    try:
        decoded = jwt.decode(
            token.strip(),
            KeySet.import_key_set(public_jwks),  # type: ignore[arg-type]
            algorithms=[SIGNING_ALG],
        )
        moment = int(now.timestamp())
        jwt.JWTClaimsRegistry(now=moment, leeway=60).validate(decoded.claims)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        return CredentialReport(
            valid=False, errors=[f"signature or token invalid: {type(exc).__name__}"]
        )
    vc, errors = _check_document(decoded.claims)
    subject = vc.get("credentialSubject", {}) if vc else {}
    issuer = vc.get("issuer", {}) if vc else {}
    kind = next((k for k in KINDS if k in vc.get("type", [])), None) if vc else None
    return CredentialReport(
        valid=not errors,
        issuer=(issuer.get("name") or issuer.get("id")) if isinstance(issuer, dict) else None,
        learner=subject.get("name") or subject.get("id"),
        kind=kind,
        credits=_credits(vc) if vc else [],
        issued_at=vc.get("issuanceDate") if vc else None,
        errors=errors,
    )
