"""What an apply does on the real ghcr.io that a careless one would get wrong, through the MCP protocol against the
sandbox: a cancel that arrives while the run waits for its next delete's turn (deletes are spaced a second apart,
as GitHub asks) sends no further DELETE, and a 404 to a DELETE is only "already gone" if the version is."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_OTHER_USER, Fault, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import Person, error_text, ok

pytestmark = pytest.mark.anyio

MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
# mona-demo's public image: the demo token's user sees it, and does not administer it.
TOOLS = {"username": DEMO_OTHER_USER, "package_type": "container", "package_name": "tools/cli"}
SPACING = 1.0  # seconds between deletes, as GitHub asks and as the server does by default
WATCHED = 1.5  # seconds a cancelled run is watched: the next DELETE, had it gone on, would come within one spacing


def deletes(sandbox: SandboxServer) -> list[str]:
    return [r.raw_path for r in sandbox.state.requests if r.method == "DELETE"]


def journal_of(settings: Settings) -> list[dict[str, Any]]:
    files = sorted((settings.journal_dir / "journal").glob("*.jsonl"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(10):
        while not condition():  # noqa: ASYNC110  (the sandbox's records offer no event)
            await anyio.sleep(0.005)


async def test_a_cancel_while_an_apply_waits_for_its_next_turn_sends_no_more_deletes(
    settings: Settings, sandbox: SandboxServer
) -> None:
    spaced = settings.with_changes(mutation_interval_seconds=SPACING)
    async with Client(build_server(spaced), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "apply_version_cleanup", {"plan_id": plan["plan_id"]})
            await until(lambda: len(deletes(sandbox)) == 1)  # the first delete went; the run waits for the next turn
            group.cancel_scope.cancel()  # as a person who presses stop
        await anyio.sleep(WATCHED)
        assert len(deletes(sandbox)) == 1, deletes(sandbox)
        # The journal has the one delete, intent and outcome, and nothing of the versions never sent.
        assert [entry["result"] for entry in journal_of(spaced)] == ["deleting", "deleted"]
        person = Person(typed="4")
        async with Client(build_server(spaced), elicitation_callback=person) as resumed:  # type: ignore[arg-type]
            done = ok(await resumed.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    assert done["deleted_count"] == 4
    assert len(set(deletes(sandbox))) == 5


async def test_a_cancel_while_a_single_delete_waits_for_its_turn_sends_nothing(
    settings: Settings, sandbox: SandboxServer
) -> None:
    spaced = settings.with_changes(mutation_interval_seconds=SPACING)
    first, second = 3390112401, 3391540077  # multi/app's orphan images
    person = Person(typed="multi/app")
    async with Client(build_server(spaced), elicitation_callback=person) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**MULTI, "package_version_id": first}))
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "delete_org_package_version", {**MULTI, "package_version_id": second})
            await until(lambda: len(person.messages) == 2)  # confirmed: now it waits a spacing after the first
            await anyio.sleep(0.2)
            group.cancel_scope.cancel()
        await anyio.sleep(WATCHED)
    assert [path.rsplit("/", 1)[1] for path in deletes(sandbox)] == [str(first)]
    assert [entry["result"] for entry in journal_of(spaced)] == ["deleting", "deleted"]  # nothing of the second


async def test_a_404_to_a_delete_of_a_version_still_there_is_a_failure_that_applying_again_retries(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="2")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**TOOLS, "tagged": "untagged"}))
        assert plan["delete"] == 2
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        again = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    for run in (applied, again):
        assert (run["deleted_count"], run["already_gone"], run["skipped"], run["failed"]) == (0, 0, 0, 2)
        assert "2 failed (applying the plan again retries them" in run["message"]
        for failure in run["skipped_versions"]:
            assert failure["reason"] == (
                "GitHub answered 404 (Package not found) but the version is still there: the token likely lacks "
                "admin rights on this package (GitHub answers a delete without them with 404, not 403)"
            )
    assert len(deletes(sandbox)) == 4  # each version was tried again
    assert len(sandbox.state.package(DEMO_OTHER_USER, "container", "tools/cli").active_versions()) == 6
    outcomes = [entry for entry in journal_of(settings) if entry["result"] != "deleting"]
    assert [entry["result"] for entry in outcomes] == ["failed"] * 4
    assert all("lacks admin rights" in entry["detail"] for entry in outcomes)


async def test_a_retried_delete_answered_404_after_a_lost_answer_is_checked_too(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="2")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**TOOLS, "tagged": "untagged"}))
        # The first DELETE is answered (404: no admin rights) but the answer is lost; its retry meets 404 again.
        sandbox.state.faults.script("DELETE", "*/versions/*", [Fault(reset=True, after=True)])
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        history = ok(await client.call_tool("list_deletion_history", {}))
    assert (applied["deleted_count"], applied["failed"]) == (0, 2)
    assert len(deletes(sandbox)) == 3  # the first twice
    assert history["restorable"] == 0  # nothing claims a deletion that did not happen


async def test_a_single_delete_answered_404_but_still_there_says_why(
    settings: Settings, sandbox: SandboxServer
) -> None:
    version = {**TOOLS, "package_version_id": 1_080_000_301}
    async with Client(build_server(settings), elicitation_callback=Person(typed="tools/cli")) as client:  # type: ignore[arg-type]
        refused = await client.call_tool("delete_user_package_version", version)
    text = error_text(refused)
    assert (
        "Nothing was deleted by DELETE /users/mona-demo/packages/container/tools%2Fcli/versions/1080000301: "
        "GitHub answered 404 (Package not found) but the version is still there: the token likely lacks admin "
        "rights on this package"
    ) in text
    assert text.endswith("Use a classic token of a user with the Admin role on the package (its settings on GitHub, "
                         "Manage access), then try again.")  # fmt: skip
    [intent, outcome] = journal_of(settings)
    assert (intent["result"], outcome["result"]) == ("deleting", "failed")
    assert "still there" in outcome["detail"]
