"""Planning a retention cleanup, deleting nothing: delete or keep, and why, for every active version of one package
or of every package matching a name glob.

The rules decide (`rules.py`); for containers the registry's manifests of the kept images then keep what they
need (`images.py`); when the manifests cannot be read, no untagged version of that package is deleted. The plan
is saved (`store.py`) for `apply.py`.
"""

from __future__ import annotations

import fnmatch
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, Literal

from pydantic import Field

from github_packages_mcp.github.catalogue import Owner
from github_packages_mcp.github.client import GitHubClient, ProgressCallback, gather
from github_packages_mcp.github.models import PackageType, Result, version_tags
from github_packages_mcp.retention.images import protect_images
from github_packages_mcp.retention.rules import Decision, Rules, VersionFacts, decide, parse_time, summarize
from github_packages_mcp.retention.store import CleanupStore, PlannedDeletion, SavedPlan, timestamp

__all__ = ["SHOWN_DECISIONS", "CleanupPlan", "PackagePlan", "VersionDecision", "make_plan"]

# A plan lists every decision up to this many versions per package; beyond, only the deletions (up to this
# many), so one result stays readable in a context window. The saved plan always has all of them.
SHOWN_DECISIONS = 200


class VersionDecision(Result):
    id: int
    name: str
    tags: list[str] | None = None
    action: Literal["delete", "keep"]
    rule: str


class PackagePlan(Result):
    package: str
    versions: int
    delete: int
    keep: int
    by_rule: dict[str, int]
    manifests: str | None = Field(default=None, description="For containers: whether the registry could be read")
    decisions: list[VersionDecision]
    decisions_omitted: int = 0


class CleanupPlan(Result):
    plan_id: str
    owner: str
    package_type: str
    delete: int
    keep: int
    packages: list[PackagePlan]
    message: str


PlannedPackage = tuple[dict[str, Any], list[Decision], str | None]  # GitHub's package, decisions, manifests note


async def make_plan(
    github: GitHubClient,
    store: CleanupStore,
    registry_url: str,
    owner: Owner,
    package_type: PackageType,
    package_name: str,
    rules: Rules,
    now: datetime,
    progress: ProgressCallback | None = None,
) -> CleanupPlan:
    """Decide for every active version of the matching packages, save the plan, and describe it.

    Raises:
        RulesError: If a rule is invalid (before any request).
        GitHubError: If GitHub cannot be read.
    """
    rules.matchers()  # an invalid pattern is refused before any request
    packages = await _matching_packages(github, owner, package_type, package_name)
    done = 0

    async def plan_one(package: dict[str, Any]) -> PlannedPackage:
        nonlocal done
        versions = owner.operation("list", "package_versions")
        path = versions.url_path({**owner.arguments, "package_type": package_type, "package_name": package["name"]})
        listing = await github.get_all_pages(path, {"state": "active"})
        decisions = decide([_facts(version) for version in listing.items], rules, now)
        note = None
        if package_type == "container" and any(d.action == "delete" for d in decisions):
            login = (package.get("owner") or {}).get("login") or owner.login or ""
            repository = f"{login.lower()}/{package['name']}"
            decisions, note = await protect_images(github, registry_url, repository, decisions)
        done += 1
        if progress:
            await progress(done, len(packages))
        return package, decisions, note

    planned = await gather([partial(plan_one, package) for package in packages])
    plan_id = secrets.token_hex(8)
    store.save(_saved_plan(plan_id, owner, package_type, rules, now, planned))
    results = [_package_plan(package["name"], decisions, note) for package, decisions, note in planned]
    delete = sum(result.delete for result in results)
    return CleanupPlan(
        plan_id=plan_id,
        owner=owner.describe(),
        package_type=package_type,
        delete=delete,
        keep=sum(result.keep for result in results),
        packages=results,
        message=(
            f"Nothing was deleted. {delete} version(s) would be deleted; to do it, call apply_version_cleanup "
            f"with plan_id {plan_id} (the person confirms first)."
            if delete
            else "Nothing to delete under these rules."
        ),
    )


async def _matching_packages(
    github: GitHubClient, owner: Owner, package_type: PackageType, pattern: str
) -> list[dict[str, Any]]:
    if not any(char in pattern for char in "*?["):
        get = owner.operation("get", "package")
        package = await github.get_json(
            get.url_path({**owner.arguments, "package_type": package_type, "package_name": pattern})
        )
        return [package]
    listing = await github.get_all_pages(
        owner.operation("list", "packages").url_path(owner.arguments), {"package_type": package_type}
    )
    return [package for package in listing.items if fnmatch.fnmatchcase(package["name"], pattern)]


def _facts(version: dict[str, Any]) -> VersionFacts:
    tags = version_tags(version)
    return VersionFacts(
        id=version["id"],
        name=version["name"],
        tags=tuple(tags) if tags is not None else None,
        created_at=parse_time(version["created_at"]),
        updated_at=parse_time(version["updated_at"]),
    )


def _tag_list(decision: Decision) -> list[str] | None:
    return list(decision.version.tags) if decision.version.tags is not None else None


def _saved_plan(
    plan_id: str,
    owner: Owner,
    package_type: PackageType,
    rules: Rules,
    now: datetime,
    planned: Sequence[PlannedPackage],
) -> SavedPlan:
    return SavedPlan(
        plan_id=plan_id,
        created_at=timestamp(now),
        owner_kind=owner.kind,
        owner_login=owner.login,
        package_type=package_type,
        rules=rules.model_dump(),
        deletions=[
            PlannedDeletion(id=d.version.id, name=d.version.name, tags=_tag_list(d), package_name=package["name"])
            for package, decisions, _ in planned
            for d in decisions
            if d.action == "delete"
        ],
    )


def _package_plan(name: str, decisions: Sequence[Decision], note: str | None) -> PackagePlan:
    counts = summarize(decisions)
    shown = list(decisions) if len(decisions) <= SHOWN_DECISIONS else [d for d in decisions if d.action == "delete"]
    shown = shown[:SHOWN_DECISIONS]
    return PackagePlan(
        package=name,
        versions=len(decisions),
        delete=counts["delete"],
        keep=counts["keep"],
        by_rule={rule: count for rule, count in counts.items() if count and rule not in ("delete", "keep")},
        manifests=note,
        decisions=[
            VersionDecision(id=d.version.id, name=d.version.name, tags=_tag_list(d), action=d.action, rule=d.rule)
            for d in shown
        ],
        decisions_omitted=len(decisions) - len(shown),
    )
