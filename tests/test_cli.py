"""The installed command, as MCP clients and people run it: a stdio subprocess, and the CLI subcommands."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from github_packages_mcp.config import MUTATION_INTERVAL_ENV, gh_host_for
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_READ_TOKEN, DEMO_TOKEN, Fault, SandboxServer
from github_packages_mcp.server.app import tool_entries
from tests.helpers import COMMAND, Person, changes_nothing, clean_env, ok

# Every command a test here runs gets a state directory of the test's own (`own_state_home`).
pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("own_state_home")]
PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
WEB_API = [f"org={DEMO_ORG}", "package_type=container", "package_name=web/api"]
VERSION = [*WEB_API, "package_version_id=3000000000"]
MULTI_APP = [f"org={DEMO_ORG}", "package_type=container", "package_name=multi/app"]
README = Path(__file__).parent.parent / "README.md"


def server_params(sandbox: SandboxServer, *args: str) -> StdioServerParameters:
    env = clean_env(GITHUB_API_URL=sandbox.url, GITHUB_TOKEN=DEMO_TOKEN)
    return StdioServerParameters(command=COMMAND[0], args=[*COMMAND[1:], *args], env=env)


def run_cli(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], input=stdin, capture_output=True, text=True, timeout=60, env=clean_env(**env), check=False
    )


def run_cli_at_terminal(*args: str, typed: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`run_cli` with stdin a terminal (a pseudo-terminal), at which the person types `typed` (their answer, queued
    as the terminal queues what is typed ahead); stdout and stderr piped."""
    terminal, its_end = pty.openpty()
    try:
        os.write(terminal, typed.encode())
        return subprocess.run(
            [*COMMAND, *args], stdin=its_end, capture_output=True, text=True, timeout=60, env=clean_env(**env),
            check=False,
        )  # fmt: skip
    finally:
        os.close(its_end)
        os.close(terminal)


async def test_stdio_server_serves_every_tool_and_confirms_by_token(sandbox: SandboxServer) -> None:
    async with Client(server_params(sandbox)) as client:
        assert len((await client.list_tools()).tools) == len(tool_entries())
        listing = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}))
        first = ok(await client.call_tool("delete_org_package", PACKAGE))
        done = ok(
            await client.call_tool("delete_org_package", {**PACKAGE, "confirmation_token": first["confirmation_token"]})
        )
    assert "web/api" in [item["name"] for item in listing["items"]]
    assert first["status"] == "confirmation_required"
    assert done["deleted"] is True
    assert [r.raw_path for r in sandbox.state.requests if r.method == "DELETE"] == [
        f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi"
    ]


async def test_stdio_server_asks_the_person_on_the_2025_11_25_protocol(sandbox: SandboxServer) -> None:
    person = Person(typed="web/api")
    async with (
        stdio_client(server_params(sandbox)) as (read, write),
        ClientSession(
            read,
            write,
            elicitation_callback=person,  # type: ignore[arg-type]
        ) as session,
    ):
        initialized = await session.initialize()
        result = await session.call_tool("delete_org_package", PACKAGE)
    assert initialized.protocol_version == "2025-11-25"
    assert result.structured_content is not None
    assert result.structured_content["deleted"] is True
    assert "'web/api'" in person.messages[0]


async def test_read_only_flag_over_stdio(sandbox: SandboxServer) -> None:
    async with Client(server_params(sandbox, "--read-only")) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    assert sorted(names) == sorted(entry.name for entry in tool_entries() if changes_nothing(entry))


async def test_sandbox_flag_needs_no_token() -> None:
    params = StdioServerParameters(command=COMMAND[0], args=[*COMMAND[1:], "--sandbox"], env=clean_env())
    async with Client(params) as client:
        listing = ok(await client.call_tool("list_my_packages", {"package_type": "container"}))
    assert [item["name"] for item in listing["items"]] == ["hello-world"]


def test_a_missing_token_is_a_clear_start_up_error() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert result.stdout == ""
    for fragment in (
        "No GitHub token",
        "classic personal access token",
        "read:packages",
        "delete:packages",
        "write:packages",
        "--sandbox",
    ):
        assert fragment in result.stderr


