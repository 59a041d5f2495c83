"""The integrity of container packages, reading only: what months of pushes and other tools' cleanups left broken.

For each package: image indexes whose entries are gone (ghost images: all of them, so nothing can be pulled;
partial images: some platforms fail), orphaned parts (signatures, attestations, bundles whose image is gone),
referrers indexes that point at nothing in the package, and superseded referrers indexes (untagged: no client reads
them). docs/github-behaviour.md#broken-images, #orphaned-parts. Deleting any of them is an explicit opt-in of
plan_version_cleanup (delete_orphans, delete_ghost_images, delete_partial_images); superseded referrers indexes go
with any plan that selects untagged versions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from github_packages_mcp.github.catalogue import Owner
from github_packages_mcp.github.client import ProgressCallback
from github_packages_mcp.github.models import Result
from github_packages_mcp.github.tasks import gather
from github_packages_mcp.retention.images import CHECK_REGISTRY, read_manifests
from github_packages_mcp.retention.parts import REFERRERS_INDEX, Broken, Part, broken_images, find_parts, parts_by_tag
from github_packages_mcp.retention.rules import VersionFacts, short_digest
from github_packages_mcp.retention.sources import Sources

__all__ = ["Integrity", "IntegrityIssue", "PackageIntegrity", "check_integrity"]

IssueKind = Literal[
    "ghost image", "partial image", "orphaned part", "referrers index pointing at nothing", "superseded referrers index"
]
SHOWN_ISSUES = 200  # per package, so one result stays readable


class IntegrityIssue(Result):
    kind: IssueKind
    id: int
    name: str
    tags: list[str] | None = None
    detail: str


class PackageIntegrity(Result):
    package: str
    versions: int
    manifests: str
    issues: list[IntegrityIssue]
    issues_omitted: int = 0


class Integrity(Result):
    owner: str
    packages: list[PackageIntegrity]
    counts: dict[str, int]
    message: str


async def check_integrity(
    sources: Sources, owner: Owner, package_name: str, progress: ProgressCallback | None = None
) -> Integrity:
    """Check every container package `package_name` (a name or a glob) names.

    Raises:
        RulesError: If the glob is too long (before any request).
        NoPackageMatched: If the glob matches no container package.
        GitHubError: If GitHub cannot be read.
    """
    packages = await sources.matching(owner, "container", package_name)
    done = 0

    async def check_one(package: dict[str, Any]) -> PackageIntegrity:
        nonlocal done
        checked = await _check_package(sources, owner, package)
        done += 1
        if progress:
            await progress(done, len(packages))
        return checked

    checked = await gather([partial(check_one, package) for package in packages])
    counts: Counter[str] = Counter(issue.kind for package in checked for issue in package.issues)
    counts.update({"unreadable package": sum(p.manifests.startswith("unavailable") for p in checked)})
    return Integrity(
        owner=owner.describe(),
        packages=checked,
        counts={kind: count for kind, count in counts.items() if count},
        message=_message(counts),
    )


def _message(counts: Counter[str]) -> str:
    if not +counts:
        return "Nothing broken: every image index has its entries, and every part its image."
    return (
        "Nothing was changed. To clean up with a plan you review first: plan_version_cleanup with "
        "delete_orphans=true (orphaned parts, referrers indexes pointing at nothing), delete_ghost_images=true, "
        "delete_partial_images=true; superseded referrers indexes go with tagged='untagged'."
    )


async def _check_package(sources: Sources, owner: Owner, package: dict[str, Any]) -> PackageIntegrity:
    versions = await sources.versions(owner, "container", package["name"])
    manifests, unreadable = await read_manifests(sources.registry(owner, package), versions, parts_by_tag(versions))
    if unreadable is not None:
        note = f"unavailable: {unreadable}; {CHECK_REGISTRY}"
        return PackageIntegrity(package=package["name"], versions=len(versions), manifests=note, issues=[])
    parts = find_parts(versions, manifests)
    issues = _issues(versions, parts, broken_images(versions, manifests, parts))
    return PackageIntegrity(
        package=package["name"],
        versions=len(versions),
        manifests=f"read {len(manifests)} manifest(s)",
        issues=issues[:SHOWN_ISSUES],
        issues_omitted=max(0, len(issues) - SHOWN_ISSUES),
    )


def _issues(
    versions: Sequence[VersionFacts], parts: dict[str, Part], broken: dict[str, Broken]
) -> list[IntegrityIssue]:
    issues = []
    for version in versions:
        found = _issue(parts.get(version.name), broken.get(version.name))
        if found is not None:
            kind, detail = found
            tags = list(version.tags) if version.tags is not None else None
            issues.append(IntegrityIssue(kind=kind, id=version.id, name=version.name, tags=tags, detail=detail))
    return issues


def _issue(part: Part | None, broken: Broken | None) -> tuple[IssueKind, str] | None:
    if broken is not None:
        gone = ", ".join(short_digest(digest) for digest in broken.missing[:5])
        return (
            "ghost image" if broken.ghost else "partial image",
            f"lists {len(broken.missing)} manifest(s) the package no longer has: {gone}",
        )
    if part is None:
        return None
    about = f"{short_digest(part.about)}, which is gone" if part.about else "nothing in the package"
    if part.orphaned and part.kind == REFERRERS_INDEX:
        return "referrers index pointing at nothing", f"lists the referrers of {about}"
    if part.orphaned:
        return "orphaned part", f"{part.kind} of {about}"
    if part.superseded:
        return (
            "superseded referrers index",
            f"untagged: a newer index lists the referrers of {short_digest(part.parents[0])}",
        )
    return None
