"""State shared by workers: replay caches, sessions, rate limits, key-refresh throttles.

In memory for a single process (the embedded default); in Redis when BEDSIDE_REDIS_URL is set,
so that N workers on M machines agree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol


class SharedState(Protocol):
    async def add_if_absent(self, key: str, ttl_seconds: int) -> bool:
        """Record key for ttl; True if it was not present (first sighting)."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    async def pop(self, key: str) -> bytes | None:
        """Read and delete atomically (single-use values such as OAuth state)."""

    async def delete(self, key: str) -> None: ...

    async def incr_window(self, key: str, window_seconds: int) -> int:
        """Increment a counter that lives for window_seconds; returns the new count."""

    async def publish(self, channel: str, message: bytes) -> None:
        """Send message to every current listener of channel (in every worker)."""

    def listen(self, channel: str, on_subscribed: Callable[[], None]) -> AsyncIterator[bytes]:
        """Messages published on channel from the moment `on_subscribed` is called; ends or
        raises when the subscription is lost (messages may then have been missed)."""

    async def close(self) -> None: ...


class MemoryState:
    """A process-local SharedState. Not for more than one worker."""

    def __init__(self, clock: object = time.monotonic) -> None:
        self._values: dict[str, tuple[float, bytes]] = {}
        self._clock = clock
        self._sweep_at = 0.0
        self._listeners: dict[str, set[asyncio.Queue[bytes]]] = {}

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def _sweep(self) -> None:
        now = self._now()
        if now < self._sweep_at:
            return
        self._sweep_at = now + 30
        for key in [k for k, (exp, _) in self._values.items() if exp <= now]:
            del self._values[key]

    def _live(self, key: str) -> bytes | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        if entry[0] <= self._now():
            del self._values[key]
            return None
        return entry[1]

    async def add_if_absent(self, key: str, ttl_seconds: int) -> bool:
        self._sweep()
        if self._live(key) is not None:
            return False
        self._values[key] = (self._now() + ttl_seconds, b"1")
        return True

    async def get(self, key: str) -> bytes | None:
        return self._live(key)

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._sweep()
        self._values[key] = (self._now() + ttl_seconds, value)

    async def pop(self, key: str) -> bytes | None:
        value = self._live(key)
        self._values.pop(key, None)
        return value

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def incr_window(self, key: str, window_seconds: int) -> int:
        current = self._live(key)
        count = int(current or b"0") + 1
        expires = self._values[key][0] if current is not None else self._now() + window_seconds
        self._values[key] = (expires, str(count).encode())
        return count

    async def publish(self, channel: str, message: bytes) -> None:
        for queue in self._listeners.get(channel, ()):
            queue.put_nowait(message)

    async def listen(self, channel: str, on_subscribed: Callable[[], None]) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        listeners = self._listeners.setdefault(channel, set())
        listeners.add(queue)
        try:
            on_subscribed()
            while True:
                yield await queue.get()
        finally:
            listeners.discard(queue)

    async def close(self) -> None:
        self._values.clear()


class RedisState:
    """A SharedState in Redis; keys are namespaced with a prefix."""

    def __init__(self, url: str, prefix: str = "bedside:") -> None:
        from redis.asyncio import Redis

        self._url = url
        self._redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix

    def _k(self, key: str) -> str:
        return self._prefix + key

    async def add_if_absent(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(self._k(key), b"1", nx=True, ex=ttl_seconds))

    async def get(self, key: str) -> bytes | None:
        return _as_bytes(await self._redis.get(self._k(key)))

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._redis.set(self._k(key), value, ex=ttl_seconds)

    async def pop(self, key: str) -> bytes | None:
        return _as_bytes(await self._redis.getdel(self._k(key)))

    async def delete(self, key: str) -> None:
        await self._redis.delete(self._k(key))

    async def incr_window(self, key: str, window_seconds: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._k(key))
            pipe.expire(self._k(key), window_seconds, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def publish(self, channel: str, message: bytes) -> None:
        await self._redis.publish(self._k(channel), message)

    async def listen(self, channel: str, on_subscribed: Callable[[], None]) -> AsyncIterator[bytes]:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # Its own connection, without retries: a lost connection ends the subscription at
        # once, so the caller stops trusting what it cached (messages are being missed) and
        # subscribes again from a known state, rather than after redis-py's silent retries.
        client = Redis.from_url(self._url, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0))
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(self._k(channel))
            async for message in pubsub.listen():
                if message.get("type") == "subscribe":
                    on_subscribed()  # confirmed: from here on nothing published is missed
                elif message.get("type") == "message":
                    data = _as_bytes(message["data"])
                    if data is not None:
                        yield data
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]
            await client.aclose()

    async def close(self) -> None:
        await self._redis.aclose()


def _as_bytes(value: bytes | str | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return value.encode()


def make_shared_state(redis_url: str | None) -> SharedState:
    return RedisState(redis_url) if redis_url else MemoryState()
