"""export_cleanup_policy through an MCP client against the sandbox: plans (or given rules) written as a policy that
`github-packages-mcp cleanup --policy FILE`, run as a person runs it, plans exactly as they did; bad input refused
before anything is read."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import COMMAND, StoppedClock, clean_env, error_text, ok

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("own_state_home")]

EXPORT = "export_cleanup_policy"
HINT = "Save as cleanup-policy.toml; dry run: github-packages-mcp cleanup --policy cleanup-policy.toml"
# Tables as a person might draft them: a glob of images, one image, an npm package with a regex, every image but
# some.
TABLES: list[dict[str, Any]] = [
    {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/*", "tagged": "untagged",
     "keep_younger_than_days": "2w 3d", "delete_orphans": True},
    {"org": DEMO_ORG, "package_type": "container", "package_name": "gateway", "keep_latest": 3,
     "exclude_tags": ['quote"d', "back\\slash"], "keep_younger_than_days": "36h"},
    {"org": DEMO_ORG, "package_type": "npm", "package_name": "design-system", "keep_latest": 2,
     "exclude_versions": [r"(0|[1-9]\d*)\.0\.0"], "pattern_syntax": "regex"},
    {"org": DEMO_ORG, "package_type": "container", "package_name": "*", "exclude_packages": ["web/*", "multi/*"],
     "keep_latest": 1},
]  # fmt: skip


def deletions(plan: dict[str, Any]) -> set[int]:
    return {d["id"] for package in plan["packages"] for d in package["decisions"] if d["action"] == "delete"}


def summaries(plan: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (package["package"], package["delete"], package["keep"], package["by_rule"]) for package in plan["packages"]
    ]


def dry_run(sandbox: SandboxServer, tmp_path: Path, text: str) -> list[dict[str, Any]]:
    """The plans `cleanup --policy FILE` makes of the policy `text`, run as a person runs it."""
    path = tmp_path / "cleanup-policy.toml"
    path.write_text(text, encoding="utf-8")
    env = clean_env(GITHUB_API_URL=sandbox.url, GITHUB_TOKEN=DEMO_TOKEN)
    done = subprocess.run(
        [*COMMAND, "cleanup", "--policy", str(path)], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    plans: list[dict[str, Any]] = json.loads(done.stdout)["plans"]
    return plans


async def test_exported_plans_plan_the_same_deletions_under_cleanup_policy(
    settings: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    async with Client(build_server(settings)) as client:
        plans = [ok(await client.call_tool("plan_version_cleanup", table)) for table in TABLES]
        sent = len(sandbox.state.requests)
        exported = ok(await client.call_tool(EXPORT, {"plan_ids": [plan["plan_id"] for plan in plans]}))
    assert len(sandbox.state.requests) == sent  # the plans are the server's: nothing was asked of GitHub
    assert all(deletions(plan) for plan in plans)
    again = dry_run(sandbox, tmp_path, exported["text"])
    assert [deletions(plan) for plan in again] == [deletions(plan) for plan in plans]
    assert [summaries(plan) for plan in again] == [summaries(plan) for plan in plans]
    assert exported["hint"] == HINT
    assert tomllib.loads(exported["text"]) == {"cleanup": exported["tables"]}
    for plan in plans:
        assert f"# from plan {plan['plan_id']}\n[[cleanup]]\n" in exported["text"]


async def test_a_table_says_only_what_differs_from_the_defaults_as_a_person_writes_it(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        exported = ok(await client.call_tool(EXPORT, {"rules": TABLES[:3]}))
    assert exported["tables"] == [
        {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/*", "keep_younger_than_days": 17,
         "tagged": "untagged", "delete_orphans": True},
        {"org": DEMO_ORG, "package_type": "container", "package_name": "gateway", "keep_latest": 3,
         "keep_younger_than_days": "36h", "exclude_tags": ['quote"d', "back\\slash"]},
        {"org": DEMO_ORG, "package_type": "npm", "package_name": "design-system", "keep_latest": 2,
         "exclude_versions": [r"(0|[1-9]\d*)\.0\.0"], "pattern_syntax": "regex"},
    ]  # fmt: skip
    assert (
        "[[cleanup]]\n"
        + "\n".join(
            [
                f'org = "{DEMO_ORG}"',
                'package_type = "container"',
                'package_name = "gateway"',
                "keep_latest = 3",
                'keep_younger_than_days = "36h"',
                'exclude_tags = ["quote\\"d", "back\\\\slash"]',
            ]
        )
        in exported["text"]
    )
    assert exported["text"].startswith("# Retention policy of github-packages-mcp.")


async def test_given_rules_are_exported_without_reading_anything_and_plan_as_they_do(
    settings: Settings, sandbox: SandboxServer, tmp_path: Path
) -> None:
    async with Client(build_server(settings)) as client:
        exported = ok(await client.call_tool(EXPORT, {"rules": TABLES[:2]}))
        assert sandbox.state.requests == []
        plans = [ok(await client.call_tool("plan_version_cleanup", table)) for table in TABLES[:2]]
    again = dry_run(sandbox, tmp_path, exported["text"])
    assert [deletions(plan) for plan in again] == [deletions(plan) for plan in plans]
    assert "# from plan" not in exported["text"]


async def test_an_expired_plan_still_says_what_it_planned(settings: Settings, clock: StoppedClock) -> None:
    async with Client(build_server(settings, clock=clock)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", TABLES[1]))
        clock.now += 30 * 86_400  # past the plan's 7 days: it can no longer be applied
        exported = ok(await client.call_tool(EXPORT, {"plan_ids": [plan["plan_id"]]}))
    assert exported["tables"][0]["package_name"] == "gateway"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({}, "give plan_ids (from plan_version_cleanup) or rules (its arguments, an object per table)"),
        ({"plan_ids": ["0123456789abcdef"], "rules": TABLES[:1]}, "(its arguments, an object per table), not both"),
        ({"plan_ids": ["0123456789abcdef"]}, "no cleanup plan '0123456789abcdef' that this server can use"),
        ({"plan_ids": ["../etc"]}, "plan_id '../etc' is not a plan id"),
        ({"plan_ids": []}, "plan_ids: "),
        (
            {"rules": [{**TABLES[0], "keep_latst": 3}, {**TABLES[1], "org": None}, {**TABLES[2], "keep_latest": "x"}]},
            "the policy would not validate:\nrules[0].keep_latst: not an argument (did you mean keep_latest?)\n"
            "rules[1]: no owner: set org (an organization) or username (a user)\n"
            "rules[2].keep_latest: a whole number (integer), got 'x'",
        ),
        ({"rules": [{**TABLES[2], "tagged": "untagged"}]}, "rules[0].tagged='untagged' needs tags"),
        ({"rules": [{**TABLES[0], "keep_latest": None}]}, "rules[0].keep_latest: a whole number (integer), got None"),
        ({"rules": [{**TABLES[2], "exclude_versions": ["("]}]}, "rules[0].exclude_versions: "),
        ({"rules": [{**TABLES[0], "exclude_tags": ["a\ud800"]}]}, "rules[0].exclude_tags.0: input should be a valid"),
        ({"rules": [{"org": DEMO_ORG, "username": "mona"}]}, "rules[0]: both org and username"),
        ({"rules": [dict.fromkeys(map(str, range(31)), 1)]}, "rules.0: at most 30 items, got 31"),
        ({"rules": [{"k" * 65: 1}]}, "rules.0.kkkk"),
    ],
    ids=["neither", "both", "unknown plan", "not a plan id", "no plan ids", "invalid rules", "tags on npm",
         "a null rule", "invalid regex", "not text", "two owners", "too many keys", "too long a key"],
)  # fmt: skip
async def test_bad_input_is_refused_naming_it_before_anything_is_read(
    settings: Settings, sandbox: SandboxServer, arguments: dict[str, Any], said: str
) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(EXPORT, arguments)
    assert said in error_text(result)
    assert sandbox.state.requests == []


async def test_a_plan_of_the_tokens_own_packages_is_refused_saying_why(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {"package_type": "npm", "package_name": "octo-utils"}))
        sent = len(sandbox.state.requests)
        result = await client.call_tool(EXPORT, {"plan_ids": [plan["plan_id"]]})
    assert f"plan {plan['plan_id']} is of the token's own packages" in error_text(result)
    assert len(sandbox.state.requests) == sent


async def test_another_callers_plan_cannot_be_exported(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", TABLES[1]))
    other = settings.with_changes(token="ghp_sandboxReadOnly000000000000000000000")  # the demo read-only token
    async with Client(build_server(other)) as client:
        result = await client.call_tool(EXPORT, {"plan_ids": [plan["plan_id"]]})
    assert f"no cleanup plan {plan['plan_id']!r} that this server can use" in error_text(result)
