"""An owner's packages audited in one result: versions, last update, visibility, stale and public packages, and
deleted versions still restorable.

The packages of every requested type are listed concurrently, then the versions of every package (active and
deleted) concurrently; the client's pacer bounds how many requests run at once. Reads only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pydantic import PrivateAttr

from github_packages_mcp.github.catalogue import Owner
from github_packages_mcp.github.client import GitHubClient, Page, ProgressCallback
from github_packages_mcp.github.errors import Forbidden, NotFound
from github_packages_mcp.github.models import PackageType, PackageVersion, Result, parse_time
from github_packages_mcp.github.tasks import gather

__all__ = [
    "RESTORE_WINDOW",
    "SHOWN_RESTORABLE",
    "Audit",
    "AuditTotals",
    "PackageAudit",
    "RestorableVersion",
    "audit",
    "audit_review",
]

# GitHub keeps a deleted version restorable for 30 days after its deletion.
RESTORE_WINDOW = timedelta(days=30)
# Restorable versions listed per package (all are counted), so a big cleanup cannot flood the result.
SHOWN_RESTORABLE = 20
NOT_LISTED = (
    "Deleted packages are not included: GitHub's API does not list them. What this server deleted is in its "
    "journal (list_deletion_history, restore_from_journal)."
)
NO_VERSIONS = "Versions were not read (include_versions=false): no untagged, latest or restorable figures."
ONLY_VISIBLE = "Only the packages this token can see are included."
NO_DELETED = "Deleted versions are shown to package admins only; not readable with this token for:"
DAY = timedelta(days=1)


class RestorableVersion(Result):
    id: int
    name: str
    deleted_at: str
    days_left: int


class PackageAudit(Result):
    name: str
    type: PackageType
    visibility: str
    repository: str | None = None
    version_count: int
    updated_at: str
    days_since_update: int
    stale: bool
    untagged: int | None = None
    latest_version: str | None = None
    latest_version_at: str | None = None
    restorable: int | None = None
    restorable_versions: list[RestorableVersion] | None = None
    # Active versions by the month they were made ("2026-11"), for the audit view (`audit_review`); not published.
    _by_month: dict[str, int] | None = PrivateAttr(default=None)


class AuditTotals(Result):
    packages: int
    versions: int
    stale: int
    restorable: int | None = None
    by_type: dict[str, int]
    by_visibility: dict[str, int]
    public: list[str]


class Audit(Result):
    owner: str
    stale_after_days: int
    totals: AuditTotals
    packages: list[PackageAudit]
    notes: list[str]


async def audit(
    github: GitHubClient,
    owner: Owner,
    package_types: Sequence[PackageType],
    stale_after_days: int,
    include_versions: bool,
    now: datetime,
    progress: ProgressCallback | None = None,
) -> Audit:
    """Audit every package of the owner of these types; `progress` is called once per package.

    Raises:
        GitHubError: If GitHub cannot be read; no partial audit is returned.
    """
    packages_path = owner.operation("list", "packages").url_path(owner.arguments)
    listings = await gather([partial(github.get_all_pages, packages_path, {"package_type": t}) for t in package_types])
    packages = [package for listing in listings for package in listing.items]
    done = 0

    async def audit_one(package: dict[str, Any]) -> PackageAudit:
        nonlocal done
        versions: list[Page | None] | None = None
        if include_versions:
            arguments = {**owner.arguments, "package_type": package["package_type"], "package_name": package["name"]}
            path = owner.operation("list", "package_versions").url_path(arguments)
            readers: list[Callable[[], Awaitable[Page | None]]] = [
                partial(github.get_all_pages, path, {"state": "active"}),
                partial(deleted, path),
            ]
            versions = await gather(readers)
        done += 1
        if progress:
            await progress(done, len(packages))
        return _package_audit(package, versions, stale_after_days, now)

    async def deleted(path: str) -> Page | None:
        # GitHub shows deleted versions only to those who may restore them; for others the audit goes on without.
        try:
            return await github.get_all_pages(path, {"state": "deleted"})
        except (Forbidden, NotFound):
            return None

    audited = await gather([partial(audit_one, package) for package in packages])
    notes = [NOT_LISTED] + ([] if include_versions else [NO_VERSIONS]) + ([] if owner.kind == "my" else [ONLY_VISIBLE])
    if unreadable := [p.name for p in audited if include_versions and p.restorable is None]:
        notes.append(f"{NO_DELETED} {', '.join(unreadable)}.")
    totals = _totals(audited, include_versions)
    return Audit(
        owner=owner.describe(), stale_after_days=stale_after_days, totals=totals, packages=audited, notes=notes
    )


def _totals(audited: Sequence[PackageAudit], include_versions: bool) -> AuditTotals:
    return AuditTotals(
        packages=len(audited),
        versions=sum(p.version_count for p in audited),
        stale=sum(p.stale for p in audited),
        restorable=sum(p.restorable or 0 for p in audited) if include_versions else None,
        by_type=dict(Counter(p.type for p in audited)),
        by_visibility=dict(Counter(p.visibility for p in audited)),
        public=[p.name for p in audited if p.visibility == "public"],
    )


def _package_audit(
    package: dict[str, Any], versions: list[Page | None] | None, stale_after_days: int, now: datetime
) -> PackageAudit:
    days_since_update = max(0, (now - parse_time(package["updated_at"])) // DAY)
    summary = PackageAudit(
        name=package["name"],
        type=package["package_type"],
        visibility=package["visibility"],
        repository=(package.get("repository") or {}).get("full_name"),
        version_count=package["version_count"],
        updated_at=package["updated_at"],
        days_since_update=days_since_update,
        stale=days_since_update >= stale_after_days,
    )
    if versions is None:
        return summary
    active_page, deleted_page = versions
    assert active_page is not None  # only the deleted versions may be unreadable
    active = [PackageVersion.from_github(v) for v in active_page.items]
    if package["package_type"] in ("container", "docker"):
        summary.untagged = sum(1 for v in active if not v.tags)
    summary._by_month = dict(sorted(Counter(v.created_at[:7] for v in active).items()))
    if active:
        latest = max(active, key=lambda v: (parse_time(v.created_at), v.id))
        summary.latest_version, summary.latest_version_at = latest.name, latest.created_at
    if deleted_page is None:  # not readable with this token: unknown, not zero
        return summary
    restorable = [
        RestorableVersion(id=v.id, name=v.name, deleted_at=v.deleted_at, days_left=_days_left(v.deleted_at, now))
        for v in map(PackageVersion.from_github, deleted_page.items)
        if v.deleted_at  # GitHub sets it on every deleted version; without it nothing can be said
    ]
    summary.restorable = len(restorable)
    # The most urgent first: those are the ones worth listing when there are more than can be shown.
    summary.restorable_versions = sorted(restorable, key=lambda v: v.days_left)[:SHOWN_RESTORABLE] or None
    return summary


def _days_left(deleted_at: str, now: datetime) -> int:
    """Whole days left to restore a version deleted at `deleted_at`: 30 less the days since, rounded down."""
    return max(0, (parse_time(deleted_at) + RESTORE_WINDOW - now) // DAY)


def audit_review(result: Audit) -> dict[str, Any]:
    """The audit for the audit view of the review app (docs/apps.md): per package its version counts and its active
    versions by month (when versions were read), and the totals. GitHub's Packages API says nothing of sizes."""
    keys = ("name", "type", "visibility", "version_count", "untagged", "restorable", "stale", "days_since_update")
    packages = [
        {key: value for key, value in package.model_dump(include=set(keys)).items() if value is not None}
        | ({"by_month": package._by_month} if package._by_month is not None else {})
        for package in result.packages
    ]
    return {"owner": result.owner, "totals": result.totals.model_dump(exclude_none=True), "packages": packages}
