"""Redis (or Valkey) as the state that replicas share (`state_url`): what one replica records, every other one
sees, and what one spends, none spends again.

- the ledger of spent confirmation tokens: one key per token, set if absent to a record the server signs (its
  checks are in toolkit/tokens.py), expiring with the token;
- per-token pacing: the next moment a mutating request of a token may go, reserved atomically on Redis's clock,
  so N replicas with one token keep one spacing; and a token's rate-limit pause, shared the same way;
- cleanup plans (`plan:<plan_id>`, expiring as local.py prunes them) and the journal (`journal:<month>`, a list
  per month, expiring 35 days after it);
- the registry manifests cleanups have read (`manifest:<hash of its URL>`, expiring `KEPT_DAYS` after they were
  written, then read once more);
- cancellation: a channel on which a replica announces a cancelled request, so the one running it stops.

Every key and channel starts with the deployment's prefix (`state_prefix`, `github-packages-mcp` by default, then
`:`), so deployments sharing one Redis never see each other's. Times are seconds since the epoch. A Redis that cannot
be reached, or that refuses the server (a wrong password, an ACL without its prefix), raises `SharedStateUnavailable`,
whose message names the server (never a password) and says what was not done.

What Redis is trusted with: anyone who can write to it can forget a spent token, pause or hurry a token's requests,
drop plans and journal lines, and announce cancellations, but cannot forge what the server signs (plans, journal
lines, the ledger's records, confirmation tokens: the key is not in Redis) nor make it delete anything no person
confirmed. A ledger record that is not the server's is reported (`toolkit/tokens.py`); a deleted one cannot be told
from one never written, so AUTH, an ACL limited to the prefix, and TLS (`rediss://`) are what close that
(docs/security.md, "What Redis is trusted with").
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from github_packages_mcp.errors import StateUnavailable
from github_packages_mcp.state.files import DAY
from github_packages_mcp.state.peers import Position, journal_kept_until, manifest_key, plans_kept_seconds

__all__ = ["DEFAULT_PREFIX", "KEPT_DAYS", "RedisState", "SharedStateUnavailable", "shown_url"]

log = logging.getLogger("github_packages_mcp")

DEFAULT_PREFIX: Final = "github-packages-mcp"  # config.Settings.state_prefix's default
TIMEOUT: Final = 5.0  # seconds to connect, to wait for an answer, or for a free connection
MAX_CONNECTIONS: Final = 32  # per process; far more than the GitHub requests it may have in flight
KEPT_DAYS: Final = 90  # a manifest's; then it is read once more
# The next moment a token may mutate, reserved on Redis's own clock (replicas' clocks may differ): returns the
# milliseconds to wait before going, and keeps the reservation only as long as it matters.
_RESERVE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local slot = math.max(t, tonumber(redis.call('GET', KEYS[1]) or '0'))
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], slot + interval, 'PX', slot - t + interval + 1000)
return slot - t
"""
# A pause only ever grows: a shorter one announced later does not shorten it.
_PAUSE = """
local until = tonumber(ARGV[1])
if until > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], until, 'PXAT', until)
end
return 1
"""


class SharedStateUnavailable(StateUnavailable):
    """Redis did not answer: what needed it was not done."""


