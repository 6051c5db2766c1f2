"""The `appContext` carried by a card's smart link: signed by us, expiring, free of PHI.

It names the issued card and the content item so that a SMART launch can be tied back to the
card that invited it. The EHR passes it through untouched; only we can read it as valid.

Two optional claims, absent from tokens signed before them (which still verify): `w`, why the
card was shown (`service/cards/ranking.py: why_code`, kept on the cycle the launch starts),
and `r`, the review question a recall card links to (the launch opens it instead of a cycle).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

_ALG = "HS256"


@dataclass(frozen=True, slots=True)
class AppContext:
    card_uuid: str
    item_id: str
    hook: str
    learner: str
    expires_at: int
    why: str | None = None  # a `why_code` (`w`)
    review_id: str | None = None  # a recall card's review question (`r`)


class InvalidAppContext(Exception):
    """The appContext is malformed, tampered with or expired."""


class AppContextSigner:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        derived = hashlib.sha256(b"bedside-app-context\x1f" + secret).digest()
        self._key = OctKey.import_key(derived)
        self._ttl = ttl_seconds

    def sign(
        self,
        *,
        card_uuid: str,
        item_id: str,
        hook: str,
        learner: str,
        now: float | None = None,
        why: str | None = None,
        review_id: str | None = None,
    ) -> str:
        issued = int(time.time() if now is None else now)
        claims = {"c": card_uuid, "i": item_id, "h": hook, "l": learner, "exp": issued + self._ttl}
        if why is not None:
            claims["w"] = why
        if review_id is not None:
            claims["r"] = review_id
        return jws.serialize_compact(
            {"alg": _ALG}, orjson.dumps(claims), self._key, algorithms=[_ALG]
        )

    def verify(self, token: str, now: float | None = None) -> AppContext:
        try:
            obj = jws.deserialize_compact(token, self._key, algorithms=[_ALG])
            claims = orjson.loads(obj.payload)
            context = AppContext(
                card_uuid=str(claims["c"]),
                item_id=str(claims["i"]),
                hook=str(claims["h"]),
                learner=str(claims["l"]),
                expires_at=int(claims["exp"]),
                why=_optional(claims, "w"),
                review_id=_optional(claims, "r"),
            )
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidAppContext("appContext is not valid") from exc
        if context.expires_at < (time.time() if now is None else now):
            raise InvalidAppContext("appContext has expired")
        return context


def _optional(claims: dict[str, object], name: str) -> str | None:
    """An optional string claim; a value of another type is a malformed context."""
    value = claims.get(name)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"claim {name} is not a string")
