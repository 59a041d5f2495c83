"""Retention cleanup as tools: plan_version_cleanup (reads), apply_version_cleanup (deletes, after confirmation)
and restore_from_journal. The work itself is in `tools/cleanup.py`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations

from github_packages_mcp.config import Settings
from github_packages_mcp.errors import GitHubError
from github_packages_mcp.server.errors import tool_error_message
from github_packages_mcp.server.toolkit import (
    OWNER_PARAMS,
    AppContext,
    Target,
    ToolEntry,
    build_tool,
    concise,
    confirmed,
    keyword,
    owner_of,
    signed,
    tool_errors,
)
from github_packages_mcp.tools.catalogue import PACKAGE_TYPE, arg, scopes_for
from github_packages_mcp.tools.cleanup import (
    CleanupApplied,
    CleanupPlan,
    Restored,
    apply_plan,
    describe_plan,
    make_plan,
    restore_from_journal,
)
from github_packages_mcp.tools.models import ConfirmationOutcome
from github_packages_mcp.tools.retention import Rules

__all__ = ["cleanup_entries"]

READ, DELETE, RESTORE = scopes_for("read"), scopes_for("delete"), scopes_for("restore")
PLAN_ID = keyword("plan_id", Annotated[str, arg("From plan_version_cleanup", min_length=1)])
_RULES = [
    keyword("keep_latest", Annotated[int, arg("Keep the N newest selected", strict=True, ge=0)], 0),
    keyword("keep_younger_than_days", Annotated[float | None, arg("Keep selected ones younger than this", ge=0)], None),
    keyword("age_basis", Annotated[Literal["created", "updated"], arg()], "created"),
    keyword("tagged", Annotated[Literal["any", "tagged", "untagged"], arg("Which are selected")], "any"),
    keyword("include_tags", Annotated[list[str], arg("Select only those with a matching tag")], []),
    keyword("exclude_tags", Annotated[list[str], arg("Always keep those with a matching tag")], []),
    keyword("pattern_syntax", Annotated[Literal["glob", "regex"], arg()], "glob"),
    keyword("prerelease", Annotated[Literal["any", "only", "never"], arg("Semver pre-releases")], "any"),
]


def cleanup_entries() -> tuple[ToolEntry, ...]:
    return (
        ToolEntry("plan_version_cleanup", "cleanup", True, READ, _plan_tool),
        ToolEntry("apply_version_cleanup", "cleanup", False, DELETE, _apply_tool),
        ToolEntry("restore_from_journal", "cleanup", False, RESTORE, _restore_tool),
    )


def _plan_tool(settings: Settings) -> Tool:
    async def plan(ctx: Context[AppContext, Any], **arguments: Any) -> CallToolResult:
        app = ctx.request_context.lifespan_context
        owner = owner_of(arguments.pop("org"), arguments.pop("username"))
        package_type, package_name = arguments.pop("package_type"), arguments.pop("package_name")
        rules = Rules(**{**arguments, "include_tags": tuple(arguments["include_tags"]),
                         "exclude_tags": tuple(arguments["exclude_tags"])})  # fmt: skip

        async def progress(done: int, total: int | None) -> None:
            await ctx.report_progress(done, total, f"planned {done} of {total} package(s)")

        with tool_errors(READ, "list_org_package_versions"):
            result = await make_plan(
                app.github, app.store, settings.registry_url, owner, package_type, package_name, rules,
                datetime.now(UTC), progress,
            )  # fmt: skip
        return concise(result)

    package_name = keyword("package_name", Annotated[str, arg("A name or a glob like 'web/*'", min_length=1)])
    params = [*OWNER_PARAMS, keyword("package_type", PACKAGE_TYPE.annotation), package_name, *_RULES]
    return build_tool(
        signed(
            plan, "plan_version_cleanup", [*params, keyword("ctx", Context)], Annotated[CallToolResult, CleanupPlan]
        ),
        name="plan_version_cleanup",
        description=(
            "Plan a cleanup, deleting nothing: delete or keep, and why, for each version of a package or of a "
            "name glob. Keeps what kept multi-arch images and signatures need."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )


def _apply_tool(settings: Settings) -> Tool:
    async def summarise(app: AppContext, arguments: dict[str, Any]) -> Target:
        summary, count = describe_plan(app.store, arguments["plan_id"])
        if count == 0:
            raise ToolError(f"Nothing to do: every version of plan {arguments['plan_id']} is already done")
        return Target(summary, str(count), f"{count} (the number of versions)")

    async def act(ctx: Context[AppContext, Any], arguments: dict[str, Any]) -> ConfirmationOutcome:
        app = ctx.request_context.lifespan_context

        async def progress(done: int, total: int | None) -> None:
            await ctx.report_progress(done, total, f"deleted {done} of {total}")

        try:
            return await apply_plan(app.github, app.store, arguments["plan_id"], progress)
        except GitHubError as exc:  # a rate limit or the network stopped the run; the journal has what was done
            advice = tool_error_message(exc, DELETE, "plan_version_cleanup")
            raise ToolError(f"{advice} Call apply_version_cleanup again with the same plan_id to resume.") from None

    errors = lambda: tool_errors(DELETE, "plan_version_cleanup")  # noqa: E731
    return build_tool(
        confirmed("apply_version_cleanup", [PLAN_ID], summarise, act, CleanupApplied, errors, settings.confirmation),
        name="apply_version_cleanup",
        description=(
            "Apply a cleanup plan after the person confirms: paced deletes, journaled; again resumes. 404s count "
            "as done, refusals are skipped. Needs delete:packages."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True),
    )


def _restore_tool(_settings: Settings) -> Tool:
    async def restore(ctx: Context[AppContext, Any], plan_id: str, version_ids: list[int] | None) -> CallToolResult:
        app = ctx.request_context.lifespan_context

        async def progress(done: int, total: int | None) -> None:
            await ctx.report_progress(done, total, f"restored {done} of {total}")

        with tool_errors(RESTORE, "plan_version_cleanup"):
            return concise(await restore_from_journal(app.github, app.store, plan_id, version_ids, progress))

    ids = keyword("version_ids", Annotated[list[int] | None, arg("Default: all the plan deleted")], None)
    return build_tool(
        signed(
            restore,
            "restore_from_journal",
            [PLAN_ID, ids, keyword("ctx", Context)],
            Annotated[CallToolResult, Restored],
        ),
        name="restore_from_journal",
        description=(
            "Restore versions a cleanup deleted (all or some) from its journal, within 30 days. Needs write:packages."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False),
    )
