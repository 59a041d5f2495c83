"""The README's MCP Inspector commands, run exactly as printed with the real Inspector CLI (skipped without npx):
listing, a call, and a delete confirmed by token across two server processes."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import clean_env

ROOT = Path(__file__).parent.parent
COMMAND = ".venv/bin/github-packages-mcp"


def readme_inspector_commands() -> list[list[str]]:
    """Every `npx … inspector` command of the README's shell blocks, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if "@modelcontextprotocol/inspector" in line]


def run(command: list[str], home: Path) -> dict[str, Any]:
    # The Inspector hands its server only a few variables (HOME, PATH, ...), not XDG_STATE_HOME: a home of the
    # test's own keeps the server's state (and its sandbox world) out of the real one; npm's cache stays.
    env = clean_env(HOME=str(home), NPM_CONFIG_CACHE=os.environ.get("NPM_CONFIG_CACHE", str(Path.home() / ".npm")))
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(shutil.which("npx") is None, reason="npx (Node.js) is not installed")
@pytest.mark.skipif(not (ROOT / COMMAND).exists(), reason=f"{COMMAND} is not installed (the README's set-up)")
def test_the_readme_inspector_commands_work_as_printed(tmp_path: Path) -> None:
    listing, call, delete, confirmed = readme_inspector_commands()
    assert len(run(listing, tmp_path)["tools"]) > 27
    assert run(call, tmp_path)["structuredContent"]["items"]
    first = run(delete, tmp_path)["structuredContent"]
    assert first["status"] == "confirmation_required"
    assert "version 1012012320" in first["summary"]
    done = run([arg.replace("PASTE_THE_TOKEN", first["confirmation_token"]) for arg in confirmed], tmp_path)
    assert done["isError"] is False, done
    assert done["structuredContent"]["deleted"] is True
