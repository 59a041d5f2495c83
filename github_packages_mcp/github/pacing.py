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

Replicas (`shared`, state/redis.py) also keep one mutation spacing per token between them, reserved on the shared
state's clock, and share each token's pause: N replicas with one token are as gentle as one. A mutation that
cannot reserve its turn is not sent (the error says why); a read whose shared pause cannot be read goes on. A
process alone shares with nobody (`UNSHARED`, the default): its own pacing is all there is.

A caller that must not be interrupted once a request is sent (a delete and its journal lines) but may be while it
waits for its turn takes the turn first (`turn`, cancellable), then sends in it (shielded), as `sent_in_turn` does:
cancelled while waiting, it sends nothing. A turn left unused is given back harmlessly: its slot is released, and
the next mutation is spaced from it as if it had been used (at most one interval later than it needed to be, never
sooner).

Usage::

    pacer = Pacer(max_concurrency=4, mutation_interval=1.0)
    async with pacer.slot(mutating=True, identity=identity_of(token)):
        await send()
    async with pacer.turn(mutating=True, identity=identity_of(token)) as turn:  # the wait: cancellable
        with anyio.CancelScope(shield=True):
            async with pacer.slot(mutating=True, identity=identity_of(token), turn=turn):  # goes at once
                await send()
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Final, Protocol, TypeVar

import anyio

from github_packages_mcp.errors import StateUnavailable
from github_packages_mcp.github.cache import MAX_IDENTITIES, LRUMap

__all__ = ["UNSHARED", "Pacer", "SharedPacing", "Turn", "Unshared", "sent_in_turn"]

SHARED_PAUSE_TTL = 1.0  # seconds a read trusts the shared pause it looked up last

log = logging.getLogger("github_packages_mcp")
T = TypeVar("T")


class SharedPacing(Protocol):
    """Pacing that replicas share; times are seconds since the epoch. Raises a StateUnavailable when it cannot
    answer."""

    async def reserve_mutation(self, identity: str, interval: float) -> float:
        """Reserve the token's next mutation: the seconds to wait before sending it."""
        ...

    async def pause(self, identity: str, until: float) -> None: ...

    async def paused_until(self, identity: str) -> float: ...


class Unshared:
    """The pacing of a process alone: no other replica to keep a spacing or a pause with."""

    async def reserve_mutation(self, identity: str, interval: float) -> float:
        return 0.0

    async def pause(self, identity: str, until: float) -> None:
        pass

    async def paused_until(self, identity: str) -> float:
        return 0.0


UNSHARED: Final = Unshared()