def test_config_errors_name_the_key(tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text('confirmation = "never"\n')
    result = run_cli("--config", str(config), GITHUB_TOKEN="ghp_x")
    assert result.returncode == 2
    assert "confirmation" in result.stderr
    assert "'auto', 'elicitation' or 'token'" in result.stderr


def test_tools_command_lists_every_tool_with_its_kind() -> None:
    result = run_cli("tools", "--sandbox")
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert len(lines) == len(tool_entries())
    assert any(line.startswith("delete_org_package ") and "destructive" in line for line in lines)


def test_call_command_prints_the_structured_result() -> None:
    arguments = [
        "call",
        "list_org_package_versions",
        f"org={DEMO_ORG}",
        "package_type=container",
        "package_name=web/api",
    ]
    page = run_cli(*arguments, "per_page=2", "--sandbox")
    everything = run_cli(*arguments, "all_pages=true", "--sandbox", "--log-level", "info")
    assert page.returncode == 0, page.stderr
    assert '"next_page": 2' in page.stdout
    assert everything.returncode == 0, everything.stderr
    # 345 versions are read, and all printed: at the command line no result is cut to fit a context window.
    assert len(json.loads(everything.stdout)["items"]) == 345
    assert '"next_page"' not in everything.stdout and "context window" not in everything.stdout
    assert everything.stderr.count("query=state=active&per_page=100&page=") == 4
    assert "github_packages_mcp.http method=GET path=/orgs/acme-labs/packages/container/web%2Fapi/versions" in (
        everything.stderr
    )


def test_call_command_asks_on_the_terminal_before_deleting() -> None:
    arguments = ["call", "delete_org_package", f"org={DEMO_ORG}", "package_type=container"]
    refused = run_cli_at_terminal(*arguments, "package_name=web/api", "--sandbox", typed="web\n")
    confirmed = run_cli_at_terminal(*arguments, "package_name=web/api", "--sandbox", typed="web/api\n")
    assumed = run_cli(*arguments, "package_name=multi/app", "--sandbox", "--yes")  # web/api is gone now
    assert "Permanently delete" in refused.stderr
    assert '"status": "not_confirmed"' in refused.stdout
    assert '"deleted": true' in confirmed.stdout
    assert '"deleted": true' in assumed.stdout


def test_call_command_reports_tool_errors_on_stderr() -> None:
    result = run_cli("call", "list_org_packages", f"org={DEMO_ORG}", "package_type=pypi", "--sandbox")
    assert result.returncode == 1
    assert "package_type" in result.stderr


@contextmanager
def sandbox_command(*options: str) -> Iterator[tuple[str, list[str]]]:
    """`github-packages-mcp sandbox --port N *options` until the block ends: yields its URL once it answers, and a
    list that then holds the lines it printed on stderr."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [*COMMAND, "sandbox", "--port", str(port), *options], env=clean_env(), stderr=subprocess.PIPE, text=True
    )
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx2.get(f"http://127.0.0.1:{port}/rate_limit")
                break
            except httpx2.ConnectError:
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", printed
    finally:
        process.terminate()
        printed.extend(process.communicate(timeout=10)[1].splitlines())


def test_sandbox_command_serves_the_api_on_loopback() -> None:
    with sandbox_command() as (url, printed):
        response = httpx2.get(
            f"{url}/user/packages", params={"package_type": "npm"}, headers={"Authorization": f"Bearer {DEMO_TOKEN}"}
        )
    assert response.status_code == 200
    assert "octo-utils" in [package["name"] for package in response.json()]
    for setting in (
        f"GITHUB_API_URL={url}",
        f"GITHUB_REGISTRY_URL={url}",
        f"GITHUB_TOKEN={DEMO_TOKEN}",
        f"{MUTATION_INTERVAL_ENV}=0.05",
    ):
        assert f"  {setting}" in printed
    assert any("GitHub's real pacing is 1 s between deletes" in line for line in printed)


def test_a_version_deleted_by_one_command_stays_deleted_until_the_sandbox_is_reset() -> None:
    deleted = run_cli("call", "delete_org_package_version", *VERSION, "--sandbox", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    gone = run_cli("call", "get_org_package_version", *VERSION, "--sandbox")
    assert gone.returncode == 1
    assert "Package version not found" in gone.stderr
    listing = run_cli("call", "list_org_package_versions", *WEB_API, "state=deleted", "all_pages=true", "--sandbox")
    assert 3000000000 in [item["id"] for item in json.loads(listing.stdout)["items"]]
    reset = run_cli("sandbox", "--reset")
    assert (reset.returncode, reset.stdout) == (0, "")
    assert len(reset.stderr.splitlines()) == 1
    assert reset.stderr.startswith("sandbox: demo data restored")
    back = run_cli("call", "get_org_package_version", *VERSION, "--sandbox")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["id"] == 3000000000


def test_a_served_sandbox_shares_its_world_with_sandbox_commands() -> None:
    assert run_cli("call", "delete_org_package_version", *VERSION, "--sandbox", "--yes").returncode == 0
    path = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/3000000000"
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    with sandbox_command("--reset") as (url, printed):
        assert httpx2.get(url + path, headers=headers).status_code == 200  # reset, then served
        assert run_cli("call", "delete_org_package_version", *VERSION, "--sandbox", "--yes").returncode == 0
        assert httpx2.get(url + path, headers=headers).status_code == 404  # deleted by another process
    assert printed[0].startswith("sandbox: demo data restored")
    assert f"  GITHUB_API_URL={url}" in printed


SANDBOX_LINE = "sandbox: GitHub Packages API with demo data at http://127.0.0.1:"


def test_sandbox_commands_say_where_the_sandbox_and_its_pacing_are_only_at_info() -> None:
    quiet = run_cli("call", "get_org_package", *WEB_API, "--sandbox")
    told = run_cli("call", "get_org_package", *WEB_API, "--sandbox", "--log-level", "info")
    assert (quiet.returncode, told.returncode) == (0, 0), quiet.stderr + told.stderr
    assert quiet.stderr == ""
    assert SANDBOX_LINE in told.stderr
    assert "; mutations 0.05 s apart (GitHub's: 1 s)" in told.stderr


def deletes_logged(stderr: str) -> list[datetime]:
    """When each DELETE of an INFO log was answered (its line's time)."""
    return [
        datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        for line in stderr.splitlines()
        if "github_packages_mcp.http method=DELETE" in line
    ]


def test_the_sandbox_paces_deletes_as_github_when_told_to(tmp_path: Path) -> None:
    plan = run_cli("call", "plan_version_cleanup", *WEB_API, "keep_latest=342", "--sandbox")
    assert plan.returncode == 0, plan.stderr
    apply = ["call", "apply_version_cleanup", f"plan_id={json.loads(plan.stdout)['plan_id']}", "--sandbox", "--yes"]
    config = tmp_path / "config.toml"
    config.write_text("mutation_interval_seconds = 1.0\n")
    by_file = run_cli(*apply, "--config", str(config), "--log-level", "info")
    assert by_file.returncode == 0, by_file.stderr
    assert "; mutations 1 s apart (GitHub's: 1 s)" in by_file.stderr
    first, second, third = deletes_logged(by_file.stderr)
    assert (second - first).total_seconds() >= 0.9 and (third - second).total_seconds() >= 0.9
    by_environment = run_cli("call", "get_org_package", *WEB_API, "--sandbox", "--log-level", "info",
                             **{MUTATION_INTERVAL_ENV: "0.5"})  # fmt: skip
    assert "; mutations 0.5 s apart (GitHub's: 1 s)" in by_environment.stderr


def test_a_demo_token_in_the_environment_is_the_sandboxs_token(tmp_path: Path) -> None:
    offered = run_cli("tools", "--sandbox", GITHUB_TOKEN=DEMO_READ_TOKEN)
    checked = run_cli("call", "check_token", "--sandbox", GITHUB_TOKEN=DEMO_READ_TOKEN)
    assert offered.returncode == 0, offered.stderr
    assert "list_org_packages " in offered.stdout
    assert "delete_org_package " not in offered.stdout and "destructive" not in offered.stdout
    assert json.loads(checked.stdout)["scopes"] == ["read:packages"]
    # Offered every tool, the read-only token meets GitHub's 403 on a delete.
    config = tmp_path / "config.toml"
    config.write_text("hide_unusable_tools = false\n")
    refused = run_cli("call", "delete_org_package_version", *VERSION, "--sandbox", "--yes", "--config", str(config),
                      GITHUB_PERSONAL_ACCESS_TOKEN=DEMO_READ_TOKEN)  # fmt: skip
    assert refused.returncode == 1
    assert "GitHub answered 403 to DELETE" in refused.stderr and "delete:packages" in refused.stderr


def test_any_other_token_is_not_used_with_the_sandbox_and_the_person_is_told() -> None:
    real = "ghp_" + "R3aLt0k3n" * 4
    checked = run_cli("call", "check_token", "--sandbox", "--log-level", "debug", GITHUB_TOKEN=real)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["scopes"] == ["delete:packages", "read:packages", "write:packages"]
    told = "sandbox: GITHUB_TOKEN is not one of the sandbox's demo tokens, so it is not used (nor sent anywhere)"
    assert checked.stderr.count(told) == 1
    assert real not in checked.stdout + checked.stderr
    assert "not one of the sandbox's demo tokens" not in run_cli("tools", "--sandbox").stderr


def test_a_reset_sandbox_has_no_journal_plan_or_spent_confirmation_left() -> None:
    assert run_cli("call", "delete_org_package_version", *VERSION, "--sandbox", "--yes").returncode == 0
    plan = run_cli("call", "plan_version_cleanup", *WEB_API, "keep_latest=340", "--sandbox")
    plan_id = json.loads(plan.stdout)["plan_id"]
    before = json.loads(run_cli("call", "list_deletion_history", "since=1h", "--sandbox").stdout)
    assert [entry["version_id"] for entry in before["entries"]] == [3000000000]
    reset = run_cli("sandbox", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert "its journal, plans and spent confirmations cleared" in reset.stderr
    history = json.loads(run_cli("call", "list_deletion_history", "since=1h", "--sandbox").stdout)
    assert (history["entries"], history["restorable"]) == ([], 0)
    restore = run_cli("call", "restore_from_journal", "since=1h", "--sandbox", "--yes")
    assert json.loads(restore.stdout)["restored"] == 0 and "Nothing to restore" in restore.stdout
    applied = run_cli("call", "apply_version_cleanup", f"plan_id={plan_id}", "--sandbox", "--yes")
    assert applied.returncode == 1
    assert plan_id in applied.stderr
    # The same version can be deleted, and journaled, again: the sandbox is as new.
    assert run_cli("call", "delete_org_package_version", *VERSION, "--sandbox", "--yes").returncode == 0


def readme_walkthrough() -> list[list[str]]:
    """The `$ github-packages-mcp ...` commands of the README's section on the command, as printed there."""
    section = README.read_text().split("\n## The command\n", 1)[1].split("\n## ", 1)[0]
    lines = section.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True)[2:] for line in lines if line.startswith("$ github-packages-mcp ")]


def test_the_readme_walkthrough_works_as_printed() -> None:
    delete, plan, apply, restore = readme_walkthrough()
    deleted = run_cli_at_terminal(*delete, typed="web/api\n")
    assert "Permanently delete version 3000000000 " in deleted.stderr
    assert json.loads(deleted.stdout)["deleted"] is True
    planned = run_cli(*plan)
    assert planned.returncode == 0, planned.stderr
    plan_id = json.loads(planned.stdout)["plan_id"]
    assert json.loads(planned.stdout)["delete"] == 5
    apply = [argument.replace("PLAN_ID", plan_id) for argument in apply]
    applied = run_cli(*apply)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["deleted_count"] == 5
    again = run_cli(*apply)  # a finished plan: nothing to do, and no error
    assert again.returncode == 0, again.stderr
    done = json.loads(again.stdout)
    assert (done["status"], done["deleted_count"]) == ("already_done", 5)
    assert done["message"].startswith(f"Plan {plan_id} was already applied; nothing was left to delete now. Then it")
    assert json.loads(run_cli(*plan).stdout)["delete"] == 0  # the versions deleted stay deleted
    restore = [argument.replace("PLAN_ID", plan_id) for argument in restore]
    refused = run_cli_at_terminal(*restore, typed="4\n")
    assert "Restore 5 deletion(s) this server journaled, in 1 package(s) ('multi/app', container" in refused.stderr
    assert (refused.returncode, json.loads(refused.stdout)["status"]) == (1, "not_confirmed")
    restored = run_cli_at_terminal(*restore, typed="5\n")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["restored"] == 5
    assert json.loads(run_cli(*plan).stdout)["delete"] == 5  # back, so a plan would delete them again


def test_a_restore_of_more_than_one_is_confirmed_by_yes_as_by_the_person() -> None:
    for version in (3000000000, 3002763731):
        deleted = run_cli("call", "delete_org_package_version", *WEB_API, f"package_version_id={version}",
                          "--sandbox", "--yes")  # fmt: skip
        assert deleted.returncode == 0, deleted.stderr
    restored = run_cli("call", "restore_from_journal", "since=1h", "--sandbox", "--yes")
    assert restored.returncode == 0, restored.stderr
    assert "--yes: This will restore 2 deletion(s) this server journaled, in 1 package(s)" in restored.stderr
    assert (json.loads(restored.stdout)["status"], json.loads(restored.stdout)["restored"]) == ("restored", 2)


def fake_gh(directory: Path, hosts: dict[str, str]) -> Path:
    """A `gh` that logs how it was asked, and has a token (with gh's CR LF) for each of `hosts` only."""
    log = directory / "gh.log"
    cases = "".join(f"  'auth token --hostname {host}') echo '{token}\r' ;;\n" for host, token in hosts.items())
    script = directory / "gh"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\ncase "$*" in\n{cases}  *) exit 1 ;;\nesac\n')
    script.chmod(0o755)
    return log


