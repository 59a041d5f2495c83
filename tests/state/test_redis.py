"""Replicas sharing one Redis behave as one server: a plan made on one is applied and restored on another, a
confirmation token works once across them, one token's deletes keep one spacing, a manifest one read the other
does not read again, and a lost Redis stops deletes but not reads. Each replica here has a state directory of its
own, so only Redis can carry what they share."""

from __future__ import annotations

import hashlib
import itertools
import logging
import subprocess
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from mcp import Client
from redis import Redis

from github_packages_mcp.config import Settings
from github_packages_mcp.github.manifests import ManifestCache
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, Fault, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.server.transports import http_app
from github_packages_mcp.state.redis import RedisState
from tests.helpers import COMMAND, Person, clean_env, error_text, free_port, ok
from tests.server.http_serving import http_client, serving
from tests.state.redis_serving import RedisServer
from tests.state.replica_serving import apply_then_cancel

pytestmark = pytest.mark.anyio
MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
WEB = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
SECRET = "one secret for every replica"


def replicas(settings: Settings, redis: RedisServer, tmp_path: Path, **changes: Any) -> tuple[Settings, Settings]:
    shared = {"state_url": redis.url, "shared_secret": SECRET, **changes}
    return (
        settings.with_changes(journal_dir=tmp_path / "one", **shared),
        settings.with_changes(journal_dir=tmp_path / "two", **shared),
    )


def deletes(sandbox: SandboxServer) -> list[str]:
    return [r.raw_path for r in sandbox.state.requests if r.method == "DELETE"]


async def test_a_plan_made_on_one_replica_is_applied_and_restored_on_another(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path
) -> None:
    one, two = replicas(settings, redis, tmp_path)
    async with Client(build_server(one)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
    async with Client(build_server(two), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        again = await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]})
    async with Client(build_server(one)) as client:
        history = ok(await client.call_tool("list_deletion_history", {}))
        asked = ok(await client.call_tool("restore_from_journal", {"plan_id": plan["plan_id"]}))
        confirmed = {"plan_id": plan["plan_id"], "confirmation_token": asked["confirmation_token"]}
        restored = ok(await client.call_tool("restore_from_journal", confirmed))
    assert applied["deleted_count"] == 5
    done_then = ok(again)  # the journal on Redis says what was done, on the replica that did not do it
    assert (done_then["status"], done_then["deleted_count"]) == ("already_done", 5)
    assert history["total"] == 5
    assert restored["restored"] == 5
    assert not (tmp_path / "one" / "plans").exists()
    assert not (tmp_path / "two" / "journal").exists()


async def test_a_token_spent_on_one_replica_is_refused_on_another_even_after_a_restore(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path
) -> None:
    one, two = replicas(settings, redis, tmp_path)
    version = {**WEB, "package_version_id": 3000000000}
    async with Client(build_server(one)) as client:
        first = ok(await client.call_tool("delete_org_package_version", version))
        token = first["confirmation_token"]
        ok(await client.call_tool("delete_org_package_version", {**version, "confirmation_token": token}))
        ok(await client.call_tool("restore_org_package_version", version))
    async with Client(build_server(two)) as client:
        replayed = await client.call_tool("delete_org_package_version", {**version, "confirmation_token": token})
    assert "already used" in error_text(replayed)
    assert len(deletes(sandbox)) == 1


async def test_one_tokens_deletes_keep_one_spacing_across_replicas(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path
) -> None:
    interval = 0.25
    one, two = replicas(settings, redis, tmp_path, mutation_interval_seconds=interval)
    plans = []
    for replica, name in ((one, "multi/app"), (two, "web/api")):
        async with Client(build_server(replica)) as client:
            arguments = {**MULTI, "package_name": name, "tagged": "untagged", "keep_latest": 0}
            plans.append(ok(await client.call_tool("plan_version_cleanup", arguments))["plan_id"])

    async def apply(replica: Settings, plan_id: str) -> None:
        async with Client(build_server(replica)) as client:
            first = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan_id}))
            token = first["confirmation_token"]
            with anyio.move_on_after(2.5):  # ten or so deletes between them are enough to see the spacing
                await client.call_tool("apply_version_cleanup", {"plan_id": plan_id, "confirmation_token": token})

    async with anyio.create_task_group() as group:
        group.start_soon(apply, one, plans[0])
        group.start_soon(apply, two, plans[1])
    times = sorted(r.received_at for r in sandbox.state.requests if r.method == "DELETE")
    sent = {r.raw_path.split("/")[5] for r in sandbox.state.requests if r.method == "DELETE"}
    assert sent == {"multi%2Fapp", "web%2Fapi"}  # both replicas deleted, interleaved
    assert len(times) >= 6
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= interval - 0.03, gaps  # Redis's clock and the sandbox's may differ by a few ms


