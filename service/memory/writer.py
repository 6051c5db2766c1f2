"""The background writer the learner memory's buffers share (issued cards, practice counts):
what the hook buffers is written every few hundred milliseconds, or as soon as a batch is
full, and once more on shutdown, so that a hook call never waits on the database.

The writer is asked to stop, not cancelled: Python 3.11's `wait_for` can swallow a
cancellation that lands as its wait ends (the issued-card writer then ran forever and
shutdown hung), and a cancelled batch write would only be retried on close anyway."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundWriter:
    """Subclasses buffer in memory, call `wake()` when a batch is full, and write in
    `_write` (called under a lock, so one batch at a time); `interval()` says how often."""

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = False

    def interval(self) -> float:
        """Seconds between writes when no batch fills up."""
        raise NotImplementedError

    async def _write(self) -> None:
        """Write what is buffered; keep it buffered when the write fails."""
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def wake(self) -> None:
        """A batch is full: write it now rather than at the next interval."""
        self._wake.set()

    async def flush(self) -> None:
        """Write everything buffered now."""
        async with self._lock:
            await self._write()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval()):
                    await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def close(self) -> None:
        """Stop the writer and write what is left."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
