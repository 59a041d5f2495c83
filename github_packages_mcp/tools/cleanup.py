"""Retention cleanups as tools: plan_version_cleanup (reads), apply_version_cleanup (deletes, after confirmation),
and the journal of every delete and restore: list_deletion_history (reads) and restore_from_journal. The work
itself is in `retention/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, ClassVar

from mcp.server.mcpserver import Resolve
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
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.github.errors import GitHubError
from github_packages_mcp.github.models import ConfirmationOutcome
from github_packages_mcp.retention.apply import CleanupApplied, apply_plan, describe_plan
from github_packages_mcp.retention.history import (
    History,
    JournalQuery,
    Restored,
    Selection,
    history,
    restore,
    select,
    window,
)
from github_packages_mcp.retention.patterns import MAX_PATTERN_LENGTH
from github_packages_mcp.retention.plan import CleanupPlan, make_plan
from github_packages_mcp.retention.rules import (
    AgeBasis,
    DeleteGhostImages,
    DeleteOrphans,
    DeletePartialImages,
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
from github_packages_mcp.toolkit.advice import tool_error_message, tool_errors
from github_packages_mcp.toolkit.confirmation import Answer, ConfirmationToken, Target, asking, settle
from github_packages_mcp.toolkit.context import (
    ToolContext,
    ToolEntry,
    actor_of,
    app_of,
    journal_caller,
    progress_reporter,
)
from github_packages_mcp.toolkit.schemas import build_tool, concise

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
OptionalNameOrGlob = Annotated[str | None, arg("Package name or glob", min_length=1, max_length=MAX_PATTERN_LENGTH)]


async def plan_version_cleanup(
    ctx: ToolContext,
    *,
    org: OptionalOrg = None,
    username: OptionalUsername = None,
    package_type: PackageTypeArgument,
    package_name: PackageNameOrGlob,
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
    app = app_of(ctx)
    rules = Rules(
        keep_latest=keep_latest, keep_younger_than_days=keep_younger_than_days, age_basis=age_basis, tagged=tagged,
        include_tags=include_tags, exclude_tags=exclude_tags, include_versions=include_versions,
        exclude_versions=exclude_versions, pattern_syntax=pattern_syntax, prerelease=prerelease,
        keep_latest_tagged=keep_latest_tagged, keep_latest_untagged=keep_latest_untagged,
        delete_orphans=delete_orphans, delete_ghost_images=delete_ghost_images,
        delete_partial_images=delete_partial_images,
    )  # fmt: skip
    progress = progress_reporter(ctx, "planned {done} of {total} package(s)")
    with tool_errors(READ, "list_org_package_versions"):
        owner = Owner.of({"org": org, "username": username})
        now = datetime.fromtimestamp(app.clock(), UTC)
        plan = await make_plan(app.sources, app.store, owner, package_type, package_name, rules, now, progress)
    return concise(plan)


@dataclass(frozen=True)
class PlanTarget(Target):
    """A plan as the person is asked about it; `digest` is the whole plan's, which the apply checks again."""

    digest: str = ""


async def _plan_target(ctx: ToolContext, plan_id: str) -> Target:
    app = app_of(ctx)
    with tool_errors(DELETE, "plan_version_cleanup"):
        described = await describe_plan(app.store, app.journal, plan_id, identity_of(app.github.token))
    if (count := described.versions) == 0:
        raise ToolError(f"Nothing to do: every version of plan {plan_id} is already done")
    return PlanTarget(described.summary, str(count), f"{count} (the number of versions)", digest=described.digest)


_ask_about_plan = asking(_plan_target)


async def apply_version_cleanup(
    ctx: ToolContext,
    plan_id: PlanId,
    confirmation_token: ConfirmationToken = None,
    *,
    target: Annotated[Target, Resolve(_plan_target)],
    answer: Annotated[Answer, Resolve(_ask_about_plan)],
) -> Annotated[CallToolResult, CleanupApplied]:
    app = app_of(ctx)
    # The plan the person was asked about (its digest is in the summary they approved, and a token binds that
    # summary): the apply refuses any other.
    confirmed = target.digest if isinstance(target, PlanTarget) else ""

    async def act() -> ConfirmationOutcome:
        progress = progress_reporter(ctx, "deleted {done} of {total}")
        try:
            actor = actor_of(ctx, "apply_version_cleanup")
            return await apply_plan(app.sources, app.store, app.journal, actor, plan_id, confirmed, progress)
        except GitHubError as exc:  # a rate limit or the network stopped the run; the journal has what was done
            advice = tool_error_message(exc, DELETE, "plan_version_cleanup")
            raise ToolError(f"{advice} Call apply_version_cleanup again with the same plan_id to resume.") from None

    with tool_errors(DELETE, "plan_version_cleanup"):
        arguments = {"plan_id": plan_id}
        return await settle(
            ctx, "apply_version_cleanup", arguments, target, answer, confirmation_token, act, CleanupApplied
        )


