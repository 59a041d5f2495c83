"""Retention cleanup through the MCP protocol against the sandbox: plan, confirm, apply, journal, resume, restore."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx2
import pytest
from mcp import Client, StdioServerParameters

from github_packages_mcp.config import Settings
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.github.manifests import ManifestCache
from github_packages_mcp.github.models import parse_time
from github_packages_mcp.retention.apply import PlanChanged
from github_packages_mcp.retention.journal import Actor, Journal
from github_packages_mcp.retention.service import Cleanups
from github_packages_mcp.retention.sources import Sources
from github_packages_mcp.retention.store import CleanupStore
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_READ_TOKEN, DEMO_TOKEN, Fault, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.state.local import LocalState
from github_packages_mcp.toolkit.tokens import ServerKeys
from tests.helpers import ACME_CONTAINERS, COMMAND, Person, clean_env, error_text, ok

pytestmark = pytest.mark.anyio

MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
WEB = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
# multi/app in the sandbox: two tagged indexes (v2.1.0 with attestations, v2.0.0) whose platform children are
# untagged, a signature tagged by the cosign convention, a sigstore bundle attached as an OCI referrer, an old
# untagged index with its two children, and two orphan images.
OLD_INDEX = 3388000103
OLD_INDEX_AND_CHILDREN = {OLD_INDEX, 3388000101, 3388000102}
ORPHANS = {3390112401, 3391540077}
KEPT_CHILDREN = {3420551201, 3420551202, 3420551203, 3420551204, 3412870311, 3412870312}
BUNDLE, SIGNATURE = 3420553918, 3420553917
CURRENT_INDEX, PREVIOUS_INDEX, PREVIOUS_CHILDREN = 3420551205, 3412870313, {3412870311, 3412870312}
DESIGN = {"org": DEMO_ORG, "package_type": "npm", "package_name": "design-system"}


def decisions(plan: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {d["id"]: d for package in plan["packages"] for d in package["decisions"]}


def deleted_ids(sandbox: SandboxServer) -> list[int]:
    return [int(r.raw_path.rsplit("/", 1)[1]) for r in sandbox.state.requests if r.method == "DELETE"]


async def test_a_plan_keeps_what_multi_arch_images_need_and_deletes_nothing(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
    decided = decisions(plan)
    assert {i for i, d in decided.items() if d["action"] == "delete"} == OLD_INDEX_AND_CHILDREN | ORPHANS
    for child in KEPT_CHILDREN:
        assert decided[child]["rule"].startswith(("kept: platform image of kept index", "kept: attestation of kept"))
    assert decided[3420551203]["rule"].startswith("kept: attestation of kept index")
    # Found through its manifest's subject: ghcr.io has no referrers API.
    assert decided[BUNDLE]["rule"].startswith("kept: Sigstore bundle of kept image")
    assert decided[SIGNATURE]["rule"].startswith("kept: signature of kept image")
    assert decided[SIGNATURE]["rule"].endswith(".sig'")
    for child in OLD_INDEX_AND_CHILDREN - {OLD_INDEX}:
        assert decided[child]["rule"].startswith("delete: platform image of deleted index")
    assert plan["packages"][0]["manifests"].startswith("read ")
    assert plan["delete"] == 5
    assert plan["keep"] == 10
    assert deleted_ids(sandbox) == []


@pytest.mark.parametrize("name", ["..", "."])
async def test_a_dot_segment_package_name_stays_inside_its_segment(
    settings: Settings, sandbox: SandboxServer, name: str
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("plan_version_cleanup", {**WEB, "package_name": name})
    assert "404" in error_text(result)
    encoded = name.replace(".", "%2E")
    # The package's path, then (after its 404) the owner's own, which tells an unknown owner from an unknown package.
    assert [r.raw_path for r in sandbox.state.requests] == [
        f"/orgs/{DEMO_ORG}/packages/container/{encoded}",
        f"/orgs/{DEMO_ORG}",
    ]


@pytest.mark.parametrize("referrers", ["none", "redirect", "supported"])
async def test_a_signature_found_only_through_its_subject_is_kept_whatever_the_referrers_api_answers(
    settings: Settings, sandbox: SandboxServer, referrers: Literal["none", "redirect", "supported"]
) -> None:
    sandbox.state.set_switches(referrers=referrers)
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
    assert decisions(plan)[BUNDLE]["rule"].startswith(
        "kept: Sigstore bundle of kept image sha256:c94da96b3e43… (v2.1.0, latest)"
    )
    assert plan["delete"] == 5
    assert not [r for r in sandbox.state.requests if "/referrers/" in r.raw_path]


async def test_without_readable_manifests_nothing_in_the_package_is_deleted(
    settings: Settings, sandbox: SandboxServer
) -> None:
    sandbox.state.set_registry_available(False)
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "keep_latest": 1}))
    assert plan["delete"] == 0
    note = plan["packages"][0]["manifests"]
    assert note.startswith("unavailable: ") and "could not be read" in note and "Service Unavailable" in note
    assert "nothing in this package is deleted: check registry_url" in note and "read:packages" in note
    assert {d["rule"].split(",")[-1] for d in decisions(plan).values()} == {" so nothing in this package is deleted"}


async def test_signatures_never_count_toward_keep_latest_and_an_index_takes_its_platform_images_along(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="3")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "tagged", "keep_latest": 1}))
        ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    decided = decisions(plan)
    assert decided[CURRENT_INDEX]["rule"] == "kept: among the newest selected"
    assert {i for i, d in decided.items() if d["action"] == "delete"} == {PREVIOUS_INDEX} | PREVIOUS_CHILDREN
    for child in PREVIOUS_CHILDREN:
        assert decided[child]["rule"].startswith("delete: platform image of deleted index sha256:")
    assert decided[SIGNATURE]["rule"].startswith("kept: signature of kept image")
    assert plan["packages"][0]["by_rule"]["deleted_with"] == 2
    # The index goes first: a run stopped halfway never leaves a kept index without its platform images.
    deleted = deleted_ids(sandbox)
    assert (deleted[0], set(deleted[1:])) == (PREVIOUS_INDEX, PREVIOUS_CHILDREN)


async def test_what_github_would_refuse_is_kept_not_planned(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        images = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "tagged"}))
        npm = ok(await client.call_tool("plan_version_cleanup", DESIGN))
    decided = decisions(images)
    assert decided[CURRENT_INDEX]["rule"].startswith("kept: GitHub refuses to delete the last tagged version")
    assert decided[SIGNATURE]["action"] == decided[3420551201]["action"] == "keep"  # its parts stay with it
    assert decided[PREVIOUS_INDEX]["action"] == "delete"
    [newest] = [d for d in decisions(npm).values() if d["name"] == "2.1.0"]
    assert newest["rule"].startswith("kept: GitHub refuses to delete the last version")
    assert npm["delete"] == npm["packages"][0]["versions"] - 1


async def test_version_name_patterns_clean_up_registries_without_tags(settings: Settings) -> None:
    arguments = {**DESIGN, "include_versions": ["1.*"], "exclude_versions": ["1.4.*"]}
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", arguments))
        tag_rule = await client.call_tool("plan_version_cleanup", {**DESIGN, "exclude_tags": ["1.*"]})
    deleted = sorted(d["name"] for d in decisions(plan).values() if d["action"] == "delete")
    assert deleted == ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
    assert plan["packages"][0]["by_rule"] == {"exclude_versions": 2, "not_selected": 2}
    text = error_text(tag_rule)
    assert "Invalid arguments, nothing was sent: exclude_tags needs tags" in text
    assert "use exclude_versions" in text


async def test_one_unreadable_manifest_keeps_every_version(settings: Settings, sandbox: SandboxServer) -> None:
    [orphan] = [v for v in sandbox.state.package(DEMO_ORG, "container", "multi/app").versions if v.id == 3390112401]
    sandbox.state.faults.script("GET", f"/v2/*/manifests/{orphan.name}*", [Fault(status=404, body={"errors": []})] * 3)
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
    assert plan["delete"] == 0
    prefix = f"kept: 1 manifest(s) could not be read (as {orphan.name[:19]}…: Not Found)"
    assert {d["rule"] for d in decisions(plan).values()} == {f"{prefix}, so nothing in this package is deleted"}


async def test_rules_combine_and_each_decision_names_its_rule(settings: Settings, sandbox: SandboxServer) -> None:
    arguments = {**WEB, "tagged": "untagged", "keep_latest": 10, "keep_younger_than_days": 30}
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", arguments))
    package = sandbox.state.package(DEMO_ORG, "container", "web/api")
    untagged = sorted((v for v in package.active_versions() if not v.tags), key=lambda v: (v.created_at, v.id))
    cutoff = datetime.now(UTC) - timedelta(days=30)
    expected = {v.id for v in untagged[:-10] if v.created_at <= cutoff}
    summary = plan["packages"][0]
    assert summary["versions"] == len(package.active_versions())
    assert summary["delete"] == len(expected) > 0
    assert {d["id"] for d in summary["decisions"] if d["action"] == "delete"} == expected
    assert summary["by_rule"]["keep_latest"] == 10
    assert summary["by_rule"]["not_selected"] == len(package.active_versions()) - len(untagged)
    # Over 200 versions, the result lists the deletions only (the saved plan has every decision).
    assert summary["decisions_omitted"] == summary["versions"] - len(expected)
    assert all(d["rule"].startswith("delete: untagged, older than 30 days") for d in summary["decisions"])


async def test_a_name_glob_plans_several_packages(settings: Settings) -> None:
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": "*", "tagged": "untagged",
                 "keep_younger_than_days": 60}  # fmt: skip
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", arguments))
    assert [package["package"] for package in plan["packages"]] == ACME_CONTAINERS


async def test_invalid_rules_are_refused_before_any_request(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        bad_regex = await client.call_tool(
            "plan_version_cleanup", {**WEB, "include_tags": ["v(1"], "pattern_syntax": "regex"}
        )
        negative = await client.call_tool("plan_version_cleanup", {**WEB, "keep_latest": -1})
        both = await client.call_tool("plan_version_cleanup", {**WEB, "username": "x"})
    assert "include_tags: invalid regex 'v(1'" in error_text(bad_regex)
    assert "keep_latest" in error_text(negative)
    assert "org or username, not both" in error_text(both)
    assert sandbox.state.requests == []


async def test_apply_asks_once_deletes_journals_and_restores(settings: Settings, sandbox: SandboxServer) -> None:
    person = Person(typed="5")
    async with Client(build_server(settings), elicitation_callback=person) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        [question] = person.messages
        restored = ok(await client.call_tool("restore_from_journal", {"plan_id": plan["plan_id"]}))
    assert question.startswith("Permanently delete 5 version(s) of 1 container package(s) owned by the organization")
    assert question.endswith("?\nType 5 (the number of versions) to confirm.")
    assert (applied["deleted"], applied["deleted_count"], applied["skipped"]) == (True, 5, 0)
    assert sorted(deleted_ids(sandbox)) == sorted(OLD_INDEX_AND_CHILDREN | ORPHANS)
    journal = [json.loads(line) for line in (settings.journal_dir / applied["journal"]).read_text().splitlines()]
    assert [entry["result"] for entry in journal] == ["deleting", "deleted"] * 5 + ["restored"] * 5
    assert {"time", "version_id", "name", "tags", "result"} <= set(journal[0])
    assert restored["restored"] == 5
    assert len(sandbox.state.package(DEMO_ORG, "container", "multi/app").active_versions()) == 15


async def test_apply_without_forms_needs_the_token_and_refuses_a_wrong_count(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        first = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        assert first["status"] == "confirmation_required"
        assert "5 version(s)" in first["summary"]
        assert deleted_ids(sandbox) == []
        done = ok(await client.call_tool(
            "apply_version_cleanup", {"plan_id": plan["plan_id"], "confirmation_token": first["confirmation_token"]}
        ))  # fmt: skip
    assert done["deleted_count"] == 5
    async with Client(build_server(settings), elicitation_callback=Person(typed="4")) as client:  # type: ignore[arg-type]
        other = ok(await client.call_tool("plan_version_cleanup", {**WEB, "tagged": "untagged", "keep_latest": 290}))
        refused = ok(await client.call_tool("apply_version_cleanup", {"plan_id": other["plan_id"]}))
    assert refused["status"] == "not_confirmed"
    assert len(deleted_ids(sandbox)) == 5


async def test_a_finished_plan_applied_again_says_what_it_did_then_without_asking_or_an_error(
    settings: Settings, sandbox: SandboxServer
) -> None:
    person = Person(typed="5")
    async with Client(build_server(settings), elicitation_callback=person) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        again = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    async with Client(build_server(settings)) as tokens_only:  # no form: it would otherwise hand out a token
        by_token = ok(await tokens_only.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert len(person.messages) == 1  # asked once, for the apply that deleted
    assert (applied["status"], again["status"], by_token["status"]) == ("deleted", "already_done", "already_done")
    assert (again["deleted"], again["deleted_count"], again["already_gone"], again["failed"]) == (False, 5, 0, 0)
    assert again["message"].startswith(f"Plan {plan['plan_id']} was already applied; nothing was left to delete now")
    assert "confirmation_token" not in by_token
    assert [r.method for r in sandbox.state.requests].count("DELETE") == 5


async def test_a_plan_that_deletes_nothing_is_already_done(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "keep_latest": 1000}))
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert (plan["delete"], applied["status"], applied["deleted_count"]) == (0, "already_done", 0)
    assert applied["message"] == f"Plan {plan['plan_id']} deletes nothing: there was nothing to do."


async def test_refusals_are_skipped_and_gone_versions_count_as_done(settings: Settings, sandbox: SandboxServer) -> None:
    popular = {"org": DEMO_ORG, "package_type": "container", "package_name": "base-image", "keep_latest": 1}
    async with Client(build_server(settings), elicitation_callback=Person(typed="2")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", popular))
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert (applied["skipped"], applied["failed"], applied["deleted_count"]) == (2, 0, 0)
    assert "5000 downloads" in applied["skipped_versions"][0]["reason"]

    async with Client(build_server(settings), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        # Meanwhile someone else deletes one of the planned versions.
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as someone_else:
            path = f"/orgs/{DEMO_ORG}/packages/container/multi%2Fapp/versions/3390112401"
            (await someone_else.delete(sandbox.url + path)).raise_for_status()
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert (applied["deleted_count"], applied["already_gone"]) == (4, 1)


async def test_an_interrupted_apply_resumes_where_it_stopped(settings: Settings, sandbox: SandboxServer) -> None:
    patient = settings.with_changes(max_rate_limit_wait_seconds=5)
    async with Client(build_server(patient), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        # The third DELETE meets a secondary rate limit that asks for a minute: the run stops there.
        sandbox.state.faults.script(
            "DELETE", "*/versions/*", [Fault(), Fault(), Fault.secondary_rate_limit(retry_after=None)]
        )
        stopped = await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]})
    assert "secondary rate limit" in error_text(stopped)
    assert "again with the same plan_id to resume" in error_text(stopped)
    async with Client(build_server(patient), elicitation_callback=Person(typed="3")) as client:  # type: ignore[arg-type]
        resumed = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert resumed["deleted_count"] == 3
    journal = [json.loads(line) for line in (patient.journal_dir / resumed["journal"]).read_text().splitlines()]
    done = [entry for entry in journal if entry["result"] != "deleting"]  # each delete's outcome, after its intent
    assert sorted(entry["version_id"] for entry in done if entry["result"] == "deleted") == sorted(
        OLD_INDEX_AND_CHILDREN | ORPHANS
    )
    assert next(entry["detail"] for entry in done if entry["result"] == "failed").startswith("403")
    assert all(parse_time(entry["time"]) for entry in journal)


async def test_restore_a_subset_from_the_journal(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        some = ok(
            await client.call_tool("restore_from_journal", {"plan_id": plan["plan_id"], "version_ids": [3390112401]})
        )
        unknown = await client.call_tool("restore_from_journal", {"plan_id": "feedface"})
    assert (some["restored"], some["failed"]) == (1, 0)
    assert "no cleanup plan 'feedface'" in error_text(unknown)
    active = {v.id for v in sandbox.state.package(DEMO_ORG, "container", "multi/app").active_versions()}
    assert 3390112401 in active
    assert 3391540077 not in active


# --- Plans and journals are trusted only as far as they can be checked -----------------------------------------


def plan_file(settings: Settings, plan_id: str) -> Path:
    return settings.journal_dir / "plans" / f"{plan_id}.json"


def edit_plan(settings: Settings, plan_id: str, edit: Any) -> None:
    """Change a saved plan as someone with write access to the state directory could (without the key)."""
    content = json.loads(plan_file(settings, plan_id).read_text())
    edit(content)
    plan_file(settings, plan_id).write_text(json.dumps(content, separators=(",", ":")))


def server_store(settings: Settings) -> CleanupStore:
    """The store as the server opens it, with its key (what only the server can do)."""
    return CleanupStore(LocalState(settings.journal_dir).plans, ServerKeys(settings.journal_dir).source("plans"))


PLAN_EDITS = {
    "another version id": lambda c: c["deletions"][0].update(id=CURRENT_INDEX),
    "another package name": lambda c: c["deletions"][0].update(package_name="web/api"),
    "a deletion added": lambda c: c["deletions"].append(
        {"id": CURRENT_INDEX, "name": "sha256:c94d", "tags": ["latest"], "package_name": "multi/app"}
    ),
}


@pytest.mark.parametrize("edit", PLAN_EDITS.values(), ids=PLAN_EDITS.keys())
async def test_a_plan_edited_after_planning_is_refused_and_nothing_is_deleted(
    settings: Settings, sandbox: SandboxServer, edit: Any
) -> None:
    person = Person(typed="5")
    async with Client(build_server(settings), elicitation_callback=person) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        edit_plan(settings, plan["plan_id"], edit)
        by_form = await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]})
        restored = await client.call_tool("restore_from_journal", {"plan_id": plan["plan_id"]})
    async with Client(build_server(settings)) as client:
        by_token = await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]})
        unknown = await client.call_tool("apply_version_cleanup", {"plan_id": "feedfacefeedface"})
    for refused in (by_form, restored, by_token):
        assert error_text(refused).endswith(
            error_text(unknown).split(": ", 1)[1].replace("feedfacefeedface", plan["plan_id"])
        )
    assert person.messages == []
    assert deleted_ids(sandbox) == []
    assert not [r for r in sandbox.state.requests if r.method != "GET"]


async def test_the_confirmation_binds_the_whole_plan_by_its_digest(settings: Settings, sandbox: SandboxServer) -> None:
    """Even a validly signed plan is not applied if it is not the one the person confirmed: the summary carries
    the plan's digest (a token binds it), and the apply checks the digest of what it loads."""
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**WEB, "tagged": "untagged", "keep_latest": 10}))
        first = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        store = server_store(settings)
        saved = await store.load(plan["plan_id"], identity_of(DEMO_TOKEN))
        assert f"(plan digest {saved.digest()[:12]})" in first["summary"]
        # The last deletion, never in the sample the person saw, now names another version: same words but one.
        last = saved.deletions[-1].model_copy(update={"id": saved.deletions[-1].id + 1})
        await store.save(saved.model_copy(update={"deletions": [*saved.deletions[:-1], last]}))
        refused = await client.call_tool(
            "apply_version_cleanup", {"plan_id": plan["plan_id"], "confirmation_token": first["confirmation_token"]}
        )
    assert "the target changed since it was shown" in error_text(refused)
    assert deleted_ids(sandbox) == []
    async with GitHubClient.from_settings(settings) as github:
        local = LocalState(settings.journal_dir)
        journal = Journal(local.journal, ServerKeys(settings.journal_dir).source("journal"))
        actor = Actor(identity_of(DEMO_TOKEN), "apply_version_cleanup")
        sources = Sources(github, settings.registry_url, ManifestCache(local.manifests))
        with pytest.raises(PlanChanged, match="not the plan the person confirmed"):
            await Cleanups(sources, store, journal, time.time).apply(plan["plan_id"], saved.digest(), actor)
    assert deleted_ids(sandbox) == []


