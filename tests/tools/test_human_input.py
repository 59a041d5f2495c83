"""Arguments as people give them, through the MCP protocol against the sandbox: day counts as durations (`2w 3d`),
and a package name glob that matches nothing, which makes no plan."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import error_text, ok

pytestmark = pytest.mark.anyio

WEB = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "tagged": "untagged"}
NOW = time.time()  # one moment for both plans compared: the cut-off is measured from the server's clock


def without_plan_id(plan: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in plan.items() if key not in ("plan_id", "message")}


@pytest.mark.parametrize(("duration", "days"), [("2w 3d", 17), ("36h", 1.5), ("1y", 365), ("90", 90)])
async def test_a_plan_for_a_duration_is_the_plan_for_its_days(settings: Settings, duration: str, days: float) -> None:
    async with Client(build_server(settings, clock=lambda: NOW)) as client:
        spelt = ok(await client.call_tool("plan_version_cleanup", {**WEB, "keep_younger_than_days": duration}))
        counted = ok(await client.call_tool("plan_version_cleanup", {**WEB, "keep_younger_than_days": days}))
    assert without_plan_id(spelt) == without_plan_id(counted)
    assert spelt["plan_id"] != counted["plan_id"]


async def test_a_duration_decides_as_its_days(settings: Settings) -> None:
    async with Client(build_server(settings, clock=lambda: NOW)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**WEB, "keep_younger_than_days": "2w 3d"}))
    [package] = plan["packages"]
    assert package["by_rule"]["keep_younger"] > 0 and package["delete"] > 0
    assert all(d["rule"].startswith("delete: untagged, older than 17 days") for d in package["decisions"])


async def test_a_duration_it_cannot_read_is_refused_before_any_request(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        refused = await client.call_tool("plan_version_cleanup", {**WEB, "keep_younger_than_days": "3 fortnights"})
        months = await client.call_tool("plan_version_cleanup", {**WEB, "keep_younger_than_days": "6m"})
        part_of_a_day = await client.call_tool("audit_packages", {"org": DEMO_ORG, "stale_after_days": "36h"})
        too_long = await client.call_tool("audit_packages", {"org": DEMO_ORG, "stale_after_days": "1d " * 1000})
    assert (
        "Invalid arguments, nothing was sent:\nkeep_younger_than_days: expected days as a number or a duration "
        "such as 30d, 2w 3d, 36h, 1y, got '3 fortnights'"
    ) in error_text(refused)
    assert "m could be minutes or months" in error_text(months)
    assert "stale_after_days: expected whole days, not 1.5, such as 90, 90d, 12w, 1y, got '36h'" in error_text(
        part_of_a_day
    )
    assert "stale_after_days: expected days as a number or a duration" in error_text(too_long)
    assert sandbox.state.requests == []


async def test_the_audit_counts_stale_after_a_duration_as_its_days(settings: Settings) -> None:
    arguments = {"org": DEMO_ORG, "include_versions": False}
    async with Client(build_server(settings, clock=lambda: NOW)) as client:
        spelt = ok(await client.call_tool("audit_packages", {**arguments, "stale_after_days": "1w"}))
        counted = ok(await client.call_tool("audit_packages", {**arguments, "stale_after_days": 7}))
    assert spelt == counted
    assert spelt["stale_after_days"] == 7
    assert 0 < sum(package["stale"] for package in spelt["packages"]) < len(spelt["packages"])


async def test_the_cleanup_prompt_takes_a_duration_and_asks_for_its_days(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        prompt = await client.get_prompt(
            "clean_up_container_package", {"owner": DEMO_ORG, "package": "web/api", "older_than_days": "2w"}
        )
    assert "keep_younger_than_days=14." in prompt.model_dump_json()


async def test_a_glob_that_matches_nothing_makes_no_plan_and_says_what_exists(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        nothing = await client.call_tool("plan_version_cleanup", {**WEB, "package_name": "nomatch*"})
        close = await client.call_tool("plan_version_cleanup", {**WEB, "package_name": "web/apl*"})
        as_regex = await client.call_tool(
            "plan_version_cleanup", {**WEB, "package_name": "web/.*", "pattern_syntax": "regex"}
        )
        checked = await client.call_tool("check_image_integrity", {"org": DEMO_ORG, "package_name": "nomatch*"})
        unknown = await client.call_tool("plan_version_cleanup", {**WEB, "package_name": "nope"})
    assert (
        "No container package owned by the organization acme-labs matches the glob 'nomatch*'. Its container "
        "packages: 'base-image', 'gateway', 'multi/app', 'web/api' (list_org_packages lists them). No plan was made."
    ) in error_text(nothing)
    assert "matches the glob 'web/apl*'. Did you mean 'web/api'? No plan was made." in error_text(close)
    assert "No plan was made (package_name is a glob whatever pattern_syntax says)." in error_text(as_regex)
    assert "matches the glob 'nomatch*'. Its container packages: 'base-image'" in error_text(checked)
    assert "No plan" not in error_text(checked)
    # An unknown exact name is an error too: a glob that names nothing is answered the same way.
    assert "GitHub answered 404" in error_text(unknown)
    assert not (settings.journal_dir / "plans").exists() or not any((settings.journal_dir / "plans").iterdir())
    assert {request.method for request in sandbox.state.requests} == {"GET"}


async def test_an_owner_without_packages_of_the_type_is_said_so(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.add_package("mona", "npm", "only-npm", versions=1)
    async with Client(build_server(settings)) as client:
        none_of_them = await client.call_tool(
            "plan_version_cleanup", {"username": "mona", "package_type": "container", "package_name": "*"}
        )
    assert (
        "No container package owned by the user mona matches the glob '*'. It has no container packages this "
        "token can see. No plan was made."
    ) in error_text(none_of_them)
