"""MCP sessions over HTTP (the default) and the stateless mode: forms for 2025-11-25 clients, cancellation reaching
the running call in every mode, and streams that live long without being taken for stalled connections. Through a
real uvicorn, with the SDK's own client in both protocol eras and with raw HTTP where a client drops a stream."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.sandbox.faults import Fault
from github_packages_mcp.server.transports import http_app
from tests.helpers import ACME_CONTAINERS, Person, ok
from tests.server.http_serving import (
    ACCEPT,
    INITIALIZE,
    LEGACY,
    closed_by_server,
    http_client,
    open_session,
    port_of,
    serving,
    stalled,
)

pytestmark = pytest.mark.anyio
PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
# Five untagged images (an old index with its two platform images, two orphans) planned for deletion.
MULTI_APP = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app", "tagged": "untagged"}
DELETE_LATENCY = 0.4  # seconds each DELETE takes in the sandbox, so a cleanup of five runs for two seconds


def deletes(sandbox: SandboxServer) -> int:
    return len([request for request in sandbox.state.requests if request.method == "DELETE"])


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not condition():  # noqa: ASYNC110  (the sandbox's records offer no event)
            await anyio.sleep(0.01)


async def assert_no_more_deletes(sandbox: SandboxServer) -> int:
    """Once a cancellation had time to arrive (and a DELETE in flight to end): no DELETE is sent any more, and not
    every planned one was sent."""
    await anyio.sleep(DELETE_LATENCY + 0.1)
    settled = deletes(sandbox)
    await anyio.sleep(3 * DELETE_LATENCY)
    assert deletes(sandbox) == settled < 5
    return settled


# ---- forms ----


async def test_a_2025_client_over_http_gets_the_form_and_the_delete_follows_the_answer(
    settings: Settings, sandbox: SandboxServer
) -> None:
    person = Person(typed="web/api")
    async with serving(http_app(settings), settings) as url, http_client(url, mode="legacy", person=person) as client:
        assert client.session.protocol_version == LEGACY
        result = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert person.messages == [
        "Permanently delete the private container package 'web/api' owned by the organization acme-labs, with all "
        "345 of its versions, linked to repository 'acme-labs/web'?\nType the package name 'web/api' to confirm."
    ]
    assert result["deleted"] is True
    assert result["status"] == "deleted"
    assert deletes(sandbox) == 1


async def test_a_2025_client_that_declines_the_form_deletes_nothing(settings: Settings, sandbox: SandboxServer) -> None:
    async with (
        serving(http_app(settings), settings) as url,
        http_client(url, mode="legacy", person=Person(action="decline")) as client,
    ):
        result = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert result["status"] == "declined"
    assert deletes(sandbox) == 0


async def test_stateless_2025_clients_confirm_by_token_instead(settings: Settings, sandbox: SandboxServer) -> None:
    stateless = settings.with_changes(http_stateless=True)
    person = Person(typed="web/api")
    async with (
        serving(http_app(stateless), stateless) as url,
        http_client(url, mode="legacy", person=person) as client,
    ):
        first = ok(await client.call_tool("delete_org_package", PACKAGE))
        confirmed = {**PACKAGE, "confirmation_token": first["confirmation_token"]}
        done = ok(await client.call_tool("delete_org_package", confirmed))
    assert person.messages == []  # no session: the server could not receive the answer, so it does not ask
    assert first["status"] == "confirmation_required"
    assert done["deleted"] is True


# ---- cancellation ----

# Each protocol era: 2025-11-25 with an MCP session, and 2026-07-28 with and without one.
BY_ERA = pytest.mark.parametrize(
    ("mode", "stateless"),
    [("legacy", False), ("auto", False), ("auto", True)],
    ids=["2025-11-25 session", "2026-07-28", "2026-07-28 stateless"],
)


@BY_ERA
async def test_a_client_that_cancels_a_cleanup_stops_its_deletes(
    settings: Settings, sandbox: SandboxServer, mode: str, stateless: bool
) -> None:
    """2025-11-25 sends `notifications/cancelled` in the session; 2026-07-28 closes the call's stream."""
    served = settings.with_changes(http_stateless=stateless)
    person = Person()
    async with serving(http_app(served), served) as url, http_client(url, mode=mode, person=person) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", MULTI_APP))
        assert plan["delete"] == 5
        person.typed = "5"
        sandbox.state.faults.script("DELETE", "*", [Fault(latency=DELETE_LATENCY)] * 5)
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "apply_version_cleanup", {"plan_id": plan["plan_id"]})
            await until(lambda: deletes(sandbox) == 2)
            group.cancel_scope.cancel()  # as a person who presses stop
        assert person.messages  # the form was shown, and answered, before the first DELETE
        await assert_no_more_deletes(sandbox)


