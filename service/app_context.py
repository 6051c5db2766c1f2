"""The `appContext` carried by a card's smart link: signed by us, expiring, free of PHI.

It names the issued card and the content item so that a SMART launch can be tied back to the
card that invited it. The EHR passes it through untouched; only we can read it as valid.
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


class InvalidAppContext(Exception):
    """The appContext is malformed, tampered with or expired."""


class AppContextSigner:
    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        derived = hashlib.sha256(b"bedside-app-context\x1f" + secret).digest()
        self._key = OctKey.import_key(derived)
        self._ttl = ttl_seconds

    def sign(
        self, *, card_uuid: str, item_id: str, hook: str, learner: str, now: float | None = None
    ) -> str:
        issued = int(time.time() if now is None else now)
        claims = {"c": card_uuid, "i": item_id, "h": hook, "l": learner, "exp": issued + self._ttl}
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
            )
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidAppContext("appContext is not valid") from exc
        if context.expires_at < (time.time() if now is None else now):
            raise InvalidAppContext("appContext has expired")
        return context
