"""One limiter for the whole process, as GitHub asks of API clients.

At most N requests in flight (GitHub's secondary limits punish bursts), mutating requests spaced by an
interval (GitHub asks for about a second between them), and a pause per token: when a request meets a rate
limit, every request with the same token waits, instead of each one running into the same wall. A rate limit
belongs to one token (GitHub counts per user or app), so the pause holds that token's requests only: with
callers' own tokens passing through (`http_auth = "github"`), one caller's limit never holds another caller.
Pauses are kept for the `MAX_IDENTITIES` most recently paused tokens.

The concurrency limit and the mutation spacing stay process-wide: they are the gentleness of this process as
a whole towards GitHub, and the spacing is what GitHub asks of an integration; a delete rarely waits more
than one interval for another caller's.

Usage::

    pacer = Pacer(max_concurrency=4, mutation_interval=1.0)
    async with pacer.slot(mutating=True, identity=identity_of(token)):
        await send()
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from github_packages_mcp.github.cache import MAX_IDENTITIES, LRUMap

__all__ = ["Pacer"]


class Pacer:
    """Concurrency limit and mutation spacing for every request of the process, and a pause per token."""

    def __init__(
        self,
        max_concurrency: int,
        mutation_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        max_identities: int = MAX_IDENTITIES,
    ) -> None:
        self._slots = anyio.Semaphore(max_concurrency)
        self._max_concurrency = max_concurrency
        self._mutation_interval = mutation_interval
        self._mutations = anyio.Lock()
        self._next_mutation = 0.0
        self._paused: LRUMap[str, float] = LRUMap(max_identities)  # token identity -> paused until
        self._clock = clock
        self._sleep = sleep

    @property
    def in_flight(self) -> int:
        """Requests holding a slot right now."""
        return self._max_concurrency - self._slots.value

    @property
    def paused_identities(self) -> int:
        """How many tokens' pauses are kept (bounded; an expired pause may still be counted)."""
        return len(self._paused)

    def pause_until(self, moment: float, identity: str = "") -> None:
        """Hold every request of the token `identity` that has not been sent yet until `moment` (on this pacer's
        clock)."""
        until = self._paused.get(identity, 0.0)
        if moment > until:
            self._paused[identity] = moment

    def paused_until(self, identity: str = "") -> float:
        """Until when the token `identity` is paused (0 when it never was)."""
        return self._paused.get(identity, 0.0)

    @asynccontextmanager
    async def slot(self, *, mutating: bool, identity: str = "") -> AsyncIterator[None]:
        """Wait for the token's pause, the mutation interval and a free slot, in that order; hold the slot inside.

        A request never waits out a pause while holding a slot: one that finds its token paused once it has a
        slot (the pause began while it queued) gives the slot back, so a paused token never holds up another.
        """
        await self._wait_for_pause(identity)
        if mutating:
            async with self._mutations:
                await self._sleep_until(self._next_mutation)
                self._next_mutation = self._clock() + self._mutation_interval
        while True:
            await self._slots.acquire()
            if self.paused_until(identity) <= self._clock():
                break
            self._slots.release()
            await self._wait_for_pause(identity)
        try:
            yield
        finally:
            self._slots.release()

    async def _wait_for_pause(self, identity: str) -> None:
        while (until := self.paused_until(identity)) > self._clock():
            await self._sleep_until(until)

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await self._sleep(delay)
