"""What a `cleanup --policy` run leaves for CI: a Markdown summary for the job's page (`GITHUB_STEP_SUMMARY`) and the
run's journal lines (`--journal-out`), to keep as an artifact.

Package and version names and tags are GitHub's, chosen by whoever published: in the Markdown they are escaped
(`markdown_text`), so a `|` cannot split a table cell, nor a backtick, `<` or `[` become code, HTML or a link.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from github_packages_mcp.github.untrusted import escaped
from github_packages_mcp.retention.policy import PolicyTable

__all__ = ["MAX_LISTED", "TableOutcome", "markdown_text", "step_summary", "write_journal_lines"]

MAX_LISTED: Final = 20  # versions listed per table in the summary; the counts say the rest
MAX_CELL: Final = 120  # characters of one name in a cell (a digest is 71)
_MARKDOWN_SIGNS = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


@dataclass
class TableOutcome:
    """One table of the policy: its plan (the tool's result), and what applying it did (None: not applied)."""

    table: PolicyTable
    plan: dict[str, Any]
    applied: dict[str, Any] | None = None
    error: str | None = None  # the apply's tool error, when it had one

    @property
    def plan_id(self) -> str:
        return str(self.plan["plan_id"])

    def counts(self) -> str:
        """`deleted 3, already gone 0, skipped 0, failed 0`, or for a dry run `would delete 3, keep 5`."""
        if self.error is not None:
            return "not applied: " + self.error
        if self.applied is None:
            return f"would delete {self.plan['delete']}, keep {self.plan['keep']}"
        applied = self.applied
        if applied.get("status") in ("declined", "cancelled", "not_confirmed"):
            return f"not applied: {applied.get('status')}"
        return (
            f"deleted {applied.get('deleted_count', 0)}, already gone {applied.get('already_gone', 0)}, "
            f"skipped {applied.get('skipped', 0)}, failed {applied.get('failed', 0)}"
        )

    def deletions(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(package, decision) of every version the plan deletes, in the plan's order."""
        for package in self.plan.get("packages", []):
            for decision in package.get("decisions", []):
                if decision.get("action") == "delete":
                    yield package.get("package", ""), decision


def markdown_text(text: str) -> str:
    """`text` safe in a Markdown table cell: Markdown's signs backslash-escaped, control characters shown as
    escapes, and long text cut."""
    shown = escaped(text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…")
    return _MARKDOWN_SIGNS.sub(r"\\\1", shown)


def step_summary(outcomes: Sequence[TableOutcome], applied: bool) -> str:
    """The run as Markdown: one row per table (owner, packages, counts, plan), then up to MAX_LISTED of each
    table's deletions."""
    title = "applied" if applied else "dry run, nothing deleted"
    lines = [
        f"### github-packages-mcp cleanup --policy ({title})",
        "",
        "| Table | Owner | Packages | Result | Plan |",
        "| --- | --- | --- | --- | --- |",
    ]
    for outcome in outcomes:
        arguments = outcome.table.arguments
        cells = [
            outcome.table.name, outcome.table.owner, f"{arguments['package_type']} {arguments['package_name']}",
            outcome.counts(), outcome.plan_id,
        ]  # fmt: skip
        lines.append("| " + " | ".join(markdown_text(cell) for cell in cells) + " |")
    for outcome in outcomes:
        lines += _deletions_listed(outcome, applied)
    return "\n".join(lines) + "\n"


def _deletions_listed(outcome: TableOutcome, applied: bool) -> list[str]:
    deletions = list(outcome.deletions())
    if not deletions:
        return []
    verb = "planned for deletion" if applied else "would be deleted"
    lines = ["", f"**{outcome.table.name}**: {len(deletions)} version(s) {verb}", ""]
    lines += ["| Package | Version | Tags |", "| --- | --- | --- |"]
    for package, decision in deletions[:MAX_LISTED]:
        tags = ", ".join(decision.get("tags") or []) or "untagged"
        lines.append(f"| {markdown_text(package)} | {markdown_text(str(decision.get('name', '')))} | "
                     f"{markdown_text(tags)} |")  # fmt: skip
    if len(deletions) > MAX_LISTED:
        lines.append(f"\n…and {len(deletions) - MAX_LISTED} more (the plan lists them all).")
    return lines


def write_journal_lines(path: Path, entries: Sequence[dict[str, Any]]) -> None:
    """The run's journal entries as JSON lines, oldest first.

    Raises:
        OSError: If the file cannot be written.
    """
    text = "".join(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n" for entry in entries)
    path.write_text(text, encoding="utf-8")
