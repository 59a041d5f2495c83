"""GitHub's limits and failures, injected by the sandbox, met through the MCP protocol.

Retries, rate-limit waits, conditional requests, paced concurrency, whole listings and cancellation.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime

import anyio
import anyio.lowlevel
import httpx2
import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.cache import MAX_IDENTITIES, ETagCache, LRUMap
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.github.pacing import Pacer
from github_packages_mcp.github.retry import Limit, RetryPolicy, rate_limit
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_READ_TOKEN, DEMO_TOKEN, Fault, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import ACME_CONTAINERS, Person, error_text, ok

pytestmark = pytest.mark.anyio

WEB_API = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
PACKAGES = f"/orgs/{DEMO_ORG}/packages"
VERSIONS = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions"


def statuses(sandbox: SandboxServer, method: str = "GET") -> list[int]:
    return [r.status for r in sandbox.state.requests if r.method == method and not r.raw_path.startswith("/_")]


async def test_reads_are_retried_after_502_and_503(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", PACKAGES, [Fault(status=502), Fault(status=503)])
    async with Client(build_server(settings)) as client:
        result = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
    assert [item["name"] for item in result["items"]] == ACME_CONTAINERS
    assert statuses(sandbox) == [502, 503, 200]


async def test_a_read_that_times_out_is_retried(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", PACKAGES, [Fault(latency=1.0)])
    async with Client(build_server(settings.with_changes(timeout_seconds=0.2))) as client:
        result = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
    assert len(result["items"]) == len(ACME_CONTAINERS)
    assert len([r for r in sandbox.state.requests if r.raw_path == PACKAGES]) == 2


async def test_failures_the_request_caused_are_not_retried(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", PACKAGES, [Fault(status=422)])
    async with Client(build_server(settings)) as client:
        invalid = await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"})
        missing = await client.call_tool("get_org_package", {**WEB_API, "package_name": "nope"})
    assert "422" in error_text(invalid)
    assert "404" in error_text(missing)
    assert statuses(sandbox)[:2] == [422, 404]
    sent = [(request.raw_path, request.query) for request in sandbox.state.requests]
    assert sent.count(sent[0]) == sent.count(sent[1]) == 1  # neither was sent again (the rest: what exists)


async def test_persistent_5xx_gives_up_after_the_retries(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", PACKAGES, [Fault(status=503)] * 10)
    async with Client(build_server(settings.with_changes(max_retries=2))) as client:
        result = await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"})
    assert "503" in error_text(result)
    assert "GitHub's side" in error_text(result)
    assert statuses(sandbox) == [503, 503, 503]


async def test_a_secondary_limit_with_retry_after_is_waited_out(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", PACKAGES, [Fault.secondary_rate_limit(retry_after=1)])
    async with Client(build_server(settings)) as client:
        result = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
    assert len(result["items"]) == len(ACME_CONTAINERS)
    assert statuses(sandbox) == [403, 200]


async def test_a_secondary_limit_longer_than_the_maximum_wait_is_a_clear_error(
    settings: Settings, sandbox: SandboxServer
) -> None:
    # Without retry-after GitHub asks for at least a minute; with a 5 s maximum that is not slept through.
    sandbox.state.faults.script("GET", PACKAGES, [Fault.secondary_rate_limit(retry_after=None)])
    async with Client(build_server(settings.with_changes(max_rate_limit_wait_seconds=5))) as client:
        with anyio.fail_after(5):
            result = await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"})
    text = error_text(result)
    assert "secondary rate limit" in text
    assert "in 1 minute(s)" in text
    assert statuses(sandbox) == [403]


async def test_an_exhausted_primary_limit_an_hour_away_fails_fast(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.set_rate_limit(DEMO_TOKEN, remaining=0, reset_in=3600)
    async with Client(build_server(settings)) as client:
        with anyio.fail_after(5):
            first = await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"})
            second = await client.call_tool("get_org_package", WEB_API)
    text = error_text(first)
    assert "primary rate limit" in text
    assert "in 60 minute(s)" in text
    assert "UTC" in text
    assert "primary rate limit" in error_text(second)
    assert statuses(sandbox) == [403]  # the second call knew the quota was spent and sent nothing


async def test_unchanged_reads_are_revalidated_with_etags_and_cost_no_quota(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("get_org_package", WEB_API))
        quota = [r.headers.get("if-none-match") for r in sandbox.state.requests]
        second = ok(await client.call_tool("get_org_package", WEB_API))
        listing = {**WEB_API, "per_page": 5}
        before = ok(await client.call_tool("list_org_package_versions", listing))
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as someone_else:
            newest = before["items"][0]["id"]
            await someone_else.delete(f"{sandbox.url}{VERSIONS}/{newest}")
        after = ok(await client.call_tool("list_org_package_versions", listing))
    assert second == first
    assert quota == [None]
    assert statuses(sandbox) == [200, 304, 200, 200]
    revalidated = [r for r in sandbox.state.requests if r.status == 304]
    assert revalidated[0].headers["if-none-match"]
    assert newest not in [item["id"] for item in after["items"]]  # never served stale after a change


async def test_a_304_does_not_spend_the_primary_quota(settings: Settings, sandbox: SandboxServer) -> None:
    async with GitHubClient.from_settings(settings) as github:
        await github.request("GET", f"{PACKAGES}/container/web%2Fapi")
        spent = github.quota.remaining
        response = await github.request("GET", f"{PACKAGES}/container/web%2Fapi")
    assert response.status_code == 200
    assert response.extensions["from_cache"] is True
    assert github.quota.remaining == spent


async def test_a_delete_whose_first_response_is_lost_counts_as_done(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("DELETE", f"{PACKAGES}/container/web%2Fapi", [Fault(reset=True, after=True)])
    async with Client(build_server(settings), elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        result = ok(await client.call_tool("delete_org_package", WEB_API))
        gone = await client.call_tool("get_org_package", WEB_API)
    assert result["deleted"] is True
    assert "404" in error_text(gone)
    assert [r.status for r in sandbox.state.requests if r.method == "DELETE"][-1] == 404


async def test_a_restore_whose_response_is_lost_is_not_sent_twice(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("POST", "*/restore", [Fault(reset=True, after=True)])
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("restore_my_package", {"package_type": "npm", "package_name": "old-cli"})
    assert "may have reached GitHub: check with get_my_package" in error_text(result)
    assert len([r for r in sandbox.state.requests if r.method == "POST"]) == 1


async def test_a_restore_that_never_left_is_sent_again() -> None:
    attempts: list[str] = []

    def github(request: httpx2.Request) -> httpx2.Response:
        attempts.append(request.method)
        if len(attempts) == 1:
            raise httpx2.ConnectTimeout("connect timed out", request=request)
        return httpx2.Response(204)

    async with GitHubClient(
        base_url="https://api.github.com", token="t", api_version="2022-11-28", timeout=httpx2.Timeout(5),
        retry=RetryPolicy(backoff=0.01), pacer=Pacer(max_concurrency=1, mutation_interval=0),
        transport=httpx2.MockTransport(github),
    ) as client:  # fmt: skip
        response = await client.request("POST", "/user/packages/npm/x/restore")
    assert response.status_code == 204
    assert attempts == ["POST", "POST"]


async def test_all_pages_are_read_concurrently_within_the_limit_in_order_with_progress(
    settings: Settings, sandbox: SandboxServer
) -> None:
    sandbox.state.add_package(DEMO_ORG, "container", "big/image", versions=2_000)
    sandbox.state.faults.latency = 0.05
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": "big/image"}
    progress: list[tuple[float, float | None]] = []

    async def on_progress(done: float, total: float | None, _message: str | None) -> None:
        progress.append((done, total))

    async with Client(build_server(settings.with_changes(max_concurrency=3))) as client:
        everything = ok(
            await client.call_tool(
                "list_org_package_versions", {**arguments, "all_pages": True}, progress_callback=on_progress
            )
        )
        sandbox.state.faults.latency = 0
        pages = [
            ok(await client.call_tool("list_org_package_versions", {**arguments, "per_page": 100, "page": n}))
            for n in range(1, 21)
        ]
    read = [item["id"] for page in pages for item in page["items"]]
    # Every page is read; the result is cut at a page boundary to fit a context window, and says where to go on.
    assert [item["id"] for item in everything["items"]] == read[: len(everything["items"])]
    assert len(read) == 2_000
    assert everything["next_page"] == len(everything["items"]) // 100 + 1
    assert everything["last_page"] == 20
    assert sandbox.state.max_in_flight == 3
    assert progress[-1] == (20, 20)
    assert sorted(progress) == progress


async def test_a_listing_without_a_last_link_follows_next() -> None:
    def github(request: httpx2.Request) -> httpx2.Response:
        page = int(request.url.params["page"])
        link = {} if page == 3 else {"link": f'<https://api.github.com/x?page={page + 1}>; rel="next"'}
        return httpx2.Response(200, json=[{"id": page}], headers=link)

    async with GitHubClient(
        base_url="https://api.github.com", token="t", api_version="2022-11-28", timeout=httpx2.Timeout(5),
        transport=httpx2.MockTransport(github),
    ) as client:  # fmt: skip
        page = await client.get_all_pages("/x", {})
    assert [item["id"] for item in page.items] == [1, 2, 3]
    assert page.last_page == 3


async def test_cancelling_a_listing_cancels_its_requests(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.add_package(DEMO_ORG, "container", "big/image", versions=2_000)
    sandbox.state.faults.latency = 0.3
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": "big/image", "all_pages": True}
    async with Client(build_server(settings)) as client:
        with anyio.move_on_after(1.0) as scope:
            await client.call_tool("list_org_package_versions", arguments)
        assert scope.cancelled_caught
        # A request sent just before the cancel may reach a busy sandbox a little later: counted once arrivals stop.
        sent = await _settled_count(sandbox)
        await anyio.sleep(0.8)  # any page request still queued would have been sent by now
        assert len(sandbox.state.requests) == sent
        assert sent < 21
        sandbox.state.faults.latency = 0
        assert ok(await client.call_tool("get_org_package", WEB_API))["name"] == "web/api"


async def _settled_count(sandbox: SandboxServer) -> int:
    """The sandbox's count of requests once it has not changed for 0.3 s (at most 3 s)."""
    count = len(sandbox.state.requests)
    with anyio.move_on_after(3):
        while True:
            await anyio.sleep(0.3)
            if (now := len(sandbox.state.requests)) == count:
                break
            count = now
    return count


