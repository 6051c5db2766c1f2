"""`service/outbound.py: fetch`, the one way Bedside calls another system: the answer whole,
or one `OutboundError` whose reason is safe to log (never the URL's query or a body)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from service.outbound import OutboundError, fetch

URL = "https://other.example.org/thing?token=secret-in-query"


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler, follow_redirects=False)


async def _reason(handler: httpx.MockTransport, **options: object) -> OutboundError:
    async with _client(handler) as http:
        with pytest.raises(OutboundError) as caught:
            await fetch(http, "GET", URL, max_bytes=100, **options)  # type: ignore[arg-type]
    assert "secret-in-query" not in str(caught.value)
    return caught.value


async def test_an_accepted_answer_is_read_whole() -> None:
    handler = httpx.MockTransport(lambda _: httpx.Response(200, json={"ok": True}))
    async with _client(handler) as http:
        answer = await fetch(http, "GET", URL, max_bytes=100)
    assert answer.status == 200
    assert answer.json() == {"ok": True}


async def test_a_status_outside_accept_is_its_class() -> None:
    error = await _reason(httpx.MockTransport(lambda _: httpx.Response(503)))
    assert (error.reason, error.status) == ("status_5xx", 503)


async def test_accept_widens_what_is_an_answer() -> None:
    handler = httpx.MockTransport(lambda _: httpx.Response(409))
    async with _client(handler) as http:
        answer = await fetch(http, "POST", URL, json=[], max_bytes=100, accept=(200, 409))
    assert answer.status == 409


async def test_a_redirect_is_not_followed() -> None:
    redirect = httpx.Response(302, headers={"Location": "https://elsewhere.example.org/"})
    error = await _reason(httpx.MockTransport(lambda _: redirect))
    assert error.reason == "status_3xx"


async def test_a_declared_length_past_the_cap_is_refused_unread() -> None:
    big = httpx.Response(200, headers={"Content-Length": "101"}, content=b"x" * 101)
    assert (await _reason(httpx.MockTransport(lambda _: big))).reason == "too_large"


async def _chunks() -> AsyncIterator[bytes]:
    for _ in range(11):
        yield b"x" * 10


async def test_a_streamed_body_past_the_cap_is_refused() -> None:
    error = await _reason(httpx.MockTransport(lambda _: httpx.Response(200, content=_chunks())))
    assert error.reason == "too_large"


async def test_invalid_json_is_its_own_reason() -> None:
    handler = httpx.MockTransport(lambda _: httpx.Response(200, content=b"{not json"))
    async with _client(handler) as http:
        answer = await fetch(http, "GET", URL, max_bytes=100)
    with pytest.raises(OutboundError, match="invalid_json"):
        answer.json()


async def test_a_transport_error_is_unreachable_and_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    error = await _reason(httpx.MockTransport(refuse))
    assert (error.reason, error.detail) == ("unreachable", "ConnectError")


async def test_the_deadline_bounds_a_slow_answer() -> None:
    async def slow(_: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    error = await _reason(httpx.MockTransport(slow), deadline=0.05)
    assert error.reason == "deadline"
