"""A package's whole life on ghcr.io, through MCP against the sandbox's acme-labs/gateway: superseded referrers
indexes, orphans, releases with several tags, platform images with tags of their own, broken images."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer, oci
from github_packages_mcp.sandbox.model import OwnerRef
from github_packages_mcp.server.app import build_server
from tests.helpers import ACME_CONTAINERS, Person, error_text, ok

pytestmark = pytest.mark.anyio

GATEWAY = {"org": DEMO_ORG, "package_type": "container", "package_name": "gateway"}
# acme-labs/gateway, as sandbox/demo_images.py `gateway` builds it.
V3_INDEX, V3_PLATFORMS, V3_SIGNATURE = 3430000103, {3430000101, 3430000102}, 3430000104
V2_INDEX, V2_AMD64 = 3430000153, 3430000151  # a partial image: its linux/arm64 image 3430000152 is gone
ORPHANS = {3430000202, 3430000203, 3430000204, 3430000205}  # .sig, .att, bundle, bare referrers index of a gone image
CI_BUILD = 3430000301  # tagged "sha-aaaaaaa" only
V4_PLATFORMS, V4_INDEX, V4_SIGNATURE = {3430000401, 3430000402}, 3430000403, 3430000404  # "v4-amd64", "v4-arm64"
PROVENANCE, SUPERSEDED_INDEX, SBOM, CURRENT_INDEX = 3430000501, 3430000502, 3430000601, 3430000602


def decisions(plan: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {d["id"]: d for package in plan["packages"] for d in package["decisions"]}


def deleted_ids(sandbox: SandboxServer) -> list[int]:
    return [int(r.raw_path.rsplit("/", 1)[1]) for r in sandbox.state.requests if r.method == "DELETE"]


def deleted(plan: dict[str, Any]) -> set[int]:
    return {i for i, d in decisions(plan).items() if d["action"] == "delete"}


async def plan_of(settings: Settings, **rules: Any) -> dict[str, Any]:
    async with Client(build_server(settings)) as client:
        return ok(await client.call_tool("plan_version_cleanup", {**GATEWAY, **rules}))


async def test_a_superseded_referrers_index_goes_and_what_it_lists_follows_its_own_subject(settings: Settings) -> None:
    plan = await plan_of(settings, tagged="untagged")
    decided = decisions(plan)
    assert deleted(plan) == {SUPERSEDED_INDEX}
    assert decided[SUPERSEDED_INDEX]["rule"].startswith("delete: superseded referrers index of kept image sha256:")
    assert "(latest, v4, sha-bbbbbbb)" in decided[SUPERSEDED_INDEX]["rule"]
    # The bundle the old index listed follows the image it is about, not the index: kept, and says why.
    for bundle in (PROVENANCE, SBOM):
        assert decided[bundle]["rule"].startswith("kept: Sigstore bundle of kept image sha256:")
        assert decided[bundle]["rule"].endswith("(latest, v4, sha-bbbbbbb), by its subject")
        assert decided[bundle]["follows"] == [decided[V4_INDEX]["name"]]
    assert decided[CURRENT_INDEX]["rule"].startswith("kept: referrers index of kept image")
    assert plan["packages"][0]["by_rule"]["superseded"] == 1


async def test_orphans_never_take_an_image_s_place_and_are_deleted_only_when_asked(settings: Settings) -> None:
    plan = await plan_of(settings, tagged="tagged", keep_latest=2)
    decided = decisions(plan)
    # The two newest images are kept, whatever the orphans' tags and ages; v3 and v2 go with their parts.
    assert decided[V4_INDEX]["rule"] == decided[CI_BUILD]["rule"] == "kept: among the 2 newest selected"
    assert deleted(plan) == {V3_INDEX, V3_SIGNATURE, V2_INDEX, V2_AMD64} | V3_PLATFORMS
    for orphan in ORPHANS:
        assert decided[orphan]["action"] == "keep"
        assert "which is gone from the package (delete_orphans deletes it)" in decided[orphan]["rule"]
    assert decided[3430000202]["rule"].startswith("kept: orphaned signature of sha256:")
    assert decided[3430000205]["rule"].startswith("kept: orphaned referrers index of sha256:")
    # With tagged=untagged, which never selects their tags, delete_orphans still deletes them.
    asked = await plan_of(settings, tagged="untagged", delete_orphans=True)
    assert deleted(asked) == ORPHANS | {SUPERSEDED_INDEX}
    assert all(decisions(asked)[o]["rule"].startswith("delete: orphaned ") for o in ORPHANS)
    # keep_younger_than_days still keeps young orphans.
    young = await plan_of(settings, delete_orphans=True, keep_younger_than_days=100, tagged="untagged")
    assert deleted(young) == set()


async def test_include_tags_selects_a_version_only_when_every_tag_matches(settings: Settings) -> None:
    plan = await plan_of(settings, include_tags=["sha-*"])
    decided = decisions(plan)
    assert deleted(plan) == {CI_BUILD}
    assert decided[V4_INDEX]["rule"] == "kept: not selected (its tag 'latest' matches no include pattern 'sha-*')"
    assert decided[CI_BUILD]["rule"] == "delete: tag 'sha-aaaaaaa' matches include pattern 'sha-*'"
    # A kept tag keeps the whole version, whatever a rule says of its other tags.
    excluded = await plan_of(settings, include_tags=["*"], exclude_tags=["v4"], keep_latest=0, tagged="tagged")
    assert V4_INDEX not in deleted(excluded) and decisions(excluded)[V4_INDEX]["rule"].startswith("kept: tag 'v4'")


async def test_platform_images_with_their_own_tags_follow_their_index(settings: Settings) -> None:
    plan = await plan_of(settings, tagged="tagged", keep_latest=1)
    decided = decisions(plan)
    assert decided[V4_INDEX]["rule"] == "kept: among the newest selected"
    for platform in V4_PLATFORMS:  # tagged "v4-amd64"/"v4-arm64", yet parts: never counted, never selected
        assert decided[platform]["rule"].startswith("kept: platform image of kept index")
    assert CI_BUILD in deleted(plan)


async def test_unreadable_manifests_leave_the_package_untouched(settings: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.set_registry_available(False)
    plan = await plan_of(settings, tagged="tagged", keep_latest=1)
    assert plan["delete"] == 0
    assert {d["action"] for d in decisions(plan).values()} == {"keep"}
    for platform in V4_PLATFORMS:  # were taken for tagged images, and deleted, when the registry was down
        assert decisions(plan)[platform]["rule"].endswith("so nothing in this package is deleted")
    assert "check registry_url" in plan["packages"][0]["manifests"]


async def test_keep_latest_tagged_and_untagged_count_apart(settings: Settings) -> None:
    web = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
    async with Client(build_server(settings)) as client:
        plan = ok(
            await client.call_tool("plan_version_cleanup", {**web, "keep_latest_tagged": 3, "keep_latest_untagged": 2})
        )
    package = plan["packages"][0]
    assert package["by_rule"]["keep_latest_tagged"] == 3
    assert package["by_rule"]["keep_latest_untagged"] == 2
    assert package["delete"] == package["versions"] - 5
    rules = {d["rule"] for d in package["decisions"] if d["action"] == "delete"}
    assert rules == {"delete: beyond the 3 newest tagged", "delete: beyond the 2 newest untagged"}


async def test_broken_images_are_deleted_only_when_the_plan_opts_in(settings: Settings, sandbox: SandboxServer) -> None:
    # Another tool deleted v3's platform images: its index is a ghost, tagged "v3" and no longer pullable.
    viewer = sandbox.state.authenticate(DEMO_TOKEN)
    for platform in V3_PLATFORMS:
        sandbox.state.delete_version(viewer, OwnerRef("org", DEMO_ORG), "container", "gateway", platform)
    plain = await plan_of(settings, tagged="untagged")
    assert V3_INDEX not in deleted(plain)
    opted = await plan_of(settings, tagged="untagged", delete_ghost_images=True)
    assert deleted(opted) == {V3_INDEX, V3_SIGNATURE, SUPERSEDED_INDEX}
    assert decisions(opted)[V3_INDEX]["rule"].startswith("delete: ghost image (delete_ghost_images): 2 of the")
    assert decisions(opted)[V3_SIGNATURE]["rule"].startswith("delete: signature of deleted image")
    # Partial: one of v4's platform images gone; opting in to ghosts alone does not touch it.
    sandbox.state.delete_version(viewer, OwnerRef("org", DEMO_ORG), "container", "gateway", 3430000402)
    assert V4_INDEX not in deleted(await plan_of(settings, tagged="untagged", delete_ghost_images=True))
    partial = await plan_of(settings, delete_partial_images=True, exclude_tags=["v4"])
    assert decisions(partial)[V4_INDEX]["rule"].startswith("kept: tag 'v4' matches exclude pattern")


async def test_image_options_on_a_registry_without_images_are_refused_before_any_request(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        refused = await client.call_tool(
            "plan_version_cleanup",
            {"org": DEMO_ORG, "package_type": "npm", "package_name": "design-system", "delete_orphans": True},
        )
        misspelt = await client.call_tool("plan_version_cleanup", {**GATEWAY, "delete_orphan": True})
    assert "delete_orphans is about container images" in error_text(refused)
    assert "delete_orphan" in error_text(misspelt)
    assert not [r for r in sandbox.state.requests if "/packages/" in r.raw_path]


async def test_a_cleanup_of_the_aged_package_deletes_exactly_what_was_planned(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(
            await client.call_tool("plan_version_cleanup", {**GATEWAY, "tagged": "untagged", "delete_orphans": True})
        )
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert applied["deleted_count"] == 5
    gateway = sandbox.state.package(DEMO_ORG, "container", "gateway")
    gone = {v.id for v in gateway.versions if v.deleted_at is not None}
    assert gone == ORPHANS | {SUPERSEDED_INDEX, 3430000201, 3430000152}  # the last two: gone before the demo begins


def manifest_of(sandbox: SandboxServer, package: str, version_id: int) -> oci.Manifest:
    [version] = [v for v in sandbox.state.package(DEMO_ORG, "container", package).versions if v.id == version_id]
    assert version.manifest is not None and version.media_type is not None
    return oci.Manifest(version.manifest, version.media_type)


async def plan_then_apply(
    settings: Settings, arguments: dict[str, Any], typed: str, between: Callable[[], object]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plan, let `between` change the package, then apply with the person confirming `typed` versions."""
    async with Client(build_server(settings), elicitation_callback=Person(typed=typed)) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", arguments))
        between()
        return plan, ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))


