"""Bad input gets a clear error naming the argument and what is allowed, and sends nothing to GitHub."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import error_text

pytestmark = pytest.mark.anyio

VERSION = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "package_version_id": 3_000_000_001}
LIST = {"org": DEMO_ORG, "package_type": "container"}


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("list_org_packages", {**LIST, "package_type": "pypi"}, ["package_type", "'npm'", "'container'"]),
        ("list_org_packages", {**LIST, "visibility": "secret"}, ["visibility", "'public'", "'internal'"]),
        ("list_org_package_versions", {**VERSION, "state": "gone"}, ["state", "'active'", "'deleted'"]),
        ("list_org_packages", {**LIST, "per_page": 1000}, ["per_page: at most 100, got 1000"]),
        ("list_org_packages", {**LIST, "per_page": 0}, ["per_page: at least 1, got 0"]),
        ("list_org_packages", {**LIST, "page": 0}, ["page: at least 1, got 0"]),
        ("list_org_packages", {**LIST, "page": 101, "per_page": 100}, ["page x per_page", "10000"]),
        (
            "get_org_package_version",
            {**VERSION, "package_version_id": "3000000001"},
            ["package_version_id: a whole number (integer), got '3000000001'"],
        ),
        ("get_org_package_version", {**VERSION, "package_version_id": 2**53}, ["package_version_id"]),
        ("get_org_package_version", {**VERSION, "package_version_id": 1.5}, ["package_version_id", "integer"]),
        ("get_org_package", {"package_type": "npm", "package_name": "x"}, ["org: required"]),
        ("get_org_package", {"org": "", "package_type": "npm", "package_name": "x"}, ["org", "at least 1 character"]),
        ("delete_org_package", {"org": DEMO_ORG, "package_type": "npm"}, ["package_name: required"]),
        ("restore_my_package", {"package_type": "npm", "package_name": "x", "token": 5}, ["token", "string"]),
        ("list_org_packages", {**LIST, "per_pag": 10}, ["per_pag: not an argument of this tool"]),
        ("delete_org_package", {**LIST, "package_name": "x", "confirmation_tokn": "t"}, ["confirmation_tokn"]),
    ],
)
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_invalid_arguments_are_refused_before_any_request(
    settings: Settings, sandbox: SandboxServer, mode: str, tool: str, arguments: dict[str, Any], says: list[str]
) -> None:
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool(tool, arguments)
    text = error_text(result)
    for fragment in says:
        assert fragment in text
    assert "pydantic" not in text and "type=" not in text  # one line per argument, in plain words
    assert sandbox.state.requests == []


async def test_a_large_64_bit_id_goes_through_exactly(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        await client.call_tool("get_org_package_version", {**VERSION, "package_version_id": 2**53 - 1})
    request = sandbox.state.requests[0]  # then the 404's lookups of what exists
    assert request.raw_path.endswith(f"/versions/{2**53 - 1}")


@pytest.mark.parametrize(
    ("owner", "segment"),
    [("a/../b", "a%2F..%2Fb"), ("..", "%2E%2E"), ("a?b#c", "a%3Fb%23c"), ("ü", "%C3%BC")],
)
async def test_an_owner_can_never_escape_its_path_segment(
    settings: Settings, sandbox: SandboxServer, owner: str, segment: str
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("get_org_package", {"org": owner, "package_type": "npm", "package_name": "x"})
    assert result.is_error
    request, *lookups = sandbox.state.requests  # after a 404, whether the owner exists: the same segment, alone
    assert request.raw_path == f"/orgs/{segment}/packages/npm/x"
    assert request.query == ""
    assert [lookup.raw_path for lookup in lookups] == [f"/orgs/{segment}"]