async def applying_over_raw_http(raw: httpx2.AsyncClient, url: str, stateless: bool) -> httpx2.Response:
    """A raw 2025-11-25 client's apply_version_cleanup of multi/app, confirmed by token, its response stream open."""
    headers = {**ACCEPT, "Mcp-Protocol-Version": LEGACY}
    if not stateless:
        headers["Mcp-Session-Id"] = await open_session(raw, url)
    plan = await call(raw, url, headers, "plan_version_cleanup", MULTI_APP)
    offered = await call(raw, url, headers, "apply_version_cleanup", {"plan_id": plan["plan_id"]})
    arguments = {"plan_id": plan["plan_id"], "confirmation_token": offered["confirmation_token"]}
    applying = raw.build_request("POST", url, headers=headers, json=request("apply_version_cleanup", arguments))
    return await raw.send(applying, stream=True)


@pytest.mark.parametrize("stateless", [False, True], ids=["session", "stateless"])
async def test_a_client_that_drops_the_stream_of_a_cleanup_stops_its_deletes(
    settings: Settings, sandbox: SandboxServer, stateless: bool
) -> None:
    """A 2025-11-25 client that closes the call's response stream instead of cancelling: with a session the server
    cancels the call on its behalf; stateless, the call's transport ends with the stream."""
    served = settings.with_changes(http_stateless=stateless)
    sandbox.state.faults.script("DELETE", "*", [Fault(latency=DELETE_LATENCY)] * 5)
    async with serving(http_app(served), served) as url, httpx2.AsyncClient(timeout=30) as raw:
        response = await applying_over_raw_http(raw, url, stateless)
        assert response.status_code == 200
        await until(lambda: deletes(sandbox) == 2)
        await response.aclose()  # the connection closes with the unfinished response
        await assert_no_more_deletes(sandbox)


# A cancel that arrives while the cleanup waits for its next delete's turn (GitHub asks for about a second between
# deletes; the server spaces them so) sends no further DELETE: only a delete already in flight is finished.
SPACING = 1.0


@BY_ERA
async def test_a_cancel_while_a_cleanup_waits_for_its_next_turn_sends_no_more_deletes(
    settings: Settings, sandbox: SandboxServer, mode: str, stateless: bool
) -> None:
    served = settings.with_changes(http_stateless=stateless, mutation_interval_seconds=SPACING)
    person = Person(typed="5")
    async with serving(http_app(served), served) as url, http_client(url, mode=mode, person=person) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", MULTI_APP))
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "apply_version_cleanup", {"plan_id": plan["plan_id"]})
            await until(lambda: deletes(sandbox) == 1)  # the next one waits a second for its turn
            group.cancel_scope.cancel()
        await anyio.sleep(1.5 * SPACING)
    assert deletes(sandbox) == 1


@pytest.mark.parametrize("stateless", [False, True], ids=["session", "stateless"])
async def test_a_client_that_drops_the_stream_while_a_cleanup_waits_for_its_next_turn_stops_it_there(
    settings: Settings, sandbox: SandboxServer, stateless: bool
) -> None:
    served = settings.with_changes(http_stateless=stateless, mutation_interval_seconds=SPACING)
    async with serving(http_app(served), served) as url, httpx2.AsyncClient(timeout=30) as raw:
        response = await applying_over_raw_http(raw, url, stateless)
        await until(lambda: deletes(sandbox) == 1)
        await response.aclose()
        await anyio.sleep(1.5 * SPACING)
    assert deletes(sandbox) == 1


# ---- sessions: how many, how long ----


