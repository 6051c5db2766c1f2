"""The benchmark's EHR: an ES384 (or RS384) key, its JWKS served on loopback, and pools of
signed JWTs.

Bedside rejects a replayed `jti`, and wrk cannot sign per request, so every token a load run
sends is signed beforehand, handed to wrk in a file (one per line) and used exactly once: a
run takes a slice of the pool, and what it provably did not send goes back. Tokens live
about 55 minutes (`exp` must stay within the replay cache's hour), so the pool signs more
lazily and drops stale ones. Nothing in the product is relaxed for the benchmark.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

TOKEN_LIFETIME_SECONDS = 3300  # < jti_max_ttl_seconds (3600) - leeway (60)
TOKEN_MAX_AGE_SECONDS = 2700  # leaves >= 10 minutes of validity for the run using it


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class JwksServer:
    """A static JWKS document on 127.0.0.1, served from a daemon thread."""

    def __init__(self, document: dict[str, Any]) -> None:
        payload = orjson.dumps(document)

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/jwks.json"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class BenchEhr:
    """The simulated EHR: issuer, signing key, and the JWKS server publishing it. It signs
    ES384 unless told RS384: CDS Hooks recommends both, the EHR chooses, and the choice costs
    Bedside 0.5 vs 0.02 ms per call (`bench/micro.py: signature_verify`)."""

    issuer: str = "https://ehr.bench.invalid/issuer"
    algorithm: str = "ES384"
    key: ECKey | RSAKey = field(init=False)
    jwks: JwksServer = field(init=False)

    def __post_init__(self) -> None:
        parameters = {"kid": uuid.uuid4().hex[:12], "use": "sig"}
        if self.algorithm == "ES384":
            self.key = ECKey.generate_key("P-384", parameters=parameters, private=True)
        elif self.algorithm == "RS384":
            self.key = RSAKey.generate_key(2048, parameters=parameters, private=True)
        else:
            raise ValueError(f"the bench EHR signs ES384 or RS384, not {self.algorithm}")
        public = dict(self.key.as_dict(private=False))
        public["alg"] = self.algorithm
        self.jwks = JwksServer({"keys": [public]})
        header = {"alg": self.algorithm, "typ": "JWT", "kid": self.key.kid}
        self._header = _b64(orjson.dumps(header))
        self._algorithm = JWSRegistry.algorithms[self.algorithm]

    def token(self, audience: str, now: float | None = None) -> str:
        """One signed JWT for `audience` with a fresh jti."""
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.issuer,
            "sub": "bench-ehr-client",
            "aud": audience,
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        signing_input = f"{self._header}.{_b64(orjson.dumps(claims))}"
        signature = self._algorithm.sign(signing_input.encode(), self.key)
        return f"{signing_input}.{_b64(signature)}"

    def close(self) -> None:
        self.jwks.close()


@dataclass
class _Batch:
    signed_at: float
    tokens: deque[str]


class TokenPool:
    """Single-use tokens for one audience, signed in batches on demand."""

    def __init__(self, ehr: BenchEhr, audience: str, batch: int = 5000) -> None:
        self.ehr = ehr
        self.audience = audience
        self.batch = batch
        self._batches: deque[_Batch] = deque()
        self.signed = 0

    def _drop_stale(self) -> None:
        limit = time.time() - TOKEN_MAX_AGE_SECONDS
        while self._batches and (self._batches[0].signed_at < limit or not self._batches[0].tokens):
            self._batches.popleft()

    def available(self) -> int:
        self._drop_stale()
        return sum(len(batch.tokens) for batch in self._batches)

    def fill(self, count: int) -> None:
        """Make sure at least `count` fresh tokens are ready."""
        missing = count - self.available()
        while missing > 0:
            now = time.time()
            size = max(missing, self.batch)
            self._batches.append(
                _Batch(now, deque(self.ehr.token(self.audience, now) for _ in range(size)))
            )
            self.signed += size
            missing -= size

    def take(self, count: int) -> list[str]:
        """The next `count` unused tokens (oldest first); they leave the pool."""
        self.fill(count)
        taken: list[str] = []
        while len(taken) < count:
            batch = self._batches[0]
            while batch.tokens and len(taken) < count:
                taken.append(batch.tokens.popleft())
            self._drop_stale()
        return taken

    def give_back(self, tokens: list[str]) -> None:
        """Return tokens a run certainly did not send (they stay single-use)."""
        if tokens:
            # conservative: treat them as signed now minus the oldest batch age
            signed_at = self._batches[0].signed_at if self._batches else time.time()
            self._batches.appendleft(_Batch(signed_at, deque(tokens)))