async def test_a_lost_redis_stops_deletes_and_says_so_but_reads_go_on(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path
) -> None:
    one, _ = replicas(settings, redis, tmp_path)
    sandbox.state.faults.script("DELETE", "*/versions/*", [Fault(latency=0.3)] * 5)
    person = Person(typed="5")
    async with Client(build_server(one), elicitation_callback=person) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        async with anyio.create_task_group() as group:

            async def stop_redis_after_the_first_delete() -> None:
                while not deletes(sandbox):  # noqa: ASYNC110  (the sandbox's thread records it: no event to await)
                    await anyio.sleep(0.01)
                redis.stop()

            group.start_soon(stop_redis_after_the_first_delete)
            stopped = await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]})
        listing = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
        person.typed = "web/api"
        single = await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": 3000000000})
    assert "The shared state (Redis at redis://127.0.0.1:" in error_text(stopped)
    assert "did not answer" in error_text(stopped)
    assert 1 <= len(deletes(sandbox)) <= 2  # the one under way when Redis went, and no other
    assert listing["items"]
    assert "Nothing was deleted: The shared state" in error_text(single)  # no journal, no delete
    assert "restore_from_journal can bring it back" in error_text(stopped)
    assert len(deletes(sandbox)) <= 2


@pytest.mark.parametrize(
    "command",
    [["call", "list_my_packages", "package_type=npm"], ["--transport", "http", "--port", "0"], []],
    ids=["call", "http", "stdio"],
)
def test_an_unreachable_redis_is_a_clear_error_at_start(command: list[str]) -> None:
    env = clean_env(
        GITHUB_PACKAGES_MCP_STATE_URL=f"redis://:hunter2-password@127.0.0.1:{free_port()}/0",
        GITHUB_PACKAGES_MCP_SHARED_SECRET=SECRET,
        GITHUB_TOKEN="ghp_sandboxDemoToken0000000000000000000",
    )
    done = subprocess.run(
        [*COMMAND, *command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "error: cannot start: The shared state (Redis at redis://127.0.0.1:" in done.stderr
    assert "hunter2" not in done.stderr


def connections_received(redis: RedisServer) -> int:
    """The connections Redis has accepted so far, the one asking included."""
    with Redis(port=redis.port) as operator:
        return int(operator.info("stats")["total_connections_received"])


def test_a_command_opens_one_connection_to_redis(sandbox: SandboxServer, redis: RedisServer) -> None:
    """The command's check that Redis answers is the state it then uses: one client, one connection (its requests
    go one at a time)."""
    env = clean_env(
        GITHUB_API_URL=sandbox.url,
        GITHUB_PACKAGES_MCP_STATE_URL=redis.url,
        GITHUB_PACKAGES_MCP_SHARED_SECRET=SECRET,
        GITHUB_TOKEN=DEMO_TOKEN,
    )
    before = connections_received(redis)
    done = subprocess.run(
        [*COMMAND, "call", "list_my_packages", "package_type=npm"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert connections_received(redis) - before == 1 + 1  # the command's, and the one asking now


async def test_an_http_replica_keeps_one_redis_client_for_its_calls_and_its_cancellation_listener(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[RedisState] = []
    making = RedisState.__init__

    def counted(self: RedisState, *args: Any, **kwargs: Any) -> None:
        made.append(self)
        making(self, *args, **kwargs)

    monkeypatch.setattr(RedisState, "__init__", counted)
    one, _ = replicas(settings, redis, tmp_path, http_stateless=True)
    version = {**WEB, "package_version_id": 3000000000}
    async with serving(http_app(one)) as url, http_client(url, mode="legacy") as client:
        with Redis(port=redis.port) as operator:
            listening = operator.pubsub_numsub("github-packages-mcp:cancel")[0][1]
        token = ok(await client.call_tool("delete_org_package_version", version))["confirmation_token"]
        done = ok(await client.call_tool("delete_org_package_version", {**version, "confirmation_token": token}))
    assert done["deleted"] is True
    assert listening == 1
    assert len(made) == 1


@pytest.mark.parametrize("during", ["delete", "wait"])
async def test_a_cancel_sent_through_one_replica_stops_an_apply_running_on_the_other(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path, during: Literal["delete", "wait"]
) -> None:
    """Cancelled while a DELETE is in flight, or while the run waits a second for the next one's turn."""
    one, two = replicas(settings, redis, tmp_path, http_stateless=True, mutation_interval_seconds=1.0)
    async with Client(build_server(one)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        token = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))["confirmation_token"]
    arguments = {"plan_id": plan["plan_id"], "confirmation_token": token}
    async with serving(http_app(one)) as first, serving(http_app(two)) as second:
        sent, answered = await apply_then_cancel(first, second, arguments, sandbox, {}, during=during)
    assert sent == 202
    assert b"Deleted 5" not in answered
    # The one in flight finishes, with its journal line; no other starts.
    assert len(deletes(sandbox)) == 1


async def test_a_replica_outlives_its_redis_and_deletes_again_once_it_is_back(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path
) -> None:
    one, _ = replicas(settings, redis, tmp_path, http_stateless=True)
    version = {**WEB, "package_version_id": 3000000000}
    async with serving(http_app(one)) as url:
        redis.stop()
        await anyio.sleep(0.3)  # its listener for other replicas' cancellations loses Redis
        async with http_client(url, mode="legacy") as client:
            listing = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
            token = ok(await client.call_tool("delete_org_package_version", version))["confirmation_token"]
            refused = await client.call_tool("delete_org_package_version", {**version, "confirmation_token": token})
        redis.start()
        async with http_client(url, mode="legacy") as client:
            token = ok(await client.call_tool("delete_org_package_version", version))["confirmation_token"]
            done = ok(await client.call_tool("delete_org_package_version", {**version, "confirmation_token": token}))
    assert listing["items"]
    assert "could not check the confirmation token" in error_text(refused)
    assert done["deleted"] is True
    assert len(deletes(sandbox)) == 1


def manifest_gets(sandbox: SandboxServer) -> int:
    return sum(r.method == "GET" and "/manifests/" in r.raw_path for r in sandbox.state.requests)


async def test_replicas_share_the_manifests_they_read(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, tmp_path: Path
) -> None:
    one, two = replicas(settings, redis, tmp_path)
    cleanup = {**WEB, "tagged": "untagged", "keep_younger_than_days": 1}
    async with Client(build_server(one)) as client:
        first = ok(await client.call_tool("plan_version_cleanup", cleanup))
    read_by_one = manifest_gets(sandbox)
    async with Client(build_server(two)) as client:
        second = ok(await client.call_tool("plan_version_cleanup", cleanup))
    assert (read_by_one, manifest_gets(sandbox)) == (345, 345)  # the second replica read none
    assert first["delete"] == second["delete"] > 0
    assert not (tmp_path / "one" / "manifests").exists()
    assert not (tmp_path / "two" / "manifests").exists()


async def test_a_manifest_cache_on_an_unreachable_redis_answers_misses_and_raises_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = b'{"schemaVersion":2}'
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    url = f"http://127.0.0.1/v2/acme-labs/web/api/manifests/{digest}"
    state = RedisState(f"redis://127.0.0.1:{free_port()}/0")
    cache = ManifestCache(state.manifests)
    try:
        with anyio.fail_after(5), caplog.at_level(logging.WARNING, "github_packages_mcp"):
            assert await cache.get(url, digest) is None
            await cache.put(url, digest, body)
            assert await cache.get(url, digest) is None
    finally:
        await state.aclose()
    assert len([record for record in caplog.records if "manifest cache" in record.getMessage()]) == 1