async def test_apply_holds_back_a_version_tagged_since_the_plan_and_what_was_to_go_with_it(
    settings: Settings, sandbox: SandboxServer
) -> None:
    hotfix = partial(sandbox.state.push, DEMO_ORG, "gateway", manifest_of(sandbox, "gateway", V3_INDEX), ("hotfix",))
    plan, applied = await plan_then_apply(settings, {**GATEWAY, "tagged": "tagged", "keep_latest": 3}, "4", hotfix)
    assert deleted(plan) == {V3_INDEX, V3_SIGNATURE} | V3_PLATFORMS
    assert (applied["deleted_count"], applied["skipped"]) == (0, 4)
    assert deleted_ids(sandbox) == []
    reasons = {v["id"]: v["reason"] for v in applied["skipped_versions"]}
    assert reasons[V3_INDEX] == "not deleted: its tags changed since the plan (now hotfix, v3)"
    for part in V3_PLATFORMS | {V3_SIGNATURE}:
        assert reasons[part].startswith("not deleted: it was to go with sha256:")


async def test_apply_holds_back_a_platform_image_a_newly_pushed_index_uses(
    settings: Settings, sandbox: SandboxServer
) -> None:
    multi = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
    orphan = manifest_of(sandbox, "multi/app", 3390112401)  # an untagged image no index listed when planned
    new_index = oci.index([(orphan, "linux/amd64")])
    push = partial(sandbox.state.push, DEMO_ORG, "multi/app", new_index, ("v2.2.0",))
    plan, applied = await plan_then_apply(settings, {**multi, "tagged": "untagged"}, "5", push)
    assert 3390112401 in deleted(plan)
    assert (applied["deleted_count"], applied["skipped"]) == (4, 1)
    assert 3390112401 not in deleted_ids(sandbox)
    [held] = applied["skipped_versions"]
    assert held["reason"] == f"not deleted: what it belongs to changed since the plan (now {new_index.digest[:19]}…)"