async def test_sessions_are_bounded_in_number_and_in_idle_time(settings: Settings) -> None:
    bounded = settings.with_changes(http_max_sessions=2, http_session_idle_seconds=0.5)
    async with serving(http_app(bounded), bounded) as url, httpx2.AsyncClient(timeout=10) as raw:
        first = {**ACCEPT, "Mcp-Session-Id": await open_session(raw, url), "Mcp-Protocol-Version": LEGACY}
        await open_session(raw, url)
        refused = await raw.post(url, headers=ACCEPT, json=INITIALIZE)
        async with http_client(url) as client:  # 2026-07-28 opens no session: served all the same
            assert (await client.list_tools()).tools
        await anyio.sleep(1)  # both sessions idle for twice their limit: closed
        listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        expired = await raw.post(url, headers=first, json=listing)
        reopened = await raw.post(url, headers=ACCEPT, json=INITIALIZE)
    assert refused.status_code == 503
    assert "Too many open sessions" in refused.text
    assert expired.status_code == 404  # a 2025-11-25 client then opens a new session
    assert reopened.status_code == 200


# ---- streams and the slow-client protections ----


async def test_with_sessions_get_opens_the_sessions_stream(settings: Settings) -> None:
    async with serving(http_app(settings), settings) as url, httpx2.AsyncClient(timeout=10) as raw:
        session = await open_session(raw, url)
        headers = {"Accept": "text/event-stream", "Mcp-Session-Id": session, "Mcp-Protocol-Version": LEGACY}
        async with raw.stream("GET", url, headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["mcp-session-id"] == session
        # Without a session there is no stream to open.
        assert (await raw.get(url, headers={"Accept": "text/event-stream"})).status_code == 400
        assert (await raw.delete(url, headers={"Mcp-Session-Id": session})).status_code == 200
        assert (await raw.get(url, headers=headers)).status_code == 404  # the session ended


async def test_a_sessions_stream_outlives_the_read_timeout_and_is_never_evicted(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """A `GET` stream has sent its whole request: however long it stays open, and however many stalled connections
    crowd the server, only those are timed out or evicted, never the stream."""
    quick = settings.with_changes(http_read_timeout_seconds=0.5, http_limit_concurrency=10)
    async with serving(http_app(quick), quick) as url, httpx2.AsyncClient(timeout=10) as raw:
        session = await open_session(raw, url)
        stream = await anyio.connect_tcp("127.0.0.1", port_of(url))
        await stream.send(
            f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n"
            f"Mcp-Protocol-Version: {LEGACY}\r\n\r\n".encode()
        )
        assert (await stream.receive()).startswith(b"HTTP/1.1 200")
        crowd = await stalled(url, 25)  # well over the limit of 10, while the stream is open
        with anyio.fail_after(5):
            assert all([await closed_by_server(stalled_one) for stalled_one in crowd])
        with anyio.move_on_after(4 * quick.http_read_timeout_seconds) as waited:
            await stream.receive()  # nothing to say, and not closed
        assert waited.cancelled_caught
        headers = {**ACCEPT, "Mcp-Session-Id": session, "Mcp-Protocol-Version": LEGACY}
        listing = await call(raw, url, headers, "list_org_packages", {"org": DEMO_ORG, "package_type": "container"})
        assert [item["name"] for item in listing["items"]] == ACME_CONTAINERS
        assert (await raw.delete(url, headers={"Mcp-Session-Id": session})).status_code == 200
        with anyio.fail_after(5):  # the session ended: only now does its stream (the last chunk of its answer)
            received = b""
            while not received.endswith(b"0\r\n\r\n"):
                received += await stream.receive()
        for connection in [stream, *crowd]:
            await connection.aclose()


# ---- a 2025-11-25 client by hand (open_session opens its session) ----


def request(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}


async def call(raw: httpx2.AsyncClient, url: str, headers: dict[str, str], tool: str, arguments: dict[str, Any]) -> Any:
    """A tool's structured result, read from the event stream that answers the call."""
    answer = await raw.post(url, headers=headers, json=request(tool, arguments))
    data = [line.removeprefix("data:") for line in answer.text.splitlines() if line.startswith("data:")]
    [result] = [event["result"] for event in map(json.loads, filter(str.strip, data)) if "result" in event]
    assert not result.get("isError"), result
    return result["structuredContent"]
