"""export_cleanup_policy: cleanup plans, or plan_version_cleanup's arguments, written as a retention policy (the TOML
file `cleanup --policy` runs) for the person to review and commit.

The text is checked as the command checks a policy before it is returned: read back by the command's own reader
(`retention.policy.policy_from_text`) against plan_version_cleanup's own argument model, with the rules planning
refuses (patterns, tag rules for registries without tags) checked too, and every table must read back as exactly
the arguments it was written from. Nothing is sent to GitHub: given plans, only the saved plans are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Annotated, Any, Final

from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.github.catalogue import arg
from github_packages_mcp.github.models import Result
from github_packages_mcp.retention.plan import check_rules
from github_packages_mcp.retention.policy import MAX_TABLES, PolicyError, parse_policy, policy_from_text
from github_packages_mcp.retention.policy_text import NotWritable, day_count, policy_table, policy_text
from github_packages_mcp.retention.rules import Rules, RulesError
from github_packages_mcp.retention.store import SavedPlan
from github_packages_mcp.toolkit.advice import tool_errors
from github_packages_mcp.toolkit.context import ToolContext, app_of, caller_of
from github_packages_mcp.toolkit.entries import ToolEntry
from github_packages_mcp.toolkit.schemas import argument_defaults, argument_problems, argument_values, concise
from github_packages_mcp.tools.definitions import built_tool

__all__ = ["plan_argument_problems", "plan_arguments", "policy_entries"]

PLAN: Final = "plan_version_cleanup"
FILE: Final = "cleanup-policy.toml"
HINT: Final = f"Save as {FILE}; dry run: github-packages-mcp cleanup --policy {FILE}"
HEADER: Final = (
    "Retention policy of github-packages-mcp. Dry run: github-packages-mcp cleanup --policy FILE\n"
    "Delete: github-packages-mcp cleanup --policy FILE --apply"
)
PlanIdText = Annotated[str, Field(min_length=1, max_length=64)]
PlanIds = Annotated[list[PlanIdText] | None, arg("One table per plan", min_length=1, max_length=MAX_TABLES)]
# An object of plan_version_cleanup's ~20 arguments; bounded so that no object of junk keys is read whole.
RuleTable = Annotated[dict[Annotated[str, Field(max_length=64)], Any], Field(max_length=30)]
RuleTables = Annotated[
    list[RuleTable] | None,
    arg("Or plan_version_cleanup arguments, one per table", min_length=1, max_length=MAX_TABLES),
]
_TABLE_NAME = re.compile(r"^cleanup\[(\d+)\]")


class ExportedPolicy(Result):
    text: str = Field(description=f"The policy file (TOML), for the person to review and save as {FILE}")
    tables: list[dict[str, Any]]
    hint: str


async def export_cleanup_policy(
    ctx: ToolContext, plan_ids: PlanIds = None, rules: RuleTables = None
) -> Annotated[CallToolResult, ExportedPolicy]:
    with tool_errors((), PLAN):
        if (plan_ids is None) == (rules is None):
            raise InvalidArguments(
                "give plan_ids (from plan_version_cleanup) or rules (its arguments, an object per table)"
                + (", not both" if plan_ids else "")
            )
        if rules is not None:
            return concise(exported(rules, [None] * len(rules), "rules"))
        tables = await _planned_arguments(ctx, plan_ids or [])
        return concise(exported(tables, [f"from plan {plan_id}" for plan_id in plan_ids or []], "plan_ids"))


async def _planned_arguments(ctx: ToolContext, plan_ids: Sequence[str]) -> list[dict[str, Any]]:
    """What each plan was asked: its owner, package type, name or glob, and rules.

    Raises:
        PlanNotFound: If a plan is not this caller's (or none has its id).
        InvalidArguments: If a plan cannot be a policy's table.
    """
    caller = (await caller_of(ctx)).identity
    return [_arguments_of(await app_of(ctx).cleanups.saved(plan_id, caller)) for plan_id in plan_ids]


def _arguments_of(plan: SavedPlan) -> dict[str, Any]:
    if plan.package_name is None:
        raise InvalidArguments(f"plan {plan.plan_id} was saved before plans kept their package name: plan again")
    if plan.owner.kind == "my":
        # A policy names its owner; and GitHub documents /users/{username}/... for public packages only, where a
        # plan of "your" packages read /user/..., which also has the private ones (docs/github-behaviour.md).
        raise InvalidArguments(
            f"plan {plan.plan_id} is of the token's own packages, and a policy names its owner (org or username): "
            "for public packages, export rules with username set; a user's private packages cannot be a policy's"
        )
    rules = {key: value for key, value in plan.rules.items() if key in plan_arguments()}
    owner = {"org" if plan.owner.kind == "org" else "username": plan.owner.login}
    return {**owner, "package_type": plan.package_type, "package_name": plan.package_name, **rules}


@cache
def _plan_tool() -> Tool:
    return built_tool(PLAN)


@cache
def plan_arguments() -> tuple[str, ...]:
    """The names of plan_version_cleanup's arguments, in its order: the keys a policy's table may hold."""
    return tuple(argument_defaults(_plan_tool()))


def plan_argument_problems(arguments: Mapping[str, Any]) -> list[str]:
    """What plan_version_cleanup refuses in `arguments` before any request, one `key: what is wrong` each: its
    argument model's checks, then, when they pass, its rules' own (patterns, tag rules for registries without
    tags). A policy's tables are checked so, by the command and by the export, all before the first is planned."""
    tool = _plan_tool()
    if problems := argument_problems(tool, arguments):
        return problems
    values = argument_values(tool, arguments)
    try:
        check_rules(Rules(**{key: values[key] for key in Rules.model_fields}), values["package_type"])
    except RulesError as exc:
        return [exc.problem]
    return []