async def test_an_edited_journal_line_is_not_restored(settings: Settings, sandbox: SandboxServer) -> None:
    person = Person(typed="5")
    async with Client(build_server(settings), elicitation_callback=person) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        # Someone else deleted a version this plan kept; an edited journal line claims the cleanup deleted it.
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as someone_else:
            path = f"/orgs/{DEMO_ORG}/packages/container/multi%2Fapp/versions/{PREVIOUS_INDEX}"
            (await someone_else.delete(sandbox.url + path)).raise_for_status()
        journal = settings.journal_dir / applied["journal"]
        lines = journal.read_text().splitlines()
        original = json.loads(lines[0])["version_id"]
        edited = [json.loads(line) | {"version_id": PREVIOUS_INDEX} for line in lines[:2]]  # its intent and outcome
        journal.write_text("\n".join([*map(json.dumps, edited), *lines[2:], '{"version_id": "not a line"}']) + "\n")
        person.typed = "4"  # the restore the person is asked about holds the four lines left
        restored = ok(await client.call_tool("restore_from_journal", {"plan_id": plan["plan_id"]}))
    restores = [r.raw_path for r in sandbox.state.requests if r.method == "POST"]
    assert not [p for p in restores if str(PREVIOUS_INDEX) in p]
    assert not [p for p in restores if str(original) in p]  # its line is gone: nothing says it was deleted
    assert restored["restored"] == 4
    reasons = [f["reason"] for f in restored["failures"]]
    assert reasons == ["3 journal line(s) are malformed or fail their signature: ignored"]
    active = {v.id for v in sandbox.state.package(DEMO_ORG, "container", "multi/app").active_versions()}
    assert PREVIOUS_INDEX not in active


