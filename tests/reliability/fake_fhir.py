"""A misbehaving FHIR server on loopback: a real asyncio TCP server speaking just enough
HTTP/1.1 to be slow, refuse, reset, trickle, fail, lie about JSON, flood or redirect.

`FakeFhirServer.mode` picks the behaviour of the next requests (one request per connection,
`Connection: close`), so a test can move one registered FHIR base through every failure.
`/jwks` answers with `jwks` (the EHR's key set) whatever `mode` is, so that the EHR's JWT still
verifies while its FHIR server misbehaves; `jwks_mode` makes the JWKS endpoint misbehave too.
Any other path (an LRS's `/lrs/statements`) behaves as `mode` says. A request body with a
Content-Length (up to `MAX_KEPT_BODY`) is read and kept in `bodies`, by path.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

BUNDLE = orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []})
PATIENT = orjson.dumps(
    {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"}
)
HUGE_BYTES = 50 * 1024 * 1024
MAX_KEPT_BODY = 1024 * 1024
_REASONS = {200: "OK", 302: "Found", 429: "Too Many Requests", 500: "Error", 503: "Unavailable"}

# Every failure the issue names; each value is a FakeFhirServer.mode.
FAILURE_MODES = (
    "slow:200",
    "slow:1000",
    "slow:3000",
    "slow:10000",
    "hang",
    "reset",
    "close",
    "trickle",
    "trickle-body",
    "status:429",
    "status:500",
    "status:503",
    "invalid-json",
    "huge",
    "huge-chunked",
    "redirect",
)


@dataclass
class FakeFhirServer:
    """The server's state: its mode, what it saw, and its address once started."""

    mode: str = "ok"
    jwks_mode: str = "ok"  # the JWKS endpoint can misbehave too
    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    port: int = 0
    connections: int = 0
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, auth)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)  # (path, request body)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks"

    def fhir_requests(self) -> int:
        return sum(1 for path, _ in self.requests if path.startswith("/fhir"))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path, auth = _parse_head(head)
            self.requests.append((path, auth))
            length = _content_length(head)
            if 0 < length <= MAX_KEPT_BODY:
                self.bodies.append((path, await reader.readexactly(length)))
            if path.startswith("/jwks") and self.jwks_mode == "ok":
                await _respond(writer, 200, orjson.dumps(self.jwks))
            else:
                mode = self.jwks_mode if path.startswith("/jwks") else self.mode
                await self._misbehave(writer, path, mode)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()  # flushes what is buffered, then closes

    async def _misbehave(self, writer: asyncio.StreamWriter, path: str, full_mode: str) -> None:
        mode, _, argument = full_mode.partition(":")
        ok_body = PATIENT if path.startswith("/fhir/Patient/") else BUNDLE
        if mode == "ok":
            await _respond(writer, 200, ok_body)
        elif mode == "slow":
            await asyncio.sleep(int(argument) / 1000)
            await _respond(writer, 200, ok_body)
        elif mode == "hang":
            await asyncio.sleep(3600)
        elif mode == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif mode == "close":
            writer.close()
        elif mode == "trickle":  # the whole response, headers included, a byte at a time
            for byte in _response_bytes(200, ok_body):
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)
        elif mode == "trickle-body":  # headers at once, then a byte at a time (never ends)
            writer.write(_head(200, len(ok_body) + 10_000))
            for _ in range(100_000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.01)
        elif mode == "status":
            await _respond(writer, int(argument), b'{"resourceType":"OperationOutcome"}')
        elif mode == "invalid-json":
            await _respond(writer, 200, b'{"resourceType": "Bundle", "entry": [')
        elif mode == "huge":
            await _flood(writer, chunked=False)
        elif mode == "huge-chunked":
            await _flood(writer, chunked=True)
        elif mode == "redirect":
            location = f"http://127.0.0.1:{self.port}/elsewhere{path}"
            await _respond(writer, 302, b"", extra=f"Location: {location}\r\n")
        else:  # pragma: no cover - a typo in a test
            raise AssertionError(f"unknown mode {full_mode}")


def _parse_head(head: bytes) -> tuple[str, str | None]:
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
    auth = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "authorization":
            auth = value.strip()
    return path, auth


def _content_length(head: bytes) -> int:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            return int(value.strip())
    return 0


def _head(status: int, length: int | None, extra: str = "") -> bytes:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    chunked = "" if length is not None else "Transfer-Encoding: chunked\r\n"
    return (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\n"
        f"Content-Type: application/fhir+json\r\n{size}{chunked}{extra}"
        "Connection: close\r\n\r\n"
    ).encode()


def _response_bytes(status: int, body: bytes, extra: str = "") -> bytes:
    retry = "Retry-After: 1\r\n" if status == 429 else ""
    return _head(status, len(body), extra + retry) + body


async def _respond(writer: asyncio.StreamWriter, status: int, body: bytes, extra: str = "") -> None:
    writer.write(_response_bytes(status, body, extra))
    await writer.drain()


async def _flood(writer: asyncio.StreamWriter, *, chunked: bool) -> None:
    chunk = b" " * (1024 * 1024)
    writer.write(_head(200, None if chunked else HUGE_BYTES))
    for _ in range(HUGE_BYTES // len(chunk)):
        writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
        await writer.drain()
    if chunked:
        writer.write(b"0\r\n\r\n")
        await writer.drain()


@asynccontextmanager
async def fake_fhir_server(mode: str = "ok") -> AsyncIterator[FakeFhirServer]:
    """A started FakeFhirServer, stopped on exit."""
    server = FakeFhirServer(mode=mode)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def refused_base() -> str:
    """A loopback FHIR base on which nothing listens: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/fhir"
