"""`github-packages-mcp cleanup --policy FILE`: a retention policy's tables planned, printed, and with `--apply`
applied, through the same tools `call plan_version_cleanup` and `call apply_version_cleanup` use (an in-memory MCP
client on the real server), so confirmation, pacing, the journal and restores are theirs.

Every table is planned before any is applied: a table that cannot be planned (a glob matching no package, GitHub
refusing) stops the run with nothing applied.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from mcp import Client
from mcp.server.mcpserver import MCPServer

from github_packages_mcp.cli.policy_report import TableOutcome, step_summary, write_journal_lines
from github_packages_mcp.cli.terminal import (
    CLIENT,
    NO_TERMINAL,
    OK,
    REFUSED,
    USAGE,
    Progress,
    Terminal,
    confirmed_call,
    error_text,
    exit_code,
    say,
)
from github_packages_mcp.retention.policy import PolicyTable, read_policy
from github_packages_mcp.tools.policy import plan_argument_problems, plan_arguments

__all__ = ["PolicyOptions", "load_policy", "run_policy"]

PLAN: Final = "plan_version_cleanup"
APPLY: Final = "apply_version_cleanup"
HISTORY: Final = "list_deletion_history"
STEP_SUMMARY_ENV: Final = "GITHUB_STEP_SUMMARY"


def load_policy(path: Path) -> list[PolicyTable]:
    """The policy's tables, checked against plan_version_cleanup's own arguments, argument model and rules.

    Raises:
        PolicyError: Naming every problem, before anything is sent.
    """
    return read_policy(path, plan_arguments(), plan_argument_problems)


@dataclass(frozen=True)
class PolicyOptions:
    apply: bool
    assume_yes: bool
    as_json: bool
    journal_out: Path | None


async def run_policy(
    server: MCPServer[Any], tables: Sequence[PolicyTable], options: PolicyOptions, progress: Progress
) -> int:
    """Plan every table, print the plans; with `apply`, apply each in order (with `assume_yes`, by the token flow,
    else asking at the terminal); then the CI summary and the journal lines. The exit code as `call`'s: 1 when a
    table could not be planned (nothing applied) or any delete failed or was refused, else 0."""
    started = datetime.now(UTC)
    terminal = Terminal()
    confirm: Any = terminal.confirm if options.apply and not options.assume_yes else None
    as_json = options.as_json or not sys.stdout.isatty()
    async with Client(server, elicitation_callback=confirm, client_info=CLIENT) as client:
        offered = {tool.name for tool in (await client.list_tools()).tools}
        if missing := [name for name in (PLAN, APPLY, HISTORY)[: 3 if options.apply else 1] if name not in offered]:
            say(f"error: {missing[0]} is not offered here (--read-only, --toolsets, --tools, or the token)", err=True)
            return USAGE
        outcomes = await _plan_all(client, tables, progress)
        if outcomes is None:
            if options.apply:
                say("error: not every table could be planned, so nothing was applied", err=True)
            return REFUSED
        if not as_json:
            _print_plans(outcomes)
        code = await _apply_all(client, outcomes, options.assume_yes, progress) if options.apply else OK
        journal = await _journal_entries(client, outcomes, started) if options.journal_out else []
    if terminal.unanswerable:
        say(f"error: {NO_TERMINAL}", err=True)
        return USAGE
    _print_outcomes(outcomes, options.apply, as_json)
    return max(code, _write_reports(outcomes, options, journal))


async def _plan_all(client: Client, tables: Sequence[PolicyTable], progress: Progress) -> list[TableOutcome] | None:
    """Every table's plan, or None when any table could not be planned (each failure said, with its table)."""
    outcomes, failed = [], False
    for table in tables:
        result = await client.call_tool(PLAN, table.arguments, progress_callback=progress)
        if result.is_error:
            say(f"error: {table.name}: {error_text(PLAN, result)}", err=True)
            failed = True
        else:
            outcomes.append(TableOutcome(table, result.structured_content or {}))
    return None if failed else outcomes


async def _apply_all(client: Client, outcomes: Sequence[TableOutcome], assume_yes: bool, progress: Progress) -> int:
    code = OK
    for outcome in outcomes:
        result = await confirmed_call(client, APPLY, {"plan_id": outcome.plan_id}, assume_yes, progress)
        if result.is_error:
            outcome.error = error_text(APPLY, result)
        else:
            outcome.applied = result.structured_content or {}
        code = max(code, exit_code(result))
    return code


async def _journal_entries(client: Client, outcomes: Sequence[TableOutcome], started: datetime) -> list[Any]:
    """The journal's lines of this run's plans, oldest first (the history lists newest first)."""
    since = (started - timedelta(minutes=1)).isoformat(timespec="seconds")  # a minute's slack for the clock's steps
    result = await client.call_tool(HISTORY, {"since": since})
    plan_ids = {outcome.plan_id for outcome in outcomes}
    entries = (result.structured_content or {}).get("entries", [])
    return [entry for entry in reversed(entries) if entry.get("plan_id") in plan_ids]


def _print_plans(outcomes: Sequence[TableOutcome]) -> None:
    from github_packages_mcp.cli.readable import print_readable  # only when a person reads the plans

    for outcome in outcomes:
        say(f"{outcome.table.describe()}")
        print_readable(PLAN, outcome.plan, sys.stdout)
        say("")


def _print_outcomes(outcomes: Sequence[TableOutcome], applied: bool, as_json: bool) -> None:
    if as_json:
        document: dict[str, Any] = {"plans": [outcome.plan for outcome in outcomes]}
        if applied:
            document["applied"] = [outcome.applied or {"error": outcome.error} for outcome in outcomes]
        say(json.dumps(document, indent=2, ensure_ascii=False))
    if not applied:
        return
    # The summary and how to undo: on stdout for a person, on stderr beside a JSON document.
    for outcome in outcomes:
        say(f"{outcome.table.describe()}: {outcome.counts()}; plan_id {outcome.plan_id}", err=as_json)
    undo = [outcome.plan_id for outcome in outcomes if (outcome.applied or {}).get("deleted_count")]
    for plan_id in undo:
        say(f"to undo: github-packages-mcp call restore_from_journal plan_id={plan_id}", err=as_json)


def _write_reports(outcomes: Sequence[TableOutcome], options: PolicyOptions, journal: list[Any]) -> int:
    """The CI summary (appended to GITHUB_STEP_SUMMARY's file, when set) and --journal-out; 1 if either cannot be
    written (what was deleted stays deleted, and journaled)."""
    code = OK
    if summary_path := os.environ.get(STEP_SUMMARY_ENV):
        try:
            with Path(summary_path).open("a", encoding="utf-8") as summary:
                summary.write(step_summary(outcomes, options.apply))
        except OSError as exc:
            say(f"error: cannot write {STEP_SUMMARY_ENV} ({summary_path}): {exc.strerror or exc}", err=True)
            code = REFUSED
    if options.journal_out is not None:
        try:
            write_journal_lines(options.journal_out, journal)
        except OSError as exc:
            say(f"error: cannot write --journal-out {options.journal_out}: {exc.strerror or exc}", err=True)
            code = REFUSED
    return code
