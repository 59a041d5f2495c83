"""Deletes never reach GitHub without the person's explicit confirmation, by form or by token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp.client.session
import pytest
from mcp import Client, MCPError
from mcp.client.session import ClientRequestContext
from mcp_types import METHOD_NOT_FOUND, ElicitRequestParams, ElicitResult, ErrorData

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.state.local import FileLedger
from github_packages_mcp.toolkit.tokens import ConfirmationTokens, TokenRejected
from tests.helpers import Person, StoppedClock, error_text, ok

pytestmark = pytest.mark.anyio

PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}


def deletes(sandbox: SandboxServer) -> list[str]:
    return [r.raw_path for r in sandbox.state.requests if r.method == "DELETE"]


async def a_version(settings: Settings, *, tagged: bool) -> dict[str, Any]:
    async with Client(build_server(settings)) as client:
        listing = ok(await client.call_tool("list_org_package_versions", {**PACKAGE, "per_page": 100}))
    return next(v for v in listing["items"] if bool(v["tags"]) is tagged)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_form_names_owner_type_package_version_and_tags(
    settings: Settings, sandbox: SandboxServer, mode: str
) -> None:
    version = await a_version(settings, tagged=True)
    person = Person(typed="web/api")
    async with Client(build_server(settings), mode=mode, elicitation_callback=person) as client:  # type: ignore[arg-type]
        result = ok(
            await client.call_tool("delete_org_package_version", {**PACKAGE, "package_version_id": version["id"]})
        )
    assert result["status"] == "deleted"
    [message] = person.messages
    for fact in (DEMO_ORG, "container", "'web/api'", str(version["id"]), version["name"], *version["tags"]):
        assert fact in message
    assert deletes(sandbox) == [f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/{version['id']}"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize(
    ("person", "status"),
    [
        (Person("decline"), "declined"),
        (Person("cancel"), "cancelled"),
        (Person(typed="web"), "not_confirmed"),
        (Person(typed="WEB/API"), "not_confirmed"),
    ],
    ids=["decline", "cancel", "wrong-name", "wrong-case"],
)
async def test_anything_but_the_exact_name_deletes_nothing_and_says_so(
    settings: Settings, sandbox: SandboxServer, mode: str, person: Person, status: str
) -> None:
    async with Client(build_server(settings), mode=mode, elicitation_callback=person) as client:  # type: ignore[arg-type]
        result = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert (result["deleted"], result["status"]) == (False, status)
    assert result["message"].startswith("Nothing was deleted")
    assert deletes(sandbox) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_without_forms_gets_a_summary_and_a_token_that_works_once(
    settings: Settings, sandbox: SandboxServer, mode: str
) -> None:
    version = await a_version(settings, tagged=False)
    arguments = {**PACKAGE, "package_version_id": version["id"]}
    async with Client(build_server(settings), mode=mode) as client:  # type: ignore[arg-type]
        first = ok(await client.call_tool("delete_org_package_version", arguments))
        assert first["confirmation_required"] is True and first["deleted"] is False
        assert str(version["id"]) in first["summary"] and "untagged" in first["summary"]
        assert deletes(sandbox) == []

        token = first["confirmation_token"]
        done = ok(await client.call_tool("delete_org_package_version", {**arguments, "confirmation_token": token}))
        assert done["deleted"] is True
        ok(await client.call_tool("restore_org_package_version", arguments))
        again = await client.call_tool("delete_org_package_version", {**arguments, "confirmation_token": token})
    assert "already used" in error_text(again)
    assert len(deletes(sandbox)) == 1


async def test_a_spent_token_stays_spent_after_a_restart_and_in_another_process(
    settings: Settings, sandbox: SandboxServer
) -> None:
    """Without state_url the spent tokens are files in journal_dir, as the key is: a new server (the Inspector
    starts one per call) refuses a token another spent; before, it held them in memory and deleted again."""
    version = await a_version(settings, tagged=False)
    arguments = {**PACKAGE, "package_version_id": version["id"]}
    async with Client(build_server(settings)) as client:
        token = ok(await client.call_tool("delete_org_package_version", arguments))["confirmation_token"]
        ok(await client.call_tool("delete_org_package_version", {**arguments, "confirmation_token": token}))
        ok(await client.call_tool("restore_org_package_version", arguments))
    async with Client(build_server(settings)) as restarted:
        again = await restarted.call_tool("delete_org_package_version", {**arguments, "confirmation_token": token})
    assert "already used" in error_text(again)
    assert len(deletes(sandbox)) == 1
    spent = settings.journal_dir / "spent"
    assert [path.stat().st_mode & 0o777 for path in [spent, *spent.iterdir()]] == [0o700, 0o600]


async def test_a_token_is_bound_to_its_exact_arguments(settings: Settings, sandbox: SandboxServer) -> None:
    one, other = await a_version(settings, tagged=False), await a_version(settings, tagged=True)
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("delete_org_package_version", {**PACKAGE, "package_version_id": one["id"]}))
        moved = await client.call_tool(
            "delete_org_package_version",
            {**PACKAGE, "package_version_id": other["id"], "confirmation_token": first["confirmation_token"]},
        )
        forged = await client.call_tool(
            "delete_org_package_version",
            {
                **PACKAGE,
                "package_version_id": one["id"],
                "confirmation_token": "9999999999.0123456789abcdef." + "A" * 43,
            },
        )
    assert "not issued for delete_org_package_version with exactly these arguments" in error_text(moved)
    assert "not issued" in error_text(forged)
    assert deletes(sandbox) == []


async def test_an_expired_token_deletes_nothing(settings: Settings, sandbox: SandboxServer) -> None:
    now = [1_000_000.0]
    server = build_server(settings.with_changes(confirmation_ttl_seconds=300), clock=lambda: now[0])
    async with Client(server) as client:
        first = ok(await client.call_tool("delete_org_package", PACKAGE))
        now[0] += 301
        late = await client.call_tool(
            "delete_org_package", {**PACKAGE, "confirmation_token": first["confirmation_token"]}
        )
    assert "expired" in error_text(late)
    assert deletes(sandbox) == []


async def test_elicitation_mode_refuses_clients_that_cannot_show_a_form(
    settings: Settings, sandbox: SandboxServer
) -> None:
    strict = settings.with_changes(confirmation="elicitation")
    async with Client(build_server(strict)) as client:
        refused = await client.call_tool("delete_org_package", PACKAGE)
    async with Client(build_server(strict), elicitation_callback=Person(typed="web/api")) as client:  # type: ignore[arg-type]
        accepted = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert "requires confirmation through a form" in error_text(refused)
    assert accepted["deleted"] is True
    assert len(deletes(sandbox)) == 1


async def test_token_mode_never_shows_a_form(settings: Settings, sandbox: SandboxServer) -> None:
    person = Person(typed="web/api")
    tokens_only = settings.with_changes(confirmation="token")
    async with Client(build_server(tokens_only), elicitation_callback=person) as client:  # type: ignore[arg-type]
        result = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert result["status"] == "confirmation_required"
    assert person.messages == []
    assert deletes(sandbox) == []


async def test_read_only_mode_cannot_delete_or_restore(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings.with_changes(read_only=True))) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("delete_org_package", PACKAGE)
    assert not {name for name in names if name.startswith(("delete_", "restore_"))}
    assert result.is_error
    assert deletes(sandbox) == []


async def test_tokens_reject_other_tools_malformed_tokens_and_other_processes() -> None:
    tokens, arguments = ConfirmationTokens(300), {"package_type": "npm", "package_name": "x"}
    token, _ = tokens.issue("delete_my_package", arguments, "the npm package 'x'")
    with pytest.raises(TokenRejected, match="not issued"):
        await tokens.redeem(token, "delete_org_package", arguments, "the npm package 'x'")
    with pytest.raises(TokenRejected, match="malformed"):
        await tokens.redeem("not-a-token", "delete_my_package", arguments, "the npm package 'x'")
    with pytest.raises(TokenRejected, match="not issued"):  # another process has another secret
        await ConfirmationTokens(300).redeem(token, "delete_my_package", arguments, "the npm package 'x'")
    await tokens.redeem(token, "delete_my_package", arguments, "the npm package 'x'")
    with pytest.raises(TokenRejected, match="already used"):
        await tokens.redeem(token, "delete_my_package", arguments, "the npm package 'x'")


async def test_a_token_stops_working_when_the_target_changes_after_it_was_shown(
    settings: Settings, sandbox: SandboxServer
) -> None:
    other = await a_version(settings, tagged=False)
    async with Client(build_server(settings)) as client:
        first = ok(await client.call_tool("delete_org_package", PACKAGE))
        assert "345 of its versions" in first["summary"]
        # Meanwhile someone else deletes a version: the package the person approved is not the same any more.
        url = f"{sandbox.url}/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/{other['id']}"
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as someone_else:
            (await someone_else.delete(url)).raise_for_status()
        token = first["confirmation_token"]
        changed = await client.call_tool("delete_org_package", {**PACKAGE, "confirmation_token": token})
    assert "the target changed since it was shown (it is now: " in error_text(changed)
    assert "344 of its versions" in error_text(changed)
    assert len(deletes(sandbox)) == 1


@pytest.mark.parametrize(
    ("version", "form"), [("2024-11-05", False), ("2025-03-26", False), ("2025-06-18", True), ("2025-11-25", True)]
)
async def test_forms_only_where_the_protocol_has_them(
    settings: Settings, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, version: str, form: bool
) -> None:
    # The client asks for `version` in its handshake and declares elicitation whatever the version.
    monkeypatch.setattr(mcp.client.session, "LATEST_HANDSHAKE_VERSION", version)
    person = Person(typed="web/api")
    async with Client(build_server(settings), mode="legacy", elicitation_callback=person) as client:  # type: ignore[arg-type]
        assert client.protocol_version == version
        result = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert bool(person.messages) is form
    assert result["status"] == ("deleted" if form else "confirmation_required")


async def unknown_method(_context: ClientRequestContext, _params: ElicitRequestParams) -> ErrorData:
    return ErrorData(code=METHOD_NOT_FOUND, message="Method not found")


async def broken(_context: ClientRequestContext, _params: ElicitRequestParams) -> ElicitResult:
    raise RuntimeError("the client's form crashed")


async def never_answers(_context: ClientRequestContext, _params: ElicitRequestParams) -> ElicitResult:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("callback", "said"),
    [
        (unknown_method, "the client could not show the confirmation form (it answered with an error)"),
        (broken, "the client could not show the confirmation form (it answered with an error)"),
        (never_answers, "no answer to the confirmation form came within 1 s"),
    ],
    ids=["error", "raises", "no-answer"],
)
async def test_a_form_that_fails_confirms_nothing_and_hands_out_no_token(
    settings: Settings, sandbox: SandboxServer, callback: Any, said: str
) -> None:
    # The form's wait is the confirmation's lifetime (at least 10 s when configured); a second keeps the test short.
    quick = settings.model_copy(update={"confirmation_ttl_seconds": 1})
    with anyio.fail_after(10):
        async with Client(build_server(quick), mode="legacy", elicitation_callback=callback) as client:
            result = ok(await client.call_tool("delete_org_package", PACKAGE))
    assert (result["deleted"], result["status"]) == (False, "not_confirmed")
    assert result["message"] == (
        f"Nothing was deleted: {said}; call again to show the form again, or, if this client cannot show forms, "
        'set confirmation = "token" in the server\'s configuration.'
    )
    assert "confirmation_token" not in result
    assert deletes(sandbox) == []


@pytest.mark.parametrize("callback", [unknown_method, broken], ids=["error", "raises"])
async def test_on_2026_07_28_a_failed_form_ends_the_call_in_the_client(
    settings: Settings, sandbox: SandboxServer, callback: Any
) -> None:
    # The form travels inside the result (InputRequiredResult): a client that cannot answer it never calls back,
    # so the server has nothing to settle and no token to give.
    async with Client(build_server(settings), elicitation_callback=callback) as client:
        with pytest.raises((MCPError, ExceptionGroup)) as failed:
            await client.call_tool("delete_org_package", PACKAGE)
    assert "confirmation_token" not in repr(failed.value)
    assert deletes(sandbox) == []


async def accepted_without_content(_context: ClientRequestContext, _params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept")


async def accepted_empty(_context: ClientRequestContext, _params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={})


async def accepted_a_number(_context: ClientRequestContext, _params: ElicitRequestParams) -> ElicitResult:
    return ElicitResult(action="accept", content={"confirm": 5})


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize(
    "callback", [accepted_without_content, accepted_empty, accepted_a_number], ids=["no-content", "empty", "number"]
)
async def test_an_accepted_form_without_a_typed_answer_confirms_nothing(
    settings: Settings, sandbox: SandboxServer, mode: str, callback: Any
) -> None:
    async with Client(build_server(settings), mode=mode, elicitation_callback=callback) as client:  # type: ignore[arg-type]
        result = ok(await client.call_tool("apply_version_cleanup", {"plan_id": await a_plan(client)}))
    assert (result["deleted"], result["status"]) == (False, "not_confirmed")
    assert result["message"].startswith(
        "Nothing was deleted: the confirmation form came back accepted, but without a typed answer; call again"
    )
    assert "confirmation_token" not in result
    assert deletes(sandbox) == []


async def a_plan(client: Client) -> str:
    plan = ok(
        await client.call_tool("plan_version_cleanup", {**PACKAGE, "package_name": "multi/app", "tagged": "untagged"})
    )
    plan_id: str = plan["plan_id"]
    return plan_id


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_that_can_show_the_form_cannot_confirm_with_a_token(
    settings: Settings, sandbox: SandboxServer, mode: str
) -> None:
    # A token handed to a client without forms (the same caller, say another window of the same assistant).
    async with Client(build_server(settings)) as without_forms:
        token = ok(await without_forms.call_tool("delete_org_package", PACKAGE))["confirmation_token"]
    person = Person(typed="web/api")
    async with Client(build_server(settings), mode=mode, elicitation_callback=person) as client:  # type: ignore[arg-type]
        refused = await client.call_tool("delete_org_package", {**PACKAGE, "confirmation_token": token})
        made_up = await client.call_tool("delete_org_package", {**PACKAGE, "confirmation_token": "yes"})
    for result in (refused, made_up):
        assert error_text(result).endswith(
            "Nothing was deleted: confirmation here is by a form the person answers, not by token; call "
            "delete_org_package again without confirmation_token to ask them."
        )
    assert person.messages == []
    assert deletes(sandbox) == []


async def test_spent_token_files_go_once_their_tokens_expired(tmp_path: Path) -> None:
    clock = StoppedClock()
    ledger = FileLedger(tmp_path, clock)
    assert await ledger.spend_once("0123456789abcdef", clock.now + 300, b"record") is None
    assert await ledger.spend_once("0123456789abcdef", clock.now + 300, b"other") == b"record"
    clock.now += 301 + FileLedger.PRUNE_EVERY_SECONDS
    assert await ledger.spend_once("fedcba9876543210", clock.now + 300, b"record") is None
    assert [path.name for path in (tmp_path / "spent").iterdir()] == ["fedcba9876543210"]
    with pytest.raises(ValueError, match="hex"):
        await ledger.spend_once("../key", clock.now + 300, b"record")
