"""With callers' own GitHub tokens, each credential holds at most its share of sessions and open streams: one at its
cap gets 429 saying which cap, while another credential still gets in, and the server-wide caps still hold. Through a
real uvicorn, with raw HTTP where streams stay open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
import httpx2
import pytest

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_READ_TOKEN, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.transports import http_app
from tests.server.http_serving import ACCEPT, INITIALIZE, LEGACY, http_client, open_session, serving

pytestmark = pytest.mark.anyio
ADMIN = {"Authorization": f"Bearer {DEMO_TOKEN}"}
READER = {"Authorization": f"Bearer {DEMO_READ_TOKEN}"}
LISTING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def in_session(session: str) -> dict[str, str]:
    return {"Mcp-Session-Id": session, "Mcp-Protocol-Version": LEGACY}


@asynccontextmanager
async def stream_of(raw: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> AsyncIterator[httpx2.Response]:
    """A session's GET stream, open for the block."""
    async with raw.stream("GET", url, headers={"Accept": "text/event-stream", **headers}) as stream:
        yield stream


async def test_one_credential_at_its_session_cap_gets_429_while_another_gets_in(settings: Settings) -> None:
    capped = settings.with_changes(
        # Idle sessions close after 3 s: long enough that none expires before the steps below on a loaded machine
        # (at 0.5 s the first one did, and its DELETE met 404), short enough to wait out.
        http_auth="github",
        token=None,
        http_max_sessions_per_credential=2,
        http_session_idle_seconds=3,
    )
    async with serving(http_app(capped), capped) as url, httpx2.AsyncClient(timeout=10) as raw:
        first = await open_session(raw, url, ADMIN)
        await open_session(raw, url, ADMIN)
        refused = await raw.post(url, headers=ACCEPT | ADMIN, json=INITIALIZE)
        other = await open_session(raw, url, READER)
        async with http_client(url, DEMO_TOKEN) as modern:  # 2026-07-28 opens no session: not counted
            assert (await modern.list_tools()).tools
        assert (await raw.delete(url, headers=ADMIN | in_session(first))).status_code == 200
        after_delete = await raw.post(url, headers=ACCEPT | ADMIN, json=INITIALIZE)
        refused_again = await raw.post(url, headers=ACCEPT | ADMIN, json=INITIALIZE)
        await anyio.sleep(6)  # every session idle for twice its limit: the SDK closed them, and they count no more
        after_expiry = [await open_session(raw, url, ADMIN) for _ in range(2)]
    assert refused.status_code == refused_again.status_code == 429
    assert refused.json()["error"]["message"] == (
        "This credential already has 2 open MCP sessions, the most one credential may hold "
        "(http_max_sessions_per_credential): end one (DELETE with its Mcp-Session-Id), or wait for an idle one "
        "to expire."
    )
    assert "mcp-session-id" not in refused.headers
    assert other
    assert after_delete.status_code == 200
    assert len(after_expiry) == 2


async def test_one_credential_at_its_stream_cap_gets_429_and_can_still_cancel(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """The streams that fill a server's connection limit and are never evicted: one credential holds at most its
    share of them, and its notifications (a cancel) still go through when it is at its cap."""
    capped = settings.with_changes(
        http_auth="github", token=None, http_max_streams_per_credential=3, http_limit_concurrency=8
    )
    async with serving(http_app(capped), capped) as url, httpx2.AsyncClient(timeout=10) as raw:
        sessions = [await open_session(raw, url, ADMIN) for _ in range(4)]
        async with AsyncExitStack() as streams:
            for session in sessions[:3]:
                opened = await streams.enter_async_context(stream_of(raw, url, ADMIN | in_session(session)))
                assert opened.status_code == 200
            fourth = await raw.get(url, headers={"Accept": "text/event-stream"} | ADMIN | in_session(sessions[3]))
            call = await raw.post(url, headers=ACCEPT | ADMIN | in_session(sessions[0]), json=LISTING)
            cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}}
            cancelled = await raw.post(url, headers=ACCEPT | ADMIN | in_session(sessions[0]), json=cancel)
            async with http_client(url, DEMO_READ_TOKEN, mode="legacy") as other:  # its own stream, and calls
                listing = await other.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "npm"})
        # The server runs in this event loop and sees each closed stream a few turns later (httpx closed them
        # more slowly than httpx2 does, giving it those turns): ask until it has, within a second.
        for _ in range(100):
            after = await raw.post(url, headers=ACCEPT | ADMIN | in_session(sessions[0]), json=LISTING)
            if after.status_code != 429:
                break
            await anyio.sleep(0.01)
    assert fourth.status_code == call.status_code == 429
    assert fourth.json()["error"]["message"].startswith(
        "This credential already has 3 requests open (a session's GET stream or a call each), the most one "
        "credential may hold (http_max_streams_per_credential)"
    )
    assert fourth.headers["retry-after"] == "1"
    assert cancelled.status_code == 202
    assert not listing.is_error
    assert after.status_code == 200  # its streams closed: room again


async def test_the_server_wide_session_cap_still_holds(settings: Settings) -> None:
    capped = settings.with_changes(http_auth="github", token=None, http_max_sessions=2)
    async with serving(http_app(capped), capped) as url, httpx2.AsyncClient(timeout=10) as raw:
        await open_session(raw, url, ADMIN)
        await open_session(raw, url, READER)
        refused = await raw.post(url, headers=ACCEPT | ADMIN, json=INITIALIZE)
    assert refused.status_code == 503
    assert "Too many open sessions" in refused.text
