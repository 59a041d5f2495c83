"""Serving the HTTP app for tests: a real uvicorn on a free loopback port, the SDK's HTTP client in either protocol
era, raw connections that stall, and a round-robin balancer in front of several replicas."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.types import ASGIApp, Receive, Scope, Send

from github_packages_mcp.config import Settings
from github_packages_mcp.server.transports import uvicorn_config
from tests.helpers import Person

LEGACY = "2025-11-25"
ACCEPT = {"Accept": "application/json, text/event-stream"}
# A 2025-11-25 client's opening request, declaring no capability (deletes are then confirmed by token).
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "by-hand", "version": "0"}},
}


@asynccontextmanager
async def serving(app: ASGIApp, settings: Settings | None = None) -> AsyncIterator[str]:
    """The app on a free loopback port, served by uvicorn in this test's own event loop, for the block; with
    `settings`, as `serve_http` configures uvicorn (timeouts and limits)."""
    logging = {"log_level": "warning", "lifespan": "on", "log_config": None}
    config = uvicorn_config(app, settings, **logging) if settings else uvicorn.Config(app, **logging)  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    # Closed however the block ends: a failing test must not leave a socket for the collector to find during
    # another test (filterwarnings = error makes that ResourceWarning the other test's failure).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as sock:
        sock.bind(("127.0.0.1", 0))
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [sock])
            with anyio.fail_after(10):
                while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
                    await anyio.sleep(0.01)
            try:
                yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
            finally:
                server.should_exit = True


@asynccontextmanager
async def http_client(
    url: str, secret: str | None = None, *, mode: str = "auto", person: Person | None = None
) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP: `mode` "auto" lands on 2026-07-28, "legacy" on 2025-11-25 (the
    initialize handshake, as every IDE speaks today); with `person`, it shows confirmation forms to them."""
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode, elicitation_callback=person) as client,  # type: ignore[arg-type]
    ):
        yield client


async def open_session(raw: httpx2.AsyncClient, url: str, headers: dict[str, str] | None = None) -> str:
    """Open a 2025-11-25 session by hand, declaring no capability (deletes are then confirmed by token); its id.
    `headers`: what every request of it carries besides (an Authorization)."""
    headers = {**ACCEPT, **(headers or {})}
    opening = {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "by-hand", "version": "0"}}
    answer = await raw.post(
        url, headers=headers, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": opening}
    )
    session: str = answer.headers["mcp-session-id"]
    headers |= {"Mcp-Session-Id": session, "Mcp-Protocol-Version": LEGACY}
    initialized = await raw.post(url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert initialized.status_code == 202
    return session


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


async def stalled(url: str, count: int, start: bytes = b"POST /mc") -> list[anyio.abc.SocketStream]:
    """`count` connections that send the start of a request and then nothing."""
    streams = []
    for _ in range(count):
        stream = await anyio.connect_tcp("127.0.0.1", port_of(url))
        await stream.send(start)
        streams.append(stream)
    return streams


async def closed_by_server(stream: anyio.abc.SocketStream) -> bool:
    """Whether the server closed the connection (what it sent before that, if anything, is skipped)."""
    try:
        while await stream.receive():
            pass
    except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionError):
        return True
    return False


class RoundRobin:
    """A load balancer in front of several replicas of the app: each HTTP request goes to the next one."""

    def __init__(self, *replicas: ASGIApp) -> None:
        self.replicas = replicas
        self.turn = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # every replica starts and stops with the balancer
            async with AsyncExitStack() as stack:
                for replica in self.replicas:
                    await stack.enter_async_context(_lifespan(replica))
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.turn += 1
        await self.replicas[self.turn % len(self.replicas)](scope, receive, send)


@asynccontextmanager
async def _lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run an app's ASGI lifespan (startup before the block, shutdown after) in a background task."""
    to_app_send, to_app_receive = anyio.create_memory_object_stream[dict[str, Any]](4)
    from_app_send, from_app_receive = anyio.create_memory_object_stream[dict[str, Any]](4)
    async with to_app_send, to_app_receive, from_app_send, from_app_receive, anyio.create_task_group() as group:
        group.start_soon(
            app, {"type": "lifespan", "asgi": {"version": "3.0"}}, to_app_receive.receive, from_app_send.send
        )
        await to_app_send.send({"type": "lifespan.startup"})
        assert (await from_app_receive.receive())["type"] == "lifespan.startup.complete"
        yield
        await to_app_send.send({"type": "lifespan.shutdown"})
        await from_app_receive.receive()
