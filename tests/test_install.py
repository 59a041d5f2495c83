"""`github-packages-mcp install CLIENT`, run as a person runs it, into a home and a project of the test's own: the
file each client reads, merged and backed up, never holding the token, and a server that starts from what it says."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from github_packages_mcp.sandbox import DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.app import tool_entries
from tests.helpers import COMMAND, changes_nothing, clean_env, ok

pytestmark = pytest.mark.anyio
TOKEN = "ghp_install" + "0123456789abcdef" * 2  # in the environment of every run: never in any file
# Each client's user file, under the home (or XDG_CONFIG_HOME, which the tests set to home/.config).
USER_FILES = {
    "claude-desktop": ".config/Claude/claude_desktop_config.json",
    "claude-code": ".claude.json",
    "cursor": ".cursor/mcp.json",
    "vscode": ".config/Code/User/mcp.json",
}
PROJECT_FILES = {"claude-code": ".mcp.json", "cursor": ".cursor/mcp.json", "vscode": ".vscode/mcp.json"}
SERVERS_KEY = {"claude-desktop": "mcpServers", "claude-code": "mcpServers", "cursor": "mcpServers", "vscode": "servers"}
TOKEN_REFERENCE = {
    "claude-code": "${GITHUB_TOKEN:-}",
    "cursor": "${env:GITHUB_TOKEN}",
    "vscode": "${input:github_packages_token}",
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project").mkdir()
    return tmp_path / "project"


def install(home: Path, project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`github-packages-mcp install ...` in `project`, with `home` as the person's home on every platform's terms."""
    where = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "APPDATA": str(home / "AppData")}
    return subprocess.run(
        [*COMMAND, "install", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=project,
        env=clean_env(GITHUB_TOKEN=TOKEN, **where) | env,
        check=False,
    )


def our_entry(path: Path, client: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(path.read_text())[SERVERS_KEY[client]]["github-packages"]
    return entry


def files_under(*roots: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for root in roots for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("client", list(USER_FILES))
def test_install_writes_the_clients_file_with_this_installations_command_and_no_token(
    client: str, home: Path, project: Path
) -> None:
    result = install(home, project, client, "--read-only", "--toolsets", "read,audit")
    path = home / USER_FILES[client]
    entry = our_entry(path, client)
    assert result.returncode == 0, result.stderr
    offered = [e for e in tool_entries() if e.toolset in ("read", "audit") and changes_nothing(e)]
    assert f"Added github-packages (user, {len(offered)} tools) for " in result.stdout and str(path) in result.stdout
    assert Path(entry["command"]).is_absolute() and Path(entry["command"]).is_file()
    assert entry["args"][-3:] == ["--read-only", "--toolsets", "read,audit"]
    assert entry.get("env", {}).get("GITHUB_TOKEN") == TOKEN_REFERENCE.get(client)
    assert TOKEN not in path.read_text() and TOKEN not in result.stdout + result.stderr
    assert not files_under(project)


def test_vscode_asks_for_the_token_through_an_input_of_its_own(home: Path, project: Path) -> None:
    install(home, project, "vscode")
    document = json.loads((home / USER_FILES["vscode"]).read_text())
    assert document["inputs"] == [
        {
            "type": "promptString",
            "id": "github_packages_token",
            "description": "GitHub token for github-packages: classic, read:packages (delete:packages to delete)",
            "password": True,
        }
    ]
    assert document["servers"]["github-packages"]["type"] == "stdio"


@pytest.mark.parametrize("client", list(PROJECT_FILES))
def test_project_scope_writes_in_the_current_directory(client: str, home: Path, project: Path) -> None:
    result = install(home, project, client, "--scope", "project", "--sandbox")
    entry = our_entry(project / PROJECT_FILES[client], client)
    assert result.returncode == 0, result.stderr
    assert "--sandbox" in entry["args"] and "env" not in entry
    assert not files_under(home)


def test_claude_desktop_has_no_project_scope(home: Path, project: Path) -> None:
    result = install(home, project, "claude-desktop", "--scope", "project")
    assert result.returncode == 2
    assert "Claude Desktop has one configuration, the user's" in result.stderr
    assert not files_under(home, project)


def test_print_shows_the_entry_and_writes_nothing(home: Path, project: Path) -> None:
    shown = install(home, project, "cursor", "--print", "--tools", "list_org_packages,check_token")
    assert shown.returncode == 0, shown.stderr
    assert not files_under(home, project)
    assert "nothing was written" in shown.stderr and str(home / USER_FILES["cursor"]) in shown.stderr
    install(home, project, "cursor", "--tools", "list_org_packages,check_token")
    assert json.loads(shown.stdout) == json.loads((home / USER_FILES["cursor"]).read_text())


@pytest.mark.parametrize("client", list(USER_FILES))
def test_a_second_run_changes_nothing_and_says_so(client: str, home: Path, project: Path) -> None:
    install(home, project, client, "--sandbox")
    before = files_under(home)
    again = install(home, project, client, "--sandbox")
    assert again.returncode == 0
    assert "already configured" in again.stdout
    assert files_under(home) == before  # no backup either


def test_other_servers_and_keys_are_kept_and_the_old_file_is_backed_up(home: Path, project: Path) -> None:
    path = home / USER_FILES["vscode"]
    path.parent.mkdir(parents=True)
    others = {
        "servers": {"github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}},
        "inputs": [{"type": "promptString", "id": "github_token", "password": True}],
        "someOtherKey": [1, 2],
    }
    old = json.dumps(others, indent=4)
    path.write_text(old)
    path.chmod(0o600)
    first = install(home, project, "vscode", "--read-only")
    changed = install(home, project, "vscode")  # the entry is replaced, not added twice
    document = json.loads(path.read_text())
    backups = sorted(path.parent.glob("mcp.json.*.bak"))
    assert first.returncode == changed.returncode == 0
    assert "Updated github-packages" in changed.stdout
    assert document["servers"]["github"] == others["servers"]["github"]  # type: ignore[index]
    assert document["servers"]["github-packages"]["args"] == []
    assert [item["id"] for item in document["inputs"]] == ["github_token", "github_packages_token"]
    assert document["someOtherKey"] == [1, 2]
    # Two installs in one second name their backups `<stamp>.bak` and `<stamp>-2.bak`, which sort the other way.
    [kept] = [backup for backup in backups if backup.read_text() == old]
    assert len(backups) == 2
    assert f"backup of the previous file: {kept}" in first.stdout
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(kept.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{\n  // my servers\n  "servers": {}\n}\n', "is not valid JSON (Expecting property name"),
        ('{"servers": {},}', "Comments and trailing commas (JSONC"),
        ("[1, 2]", "holds JSON but not an object"),
        ('{"servers": []}', "its 'servers' is not a JSON object"),
    ],
)
def test_a_file_that_is_not_a_json_object_is_refused_and_left_alone(
    home: Path, project: Path, text: str, says: str
) -> None:
    path = project / PROJECT_FILES["vscode"]
    path.parent.mkdir()
    path.write_text(text)
    result = install(home, project, "vscode", "--scope", "project")
    assert result.returncode == 2
    assert says in result.stderr
    assert files_under(project) == {str(path): text.encode()}


def test_claude_desktop_uses_the_github_clis_token_and_finds_gh(home: Path, project: Path, tmp_path: Path) -> None:
    """Claude Desktop expands no variable and starts servers with a short PATH: gh's folder goes first on it."""
    tools = tmp_path / "gh-bin"
    tools.mkdir()
    (tools / "gh").write_text(f"#!/bin/sh\necho {TOKEN}\n")
    (tools / "gh").chmod(0o755)
    result = install(home, project, "claude-desktop", PATH=f"{tools}{os.pathsep}{os.environ['PATH']}")
    entry = our_entry(home / USER_FILES["claude-desktop"], "claude-desktop")
    assert result.returncode == 0, result.stderr
    assert f"the GitHub CLI's ({tools / 'gh'} auth token" in result.stdout
    assert entry["env"]["PATH"].split(os.pathsep)[0] == str(tools)
    assert "GITHUB_TOKEN" not in entry["env"]
    assert TOKEN not in (home / USER_FILES["claude-desktop"]).read_text()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--toolsets", "read,bogus"], "unknown toolset 'bogus'"),
        (["--tools", "list_org_pakages"], "list_org_pakages (did you mean list_org_packages?)"),
        (["--tools", "delete_org_package", "--read-only"], "leave no tool to offer"),
    ],
)
def test_a_choice_of_tools_the_server_would_refuse_is_refused_before_writing(
    home: Path, project: Path, args: list[str], says: str
) -> None:
    result = install(home, project, "cursor", *args)
    assert result.returncode == 2
    assert says in result.stderr
    assert not files_under(home, project)


def server_from(path: Path, client: str, cwd: Path, **expanded: str) -> StdioServerParameters:
    """How the client starts the server: the written command, args and env (`expanded`: the values the client
    puts in place of its references), from a directory of its own."""
    entry = our_entry(path, client)
    env = clean_env() | {name: expanded.get(name, value) for name, value in entry.get("env", {}).items()}
    return StdioServerParameters(command=entry["command"], args=entry["args"], env=env, cwd=cwd)


@pytest.mark.parametrize("client", list(USER_FILES))
async def test_the_written_configuration_starts_a_server_that_answers(
    client: str, home: Path, project: Path, tmp_path: Path
) -> None:
    assert install(home, project, client, "--sandbox", "--read-only").returncode == 0
    async with Client(server_from(home / USER_FILES[client], client, cwd=tmp_path)) as mcp:
        names = [tool.name for tool in (await mcp.list_tools()).tools]
        listing = ok(await mcp.call_tool("list_my_packages", {"package_type": "container"}))
    assert sorted(names) == sorted(entry.name for entry in tool_entries() if changes_nothing(entry))
    assert [item["name"] for item in listing["items"]] == ["hello-world"]


async def test_a_token_passed_by_the_clients_environment_reaches_github(
    home: Path, project: Path, tmp_path: Path, sandbox: SandboxServer
) -> None:
    """Without --sandbox: GITHUB_API_URL is kept as it was at install time, and the token arrives as Claude Code
    expands `${GITHUB_TOKEN:-}` from its environment (here the sandbox's demo token)."""
    assert install(home, project, "claude-code", GITHUB_API_URL=sandbox.url).returncode == 0
    params = server_from(home / USER_FILES["claude-code"], "claude-code", cwd=tmp_path, GITHUB_TOKEN=DEMO_TOKEN)
    async with Client(params) as mcp:
        listing = ok(await mcp.call_tool("list_my_packages", {"package_type": "container"}))
    assert params.env is not None and params.env["GITHUB_API_URL"] == sandbox.url
    assert [item["name"] for item in listing["items"]] == ["hello-world"]  # the sandbox answers only its tokens


def test_the_installer_loads_no_mcp_and_no_server() -> None:
    """install.py is MCP-free: it writes files, and must not need the server's libraries to do so."""
    code = (
        "import sys, github_packages_mcp.cli.install\n"
        "print(sorted(m for m in sys.modules if m.startswith(('mcp', 'github_packages_mcp.'))))"
    )
    loaded = subprocess.run([COMMAND[0], "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert loaded.strip() == "['github_packages_mcp.cli', 'github_packages_mcp.cli.install']"  # cli/: a docstring
