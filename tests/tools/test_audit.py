"""The package audit through the MCP protocol against the sandbox: totals, restorable versions and their days
left, stale packages, filters, owners, progress, and concurrent requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.models import PACKAGE_TYPES
from github_packages_mcp.sandbox import DEMO_LOGIN, DEMO_ORG, DEMO_OTHER_USER, DEMO_TOKEN, SandboxServer
from github_packages_mcp.sandbox.model import OwnerRef, Package
from github_packages_mcp.server.app import build_server
from tests.helpers import error_text, ok

pytestmark = pytest.mark.anyio

ACME = {"org": DEMO_ORG}


async def run_audit(
    settings: Settings, arguments: dict[str, Any], clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    async with Client(build_server(settings, clock=clock)) as client:
        return ok(await client.call_tool("audit_packages", arguments))


def visible_packages(sandbox: SandboxServer, ref: OwnerRef, types: tuple[str, ...] = PACKAGE_TYPES) -> list[Package]:
    """What the sandbox holds for this owner that the demo token can see, in the audit's order."""
    viewer = sandbox.state.lookup_token(DEMO_TOKEN)
    assert viewer is not None
    return [p for t in types for p in sandbox.state.list_packages(viewer, ref, t, None)]


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {package["name"]: package for package in result["packages"]}


async def test_totals_match_what_the_organization_holds(settings: Settings, sandbox: SandboxServer) -> None:
    result = await run_audit(settings, ACME)
    expected = visible_packages(sandbox, OwnerRef("org", DEMO_ORG))
    totals = result["totals"]
    assert totals["packages"] == len(expected) == len(result["packages"])
    assert totals["by_type"] == {t: n for t in PACKAGE_TYPES if (n := sum(p.package_type == t for p in expected))}
    assert totals["public"] == [p.name for p in expected if p.visibility == "public"]
    assert totals["by_visibility"] == {
        "public": len(totals["public"]),
        "private": len(expected) - len(totals["public"]),
    }
    assert totals["versions"] == sum(len(p.active_versions()) for p in expected)
    assert totals["restorable"] == sum(package["restorable"] for package in result["packages"]) == 7  # gateway: one
    assert {(p["type"], p["name"], p["version_count"]) for p in result["packages"]} == {
        (p.package_type, p.name, len(p.active_versions())) for p in expected
    }
    web = by_name(result)["web/api"]
    assert web["repository"] == f"{DEMO_ORG}/web"
    active = sandbox.state.package(DEMO_ORG, "container", "web/api").active_versions()
    assert web["untagged"] == sum(1 for v in active if not v.tags) > 0
    assert web["latest_version_at"] == max(
        p["latest_version_at"] for p in result["packages"] if p["type"] == "container"
    )
    assert "repository" not in by_name(result)["acme-ruby"]
    assert "untagged" not in by_name(result)["design-system"]  # only images have tags
    assert any(
        note.startswith("Deleted packages are not included") and "list_deletion_history" in note
        for note in result["notes"]
    )


async def test_web_api_deleted_versions_are_restorable_for_about_28_days(
    settings: Settings, sandbox: SandboxServer
) -> None:
    web = by_name(await run_audit(settings, ACME))["web/api"]
    deleted = [v for v in sandbox.state.package(DEMO_ORG, "container", "web/api").versions if v.deleted_at]
    assert web["restorable"] == 5
    assert {v["id"] for v in web["restorable_versions"]} == {v.id for v in deleted}
    assert {v["days_left"] for v in web["restorable_versions"]} <= {27, 28}
    assert all(v["deleted_at"] and v["name"].startswith("sha256:") for v in web["restorable_versions"])


async def test_days_left_fall_with_the_clock_and_expired_versions_disappear(
    settings: Settings, sandbox: SandboxServer
) -> None:
    def sandbox_clock() -> float:
        return sandbox.state.clock.now().timestamp()

    sandbox.state.clock.advance(timedelta(days=20))
    later = by_name(await run_audit(settings, ACME, sandbox_clock))["web/api"]
    assert {v["days_left"] for v in later["restorable_versions"]} <= {7, 8}
    sandbox.state.clock.advance(timedelta(days=9))  # 31 days after the deletion
    expired = await run_audit(settings, ACME, sandbox_clock)
    assert by_name(expired)["web/api"]["restorable"] == 0
    assert "restorable_versions" not in by_name(expired)["web/api"]
    assert expired["totals"]["restorable"] == 0


