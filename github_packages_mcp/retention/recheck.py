"""Apply looks again: just before deleting a package's planned versions, read the package as it is now.

A plan may be days old. Between the plan and the apply, a version may be tagged (`hotfix`), a new index may list
a platform image the plan deletes, or another tool may delete a version. So before the first DELETE in a package,
apply reads its versions again (and, for containers, the manifests the plan has not seen: the manifest cache has
the rest), and holds back every planned version

- that is no longer in the package (already gone: nothing to send);
- whose name or tags changed since the plan;
- whose parents (what it belongs to: parts.py) changed, which also catches a version a new index now lists;
- that was to go with parents one of which is now held back;
- or, for containers, every version when the manifests cannot be read now.

Apply may delete less than the person confirmed, never more. docs/github-behaviour.md#applying-a-stale-plan
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from github_packages_mcp.github.catalogue import Owner
from github_packages_mcp.github.models import PackageType
from github_packages_mcp.retention.images import read_manifests
from github_packages_mcp.retention.parts import Part, find_parts, parts_by_tag
from github_packages_mcp.retention.rules import VersionFacts, short_digest
from github_packages_mcp.retention.sources import Sources
from github_packages_mcp.retention.store import PlannedDeletion

__all__ = ["LookedAgain", "look_again"]


@dataclass
class LookedAgain:
    """What to do with one package's planned deletions now: delete, already gone, or held back and why."""

    delete: list[PlannedDeletion] = field(default_factory=list)
    gone: list[PlannedDeletion] = field(default_factory=list)
    held: list[tuple[PlannedDeletion, str]] = field(default_factory=list)


async def look_again(
    sources: Sources, owner: Owner, package_type: PackageType, package_name: str, planned: Sequence[PlannedDeletion]
) -> LookedAgain:
    """Sort one package's planned deletions by what the package holds now (see the module docstring).

    Raises:
        GitHubError: If the package's versions cannot be read.
    """
    versions = await sources.versions(owner, package_type, package_name)
    now = {version.id: version for version in versions}
    parts: Mapping[str, Part] = {}
    if package_type == "container":
        found = await _parts_now(sources, owner, package_type, package_name, versions)
        if isinstance(found, str):
            return LookedAgain(held=[(item, found) for item in planned])
        parts = found
    reasons = {item.name: _changed(item, now[item.id], parts) for item in planned if item.id in now}
    planned_names = {item.name for item in planned}
    while True:  # what was to go with a held-back version is held back too, down nested parts
        cascade = {
            item.name: f"not deleted: it was to go with {short_digest(parent)}, which is not deleted now"
            for item in planned
            if reasons.get(item.name, "") is None and set(item.parents or ()) <= planned_names
            for parent in item.parents or ()
            if reasons.get(parent) is not None
        }
        if not cascade:
            break
        reasons |= cascade
    result = LookedAgain()
    for item in planned:
        if item.id not in now:
            result.gone.append(item)
        elif (why := reasons[item.name]) is not None:
            result.held.append((item, why))
        else:
            result.delete.append(item)
    return result


async def _parts_now(
    sources: Sources, owner: Owner, package_type: PackageType, package_name: str, versions: Sequence[VersionFacts]
) -> Mapping[str, Part] | str:
    """The package's parts as its manifests say now, or why they cannot be read."""
    registry = sources.registry(owner, await sources.package(owner, package_type, package_name))
    manifests, unreadable = await read_manifests(registry, versions, parts_by_tag(versions))
    if unreadable is not None:
        return f"not deleted: its package's manifests could not be read again: {unreadable}"
    return find_parts(versions, manifests)


def _changed(item: PlannedDeletion, version: VersionFacts, parts: Mapping[str, Part]) -> str | None:
    """Why a planned deletion must not go now, judged on itself alone, or None."""
    if version.name != item.name:
        return f"not deleted: its name changed since the plan (now {version.name!r})"
    tags = None if version.tags is None else sorted(version.tags)
    if tags != (None if item.tags is None else sorted(item.tags)):
        return f"not deleted: its tags changed since the plan (now {', '.join(tags or ()) or 'untagged'})"
    parents = sorted(parts[item.name].parents) if item.name in parts else []
    if parents != sorted(item.parents or ()):
        shown = ", ".join(map(short_digest, parents)) or "nothing"
        return f"not deleted: what it belongs to changed since the plan (now {shown})"
    return None
