"""The one generic path from a catalogue row and validated arguments to GitHub and back to a typed result.

A delete's 404 is checked before it counts as gone (`delete_checked`): GitHub answers 404 "Package not found." to a
DELETE by a token that can see the package but not administer it, for versions that exist
(docs/github-behaviour.md#delete-without-admin), so the target is read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx2
from pydantic import BaseModel

from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.github.catalogue import Operation, Owner
from github_packages_mcp.github.client import GitHubClient, Page, ProgressCallback, QueryValue, Turn
from github_packages_mcp.github.errors import NotDeleted, NotFound, error_message
from github_packages_mcp.github.listing import listing_of
from github_packages_mcp.github.models import (
    DeletionResult,
    DockerConflicts,
    Package,
    PackageList,
    PackageVersion,
    PackageVersionList,
    RestoreResult,
    summaries,
)
from github_packages_mcp.github.untrusted import quoted

__all__ = ["Described", "delete_checked", "describe_deletion", "execute", "package_gone"]


async def execute(
    op: Operation,
    github: GitHubClient,
    arguments: Mapping[str, Any],
    progress: ProgressCallback | None = None,
    *,
    full: bool = False,
    max_text: int | None = None,
    turn: Turn | None = None,
) -> BaseModel:
    """Send the operation's request and shape GitHub's answer as the operation's result model.

    A listing with `all_pages` reads every page (reporting progress per page) and returns them as one.
    Packages and versions are concise summaries, or with `full` GitHub's complete objects. With `max_text`, a
    listing is cut at a page boundary to fit that many characters of text (`listing.listing_of`). A delete or
    restore goes in `turn` when given (`GitHubClient.turn`); a delete is `delete_checked`.

    Raises:
        InvalidArguments: If GitHub would refuse the arguments (checked before sending).
        NotDeleted: If a delete was answered 404 but its target is still there.
        GitHubError: If the request fails.
    """
    path = op.url_path(arguments)
    query = op.query_values(arguments)
    if op.result is PackageList or op.result is PackageVersionList:
        page = await _list(op, github, path, query, bool(arguments.get("all_pages")), progress)
        return listing_of(op.result, page, full=full, max_text=max_text)
    if op.result is DockerConflicts:
        conflicts = await github.get_json(path, query)
        return DockerConflicts.model_validate({"items": summaries(Package, conflicts, full=full)})
    if op.result is Package:
        return Package.from_github(await github.get_json(path, query), full=full)
    if op.result is PackageVersion:
        return PackageVersion.from_github(await github.get_json(path, query), full=full)
    target = _target_name(arguments)
    if op.result is DeletionResult:
        await delete_checked(op, github, arguments, turn=turn)
        return DeletionResult(deleted=True, status="deleted", message=f"Deleted {target}.")
    await github.request(op.method, path, query, turn=turn)
    return RestoreResult(restored=True, message=f"Restored {target}.")


async def delete_checked(
    op: Operation, github: GitHubClient, arguments: Mapping[str, Any], *, turn: Turn | None = None
) -> httpx2.Response:
    """Send a delete operation; if GitHub answers 404, read the target again, and only if it is gone let the 404
    stand. Returns GitHub's answer: 204, or 404 to a retry after an attempt whose answer was lost (the target is
    gone: that attempt deleted it).

    Raises:
        NotFound: If GitHub answered 404 at once, and the target is gone (it was deleted before).
        NotDeleted: If GitHub answered 404, but the target is still there (the token likely lacks admin rights).
        GitHubError: If the delete, or reading the target again, fails.
    """
    path = op.url_path(arguments)
    try:
        response = await github.request("DELETE", path, turn=turn)
    except NotFound as exc:
        await _gone_or_not_deleted(op, github, arguments, exc.message)
        raise
    if response.status_code == 404:
        await _gone_or_not_deleted(op, github, arguments, error_message(response))
    return response


async def _gone_or_not_deleted(op: Operation, github: GitHubClient, arguments: Mapping[str, Any], said: str) -> None:
    """Return if the target of a delete that GitHub answered 404 is gone; else raise NotDeleted."""
    try:
        await github.request("GET", op.sibling("get").url_path(arguments))
    except NotFound:
        return
    what = "version" if "package_version_id" in arguments else "package"
    raise NotDeleted(said, path=op.url_path(arguments), what=what)


async def package_gone(github: GitHubClient, arguments: Mapping[str, Any]) -> bool:
    """Whether the package the arguments name is gone (GET answers 404), as after GitHub deleted it with its last
    version."""
    try:
        await github.request("GET", Owner.of(arguments).operation("get", "package").url_path(arguments))
    except NotFound:
        return True
    return False


async def _list(
    op: Operation,
    github: GitHubClient,
    path: str,
    query: dict[str, QueryValue],
    all_pages: bool,
    progress: ProgressCallback | None,
) -> Page:
    if all_pages:
        rest = {key: value for key, value in query.items() if key not in ("page", "per_page")}
        return await github.get_all_pages(path, rest, progress=progress)
    window = op.result_window
    if window is not None and int(query["page"]) * int(query["per_page"]) > window:
        raise InvalidArguments(
            f"page x per_page must be at most {window} for this listing (GitHub's limit); "
            f"got page={query['page']}, per_page={query['per_page']}"
        )
    return await github.get_page(path, query)


@dataclass(frozen=True)
class Described:
    """The target of a delete as read from GitHub: the words for a human to confirm, what was read, and for a
    version its package (read to tell whether the version is the package's last)."""

    summary: str
    found: Package | PackageVersion
    package: Package | None = None

    @property
    def last_version(self) -> bool:
        """Whether it is a version, and its package's last: GitHub may refuse it, or delete the package with it."""
        return self.package is not None and self.package.version_count <= 1


async def describe_deletion(op: Operation, github: GitHubClient, arguments: Mapping[str, Any]) -> Described:
    """Look the target of a delete up on GitHub (a version's package too): what would go, in words for a human to
    confirm, and as read."""
    target = await execute(op.sibling("get"), github, arguments)
    owner = Owner.of(arguments).owned_by()
    if isinstance(target, Package):
        repository = f", linked to repository {quoted(target.repository.full_name)}" if target.repository else ""
        return Described(
            f"the {target.visibility} {target.package_type} package {quoted(target.name)} {owner}, "
            f"with all {target.version_count} of its versions{repository}",
            target,
        )
    assert isinstance(target, PackageVersion)
    package = await execute(Owner.of(arguments).operation("get", "package"), github, arguments)
    assert isinstance(package, Package)
    tags = (
        ", untagged" if target.tags == [] else f", tags: {', '.join(map(quoted, target.tags))}" if target.tags else ""
    )
    name = quoted(arguments["package_name"])
    summary = (
        f"version {target.id} ({quoted(target.name)}{tags}, created {target.created_at}) "
        f"of the {arguments['package_type']} package {name} {owner}"
    )
    described = Described(summary, target, package)
    if not described.last_version:
        return described
    # docs/github-behaviour.md#last-version: GitHub refuses it (400), or has been seen deleting the package with it
    last = f", its last version: GitHub may refuse to delete it, or delete the package {name} with it"
    return replace(described, summary=summary + last)


def _target_name(arguments: Mapping[str, Any]) -> str:
    package = (
        f"{arguments['package_type']} package {quoted(arguments['package_name'])} {Owner.of(arguments).owned_by()}"
    )
    if "package_version_id" in arguments:
        return f"version {arguments['package_version_id']} of the {package}"
    return f"the {package}"
