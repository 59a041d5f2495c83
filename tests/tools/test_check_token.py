"""check_token and hiding the tools a token cannot use, through the MCP protocol against the sandbox."""

from __future__ import annotations

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import (
    DEMO_ACTIONS_TOKEN,
    DEMO_FINE_GRAINED_TOKEN,
    DEMO_LOGIN,
    DEMO_READ_TOKEN,
    DEMO_TOKEN,
    SandboxServer,
)
from github_packages_mcp.server.app import build_server, tool_entries
from tests.helpers import changes_nothing, ok

pytestmark = pytest.mark.anyio
CHANGING = {entry.name for entry in tool_entries() if not changes_nothing(entry)}


async def check(settings: Settings, token: str) -> dict[str, object]:
    async with Client(build_server(settings.with_changes(token=token))) as client:
        result = await client.call_tool("check_token", {})
    assert token not in result.model_dump_json()
    return ok(result)


async def test_a_classic_token_with_every_scope_can_use_every_tool(settings: Settings, sandbox: SandboxServer) -> None:
    report = await check(settings, DEMO_TOKEN)
    assert report["login"] == DEMO_LOGIN
    assert report["token_type"] == "classic personal access token"
    assert report["scopes"] == ["delete:packages", "read:packages", "write:packages"]
    assert sorted(report["usable"]) == sorted(entry.name for entry in tool_entries())  # type: ignore[arg-type]
    assert report["rate_limit"]["limit"] == 5000  # type: ignore[index]
    assert [r.raw_path for r in sandbox.state.requests] == ["/user", "/rate_limit"]


async def test_a_read_only_token_is_told_what_each_other_tool_misses(settings: Settings) -> None:
    report = await check(settings, DEMO_READ_TOKEN)
    unusable = {entry["tool"]: entry["missing"] for entry in report["unusable"]}  # type: ignore[attr-defined]
    assert set(unusable) == CHANGING
    assert unusable["delete_org_package"] == ["delete:packages"]
    assert unusable["restore_from_journal"] == ["write:packages"]
    assert "list_org_packages" in report["usable"]  # type: ignore[operator]


async def test_fine_grained_and_actions_tokens_are_recognised(settings: Settings) -> None:
    fine = await check(settings, DEMO_FINE_GRAINED_TOKEN)
    actions = await check(settings, DEMO_ACTIONS_TOKEN)
    assert fine["token_type"] == "fine-grained personal access token"
    assert fine["usable"] == []
    assert "does not accept fine-grained tokens" in " ".join(fine["notes"])  # type: ignore[arg-type]
    assert actions["token_type"] == "GitHub Actions or GitHub App installation token"
    assert "scopes" not in actions  # GitHub sends an Actions token no scope header
    assert "Resource not accessible by integration" in " ".join(actions["notes"])  # type: ignore[arg-type]


async def test_tools_the_token_cannot_use_are_not_listed(settings: Settings, sandbox: SandboxServer) -> None:
    hiding = settings.with_changes(hide_unusable_tools=True)
    async with Client(build_server(hiding.with_changes(token=DEMO_READ_TOKEN))) as client:
        reader = {tool.name for tool in (await client.list_tools()).tools}
    async with Client(build_server(hiding)) as client:
        admin = {tool.name for tool in (await client.list_tools()).tools}
    assert reader == {entry.name for entry in tool_entries()} - CHANGING
    assert admin == {entry.name for entry in tool_entries()}
    sandbox.state.set_registry_available(True)
    unreachable = hiding.with_changes(token=DEMO_READ_TOKEN, api_url="http://127.0.0.1:9", max_retries=0)
    async with Client(build_server(unreachable)) as client:
        assert len((await client.list_tools()).tools) == len(tool_entries())  # scopes unknown: every tool stays
