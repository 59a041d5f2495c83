"""The README's tool table is generated from the catalogue, so the docs cannot drift from the tools."""

from __future__ import annotations

import os
import re
from pathlib import Path

from github_packages_mcp.github.catalogue import OPERATIONS

README = Path(__file__).parent.parent / "README.md"
TABLE = re.compile(r"(<!-- tools:start[^>]*-->\n)(.*?)(<!-- tools:end -->)", re.S)
KINDS = {"read": "read", "delete": "delete, confirmed", "restore": "restore"}


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
