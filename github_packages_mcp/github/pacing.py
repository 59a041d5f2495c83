"""One limiter for the whole process, as GitHub asks of API clients.

At most N requests in flight (GitHub's secondary limits punish bursts), mutating requests spaced by an
interval (GitHub asks for about a second between them), and a shared pause: when one request meets a rate
limit, every request waits, instead of each one running into the same wall.

Usage::

    pacer = Pacer(max_concurrency=4, mutation_interval=1.0)
    async with pacer.slot(mutating=True):
        await send()
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

__all__ = ["Pacer"]


class Pacer:
    """Concurrency limit, mutation spacing and a shared pause, for every request of the process."""

    def __init__(
        self,
        max_concurrency: int,
        mutation_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._slots = anyio.Semaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._mutation_interval = mutation_interval
        self._mutations = anyio.Lock()
        self._next_mutation = 0.0
        self._paused_until = 0.0
        self._clock = clock
        self._sleep = sleep

    @property
    def in_flight(self) -> int:
        """Requests holding a slot right now."""
        return self._max_concurrency - self._slots.value

    def pause_until(self, moment: float) -> None:
        """Hold every request that has not been sent yet until `moment` (on this pacer's clock)."""
        self._paused_until = max(self._paused_until, moment)

    @asynccontextmanager
    async def slot(self, *, mutating: bool) -> AsyncIterator[None]:
        """Wait for the pause, the mutation interval and a free slot, in that order; hold the slot inside."""
        if not mutating and self._paused_until <= self._clock():  # the common case, kept short
            async with self._slots:
                if self._paused_until > self._clock():  # a pause began while this request queued
                    await self._wait_for_pause()
                yield
            return
        await self._wait_for_pause()
        if mutating:
            async with self._mutations:
                await self._sleep_until(self._next_mutation)
                self._next_mutation = self._clock() + self._mutation_interval
        async with self._slots:
            await self._wait_for_pause()  # a pause may have begun while this request queued for a slot
            yield

    async def _wait_for_pause(self) -> None:
        while self._paused_until > self._clock():
            await self._sleep_until(self._paused_until)

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await self._sleep(delay)
