"""Slow and stalled HTTP clients cannot hold the server: uvicorn's configuration, and its h11 protocol extended.

A client has `http_read_timeout_seconds` to send a whole request, from connecting or from the first byte of its next
one (uvicorn has no such timeout: `ReadTimeout` adds it to uvicorn's h11 protocol); idle kept-alive connections close
after `http_keep_alive_seconds`; at most `http_limit_concurrency` connections and requests are served at once
(uvicorn's `limit_concurrency`, 503 beyond), and when that many are open, the connection that has waited longest
without sending a whole request is closed to make room, so stalled connections never lock out a client that sends
its request.

Only a connection still sending its request (or idle between two) is ever timed or evicted. Once a request has
arrived whole, its connection is the app's for as long as the answer lasts: a tool call streaming its progress for
minutes, or a session's `GET` stream that stays open for as long as the client is connected, is never taken for a
stalled one. Such streams do count toward `http_limit_concurrency`, as every open connection does.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from github_packages_mcp.config import Settings

__all__ = ["GRACEFUL_SHUTDOWN_SECONDS", "ReadTimeout", "read_timeout_protocol", "uvicorn_config"]

# On SIGTERM, requests still running after this long are cancelled (uvicorn waits forever by default).
GRACEFUL_SHUTDOWN_SECONDS = 30


def uvicorn_config(app: ASGIApp, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the app, with the limits that keep slow or stalled clients from holding it.

    `options` override or add to `uvicorn.Config`'s arguments (tests pass their logging choices).
    """
    arguments: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_level": settings.log_level.lower(),
        "http": read_timeout_protocol(settings.http_read_timeout_seconds, settings.http_limit_concurrency),
        "limit_concurrency": settings.http_limit_concurrency,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "ws": "none",  # streamable HTTP has no WebSocket; an upgrade request is served as plain HTTP
    }
    return uvicorn.Config(app, **(arguments | options))


class ReadTimeout(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that takes over `timeout` seconds to send a whole request (line,
    headers and body), and closing the connection that has waited longest for a request when a new one would make
    `max_connections` (so none is refused for stalled ones). Made per server by `read_timeout_protocol`."""

    timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 100
    # This server's open connections with no request being answered (idle, or still sending one), oldest first.
    # A connection whose request arrived whole leaves it until its answer is complete, however long that takes.
    waiting: ClassVar[OrderedDict[ReadTimeout, None]] = OrderedDict()
    _timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        while len(self.connections) >= self.max_connections and self.waiting:
            oldest, _ = self.waiting.popitem(last=False)
            oldest.give_up()
        self.waiting[self] = None
        self._start_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):  # a request is on its way
            self._start_timer()  # from its first bytes, on a kept-alive connection
        else:  # whole: the app answers it
            self._stop_timer()
            self.waiting.pop(self, None)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request received meanwhile
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self.waiting[self] = None  # idle (uvicorn's keep-alive timeout runs) or receiving its next request
            self.waiting.move_to_end(self)
            if self.conn.their_state is h11.SEND_BODY:  # a pipelined request's body is still on its way
                self._start_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self.waiting.pop(self, None)
        super().connection_lost(exc)

    def give_up(self) -> None:
        """Close the connection: its request is too slow, or room is needed while it sends none."""
        self._stop_timer()
        self.waiting.pop(self, None)
        self.connections.discard(self)  # at once: it no longer counts toward the limit
        if not self.transport.is_closing():
            self.transport.close()

    def _start_timer(self) -> None:
        if self._timer is None:
            self._timer = self.loop.call_later(self.timeout, self.give_up)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def read_timeout_protocol(timeout: float, max_connections: int) -> type[ReadTimeout]:
    """`ReadTimeout` with these limits, and its own record of waiting connections (one per server)."""
    limits = {"timeout": timeout, "max_connections": max_connections, "waiting": OrderedDict()}
    return type("ReadTimeout", (ReadTimeout,), limits)
