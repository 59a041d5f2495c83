"""The connections the shared client sends through: enough kept alive for every request in flight, in small pools,
made when the first request is sent.

A pool looks at every connection it holds on each request and each answer. httpcore 1.x did so again for each
waiting request, a cost that grew with the square of the connections (encode/httpcore#1035). httpcore2's pass is
linear, yet at 32 requests in flight one pool of 32 never cost the client less CPU per call than four pools of 8,
and under load up to 7% more (0.88 against 0.82 ms, bench/http_stack.py). Small pools taken in turn cost what one
small pool does. A pool also closes an idle connection whenever it holds more than `max_keepalive_connections` in
all (httpx2 keeps 20), so each pool may keep as many as may be in flight.

Making a pool makes its SSL context (certifi's bundle loaded: 35-60 ms), which a server pays at start for nothing
when no request is sent before its tools are listed; so the pools are made at the first request.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx2

__all__ = ["POOL_SIZE", "connection_pools"]

POOL_SIZE = 8  # requests in flight per pool


def connection_pools(max_concurrency: int) -> httpx2.AsyncBaseTransport:
    """The transport for a client with at most `max_concurrency` requests in flight."""
    return _Pools(
        count=-(-max_concurrency // POOL_SIZE), limits=httpx2.Limits(max_keepalive_connections=max(20, max_concurrency))
    )


class _Pools(httpx2.AsyncBaseTransport):
    """Sends each request through the next pool in turn; the pools are made at the first request (closing pools
    never made costs nothing)."""

    def __init__(self, count: int, limits: httpx2.Limits) -> None:
        self._count, self._limits = count, limits
        self._pools: list[httpx2.AsyncHTTPTransport] = []
        self._turn: Iterator[httpx2.AsyncHTTPTransport] | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._turn is None:
            self._pools = [httpx2.AsyncHTTPTransport(limits=self._limits) for _ in range(self._count)]
            self._turn = itertools.cycle(self._pools)
        return await next(self._turn).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
