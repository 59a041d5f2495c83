"""GitHub's JSON shapes as the sandbox renders them: users, repositories, packages, versions, rate limits, errors."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

from starlette.responses import Response

from github_packages_mcp.sandbox.faults import DOCS
from github_packages_mcp.sandbox.model import Owner, Package, RateLimit, Version

Json = dict[str, Any]


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(kind: str, number: int) -> str:
    # GitHub's legacy global ids: base64 of "<len(kind)>:<kind><id>", e.g. "04:User1".
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def user_json(owner: Owner, base: str) -> Json:
    """A full simple-user object."""
    api = f"{base}/users/{owner.login}"
    return {
        "login": owner.login,
        "id": owner.id,
        "node_id": _node_id(owner.type, owner.id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{owner.id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"https://github.com/{owner.login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": owner.type,
        "site_admin": False,
    }


def organization_json(owner: Owner, base: str) -> Json:
    """An organization as GET /orgs/{org} shows it, its public fields only (GitHub's organization-full, less the
    plan, counts and settings only its members see)."""
    api = f"{base}/orgs/{owner.login}"
    return {
        "login": owner.login,
        "id": owner.id,
        "node_id": _node_id(owner.type, owner.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "members_url": f"{api}/members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{owner.id}?v=4",
        "description": None,
        "name": owner.name,
        "html_url": f"https://github.com/{owner.login}",
        "type": "Organization",
        "created_at": timestamp(owner.created_at),
        "updated_at": timestamp(owner.created_at),
    }


def private_user_json(owner: Owner, base: str) -> Json:
    """The authenticated user as GET /user shows it: the simple user plus the profile."""
    return user_json(owner, base) | {
        "name": owner.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": timestamp(owner.created_at),
        "updated_at": timestamp(owner.created_at),
    }


def rate_limit_json(core: RateLimit, now: datetime) -> Json:
    """GET /rate_limit: the token's core quota, and untouched quotas for the resources the sandbox never meters."""

    def fresh(resource: str, limit: int, window: timedelta) -> Json:
        return RateLimit(limit, 0, int((now + window).timestamp()), resource).to_json()

    minute, hour = timedelta(minutes=1), timedelta(hours=1)
    resources = {
        "core": core.to_json(),
        "search": fresh("search", 30, minute),
        "code_search": fresh("code_search", 10, minute),
        "graphql": fresh("graphql", 5000, hour),
        "integration_manifest": fresh("integration_manifest", 5000, hour),
    }
    return {"resources": resources, "rate": core.to_json()}


_REPO_LINKS: Final = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def repository_json(owner: Owner, name: str, *, private: bool, base: str) -> Json:
    """A minimal-repository object for `owner/name` (ids are derived from the name, so stable)."""
    full_name = f"{owner.login}/{name}"
    repo_id = 100_000_000 + zlib.crc32(full_name.encode()) % 800_000_000
    api = f"{base}/repos/{full_name}"
    return {
        "id": repo_id,
        "node_id": _node_id("Repository", repo_id),
        "name": name,
        "full_name": full_name,
        "private": private,
        "owner": user_json(owner, base),
        "html_url": f"https://github.com/{full_name}",
        "description": None,
        "fork": False,
        "url": api,
        **{key: api + suffix for key, suffix in _REPO_LINKS.items()},
    }


def _namespace(owner: Owner) -> str:
    return f"orgs/{owner.login}" if owner.type == "Organization" else f"users/{owner.login}"


def _is_image(package: Package) -> bool:
    return package.package_type in ("container", "docker")


def _package_url(package: Package, base: str) -> str:
    return f"{base}/{_namespace(package.owner)}/packages/{package.package_type}/{quote(package.name, safe='')}"


def package_html_url(package: Package) -> str:
    """The package's page on github.com."""
    # GitHub links images under the owner, other packages under their repository when they have one.
    if package.repository is not None and not _is_image(package):
        return f"https://github.com/{package.owner.login}/{package.repository}/packages/{package.id}"
    name = quote(package.name, safe="")
    return f"https://github.com/{_namespace(package.owner)}/packages/{package.package_type}/package/{name}"


def package_json(package: Package, base: str) -> Json:
    body: Json = {
        "id": package.id,
        "name": package.name,
        "package_type": package.package_type,
        "owner": user_json(package.owner, base),
        "version_count": len(package.active_versions()),
        "visibility": package.visibility,
        "url": _package_url(package, base),
        "created_at": timestamp(package.created_at),
        "updated_at": timestamp(package.updated_at),
        "html_url": package_html_url(package),
    }
    if package.repository is not None:
        private = package.visibility == "private"
        body["repository"] = repository_json(package.owner, package.repository, private=private, base=base)
    return body


def version_json(package: Package, version: Version, base: str) -> Json:
    return VersionRenderer(package, base)(version)


class VersionRenderer:
    """Renders versions of one package; what depends only on the package is computed once per page."""

    def __init__(self, package: Package, base: str) -> None:
        self.package_type = package.package_type
        self.image = _is_image(package)
        self.package_html_url = package_html_url(package)
        self.versions_url = f"{_package_url(package, base)}/versions/"
        name = quote(package.name, safe="")
        self.image_html_url = f"https://github.com/{_namespace(package.owner)}/packages/{package.package_type}/{name}/"

    def __call__(self, version: Version) -> Json:
        metadata: Json = {"package_type": self.package_type}
        if self.image:
            metadata[self.package_type] = {"tags": list(version.tags)}
            html_url = f"{self.image_html_url}{version.id}"
        else:
            html_url = f"{self.package_html_url}?version={quote(version.name, safe='')}"
        body: Json = {
            "id": version.id,
            "name": version.name,
            "url": f"{self.versions_url}{version.id}",
            "package_html_url": self.package_html_url,
            "created_at": timestamp(version.created_at),
            "updated_at": timestamp(version.updated_at),
            "html_url": html_url,
            "metadata": metadata,
        }
        optional = {"license": version.license, "description": version.description}
        if version.deleted_at is not None:
            optional["deleted_at"] = timestamp(version.deleted_at)
        body.update({key: value for key, value in optional.items() if value is not None})
        return body


# --- responses ----------------------------------------------------------------------------------------------------


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, dict(headers or {}), media_type="application/json; charset=utf-8")


def error_response(status: int, message: str, documentation_url: str = DOCS) -> Response:
    return json_response({"message": message, "documentation_url": documentation_url, "status": str(status)}, status)
