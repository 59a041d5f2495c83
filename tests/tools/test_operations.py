"""Every one of the 27 tools, called through a real MCP client session against the sandbox over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from github_packages_mcp.config import Settings
from github_packages_mcp.github.catalogue import OPERATIONS
from github_packages_mcp.sandbox import DEMO_LOGIN, DEMO_ORG, DEMO_OTHER_USER, SandboxServer
from github_packages_mcp.sandbox.faults import Fault
from github_packages_mcp.server.app import build_server
from tests.helpers import Person, error_text, ok

pytestmark = pytest.mark.anyio

# owner kind -> (owner arguments, a container package it owns, its Docker-migration conflict)
OWNERS: dict[str, tuple[dict[str, str], str, str]] = {
    "my": ({}, "hello-world", "legacy-image"),
    "org": ({"org": DEMO_ORG}, "web/api", "old-registry-image"),
    "user": ({"username": DEMO_LOGIN}, "hello-world", "legacy-image"),
}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("owner", list(OWNERS))
async def test_all_nine_tools_of_an_owner_work_end_to_end(
    settings: Settings, sandbox: SandboxServer, mode: str, owner: str
) -> None:
    owner_args, name, conflict = OWNERS[owner]
    package = {**owner_args, "package_type": "container", "package_name": name}
    person = Person(typed=name)
    called: set[str] = set()

    async with Client(build_server(settings), mode=mode, elicitation_callback=person) as client:  # type: ignore[arg-type]

        async def call(tool: str, arguments: dict[str, Any]) -> CallToolResult:
            called.add(tool)
            return await client.call_tool(f"{tool.format(o=owner)}", arguments)

        listing = ok(await call("list_{o}_packages", {**owner_args, "package_type": "container"}))
        assert name in [item["name"] for item in listing["items"]]

        got = ok(await call("get_{o}_package", package))
        assert (got["name"], got["package_type"]) == (name, "container")
        assert got["owner"]["login"] == owner_args.get("org", DEMO_LOGIN)

        versions = ok(await call("list_{o}_package_versions", {**package, "per_page": 100}))
        untagged = next(v for v in versions["items"] if v["tags"] == [])
        version = {**package, "package_version_id": untagged["id"]}
        assert ok(await call("get_{o}_package_version", version))["name"] == untagged["name"]

        assert ok(await call("delete_{o}_package_version", version))["deleted"] is True
        assert f"version {untagged['id']}" in person.messages[-1]
        assert "not found" in error_text(await call("get_{o}_package_version", version)).lower()
        assert ok(await call("restore_{o}_package_version", version))["restored"] is True
        assert ok(await call("get_{o}_package_version", version))["id"] == untagged["id"]

        conflicts = ok(await call("list_{o}_docker_conflicts", owner_args))
        assert conflict in [item["name"] for item in conflicts["items"]]

        assert ok(await call("delete_{o}_package", package))["deleted"] is True
        assert "with all" in person.messages[-1]
        remaining = ok(await call("list_{o}_packages", {**owner_args, "package_type": "container"}))
        assert name not in [item["name"] for item in remaining["items"]]
        assert ok(await call("restore_{o}_package", package))["restored"] is True
        assert ok(await call("get_{o}_package", package))["version_count"] == got["version_count"]

    assert {tool.format(o=owner) for tool in called} == {op.name for op in OPERATIONS if op.owner == owner}
    deletes = [r.raw_path for r in sandbox.state.requests if r.method == "DELETE"]
    encoded = name.replace("/", "%2F")
    assert len(deletes) == 2
    assert all(f"/packages/container/{encoded}" in path for path in deletes)


async def test_version_listing_pages_through_hundreds_of_versions_with_64_bit_ids(settings: Settings) -> None:
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "per_page": 100}
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("list_org_package_versions", arguments))
        assert (first["page"], first["per_page"], first["next_page"]) == (1, 100, 2)
        last_page = first["last_page"]
        assert last_page is not None and last_page >= 3
        last = ok(await client.call_tool("list_org_package_versions", {**arguments, "page": last_page}))
        deleted = ok(await client.call_tool("list_org_package_versions", {**arguments, "state": "deleted"}))
    assert "next_page" not in last  # absent rather than null: results carry no nulls
    assert 0 < len(last["items"]) <= 100
    assert all(item["id"] > 2**31 for item in first["items"] + last["items"])
    assert deleted["items"] and all(item["deleted_at"] for item in deleted["items"])


async def test_visibility_filter_and_another_users_private_packages(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        public = ok(
            await client.call_tool(
                "list_org_packages", {"org": DEMO_ORG, "package_type": "container", "visibility": "public"}
            )
        )
        theirs = ok(await client.call_tool("list_user_packages", {"username": DEMO_OTHER_USER, "package_type": "npm"}))
        hidden = await client.call_tool(
            "get_user_package", {"username": DEMO_OTHER_USER, "package_type": "npm", "package_name": "mona-private"}
        )
    assert [item["visibility"] for item in public["items"]] == ["public"] * len(public["items"]) != []
    assert theirs["items"] == []
    assert "404" in error_text(hidden)


async def test_results_are_trimmed_summaries_not_githubs_full_objects(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        package = ok(
            await client.call_tool("get_my_package", {"package_type": "container", "package_name": "hello-world"})
        )
    assert set(package["owner"]) == {"login", "type"}
    assert set(package["repository"]) == {"full_name", "html_url", "private"}


async def test_a_listing_too_long_for_a_context_window_is_cut_at_a_page_boundary(settings: Settings) -> None:
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "all_pages": True}
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("list_org_package_versions", arguments)
        listing = ok(result)
        following = {**arguments, "all_pages": False, "page": listing["next_page"], "per_page": 100}
        rest = ok(await client.call_tool("list_org_package_versions", following))
    text = result.content[0].text  # type: ignore[union-attr]
    assert len(text) <= 60_000
    assert len(listing["items"]) % 100 == 0 and listing["next_page"] == len(listing["items"]) // 100 + 1
    assert listing["last_page"] == 4  # web/api has 345 versions
    assert f"page={listing['next_page']} and per_page=100" in listing["message"]
    assert rest["items"][0]["id"] not in {item["id"] for item in listing["items"]}


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("get_org_package", {"package_type": "npm", "package_name": "design-sytem"}, "Did you mean 'design-system'?"),
        ("get_org_package", {"package_type": "npm", "package_name": "web/api"},
         "It exists as a container package: use package_type=container."),
        ("get_org_package_version", {"package_type": "container", "package_name": "web/api", "package_version_id": 5},
         "The container package 'web/api' exists, but has no version 5 this token can see"),
    ],
)  # fmt: skip
async def test_a_404_says_what_does_exist(settings: Settings, tool: str, arguments: dict[str, Any], says: str) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(tool, {"org": DEMO_ORG, **arguments})
    assert "404" in error_text(result)
    assert says in error_text(result)


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("list_org_packages", {"org": "no-such-org", "package_type": "npm"},
         "There is no organization named 'no-such-org' on GitHub (or the token cannot see it)."),
        ("get_user_package", {"username": "nobody-here", "package_type": "npm", "package_name": "x"},
         "There is no user named 'nobody-here' on GitHub (or the token cannot see it)."),
        ("get_org_package", {"org": DEMO_ORG, "package_type": "container", "package_name": "nope"},
         f"The organization {DEMO_ORG} has no container package named 'nope' (or the token cannot see it)."),
        ("plan_version_cleanup", {"org": "no-such-org", "package_type": "npm", "package_name": "x"},
         "There is no organization named 'no-such-org' on GitHub"),
        ("delete_org_package", {"org": "no-such-org", "package_type": "npm", "package_name": "x"},
         "There is no organization named 'no-such-org' on GitHub"),
    ],
)  # fmt: skip
async def test_a_404_tells_an_unknown_owner_from_an_unknown_package_with_one_read_of_the_owner(
    settings: Settings, sandbox: SandboxServer, tool: str, arguments: dict[str, Any], says: str
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(tool, arguments)
    assert says in error_text(result)
    assert "package or version may not exist" not in error_text(result)
    owner_path = "/" + "/".join(sandbox.state.requests[-1].raw_path.split("/")[1:3])
    owner_reads = [r for r in sandbox.state.requests if r.raw_path == owner_path]
    assert len(owner_reads) == 1  # only on the 404, and once


async def test_a_404_keeps_its_advice_when_the_owner_cannot_be_read(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", "/orgs/no-such-org", [Fault(status=502)] * 10)  # past every retry
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("list_org_packages", {"org": "no-such-org", "package_type": "npm"})
    assert "The package or version may not exist" in error_text(result)
    assert "There is no organization" not in error_text(result)


async def test_a_restore_of_what_is_not_deleted_and_of_a_reused_name_get_fitting_advice(settings: Settings) -> None:
    package = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
    async with Client(build_server(settings)) as client:
        active = ok(await client.call_tool("list_org_package_versions", package))["items"][0]["id"]
        not_deleted = await client.call_tool("restore_org_package_version", {**package, "package_version_id": active})
        whole = await client.call_tool("restore_org_package", package)
        reused = await client.call_tool(
            "restore_org_package", {"org": DEMO_ORG, "package_type": "npm", "package_name": "shared-config"}
        )
    assert f"Version {active} of the container package 'web/api' is not deleted: nothing to restore." in error_text(
        not_deleted
    )
    assert "The container package 'web/api' is not deleted: nothing to restore." in error_text(whole)
    assert "name was used again after its deletion" in error_text(reused)
    assert "scope" not in error_text(reused)


async def test_a_page_past_the_end_says_where_the_listing_ends(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        listing = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "npm", "page": 50}))
    assert listing["items"] == []
    assert listing["message"] == f"Page 50 is past the end: the listing has {listing['last_page']} page(s) of 30."


OCTO_NPM = {"package_type": "npm", "package_name": "octo-utils", "username": DEMO_LOGIN}
# acme-labs' gem with one version: deleting it, GitHub refuses (400), or has been seen deleting the package with it.
RUBY = {"org": DEMO_ORG, "package_type": "rubygems", "package_name": "acme-ruby"}
RUBY_ID, ONLY_VERSION = 52_700_205, 970_200_221
LAST_VERSION_NOTE = "its last version: GitHub may refuse to delete it, or delete the package 'acme-ruby' with it"


async def test_the_confirmation_says_when_a_delete_takes_the_last_version_and_github_may_refuse_it(
    settings: Settings, sandbox: SandboxServer
) -> None:
    version = {**RUBY, "package_version_id": ONLY_VERSION}
    async with Client(build_server(settings)) as client:  # no form: confirmed by token
        offered = ok(await client.call_tool("delete_org_package_version", version))
        refused = await client.call_tool(
            "delete_org_package_version", {**version, "confirmation_token": offered["confirmation_token"]}
        )
        other = ok(await client.call_tool("delete_user_package_version", {**OCTO_NPM, "package_version_id": 921000011}))
    assert offered["summary"].startswith(f"This will permanently delete version {ONLY_VERSION} ('0.1.0', created ")
    assert offered["summary"].endswith(f"of the rubygems package 'acme-ruby' owned by the organization {DEMO_ORG}, "
                                       f"{LAST_VERSION_NOTE}.")  # fmt: skip
    assert "last version" not in other["summary"]  # octo-utils has five
    text = error_text(refused)
    assert "GitHub answered 400 to DELETE" in text
    assert "You cannot delete the last version of a package. You must delete the package instead" in text
    assert sandbox.state.package(DEMO_ORG, "rubygems", "acme-ruby").active_versions()


async def test_when_github_deletes_the_package_with_its_last_version_the_journal_brings_both_back(
    settings: Settings, sandbox: SandboxServer
) -> None:
    sandbox.state.set_switches(last_version="delete_package")
    version = {**RUBY, "package_version_id": ONLY_VERSION}
    person = Person(typed="acme-ruby")
    async with Client(build_server(settings), elicitation_callback=person) as client:  # type: ignore[arg-type]
        done = ok(await client.call_tool("delete_org_package_version", version))
        gone = await client.call_tool("get_org_package", RUBY)
        history = ok(await client.call_tool("list_deletion_history", {}))
        person.typed = "2"  # the version, and its package: two items are restored, so the person confirms
        restored = ok(await client.call_tool("restore_from_journal", {"version_ids": [ONLY_VERSION]}))
        back = ok(await client.call_tool("get_org_package", RUBY))
    question, restoring = person.messages
    assert f"{LAST_VERSION_NOTE}?\nType the package name 'acme-ruby' to confirm." in question
    assert "('acme-ruby', rubygems owned by the organization acme-labs: the package itself and 1 version(s))" in (
        restoring
    )
    assert restoring.endswith("Type 2 (the number of packages and versions) to confirm.")
    assert done["deleted"] is True
    assert done["message"] == (
        f"Deleted version {ONLY_VERSION} of the rubygems package 'acme-ruby' owned by the organization {DEMO_ORG}. "
        f"GitHub deleted the package 'acme-ruby' with it, its last version; restore_from_journal with version_ids "
        f"[{ONLY_VERSION}] brings both back."
    )
    assert "404" in error_text(gone)
    package, deleted = history["entries"][0], history["entries"][1]  # newest first
    assert "version_id" not in package  # the package itself (results leave nulls out)
    assert package["package_id"] == RUBY_ID
    assert (package["deleted_with"], package["result"], package["restorable"]) == (ONLY_VERSION, "deleted", True)
    assert (deleted["version_id"], deleted["package_id"], deleted["restorable"]) == (ONLY_VERSION, RUBY_ID, True)
    assert (restored["restored"], restored["failed"]) == (2, 0)
    restores = [r.raw_path for r in sandbox.state.requests if r.method == "POST"]
    assert restores == [f"/orgs/{DEMO_ORG}/packages/rubygems/acme-ruby/restore",
                        f"/orgs/{DEMO_ORG}/packages/rubygems/acme-ruby/versions/{ONLY_VERSION}/restore"]  # fmt: skip
    assert back["version_count"] == 1