def test_without_a_token_the_github_clis_is_used_for_its_host_only(sandbox: SandboxServer, tmp_path: Path) -> None:
    asked = fake_gh(tmp_path, {"github.com": DEMO_TOKEN, "ghes.example.com": "ghp_ofTheEnterpriseServer"})
    path = f"{tmp_path}:{os.environ['PATH']}"
    # The sandbox is no host of gh's: its github.com token is not sent there, and the start says a token is missing.
    done = subprocess.run(
        [*COMMAND, "call", "check_token"],
        capture_output=True, text=True, timeout=60, env=clean_env(GITHUB_API_URL=sandbox.url, PATH=path), check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "No GitHub token" in done.stderr
    assert not asked.exists() and not sandbox.state.requests
    # A GitHub Enterprise Server's token is asked for by its host, and is what the command uses.
    ghes = clean_env(GITHUB_API_URL="https://ghes.example.com/api/v3", PATH=path)
    done = subprocess.run([*COMMAND, "tools"], capture_output=True, text=True, timeout=60, env=ghes, check=False)
    assert "Using the GitHub CLI's token for ghes.example.com (gh auth token)" in done.stderr
    assert asked.read_text() == "auth token --hostname ghes.example.com\n"


def test_the_github_clis_host_follows_the_api_url() -> None:
    assert gh_host_for("https://api.github.com") == "github.com"
    assert gh_host_for("https://ghes.example.com/api/v3/") == "ghes.example.com"
    assert gh_host_for("https://api.octocorp.ghe.com") == "octocorp.ghe.com"
    for elsewhere in ("http://127.0.0.1:8787", "https://proxy.example.com", "http://ghes.example.com/api/v3"):
        assert gh_host_for(elsewhere) is None


def test_a_reader_that_stops_early_is_not_an_error() -> None:
    """`call ... | head`: the output is far beyond a pipe's buffer, and the reader goes after one line."""
    listing = ["call", "list_org_package_versions", *WEB_API, "all_pages=true", "--sandbox"]
    with subprocess.Popen(
        [*COMMAND, *listing], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), text=True
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == "{\n"
        process.stdout.close()
        errors = process.stderr.read()
        assert process.wait(timeout=60) == 0
    assert "Traceback" not in errors


def test_the_journal_names_the_command_as_the_client_that_deleted() -> None:
    assert run_cli("call", "delete_org_package_version", *VERSION, "--sandbox", "--yes").returncode == 0
    listed = run_cli("call", "list_deletion_history", "since=1h", "--sandbox")
    [line] = json.loads(listed.stdout)["entries"]
    assert (line["version_id"], line["tool"], line["result"]) == (3000000000, "delete_org_package_version", "deleted")
    assert line["client"].startswith("github-packages-mcp-cli ")


def test_a_person_starting_the_stdio_server_at_a_terminal_is_told_what_it_waits_for() -> None:
    terminal, its_end = pty.openpty()
    with subprocess.Popen(
        [*COMMAND, "--sandbox"], stdin=its_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
    ) as process:
        os.close(its_end)
        assert process.stderr is not None
        said = [process.stderr.readline().decode() for _ in range(2)]
        process.terminate()
    os.close(terminal)
    # The first line: the sandbox's own address is not printed (only logged at INFO).
    assert said[0].startswith("Serving MCP over stdin and stdout, for an MCP client")
    assert "github-packages-mcp tools --sandbox" in said[1]


# Scripts run in a fresh interpreter; each prints, as its last line, the modules it loaded (JSON).
# The server, built and started with its GitHub client open, then asked for its tools.
_STARTED_SERVER = """
import json
import sys
import anyio
from mcp import Client
from github_packages_mcp import cli  # noqa: F401
from github_packages_mcp.config import Settings
from github_packages_mcp.server.app import build_server

async def main():  # one request sent (refused: nothing listens on port 1), so the client's pools are made
    async with Client(build_server(Settings(api_url="http://127.0.0.1:1", max_retries=0))) as client:
        await client.list_tools()
        await client.call_tool("list_my_packages", {"package_type": "container"})

anyio.run(main)
print(json.dumps(sorted(sys.modules)))
"""
# `main` as a stdio server: where it would start serving, it prints the modules it has imported instead.
_STARTED_AS_STDIO = """
import json, sys
import github_packages_mcp.cli.main as cli
cli.serve_stdio = lambda *served: print(json.dumps(sorted(sys.modules)))
sys.exit(cli.main([]))
"""
# What serving stdio must not import: HTTP serving (uvicorn's h11 protocol and our layers over it), Redis (only with
# `state_url`), RE2 (only once a pattern is compiled), the sandbox, the tables printed for people (`readable/`), rich
# (not a dependency: the SDK would import it at every start if it were installed); nor, before a tool is called, the
# tools' modules (listed from tools/definitions.json), retention and insights. uvicorn itself is not listed: the SDK
# imports it.
NOT_FOR_STDIO = ("uvicorn.protocols", "h11", "redis", "re2", "rich", "github_packages_mcp.sandbox",
                 "github_packages_mcp.server.transports", "github_packages_mcp.server.http_",
                 "github_packages_mcp.retention", "github_packages_mcp.insights",
                 "github_packages_mcp.tools.operations", "github_packages_mcp.tools.cleanup",
                 "github_packages_mcp.tools.audit", "github_packages_mcp.cli.readable",
                 "github_packages_mcp.cli.install", "github_packages_mcp.cli.policy")  # fmt: skip


def _modules_loaded(script: str) -> list[str]:
    done = subprocess.run(
        [COMMAND[0], "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(GITHUB_TOKEN="ghp_startup"),
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    assert len(loaded) > 100  # the server was built
    return loaded


def test_the_server_loads_one_http_stack_the_sdks() -> None:
    """The SDK speaks HTTP with httpx2; the GitHub client does too, so httpx and httpcore are never loaded."""
    loaded = {name.split(".")[0] for name in _modules_loaded(_STARTED_SERVER)}
    assert {"httpx2", "httpcore2"} <= loaded
    assert not loaded & {"httpx", "httpcore"}


def test_serving_stdio_imports_neither_http_serving_redis_re2_rich_nor_the_sandbox() -> None:
    assert [name for name in _modules_loaded(_STARTED_AS_STDIO) if name.startswith(NOT_FOR_STDIO)] == []


def test_check_token_with_a_token_github_rejects_exits_1_and_lists_no_tool(sandbox: SandboxServer) -> None:
    done = run_cli("call", "check_token", GITHUB_API_URL=sandbox.url, GITHUB_TOKEN="ghp_made_up_by_someone")
    assert done.returncode == 1
    assert "GitHub answered 401 to GET /user" in done.stderr
    assert "The token is invalid" in done.stderr and "no tool can be used with it" in done.stderr
    assert "with the scopes ." not in done.stderr
    assert "usable" not in done.stdout and "ghp_made_up_by_someone" not in done.stdout + done.stderr


def test_a_day_count_at_the_command_line_may_be_a_duration(sandbox: SandboxServer) -> None:
    github = {"GITHUB_API_URL": sandbox.url, "GITHUB_TOKEN": DEMO_TOKEN}
    plan = ["call", "plan_version_cleanup", *WEB_API, "tagged=untagged"]
    spelt = run_cli(*plan, "keep_younger_than_days=36h", **github)
    assert spelt.returncode == 0, spelt.stderr
    decisions = json.loads(spelt.stdout)["packages"][0]["decisions"]
    rules = {d["rule"].split(" (")[0] for d in decisions if d["action"] == "delete"}
    assert rules == {"delete: untagged, older than 1.5 days"}
    sent = len(sandbox.state.requests)
    refused = run_cli(*plan, "keep_younger_than_days=3 fortnights", **github)
    assert refused.returncode != 0
    assert (
        "keep_younger_than_days: expected days as a number or a duration such as 30d, 2w 3d, 36h, 1y, "
        "got '3 fortnights'"
    ) in refused.stderr
    assert [r.raw_path for r in sandbox.state.requests[sent:]] == ["/user"]  # the start's token check only
    audited = run_cli("call", "audit_packages", f"org={DEMO_ORG}", "stale_after_days=90", "include_versions=false",
                      **github)  # fmt: skip
    assert audited.returncode == 0, audited.stderr  # `90` goes as text, which the whole days' parser reads
    described = run_cli("tools", "plan_version_cleanup", "--sandbox").stdout
    assert "keep_younger_than_days: string, default null." in described


def test_a_glob_that_matches_no_package_exits_1_with_what_exists() -> None:
    done = run_cli("call", "plan_version_cleanup", f"org={DEMO_ORG}", "package_type=npm", "package_name=desing*",
                   "--sandbox")  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert (
        f"No npm package owned by the organization {DEMO_ORG} matches the glob 'desing*'. Did you mean "
        "'design-system'? No plan was made."
    ) in done.stderr


def test_a_404_says_whether_the_owner_or_the_package_is_unknown() -> None:
    unknown_org = run_cli("call", "list_org_packages", "org=nope", "package_type=container", "--sandbox")
    unknown_package = run_cli("call", "get_org_package", *WEB_API[:2], "package_name=nope", "--sandbox")
    assert unknown_org.returncode == 1
    assert "There is no organization named 'nope' on GitHub (or the token cannot see it)." in unknown_org.stderr
    assert unknown_package.returncode == 1
    assert f"The organization {DEMO_ORG} has no container package named 'nope' (or the token cannot see it)." in (
        unknown_package.stderr
    )
    assert "Traceback" not in unknown_org.stderr + unknown_package.stderr
    assert unknown_org.stderr.startswith("error: GitHub answered 404 to GET /orgs/nope/packages")  # the person's words


def test_a_destructive_call_with_no_terminal_and_no_yes_exits_2_before_anything_is_sent(
    sandbox: SandboxServer,
) -> None:
    env = {"GITHUB_API_URL": sandbox.url, "GITHUB_TOKEN": DEMO_TOKEN}
    piped = run_cli("call", "delete_org_package_version", *VERSION, stdin="web/api\n", **env)  # a script's answer
    assert (piped.returncode, piped.stdout) == (2, "")
    assert piped.stderr.splitlines()[-1] == "error: not a terminal: pass --yes to confirm"
    assert not [r for r in sandbox.state.requests if "/packages" in r.raw_path]
    # A restore of more than one asks too; with no terminal nothing is restored.
    for version in (3000000000, 3002763731):
        deleted = run_cli("call", "delete_org_package_version", *WEB_API, f"package_version_id={version}", "--yes",
                          **env)  # fmt: skip
        assert deleted.returncode == 0, deleted.stderr
    restore = run_cli("call", "restore_from_journal", "since=1h", **env)
    assert (restore.returncode, restore.stdout) == (2, "")
    assert restore.stderr.splitlines()[-1] == "error: not a terminal: pass --yes to confirm"
    assert not [r for r in sandbox.state.requests if r.method == "POST"]


def test_a_restore_from_the_journal_with_any_failure_exits_1(sandbox: SandboxServer) -> None:
    env = {"GITHUB_API_URL": sandbox.url, "GITHUB_TOKEN": DEMO_TOKEN}
    for version in (3000000000, 3002763731):
        deleted = run_cli("call", "delete_org_package_version", *WEB_API, f"package_version_id={version}", "--yes",
                          **env)  # fmt: skip
        assert deleted.returncode == 0, deleted.stderr
    # Someone restores one of them meanwhile: GitHub answers the journal's restore of it 404.
    path = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions/3000000000/restore"
    httpx2.post(sandbox.url + path, headers={"Authorization": f"Bearer {DEMO_TOKEN}"}).raise_for_status()
    restored = run_cli("call", "restore_from_journal", "since=1h", "--yes", **env)
    result = json.loads(restored.stdout)
    assert (result["restored"], result["failed"]) == (1, 1)
    assert restored.returncode == 1


def _read_terminal(terminal: int, until: str | None = None, deadline: float = 60) -> str:
    """What the command wrote to its terminal: up to `until`, or to its end (the command closed it)."""
    shown, stop = b"", time.monotonic() + deadline
    while time.monotonic() < stop and (until is None or until.encode() not in shown):
        if not select.select([terminal], [], [], 0.2)[0]:
            continue
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # EIO: every process holding the terminal's other end has closed it
            break
        if not chunk:
            break
        shown += chunk
    return shown.decode(errors="replace")


def test_ctrl_c_during_an_apply_says_how_far_it_got_and_the_same_command_resumes(sandbox: SandboxServer) -> None:
    env = {"GITHUB_API_URL": sandbox.url, "GITHUB_REGISTRY_URL": sandbox.url, "GITHUB_TOKEN": DEMO_TOKEN}
    planned = run_cli("call", "plan_version_cleanup", *MULTI_APP, "tagged=untagged", **env)
    plan_id = json.loads(planned.stdout)["plan_id"]
    apply = [*COMMAND, "call", "apply_version_cleanup", f"plan_id={plan_id}", "--yes"]
    # Each of the 5 deletes answers after a second, as a busy GitHub might: the apply lasts long enough to interrupt.
    sandbox.state.faults.script("DELETE", "*", [Fault(latency=1.0)] * 5)
    terminal, its_end = pty.openpty()  # stderr on a terminal, where the progress line is shown
    with subprocess.Popen(apply, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=its_end,
                          env=clean_env(**env)) as process:  # fmt: skip
        os.close(its_end)
        shown = _read_terminal(terminal, until="deleted 1 of 5")
        process.send_signal(signal.SIGINT)  # what Ctrl-C at the terminal sends
        shown += _read_terminal(terminal)
        assert process.wait(timeout=60) == 130
        assert process.stdout is not None and process.stdout.read() == b""
    os.close(terminal)
    said = re.search(r"interrupted after (\d) of 5; run the same command to resume", shown)
    assert said is not None, shown
    assert "Traceback" not in shown
    resumed = run_cli(*apply[len(COMMAND) :], **env)
    assert resumed.returncode == 0, resumed.stderr
    # Each version deleted once: the run again deleted only what the interrupted one had not.
    assert 1 <= json.loads(resumed.stdout)["deleted_count"] <= 5 - int(said.group(1))
    # On a loaded machine the resumed run may read the package before the sandbox has answered the delete the
    # interrupted run sent last; it sends that one again, as it would to GitHub, and meets 404: never a second delete.
    answers = [r.status for r in sandbox.state.requests if r.method == "DELETE"]
    assert (answers.count(204), set(answers) - {204}) in ((5, set()), (5, {404}))
    again = run_cli(*apply[len(COMMAND) :], **env)
    assert (again.returncode, json.loads(again.stdout)["status"]) == (0, "already_done")


def test_prompts_and_resources_are_listed_beside_tools_without_a_token() -> None:
    prompts = run_cli("prompts")
    resources = run_cli("resources")
    assert (prompts.returncode, resources.returncode) == (0, 0), prompts.stderr + resources.stderr
    lines = prompts.stdout.splitlines()
    assert "audit_organization org=… [stale_after_days=…]" in lines
    assert "  Audit an organization's packages and suggest what to clean up." in lines
    assert "    org: required. Organization login" in lines
    assert "    stale_after_days: optional. Stale: no new version in this many days" in lines
    assert "github-packages://orgs/{org}/packages/{package_type}/{package_name}" in resources.stdout.splitlines()
    assert "  Get an organization's package, with its newest versions" in resources.stdout.splitlines()
    assert "Traceback" not in prompts.stderr + resources.stderr


def test_the_sandbox_keeps_to_its_own_room_when_the_config_file_names_a_redis(tmp_path: Path) -> None:
    # Port 1: nothing listens, so a sandbox that used this Redis could not start; one that did would put its demo
    # plans and journal into a real deployment's shared state.
    config = tmp_path / "config.toml"
    config.write_text('state_url = "redis://127.0.0.1:1/0"\nshared_secret = "a secret shared by the replicas"\n')
    done = run_cli("call", "list_org_packages", f"org={DEMO_ORG}", "package_type=container", "--sandbox",
                   "--config", str(config))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "web/api" in done.stdout
    served = run_cli("call", "list_org_packages", f"org={DEMO_ORG}", "package_type=container", "--config", str(config),
                     GITHUB_TOKEN=DEMO_TOKEN)  # fmt: skip
    assert served.returncode == 2 and "cannot start" in served.stderr  # without --sandbox, the file's Redis is used


def test_the_command_loads_its_modules_with_the_collector_off_then_on() -> None:
    # cli/start.py: the collector's passes over the modules being loaded were a tenth of a server's start. They are
    # loaded with it off, then frozen, and it is on again for whatever the command goes on to do.
    probe = """
import atexit, gc, sys
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "github_packages_mcp.server.app":
            seen["loading"] = gc.isenabled()
sys.meta_path.insert(0, Spy())
atexit.register(lambda: print("gc:", seen["loading"], gc.isenabled(), gc.get_freeze_count() > 100_000))
from github_packages_mcp.cli import start
sys.argv = ["github-packages-mcp", "prompts"]
sys.exit(start.main())
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines()[-1] == "gc: False True True"  # off while loading, on after, what loaded frozen
