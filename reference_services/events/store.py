"""Group commit of events to S3: one object per batch, every acknowledgement waits for its object."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
import uuid
from collections.abc import Awaitable, Callable

__all__ = ["BufferFull", "EventBatcher"]

Put = Callable[[str, bytes], Awaitable[None]]


class BufferFull(Exception):
    pass


class EventBatcher:
    """Flushes when ``batch_max`` events wait or ``flush_seconds`` after the first one arrived.

    A flush is one ``PutObject`` of JSON lines (up to ``concurrency`` in flight); every waiter gets the object
    key only once it is stored, or the exception if it was not. At most ``buffer_max`` events wait; beyond
    that callers are refused (shed) rather than queued without bound.
    """

    def __init__(
        self, put: Put, *, replica: str, flush_seconds: float, batch_max: int, buffer_max: int, concurrency: int = 4
    ) -> None:
        self._put = put
        self._prefix = f"{replica}-{os.getpid()}"
        self.flush_seconds = flush_seconds
        self.batch_max = batch_max
        self.buffer_max = buffer_max
        self._pending: list[tuple[bytes, asyncio.Future[str]]] = []
        self._wake = asyncio.Event()
        self._seq = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._flushing: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def submit(self, line: bytes) -> str:
        if len(self._pending) >= self.buffer_max:
            raise BufferFull(f"{len(self._pending)} events are waiting for S3")
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._pending.append((line, fut))
        self._wake.set()
        return await fut

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def closing(self) -> None:
        """The replica stops taking requests: flush what waits now, and every later event at once.

        Otherwise events buffered at SIGTERM would wait for their batch timer, possibly past the shutdown
        budget, and their requests would be cut off unanswered.
        """
        self.flush_seconds = 0.0
        self._wake.set()

    async def stop(self) -> None:
        """Flush what is waiting (bounded by the caller's shutdown budget), then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._flushing:
            await asyncio.gather(*self._flushing, return_exceptions=True)
        while self._pending:
            await self._flush(self._take())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            first = time.monotonic()
            while len(self._pending) < self.batch_max and (left := first + self.flush_seconds - time.monotonic()) > 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), left)
            # Up to `concurrency` PutObjects in flight: one slow S3 answer must not stall every later batch.
            await self._slots.acquire()
            task = asyncio.create_task(self._flush(self._take()))
            self._flushing.add(task)
            task.add_done_callback(self._flush_done)
            if not self._pending:
                self._wake.clear()

    def _flush_done(self, task: asyncio.Task[None]) -> None:
        self._flushing.discard(task)
        self._slots.release()

    def _take(self) -> list[tuple[bytes, asyncio.Future[str]]]:
        batch, self._pending = self._pending[: self.batch_max], self._pending[self.batch_max :]
        return batch

    async def _flush(self, batch: list[tuple[bytes, asyncio.Future[str]]]) -> None:
        if not batch:
            return
        key = time.strftime("events/%Y/%m/%d/%H/", time.gmtime()) + (
            f"{self._prefix}-{next(self._seq):08d}-{uuid.uuid4().hex[:8]}.jsonl"
        )
        body = b"\n".join(line for line, _ in batch) + b"\n"
        try:
            await self._put(key, body)
        except Exception as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for _, fut in batch:
            if not fut.done():
                fut.set_result(key)
