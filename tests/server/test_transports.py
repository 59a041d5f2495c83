"""Streamable HTTP: served on loopback by a real uvicorn, reached by the SDK's HTTP client."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Awaitable
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from github_packages_mcp.config import ConfigError, Settings
from github_packages_mcp.sandbox import (
    DEMO_ACTIONS_TOKEN,
    DEMO_LOGIN,
    DEMO_ORG,
    DEMO_READ_TOKEN,
    DEMO_TOKEN,
    SandboxServer,
)
from github_packages_mcp.server.transports import http_app, uvicorn_config
from tests.helpers import ACME_CONTAINERS, COMMAND, Person, clean_env, error_text, ok
from tests.server.http_serving import (
    ACCEPT,
    LEGACY,
    RoundRobin,
    closed_by_server,
    http_client,
    open_session,
    serving,
    stalled,
)

pytestmark = pytest.mark.anyio
SECRET = "s3cret-for-the-mcp-endpoint"
PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}


async def test_loopback_http_serves_every_tool(settings: Settings) -> None:
    async with serving(http_app(settings)) as url, http_client(url) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        listing = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
    assert "delete_org_package_version" in names
    assert "web/api" in [item["name"] for item in listing["items"]]


async def test_a_bearer_secret_guards_the_endpoint(settings: Settings) -> None:
    guarded = settings.with_changes(http_auth="bearer", http_bearer_secret=SECRET)
    async with serving(http_app(guarded)) as url:
        async with httpx2.AsyncClient() as raw:
            refused = await raw.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            wrong = await raw.post(url, json={}, headers={"Authorization": "Bearer not-the-secret"})
        async with http_client(url, SECRET) as client:
            first = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert refused.status_code == wrong.status_code == 401
    assert "Bearer" in refused.headers["www-authenticate"]
    assert first["status"] == "confirmation_required"  # the HTTP client shows no form here


async def test_dns_rebinding_is_refused(settings: Settings) -> None:
    async with serving(http_app(settings)) as url, httpx2.AsyncClient() as raw:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        wrong_host = await raw.post(url, json=body, headers={"Host": "evil.example"})
        wrong_origin = await raw.post(url, json=body, headers={"Origin": "http://evil.example"})
    assert wrong_host.status_code == 421
    assert wrong_origin.status_code == 403


def test_no_authentication_off_loopback_or_without_a_real_secret(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"refusing to serve on 0\.0\.0\.0 without authentication"):
        http_app(settings.with_changes(http_host="0.0.0.0"))  # noqa: S104
    with pytest.raises(ConfigError, match="needs http_bearer_secret"):
        http_app(settings.with_changes(http_auth="bearer", http_bearer_secret="short"))
    http_app(settings.with_changes(http_host="0.0.0.0", http_auth="bearer", http_bearer_secret=SECRET))  # noqa: S104


async def test_a_shared_secret_lets_any_replica_redeem_a_confirmation(settings: Settings) -> None:
    replica = settings.with_changes(shared_secret="one secret for every replica")
    stranger = settings.with_changes(shared_secret="another deployment entirely")
    async with serving(http_app(replica)) as first_url, serving(http_app(replica)) as second_url:
        async with http_client(first_url) as client:
            first = ok(await client.call_tool("delete_org_package", PACKAGE))
        async with serving(http_app(stranger)) as stranger_url, http_client(stranger_url) as client:
            refused = await client.call_tool(
                "delete_org_package", {**PACKAGE, "confirmation_token": first["confirmation_token"]}
            )
        async with http_client(second_url) as client:
            done = ok(await client.call_tool(
                "delete_org_package", {**PACKAGE, "confirmation_token": first["confirmation_token"]}
            ))  # fmt: skip
    assert refused.is_error
    assert done["deleted"] is True


async def test_the_command_serves_http_with_the_sandbox_and_says_where() -> None:
    # Port 0: the system picks a free one, and the line the command prints is the only way to know it.
    command = [*COMMAND, "--sandbox", "--transport", "http", "--port", "0"]
    with subprocess.Popen(command, env=clean_env(), stderr=subprocess.PIPE, text=True) as process:  # noqa: ASYNC220
        assert process.stderr is not None
        try:
            with anyio.fail_after(30):
                said = await anyio.to_thread.run_sync(process.stderr.readline, abandon_on_cancel=True)
            match = re.fullmatch(r"Serving MCP over HTTP at (http://127\.0\.0\.1:(\d+)/mcp); Ctrl-C stops it\n", said)
            assert match is not None, said
            assert int(match[2]) != 0
            async with http_client(match[1]) as client:  # listening already: the line is printed once it is
                names = [tool.name for tool in (await client.list_tools()).tools]
            assert "plan_version_cleanup" in names
        finally:
            process.terminate()


async def test_callers_github_tokens_pass_through_and_never_mix(settings: Settings, sandbox: SandboxServer) -> None:
    passing = settings.with_changes(http_auth="github", token=None)
    async with serving(http_app(passing)) as url:
        async with httpx2.AsyncClient() as raw:
            anonymous = await raw.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        async with http_client(url, DEMO_TOKEN) as admin, http_client(url, DEMO_ACTIONS_TOKEN) as bot:
            people = [ok(await client.call_tool("check_token", {})) for client in (admin, bot) for _ in range(2)]
            offered = ok(await admin.call_tool("delete_org_package", PACKAGE))
            # The bot may delete acme-labs packages too, but not with the admin's confirmation.
            stolen = await bot.call_tool(
                "delete_org_package", {**PACKAGE, "confirmation_token": offered["confirmation_token"]}
            )
        async with http_client(url, DEMO_READ_TOKEN) as reader:
            refused = await reader.call_tool("restore_my_package", {"package_type": "npm", "package_name": "old-cli"})
    assert anonymous.status_code == 401
    assert [person["token_type"] for person in people] == [
        "classic personal access token",
        "classic personal access token",
        "GitHub Actions or GitHub App installation token",
        "GitHub Actions or GitHub App installation token",
    ]
    assert people[0]["login"] == DEMO_LOGIN
    assert "not issued for delete_org_package" in error_text(stolen)
    assert "lacks the scope write:packages" in error_text(refused)
    assert [r for r in sandbox.state.requests if r.method == "DELETE"] == []


@pytest.mark.parametrize("stateless", [False, True], ids=["sessions", "stateless"])
async def test_a_form_answered_through_one_replica_completes_on_another(
    settings: Settings, sandbox: SandboxServer, stateless: bool
) -> None:
    """A 2026-07-28 client (the SDK's default) never opens a session, so this holds in both modes: the replica that
    asked and the one that received the answer share only the shared secret."""
    replica = settings.with_changes(shared_secret="one secret for the replicas", http_stateless=stateless)
    person = Person(typed="web/api")
    async with (
        serving(RoundRobin(http_app(replica), http_app(replica))) as url,
        http_client(url, person=person) as client,
    ):
        result = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert person.messages  # one replica asked (input required), the other received the answer and deleted
    assert result["deleted"] is True
    assert len([r for r in sandbox.state.requests if r.method == "DELETE"]) == 1


async def test_replicas_without_a_shared_secret_refuse_each_others_state(
    settings: Settings, sandbox: SandboxServer
) -> None:
    apps = [http_app(settings.with_changes(shared_secret=f"secret number {n} of two")) for n in (1, 2)]
    async with serving(RoundRobin(*apps)) as url, http_client(url, person=Person(typed="web/api")) as client:
        with pytest.raises(MCPError, match="Invalid or expired requestState"):
            await client.call_tool("delete_org_package", PACKAGE)
    assert [r for r in sandbox.state.requests if r.method == "DELETE"] == []


async def test_a_handshake_era_client_behind_round_robin_needs_the_stateless_mode(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """Why `http_stateless` exists: without sticky sessions, a 2025-11-25 client's session lives on one replica and
    its next request reaches the other, which knows no such session. Stateless, any replica serves it, and a delete is
    confirmed by token (no form without a session), redeemed on whichever replica gets it."""
    replica = settings.with_changes(shared_secret="one secret for the replicas")
    async with (
        serving(RoundRobin(http_app(replica), http_app(replica))) as url,
        http_client(url, mode="legacy") as client,
    ):
        with pytest.raises(MCPError, match="Session not found"):
            await client.list_tools()
    stateless = replica.with_changes(http_stateless=True)
    async with (
        serving(RoundRobin(http_app(stateless), http_app(stateless))) as url,
        http_client(url, mode="legacy", person=Person(typed="web/api")) as client,
    ):
        first = ok(await client.call_tool("delete_org_package", PACKAGE))
        done = ok(await client.call_tool(
            "delete_org_package", {**PACKAGE, "confirmation_token": first["confirmation_token"]}
        ))  # fmt: skip
    assert first["status"] == "confirmation_required"
    assert done["deleted"] is True
    assert len([r for r in sandbox.state.requests if r.method == "DELETE"]) == 1


async def test_a_get_that_asks_to_resume_a_stream_is_told_it_cannot_rather_than_a_500(settings: Settings) -> None:
    async with serving(http_app(settings)) as url, httpx2.AsyncClient() as raw:
        headers = {**ACCEPT, "Mcp-Session-Id": await open_session(raw, url), "Mcp-Protocol-Version": LEGACY}
        with anyio.fail_after(5):
            resumed = await raw.get(url, headers={**headers, "Last-Event-ID": "0"})
            async with raw.stream("GET", url, headers=headers) as fresh:  # a new stream still opens
                opened = (fresh.status_code, fresh.headers["content-type"])
    assert resumed.status_code == 400
    assert resumed.json()["error"]["code"] == -32600
    assert "this server keeps no event store, so a stream cannot be resumed" in resumed.json()["error"]["message"]
    assert opened == (200, "text/event-stream")


# ---- slow and stalled clients ----


async def test_a_stateless_get_answers_405_at_once(settings: Settings) -> None:
    stateless = settings.with_changes(http_stateless=True)
    async with serving(http_app(stateless), stateless) as url, httpx2.AsyncClient() as raw:
        with anyio.fail_after(5):
            answer = await raw.get(url, headers={"Accept": "text/event-stream"})
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


async def test_stalled_requests_do_not_lock_out_a_client_and_are_closed(settings: Settings) -> None:
    guarded = settings.with_changes(http_auth="bearer", http_bearer_secret=SECRET, http_read_timeout_seconds=2)
    async with serving(http_app(guarded), guarded) as url:
        # The security review's 260 half-sent requests, over the default limit of 100 connections.
        streams = await stalled(url, 260)
        with anyio.fail_after(5):
            async with http_client(url, SECRET) as client:
                names = [tool.name for tool in (await client.list_tools()).tools]
        assert "plan_version_cleanup" in names
        with anyio.fail_after(guarded.http_read_timeout_seconds + 5):
            assert all([await closed_by_server(stream) for stream in streams])
        for stream in streams:
            await stream.aclose()


@pytest.mark.parametrize(
    "start",
    [
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers never finished
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    ],
    ids=["headers", "body"],
)
async def test_the_read_timeout_closes_a_request_sent_too_slowly(settings: Settings, start: bytes) -> None:
    quick = settings.with_changes(http_read_timeout_seconds=0.5, http_stateless=True)  # its GET: a quick 405
    async with serving(http_app(quick), quick) as url:
        streams = await stalled(url, 5, start)
        with anyio.fail_after(3):
            assert all([await closed_by_server(stream) for stream in streams])
        async with httpx2.AsyncClient() as raw:  # a request sent at once is not affected
            assert (await raw.get(url)).status_code == 405
        for stream in streams:
            await stream.aclose()


async def test_a_kept_alive_connection_idles_freely_but_sends_its_next_request_in_time(settings: Settings) -> None:
    # Stateless: a GET is answered at once (405), so the connection is kept alive between two requests.
    quick = settings.with_changes(http_read_timeout_seconds=0.5, http_keep_alive_seconds=30, http_stateless=True)
    request = b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    async def answer(stream: anyio.abc.SocketStream) -> bytes:
        received = b""
        while b"POST requests to it" not in received:
            received += await stream.receive()
        return received

    async with serving(http_app(quick), quick) as url:
        [stream] = await stalled(url, 1, request)
        with anyio.fail_after(3):
            assert (await answer(stream)).startswith(b"HTTP/1.1 405")
            await anyio.sleep(1)  # idle for twice the read timeout: only keep-alive applies
            await stream.send(request)
            assert (await answer(stream)).startswith(b"HTTP/1.1 405")
            await stream.send(b"POST /m")  # the next request starts, and stalls
            assert await closed_by_server(stream)
        await stream.aclose()


async def test_the_http_limits_are_settings() -> None:
    config = uvicorn_config(http_app(Settings()), Settings())
    tuned = Settings(http_read_timeout_seconds=3, http_limit_concurrency=20, http_keep_alive_seconds=2)
    changed = uvicorn_config(http_app(tuned), tuned)
    assert (config.limit_concurrency, config.timeout_keep_alive, config.http.timeout) == (100, 5, 10.0)  # type: ignore[union-attr]
    assert (changed.limit_concurrency, changed.timeout_keep_alive, changed.http.timeout) == (20, 2, 3)  # type: ignore[union-attr]


async def test_a_catastrophic_regex_and_a_rate_limit_never_hold_another_caller(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """Three callers with their own tokens on one server: one keeps planning with a regex that takes Python's `re`
    about 2**75 steps on the demo's cosign tag, one waits out its token's rate limit; the third one's reads answer
    at once, every time."""
    third = "ghp_thirdCallerReadsMeanwhile0000000000"
    sandbox.state.add_token(third, DEMO_LOGIN, ["read:packages"])
    sandbox.state.set_rate_limit(DEMO_READ_TOKEN, remaining=0, reset_in=3)  # waited out: under the maximum wait
    catastrophic = {
        "org": DEMO_ORG, "package_type": "container", "package_name": "multi/app",
        "exclude_tags": [r"(?:[\w.-]|[\w.-])*!"], "pattern_syntax": "regex",
    }  # fmt: skip
    passing = settings.with_changes(http_auth="github", token=None)
    limited: list[dict[str, Any]] = []
    plans: list[dict[str, Any]] = []
    reads: list[dict[str, Any]] = []

    async def keep_planning(client: Client) -> None:
        while True:
            plans.append(ok(await client.call_tool("plan_version_cleanup", catastrophic)))

    async with (
        serving(http_app(passing), passing) as url,
        http_client(url, DEMO_TOKEN) as planner,
        http_client(url, DEMO_READ_TOKEN) as rate_limited,
        http_client(url, third) as reader,
        anyio.create_task_group() as group,
    ):
        listing = {"org": DEMO_ORG, "package_type": "container"}
        group.start_soon(lambda: _append(limited, rate_limited.call_tool("list_org_packages", listing)))
        group.start_soon(keep_planning, planner)
        with anyio.fail_after(10):
            while not plans or not any(r.status == 403 for r in sandbox.state.requests):  # noqa: ASYNC110
                await anyio.sleep(0.01)
        for _ in range(5):  # each while the planner matches its regex and the limited caller waits
            with anyio.fail_after(1):
                reads.append(ok(await reader.call_tool("get_org_package", PACKAGE)))
        assert not limited  # still waiting for its own token's limit to lift
        with anyio.fail_after(10):
            while not limited:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        group.cancel_scope.cancel()
    assert [read["name"] for read in reads] == ["web/api"] * 5
    assert len(plans) >= 2  # the planner kept planning while the reads were answered
    assert all(plan["packages"][0]["package"] == "multi/app" for plan in plans)
    assert [item["name"] for item in ok(limited[0])["items"]] == ACME_CONTAINERS


async def _append(results: list[Any], call: Awaitable[Any]) -> None:
    results.append(await call)
