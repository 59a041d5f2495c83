"""The official MCP TypeScript SDK's client (npm @modelcontextprotocol/sdk, pinned in package.json) drives the
server over stdio (the client spawns `python -m github_packages_mcp`) and over streamable HTTP (the command serves
`--transport http` on loopback): tools, a read, deletes confirmed by token and by form, progress and cancellation.

Every call goes through the TypeScript client's own checks too: it validates each tool result's
structuredContent against the tool's outputSchema, and each form answer against the form's requestedSchema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from github_packages_mcp.sandbox import DEMO_ORG, Fault, SandboxServer
from github_packages_mcp.server.app import tool_entries
from tests.interop.helpers import WEB, deletes, untagged_version, version_path
from tests.server.http_serving import serving
from tests.state.redis_serving import RedisServer
from tests.state.replica_serving import RoundRobinProxy, replica_processes

Report = dict[str, Any]
HARNESS = Path(__file__).parent / "ts_client.mjs"
RunScenario = Callable[..., Report]

MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
TRANSPORTS = ["stdio", "http"]


def call(name: str, arguments: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A tools/call step of the harness."""
    return {"op": "callTool", "name": name, "arguments": arguments, **options}


def taken_from(step: int, key: str) -> dict[str, Any]:
    """An argument the harness takes from an earlier step's structured result."""
    return {"$from": [step, "structuredContent", key]}


