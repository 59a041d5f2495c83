"""GITHUB_TOOLSETS, GITHUB_TOOLS and GITHUB_READ_ONLY, as a Docker or hosted setup sets them: read as GitHub's own
MCP server reads them, beaten by the flags, beating the config file, and refused by name when wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from github_packages_mcp.config import load_settings
from github_packages_mcp.server.app import tool_entries
from tests.helpers import COMMAND, changes_nothing, clean_env


def offered(*args: str, **env: str) -> set[str]:
    """The tools `github-packages-mcp tools --sandbox` lists, with `env` set."""
    result = subprocess.run(
        [*COMMAND, "tools", "--sandbox", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**env),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    known = {entry.name for entry in tool_entries()}
    return {words[0] for line in result.stdout.splitlines() if (words := line.split()) and words[0] in known}


def in_toolsets(*toolsets: str) -> set[str]:
    return {entry.name for entry in tool_entries() if entry.toolset in toolsets}


def test_the_environment_chooses_toolsets_tools_and_read_only() -> None:
    assert offered(GITHUB_TOOLSETS="delete, restore") == in_toolsets("delete", "restore")
    assert offered(GITHUB_TOOLS="list_org_packages,check_token") == {"list_org_packages", "check_token"}
    assert offered(GITHUB_READ_ONLY="1") == {entry.name for entry in tool_entries() if changes_nothing(entry)}
    assert offered(GITHUB_READ_ONLY="false", GITHUB_TOOLSETS="all") == in_toolsets(*{e.toolset for e in tool_entries()})


def test_flags_beat_the_environment() -> None:
    assert offered("--toolsets", "read", GITHUB_TOOLSETS="delete") == in_toolsets("read")
    assert offered("--read-only", GITHUB_READ_ONLY="0", GITHUB_TOOLSETS="delete") == set()


def test_the_environment_beats_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('toolsets = ["read"]\nread_only = true\n')
    settings = load_settings(config, env={"GITHUB_TOOLSETS": "delete", "GITHUB_READ_ONLY": "no"})
    assert (settings.toolsets, settings.read_only) == (("delete",), False)
    assert load_settings(config, env={"GITHUB_TOOLSETS": " "}).toolsets == ("read",)  # blank is unset


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"GITHUB_READ_ONLY": "maybe"}, "GITHUB_READ_ONLY='maybe' is neither true nor false: set it to 1 or true"),
        (
            {"GITHUB_TOOLSETS": "read,bogus"},
            "toolsets (from GITHUB_TOOLSETS): unknown toolset 'bogus'; the toolsets are read, delete, restore",
        ),
        ({"GITHUB_TOOLS": "list_org_pakages"}, "unknown tools: list_org_pakages (did you mean list_org_packages?)"),
    ],
)
def test_a_wrong_value_is_refused_by_name(env: dict[str, str], says: str) -> None:
    result = subprocess.run(
        [*COMMAND, "tools", "--sandbox"], capture_output=True, text=True, timeout=60, env=clean_env(**env), check=False
    )
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
