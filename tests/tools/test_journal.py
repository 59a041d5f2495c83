"""The journal through the MCP protocol: every delete and restore the server sends is journaled, whichever tool
sent it; list_deletion_history answers "what did we delete this week"; restore_from_journal restores by version
or package id or by time window, without a plan id."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.sandbox import DEMO_LOGIN, DEMO_ORG, DEMO_READ_TOKEN, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.server.transports import http_app
from tests.helpers import Person, error_text, ok
from tests.server.http_serving import http_client, serving

pytestmark = pytest.mark.anyio

WEB = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
OCTO_UTILS = {"package_type": "npm", "package_name": "octo-utils"}  # the token's user's, 41_200_102
VERSION = 3000000000  # an untagged version of web/api


def posts(sandbox: SandboxServer) -> list[str]:
    return [r.raw_path for r in sandbox.state.requests if r.method == "POST"]


async def test_a_single_delete_and_restore_are_journaled_with_who_what_when_and_result(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
        deleted = ok(await client.call_tool("list_deletion_history", {}))
        ok(await client.call_tool("restore_org_package_version", {**WEB, "package_version_id": VERSION}))
        restored = ok(await client.call_tool("list_deletion_history", {}))
    [line] = deleted["entries"]
    assert line["result"] == "deleted"
    assert line["restorable"] is True
    assert (line["owner_kind"], line["owner_login"], line["package_name"]) == ("org", DEMO_ORG, "web/api")
    assert line["version_id"] == VERSION
    assert line["name"].startswith("sha256:")
    assert line["tags"] == []
    assert line["tool"] == "delete_org_package_version"
    assert line["caller"] == identity_of(DEMO_TOKEN)
    assert line["client"].startswith("mcp ")  # the Python SDK client's name and version
    assert abs(time.time() - _epoch(line["time"])) < 60
    assert [(e["result"], e["restorable"]) for e in restored["entries"]] == [("restored", False), ("deleted", False)]
    assert restored["counts"] == {"restored": 1, "deleted": 1}
    assert DEMO_TOKEN not in json.dumps(restored)


async def test_restore_by_version_and_package_id_without_a_plan(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="octo-utils")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_my_package", OCTO_UTILS))
    async with Client(build_server(settings), elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
    async with Client(build_server(settings)) as client:  # a new session, as the next day would be
        history = ok(await client.call_tool("list_deletion_history", {"since": "7d"}))
        package_id = next(e["package_id"] for e in history["entries"] if "version_id" not in e)
        by_package = ok(await client.call_tool("restore_from_journal", {"package_ids": [package_id]}))
        by_version = ok(await client.call_tool("restore_from_journal", {"version_ids": [VERSION]}))
        again = ok(await client.call_tool("restore_from_journal", {"version_ids": [VERSION]}))
    assert package_id == 41_200_102
    assert (by_package["restored"], by_version["restored"]) == (1, 1)
    assert again["restored"] == 0
    assert "Nothing to restore" in again["message"]
    assert posts(sandbox) == [
        "/user/packages/npm/octo-utils/restore",
        f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/{VERSION}/restore",
    ]
    sandbox.state.package(DEMO_LOGIN, "npm", "octo-utils")  # active again
    assert VERSION in {v.id for v in sandbox.state.package(DEMO_ORG, "container", "web/api").active_versions()}


async def test_restore_by_time_window_takes_what_a_cleanup_and_a_single_delete_did(
    settings: Settings, sandbox: SandboxServer
) -> None:
    now = [time.time()]
    server = build_server(settings, clock=lambda: now[0])
    async with Client(server, elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
    now[0] += 3 * 3600
    async with Client(build_server(settings, clock=lambda: now[0]), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        week = ok(await client.call_tool("list_deletion_history", {"since": "7d"}))
        recent = ok(await client.call_tool("list_deletion_history", {"since": "1h", "package_name": "multi/*"}))
        restored = ok(await client.call_tool("restore_from_journal", {"since": "1h"}))
        left = ok(await client.call_tool("list_deletion_history", {"since": "7d"}))
    assert week["counts"] == {"deleted": 6}
    assert {e["tool"] for e in week["entries"]} == {"delete_org_package_version", "apply_version_cleanup"}
    assert {e["plan_id"] for e in week["entries"] if e["tool"] == "apply_version_cleanup"} == {plan["plan_id"]}
    assert recent["total"] == 5
    assert restored["restored"] == 5  # the cleanup's, not the delete of three hours before
    assert not [p for p in posts(sandbox) if str(VERSION) in p]
    assert left["restorable"] == 1


async def test_a_refused_delete_is_journaled_as_failed_and_a_declined_one_not_at_all(
    settings: Settings, sandbox: SandboxServer
) -> None:
    base = {"org": DEMO_ORG, "package_type": "container", "package_name": "base-image"}
    version = sandbox.state.package(DEMO_ORG, "container", "base-image").active_versions()[0].id
    async with Client(build_server(settings), elicitation_callback=Person(typed="base-image")) as client:  # type: ignore[arg-type]
        refused = await client.call_tool("delete_org_package_version", {**base, "package_version_id": version})
    async with Client(build_server(settings), elicitation_callback=Person(action="decline")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
        history = ok(await client.call_tool("list_deletion_history", {}))
    assert "5000 downloads" in error_text(refused)
    [line] = history["entries"]
    assert (line["result"], line["version_id"], line["restorable"]) == ("failed", version, False)
    assert line["detail"].startswith("400: Publicly visible package versions with more than 5000 downloads")


async def test_restore_needs_to_be_told_what_and_sends_nothing_otherwise(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        nothing = await client.call_tool("restore_from_journal", {})
        bad_time = await client.call_tool("restore_from_journal", {"since": "last tuesday"})
    assert "say what to restore: plan_id, version_ids, package_ids, or since" in error_text(nothing)
    assert "since: an ISO 8601 date or time" in error_text(bad_time)
    assert "'last tuesday'" in error_text(bad_time)
    assert sandbox.state.requests == []


@pytest.mark.parametrize("tool", ["restore_from_journal", "list_deletion_history"])
@pytest.mark.parametrize(
    ("window", "said"),
    [
        ({"since": "7d", "until": ""}, "until: an ISO 8601 date or time (2026-12-01, 2026-12-01T09:00:00Z) or an age"),
        ({"since": ""}, "since: an ISO 8601 date or time (2026-12-01, 2026-12-01T09:00:00Z) or an age"),
        ({"since": "7d", "until": "soon"}, "until: an ISO 8601 date or time"),
        ({"since": "1d", "until": "7d"}, "Z is not after since ("),  # the ages as times: no fixed date to name
        ({"since": "2026-12-01", "until": "2026-12-01"}, "until: 2026-12-01T00:00:00Z is not after since"),
    ],
    ids=["until-empty", "since-empty", "until-garbage", "until-before-since", "until-at-since"],
)
async def test_a_window_that_is_not_one_is_an_error_naming_the_argument_before_anything_is_read(
    settings: Settings, sandbox: SandboxServer, tool: str, window: dict[str, str], said: str
) -> None:
    # A plan that does not exist would be "not found" if it were looked up: the window is judged first.
    arguments = window | ({"plan_id": "feedfacefeedface"} if tool == "restore_from_journal" else {})
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(tool, arguments)
    assert said in error_text(result)
    assert "feedface" not in error_text(result)
    assert sandbox.state.requests == []


async def six_deletions(settings: Settings) -> list[int]:
    """A cleanup of multi/app's five untagged versions and a single delete in web/api; their version ids."""
    async with Client(build_server(settings), elicitation_callback=Person(typed="5")) as client:  # type: ignore[arg-type]
        plan = ok(await client.call_tool("plan_version_cleanup", {**MULTI, "tagged": "untagged"}))
        ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
    async with Client(build_server(settings), elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
    return [d["id"] for d in plan["packages"][0]["decisions"] if d["action"] == "delete"] + [VERSION]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_window_restore_shows_what_it_brings_back_and_restores_nothing_when_declined(
    settings: Settings, sandbox: SandboxServer, mode: str
) -> None:
    deleted = await six_deletions(settings)
    person = Person("decline")
    async with Client(build_server(settings), mode=mode, elicitation_callback=person) as client:  # type: ignore[arg-type]
        declined = ok(await client.call_tool("restore_from_journal", {"since": "1h"}))
    [question] = person.messages
    assert question.startswith(
        "Restore 6 deletion(s) this server journaled, in 2 package(s) ('multi/app', container owned by the "
        "organization acme-labs: 5 version(s); 'web/api', container owned by the organization acme-labs: 1 version(s))"
        ", selection digest "
    )
    assert f"'multi/app' {deleted[0]} ('sha256:" in question
    assert "untagged, deleted 20" in question and "by apply_version_cleanup" in question
    assert question.endswith("?\nType 6 (the number of packages and versions) to confirm.")
    assert (declined["status"], declined["restored"]) == ("declined", 0)
    assert declined["message"] == "Nothing was restored: the person declined."
    assert posts(sandbox) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_an_accepted_restore_brings_back_exactly_what_was_shown(
    settings: Settings, sandbox: SandboxServer, mode: str
) -> None:
    deleted = await six_deletions(settings)
    wrong, person = Person(typed="5"), Person(typed="6")
    async with Client(build_server(settings), mode=mode, elicitation_callback=wrong) as client:  # type: ignore[arg-type]
        miscounted = ok(await client.call_tool("restore_from_journal", {"since": "1h"}))
    async with Client(build_server(settings), mode=mode, elicitation_callback=person) as client:  # type: ignore[arg-type]
        restored = ok(await client.call_tool("restore_from_journal", {"since": "1h"}))
    assert (miscounted["status"], miscounted["restored"]) == ("not_confirmed", 0)
    assert miscounted["message"] == (
        "Nothing was restored: the answer '5' was not 6 (the number of packages and versions)."
    )
    assert (restored["status"], restored["restored"], restored["failed"]) == ("restored", 6, 0)
    assert sorted(int(path.split("/")[-2]) for path in posts(sandbox)) == sorted(deleted)


async def test_a_token_for_one_set_does_not_restore_another(settings: Settings, sandbox: SandboxServer) -> None:
    await six_deletions(settings)
    async with Client(build_server(settings)) as client:  # no forms: the token flow
        offered = ok(await client.call_tool("restore_from_journal", {"since": "1h"}))
        token = offered["confirmation_token"]
        other_arguments = await client.call_tool(
            "restore_from_journal", {"package_name": "multi/*", "since": "1h", "confirmation_token": token}
        )
        # Meanwhile one of the six comes back another way: the set the token was given for is not there any more.
        ok(await client.call_tool("restore_org_package_version", {**WEB, "package_version_id": VERSION}))
        other_set = await client.call_tool("restore_from_journal", {"since": "1h", "confirmation_token": token})
    assert offered["status"] == "confirmation_required"
    assert offered["summary"].startswith("This will restore 6 deletion(s) this server journaled, in 2 package(s)")
    assert "confirmation_token was not issued for restore_from_journal with exactly these arguments" in (
        error_text(other_arguments)
    )
    assert "the target changed since it was shown (it is now: 5 deletion(s) this server journaled, in 1 package(s)" in (
        error_text(other_set)
    )
    assert error_text(other_set).startswith("Error executing tool restore_from_journal: Nothing was restored: ")
    assert posts(sandbox) == [f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/{VERSION}/restore"]


async def test_what_was_restored_while_the_person_read_the_question_is_not_restored_again(
    settings: Settings, sandbox: SandboxServer
) -> None:
    deleted = await six_deletions(settings)

    async def meanwhile_someone_restores_one(context: Any, params: Any) -> Any:
        async with Client(build_server(settings)) as other:
            ok(await other.call_tool("restore_org_package_version", {**WEB, "package_version_id": VERSION}))
        return await Person(typed="6")(context, params)

    async with Client(
        build_server(settings), mode="legacy", elicitation_callback=meanwhile_someone_restores_one
    ) as client:
        restored = ok(await client.call_tool("restore_from_journal", {"since": "1h"}))
    assert restored["restored"] == 5
    assert len(posts(sandbox)) == 6  # the other's one, and the five the journal still called deleted
    assert sorted(int(path.split("/")[-2]) for path in posts(sandbox)) == sorted(deleted)


async def test_a_journal_line_written_without_the_servers_key_is_never_acted_on(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
        history = ok(await client.call_tool("list_deletion_history", {}))
        journal = settings.journal_dir / history["journal"]
        forged = json.loads(journal.read_text().splitlines()[0])
        forged.update(version_id=VERSION + 1)  # a line someone with write access to the state directory added
        with journal.open("a") as file:
            file.write(json.dumps(forged) + "\n")
        restored = ok(await client.call_tool("restore_from_journal", {"since": "1d"}))
        after = ok(await client.call_tool("list_deletion_history", {}))
    assert restored["restored"] == 1
    assert restored["failures"][0]["reason"].startswith("1 journal line(s) are malformed or fail their signature")
    assert posts(sandbox) == [f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/{VERSION}/restore"]
    assert after["unverified"] == 1


async def test_callers_with_their_own_tokens_see_only_their_own_lines_an_operator_sees_all(
    settings: Settings, sandbox: SandboxServer
) -> None:
    passing = settings.with_changes(http_auth="github", token=None)
    async with serving(http_app(passing)) as url:
        async with http_client(url, DEMO_TOKEN, person=Person(typed="web/api")) as mine:
            ok(await mine.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
            own = ok(await mine.call_tool("list_deletion_history", {}))
        async with http_client(url, DEMO_READ_TOKEN) as someone_else:
            theirs = ok(await someone_else.call_tool("list_deletion_history", {}))
            refused = ok(await someone_else.call_tool("restore_from_journal", {"version_ids": [VERSION]}))
    # One operator whose token changed since: stdio, the same journal, another token.
    async with Client(build_server(settings.with_changes(token=DEMO_READ_TOKEN))) as operator:
        all_lines = ok(await operator.call_tool("list_deletion_history", {}))
    assert (own["total"], theirs["total"], all_lines["total"]) == (1, 0, 1)
    assert refused["restored"] == 0
    assert posts(sandbox) == []


def _epoch(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()


async def test_a_package_glob_of_the_journal_is_bounded_and_matched_in_linear_time(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """A 1 MB glob once held every other caller for 9.7 s in fnmatch; now it is refused, and a long one matches fast."""
    async with Client(build_server(settings), elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        ok(await client.call_tool("delete_org_package_version", {**WEB, "package_version_id": VERSION}))
        huge = await client.call_tool("list_deletion_history", {"package_name": "*a" * 500_000})
        refused = await client.call_tool("restore_from_journal", {"since": "1d", "package_name": "[" * 300})
        started = time.perf_counter()
        long = ok(await client.call_tool("list_deletion_history", {"package_name": "*a" * 120 + "*"}))
        elapsed = time.perf_counter() - started
        named = ok(await client.call_tool("list_deletion_history", {"package_name": "web/*"}))
    assert "package_name: at most 256 characters, got 1000000" in error_text(huge)
    assert "package_name: at most 256 characters, got 300" in error_text(refused)
    assert not posts(sandbox)  # nothing restored
    assert long["total"] == 0 and elapsed < 5  # fnmatch: exponential in the number of `*` on a near miss
    assert [entry["result"] for entry in named["entries"]] == ["deleted"]