def result_of(report: Report, step: int) -> dict[str, Any]:
    """The structured result of a step that must have succeeded."""
    outcome = report["steps"][step]
    assert "error" not in outcome, outcome["error"]
    assert outcome["result"].get("isError") is not True, outcome["result"]["content"]
    structured: dict[str, Any] = outcome["result"]["structuredContent"]
    return structured


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_tools_a_read_resources_and_prompts(ts_client: RunScenario, transport: str) -> None:
    report = ts_client(
        transport,
        [
            {"op": "listTools"},
            call("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}),
            call("get_org_package_version", {**WEB, "package_version_id": 1}),
            {"op": "listResourceTemplates"},
            {"op": "readResource", "uri": "github-packages://orgs/acme-labs/packages/container/web%2Fapi"},
            {"op": "listPrompts"},
            {"op": "getPrompt", "name": "audit_organization", "arguments": {"org": DEMO_ORG}},
        ],
    )
    assert report["protocolVersion"] == "2025-11-25"
    assert report["serverInfo"]["name"] == "github-packages-mcp"
    tools = {tool["name"]: tool for tool in report["steps"][0]["result"]["tools"]}
    assert set(tools) == {entry.name for entry in tool_entries()}
    assert tools["list_org_packages"]["annotations"]["readOnlyHint"] is True
    assert tools["delete_org_package"]["annotations"]["destructiveHint"] is True
    assert all(tool["outputSchema"]["type"] == "object" for tool in tools.values())
    assert report["steps"][0]["refusedByStrictAjv"] == []
    assert "web/api" in [item["name"] for item in result_of(report, 1)["items"]]
    missing = report["steps"][2]["result"]  # a tool error, not a protocol error
    assert missing["isError"] is True
    assert "404" in missing["content"][0]["text"]
    assert len(report["steps"][3]["result"]["resourceTemplates"]) == 3
    assert '"web/api"' in report["steps"][4]["result"]["contents"][0]["text"]
    assert [p["name"] for p in report["steps"][5]["result"]["prompts"]] == [
        "clean_up_container_package",
        "audit_organization",
        "draft_cleanup_policy",
    ]
    assert "audit_packages" in report["steps"][6]["result"]["messages"][0]["content"]["text"]
    assert report["errors"] == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_delete_confirmed_by_token(ts_client: RunScenario, sandbox: SandboxServer, transport: str) -> None:
    version = untagged_version(sandbox)
    arguments = {**WEB, "package_version_id": version}
    report = ts_client(
        transport,
        [
            {"op": "listTools"},  # lets the client check results against output schemas
            call("delete_org_package_version", arguments),
            call(
                "delete_org_package_version", {**arguments, "confirmation_token": taken_from(1, "confirmation_token")}
            ),
        ],
    )
    first, done = result_of(report, 1), result_of(report, 2)
    assert first["status"] == "confirmation_required"
    assert str(version) in first["summary"]
    assert done["status"] == "deleted"
    assert deletes(sandbox) == [version_path(version)]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_delete_confirmed_by_a_form(ts_client: RunScenario, sandbox: SandboxServer, transport: str) -> None:
    version = untagged_version(sandbox)
    report = ts_client(
        transport,
        [
            {"op": "listTools"},
            call("delete_org_package_version", {**WEB, "package_version_id": version}),
        ],
        elicitation={"action": "accept", "content": {"confirm": "web/api"}},
    )
    done = result_of(report, 1)
    assert done["status"] == "deleted", done  # today's stateless HTTP answers "confirmation_required"
    [asked] = report["steps"][1]["elicitations"]
    assert str(version) in asked["message"]
    assert "Type the package name 'web/api' to confirm" in asked["message"]
    assert asked["requestedSchema"]["required"] == ["confirm"]
    assert deletes(sandbox) == [version_path(version)]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("elicitation", "said"),
    [
        ({"action": "accept", "content": {"confirm": 5}}, "the confirmation form came back accepted, but without a"),
        ({"throw": "the form could not be shown"}, "the client could not show the confirmation form (it answered"),
    ],
    ids=["not-text", "error"],
)
def test_a_form_that_fails_in_the_client_deletes_nothing_and_gives_no_token(
    ts_client: RunScenario, sandbox: SandboxServer, transport: str, elicitation: dict[str, Any], said: str
) -> None:
    version = untagged_version(sandbox)
    report = ts_client(
        transport,
        [
            {"op": "listTools"},
            call("delete_org_package_version", {**WEB, "package_version_id": version}),
        ],
        elicitation=elicitation,
    )
    refused = result_of(report, 1)
    assert (refused["status"], refused["deleted"]) == ("not_confirmed", False)
    assert refused["message"].startswith(f"Nothing was deleted: {said}")
    assert "confirmation_token" not in refused
    assert len(report["steps"][1]["elicitations"]) == 1
    assert deletes(sandbox) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_progress_of_a_whole_listing(ts_client: RunScenario, transport: str) -> None:
    report = ts_client(
        transport,
        [
            {"op": "listTools"},
            call("list_org_package_versions", {**WEB, "all_pages": True}, progress=True),
        ],
    )
    listing = result_of(report, 1)
    progress = report["steps"][1]["progress"]
    assert listing["items"]  # all 345 versions, or as many as fit a context window, with next_page
    assert listing["last_page"] == 4
    assert [p["progress"] for p in progress] == [1, 2, 3, 4]
    assert {p["total"] for p in progress} == {4}
    assert progress[-1]["message"] == "read 4 of 4 pages"


def spaced(server_env: dict[str, str], seconds: float) -> None:
    """Space the server's deletes `seconds` apart (its configuration file, before the server starts)."""
    config = Path(server_env["GITHUB_PACKAGES_MCP_CONFIG"])
    config.write_text(
        config.read_text().replace("mutation_interval_seconds = 0\n", f"mutation_interval_seconds = {seconds}\n")
    )