async def test_mutations_are_spaced_and_concurrency_is_capped() -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = Pacer(max_concurrency=2, mutation_interval=1.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        async with pacer.slot(mutating=True):
            assert pacer.in_flight == 1
    async with pacer.slot(mutating=False):
        pass
    assert sleeps == [1.0, 1.0]  # the first mutation goes at once, each next one a second later; reads never wait
    await pacer.pause_until(now[0] + 30)
    async with pacer.slot(mutating=False):
        pass
    assert sleeps[-1] == 30


async def test_a_turn_is_waited_for_cancellably_and_its_request_then_goes_at_once() -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await anyio.lowlevel.checkpoint()  # where a cancel lands
        now[0] += seconds

    pacer = Pacer(max_concurrency=1, mutation_interval=1.0, clock=lambda: now[0], sleep=sleep)
    async with pacer.slot(mutating=True):
        pass
    with anyio.CancelScope() as waiting:
        waiting.cancel()
        async with pacer.turn(mutating=True):  # cancelled while it waits a second for its turn
            raise AssertionError("never reached")
    assert (pacer.in_flight, now[0]) == (0, 0.0)  # its slot given back, nothing waited out
    async with pacer.turn(mutating=True) as turn:
        assert (pacer.in_flight, now[0]) == (1, 1.0)  # the turn holds the only slot, after the spacing
        waited = len(sleeps)
        async with pacer.slot(mutating=True, turn=turn):  # no wait: the turn's own slot and place
            assert (pacer.in_flight, len(sleeps)) == (1, waited)
    assert pacer.in_flight == 0
    async with pacer.turn(mutating=True):  # taken and left unused: given back
        pass
    async with pacer.slot(mutating=True):  # spaced from the unused turn as if it had been used, never sooner
        assert now[0] == 3.0


async def test_a_turn_serves_one_request_of_its_kind_and_not_a_paused_token() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    pacer = Pacer(max_concurrency=1, mutation_interval=0, clock=lambda: now[0], sleep=sleep)
    async with pacer.turn(mutating=True, identity="a") as turn:
        async with pacer.slot(mutating=False, identity="a", turn=turn):  # another kind: the turn is given back
            assert pacer.in_flight == 1
        async with pacer.slot(mutating=True, identity="a", turn=turn):  # spent: waits as any request
            assert pacer.in_flight == 1
    async with pacer.turn(mutating=True, identity="a") as turn:
        await pacer.pause_until(now[0] + 30, "a")  # a rate limit met meanwhile: the turn may not be used
        async with pacer.slot(mutating=True, identity="a", turn=turn):
            assert now[0] == 30
    assert pacer.in_flight == 0


async def test_each_request_logs_one_line_without_secrets(
    settings: Settings, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="github_packages_mcp.http")
    sandbox.state.faults.script("GET", PACKAGES, [Fault(status=502)])
    async with Client(build_server(settings)) as client:
        await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"})
        await client.call_tool("restore_my_package", {"package_type": "npm", "package_name": "old-cli", "token": "pkg"})
    lines = [r.getMessage() for r in caplog.records if r.name == "github_packages_mcp.http"]
    query = "query=package_type=container&page=1&per_page=30"
    assert lines[0].startswith(f"method=GET path={PACKAGES} {query} status=502 duration_ms=")
    assert "retries=0" in lines[0]
    assert "retries=1" in lines[1]
    assert "remaining=" in lines[1]
    assert "method=POST path=/user/packages/npm/old-cli/restore query=- status=204" in lines[2]
    assert all(DEMO_TOKEN not in line and "pkg" not in line for line in lines)


def test_retry_backoff_grows_and_is_bounded() -> None:
    policy = RetryPolicy(backoff=0.5, max_backoff=4)
    waits = [policy.backoff_for(n) for n in range(6)]
    assert 0.5 <= waits[0] <= 0.625
    assert 1.0 <= waits[1] <= 1.25
    assert all(4 <= wait <= 5 for wait in waits[3:])


def test_a_secondary_limit_without_retry_after_waits_a_minute_then_backs_off() -> None:
    def limit_of(response: httpx2.Response, retries: int) -> Limit | None:
        return rate_limit(response, retries, datetime.now(UTC), secondary_wait=RetryPolicy().secondary_wait)

    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}
    limited = httpx2.Response(403, json=body, headers={"x-ratelimit-remaining": "4000"})
    first, second = limit_of(limited, 0), limit_of(limited, 1)
    assert first is not None and (first.kind, first.wait) == ("secondary", 60.0)
    assert second is not None and 120.0 <= second.wait <= 132.0
    assert limit_of(httpx2.Response(403, json={"message": "Must have admin rights"}), 0) is None


