"""Narrowing a cleanup plan through MCP against the sandbox's acme-labs/gateway: a new plan deleting exactly the
chosen set (parts follow their image), applied through the unchanged confirmation flows; the original untouched."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from pydantic import SecretStr

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_READ_TOKEN, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import Person, error_text, ok

pytestmark = pytest.mark.anyio

GATEWAY = {"org": DEMO_ORG, "package_type": "container", "package_name": "gateway"}
# What these rules delete in acme-labs/gateway (sandbox/demo_images.py `gateway`): v3 (index, its two platform
# images and its signature), v2 (a partial index and its one platform image left), the CI build, four orphans and
# a superseded referrers index.
RULES = {"keep_latest": 1, "delete_orphans": True, "delete_partial_images": True}
V3_INDEX, V3_PARTS = 3430000103, {3430000101, 3430000102, 3430000104}
V2_INDEX, V2_AMD64 = 3430000153, 3430000151
CI_BUILD, ORPHAN_SIGNATURE, SUPERSEDED_INDEX = 3430000301, 3430000202, 3430000502
ALL = {
    V3_INDEX,
    *V3_PARTS,
    V2_INDEX,
    V2_AMD64,
    CI_BUILD,
    SUPERSEDED_INDEX,
    3430000202,
    3430000203,
    3430000204,
    3430000205,
}


def deleted_ids(sandbox: SandboxServer) -> set[int]:
    return {int(r.raw_path.rsplit("/", 1)[1]) for r in sandbox.state.requests if r.method == "DELETE"}


def decided(plan: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {d["id"]: d for package in plan["packages"] for d in package["decisions"]}


async def plan_and_narrow(client: Client, chosen: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    plan = ok(await client.call_tool("plan_version_cleanup", {**GATEWAY, **RULES}))
    assert {i for i, d in decided(plan).items() if d["action"] == "delete"} == ALL
    narrowed = await client.call_tool(
        "narrow_version_cleanup", {"plan_id": plan["plan_id"], "delete_version_ids": chosen}
    )
    return plan, ok(narrowed)


async def test_a_narrowed_plan_keeps_parts_with_their_image_and_the_form_flow_deletes_exactly_it(
    settings: Settings, sandbox: SandboxServer
) -> None:
    person = Person(typed="6")
    async with Client(build_server(settings), elicitation_callback=person) as client:  # type: ignore[arg-type]
        plan, narrowed = await plan_and_narrow(client, [V3_INDEX, CI_BUILD, ORPHAN_SIGNATURE])
        assert sandbox.state.requests and deleted_ids(sandbox) == set()
        applied = ok(await client.call_tool("apply_version_cleanup", {"plan_id": narrowed["plan_id"]}))
    expected = {V3_INDEX, *V3_PARTS, CI_BUILD, ORPHAN_SIGNATURE}
    assert narrowed["plan_id"] != plan["plan_id"]
    assert (narrowed["delete"], narrowed["keep"], narrowed["owner"]) == (6, 6, plan["owner"])
    decisions = decided(narrowed)
    assert {i for i, d in decisions.items() if d["action"] == "delete"} == expected
    assert decisions[3430000101]["rule"] == "delete: part of a chosen image"
    assert (decisions[V2_INDEX]["rule"], decisions[V2_AMD64]["rule"]) == (
        "kept: not chosen",
        "kept: part of a kept image",
    )
    assert narrowed["packages"][0]["by_rule"] == {"chosen": 3, "deleted_with": 3, "not_chosen": 5, "kept_with": 1}
    assert f"Narrowed from plan {plan['plan_id']}: 6 of its 12" in narrowed["message"]
    [question] = person.messages
    assert f"planned as {narrowed['plan_id']}, narrowed from {plan['plan_id']}, (plan digest" in question
    assert applied["deleted_count"] == 6
    assert deleted_ids(sandbox) == expected


async def test_the_token_flow_deletes_exactly_the_narrowed_set_and_the_original_stays_appliable(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:  # no form: the confirmation-token flow
        plan = ok(await client.call_tool("plan_version_cleanup", {**GATEWAY, **RULES}))
        before = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        narrowed = ok(await client.call_tool(
            "narrow_version_cleanup", {"plan_id": plan["plan_id"], "delete_version_ids": [V2_INDEX, SUPERSEDED_INDEX]}
        ))  # fmt: skip
        asked = ok(await client.call_tool("apply_version_cleanup", {"plan_id": narrowed["plan_id"]}))
        assert asked["status"] == "confirmation_required"
        assert "3 version(s)" in asked["summary"]
        assert deleted_ids(sandbox) == set()
        done = ok(await client.call_tool(
            "apply_version_cleanup", {"plan_id": narrowed["plan_id"], "confirmation_token": asked["confirmation_token"]}
        ))  # fmt: skip
        assert deleted_ids(sandbox) == {V2_INDEX, V2_AMD64, SUPERSEDED_INDEX}
        # The original is the plan it was: the same words and digest for the person, then applied whole.
        after = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        assert after["summary"] == before["summary"]
        rest = ok(await client.call_tool(
            "apply_version_cleanup", {"plan_id": plan["plan_id"], "confirmation_token": after["confirmation_token"]}
        ))  # fmt: skip
    assert done["deleted_count"] == 3
    assert deleted_ids(sandbox) == ALL
    assert (rest["deleted_count"], rest["already_gone"]) == (9, 3)


async def test_a_token_for_the_original_plan_does_not_apply_the_narrowed_one(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        plan, narrowed = await plan_and_narrow(client, [CI_BUILD])
        asked = ok(await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]}))
        refused = await client.call_tool(
            "apply_version_cleanup", {"plan_id": narrowed["plan_id"], "confirmation_token": asked["confirmation_token"]}
        )
    assert "Nothing was deleted: the confirmation_token was not issued for" in error_text(refused)
    assert deleted_ids(sandbox) == set()


@pytest.mark.parametrize(
    ("chosen", "says"),
    [
        ([V3_INDEX, 12345], "delete_version_ids: 12345 not among the 12 version(s) plan "),
        ([3430000401], "delete_version_ids: 3430000401 not among the 12"),  # kept by the plan
        ([3430000101], "delete_version_ids: 3430000101 are parts (platform images, signatures, attestations)"),
        ([V2_AMD64, CI_BUILD], "delete_version_ids: 3430000151 are parts"),
        ([], "delete_version_ids: nothing would be deleted"),
    ],
)
async def test_a_choice_outside_the_plan_or_a_part_without_its_image_is_refused_and_saves_nothing(
    settings: Settings, sandbox: SandboxServer, chosen: list[int], says: str
) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**GATEWAY, **RULES}))
        refused = await client.call_tool(
            "narrow_version_cleanup", {"plan_id": plan["plan_id"], "delete_version_ids": chosen}
        )
    assert says in error_text(refused)
    assert "nothing was narrowed" in error_text(refused) or not chosen
    assert (
        not any((settings.journal_dir / "plans").glob("*"))
        or len(list((settings.journal_dir / "plans").iterdir())) == 1
    )
    assert deleted_ids(sandbox) == set()


async def test_only_the_caller_who_made_the_plan_narrows_it(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**GATEWAY, **RULES}))
    other = settings.model_copy(update={"token": SecretStr(DEMO_READ_TOKEN)})
    async with Client(build_server(other)) as client:
        refused = await client.call_tool(
            "narrow_version_cleanup", {"plan_id": plan["plan_id"], "delete_version_ids": [CI_BUILD]}
        )
        missing = await client.call_tool("narrow_version_cleanup", {"plan_id": "0" * 16, "delete_version_ids": [1]})
    assert f"no cleanup plan {plan['plan_id']!r} that this server can use" in error_text(refused)
    assert "no cleanup plan '0000000000000000'" in error_text(missing)
