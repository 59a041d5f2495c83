"""Retention cleanups as tools: plan_version_cleanup and narrow_version_cleanup (read, make plans),
apply_version_cleanup (deletes, after confirmation), and the journal of every delete and restore:
list_deletion_history (reads) and restore_from_journal. The work itself is the cleanup service's
(`retention/service.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, ClassVar

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, ToolAnnotations

from github_packages_mcp.github.catalogue import (
    OptionalOrg,
    OptionalUsername,
    Owner,
    PackageTypeArgument,
    arg,
    scopes_for,
)
from github_packages_mcp.github.errors import GitHubError
from github_packages_mcp.retention.apply import CleanupApplied
from github_packages_mcp.retention.history import History, JournalQuery, Restored, Selection, window
from github_packages_mcp.retention.journal import Actor
from github_packages_mcp.retention.patterns import MAX_PATTERN_LENGTH
from github_packages_mcp.retention.plan import CleanupPlan
from github_packages_mcp.retention.rules import (
    AgeBasis,
    DeleteGhostImages,
    DeleteOrphans,
    DeletePartialImages,
    ExcludePackages,
    ExcludeTags,
    ExcludeVersions,
    IncludeTags,
    IncludeVersions,
    KeepLatest,
    KeepLatestTagged,
    KeepLatestUntagged,
    KeepYoungerThanDays,
    PatternSyntax,
    Prerelease,
    Rules,
    Tagged,
)
from github_packages_mcp.toolkit.advice import owner_known, tool_error_message, tool_errors
from github_packages_mcp.toolkit.apps import PLAN_KEY, for_app, shown_in_app
from github_packages_mcp.toolkit.confirmation import ConfirmationTarget, confirmed_tool
from github_packages_mcp.toolkit.context import Caller, ToolContext, app_of, caller_of, progress_reporter
from github_packages_mcp.toolkit.entries import ToolEntry
from github_packages_mcp.toolkit.schemas import concise, keyword

__all__ = ["cleanup_entries"]

READ, DELETE, RESTORE = scopes_for("read"), scopes_for("delete"), scopes_for("restore")
MAX_IDS = 1_000  # ids in one restore
PlanId = Annotated[str, arg("From plan_version_cleanup", min_length=1, max_length=64)]
PackageNameOrGlob = Annotated[str, arg("A name or a glob like 'web/*'", min_length=1, max_length=MAX_PATTERN_LENGTH)]
OptionalPlanId = Annotated[str | None, arg("What this cleanup plan deleted", min_length=1, max_length=64)]
VersionIds = Annotated[list[int] | None, arg("Versions", max_length=MAX_IDS)]
PackageIds = Annotated[list[int] | None, arg("Packages deleted whole", max_length=MAX_IDS)]
Since = Annotated[str | None, arg("From: ISO date/time (UTC), or an age: 36h, 7d", max_length=64)]
Until = Annotated[str | None, arg("Before: ISO date/time, or an age", max_length=64)]
MAX_CHOSEN = 10_000  # versions kept in one narrowed plan
DeleteVersionIds = Annotated[list[int], arg("Of the plan's deletions, those still to delete", max_length=MAX_CHOSEN)]
OptionalNameOrGlob = Annotated[str | None, arg("Package name or glob", min_length=1, max_length=MAX_PATTERN_LENGTH)]


async def plan_version_cleanup(
    ctx: ToolContext,
    *,
    org: OptionalOrg = None,
    username: OptionalUsername = None,
    package_type: PackageTypeArgument,
    package_name: PackageNameOrGlob,
    exclude_packages: ExcludePackages = [],  # noqa: B006  (never mutated; the published default)
    keep_latest: KeepLatest = 0,
    keep_younger_than_days: KeepYoungerThanDays = None,
    age_basis: AgeBasis = "created",
    tagged: Tagged = "any",
    include_tags: IncludeTags = [],  # noqa: B006  (never mutated; the published default)
    exclude_tags: ExcludeTags = [],  # noqa: B006
    include_versions: IncludeVersions = [],  # noqa: B006
    exclude_versions: ExcludeVersions = [],  # noqa: B006
    pattern_syntax: PatternSyntax = "glob",
    prerelease: Prerelease = "any",
    keep_latest_tagged: KeepLatestTagged = 0,
    keep_latest_untagged: KeepLatestUntagged = 0,
    delete_orphans: DeleteOrphans = False,
    delete_ghost_images: DeleteGhostImages = False,
    delete_partial_images: DeletePartialImages = False,
) -> Annotated[CallToolResult, CleanupPlan]:
    rules = Rules(
        exclude_packages=exclude_packages, keep_latest=keep_latest, keep_younger_than_days=keep_younger_than_days,
        age_basis=age_basis, tagged=tagged, include_tags=include_tags, exclude_tags=exclude_tags,
        include_versions=include_versions, exclude_versions=exclude_versions, pattern_syntax=pattern_syntax,
        prerelease=prerelease,
        keep_latest_tagged=keep_latest_tagged, keep_latest_untagged=keep_latest_untagged,
        delete_orphans=delete_orphans, delete_ghost_images=delete_ghost_images,
        delete_partial_images=delete_partial_images,
    )  # fmt: skip
    progress = progress_reporter(ctx, "planned {done} of {total} package(s)")
    with tool_errors(READ, "list_org_package_versions"):
        owner = Owner.of({"org": org, "username": username})
        caller = (await caller_of(ctx)).identity
        async with owner_known(app_of(ctx).github):
            plan, review = await app_of(ctx).cleanups.plan(
                caller, owner, package_type, package_name, rules, progress, review=client_supports_apps(ctx)
            )
    return for_app(ctx, concise(plan), PLAN_KEY, lambda: review)


async def narrow_version_cleanup(
    ctx: ToolContext, plan_id: PlanId, delete_version_ids: DeleteVersionIds
) -> Annotated[CallToolResult, CleanupPlan]:
    caller = (await caller_of(ctx)).identity
    with tool_errors(READ, "plan_version_cleanup"):
        return concise(await app_of(ctx).cleanups.narrow(plan_id, caller, delete_version_ids))


@dataclass(frozen=True)
class CleanupTarget(ConfirmationTarget):
    """What applying a plan would delete, as the person is asked about it; `digest` is the whole plan's, which the
    apply checks again."""

    digest: str
    versions: int  # left to delete

    @property
    def needs_asking(self) -> bool:
        # A plan with nothing left to delete deletes nothing: it answers what it did then, without asking.
        return self.versions > 0


async def _cleanup_target(ctx: ToolContext, caller: Caller, arguments: dict[str, Any]) -> CleanupTarget:
    described = await app_of(ctx).cleanups.describe(arguments["plan_id"], caller.identity)
    count = described.versions
    return CleanupTarget(described.summary, str(count), f"{count} (the number of versions)", described.digest, count)


async def _cleaned_up(
    ctx: ToolContext, actor: Actor, target: CleanupTarget, arguments: dict[str, Any]
) -> CleanupApplied:
    if not target.versions:
        return await app_of(ctx).cleanups.already_done(arguments["plan_id"], actor.caller)
    progress = progress_reporter(ctx, "deleted {done} of {total}")
    try:
        # Only the plan the person was asked about (its digest is in the summary they approved, and a token binds
        # that summary): the apply refuses any other.
        return await app_of(ctx).cleanups.apply(arguments["plan_id"], target.digest, actor, progress)
    except GitHubError as exc:  # a rate limit or the network stopped the run; the journal has what was done
        advice = tool_error_message(exc, DELETE, "plan_version_cleanup")
        raise ToolError(f"{advice} Call apply_version_cleanup again with the same plan_id to resume.") from None


def _query(ctx: ToolContext, caller: Caller, since: str | None, until: str | None, **selected: Any) -> JournalQuery:
    start, end = window(since, until, app_of(ctx).cleanups.now())
    return JournalQuery(since=start, until=end, caller=caller.journal_scope, **selected)


async def list_deletion_history(
    ctx: ToolContext,
    since: Since = None,
    until: Until = None,
    package_name: OptionalNameOrGlob = None,
) -> Annotated[CallToolResult, History]:
    caller = await caller_of(ctx)
    with tool_errors((), "list_deletion_history"):
        query = _query(ctx, caller, since, until, package_name=package_name)
        return concise(await app_of(ctx).cleanups.history(query))


@dataclass(frozen=True)
class RestoreTarget(ConfirmationTarget):
    """A restore as the person is asked about it: the selected journal lines (their digest is in the summary)."""

    selection: Selection

    ASKED: ClassVar[str] = "Restore"

    @property
    def needs_asking(self) -> bool:
        # Restoring is not destructive: one item, named by the call, goes without asking; more are shown first.
        return len(self.selection.entries) > 1


async def _restore_target(ctx: ToolContext, caller: Caller, arguments: dict[str, Any]) -> RestoreTarget:
    version_ids, package_ids = arguments["version_ids"], arguments["package_ids"]
    query = _query(
        ctx, caller, arguments["since"], arguments["until"], package_name=arguments["package_name"],
        plan_id=arguments["plan_id"], version_ids=None if version_ids is None else frozenset(version_ids),
        package_ids=None if package_ids is None else frozenset(package_ids),
    )  # fmt: skip
    selection = await app_of(ctx).cleanups.select(query, caller.identity)
    count = len(selection.entries)
    hint = f"{count} (the number of packages and versions)"
    return RestoreTarget(selection.describe(), str(count), hint, selection)


async def _restored(ctx: ToolContext, actor: Actor, target: RestoreTarget, arguments: dict[str, Any]) -> Restored:
    # Exactly the journal lines the person was shown (a token binds their digest, in the summary).
    progress = progress_reporter(ctx, "restored {done} of {total}")
    return await app_of(ctx).cleanups.restore(target.selection, actor, arguments["plan_id"], progress)


def _apply_tool() -> Callable[..., Any]:
    errors = partial(tool_errors, DELETE, "plan_version_cleanup")
    plan_id = keyword("plan_id", PlanId)
    return confirmed_tool("apply_version_cleanup", [plan_id], _cleanup_target, _cleaned_up, CleanupApplied, errors)


def _restore_tool() -> Callable[..., Any]:
    return confirmed_tool(
        "restore_from_journal",
        [
            keyword("plan_id", OptionalPlanId, None),
            keyword("version_ids", VersionIds, None),
            keyword("package_ids", PackageIds, None),
            keyword("since", Since, None),
            keyword("until", Until, None),
            keyword("package_name", OptionalNameOrGlob, None),
        ],
        _restore_target,
        _restored,
        Restored,
        partial(tool_errors, RESTORE, "list_deletion_history"),
    )


def cleanup_entries() -> tuple[ToolEntry, ...]:
    return (
        ToolEntry.of(
            plan_version_cleanup,
            "cleanup",
            READ,
            description=(
                "Plan a cleanup: for each version of a package or name glob, delete or keep, and why. Image parts "
                "(platforms, signatures, attestations) follow their image."
            ),
            annotations=ToolAnnotations(read_only_hint=True),
            meta=shown_in_app(),
        ),
        ToolEntry.of(
            narrow_version_cleanup,
            "cleanup",
            READ,
            description=(
                "Narrow a plan to some of its deletions (parts follow their image): a new plan_id. Deletes nothing."
            ),
            annotations=ToolAnnotations(read_only_hint=True),
        ),
        ToolEntry.of(
            _apply_tool(),
            "cleanup",
            DELETE,
            description="Apply a cleanup plan: versions changed since the plan are skipped; calling again resumes.",
            annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True),
            # The app never applies a plan: only the model calls it, and the person confirms (docs/apps.md).
            meta=shown_in_app(["model"]),
        ),
        ToolEntry.of(
            list_deletion_history,
            "cleanup",
            (),
            description="What this server deleted or restored, newest first: who, what, when, result, restorable.",
            annotations=ToolAnnotations(read_only_hint=True),
        ),
        ToolEntry.of(
            _restore_tool(),
            "cleanup",
            RESTORE,
            description=(
                "Restore what this server deleted, by plan_id, ids or since/until; the person confirms more than one."
            ),
            annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False),
        ),
    )