async def test_another_caller_can_neither_apply_nor_restore_a_plan(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        mine = plan["plan_id"]
        ok(await client.call_tool("apply_version_cleanup", {"plan_id": mine}))
    requests = len(sandbox.state.requests)
    other = settings.with_changes(token=DEMO_READ_TOKEN)  # same journal_dir, another token
    person = Person(typed="5")
    async with Client(build_server(other), elicitation_callback=person) as client:  # type: ignore[arg-type]
        applied = await client.call_tool("apply_version_cleanup", {"plan_id": mine})
        restored = await client.call_tool("restore_from_journal", {"plan_id": mine})
        unknown = await client.call_tool("restore_from_journal", {"plan_id": "feedfacefeedface"})
    expected = error_text(unknown).split(": ", 1)[1].replace("feedfacefeedface", mine)
    assert error_text(applied).endswith(expected)
    assert error_text(restored).endswith(expected)
    assert person.messages == []
    assert len(sandbox.state.requests) == requests


async def test_a_confirmation_token_still_works_after_a_restart(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        first = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    arguments = {"plan_id": plan["plan_id"], "confirmation_token": first["confirmation_token"]}
    async with Client(build_server(settings)) as client:  # a new process would read the same key file
        done = ok(await client.call_tool("apply_version_cleanup", arguments))
    assert done["deleted_count"] == 5
    assert (settings.journal_dir / "key").stat().st_size == 32


async def test_plans_journals_and_the_key_are_private(settings: Settings, sandbox: SandboxServer) -> None:
    settings.journal_dir.mkdir(mode=0o755)
    (settings.journal_dir / "plans").mkdir(mode=0o777)
    (settings.journal_dir / "plans").chmod(0o777)
    async with Client(build_server(settings), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert applied["journal"] == f"journal/{datetime.now(UTC):%Y-%m}.jsonl"  # relative to journal_dir: no server path

    def mode(path: Path) -> int:
        return path.stat().st_mode & 0o777

    assert mode(settings.journal_dir / "plans") == mode(settings.journal_dir / "journal") == 0o700
    files = [
        settings.journal_dir / "key",
        plan_file(settings, plan["plan_id"]),
        settings.journal_dir / applied["journal"],
    ]
    assert [mode(path) for path in files] == [0o600] * 3


async def test_a_plan_expires_and_is_pruned_by_the_servers_clock(settings: Settings, sandbox: SandboxServer) -> None:
    now = [time.time()]
    async with Client(build_server(settings, clock=lambda: now[0]), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        kept = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        applied = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        ok(await client.call_tool("apply_version_cleanup", {"plan_id": applied["plan_id"]}))
        now[0] += 8 * 86_400
        expired = await client.call_tool("apply_version_cleanup", {"plan_id": kept["plan_id"]})
        restored = ok(await client.call_tool("restore_from_journal", {"plan_id": applied["plan_id"]}))
        now[0] += 28 * 86_400  # 35 days after it was made, a plan is gone
        ok(await client.call_tool("plan_version_cleanup", {**DESIGN}))  # saving a plan prunes
        gone = await client.call_tool("apply_version_cleanup", {"plan_id": kept["plan_id"]})
    created = datetime.fromtimestamp(now[0] - 36 * 86_400, UTC)
    assert f"plan {kept['plan_id']} expired on {(created + timedelta(days=7)):%Y-%m-%dT%H:%M}" in error_text(expired)
    assert "make a new one" in error_text(expired)
    assert restored["restored"] == 5  # an expired plan still restores what it deleted
    assert "no cleanup plan" in error_text(gone)
    assert not plan_file(settings, kept["plan_id"]).exists()
    assert not plan_file(settings, applied["plan_id"]).exists()


async def test_errors_show_no_server_path_and_a_long_plan_id_is_a_clear_error(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        ok(await client.call_tool("plan_version_cleanup", DESIGN))  # the plans directory exists
        results = [
            await client.call_tool(tool, {"plan_id": plan_id})
            for tool in ("apply_version_cleanup", "restore_from_journal")
            for plan_id in ("a" * 300, "feedfacefeedface", "../x")
        ]
        (settings.journal_dir / "plans").rename(settings.journal_dir / "moved")
        (settings.journal_dir / "plans").write_text("a file where the plans directory goes")
        broken = await client.call_tool("plan_version_cleanup", DESIGN)
    texts = [error_text(result) for result in [*results, broken]]
    assert not [text for text in texts if str(settings.journal_dir.parent) in text or "state/" in text]
    assert all("plan_id: at most 64 characters, got 300" in texts[i] for i in (0, 3))  # refused by the schema
    assert all("is not a plan id" in texts[i] for i in (2, 5))
    assert all(len(texts[i]) < 250 for i in (0, 3))
    assert "could not save the cleanup plan" in texts[-1]


async def test_listing_tools_writes_nothing_to_the_state_directory(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        assert len((await client.list_tools()).tools) == 36
    assert not settings.journal_dir.exists()  # the key is made when first needed, not at start-up


async def test_a_delete_whose_answer_was_lost_is_journaled_as_deleted_and_can_be_restored(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        # The first DELETE goes through, but its answer is lost: the retry then finds the version gone.
        sandbox.state.faults.script("DELETE", "*/versions/*", [Fault(reset=True, after=True)])
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        restored = ok(await client.call_tool("restore_from_journal", {"plan_id": plan["plan_id"]}))
    assert (applied["deleted_count"], applied["already_gone"]) == (5, 0)
    assert restored["restored"] == 5
    assert len(sandbox.state.package(DEMO_ORG, "container", "multi/app").active_versions()) == 15


# --- Manifests read once: ghcr.io counts every manifest GET as a download (github/manifests.py). ---

WEB_CLEANUP = {**WEB, "tagged": "untagged", "keep_younger_than_days": 1}
WEB_MANIFESTS = 345  # web/api's active versions: single-platform images, each read by its digest


def manifest_gets(sandbox: SandboxServer) -> int:
    return sum(r.method == "GET" and "/manifests/" in r.raw_path for r in sandbox.state.requests)


def same_plan(plan: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in plan.items() if key not in ("plan_id", "message")}


async def test_a_second_plan_reads_no_manifest_from_the_registry(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
        read_by_first = manifest_gets(sandbox)
        second = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
    assert first["delete"] > 0
    assert first["packages"][0]["manifests"] == second["packages"][0]["manifests"] == "read 345 manifest(s)"
    assert (read_by_first, manifest_gets(sandbox)) == (WEB_MANIFESTS, WEB_MANIFESTS)
    assert same_plan(second) == same_plan(first)


async def test_another_server_process_on_the_same_journal_dir_reads_no_manifest_again(
    settings: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
    config = tmp_path / "config.toml"
    config.write_text(f"journal_dir = {json.dumps(str(settings.journal_dir))}\nhide_unusable_tools = false\n")
    environment = clean_env(
        GITHUB_API_URL=sandbox.url,
        GITHUB_REGISTRY_URL=sandbox.url,
        GITHUB_TOKEN=DEMO_TOKEN,
        GITHUB_PACKAGES_MCP_CONFIG=str(config),
    )
    async with Client(StdioServerParameters(command=COMMAND[0], args=COMMAND[1:], env=environment)) as client:
        second = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
    assert manifest_gets(sandbox) == WEB_MANIFESTS
    assert same_plan(second) == same_plan(first)


async def test_damaged_cache_files_are_ignored_and_read_from_the_registry_again(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
        entries = sorted((settings.journal_dir / "manifests").iterdir())
        entries[0].write_bytes(b"\x00garbage")
        entries[1].write_bytes(b"")
        entries[2].write_bytes(entries[3].read_bytes())  # another manifest: not the one its name is for
        second = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
        read_by_second = manifest_gets(sandbox) - WEB_MANIFESTS
        third = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
    assert read_by_second == 3
    assert manifest_gets(sandbox) == WEB_MANIFESTS + 3  # read again once, kept again
    assert same_plan(first) == same_plan(second) == same_plan(third)


async def test_a_manifest_that_does_not_hash_to_its_digest_is_refused_and_never_kept(
    settings: Settings, sandbox: SandboxServer
) -> None:
    [orphan] = [v for v in sandbox.state.package(DEMO_ORG, "container", "multi/app").versions if v.id == 3390112401]
    another = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}
    sandbox.state.faults.script("GET", f"/v2/*/manifests/{orphan.name}*", [Fault(status=200, body=another)])
    async with Client(build_server(settings)) as client:
        refused = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        read_before = manifest_gets(sandbox)
        planned = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
    assert refused["delete"] == 0
    assert decisions(refused)[3390112401]["rule"] == (
        "kept: 1 manifest(s) could not be read (as sha256:3aef28282565…: the registry answered it with a manifest "
        "of another digest), so nothing in this package is deleted"
    )
    assert manifest_gets(sandbox) - read_before == 1  # only the refused one is read again
    assert planned["delete"] == 5


async def test_a_cache_that_cannot_be_used_never_stops_a_plan_and_is_logged_once(
    settings: Settings, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings.journal_dir.mkdir()
    (settings.journal_dir / "manifests").write_text("a file where the manifest cache goes")
    with caplog.at_level(logging.WARNING, "github_packages_mcp"):
        async with Client(build_server(settings)) as client:
            first = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
            second = ok(await client.call_tool("plan_version_cleanup", WEB_CLEANUP))
    assert same_plan(first) == same_plan(second)
    assert manifest_gets(sandbox) == 2 * WEB_MANIFESTS
    assert len([record for record in caplog.records if "manifest cache" in record.getMessage()]) == 1


async def test_a_journal_dir_others_could_write_to_is_made_private_when_the_server_first_keeps_something(
    settings: Settings,
) -> None:
    settings.journal_dir.mkdir(parents=True)
    settings.journal_dir.chmod(0o777)
    async with Client(build_server(settings)) as client:
        ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
    assert settings.journal_dir.stat().st_mode & 0o777 == 0o700