async def test_apply_sends_nothing_for_a_version_gone_since_the_plan(
    settings: Settings, sandbox: SandboxServer
) -> None:
    viewer = sandbox.state.authenticate(DEMO_TOKEN)
    gone = partial(sandbox.state.delete_version, viewer, OwnerRef("org", DEMO_ORG), "container", "gateway", CI_BUILD)
    _, applied = await plan_then_apply(settings, {**GATEWAY, "include_tags": ["sha-*"]}, "1", gone)
    assert (applied["deleted_count"], applied["already_gone"]) == (0, 1)
    assert deleted_ids(sandbox) == []  # `gone` went straight to the sandbox's state, not through its API


async def test_apply_deletes_nothing_in_a_package_whose_new_manifests_cannot_be_read(
    settings: Settings, sandbox: SandboxServer
) -> None:
    # Every manifest the plan read is in the manifest cache; one pushed since is not, and the registry is down.
    def push_then_fail() -> None:
        sandbox.state.push(DEMO_ORG, "gateway", oci.image("gateway:v5"), ("v5",))
        sandbox.state.set_registry_available(False)

    _, applied = await plan_then_apply(settings, {**GATEWAY, "tagged": "tagged", "keep_latest": 3}, "4", push_then_fail)
    assert (applied["deleted_count"], applied["skipped"]) == (0, 4)
    assert all("manifests could not be read again" in v["reason"] for v in applied["skipped_versions"])
    assert deleted_ids(sandbox) == []