async def test_at_most_20_restorable_versions_are_listed_the_most_urgent_first(
    settings: Settings, sandbox: SandboxServer
) -> None:
    package = sandbox.state.package(DEMO_ORG, "container", "web/api")
    earlier = {v.id for v in package.versions if v.deleted_at}
    fresh = [v.id for v in package.active_versions()[:25]]
    async with httpx2.AsyncClient(base_url=sandbox.url, headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as http:
        for version_id in fresh:
            path = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/{version_id}"
            (await http.delete(path)).raise_for_status()
    web = by_name(await run_audit(settings, ACME))["web/api"]
    assert web["restorable"] == 30
    assert len(web["restorable_versions"]) == 20
    # The five deleted two days ago come first, then 15 of the 25 deleted just now.
    assert {v["id"] for v in web["restorable_versions"][:5]} == earlier
    assert {v["days_left"] for v in web["restorable_versions"][:5]} <= {27, 28}
    assert [v["days_left"] for v in web["restorable_versions"][5:]] == [29] * 15


async def test_stale_packages_depend_on_stale_after_days(settings: Settings, sandbox: SandboxServer) -> None:
    # A week: no acme-labs package was last updated within a day of that, so the seconds a run takes cannot matter.
    strict = await run_audit(settings, {**ACME, "stale_after_days": 7})
    lenient = await run_audit(settings, {**ACME, "stale_after_days": 1000})
    now = sandbox.state.clock.now()
    packages = visible_packages(sandbox, OwnerRef("org", DEMO_ORG))
    expected = {p.name for p in packages if now - p.updated_at >= timedelta(days=7)}
    stale = {p["name"] for p in strict["packages"] if p["stale"]}
    assert stale == expected == {"Acme.Sdk", "acme-ruby"}
    assert strict["totals"]["stale"] == len(stale)
    assert all(p["days_since_update"] >= 7 for p in strict["packages"] if p["stale"])
    assert lenient["totals"]["stale"] == 0
    assert lenient["stale_after_days"] == 1000


async def test_package_types_limit_the_audit_and_its_requests(settings: Settings, sandbox: SandboxServer) -> None:
    result = await run_audit(settings, {**ACME, "package_types": ["npm", "container", "npm"]})
    expected = visible_packages(sandbox, OwnerRef("org", DEMO_ORG), ("npm", "container"))
    assert [(p["type"], p["name"]) for p in result["packages"]] == [(p.package_type, p.name) for p in expected]
    assert set(result["totals"]["by_type"]) == {"npm", "container"}
    listed = sorted(r.query.split("&")[0] for r in sandbox.state.requests if r.raw_path.endswith("/packages"))
    assert listed == ["package_type=container", "package_type=npm"]


async def test_without_versions_only_the_listings_are_read(settings: Settings, sandbox: SandboxServer) -> None:
    full = await run_audit(settings, ACME)
    with_versions = len(sandbox.state.requests)
    brief = await run_audit(settings, {**ACME, "include_versions": False})
    listings = sandbox.state.requests[with_versions:]
    assert len(listings) == len(PACKAGE_TYPES) < with_versions
    assert not any("/versions" in r.raw_path for r in listings)
    assert brief["totals"] | {"restorable": full["totals"]["restorable"]} == full["totals"]
    assert not {"untagged", "latest_version", "restorable", "restorable_versions"} & {
        key for package in brief["packages"] for key in package
    }
    assert any("include_versions=false" in note for note in brief["notes"])


async def test_with_no_owner_the_tokens_own_packages_are_audited(settings: Settings, sandbox: SandboxServer) -> None:
    result = await run_audit(settings, {})
    expected = visible_packages(sandbox, OwnerRef("user"))
    assert result["owner"] == "you"
    assert [p["name"] for p in result["packages"]] == [p.name for p in expected]
    assert "old-cli" not in {p["name"] for p in result["packages"]}  # deleted packages cannot be listed
    assert by_name(result)["hello-world"]["restorable"] == 1
    assert {r.raw_path.split("/packages")[0] for r in sandbox.state.requests} == {"/user"}
    assert DEMO_LOGIN in by_name(result)["hello-world"]["repository"]


async def test_another_users_audit_shows_only_public_packages(settings: Settings, sandbox: SandboxServer) -> None:
    result = await run_audit(settings, {"username": DEMO_OTHER_USER})
    names = {p["name"] for p in result["packages"]}
    assert names == {p.name for p in visible_packages(sandbox, OwnerRef("users", DEMO_OTHER_USER))}
    assert names == {"tools/cli", "mona-legacy"}
    assert result["totals"]["by_visibility"] == {"public": 2}
    assert any("this token can see" in note for note in result["notes"])
    # Deleted versions are for package admins: unknown (absent), not zero, and said so; the audit goes on.
    assert all("restorable" not in p for p in result["packages"])
    assert any(note.startswith("Deleted versions are shown to package admins only") for note in result["notes"])


async def test_progress_is_reported_per_package(settings: Settings) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(build_server(settings)) as client:
        result = ok(await client.call_tool("audit_packages", ACME, progress_callback=on_progress))
    total = result["totals"]["packages"]
    assert [(done, of) for done, of, _ in progress] == [(n, total) for n in range(1, total + 1)]
    assert progress[-1][2] == f"audited {total} of {total} package(s)"


async def test_org_and_username_together_are_refused_before_any_request(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        both = await client.call_tool("audit_packages", {**ACME, "username": DEMO_OTHER_USER})
        zero = await client.call_tool("audit_packages", {**ACME, "stale_after_days": 0})
    assert "org or username, not both" in error_text(both)
    assert "stale_after_days" in error_text(zero)
    assert sandbox.state.requests == []


async def test_github_errors_become_readable_tool_errors(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        missing = await client.call_tool("audit_packages", {"org": "no-such-org"})
    assert "GitHub answered 404 to GET /orgs/no-such-org/packages" in error_text(missing)


async def test_requests_run_concurrently(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.latency = 0.05
    await run_audit(settings, ACME)
    assert sandbox.state.max_in_flight > 1
