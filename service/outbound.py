"""The one way Bedside calls another system (FHIR servers, key sets, SMART discovery and
token endpoints, the LRS): a deadline, a size cap and one error type.

A per-read timeout cannot bound a server that trickles its answer a byte at a time: callers
on a request path give the whole exchange a `deadline`. The body is read in chunks and
refused past `max_bytes` (a declared Content-Length past it is refused before reading).
Every failure is an `OutboundError` whose `reason` is short and safe to log and to count:
never a URL, a header or a body. Redirects are never followed (the runtime's client is built
with `follow_redirects=False`: an access token must not follow a redirect).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson


class OutboundError(Exception):
    """A call that gave no usable answer. `reason`: `deadline`, `unreachable`, `status_4xx`
    (and the like), `too_large` or `invalid_json`; `detail` names the transport error."""

    def __init__(self, reason: str, *, status: int | None = None, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.status = status
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON (`invalid_json` when it is not)."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise OutboundError("invalid_json", status=self.status) from exc


async def fetch(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    max_bytes: int,
    deadline: float | None = None,
    accept: Collection[int] = (200,),
    headers: Mapping[str, str] | None = None,
    content: bytes | str | None = None,
    json: Any = None,
    auth: httpx.Auth | None = None,
    timeout: httpx.Timeout | None = None,
) -> Answer:
    """One request and its whole answer. `deadline` bounds the exchange (None: the caller
    bounds it, as the hook's prefetch does for all its fetches at once); a status outside
    `accept` is `status_Nxx`."""
    try:
        async with asyncio.timeout(deadline):
            request = http.build_request(
                method,
                url,
                headers=headers,
                content=content,
                json=json,
                timeout=timeout if timeout is not None else http.timeout,
            )
            response = await http.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT, stream=True)
            try:
                return Answer(response.status_code, await _body(response, accept, max_bytes))
            finally:
                await response.aclose()
    except TimeoutError:
        raise OutboundError("deadline") from None
    except httpx.HTTPError as exc:
        raise OutboundError("unreachable", detail=type(exc).__name__) from exc


async def _body(response: httpx.Response, accept: Collection[int], max_bytes: int) -> bytes:
    status = response.status_code
    if status not in accept:
        raise OutboundError(f"status_{status // 100}xx", status=status)
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise OutboundError("too_large", status=status)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise OutboundError("too_large", status=status)
    return bytes(body)