class Turn:
    """A slot, and for a mutation its place in the spacing, held for one request (`Pacer.turn`): the first `slot`
    given it with the same kind of request and token goes in it without waiting again; later ones wait as usual."""

    def __init__(self, mutating: bool, identity: str, release: Callable[[], None]) -> None:
        self.mutating = mutating
        self.identity = identity
        self.taken = False  # a request went in it, or was refused it
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        """Give the slot back (once; later calls do nothing)."""
        release, self._release = self._release, None
        if release is not None:
            release()


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
        shared: SharedPacing = UNSHARED,
    ) -> None:
        # A free slot is taken without yielding to the event loop: the request sent in it yields anyway.
        self._slots = anyio.Semaphore(max_concurrency, fast_acquire=True)
        self._max_concurrency = max_concurrency
        self._mutation_interval = mutation_interval
        self._mutations = anyio.Lock()
        self._next_mutation = 0.0
        self._paused: LRUMap[str, float] = LRUMap(max_identities)  # token identity -> paused until
        self._clock = clock
        self._sleep = sleep
        self.shared = shared
        self._shared_pauses: LRUMap[str, tuple[float, float]] = LRUMap(max_identities)  # looked up at, until

    @property
    def in_flight(self) -> int:
        """Requests holding a slot right now."""
        return self._max_concurrency - self._slots.value

    @property
    def paused_identities(self) -> int:
        """How many tokens' pauses are kept (bounded; an expired pause may still be counted)."""
        return len(self._paused)

    async def pause_until(self, moment: float, identity: str = "") -> None:
        """Hold every request of the token `identity` that has not been sent yet until `moment` (on this pacer's
        clock), on every replica when they share pacing."""
        until = self._paused.get(identity, 0.0)
        if moment > until:
            self._paused[identity] = moment
        try:
            await self.shared.pause(identity, time.time() + moment - self._clock())
        except StateUnavailable as exc:  # the others will meet the limit themselves, and pause then
            log.warning("the rate-limit pause was not shared: %s", exc)

    def paused_until(self, identity: str = "") -> float:
        """Until when the token `identity` is paused (0 when it never was)."""
        return self._paused.get(identity, 0.0)

    @asynccontextmanager
    async def slot(self, *, mutating: bool, identity: str = "", turn: Turn | None = None) -> AsyncIterator[None]:
        """Wait for the token's pause, the mutation interval and a free slot, in that order; hold the slot inside.

        A request never waits out a pause while holding a slot: one that finds its token paused once it has a
        slot (the pause began while it queued) gives the slot back, so a paused token never holds up another.
        With an unspent `turn` for the same kind of request and token, nothing is waited for: the turn's slot is
        used, unless the token was paused since (then the turn is given back and the request waits as usual).
        """
        if turn is not None and self._take(turn, mutating, identity):
            try:
                yield
            finally:
                turn.release()
            return
        await self._acquire(mutating, identity)
        try:
            yield
        finally:
            self._slots.release()

    @asynccontextmanager
    async def turn(self, *, mutating: bool, identity: str = "") -> AsyncIterator[Turn]:
        """Wait as `slot` does, and hold what was waited for as a `Turn` for the block's first request of this kind
        (given to `slot`); the slot is released when the block ends, used or not."""
        await self._acquire(mutating, identity)
        held = Turn(mutating, identity, self._slots.release)
        try:
            yield held
        finally:
            held.release()

    def _take(self, turn: Turn, mutating: bool, identity: str) -> bool:
        """Whether the request may go in `turn` now. A turn serves one request; one it cannot serve (another kind
        of request or token, or a token paused since) is given back, so that the request can wait for a slot."""
        if turn.taken:
            return False
        turn.taken = True
        if (turn.mutating, turn.identity) != (mutating, identity) or self.paused_until(identity) > self._clock():
            turn.release()
            return False
        if mutating:  # spaced from when it is sent, not from when its turn came
            self._next_mutation = max(self._next_mutation, self._clock() + self._mutation_interval)
        return True

    async def _acquire(self, mutating: bool, identity: str) -> None:
        """Wait for the token's pause, the mutation interval and a free slot, then hold the slot (the caller
        releases it); a wait cancelled while holding the slot gives it back. A mutation waits for its turn holding
        no slot, so paced writes never hold back a read; mutations queue one at a time and each is spaced from
        the moment it got its slot, so waiting for one cannot squeeze two mutations together."""
        await self._wait_for_pause(identity)
        await self._wait_for_shared_pause(identity, mutating)
        if not mutating:
            await self._slot_unpaused(identity)
            return
        while True:
            async with self._mutations:
                while self._next_mutation > self._clock():  # a turn taken meanwhile may have moved it on
                    await self._sleep_until(self._next_mutation)
                # When the shared pacing cannot answer, the mutation is not sent (the error says why).
                if (reserved := await self.shared.reserve_mutation(identity, self._mutation_interval)) > 0:
                    await self._sleep(reserved)
                await self._slots.acquire()
                if self.paused_until(identity) <= self._clock():
                    self._next_mutation = self._clock() + self._mutation_interval
                    return
                self._slots.release()
            await self._wait_for_pause(identity)  # paused while it queued: waited out in nobody's way

    async def _slot_unpaused(self, identity: str) -> None:
        """Hold a free slot while the token is not paused: a pause that began while it queued is waited out
        without the slot, so a paused token never holds up another."""
        while True:
            await self._slots.acquire()
            if self.paused_until(identity) <= self._clock():
                return
            self._slots.release()
            await self._wait_for_pause(identity)

    async def _wait_for_pause(self, identity: str) -> None:
        while (until := self.paused_until(identity)) > self._clock():
            await self._sleep_until(until)

    async def _wait_for_shared_pause(self, identity: str, mutating: bool) -> None:
        """Wait out a pause another replica shared. Reads look it up at most every SHARED_PAUSE_TTL seconds (a
        pause missed meanwhile is met as a rate limit, and then kept); mutations always look."""
        now = time.time()
        looked_at, until = self._shared_pauses.get(identity, (0.0, 0.0))
        if mutating or now - looked_at > SHARED_PAUSE_TTL:
            try:
                until = await self.shared.paused_until(identity)
            except StateUnavailable:  # the shared state did not answer
                if mutating:
                    raise
                return  # a read goes on: at worst it meets the rate limit itself
            self._shared_pauses[identity] = (now, until)
        if (delay := until - time.time()) > 0:
            await self._sleep(delay)

    async def _sleep_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            await self._sleep(delay)


async def sent_in_turn(
    turn: AbstractAsyncContextManager[Turn],
    send: Callable[[Turn], Awaitable[T]],
    refused: Callable[[StateUnavailable], StateUnavailable] | None = None,
) -> T:
    """`send(turn)` once `turn` (`GitHubClient.turn`) is held, for a request that must not be interrupted once sent
    (a delete or restore, and its journal lines): a cancel while waiting for the turn sends nothing; once it is
    held, `send` is shielded, so a cancel waits for it to finish.

    Raises:
        StateUnavailable: If the turn cannot be had (the pacing replicas share did not answer: nothing was sent),
            as `refused` words it.
    """
    async with AsyncExitStack() as stack:  # entered apart from the block: only the turn's own refusal is caught
        try:
            held = await stack.enter_async_context(turn)
        except StateUnavailable as exc:
            raise (exc if refused is None else refused(exc)) from None
        with anyio.CancelScope(shield=True):
            sent = await send(held)
    return sent
