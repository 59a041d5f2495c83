"""The command as a person at a terminal uses it, run in-process: `--yes` confirms every destructive tool, a
cleanup made by one command is applied by the next, exit codes tell refusals and usage errors apart, tools are
described, resources read and prompts rendered."""

from __future__ import annotations

import json
import os
import pty
import socket
from pathlib import Path

import pytest

from github_packages_mcp.cli.main import main
from github_packages_mcp.cli.terminal import UsageError, parse_arguments, progress_text
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer

MULTI = ["org=acme-labs", "package_type=container", "package_name=multi/app"]
# A right-to-left override, isolates and marks: a terminal that printed them raw would reorder what it shows.
BIDI = "left\u202egpj.exe\u2066x\u2069\u200e\u200f"
BIDI_SHOWN = r"left\u202egpj.exe\u2066x\u2069\u200e\u200f"


@pytest.fixture(autouse=True)
def own_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A state directory of the test's own, and none of the machine's GitHub settings."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    for name in ("GITHUB_TOKEN", "GITHUB_PERSONAL_ACCESS_TOKEN", "GITHUB_API_URL", "GITHUB_PACKAGES_MCP_CONFIG"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--sandbox"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_cleanup_planned_by_one_command_is_applied_by_the_next_with_yes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "call", "plan_version_cleanup", *MULTI, "tagged=untagged")
    plan = json.loads(out)
    assert (code, plan["delete"]) == (0, 5)
    code, out, err = run(capsys, "call", "apply_version_cleanup", f"plan_id={plan['plan_id']}", "--yes")
    assert code == 0, err
    assert json.loads(out)["deleted_count"] == 5
    assert "--yes: This will permanently delete 5 version(s)" in err


def test_yes_confirms_a_package_delete_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "call", "delete_org_package", "org=acme-labs", "package_type=npm",
                       "package_name=design-system", "--yes")  # fmt: skip
    assert (code, json.loads(out)["deleted"]) == (0, True)


def test_a_refused_confirmation_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    terminal, its_end = pty.openpty()  # stdin a terminal, at which the person types a wrong answer
    os.write(terminal, b"not-the-name\n")
    with os.fdopen(its_end) as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        code, out, err = run(capsys, "call", "delete_org_package", *MULTI)
    os.close(terminal)
    assert "Type the package name 'multi/app' to confirm." in err
    assert (code, json.loads(out)["status"]) == (1, "not_confirmed")


def test_usage_errors_exit_2_and_a_hidden_tool_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "call", "list_org_packages", "org")[0] == 2
    assert run(capsys, "call", "no_such_tool")[0] == 2
    code, _, err = run(capsys, "--read-only", "call", "delete_org_package", *MULTI)
    assert code == 2
    assert "delete_org_package is not offered here" in err


def test_tools_name_prints_parameters_with_types_defaults_and_allowed_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "tools", "plan_version_cleanup")
    assert code == 0
    assert 'tagged: string, default "any"; one of any, tagged, untagged.' in out
    assert "package_type: string, required; one of npm, maven, rubygems, docker, nuget, container." in out
    assert "include_versions: list of string, default []." in out


def test_resources_are_read_and_prompts_rendered(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "read", "github-packages://orgs/acme-labs/packages/container/web%2Fapi")
    assert (code, json.loads(out)["package"]["name"]) == (0, "web/api")
    code, _, err = run(capsys, "read", "github-packages://nowhere")
    assert code == 1
    assert "github-packages://orgs/{org}/packages/{package_type}/{package_name}" in err
    code, out, _ = run(capsys, "prompt", "audit_organization", "org=acme-labs")
    assert code == 0
    assert "audit_packages with org='acme-labs'" in out


def test_a_string_that_looks_like_json_stays_a_string_and_deep_json_is_a_usage_error() -> None:
    schema = {"properties": {"package_name": {"type": "string"}, "include_tags": {"type": "array"}}}
    assert parse_arguments(["package_name=[mw]*/[!b]??"], schema) == {"package_name": "[mw]*/[!b]??"}
    assert parse_arguments(["package_name=" + "[" * 5000], schema) == {"package_name": "[" * 5000}
    with pytest.raises(UsageError, match="include_tags: not valid JSON"):
        parse_arguments(["include_tags=" + "[" * 5000], schema)


def test_list_arguments_take_commas_or_json() -> None:
    schema = {"properties": {"version_ids": {"type": "array", "items": {"type": "integer"}}, "n": {"type": "number"}}}
    assert parse_arguments(["version_ids=1,2", "n=1e3"], schema) == {"version_ids": [1, 2], "n": 1000.0}
    assert parse_arguments(["version_ids=[3, 4]"], schema) == {"version_ids": [3, 4]}


def test_a_day_count_goes_as_typed_text_for_the_tool_to_read() -> None:
    schema = {"properties": {"days": {"type": "string", "maxLength": 40}}}
    assert parse_arguments(["days=30"], schema) == {"days": "30"}
    assert parse_arguments(["days=2w 3d"], schema) == {"days": "2w 3d"}
    assert parse_arguments(["days=[1]"], schema) == {"days": "[1]"}  # a string may look like JSON


def test_progress_says_done_total_rate_and_time_left() -> None:
    assert progress_text(3, 38, "deleted 3 of 38", 2.0) == "deleted 3 of 38 · 3/38 · 1.5/s · 23 s left"
    assert progress_text(2, None, None, 1.0) == "working · 2 · 2.0/s"


def test_a_busy_sandbox_port_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["sandbox", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: cannot serve the sandbox on 127.0.0.1:{port}: Address already in use"]


def test_bidi_controls_are_shown_escaped_and_json_stays_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer
) -> None:
    sandbox.state.add_package(DEMO_ORG, "npm", BIDI, versions=1)
    monkeypatch.setenv("GITHUB_API_URL", sandbox.url)
    monkeypatch.setenv("GITHUB_TOKEN", DEMO_TOKEN)
    assert main(["call", "list_org_packages", f"org={DEMO_ORG}", "package_type=npm"]) == 0
    listed = capsys.readouterr().out
    assert main(["prompt", "audit_organization", f"org={BIDI}"]) == 0
    prompt = capsys.readouterr().out
    for printed in (listed, prompt):
        assert BIDI_SHOWN in printed
        assert not set(printed) & set("\u202e\u2066\u2069\u200e\u200f")
    assert BIDI in [item["name"] for item in json.loads(listed)["items"]]  # the same data, read back


def test_a_misspelt_tool_or_prompt_gets_a_suggestion_and_a_prompt_error_no_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "call", "list_org_pakages", "org=acme-labs")
    assert code == 2
    assert "error: unknown tool 'list_org_pakages' (did you mean list_org_packages?); see" in err
    code, _, err = run(capsys, "prompt", "audit_organisation", "org=acme-labs")
    assert code == 2
    assert "(did you mean audit_organization?)" in err
    code, _, err = run(capsys, "prompt", "audit_organization")
    assert code == 2
    assert err.splitlines()[-1] == "error: the prompt audit_organization needs org=… (Organization login)"
    code, _, err = run(capsys, "prompt", "audit_organization", "org=acme-labs", "stale_after_days=soon")
    assert code == 2
    assert err.splitlines()[-1].startswith("error: ") and "Traceback" not in err
