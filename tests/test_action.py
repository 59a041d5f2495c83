"""The composite GitHub Action (`action.yml`) and its example workflow: read as GitHub reads them, and the action's
cleanup step run with bash as a runner runs it, its inputs passed the way the action passes them, against the
sandbox."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from github_packages_mcp.config import MUTATION_INTERVAL_ENV
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from tests.helpers import clean_env

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
EXAMPLE = ROOT / "docs" / "examples" / "cleanup-packages.yml"
POLICY = f"""
[[cleanup]]
org = "{DEMO_ORG}"
package_type = "container"
package_name = "gateway"
keep_latest = 2
"""
INPUT_EXPRESSION = re.compile(r"^\$\{\{ inputs\.([a-z_-]+) \}\}$")


# Every command a test here runs gets a state directory of the test's own (`own_state_home`).
pytestmark = pytest.mark.usefixtures("own_state_home")


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def steps() -> list[dict[str, Any]]:
    action = load(ACTION)
    return list(action["runs"]["steps"])


def cleanup_step() -> dict[str, Any]:
    [step] = [step for step in steps() if step.get("id") == "cleanup"]
    return step


def test_the_action_is_composite_and_no_input_is_pasted_into_a_script() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {name for name, spec in action["inputs"].items() if spec.get("required")} == {"policy", "token"}
    assert action["inputs"]["apply"]["default"] == "false"
    assert action["inputs"]["version"]["default"] == ""
    scripts = [step for step in steps() if "run" in step]
    assert len(scripts) == 2
    for step in scripts:
        assert step["shell"] == "bash", step.get("name")
        # GitHub pastes an expression's value into the script before bash reads it: an input would be run as shell.
        assert "${{" not in step["run"], step.get("name")
    uses = [step["uses"] for step in steps() if "uses" in step]
    assert uses == ["actions/setup-python@v5", "actions/upload-artifact@v4"]
    assert action["outputs"]["journal"]["value"] == "${{ steps.cleanup.outputs.journal }}"


def test_the_cleanup_step_runs_the_real_command_with_the_token_input() -> None:
    step = cleanup_step()
    assert step["env"] == {
        "POLICY": "${{ inputs.policy }}",
        "APPLY": "${{ inputs.apply }}",
        "GITHUB_TOKEN": "${{ inputs.token }}",
    }
    assert 'github-packages-mcp cleanup --policy "$POLICY" --journal-out "$journal" --apply --yes' in step["run"]
    assert 'journal="$RUNNER_TEMP/github-packages-journal.jsonl"' in step["run"]


def step_env(step: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
    """The step's `env:` as the runner sets it: each `${{ inputs.NAME }}` the input given, else its default."""
    defaults = {name: str(spec.get("default", "")) for name, spec in load(ACTION)["inputs"].items()}
    values = defaults | inputs
    env: dict[str, str] = {}
    for name, expression in step.get("env", {}).items():
        match = INPUT_EXPRESSION.match(expression)
        assert match, f"{name}: only inputs are expected in the step's env, got {expression}"
        env[name] = values[match.group(1)]
    return env


def run_cleanup_step(
    sandbox: SandboxServer, tmp_path: Path, **inputs: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Runs the cleanup step's script with bash as a runner would (its env from the inputs, the runner's files in
    `tmp_path`), the command found on PATH in this interpreter's environment, GitHub being the sandbox."""
    policy = tmp_path / "packages-policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    step = cleanup_step()
    env = clean_env(
        **step_env(step, {"policy": str(policy), "token": DEMO_TOKEN} | inputs),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        RUNNER_TEMP=str(runner_temp),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_API_URL=sandbox.url,
        GITHUB_REGISTRY_URL=sandbox.url,
        **{MUTATION_INTERVAL_ENV: "0.05"},
    )
    # What the runner runs for `shell: bash`: the script in a file, `bash --noprofile --norc -eo pipefail {0}`.
    script = runner_temp / "cleanup-step.sh"
    script.write_text(step["run"], encoding="utf-8")
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run(
        [bash, "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        capture_output=True, text=True, timeout=120, env=env, check=False, cwd=tmp_path,
    )  # fmt: skip
    return done, runner_temp / "github-packages-journal.jsonl"


def deleted_ids(sandbox: SandboxServer) -> list[int]:
    return [int(r.raw_path.rsplit("/", 1)[1]) for r in sandbox.state.requests if r.method == "DELETE"]


def test_the_cleanup_step_dry_runs_then_applies_against_the_sandbox(sandbox: SandboxServer, tmp_path: Path) -> None:
    dry, journal = run_cleanup_step(sandbox, tmp_path)  # apply left at its default
    assert dry.returncode == 0, dry.stderr
    [plan] = json.loads(dry.stdout)["plans"]
    planned = [d["id"] for p in plan["packages"] for d in p["decisions"] if d["action"] == "delete"]
    assert planned
    assert not [request for request in sandbox.state.requests if request.method != "GET"]
    assert journal.read_text() == ""
    assert "(dry run, nothing deleted)" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "output").read_text() == f"journal={journal}\n"

    applied, journal = run_cleanup_step(sandbox, tmp_path, apply="true")
    assert applied.returncode == 0, applied.stderr
    assert sorted(deleted_ids(sandbox)) == sorted(planned)
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(line["version_id"] for line in lines) == sorted(planned)
    assert {line["result"] for line in lines} == {"deleted"}
    assert "### github-packages-mcp cleanup --policy (applied)" in (tmp_path / "summary.md").read_text()


def test_an_apply_that_is_neither_true_nor_false_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    done, _ = run_cleanup_step(sandbox, tmp_path, apply="yes")
    assert done.returncode == 2
    assert "::error::apply must be 'true' or 'false'" in done.stdout
    assert sandbox.state.requests == []


def test_the_example_workflow_runs_the_action_weekly_and_applies_only_when_asked() -> None:
    workflow = load(EXAMPLE)
    triggers: dict[str, Any] = workflow[True]  # YAML 1.1, PyYAML's, reads the key `on` as true
    assert [entry["cron"] for entry in triggers["schedule"]] == ["17 4 * * 1"]
    assert triggers["workflow_dispatch"]["inputs"]["apply"]["type"] == "boolean"
    assert workflow["permissions"]["packages"] == "write"
    [step] = [step for step in workflow["jobs"]["cleanup"]["steps"] if "github-packages-mcp" in step.get("uses", "")]
    assert step["uses"] == "OWNER/github-packages-mcp@v0"
    inputs = load(ACTION)["inputs"]
    assert set(step["with"]) <= set(inputs)
    assert {name for name, spec in inputs.items() if spec.get("required")} <= set(step["with"])
