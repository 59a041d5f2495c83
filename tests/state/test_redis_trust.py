"""Where Redis's trust ends: only an authenticated request's cancel is announced to the other replicas; a deployment
keeps to its own prefix (so an ACL naming only that prefix is all it needs); the ledger of spent confirmation tokens
tells a record the server did not sign, and a token this server spent that the ledger forgot; a state URL whose
password was not percent-encoded is a clear error that shows no part of it. Against a real redis-server."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import httpx2
import pytest
import redis
import redis.asyncio
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.server.transports import http_app
from github_packages_mcp.state.redis import RedisState, SharedStateUnavailable, shown_url
from tests.helpers import COMMAND, clean_env, error_text, ok
from tests.server.http_serving import ACCEPT, LEGACY, serving
from tests.state.redis_serving import RedisServer
from tests.state.replica_serving import apply_then_cancel

pytestmark = pytest.mark.anyio
SECRET = "one secret for every replica"
BEARER = "the-bearer-secret-of-this-server"
MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
VERSION = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "package_version_id": 3000000000}
CANCEL = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}


def admin(server: RedisServer) -> redis.Redis:
    """Redis as its operator (or anyone with write access to it) reaches it."""
    return redis.Redis(port=server.port)


@asynccontextmanager
async def heard_on(server: RedisServer, channel: str) -> AsyncIterator[list[Any]]:
    """What is published on `channel` while the block runs (and a moment after), decoded."""
    heard: list[Any] = []
    listener = redis.asyncio.Redis(port=server.port)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    try:
        yield heard
        with anyio.move_on_after(0.5):  # what was published at the end has arrived by then
            async for message in pubsub.listen():
                heard.append(json.loads(message["data"]))
    finally:
        await pubsub.aclose()
        await listener.aclose()


@pytest.mark.parametrize(
    ("auth", "wrong", "right", "caller"),
    [
        ("bearer", "not-the-secret-of-this-server", BEARER, "shared-secret"),
        ("github", "made-up-by-a-stranger", DEMO_TOKEN, identity_of(DEMO_TOKEN)),
    ],
    ids=["bearer", "github"],
)
async def test_only_an_authenticated_requests_cancel_reaches_the_other_replicas(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, auth: str, wrong: str, right: str, caller: str
) -> None:
    served = settings.with_changes(
        http_stateless=True, state_url=redis.url, shared_secret=SECRET, http_auth=auth, http_bearer_secret=BEARER,
        token=None if auth == "github" else settings.token,
    )  # fmt: skip
    headers = ACCEPT | {"Mcp-Protocol-Version": LEGACY}
    async with (
        heard_on(redis, "github-packages-mcp:cancel") as heard,
        serving(http_app(served), served) as url,
        httpx2.AsyncClient() as raw,
    ):
        missing = await raw.post(url, json=CANCEL, headers=headers)
        refused = await raw.post(url, json=CANCEL, headers=headers | {"Authorization": f"Bearer {wrong}"})
        accepted = await raw.post(url, json=CANCEL, headers=headers | {"Authorization": f"Bearer {right}"})
    assert missing.status_code == refused.status_code == 401
    assert accepted.status_code == 202
    assert heard == [{"caller": caller, "id": 7}]


@pytest.fixture
def team_a(redis: RedisServer) -> Iterator[str]:
    """A Redis user that may touch only keys and channels under `team-a:`, whose password holds every character a
    URL reserves; its state URL, the password percent-encoded."""
    password = "p/ss#w?rd@%x:"
    operator = admin(redis)
    operator.acl_setuser(
        "team-a", enabled=True, passwords=[f"+{password}"], keys=["team-a:*"], channels=["team-a:*"],
        commands=["+@all", "-@dangerous"],
    )  # fmt: skip
    yield f"redis://team-a:{quote(password, safe='')}@127.0.0.1:{redis.port}/0"
    operator.acl_deluser("team-a")
    operator.close()


async def test_a_deployment_keeps_to_its_prefix_and_needs_no_other_key_or_channel(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, team_a: str, tmp_path: Path
) -> None:
    """Two replicas of one deployment, as a Redis user limited to `team-a:`: plans, the journal, the ledger, pacing,
    the manifest cache and cancellations all work, so none of them lies outside the prefix."""
    shared = {"state_url": team_a, "state_prefix": "team-a", "shared_secret": SECRET, "http_stateless": True}
    one = settings.with_changes(journal_dir=tmp_path / "one", mutation_interval_seconds=1.0, **shared)
    two = settings.with_changes(journal_dir=tmp_path / "two", mutation_interval_seconds=1.0, **shared)
    async with Client(build_server(one)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        token = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))["confirmation_token"]
    operator = admin(redis)
    arguments = {"plan_id": plan["plan_id"], "confirmation_token": token}
    async with (
        heard_on(redis, "team-a:cancel") as heard,
        serving(http_app(one)) as first,
        serving(http_app(two)) as second,
    ):
        with anyio.fail_after(5):  # both replicas listen for cancellations (and so do we)
            while operator.pubsub_numsub("team-a:cancel")[0][1] < 3:  # noqa: ASYNC110  (Redis offers no event)
                await anyio.sleep(0.01)
        sent, _ = await apply_then_cancel(first, second, arguments, sandbox, {}, during="wait")
    async with Client(build_server(two)) as client:
        history = ok(await client.call_tool("list_deletion_history", {}))
    async with Client(build_server(settings.with_changes(**{**shared, "state_prefix": "team-b"}))) as client:
        elsewhere = await client.call_tool("list_deletion_history", {})
    assert sent == 202
    assert heard == [{"caller": identity_of(""), "id": 7}]  # announced on team-a's channel (no authentication here)
    assert sum(r.method == "DELETE" for r in sandbox.state.requests) == history["total"] >= 1
    assert "refused the server (NoPermissionError)" in error_text(elsewhere)  # team-b's keys are not team-a's
    assert "ACL allows the keys and channels under state_prefix" in error_text(elsewhere)
    keys = [key.decode().split(":") for key in operator.scan_iter()]
    operator.close()
    assert {key[0] for key in keys} == {"team-a"}
    # What lasts (a delete's reserved turn, `pace`, is gone a second or two after it): the DELETE went out, so its
    # turn was reserved under team-a too.
    assert (
        {"spent", "plan", "journal", "manifest"}
        <= {key[1] for key in keys}
        <= {"spent", "plan", "journal", "manifest", "pace", "pause"}
    )


async def test_a_wrong_password_is_a_refusal_not_an_outage(redis: RedisServer, team_a: str) -> None:
    wrong = team_a.replace("p%2Fss", "p%2Fsx")
    with pytest.raises(SharedStateUnavailable) as refused:
        await RedisState.connect(wrong, "team-a")
    assert str(refused.value).startswith(
        f"The shared state (Redis at redis://127.0.0.1:{redis.port}/0, state_url) refused the server "
        "(AuthenticationError), so it could not start. Its operator can check the user and password in state_url"
    )


async def test_a_ledger_record_the_server_did_not_sign_or_a_forgotten_one_is_caught_and_refused(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served = settings.with_changes(state_url=redis.url, shared_secret=SECRET, journal_dir=tmp_path)
    operator = admin(redis)
    caplog.set_level(logging.WARNING, "github_packages_mcp")
    async with Client(build_server(served)) as client:
        offered = ok(await client.call_tool("delete_org_package_version", VERSION))["confirmation_token"]
        operator.set(f"github-packages-mcp:spent:{offered.split('.')[1]}", b"1", px=60_000)  # spent by someone else
        forged = await client.call_tool("delete_org_package_version", {**VERSION, "confirmation_token": offered})
        token = ok(await client.call_tool("delete_org_package_version", VERSION))["confirmation_token"]
        ok(await client.call_tool("delete_org_package_version", {**VERSION, "confirmation_token": token}))
        ok(await client.call_tool("restore_org_package_version", VERSION))
        assert operator.delete(f"github-packages-mcp:spent:{token.split('.')[1]}") == 1  # un-spent by someone else
        replayed = await client.call_tool("delete_org_package_version", {**VERSION, "confirmation_token": token})
    assert "already used" in error_text(forged)
    assert "already used" in error_text(replayed)
    assert sum(r.method == "DELETE" for r in sandbox.state.requests) == 1
    said = [record.getMessage() for record in caplog.records]
    assert any("holds a record this server did not sign" in line for line in said), said
    assert any("had forgotten a token this server spent" in line for line in said), said
    signed = operator.get(f"github-packages-mcp:spent:{token.split('.')[1]}")  # spent again by the replay's check
    assert signed is None or len(signed) == 64


def test_a_state_url_with_an_unencoded_password_is_a_clear_error_at_start_without_it(redis: RedisServer) -> None:
    env = clean_env(
        GITHUB_PACKAGES_MCP_STATE_URL=f"redis://:hunt/er#2?x@127.0.0.1:{redis.port}/0",
        GITHUB_PACKAGES_MCP_SHARED_SECRET=SECRET,
        GITHUB_TOKEN=DEMO_TOKEN,
    )
    done = subprocess.run(
        [*COMMAND, "call", "list_my_packages", "package_type=npm"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid configuration: state_url (from GITHUB_PACKAGES_MCP_STATE_URL): ")
    assert "percent-encode" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(part in done.stderr for part in ("hunt", "er#2", "2?x", "x@"))
    # Where messages name the server, no part of such a URL is shown either.
    shown = [shown_url(url) for url in ("redis://:/hunter2x@db:6379/0", "redis://:hunt/er2x@db/0", "unix:///r.sock")]
    assert shown == ["redis://localhost", "(a URL that cannot be read)", "unix://localhost/r.sock"]