async def test_the_integrity_check_reports_what_is_broken_and_changes_nothing(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        report = ok(await client.call_tool("check_image_integrity", {"org": DEMO_ORG, "package_name": "*"}))
        partial = {**GATEWAY, "tagged": "untagged", "delete_partial_images": True}
        partial_plan = ok(await client.call_tool("plan_version_cleanup", partial))
    assert [p["package"] for p in report["packages"]] == ACME_CONTAINERS
    [gateway] = [p for p in report["packages"] if p["package"] == "gateway"]
    kinds = {issue["id"]: issue["kind"] for issue in gateway["issues"]}
    assert kinds == {
        V2_INDEX: "partial image",
        SUPERSEDED_INDEX: "superseded referrers index",
        3430000205: "referrers index pointing at nothing",
        **dict.fromkeys(ORPHANS - {3430000205}, "orphaned part"),
    }
    assert report["counts"] == {
        "partial image": 1,
        "superseded referrers index": 1,
        "referrers index pointing at nothing": 1,
        "orphaned part": 3,
    }
    [v2] = [issue for issue in gateway["issues"] if issue["id"] == V2_INDEX]
    assert v2["detail"].startswith("lists 1 manifest(s) the package no longer has: sha256:")
    assert "delete_partial_images=true" in report["message"]
    assert not [r for r in sandbox.state.requests if r.method != "GET"]
    # The plan that opts in deletes the partial image, tagged or not, and what only it used.
    assert deleted(partial_plan) == {V2_INDEX, V2_AMD64, SUPERSEDED_INDEX}
    assert decisions(partial_plan)[V2_INDEX]["rule"].startswith("delete: partial image (delete_partial_images)")


async def test_rules_that_delete_nothing_read_no_manifest(settings: Settings, sandbox: SandboxServer) -> None:
    plan = await plan_of(settings, keep_younger_than_days=1000)
    assert plan["delete"] == 0
    assert plan["packages"][0]["manifests"].startswith("not read: these rules delete nothing here")
    assert not [r for r in sandbox.state.requests if "/manifests/" in r.raw_path]  # each read counts as a download


async def test_a_package_name_with_dot_segments_stays_inside_its_registry_path(
    settings: Settings, sandbox: SandboxServer
) -> None:
    sandbox.state.add_package(DEMO_ORG, "container", "tools/../../x", versions=3)
    async with Client(build_server(settings)) as client:
        ok(
            await client.call_tool(
                "plan_version_cleanup", {"org": DEMO_ORG, "package_type": "container", "package_name": "tools/../../x"}
            )
        )
    read = [r.raw_path for r in sandbox.state.requests if "/manifests/" in r.raw_path]
    assert read and all(path.startswith(f"/v2/{DEMO_ORG}/tools/%2E%2E/%2E%2E/x/manifests/") for path in read)