def _query(ctx: ToolContext, since: str | None, until: str | None, **selected: Any) -> JournalQuery:
    start, end = window(since, until, datetime.fromtimestamp(app_of(ctx).clock(), UTC))
    return JournalQuery(since=start, until=end, caller=journal_caller(ctx), **selected)


async def list_deletion_history(
    ctx: ToolContext,
    since: Since = None,
    until: Until = None,
    package_name: OptionalNameOrGlob = None,
) -> Annotated[CallToolResult, History]:
    with tool_errors((), "list_deletion_history"):
        return concise(await history(app_of(ctx).journal, _query(ctx, since, until, package_name=package_name)))


@dataclass(frozen=True)
class RestoreTarget(Target):
    """A restore as the person is asked about it: the selected journal lines (their digest is in the summary)."""

    selection: Selection

    ASKED: ClassVar[str] = "Restore"

    @property
    def needs_asking(self) -> bool:
        # Restoring is not destructive: one item, named by the call, goes without asking; more are shown first.
        return len(self.selection.entries) > 1


async def _restore_target(
    ctx: ToolContext,
    plan_id: str | None,
    version_ids: list[int] | None,
    package_ids: list[int] | None,
    since: str | None,
    until: str | None,
    package_name: str | None,
) -> Target:
    app = app_of(ctx)
    with tool_errors(RESTORE, "list_deletion_history"):
        query = _query(
            ctx, since, until, package_name=package_name, plan_id=plan_id,
            version_ids=None if version_ids is None else frozenset(version_ids),
            package_ids=None if package_ids is None else frozenset(package_ids),
        )  # fmt: skip
        if plan_id is not None:  # only the caller who made a plan restores by its id, as only they apply it
            await app.store.load(plan_id, identity_of(app.github.token), expired_ok=True)
        selection = await select(app.journal, query)
    count = len(selection.entries)
    hint = f"{count} (the number of packages and versions)"
    return RestoreTarget(selection.describe(), str(count), hint, selection=selection)


_ask_about_restore = asking(_restore_target)


async def restore_from_journal_tool(
    ctx: ToolContext,
    plan_id: OptionalPlanId = None,
    version_ids: VersionIds = None,
    package_ids: PackageIds = None,
    since: Since = None,
    until: Until = None,
    package_name: OptionalNameOrGlob = None,
    confirmation_token: ConfirmationToken = None,
    *,
    target: Annotated[Target, Resolve(_restore_target)],
    answer: Annotated[Answer, Resolve(_ask_about_restore)],
) -> Annotated[CallToolResult, Restored]:
    app = app_of(ctx)
    # Exactly the journal lines the person was shown (a token binds their digest, in the summary).
    selection = target.selection if isinstance(target, RestoreTarget) else Selection(())

    async def act() -> Restored:
        progress = progress_reporter(ctx, "restored {done} of {total}")
        actor = actor_of(ctx, "restore_from_journal")
        return await restore(app.github, app.journal, actor, selection, plan_id, progress)

    given = {"plan_id": plan_id, "version_ids": version_ids, "package_ids": package_ids, "since": since,
             "until": until, "package_name": package_name}  # fmt: skip
    with tool_errors(RESTORE, "list_deletion_history"):
        arguments = {name: value for name, value in given.items() if value is not None}
        return await settle(ctx, "restore_from_journal", arguments, target, answer, confirmation_token, act, Restored)


def cleanup_entries() -> tuple[ToolEntry, ...]:
    plan = partial(
        build_tool,
        plan_version_cleanup,
        description=(
            "Plan a cleanup: for each version of a package or name glob, delete or keep, and why. Image parts "
            "(platforms, signatures, attestations) follow their image."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
    apply = partial(
        build_tool,
        apply_version_cleanup,
        description="Apply a cleanup plan: versions changed since the plan are skipped; calling again resumes.",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True),
    )
    listing = partial(
        build_tool,
        list_deletion_history,
        description="What this server deleted or restored, newest first: who, what, when, result, restorable.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    restore = partial(
        build_tool,
        restore_from_journal_tool,
        name="restore_from_journal",
        description=(
            "Restore what this server deleted, by plan_id, ids or since/until; the person confirms more than one."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False),
    )
    return (
        ToolEntry("plan_version_cleanup", "cleanup", READ, plan),
        ToolEntry("apply_version_cleanup", "cleanup", DELETE, apply),
        ToolEntry("list_deletion_history", "cleanup", (), listing),
        ToolEntry("restore_from_journal", "cleanup", RESTORE, restore),
    )
