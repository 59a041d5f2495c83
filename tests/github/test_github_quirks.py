"""What GitHub has been seen doing beyond its documentation, met through the MCP protocol against the sandbox.

Listings without a `Link` header (octokit/core.js#695, octokit/octokit.js#2400, AnswerDotAI/ghapi#156): a full
page is never taken for the end. An Actions `GITHUB_TOKEN` refused a list of an organization's packages with
400 "Invalid argument" (cli/cli#9606): the error says what works instead. A 3xx answer is never a success.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ACTIONS_TOKEN, DEMO_ORG, DEMO_TOKEN, Fault, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import error_text, ok

pytestmark = pytest.mark.anyio

NPM = {"org": DEMO_ORG, "package_type": "npm"}
WEB_API = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
# What GitHub answers an Actions or App installation token asking for an organization's packages.
INVALID_ARGUMENT = Fault(
    400,
    body={
        "message": "Invalid argument.",
        "documentation_url": "https://docs.github.com/rest/packages/packages#list-packages-for-an-organization",
        "status": "400",
    },
)


async def many_packages(settings: Settings, sandbox: SandboxServer) -> list[str]:
    """Enough npm packages for three pages of 100, two of them sorted onto the last page; every npm package of
    the organization, as a listing with Link headers reads them."""
    added = [f"bulk-{n:03}" for n in range(205)] + ["zz-late-a", "zz-late-b"]
    for name in added:
        sandbox.state.add_package(DEMO_ORG, "npm", name, versions=2 if name.startswith("zz") else 1)
    async with Client(build_server(settings)) as client:
        linked = await every_name(client)
    assert set(added) <= set(linked)
    return linked


async def every_name(client: Client) -> list[str]:
    """Every npm package name of the organization: an all_pages listing, then the pages it was cut before (a
    listing longer than a context window ends with `next_page`)."""
    listing = ok(await client.call_tool("list_org_packages", {**NPM, "all_pages": True}))
    found, next_page = names(listing["items"]), listing.get("next_page")
    while next_page:
        page = ok(await client.call_tool("list_org_packages", {**NPM, "page": next_page, "per_page": 100}))
        found, next_page = found + names(page["items"]), page.get("next_page")
    return found


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


async def test_a_listing_without_link_headers_is_read_to_its_last_short_page(
    settings: Settings, sandbox: SandboxServer
) -> None:
    linked = await many_packages(settings, sandbox)
    sandbox.state.set_switches(list_packages_without_link=True)
    async with Client(build_server(settings)) as client:
        everything = ok(await client.call_tool("list_org_packages", {**NPM, "all_pages": True}))
        assert await every_name(client) == linked
    assert names(everything["items"]) == linked[: len(everything["items"])]
    assert 200 < len(linked) < 300
    assert everything["last_page"] == 3
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as http:
        page = await http.get(f"{sandbox.url}/orgs/{DEMO_ORG}/packages", params={"package_type": "npm"})
    assert "link" not in page.headers  # the client really had no Link header to follow


async def test_a_full_page_without_link_is_never_reported_as_the_last(
    settings: Settings, sandbox: SandboxServer
) -> None:
    await many_packages(settings, sandbox)
    sandbox.state.set_switches(list_packages_without_link=True)
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("list_org_packages", {**NPM, "per_page": 100}))
        last = ok(await client.call_tool("list_org_packages", {**NPM, "per_page": 100, "page": 3}))
    assert (first["next_page"], len(first["items"])) == (2, 100)
    assert "last_page" not in first  # unknown without Link: absent rather than guessed
    assert 0 < len(last["items"]) < 100
    assert "next_page" not in last


async def test_audits_and_glob_cleanups_see_every_package_without_link(
    settings: Settings, sandbox: SandboxServer
) -> None:
    expected = set(await many_packages(settings, sandbox))
    sandbox.state.set_switches(list_packages_without_link=True)
    async with Client(build_server(settings)) as client:
        audit = ok(
            await client.call_tool(
                "audit_packages", {"org": DEMO_ORG, "package_types": ["npm"], "include_versions": False}
            )
        )
        plan = ok(await client.call_tool("plan_version_cleanup", {**NPM, "package_name": "zz-late-*"}))
    assert audit["totals"]["packages"] == len(expected)
    assert {package["name"] for package in audit["packages"]} == expected
    assert sorted(package["package"] for package in plan["packages"]) == ["zz-late-a", "zz-late-b"]
    # No rule keeps anything, but GitHub refuses to delete a package's last version: one of each two is kept.
    assert plan["delete"] == 2
    assert not [r for r in sandbox.state.requests if r.method == "DELETE"]


async def test_an_actions_token_refused_a_listing_is_told_what_works_instead(
    settings: Settings, sandbox: SandboxServer
) -> None:
    # The sandbox answers it so by default (docs/github-behaviour.md#actions-tokens).
    actions = settings.with_changes(token=DEMO_ACTIONS_TOKEN)
    async with Client(build_server(actions)) as client:
        listed = await client.call_tool("list_org_packages", {**NPM, "all_pages": True})
        audited = await client.call_tool("audit_packages", {"org": DEMO_ORG, "package_types": ["npm"]})
        planned = await client.call_tool("plan_version_cleanup", {**WEB_API, "package_name": "web/*"})
        named = ok(await client.call_tool("get_org_package", WEB_API))
    for result in (listed, audited, planned):
        text = error_text(result)
        assert f"GitHub answered 400 to GET /orgs/{DEMO_ORG}/packages: Invalid argument." in text
        assert "does not let an Actions GITHUB_TOKEN or a GitHub App installation token list" in text
        assert "get_org_package" in text and "exact package name" in text
        assert "classic personal access token with read:packages" in text
    assert named["name"] == "web/api"


async def test_a_400_to_a_classic_token_is_relayed_without_the_actions_advice(
    settings: Settings, sandbox: SandboxServer
) -> None:
    sandbox.state.faults.script("GET", f"/orgs/{DEMO_ORG}/packages", [INVALID_ARGUMENT])
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("list_org_packages", NPM)
    assert "GitHub answered 400" in error_text(result)
    assert "Actions" not in error_text(result)


async def test_check_token_says_an_actions_token_cannot_list_an_organizations_packages(settings: Settings) -> None:
    async with Client(build_server(settings.with_changes(token=DEMO_ACTIONS_TOKEN))) as client:
        report = ok(await client.call_tool("check_token", {}))
    unusable = {entry["tool"]: entry["missing"] for entry in report["unusable"]}
    assert unusable == {"list_org_packages": ["a classic token"]}
    assert "list_org_packages" not in report["usable"]
    assert {"audit_packages", "plan_version_cleanup", "get_org_package"} <= set(report["usable"])
    note = " ".join(report["notes"])
    assert "does not let this kind of token list an organization's packages" in note
    assert "audit_packages cannot audit an organization" in note
    assert "plan_version_cleanup needs an exact package name" in note


async def test_a_redirected_delete_is_never_reported_done(settings: Settings, sandbox: SandboxServer) -> None:
    version = sandbox.state.add_package(DEMO_ORG, "npm", "redirected", versions=2).versions[0]
    arguments = {**NPM, "package_name": "redirected", "package_version_id": version.id}
    sandbox.state.faults.script(
        "DELETE", "/orgs/*", [Fault(status=307, headers={"Location": "https://example.com/x?token=leaked-secret"})]
    )
    async with Client(build_server(settings.with_changes(confirmation="token"))) as client:
        first = ok(await client.call_tool("delete_org_package_version", arguments))
        token = first["confirmation_token"]
        result = await client.call_tool("delete_org_package_version", {**arguments, "confirmation_token": token})
        still_there = ok(await client.call_tool("get_org_package_version", arguments))
    text = error_text(result)
    assert "GitHub answered 307 to DELETE" in text
    assert "redirected to example.com" in text
    assert "Nothing was done" in text and "check with get_org_package_version" in text.lower()
    assert "leaked-secret" not in text and "example.com/x" not in text
    assert "Deleted" not in text
    assert still_there["id"] == version.id


async def test_a_redirected_read_is_an_error_not_an_empty_success(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", "/orgs/*/packages/*", [Fault(status=301, headers={"Location": "/elsewhere"})])
    sandbox.state.faults.script(
        "GET", "/orgs/*/packages", [Fault(status=302, headers={"Location": "https://ghe.example/"})]
    )
    async with Client(build_server(settings)) as client:
        read = await client.call_tool("get_org_package", WEB_API)
        listed = await client.call_tool("list_org_packages", {**NPM, "all_pages": True})
    assert "GitHub answered 301 to GET" in error_text(read)
    assert "redirected without naming a host" in error_text(read)
    assert "elsewhere" not in error_text(read)
    assert "Nothing was read" in error_text(read) and "check api_url" in error_text(read)
    assert "GitHub answered 302 to GET" in error_text(listed) and "redirected to ghe.example" in error_text(listed)
