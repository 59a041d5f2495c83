"""Jobs run concurrently, with the error a tool can explain raised as is, never inside an exception group.

The pacer, not this module, bounds how many requests are in flight.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio

from github_packages_mcp.errors import GitHubPackagesError

__all__ = ["gather", "run_all"]

T = TypeVar("T")


async def gather(jobs: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run jobs concurrently (the pacer bounds the requests) and return their results in order.

    If one fails, the rest are cancelled and its error (a `GitHubPackagesError`) is raised as is, not inside an
    exception group.
    """
    results: list[T | None] = [None] * len(jobs)

    async def run(index: int) -> None:
        results[index] = await jobs[index]()

    await run_all([partial(run, index) for index in range(len(jobs))])
    return results  # type: ignore[return-value]  # every slot is filled once the group has finished


async def run_all(jobs: list[Callable[[], Coroutine[Any, Any, None]]]) -> None:
    """Run jobs concurrently; if one fails, cancel the rest and raise its error (not an exception group).

    The first `GitHubPackagesError` (such as a rule refused for one package) is raised as is, so a tool can say
    what happened; anything else stays in its group.
    """
    try:
        async with anyio.create_task_group() as group:
            for job in jobs:
                group.start_soon(job)
    except BaseExceptionGroup as group_error:
        errors = group_error.subgroup(GitHubPackagesError)
        if errors is None:
            raise
        first = errors.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
