"""Two replica processes sharing one Redis, behind a round-robin proxy (no sticky sessions, `http_stateless`), as
clients nobody here controls reach them: every HTTP request goes to the other replica than the one before."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from tests.helpers import error_text, ok
from tests.server.http_serving import http_client, serving
from tests.state.redis_serving import RedisServer
from tests.state.replica_serving import RoundRobinProxy, apply_then_cancel, replica_processes

pytestmark = pytest.mark.anyio
MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
VERSION = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "package_version_id": 3000000000}
INTERVAL = 0.5  # seconds between one token's deletes, configured on both replicas (a cancel arrives within one)


@pytest.fixture(scope="module")
def upstreams(
    sandbox_server: SandboxServer, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    directory = tmp_path_factory.mktemp("replicas")
    config = directory / "config.toml"
    config.write_text(f"mutation_interval_seconds = {INTERVAL}\nretry_backoff_seconds = 0.01\n")
    with replica_processes(
        2,
        directory,
        GITHUB_API_URL=sandbox_server.url,
        GITHUB_REGISTRY_URL=sandbox_server.url,
        GITHUB_TOKEN=DEMO_TOKEN,
        GITHUB_PACKAGES_MCP_CONFIG=str(config),
        GITHUB_PACKAGES_MCP_STATE_URL=redis_server.url,
        GITHUB_PACKAGES_MCP_SHARED_SECRET="one secret for every replica",
        GITHUB_PACKAGES_MCP_HTTP_STATELESS="true",
    ) as urls:
        yield urls


@pytest.fixture
async def balanced(upstreams: list[str], sandbox: SandboxServer, redis: RedisServer) -> AsyncIterator[str]:
    """The proxy's URL, in front of both replicas, with a fresh sandbox and an empty Redis."""
    proxy = RoundRobinProxy(upstreams)
    async with serving(proxy) as url:  # type: ignore[arg-type]
        yield url
    assert all(proxy.served), proxy.served  # both replicas answered


def deletes(sandbox: SandboxServer) -> list[Any]:
    return [r for r in sandbox.state.requests if r.method == "DELETE"]


async def test_plans_journals_and_tokens_work_across_replicas(balanced: str, sandbox: SandboxServer) -> None:
    async with http_client(balanced, mode="legacy") as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        asked = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        applied = ok(await client.call_tool(
            "apply_version_cleanup", {"plan_id": plan["plan_id"], "confirmation_token": asked["confirmation_token"]}
        ))  # fmt: skip
        offered = ok(await client.call_tool("restore_from_journal", {"plan_id": plan["plan_id"]}))
        restored = ok(await client.call_tool(
            "restore_from_journal", {"plan_id": plan["plan_id"], "confirmation_token": offered["confirmation_token"]}
        ))  # fmt: skip
        first = ok(await client.call_tool("delete_org_package_version", VERSION))
        confirmed = {**VERSION, "confirmation_token": first["confirmation_token"]}
        ok(await client.call_tool("delete_org_package_version", confirmed))
        ok(await client.call_tool("restore_org_package_version", VERSION))
        replays = [await client.call_tool("delete_org_package_version", confirmed) for _ in range(2)]  # each replica
    assert applied["deleted_count"] == 5
    assert restored["restored"] == 5
    assert all("already used" in error_text(replay) for replay in replays)
    assert len(deletes(sandbox)) == 6


async def test_one_tokens_cleanups_on_two_replicas_keep_one_spacing(balanced: str, sandbox: SandboxServer) -> None:
    async def apply(name: str) -> None:
        async with http_client(balanced, mode="legacy") as client:
            arguments = {**MULTI, "package_name": name, "tagged": "untagged"}
            plan = ok(await client.call_tool("plan_version_cleanup", arguments))["plan_id"]
            token = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan}))["confirmation_token"]
            with anyio.move_on_after(4.0):
                await client.call_tool("apply_version_cleanup", {"plan_id": plan, "confirmation_token": token})

    async with anyio.create_task_group() as group:
        group.start_soon(apply, "multi/app")
        group.start_soon(apply, "web/api")
    times = sorted(r.received_at for r in deletes(sandbox))
    assert {r.raw_path.split("/")[5] for r in deletes(sandbox)} == {"multi%2Fapp", "web%2Fapi"}
    assert len(times) >= 6
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= INTERVAL - 0.03, [
        (r.raw_path[-20:], round(r.received_at - times[0], 3)) for r in deletes(sandbox)
    ]


async def test_a_cancel_through_the_other_replica_stops_the_apply(balanced: str, sandbox: SandboxServer) -> None:
    async with http_client(balanced, mode="legacy") as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        token = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))["confirmation_token"]
    arguments = {"plan_id": plan["plan_id"], "confirmation_token": token}
    # Two requests in a row through the proxy: the apply on one replica, the cancel on the other.
    bearer = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    sent, answered = await apply_then_cancel(balanced, balanced, arguments, sandbox, bearer)
    assert sent == 202
    assert b"Deleted 5" not in answered
    assert 1 <= len(deletes(sandbox)) <= 2


async def test_a_cancel_through_the_other_replica_while_the_apply_waits_for_its_turn_sends_nothing_more(
    balanced: str, sandbox: SandboxServer
) -> None:
    async with http_client(balanced, mode="legacy") as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        token = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))["confirmation_token"]
    arguments = {"plan_id": plan["plan_id"], "confirmation_token": token}
    bearer = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    # Cancelled once the first DELETE is answered: the next waits for its turn (INTERVAL after the first's).
    sent, answered = await apply_then_cancel(balanced, balanced, arguments, sandbox, bearer, during="wait")
    assert sent == 202
    assert b"Deleted 5" not in answered
    assert len(deletes(sandbox)) == 1


def test_the_replicas_log_no_token(upstreams: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    logs = list(Path(tmp_path_factory.getbasetemp()).glob("replicas*/replica-*.log"))
    assert logs
    assert not [log for log in logs if DEMO_TOKEN in log.read_text()]
