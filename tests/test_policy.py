"""`cleanup --policy FILE`, run as a person or a CI job runs it: the issue's policy shape against the sandbox, a dry
run that deletes nothing, invalid policies refused whole before anything is sent, an apply that deletes what the
dry run planned (journaled, restorable), and what CI keeps (the step summary, the journal lines)."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from github_packages_mcp.cli.policy_report import markdown_text
from github_packages_mcp.config import MUTATION_INTERVAL_ENV
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, Fault, SandboxServer
from tests.helpers import COMMAND, clean_env, printed_at_terminal

# The policy, as is, with the sandbox demo world's owner and packages.
POLICY = f"""
[[cleanup]]
org = "{DEMO_ORG}"
package_type = "container"
package_name = "multi/*"
tagged = "untagged"
keep_younger_than_days = 30

[[cleanup]]
org = "{DEMO_ORG}"
package_type = "container"
package_name = "gateway"
keep_latest = 10
"""
VERSION_PATH = re.compile(r"/versions/(\d+)")


# Every command a test here runs gets a state directory of the test's own (`own_state_home`).
pytestmark = pytest.mark.usefixtures("own_state_home")


def _env(sandbox: SandboxServer, **extra: str) -> dict[str, str]:
    return clean_env(GITHUB_API_URL=sandbox.url, GITHUB_TOKEN=DEMO_TOKEN, **{MUTATION_INTERVAL_ENV: "0.05"}, **extra)


def run(sandbox: SandboxServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=120, env=_env(sandbox, **env), check=False
    )


def policy_file(tmp_path: Path, text: str = POLICY) -> str:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def planned_deletions(plans: list[dict[str, Any]]) -> set[int]:
    return {
        decision["id"]
        for plan in plans
        for package in plan["packages"]
        for decision in package["decisions"]
        if decision["action"] == "delete"
    }


def version_ids(sandbox: SandboxServer, method: str, ending: str = "") -> list[int]:
    """The version ids of the requests the sandbox got with `method`, on paths ending with `ending`."""
    return [
        int(match.group(1))
        for request in sandbox.state.requests
        if request.method == method
        and request.raw_path.endswith(ending)
        and (match := VERSION_PATH.search(request.raw_path))
    ]


def deleted_ids(sandbox: SandboxServer) -> list[int]:
    return version_ids(sandbox, "DELETE")


def test_a_dry_run_plans_every_table_and_deletes_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    done = run(sandbox, "cleanup", "--policy", policy_file(tmp_path))
    assert done.returncode == 0, done.stderr
    plans = json.loads(done.stdout)["plans"]
    assert [plan["packages"][0]["package"] for plan in plans] == ["multi/app", "gateway"]
    assert all(plan["delete"] > 0 for plan in plans)
    assert "keep_latest" in plans[1]["packages"][0]["by_rule"]  # the table's rule was the plan's
    assert sandbox.state.requests
    assert not [request for request in sandbox.state.requests if request.method != "GET"]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            POLICY.replace("keep_latest", "keep_latst"),
            ["cleanup[2].keep_latst: not an argument (did you mean keep_latest?)"],
        ),
        (
            POLICY.replace("= 10", '= "ten"').replace('"untagged"', "3"),
            ["cleanup[1].tagged: one of", "got 3", "cleanup[2].keep_latest: a whole number (integer), got 'ten'"],
        ),
        (
            POLICY.replace(
                f'org = "{DEMO_ORG}"\npackage_type = "container"\npackage_name = "gateway"',
                'package_type = "container"\npackage_name = "gateway"',
            ),
            ["cleanup[2]: no owner"],
        ),
        (POLICY.replace("keep_latest = 10", "keep_latest = 10 10"), ["not valid TOML", "(at line 13, column 18)"]),
        ("", ["no [[cleanup]] table"]),
        ("[cleanup]\norg = 'x'\n", ["cleanup: must be tables, each written [[cleanup]]"]),
        (
            POLICY.replace("keep_latest = 10", 'keep_latest = 10\npattern_syntax = "regex"\nexclude_tags = ["v(1"]'),
            ["cleanup[2].exclude_tags: "],
        ),
        (
            POLICY.replace(
                'package_type = "container"\npackage_name = "gateway"',
                'package_type = "npm"\npackage_name = "gateway"\nexclude_tags = ["latest"]',
            ),
            ["cleanup[2].exclude_tags needs tags"],
        ),
    ],
    ids=[
        "unknown key",
        "wrong types",
        "no owner",
        "TOML syntax",
        "empty",
        "a table, not [[cleanup]]",
        "a regex that does not compile",
        "tag rules for a registry without tags",
    ],
)
def test_an_invalid_policy_names_every_problem_and_sends_nothing(
    sandbox: SandboxServer, tmp_path: Path, text: str, said: list[str]
) -> None:
    done = run(sandbox, "cleanup", "--policy", policy_file(tmp_path, text), "--apply", "--yes")
    assert done.returncode == 2
    for words in said:
        assert words in done.stderr
    assert "nothing was planned or sent" in done.stderr
    assert done.stdout == ""
    assert sandbox.state.requests == []


def test_a_glob_matching_no_package_names_its_table_and_nothing_is_applied(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    policy = POLICY + f'\n[[cleanup]]\norg = "{DEMO_ORG}"\npackage_type = "container"\npackage_name = "nothing*"\n'
    done = run(sandbox, "cleanup", "--policy", policy_file(tmp_path, policy), "--apply", "--yes")
    assert done.returncode == 1
    assert "error: cleanup[3]: No container package owned by the organization acme-labs matches the glob" in done.stderr
    assert "nothing was applied" in done.stderr
    assert deleted_ids(sandbox) == []


def test_apply_without_yes_and_without_a_terminal_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    done = run(sandbox, "cleanup", "--policy", policy_file(tmp_path), "--apply")
    assert done.returncode == 2
    assert "not a terminal: pass --yes to confirm" in done.stderr
    assert sandbox.state.requests == []


def test_apply_deletes_what_the_dry_run_planned_journaled_and_restorable(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    policy = policy_file(tmp_path)
    planned = planned_deletions(json.loads(run(sandbox, "cleanup", "--policy", policy).stdout)["plans"])
    summary, journal = tmp_path / "summary.md", tmp_path / "journal.jsonl"
    summary.write_text("earlier step\n")
    applied = run(sandbox, "cleanup", "--policy", policy, "--apply", "--yes", "--journal-out", str(journal),
                  GITHUB_STEP_SUMMARY=str(summary))  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    document = json.loads(applied.stdout)
    assert sorted(deleted_ids(sandbox)) == sorted(planned)
    assert [result["failed"] for result in document["applied"]] == [0, 0]
    assert sum(result["deleted_count"] for result in document["applied"]) == len(planned)
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(line["version_id"] for line in lines) == sorted(planned)
    assert {line["result"] for line in lines} == {"deleted"}
    plan_ids = [plan["plan_id"] for plan in document["plans"]]
    assert {line["plan_id"] for line in lines} == set(plan_ids)
    for plan_id in plan_ids:
        assert f"to undo: github-packages-mcp call restore_from_journal plan_id={plan_id}" in applied.stderr
    markdown = summary.read_text()
    assert markdown.startswith("earlier step\n### github-packages-mcp cleanup --policy (applied)")
    assert "| Table | Owner | Packages | Result | Plan |" in markdown
    assert f"| cleanup\\[1\\] | acme-labs | container multi/\\* | deleted {len(planned) - 1}" in markdown
    for plan_id in plan_ids:
        restored = run(sandbox, "call", "restore_from_journal", f"plan_id={plan_id}", "--yes")
        assert restored.returncode == 0, restored.stderr
    assert sorted(version_ids(sandbox, "POST", "/restore")) == sorted(planned)


def test_a_dry_run_in_ci_summarises_what_would_be_deleted(sandbox: SandboxServer, tmp_path: Path) -> None:
    summary, journal = tmp_path / "summary.md", tmp_path / "journal.jsonl"
    done = run(sandbox, "cleanup", "--policy", policy_file(tmp_path), "--journal-out", str(journal),
               GITHUB_STEP_SUMMARY=str(summary))  # fmt: skip
    assert done.returncode == 0, done.stderr
    gateway = json.loads(done.stdout)["plans"][1]
    markdown = summary.read_text()
    assert "(dry run, nothing deleted)" in markdown
    counts = f"would delete {gateway['delete']}, keep {gateway['keep']}"
    assert f"| cleanup\\[2\\] | acme-labs | container gateway | {counts} | {gateway['plan_id']} |" in markdown
    assert f"**cleanup[2]**: {gateway['delete']} version(s) would be deleted" in markdown
    assert journal.read_text() == ""  # nothing deleted, nothing journaled


def test_names_from_github_cannot_break_the_markdown() -> None:
    assert markdown_text("a|b`c`<img>[x](y)") == r"a\|b\`c\`\<img\>\[x\]\(y\)"
    assert markdown_text("line\nbreak") == r"line\\nbreak"
    assert len(markdown_text("x" * 500)) == 120


def test_a_dry_run_at_a_terminal_shows_each_table_and_its_plan(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = _env(sandbox, NO_COLOR="1", COLUMNS="200")
    code, shown, errors = printed_at_terminal(["cleanup", "--policy", policy_file(tmp_path)], env)
    assert code == 0, errors
    assert "cleanup[1]: container 'multi/*' of acme-labs\n" in shown
    assert "cleanup[2]: container 'gateway' of acme-labs\n" in shown
    assert re.search(r"^ACTION +ID +VERSION +TAGS +AGE +RULE$", shown, re.MULTILINE)
    assert not shown.lstrip().startswith("{")
    assert sandbox.state.requests
    assert deleted_ids(sandbox) == []


def test_a_delete_that_fails_makes_the_run_fail_and_says_so(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.state.faults.script("DELETE", "*/gateway/*", [Fault(status=422)])
    done = run(sandbox, "cleanup", "--policy", policy_file(tmp_path), "--apply", "--yes")
    assert done.returncode == 1
    applied = json.loads(done.stdout)["applied"]
    assert [result["failed"] for result in applied] == [0, 1]
    assert "cleanup[2]: container 'gateway' of acme-labs: deleted 0, already gone 0, skipped 0, failed 1" in done.stderr


def test_at_a_terminal_each_plan_is_asked_about_in_turn(sandbox: SandboxServer, tmp_path: Path) -> None:
    policy = policy_file(tmp_path)
    plans = json.loads(run(sandbox, "cleanup", "--policy", policy).stdout)["plans"]
    terminal, its_end = pty.openpty()
    try:
        os.write(terminal, f"{plans[0]['delete']}\nno\n".encode())  # typed ahead: the first plan's count, then no
        done = subprocess.run(
            [*COMMAND, "cleanup", "--policy", policy, "--apply"], stdin=its_end, capture_output=True, text=True,
            timeout=120, env=_env(sandbox), check=False,
        )  # fmt: skip
    finally:
        os.close(its_end)
        os.close(terminal)
    assert done.returncode == 1  # the second plan was not confirmed
    assert done.stderr.count("> ") == 2
    assert sorted(deleted_ids(sandbox)) == sorted(planned_deletions(plans[:1]))
    applied = json.loads(done.stdout)["applied"]
    assert applied[0]["deleted_count"] == plans[0]["delete"]
    assert applied[1]["status"] == "not_confirmed"
