"""After a 404, what does exist: the owner at all, the package under another type, the closest names of the same
type, or the package without the version asked for. A few reads, made only on that error path; any failure among
them just means no suggestion."""

from __future__ import annotations

import difflib
from functools import partial
from typing import Any

from github_packages_mcp.errors import GitHubPackagesError
from github_packages_mcp.github.catalogue import Owner, Target, arguments_at
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.errors import NotFound
from github_packages_mcp.github.models import PACKAGE_TYPES
from github_packages_mcp.github.tasks import gather
from github_packages_mcp.github.untrusted import quoted

__all__ = ["owner_checked", "what_exists"]


async def owner_checked(github: GitHubClient, exc: NotFound) -> NotFound:
    """`exc`, with `owner_exists` read once: GitHub answers 404 both for an unknown organization or user and for an
    unknown package, and only reading the owner itself (`GET /orgs/{org}`, `GET /users/{username}`) tells them
    apart. Not read for the token's own user, who exists, nor for a request outside the catalogue."""
    found = arguments_at(exc.method, exc.path)
    if exc.owner_read or found is None or (path := Owner.of(found[1]).own_path) is None:
        return exc
    exc.owner_read = True
    try:
        await github.get_json(path)
    except NotFound:
        exc.owner_exists = False
    except GitHubPackagesError:  # unknown: the advice stays as it was
        return exc
    else:
        exc.owner_exists = True
    return exc


async def what_exists(github: GitHubClient, arguments: dict[str, Any], *, restoring: bool = False) -> str | None:
    """One sentence about what exists near the package (and version) `arguments` name, or None; `restoring` when
    the 404 answered a restore, which GitHub also gives what is not deleted."""
    owner, package_type, name = Owner.of(arguments), arguments["package_type"], arguments["package_name"]
    package = {**owner.arguments, "package_type": package_type, "package_name": name}
    version = arguments.get("package_version_id")
    try:
        if restoring:  # a restore answers 404 for what is not deleted too
            if version is not None and await _exists(github, owner, {**package, "package_version_id": version}):
                what = f"Version {version} of the {package_type} package {quoted(name)}"
                return f"{what} is not deleted: nothing to restore."
            if version is None and await _exists(github, owner, package):
                return f"The {package_type} package {quoted(name)} is not deleted: nothing to restore."
        # The 404 was the package's own unless a version was asked for: only then can the package still exist.
        if version is not None and await _exists(github, owner, package):
            return (
                f"The {package_type} package {quoted(name)} exists, but has no version {version} this token can "
                f"see (list_{owner.kind}_package_versions lists them; state=deleted the deleted ones)."
            )
        return await _elsewhere(github, owner, package_type, name)
    except GitHubPackagesError:
        return None


async def _elsewhere(github: GitHubClient, owner: Owner, package_type: str, name: str) -> str | None:
    # That the package is not there, the advice on the 404 says (`toolkit/advice.py`); this says what is.
    others = [other for other in PACKAGE_TYPES if other != package_type]
    found = await gather(
        [partial(_exists, github, owner, {**owner.arguments, "package_type": t, "package_name": name}) for t in others]
    )
    if types := [t for t, exists in zip(others, found, strict=True) if exists]:
        return f"It exists as a {' and a '.join(types)} package: use package_type={types[0]}."
    listing = owner.operation("list", "packages")
    page = await github.get_page(listing.url_path(owner.arguments), {"package_type": package_type, "per_page": 100})
    names = [item["name"] for item in page.items if isinstance(item, dict) and "name" in item]
    if close := difflib.get_close_matches(name, names, n=3, cutoff=0.6):
        return f"Did you mean {' or '.join(map(quoted, close))}?"
    return None


async def _exists(github: GitHubClient, owner: Owner, arguments: dict[str, Any]) -> bool:
    target: Target = "package_version" if "package_version_id" in arguments else "package"
    try:
        await github.get_json(owner.operation("get", target).url_path(arguments))
    except NotFound:
        return False
    return True
