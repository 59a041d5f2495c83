"""Audits as tools, reading only: audit_packages (an owner's packages), check_image_integrity (what is broken in
container packages) and check_token (what the token is and may do). The work itself is in `insights/`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from mcp_types import CallToolResult, ToolAnnotations

from github_packages_mcp.durations import WholeDays
from github_packages_mcp.github.catalogue import OptionalOrg, OptionalUsername, Owner, arg, scopes_for
from github_packages_mcp.github.models import PACKAGE_TYPES, PackageType
from github_packages_mcp.insights.audit import Audit, audit, audit_review
from github_packages_mcp.insights.integrity import Integrity, check_integrity
from github_packages_mcp.insights.token import TokenCheck
from github_packages_mcp.insights.token import check_token as token_check
from github_packages_mcp.retention.patterns import MAX_PATTERN_LENGTH
from github_packages_mcp.toolkit.advice import owner_known, tool_errors
from github_packages_mcp.toolkit.apps import AUDIT_KEY, for_app, shown_in_app
from github_packages_mcp.toolkit.context import ToolContext, app_of, progress_reporter
from github_packages_mcp.toolkit.entries import ToolEntry
from github_packages_mcp.toolkit.schemas import concise

__all__ = ["audit_entries"]

READ = scopes_for("read")
PackageTypes = Annotated[list[PackageType], arg("Registries", min_length=1, max_length=len(PACKAGE_TYPES))]
StaleAfterDays = Annotated[WholeDays, arg("Stale: no new version in this many days (or 12w, 1y)")]
IncludeVersions = Annotated[bool, arg("Also read the versions", strict=True)]
ContainerNameOrGlob = Annotated[
    str, arg("A container package name or a glob like 'web/*'", min_length=1, max_length=MAX_PATTERN_LENGTH)
]


async def audit_packages(
    ctx: ToolContext,
    org: OptionalOrg = None,
    username: OptionalUsername = None,
    package_types: PackageTypes = list(PACKAGE_TYPES),  # noqa: B006  (never mutated; the published default)
    stale_after_days: StaleAfterDays = 90,
    include_versions: IncludeVersions = True,
) -> Annotated[CallToolResult, Audit]:
    app = app_of(ctx)
    progress = progress_reporter(ctx, "audited {done} of {total} package(s)")
    with tool_errors(READ, "list_org_packages"):
        owner = Owner.of({"org": org, "username": username})
        now = datetime.fromtimestamp(app.clock(), UTC)
        types = list(dict.fromkeys(package_types))
        async with owner_known(app.github):
            audited = await audit(app.github, owner, types, stale_after_days, include_versions, now, progress)
    return for_app(ctx, concise(audited), AUDIT_KEY, lambda: audit_review(audited))


async def check_image_integrity(
    ctx: ToolContext, package_name: ContainerNameOrGlob, org: OptionalOrg = None, username: OptionalUsername = None
) -> Annotated[CallToolResult, Integrity]:
    app = app_of(ctx)
    progress = progress_reporter(ctx, "checked {done} of {total} package(s)")
    with tool_errors(READ, "list_org_packages"):
        owner = Owner.of({"org": org, "username": username})
        async with owner_known(app.github):
            return concise(await check_integrity(app.sources, owner, package_name, progress))


async def check_token(ctx: ToolContext) -> Annotated[CallToolResult, TokenCheck]:
    app = app_of(ctx)
    with tool_errors((), "check_token"):  # the token of this call: the caller's own, when passed through
        return concise(await token_check(app.github, app.github.token, app.tool_scopes))


def audit_entries() -> tuple[ToolEntry, ...]:
    return (
        ToolEntry.of(
            audit_packages,
            "audit",
            READ,
            description=(
                "Audit an owner's packages: versions, last update, visibility, stale and public ones, restorable "
                "deleted versions."
            ),
            annotations=ToolAnnotations(read_only_hint=True),
            meta=shown_in_app(),
        ),
        ToolEntry.of(
            check_image_integrity,
            "audit",
            READ,
            description=(
                "Find broken container images: missing platforms, orphaned signatures and attestations, stale "
                "referrers indexes."
            ),
            annotations=ToolAnnotations(read_only_hint=True),
        ),
        ToolEntry.of(
            check_token,
            "audit",
            (),
            description="The token's user, kind, scopes and quota, and which tools it can use (what the others miss).",
            annotations=ToolAnnotations(read_only_hint=True),
        ),
    )
