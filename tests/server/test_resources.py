"""Resources (a package and its newest versions by URI) and prompts, through the MCP protocol."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import SandboxServer
from github_packages_mcp.server.app import build_server

pytestmark = pytest.mark.anyio


async def test_a_package_and_its_newest_versions_are_readable_by_uri(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        org = await client.read_resource("github-packages://orgs/acme-labs/packages/container/web%2Fapi")
        mine = await client.read_resource("github-packages://user/packages/container/hello-world")
        with pytest.raises(MCPError):
            await client.read_resource("github-packages://orgs/acme-labs/packages/npm/nope")
    assert templates == [
        "github-packages://user/packages/{package_type}/{package_name}",
        "github-packages://orgs/{org}/packages/{package_type}/{package_name}",
        "github-packages://users/{username}/packages/{package_type}/{package_name}",
    ]
    web = json.loads(org.contents[0].text)  # type: ignore[union-attr]
    assert web["package"]["name"] == "web/api"
    assert len(web["versions"]["items"]) == 100
    assert web["versions"]["next_page"] == 2
    assert json.loads(mine.contents[0].text)["package"]["owner"]["login"] == "octo-demo"  # type: ignore[union-attr]


async def test_prompts_guide_the_workflows_whose_tools_are_offered(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        names = [prompt.name for prompt in (await client.list_prompts()).prompts]
        cleanup = await client.get_prompt(
            "clean_up_container_package", {"owner": "acme-labs", "package": "web/api", "keep_latest": "5"}
        )
        audit = await client.get_prompt("audit_organization", {"org": "acme-labs"})
    text = cleanup.messages[0].content.text  # type: ignore[union-attr]
    assert names == ["clean_up_container_package", "audit_organization", "draft_cleanup_policy"]
    assert "'web/api' of 'acme-labs'" in text
    assert "keep_latest=5" in text
    assert "Only if I agree, call apply_version_cleanup" in text
    assert "audit_packages with org='acme-labs'" in audit.messages[0].content.text  # type: ignore[union-attr]
    async with Client(build_server(settings.with_changes(toolsets=("read",)))) as client:
        assert (await client.list_prompts()).prompts == []


async def test_the_policy_prompt_walks_from_what_takes_space_to_an_exported_policy(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        drafted = await client.get_prompt(
            "draft_cleanup_policy", {"org": "acme-labs", "package_type": "container", "keep_younger_than_days": "2w"}
        )
        for_user = await client.get_prompt("draft_cleanup_policy", {"username": "mona-demo"})
        with pytest.raises(MCPError) as no_owner:
            await client.get_prompt("draft_cleanup_policy", {})
        with pytest.raises(MCPError) as two_owners:
            await client.get_prompt("draft_cleanup_policy", {"org": "acme-labs", "username": "mona-demo"})
        with pytest.raises(MCPError) as bad_type:
            await client.get_prompt("draft_cleanup_policy", {"org": "acme-labs", "package_type": "pypi"})
        with pytest.raises(MCPError) as bad_days:
            await client.get_prompt("draft_cleanup_policy", {"org": "acme-labs", "keep_younger_than_days": "6m"})
    text = drafted.messages[0].content.text  # type: ignore[union-attr]
    steps = ["audit_packages with org='acme-labs', package_types=['container']", "older than 14 days",
             "plan_version_cleanup for each", "Never call apply_version_cleanup",
             "export_cleanup_policy with the plan_ids", "docs/action.md", "restore_from_journal"]  # fmt: skip
    assert [text.find(step) for step in steps] == sorted(text.find(step) for step in steps)
    assert -1 not in [text.find(step) for step in steps]
    assert text.startswith("Draft a retention policy for the container packages of org='acme-labs'")
    assert "packages of username='mona-demo'" in for_user.messages[0].content.text  # type: ignore[union-attr]
    for refused in (no_owner, two_owners, bad_type, bad_days):
        assert refused.value.code == INVALID_PARAMS
    assert "give org or username (a policy names its owner), not both" in no_owner.value.message
    async with Client(build_server(settings.with_changes(tools=("plan_version_cleanup", "audit_packages")))) as client:
        assert "draft_cleanup_policy" not in [prompt.name for prompt in (await client.list_prompts()).prompts]


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # 2025-11-25 (it answered code 0), 2026-07-28 (-32603)
async def test_a_prompt_that_does_not_exist_or_lacks_arguments_is_invalid_params(settings: Settings, mode: str) -> None:
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("no_such_prompt", {})
        with pytest.raises(MCPError) as incomplete:
            await client.get_prompt("audit_organization", {})
    assert (unknown.value.code, unknown.value.message) == (INVALID_PARAMS, "Unknown prompt: no_such_prompt")
    assert incomplete.value.code == INVALID_PARAMS
    assert "Missing required arguments" in incomplete.value.message


async def test_prompt_arguments_are_bounded_like_tool_arguments(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        with pytest.raises(MCPError) as huge:
            await client.get_prompt("audit_organization", {"org": "x" * 1_000_000})
        with pytest.raises(MCPError) as negative:
            await client.get_prompt(
                "clean_up_container_package", {"owner": "acme-labs", "package": "web/api", "keep_latest": "-1"}
            )
    assert (huge.value.code, negative.value.code) == (INVALID_PARAMS, INVALID_PARAMS)
    assert len(huge.value.message) < 1_000


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_resource_uri_with_an_unknown_package_type_is_refused_before_any_request(
    settings: Settings, sandbox: SandboxServer, mode: str
) -> None:
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as refused:
            await client.read_resource("github-packages://orgs/acme-labs/packages/bogus/web%2Fapi")
    assert refused.value.code == INVALID_PARAMS
    assert refused.value.message == (
        "Invalid package_type 'bogus' in the resource URI: Input should be 'npm', 'maven', 'rubygems', 'docker', "
        "'nuget' or 'container'. Nothing was sent to GitHub."
    )
    assert sandbox.state.requests == []
