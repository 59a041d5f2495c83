"""The README and docs/ as a reader meets them: the tool table generated from the catalogue, a page that fits a
screen, the set-up command near the top and working as printed, and no link that leads nowhere."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

from github_packages_mcp.github.catalogue import OPERATIONS
from tests.helpers import clean_env

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
TABLE = re.compile(r"(<!-- tools:start[^>]*-->\n)(.*?)(<!-- tools:end -->)", re.S)
KINDS = {"read": "read", "delete": "delete, confirmed", "restore": "restore"}
FENCED = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
MAX_LINES = 300
# The quick start must be seen without scrolling: what it is and the command to try it, within a first screen.
FIRST_SCREEN = 40


def tool_table() -> str:
    rows = [
        f"| `{op.name}` | `{op.method} {op.path}` | {KINDS[op.kind]} | {', '.join(op.scopes)} |" for op in OPERATIONS
    ]
    return "\n".join(["| Tool | GitHub endpoint | Kind | Scopes |", "|---|---|---|---|", *rows]) + "\n"


def test_readme_tool_table_matches_the_catalogue() -> None:
    text = README.read_text()
    match = TABLE.search(text)
    assert match, "README lacks the tools:start/tools:end markers"
    if os.environ.get("UPDATE_README") and not os.environ.get("CI"):
        README.write_text(TABLE.sub(lambda m: m.group(1) + tool_table() + m.group(3), text))
        return
    assert match.group(2) == tool_table(), "README tool table is stale: UPDATE_README=1 pytest tests/test_readme.py"


def test_the_readme_fits_in_300_lines() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_LINES, f"README.md is {lines} lines; move a subject to docs/ (at most {MAX_LINES})"


def quick_start() -> tuple[int, str]:
    """The README's first shell block: the line it starts on, and its command."""
    text = README.read_text()
    match = re.search(r"^```sh\n(.*?)^```", text, re.S | re.M)
    assert match, "README has no ```sh block"
    return text[: match.start()].count("\n") + 1, match.group(1).strip()


def test_the_quick_start_is_the_first_command_and_on_the_first_screen() -> None:
    line, command = quick_start()
    assert line + len(command.splitlines()) + 1 <= FIRST_SCREEN, f"the quick start ends below line {FIRST_SCREEN}"
    # One command that installs from the clone and answers from the sandbox: not the PyPI routes, which fail until a
    # release is there.
    assert "\n" not in command
    assert command.startswith("python3 -m venv .venv && .venv/bin/pip install . && ")
    assert command.endswith(" --sandbox")


def test_the_quick_start_installs_and_answers_as_printed(tmp_path: Path) -> None:
    # A copy of the tree as a clone has it (tracked files, and new ones not ignored), without this checkout's .venv.
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    clone = tmp_path / "clone"
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    _, command = quick_start()
    # As a person types it: bash, wherever it is on the PATH.
    done = subprocess.run(
        ["bash", "-c", command],  # noqa: S607
        cwd=clone, capture_output=True, text=True, timeout=600, check=False,
        env=clean_env(XDG_STATE_HOME=str(tmp_path / "state")),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # pip speaks first; the answer is the JSON that follows.
    answer = json.loads(done.stdout[done.stdout.index("\n{") + 1 :])
    assert "web/api" in [item["name"] for item in answer["items"]]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(0)[1:-1], heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCED.sub("", path.read_text())
    return {slug(heading) for heading in re.findall(r"^#{1,6} (.+)$", text, re.M)}


def links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCED.sub("", path.read_text()))
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for target in links(page):
        file, _, anchor = target.partition("#")
        destination = (page.parent / unquote(file)).resolve() if file else page
        if not destination.exists():
            broken.append(f"{target}: no {destination.relative_to(ROOT.resolve())}")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor}")
    assert broken == []


def test_the_link_check_sees_links_and_headings() -> None:
    # The check above passes on a page without links, so make sure it reads this README's: the docs it points to,
    # and headings as GitHub names them.
    assert {f"docs/{page.name}" for page in DOCS} <= set(links(README))
    assert {"the-command", "connect-your-mcp-client", "safety-model"} <= anchors(README)
    assert slug("Sessions (the default), or stateless") == "sessions-the-default-or-stateless"
    assert slug("The size of `tools/list`") == "the-size-of-toolslist"