# ---- per-token pauses and quotas (callers' own tokens passing through) ----


def test_a_pause_holds_only_its_own_token() -> None:
    now = [0.0]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    async def run() -> None:
        pacer = Pacer(max_concurrency=2, mutation_interval=0, clock=lambda: now[0], sleep=sleep)
        await pacer.pause_until(30, "limited")
        async with pacer.slot(mutating=False, identity="other"), pacer.slot(mutating=True, identity="other"):
            assert sleeps == []  # another token's read and delete go at once
        async with pacer.slot(mutating=False, identity="limited"):
            assert sleeps == [30]

    anyio.run(run)


async def test_a_rate_limited_token_does_not_delay_another_tokens_read(sandbox: SandboxServer) -> None:
    caller: ContextVar[str] = ContextVar("caller")
    sandbox.state.set_rate_limit(DEMO_TOKEN, remaining=0, reset_in=30)  # waited out: within max_wait
    github = GitHubClient(
        base_url=sandbox.url, token=None, api_version="2022-11-28", timeout=httpx2.Timeout(5),
        pacer=Pacer(max_concurrency=2, mutation_interval=0), token_source=caller.get,
    )  # fmt: skip

    async def limited_read() -> None:
        caller.set(DEMO_TOKEN)
        await github.get_json(PACKAGES, {"package_type": "container"})

    async with github, anyio.create_task_group() as group:
        for _ in range(4):  # more than the slots: a waiting request must not hold one
            group.start_soon(limited_read)
        with anyio.fail_after(5):
            while github.pacer.paused_until(identity_of(DEMO_TOKEN)) == 0:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        caller.set(DEMO_READ_TOKEN)
        with anyio.fail_after(1):
            listing = await github.get_json(PACKAGES, {"package_type": "container"})
        group.cancel_scope.cancel()
    assert [package["name"] for package in listing] == ACME_CONTAINERS
    # Only the first reads of the limited token (one per slot) were sent; the rest knew its quota was spent.
    assert sorted(statuses(sandbox)) in ([200, 403], [200, 403, 403])


