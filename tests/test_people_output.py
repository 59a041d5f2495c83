"""Results for people at a terminal, JSON for scripts: the installed command run at a pseudo-terminal prints tables
and summaries (colour unless NO_COLOR or TERM=dumb, GitHub's strings inert), and piped or with --json the JSON it
always printed; at the command line nothing is cut to fit a context window, while MCP results still are."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.cli.readable.cells import age, digest
from github_packages_mcp.cli.readable.table import display_width
from github_packages_mcp.config import Settings
from github_packages_mcp.retention.plan import SHOWN_DECISIONS
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import COMMAND, clean_env, ok, printed_at_terminal

# Every command a test here runs gets a state directory of the test's own (`own_state_home`).
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("own_state_home")]
WEB_API = [f"org={DEMO_ORG}", "package_type=container", "package_name=web/api"]
CONTAINERS = ["list_org_packages", f"org={DEMO_ORG}", "package_type=container"]
WIDE = {"COLUMNS": "200"}  # no row wraps: each version is one line
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _env(sandbox: SandboxServer, **extra: str) -> dict[str, str]:
    env = clean_env(GITHUB_API_URL=sandbox.url, GITHUB_TOKEN=DEMO_TOKEN, **extra)
    for name in ("NO_COLOR", "TERM"):
        env.pop(name, None)
    return env | extra


def at_a_terminal(sandbox: SandboxServer, *args: str, **env: str) -> str:
    """What the command prints on its standard output when that is a pseudo-terminal (line ends as `\\n`)."""
    code, shown, errors = printed_at_terminal(list(args), _env(sandbox, **env))
    assert code == 0, errors
    return shown


def piped(sandbox: SandboxServer, *args: str) -> Any:
    done = subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=120, env=_env(sandbox), check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_listing_at_a_terminal_is_a_table_and_piped_the_same_json_as_before(sandbox: SandboxServer) -> None:
    listed = piped(sandbox, "call", *CONTAINERS)
    web_api = next(item for item in listed["items"] if item["name"] == "web/api")
    shown = at_a_terminal(sandbox, "call", *CONTAINERS, NO_COLOR="1")
    lines = shown.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "VISIBILITY", "VERSIONS", "UPDATED"]
    row = next(line.split() for line in lines if line.startswith("web/api "))
    assert row[:4] == ["web/api", "container", web_api["visibility"], str(web_api["version_count"])]
    assert f"{len(listed['items'])} package(s)" in shown
    assert "{" not in shown and '"' not in shown


def test_json_at_a_terminal_prints_json(sandbox: SandboxServer) -> None:
    shown = at_a_terminal(sandbox, "call", *CONTAINERS, "--json")
    assert [item["name"] for item in json.loads(shown)["items"]] == [
        item["name"] for item in piped(sandbox, "call", *CONTAINERS)["items"]
    ]


def test_colour_at_a_terminal_unless_no_color_or_a_dumb_terminal(sandbox: SandboxServer) -> None:
    assert COLOUR.search(at_a_terminal(sandbox, "call", *CONTAINERS))
    assert "\x1b[" not in at_a_terminal(sandbox, "call", *CONTAINERS, NO_COLOR="1")
    assert "\x1b[" not in at_a_terminal(sandbox, "call", *CONTAINERS, TERM="dumb")
    assert COLOUR.search(at_a_terminal(sandbox, "call", *CONTAINERS, NO_COLOR=""))  # set but empty: colour


def test_a_plan_at_a_terminal_shows_every_version_kept_ones_included(sandbox: SandboxServer) -> None:
    arguments = ["call", "plan_version_cleanup", *WEB_API, "keep_latest=3"]
    plan = piped(sandbox, *arguments)["packages"][0]
    assert (plan["keep"], len(plan["decisions"]), plan["decisions_omitted"]) == (3, plan["versions"], 0)
    shown = at_a_terminal(sandbox, *arguments, NO_COLOR="1", **WIDE)
    rows = [line.split() for line in shown.splitlines() if re.match(r"(keep|delete) +\d{6,} ", line)]
    kept = [row[1] for row in rows if row[0] == "keep"]
    assert kept == [str(d["id"]) for d in plan["decisions"] if d["action"] == "keep"]
    assert len(rows) == plan["versions"] > 300
    assert f"web/api  {plan['versions']} version(s): delete {plan['delete']} · keep 3" in shown
    assert "by rule: keep_latest 3" in shown
    assert re.search(r"^ACTION +ID +VERSION +TAGS +AGE +RULE$", shown, re.MULTILINE)
    assert "github-packages-mcp call apply_version_cleanup plan_id=" in shown


async def test_every_page_piped_at_the_command_line_while_an_mcp_result_is_still_cut(
    sandbox: SandboxServer, settings: Settings
) -> None:
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
    package = piped(sandbox, "call", "get_org_package", *WEB_API)
    listed = piped(sandbox, "call", "list_org_package_versions", *WEB_API, "all_pages=true", "per_page=100")
    assert len(listed["items"]) == package["version_count"] > 300
    assert "message" not in listed and "next_page" not in listed
    async with Client(build_server(settings)) as client:
        cut = ok(await client.call_tool("list_org_package_versions", {**arguments, "all_pages": True}))
        planned = ok(await client.call_tool("plan_version_cleanup", {**arguments, "keep_latest": 3}))
    assert len(cut["items"]) < package["version_count"]
    assert "to fit a context window" in cut["message"]
    shown = planned["packages"][0]["decisions"]
    assert len(shown) == SHOWN_DECISIONS and {d["action"] for d in shown} == {"delete"}  # no kept one, over MCP


def test_history_and_an_apply_at_a_terminal(sandbox: SandboxServer) -> None:
    plan = piped(sandbox, "call", "plan_version_cleanup", f"org={DEMO_ORG}", "package_type=container",
                 "package_name=multi/app", "tagged=untagged")  # fmt: skip
    applied = at_a_terminal(sandbox, "call", "apply_version_cleanup", f"plan_id={plan['plan_id']}", "--yes",
                            NO_COLOR="1", **WIDE)  # fmt: skip
    assert f"Deleted {plan['delete']} version(s)" in applied
    assert re.search(rf"^deleted: +{plan['delete']}$", applied, re.MULTILINE)
    shown = at_a_terminal(sandbox, "call", "list_deletion_history", NO_COLOR="1", **WIDE)
    assert f"{plan['delete']} journal line(s), {plan['delete']} restorable" in shown
    deleted = [line for line in shown.splitlines() if " deleted " in line and "multi/app" in line]
    assert len(deleted) == plan["delete"]
    assert all(line.rstrip().endswith("yes") for line in deleted)


def _table_rows(shown: str, header: str, count: int) -> list[str]:
    """The `count` lines under the table header starting with `header`."""
    lines = shown.splitlines()
    first = next(at for at, line in enumerate(lines) if line.startswith(header)) + 1
    return lines[first : first + count]


def test_a_plan_on_a_narrow_terminal_cuts_its_rules_never_an_id_or_a_version(sandbox: SandboxServer) -> None:
    arguments = ["call", "plan_version_cleanup", *WEB_API, "keep_latest=3"]
    decisions = piped(sandbox, *arguments)["packages"][0]["decisions"]
    rows = _table_rows(at_a_terminal(sandbox, *arguments, NO_COLOR="1", COLUMNS="80"), "ACTION ", len(decisions))
    assert max(len(row) for row in rows) == 80
    assert [row.split()[:3] for row in rows] == [[d["action"], str(d["id"]), digest(d["name"])] for d in decisions]
    assert any(row.endswith("…") for row in rows)  # the rules, cut to fit
    wide = _table_rows(at_a_terminal(sandbox, *arguments, NO_COLOR="1", **WIDE), "ACTION ", len(decisions))
    assert all(row.endswith(d["rule"].partition(": ")[2]) for row, d in zip(wide, decisions, strict=True))


def test_a_wide_character_name_keeps_the_columns_in_line(sandbox: SandboxServer) -> None:
    sandbox.state.add_package(DEMO_ORG, "npm", "日本語パッケージ", versions=2)
    shown = at_a_terminal(sandbox, "call", "list_org_packages", f"org={DEMO_ORG}", "package_type=npm", NO_COLOR="1")
    rows = [line for line in shown.splitlines() if re.search(r"  npm  ", line)]
    assert any(row.startswith("日本語パッケージ  ") for row in rows) and len(rows) > 1
    assert len({display_width(row.split("npm")[0]) for row in rows}) == 1  # TYPE starts in one terminal column


def test_githubs_strings_stay_inert_in_a_table(sandbox: SandboxServer) -> None:
    """A package name holding an ANSI escape, a bidi override and markup prints as characters to read."""
    name = "evil\x1b[31mred\u202egpj.exe[bold]x[/bold]"
    sandbox.state.add_package(DEMO_ORG, "npm", name, versions=1)
    shown = at_a_terminal(sandbox, "call", "list_org_packages", f"org={DEMO_ORG}", "package_type=npm",
                          NO_COLOR="1", **WIDE)  # fmt: skip
    assert r"evil\u001b[31mred\u202egpj.exe[bold]x[/bold]" in shown
    assert "\x1b" not in shown and "\u202e" not in shown


def test_tools_json_describes_each_tool_with_its_input_schema(sandbox: SandboxServer) -> None:
    described = piped(sandbox, "tools", "--json")
    plan = next(tool for tool in described if tool["name"] == "plan_version_cleanup")
    assert plan["kind"] == "read-only"
    assert plan["input_schema"]["properties"]["keep_latest"]["type"] == "integer"
    assert {tool["kind"] for tool in described} == {"read-only", "destructive", "write"}
    assert [tool["name"] for tool in piped(sandbox, "tools", "check_token", "--json")] == ["check_token"]


@pytest.mark.parametrize(
    ("ago", "said"),
    [
        (timedelta(seconds=5), "5s"),
        (timedelta(minutes=20), "20m"),
        (timedelta(hours=30), "30h"),
        (timedelta(days=3), "3d"),
        (timedelta(days=35), "5w"),
        (timedelta(days=250), "8mo"),
        (timedelta(days=800), "2y"),
    ],
)
def test_ages_read_as_people_say_them(ago: timedelta, said: str) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert age((now - ago).isoformat().replace("+00:00", "Z"), now) == said


def test_an_exported_policy_at_a_terminal_reads_as_its_file(sandbox: SandboxServer) -> None:
    rules = [{"org": DEMO_ORG, "package_type": "container", "package_name": "gateway", "keep_latest": 2,
              "exclude_tags": ["v1\u202e"]}]  # fmt: skip
    arguments = ["call", "export_cleanup_policy", f"rules={json.dumps(rules)}"]
    text = piped(sandbox, *arguments)["text"]
    shown = at_a_terminal(sandbox, *arguments, NO_COLOR="1", **WIDE)
    # Line by line as the file is written, to read or copy; the writer escaped the bidi override already.
    assert shown.startswith(text.rstrip("\n") + "\n")
    assert 'exclude_tags = ["v1\\u202E"]' in shown.splitlines()
    assert "dry run: github-packages-mcp cleanup --policy cleanup-policy.toml" in shown
