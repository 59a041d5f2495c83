"""The connections the shared client sends through: enough kept alive for every request in flight, in small pools.

A pool looks at every connection it holds on each request and each answer. httpcore 1.x did so again for each
waiting request, a cost that grew with the square of the connections (encode/httpcore#1035). httpcore2's pass is
linear, yet at 32 requests in flight one pool of 32 never cost the client less CPU per call than four pools of 8,
and under load up to 7% more (0.88 against 0.82 ms, bench/http_stack.py). Small pools taken in turn cost what one
small pool does. A pool also closes an idle connection whenever it holds more than `max_keepalive_connections` in
all (httpx2 keeps 20), so each pool may keep as many as may be in flight.
"""

from __future__ import annotations

import itertools

import httpx2

__all__ = ["POOL_SIZE", "connection_pools"]

POOL_SIZE = 8  # requests in flight per pool


def connection_pools(max_concurrency: int) -> httpx2.AsyncBaseTransport:
    """The transport for a client with at most `max_concurrency` requests in flight."""
    limits = httpx2.Limits(max_keepalive_connections=max(20, max_concurrency))
    count = -(-max_concurrency // POOL_SIZE)
    if count == 1:
        return httpx2.AsyncHTTPTransport(limits=limits)
    return _Pools([httpx2.AsyncHTTPTransport(limits=limits) for _ in range(count)])


class _Pools(httpx2.AsyncBaseTransport):
    """Sends each request through the next pool in turn."""

    def __init__(self, pools: list[httpx2.AsyncHTTPTransport]) -> None:
        self._pools = pools
        self._turn = itertools.cycle(pools)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return await next(self._turn).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