def shown_url(url: str) -> str:
    """The state URL as messages show it: scheme, host, port and database, never a user or password (nor any part of
    a URL that does not read as one: config.redis_url_problem refuses those first)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(a URL that cannot be read)"
    host = parts.hostname or "localhost"
    # A database, or a socket's path; nothing with an '@' in it, which may be the tail of a password.
    database = parts.path if re.fullmatch(r"/?[0-9]*", parts.path) or parts.scheme == "unix" else ""
    database = "" if "@" in database else database
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{database}"


class RedisState:
    """One asyncio Redis client for everything replicas share. Use `connect`, and `aclose` when done. `clock`
    (seconds since the epoch) dates what expires; plans are kept as long as `plan_ttl_days` says (peers.py)."""

    def __init__(
        self,
        url: str,
        prefix: str = DEFAULT_PREFIX,
        *,
        clock: Callable[[], float] = time.time,
        plan_ttl_days: float = 7,
    ) -> None:
        try:
            import redis.asyncio
        except ImportError:
            raise SharedStateUnavailable(
                "state_url needs the Redis client: pip install 'github-packages-mcp[redis]'"
            ) from None
        self.url = shown_url(url)
        self.prefix = f"{prefix}:"
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        # Redis answered, and refused: a wrong user or password, or an ACL that does not allow state_prefix's keys.
        self._refusals: tuple[type[Exception], ...] = (redis.AuthenticationError, redis.exceptions.NoPermissionError)
        # A blocking pool: requests beyond its connections wait their turn, rather than fail.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=TIMEOUT,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
            health_check_interval=30,
        )
        self._redis: Any = redis.asyncio.Redis.from_pool(pool)  # closing the client closes its pool
        self._reserve = self._redis.register_script(_RESERVE)
        self._pause = self._redis.register_script(_PAUSE)
        self.plans = _Plans(self, clock, plans_kept_seconds(plan_ttl_days))
        self.journal = _Journal(self, clock)
        self.manifests = _Manifests(self, clock)

    @classmethod
    async def connect(
        cls, url: str, prefix: str = DEFAULT_PREFIX, *, clock: Callable[[], float] = time.time, plan_ttl_days: float = 7
    ) -> RedisState:
        """A client whose server answered a PING.

        Raises:
            SharedStateUnavailable: If it did not.
        """
        state = cls(url, prefix, clock=clock, plan_ttl_days=plan_ttl_days)
        try:
            async with state._reaching("start"):
                await state._redis.ping()
        except SharedStateUnavailable:
            await state.aclose()
            raise
        return state

    async def aclose(self) -> None:
        await self._redis.aclose()

    # The ledger, pacing and cancellations are this client's own methods, below.
    @property
    def ledger(self) -> RedisState:
        return self

    @property
    def pacing(self) -> RedisState:
        return self

    @property
    def cancellations(self) -> RedisState:
        return self

    # --- the ledger of spent confirmation tokens ---------------------------------------------------------------

    async def spend_once(self, name: str, expires_at: float, record: bytes) -> bytes | None:
        """Record `name` as spent until `expires_at`, with `record`; None when it was not spent before, else the
        record it was spent with (b"" when that expired meanwhile)."""
        key = f"{self.prefix}spent:{name}"
        async with self._reaching("check the confirmation token"):
            if await self._redis.set(key, record, nx=True, pxat=int(expires_at * 1000) + 1):
                return None
            earlier: bytes | None = await self._redis.get(key)
        return earlier or b""

    # --- pacing -------------------------------------------------------------------------------------------------

    async def reserve_mutation(self, identity: str, interval: float) -> float:
        """Reserve the token's next mutation: the seconds to wait before sending it."""
        async with self._reaching("pace the request"):
            waited = await self._reserve(keys=[f"{self.prefix}pace:{identity}"], args=[int(interval * 1000)])
        return int(waited) / 1000

    async def pause(self, identity: str, until: float) -> None:
        """Hold the token's requests on every replica until `until`."""
        async with self._reaching("share the rate-limit pause"):
            await self._pause(keys=[f"{self.prefix}pause:{identity}"], args=[int(until * 1000)])

    async def paused_until(self, identity: str) -> float:
        """Until when the token is paused (0 when it is not)."""
        async with self._reaching("read the rate-limit pause"):
            until = await self._redis.get(f"{self.prefix}pause:{identity}")
        return int(until) / 1000 if until else 0.0

    # --- records and lists: plans, the journal and manifests (the classes below name and date them) --------------

    async def _put(self, name: str, data: bytes, expires_at: float) -> None:
        async with self._reaching("save the cleanup plan"):
            await self._redis.set(f"{self.prefix}{name}", data, pxat=int(expires_at * 1000))

    async def _get(self, name: str) -> bytes | None:
        async with self._reaching("read the cleanup plan"):
            data: bytes | None = await self._redis.get(f"{self.prefix}{name}")
        return data

    async def _append(self, name: str, line: bytes, expires_at: float) -> None:
        """Append one line to the list `name`, which goes at `expires_at`."""
        async with self._reaching("write the journal"), self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(f"{self.prefix}{name}", line)
            pipe.expireat(f"{self.prefix}{name}", int(expires_at))
            await pipe.execute()

    async def _lines(self, name: str, start: int) -> list[bytes]:
        """The list's lines from index `start` on."""
        async with self._reaching("read the journal"):
            found: list[bytes] = await self._redis.lrange(f"{self.prefix}{name}", start, -1)
        return found

    # --- cancellation ---------------------------------------------------------------------------------------------

    async def publish(self, channel: str, message: bytes) -> None:
        async with self._reaching("pass the cancellation on"):
            await self._redis.publish(f"{self.prefix}{channel}", message)

    async def messages(self, channel: str) -> AsyncIterator[bytes]:
        """What is published on `channel` from now on, until the caller stops iterating.

        Raises:
            SharedStateUnavailable: If Redis cannot be reached, or is lost meanwhile.
        """
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            async with self._reaching("listen for cancellations"):
                await pubsub.subscribe(f"{self.prefix}{channel}")
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        yield message["data"]
        finally:
            await pubsub.aclose()

    @asynccontextmanager
    async def _reaching(self, doing: str) -> AsyncIterator[None]:
        try:
            yield
        except self._refusals as exc:
            log.warning("the shared state at %s refused the server (%s: %s)", self.url, type(exc).__name__, exc)
            raise SharedStateUnavailable(
                f"The shared state (Redis at {self.url}, state_url) refused the server ({type(exc).__name__}), so it "
                f"could not {doing}. Its operator can check the user and password in state_url, and that the user's "
                "ACL allows the keys and channels under state_prefix."
            ) from None
        except self._errors as exc:
            log.warning("the shared state at %s did not answer (%s: %s)", self.url, type(exc).__name__, exc)
            raise SharedStateUnavailable(
                f"The shared state (Redis at {self.url}, state_url) did not answer, so the server could not "
                f"{doing}. Its operator can check that Redis is up."
            ) from None


