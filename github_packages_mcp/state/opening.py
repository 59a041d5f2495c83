"""Where the state is chosen and opened: once per process.

`open_state` picks the peer (Redis when `state_url` is set, else files under journal_dir). `ProcessState` holds the
one a process opened: the first part of the process that enters it opens it, every part that enters it while it is
open shares it (the command that starts the server, the MCP lifespan, the listener for other replicas'
cancellations), and the last to leave closes it. So a process keeps one Redis client, and a Redis that does not
answer is met once, by whatever opens it first.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

import anyio
from pydantic import SecretStr

from github_packages_mcp.state.local import LocalState
from github_packages_mcp.state.peers import State

__all__ = ["ProcessState", "open_state"]


async def open_state(
    directory: Path,
    url: SecretStr | None,
    *,
    prefix: str,
    clock: Callable[[], float] = time.time,
    plan_ttl_days: float = 7,
) -> State:
    """Redis at `url` (state_url, under `prefix`) when there is one, else files under `directory` (journal_dir).

    Raises:
        SharedStateUnavailable: If Redis does not answer, or refuses the server.
    """
    if url is None:
        return LocalState(directory, clock=clock, plan_ttl_days=plan_ttl_days)
    from github_packages_mcp.state.redis import RedisState  # the Redis client is only imported when it is used

    return await RedisState.connect(url.get_secret_value(), prefix, clock=clock, plan_ttl_days=plan_ttl_days)


class ProcessState:
    """The state of this process, as `opener` opens it (`open_state` with its arguments), shared while it is open:
    `async with process_state as state`."""

    def __init__(self, opener: Callable[[], Awaitable[State]]) -> None:
        self._opener = opener
        self._opened: State | None = None
        self._users = 0
        self._lock = anyio.Lock()  # two parts entering at once open one state

    async def __aenter__(self) -> State:
        async with self._lock:
            if self._opened is None:
                self._opened = await self._opener()
            self._users += 1
            return self._opened

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._users -= 1
        if self._users == 0 and self._opened is not None:
            opened, self._opened = self._opened, None
            with anyio.CancelScope(shield=True):  # closed even when the process is being cancelled
                await opened.aclose()
