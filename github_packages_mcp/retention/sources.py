"""Where a cleanup reads what a package holds: GitHub's API for its versions, the container registry for their
manifests (through the manifest cache). Planning reads through it, and applying reads through it again."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from github_packages_mcp.errors import InvalidRequest
from github_packages_mcp.github.catalogue import Owner
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.manifests import ManifestCache
from github_packages_mcp.github.models import PackageType, parse_time, version_tags
from github_packages_mcp.github.registry import Registry
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.retention.patterns import PatternList, compile_pattern
from github_packages_mcp.retention.rules import VersionFacts

__all__ = ["NoPackageMatched", "Sources"]

SHOWN_NAMES = 5  # of the owner's packages, when a glob matches none
CLOSE_ENOUGH = 0.6  # difflib's ratio for a name to be suggested (its get_close_matches' default)


class NoPackageMatched(InvalidRequest):
    """A package name glob that matches none of the owner's packages of the type (only their listing was read):
    nothing is planned or checked; the message says what the owner does have."""


@dataclass(frozen=True)
class Sources:
    """GitHub's API through `github`, and the registry at `registry_url` read through `manifests`."""

    github: GitHubClient
    registry_url: str
    manifests: ManifestCache

    async def package(self, owner: Owner, package_type: PackageType, name: str) -> dict[str, Any]:
        """GitHub's description of one package.

        Raises:
            GitHubError: If GitHub cannot be read (NotFound: no such package this token sees).
        """
        path = owner.operation("get", "package").url_path(
            {**owner.arguments, "package_type": package_type, "package_name": name}
        )
        package: dict[str, Any] = await self.github.get_json(path)
        return package

    async def matching(
        self, owner: Owner, package_type: PackageType, pattern: str, excluded: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The owner's packages of this type that a name or glob names, but for those an `excluded` glob matches.

        Raises:
            RulesError: If a glob is too long or too many (before any request).
            NoPackageMatched: If the glob matches none of the owner's packages of this type, or excluded all.
            GitHubError: If GitHub cannot be read.
        """
        skipped = PatternList("exclude_packages", excluded, "glob")
        if not any(char in pattern for char in "*?["):
            if hit := skipped.first_match((pattern,)):  # nothing to read: the name is all there is to know
                raise NoPackageMatched(_all_excluded(owner, package_type, pattern, [hit[0]]))
            return [await self.package(owner, package_type, pattern)]
        matches = compile_pattern("package_name", pattern, "glob")
        listing = await self.github.get_all_pages(
            owner.operation("list", "packages").url_path(owner.arguments), {"package_type": package_type}
        )
        matched = [package for package in listing.items if matches(package["name"])]
        if kept := [package for package in matched if not skipped.first_match((package["name"],))]:
            return kept
        if matched:
            raise NoPackageMatched(_all_excluded(owner, package_type, pattern, [item["name"] for item in matched]))
        raise NoPackageMatched(_unmatched(owner, package_type, pattern, [item["name"] for item in listing.items]))

    async def versions(self, owner: Owner, package_type: PackageType, name: str) -> list[VersionFacts]:
        """Every active version of one package, as far as retention cares.

        Raises:
            GitHubError: If GitHub cannot be read.
        """
        listing = owner.operation("list", "package_versions")
        path = listing.url_path({**owner.arguments, "package_type": package_type, "package_name": name})
        return [_facts(version) for version in (await self.github.get_all_pages(path, {"state": "active"})).items]

    def registry(self, owner: Owner, package: dict[str, Any]) -> Registry:
        """The registry repository of a container package GitHub described."""
        login = (package.get("owner") or {}).get("login") or owner.login or ""
        return Registry(self.github, self.registry_url, f"{login.lower()}/{package['name']}", self.manifests)


def _all_excluded(owner: Owner, package_type: PackageType, pattern: str, names: list[str]) -> str:
    """That `pattern` named packages, and exclude_packages took every one of them out."""
    return (
        f"Every {package_type} package {owner.owned_by()} that {quoted(pattern)} names matches exclude_packages: "
        f"{_some(names)}."
    )


def _unmatched(owner: Owner, package_type: PackageType, pattern: str, names: list[str]) -> str:
    """That no package matched `pattern`, and what the owner does have: the closest names, else the first few."""
    said = f"No {package_type} package {owner.owned_by()} matches the glob {quoted(pattern)}."
    if not names:
        return f"{said} It has no {package_type} packages this token can see."
    if close := _closest(pattern, names):
        return f"{said} Did you mean {' or '.join(map(quoted, close))}?"
    return f"{said} Its {package_type} packages: {_some(names)} (list_{owner.kind}_packages lists them)."


def _some(names: list[str]) -> str:
    """The first SHOWN_NAMES names, quoted, and how many more there are."""
    more = f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else ""
    return ", ".join(map(quoted, names[:SHOWN_NAMES])) + more


def _closest(pattern: str, names: list[str]) -> list[str]:
    """Up to three names like the glob. Its text before the first wildcard is compared with as much of each name
    (`desing*` with `design`), or the whole glob with whole names when it starts with a wildcard; case aside, since
    `Web/*` was surely meant for `web/api` (globs match case-sensitively)."""
    literal = re.split(r"[*?[]", pattern, maxsplit=1)[0].lower()

    def likeness(name: str) -> float:
        if literal:
            return difflib.SequenceMatcher(None, literal, name[: len(literal)].lower()).ratio()
        return difflib.SequenceMatcher(None, pattern.lower(), name.lower()).ratio()

    scored = sorted(((likeness(name), name) for name in names), key=lambda scored: -scored[0])
    return [name for score, name in scored[:3] if score >= CLOSE_ENOUGH]


def _facts(version: dict[str, Any]) -> VersionFacts:
    tags = version_tags(version)
    return VersionFacts(
        id=version["id"],
        name=version["name"],
        tags=tuple(tags) if tags is not None else None,
        created_at=parse_time(version["created_at"]),
        updated_at=parse_time(version["updated_at"]),
    )