class _Plans:
    """Plans, one key each (`plan:<plan_id>`), expiring `kept_seconds` after they were saved."""

    def __init__(self, redis: RedisState, clock: Callable[[], float], kept_seconds: float) -> None:
        self._redis = redis
        self._clock = clock
        self._kept_seconds = kept_seconds

    async def put(self, plan_id: str, data: bytes) -> None:
        await self._redis._put(f"plan:{plan_id}", data, self._clock() + self._kept_seconds)

    async def get(self, plan_id: str) -> bytes | None:
        return await self._redis._get(f"plan:{plan_id}")


class _Journal:
    """The journal's lines, a list per month (`journal:<month>`), expiring 35 days after the month ends."""

    def __init__(self, redis: RedisState, clock: Callable[[], float]) -> None:
        self._redis = redis
        self._clock = clock

    async def append(self, month: str, line: bytes) -> None:
        await self._redis._append(f"journal:{month}", line, journal_kept_until(month))

    async def months(self) -> list[str]:
        """This month and the two before: lists live at most 35 days past their month, so these hold them all."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        year, month = now.year, now.month
        return [f"{year - (month - back <= 0)}-{(month - back - 1) % 12 + 1:02d}" for back in (2, 1, 0)]

    async def lines(self, month: str, since: Position) -> tuple[list[str], Position]:
        found = await self._redis._lines(f"journal:{month}", since.offset)
        return [line.decode("utf-8", errors="replace") for line in found], Position(0, since.offset + len(found))


class _Manifests:
    """Manifests, one key each (`manifest:<key>`), expiring `KEPT_DAYS` after they were written."""

    def __init__(self, redis: RedisState, clock: Callable[[], float]) -> None:
        self._redis = redis
        self._clock = clock

    async def get(self, key: str) -> bytes | None:
        """The bytes kept under `key`, or None.

        Raises:
            SharedStateUnavailable: If Redis cannot answer.
        """
        return await self._redis._get(f"manifest:{manifest_key(key)}")

    async def put(self, key: str, body: bytes) -> None:
        """Keep `body` under `key` for `KEPT_DAYS`.

        Raises:
            SharedStateUnavailable: If Redis cannot answer.
        """
        await self._redis._put(f"manifest:{manifest_key(key)}", body, self._clock() + KEPT_DAYS * DAY)
