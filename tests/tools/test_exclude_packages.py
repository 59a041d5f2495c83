"""exclude_packages through the MCP protocol against the sandbox: a glob's packages but for some (snok's `!name` in
image-names; dataaxiom/ghcr-cleanup-action#97 wrote a regex lookahead for it), whose versions are then not even
read; every package excluded is a clear error; and a policy and an export carry it."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import error_text, ok

pytestmark = pytest.mark.anyio

EVERY_IMAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "*", "tagged": "untagged"}


def read_versions_of(sandbox: SandboxServer) -> set[str]:
    """The packages whose versions the sandbox was asked for."""
    return {
        request.raw_path.split("/packages/container/")[1].split("/versions")[0]
        for request in sandbox.state.requests
        if request.method == "GET" and request.raw_path.endswith("/versions")
    }


async def plan(settings: Settings, **arguments: Any) -> Any:
    async with Client(build_server(settings)) as client:
        return await client.call_tool("plan_version_cleanup", arguments)


async def test_excluded_packages_are_left_out_of_a_glob_and_never_read(
    settings: Settings, sandbox: SandboxServer
) -> None:
    planned = ok(await plan(settings, **EVERY_IMAGE, exclude_packages=["web/*", "base-?mage"]))
    assert [package["package"] for package in planned["packages"]] == ["gateway", "multi/app"]
    assert read_versions_of(sandbox) == {"gateway", "multi%2Fapp"}
    assert sandbox.state.requests  # the listing was read


async def test_without_exclusions_the_same_glob_plans_every_package(settings: Settings) -> None:
    planned = ok(await plan(settings, **EVERY_IMAGE, keep_latest=1_000))
    assert sorted(package["package"] for package in planned["packages"]) == [
        "base-image",
        "gateway",
        "multi/app",
        "web/api",
    ]


async def test_a_glob_whose_every_package_is_excluded_plans_nothing_and_says_why(
    settings: Settings, sandbox: SandboxServer
) -> None:
    result = await plan(settings, **{**EVERY_IMAGE, "package_name": "multi/*"}, exclude_packages=["*/app"])
    assert (
        "Every container package owned by the organization acme-labs that 'multi/*' names matches "
        "exclude_packages: 'multi/app'. No plan was made." in error_text(result)
    )
    assert read_versions_of(sandbox) == set()


async def test_an_excluded_exact_name_is_refused_before_any_request(settings: Settings, sandbox: SandboxServer) -> None:
    result = await plan(settings, **{**EVERY_IMAGE, "package_name": "gateway"}, exclude_packages=["gate*"])
    assert "that 'gateway' names matches exclude_packages: 'gateway'" in error_text(result)
    assert sandbox.state.requests == []


async def test_too_many_exclusions_are_refused_before_any_request(settings: Settings, sandbox: SandboxServer) -> None:
    result = await plan(settings, **EVERY_IMAGE, exclude_packages=["x" * 257])
    assert "exclude_packages.0: at most 256 characters, got 257" in error_text(result)
    result = await plan(settings, **EVERY_IMAGE, exclude_packages=[f"p{n}" for n in range(51)])
    assert "exclude_packages: at most 50 items, got 51" in error_text(result)
    assert sandbox.state.requests == []


async def test_a_plan_with_exclusions_exports_them(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        planned = ok(await client.call_tool("plan_version_cleanup", {**EVERY_IMAGE, "exclude_packages": ["web/*"]}))
        exported = ok(await client.call_tool("export_cleanup_policy", {"plan_ids": [planned["plan_id"]]}))
    assert exported["tables"] == [{**EVERY_IMAGE, "exclude_packages": ["web/*"]}]
    assert 'package_name = "*"\nexclude_packages = ["web/*"]\n' in exported["text"]