async def test_writes_waiting_for_their_spacing_hold_no_slot_a_read_needs(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """12 restores (no confirmation needed) once held every slot while each waited its turn, and a listing waited
    behind them for 7.5 s; now a write waits for its turn holding nothing, so the read goes first."""
    paced = settings.with_changes(max_concurrency=4, mutation_interval_seconds=0.3)
    restore = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
    async with Client(build_server(paced)) as client, anyio.create_task_group() as group:
        for n in range(12):
            arguments = {**restore, "package_version_id": 3_000_000_000 + n}
            group.start_soon(client.call_tool, "restore_org_package_version", arguments)
        with anyio.fail_after(10):
            while len(statuses(sandbox, "POST")) < 1:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        listing = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
        posts_before_the_read = len(statuses(sandbox, "POST"))
        group.cancel_scope.cancel()
    assert [item["name"] for item in listing["items"]] == ACME_CONTAINERS
    assert posts_before_the_read <= 2  # the one in flight, and at most the next, spaced 0.3 s later


async def test_two_thousand_tokens_leave_bounded_state() -> None:
    caller: ContextVar[str] = ContextVar("caller")
    answered: set[str] = set()

    def github(request: httpx2.Request) -> httpx2.Response:
        token = request.headers["authorization"]
        if token not in answered:  # every token meets a rate limit once, so it is paused once
            answered.add(token)
            return httpx2.Response(429, headers={"retry-after": "0"}, json={"message": "slow down"})
        return httpx2.Response(200, json=[], headers={"etag": f'"{token}"', "x-ratelimit-remaining": "4999"})

    client = GitHubClient(
        base_url="https://api.github.com", token=None, api_version="2022-11-28", timeout=httpx2.Timeout(5),
        pacer=Pacer(max_concurrency=4, mutation_interval=0), cache=ETagCache(1000),
        transport=httpx2.MockTransport(github), token_source=caller.get,
    )  # fmt: skip
    async with client:
        for n in range(2000):
            caller.set(f"junk-bearer-{n}")
            await client.get_json("/user")
    assert len(answered) == 2000
    assert client.known_identities == MAX_IDENTITIES
    assert client.pacer.paused_identities == MAX_IDENTITIES
    assert len(client.cache or ()) == 1000
    assert identity_of.cache_info().currsize <= MAX_IDENTITIES


def test_the_lru_map_forgets_the_least_recently_used() -> None:
    lru: LRUMap[str, int] = LRUMap(2)
    lru["a"], lru["b"] = 1, 2
    assert lru.get("a", 0) == 1  # "a" is now the most recent
    lru["c"] = 3
    assert (lru.get("b", 0), lru.get("a", 0), lru.get("c", 0), len(lru)) == (0, 1, 3, 2)
    assert lru.setdefault("d", lambda: 4) == 4
    assert lru.get("a", 0) == 0
