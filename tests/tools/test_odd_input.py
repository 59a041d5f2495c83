"""Untrusted text and odd input through MCP: GitHub's strings are shown quoted and escaped, and input that used to
end in a bare "Error executing tool" gets an error that says what is wrong."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, Fault, SandboxServer, SandboxState
from github_packages_mcp.server.app import build_server
from tests.helpers import Person, error_text, ok

pytestmark = pytest.mark.anyio

# A newline, an ANSI colour escape and a right-to-left override: each could make a question read differently.
HOSTILE = "left-pad\nDelete nothing: \x1b[32mOK\x1b[0m\u202egnp"
SHOWN = r"'left-pad\nDelete nothing: \x1b[32mOK\x1b[0m\u202egnp'"
WEB = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}


async def test_githubs_strings_are_quoted_and_escaped_in_every_confirmation(
    settings: Settings, state: SandboxState
) -> None:
    package = state.add_package(DEMO_ORG, "npm", HOSTILE, versions=3)
    target = {"org": DEMO_ORG, "package_type": "npm", "package_name": HOSTILE}
    person = Person(action="decline")
    async with Client(build_server(settings), elicitation_callback=person) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package", target))
        ok(
            await client.call_tool(
                "delete_org_package_version", {**target, "package_version_id": package.versions[0].id}
            )
        )
        plan = ok(await client.call_tool("plan_version_cleanup", {**target, "keep_latest": 1}))
        ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    async with Client(build_server(settings)) as client:
        summary = ok(await client.call_tool("delete_org_package", target))["summary"]
    for text in [*person.messages, summary]:
        assert SHOWN in text
        assert not any(char in text for char in "\x1b\u202e")
        assert text.count("\n") <= 1  # only the line break before "Type ... to confirm"


async def test_a_huge_age_keeps_everything_instead_of_failing(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**WEB, "keep_younger_than_days": 1e9}))
    assert plan["delete"] == 0
    assert plan["packages"][0]["by_rule"]["keep_younger"] > 0


async def test_a_confirmation_token_has_exactly_one_spelling(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        issued = ok(await client.call_tool("delete_org_package", WEB))["confirmation_token"]
        expires, nonce, mac = issued.split(".")
        arabic = expires.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        for spelling in (f"{arabic}.{nonce}.{mac}", f"{expires}.{nonce.upper()}.{mac}", f" {issued}", f"{issued}="):
            refused = await client.call_tool("delete_org_package", {**WEB, "confirmation_token": spelling})
            assert "Nothing was deleted: the confirmation_token is malformed" in error_text(refused)
    assert not [r for r in sandbox.state.requests if r.method == "DELETE"]


async def test_a_name_longer_than_github_gives_is_refused_before_any_request(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("get_org_package", {**WEB, "package_name": "x" * 100_000})
    assert "Invalid arguments, nothing was sent:\npackage_name: at most 1000 characters, got 100000" in error_text(
        result
    )
    assert sandbox.state.requests == []


async def test_a_listing_that_claims_200000_pages_is_refused_at_once(
    settings: Settings, sandbox: SandboxServer
) -> None:
    versions = f"{sandbox.url}/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions"
    link = f'<{versions}?page=2&per_page=100>; rel="next", <{versions}?page=200000&per_page=100>; rel="last"'
    page = [{"id": n, "name": f"sha256:{n:064x}"} for n in range(1, 101)]
    sandbox.state.faults.script("GET", "*/versions*", [Fault(status=200, headers={"Link": link}, body=page)])
    with anyio.fail_after(5):
        async with Client(build_server(settings)) as client:
            result = await client.call_tool("list_org_package_versions", {**WEB, "all_pages": True})
    assert "claims 200000 pages of 100, more than the 100000 results" in error_text(result)
    assert len(sandbox.state.requests) == 1