# When the cancel arrives: while a DELETE is in flight (slowed to 0.3 s each, not spaced), or while the run waits for
# the next delete's turn (spaced a second apart, as GitHub asks and the server does by default).
MOMENTS = ["in flight", "waiting for its turn"]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancelling_a_cleanup_stops_its_deletes(
    ts_client: RunScenario, sandbox: SandboxServer, server_env: dict[str, str], transport: str, moment: str
) -> None:
    if moment == "in flight":
        sandbox.state.faults.script("DELETE", "*", [Fault(latency=0.3)] * 5)
    else:
        spaced(server_env, 1.0)
    plan_id = taken_from(1, "plan_id")
    report = ts_client(
        transport,
        [
            {"op": "listTools"},
            call("plan_version_cleanup", {**MULTI, "tagged": "untagged"}),
            call("apply_version_cleanup", {"plan_id": plan_id}),
            # "deleted 1 of 5" arrives after the first DELETE: the step's AbortSignal fires then.
            call(
                "apply_version_cleanup",
                {"plan_id": plan_id, "confirmation_token": taken_from(2, "confirmation_token")},
                abortAfterProgress=1,
            ),
            # Still connected: un-cancelled, the other four DELETEs (0.3 s each, or a second apart) would go meanwhile.
            {"op": "sleep", "ms": 1500},
        ],
    )
    assert result_of(report, 1)["delete"] == 5
    assert result_of(report, 2)["status"] == "confirmation_required"
    cancelled = report["steps"][3]
    assert cancelled["error"]["message"].endswith("the person pressed stop")
    assert len(cancelled["progress"]) == 1
    assert [e["direction"] for e in report["traffic"] if e.get("method") == "notifications/cancelled"] == ["out"]
    if moment == "in flight":  # the DELETE in flight when the cancel arrived may have reached the sandbox
        assert 1 <= len(deletes(sandbox)) <= 2, deletes(sandbox)
    else:  # the first one was done before the cancel: none after it
        assert len(deletes(sandbox)) == 1, deletes(sandbox)
    late = [e for e in report["traffic"] if e["direction"] == "in" and e["at"] > cancelled["abortedAt"] + 100]
    # No progress and no result for the cancelled call. Over HTTP the SDK closes the call's stream with a
    # "request cancelled" error (-32800), which the client ignores.
    assert [e for e in late if e.get("error") != -32800] == [], late


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.anyio
async def test_a_cancel_reaches_the_replica_running_the_call(
    node: str, server_env: dict[str, str], sandbox: SandboxServer, redis: RedisServer, tmp_path: Path, moment: str
) -> None:
    """The TypeScript client aborts a cleanup through a round-robin proxy in front of two stateless replicas
    sharing Redis: its `notifications/cancelled` lands on the other replica than the call's, and still stops it
    (with the replicas' cancellation turned off, all 5 DELETEs go out)."""
    shared = {"GITHUB_PACKAGES_MCP_STATE_URL": redis.url, "GITHUB_PACKAGES_MCP_SHARED_SECRET": "one secret for all",
              "GITHUB_PACKAGES_MCP_HTTP_STATELESS": "true"}  # fmt: skip
    environment = {key: value for key, value in server_env.items() if key.startswith("GITHUB_")}
    if moment == "in flight":
        sandbox.state.faults.script("DELETE", "*", [Fault(latency=0.5)] * 5)
    else:
        spaced(server_env, 1.0)
    plan_id = taken_from(0, "plan_id")
    steps = [
        call("plan_version_cleanup", {**MULTI, "tagged": "untagged"}),
        call("apply_version_cleanup", {"plan_id": plan_id}),
        call(
            "apply_version_cleanup",
            {"plan_id": plan_id, "confirmation_token": taken_from(1, "confirmation_token")},
            abortAfterProgress=1,
        ),
        {"op": "sleep", "ms": 2000},  # un-cancelled, the other DELETEs (0.5 s each, or 1 s apart) would go meanwhile
    ]
    with replica_processes(2, tmp_path, **environment, **shared) as upstreams:
        proxy = RoundRobinProxy(upstreams)
        async with serving(proxy) as url:  # type: ignore[arg-type]
            scenario = {"transport": "http", "url": url, "steps": steps}
            done = await anyio.run_process([node, str(HARNESS)], input=json.dumps(scenario).encode(), check=False)
    report = json.loads(done.stdout)
    cancelled = report["steps"][2]
    assert cancelled["error"]["message"].endswith("the person pressed stop")
    assert [e["direction"] for e in report["traffic"] if e.get("method") == "notifications/cancelled"] == ["out"]
    assert all(proxy.served)
    if moment == "in flight":
        assert 1 <= len(deletes(sandbox)) <= 2, deletes(sandbox)
    else:
        assert len(deletes(sandbox)) == 1, deletes(sandbox)