def exported(given: Sequence[Mapping[str, Any]], notes: Sequence[str | None], named: str) -> ExportedPolicy:
    """The policy of these tables of plan_version_cleanup arguments, checked as `cleanup --policy` checks it.

    Raises:
        InvalidArguments: Naming every problem (with `named`, the argument the tables came from), if the command
            would refuse the policy or planning would refuse a table's rules.
    """
    tool, known = _plan_tool(), plan_arguments()
    # A null is an argument not given where the argument may be absent (its default is None; TOML has no null, so
    # a table leaves it out). Anywhere else it is refused as a call refuses it: `keep_latest: null` (JSON's word
    # for an infinite number too) dropped would be a policy keeping nothing.
    absent = {name for name, default in argument_defaults(tool).items() if default is None}
    given = [{key: value for key, value in table.items() if value is not None or key not in absent} for table in given]
    try:
        parse_policy({"cleanup": given}, known, plan_argument_problems)
    except PolicyError as exc:
        raise InvalidArguments(_renamed(exc.problems, named)) from None
    values = [argument_values(tool, table) for table in given]
    tables = [_written(table) for table in values]
    try:
        text = policy_text(tables, notes, HEADER)
    except NotWritable as exc:
        raise InvalidArguments(f"{named}: {exc}") from None
    read_back = [
        argument_values(tool, table.arguments) for table in policy_from_text(text, known, plan_argument_problems)
    ]
    if read_back != values:  # never a policy that would run other than it reads: a fault of this writer
        raise RuntimeError("the policy written does not read back as the tables it was written from")
    return ExportedPolicy(text=text, tables=tables, hint=HINT)


def _written(arguments: dict[str, Any]) -> dict[str, Any]:
    """A table's keys that are not the tool's defaults, in its order; a day count as a person writes it."""
    table = policy_table(arguments, argument_defaults(_plan_tool()))
    if isinstance(days := table.get("keep_younger_than_days"), float):
        table["keep_younger_than_days"] = day_count(days)
    return table


def _renamed(problems: list[str], named: str) -> str:
    """The policy's problems (`cleanup[2].keep_latst: ...`) named by the argument's item (`rules[1].keep_latst`)."""
    lines = [_TABLE_NAME.sub(lambda found: f"{named}[{int(found[1]) - 1}]", problem) for problem in problems]
    return "the policy would not validate:\n" + "\n".join(lines)


def policy_entries() -> tuple[ToolEntry, ...]:
    return (
        ToolEntry.of(
            export_cleanup_policy,
            "cleanup",
            (),
            description=(
                "Write plans, or plan_version_cleanup arguments, as a policy file for `cleanup --policy` (TOML) to "
                "review and commit."
            ),
            annotations=ToolAnnotations(read_only_hint=True),
        ),
    )
