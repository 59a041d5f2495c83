"""The sandbox's ASGI app: GitHub-style routing, auth, paging and JSON over a SandboxState."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any, Final, NoReturn, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlencode

import anyio
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from github_packages_mcp.sandbox import registry
from github_packages_mcp.sandbox.faults import RATE_LIMIT_DOCS, Fault
from github_packages_mcp.sandbox.state import (
    PACKAGE_TYPES,
    Api,
    Owner,
    OwnerKind,
    OwnerRef,
    Package,
    RateLimit,
    RecordedRequest,
    SandboxError,
    SandboxState,
    Token,
    Version,
)

logger = logging.getLogger(__name__)

API_VERSIONS: Final = ("2022-11-28", "2026-03-10")
DOCS: Final = "https://docs.github.com/rest"
PACKAGES_DOCS: Final = "https://docs.github.com/rest/packages/packages#"
USERS_DOCS: Final = "https://docs.github.com/rest/users/users#"
RATE_LIMIT_STATUS_DOCS: Final = "https://docs.github.com/rest/rate-limit/rate-limit#"
DEFAULT_PER_PAGE: Final = 30
MAX_PER_PAGE: Final = 100
MAX_LIST_WINDOW: Final = 10_000  # list-packages refuses page * per_page beyond this
READ: Final = ("read:packages",)
DELETE: Final = ("delete:packages", "read:packages")
RESTORE: Final = ("read:packages", "write:packages")

Json = dict[str, Any]
T = TypeVar("T")


# --- JSON shapes --------------------------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
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
        "created_at": _timestamp(owner.created_at),
        "updated_at": _timestamp(owner.created_at),
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


def _package_html_url(package: Package) -> str:
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
        "created_at": _timestamp(package.created_at),
        "updated_at": _timestamp(package.updated_at),
        "html_url": _package_html_url(package),
    }
    if package.repository is not None:
        private = package.visibility == "private"
        body["repository"] = repository_json(package.owner, package.repository, private=private, base=base)
    return body


def version_json(package: Package, version: Version, base: str) -> Json:
    return _VersionRenderer(package, base)(version)


class _VersionRenderer:
    """Renders versions of one package; what depends only on the package is computed once per page."""

    def __init__(self, package: Package, base: str) -> None:
        self.package_type = package.package_type
        self.image = _is_image(package)
        self.package_html_url = _package_html_url(package)
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
            "created_at": _timestamp(version.created_at),
            "updated_at": _timestamp(version.updated_at),
            "html_url": html_url,
            "metadata": metadata,
        }
        optional = {"license": version.license, "description": version.description}
        if version.deleted_at is not None:
            optional["deleted_at"] = _timestamp(version.deleted_at)
        body.update({key: value for key, value in optional.items() if value is not None})
        return body


# --- responses ----------------------------------------------------------------------------------------------------


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, dict(headers or {}), media_type="application/json; charset=utf-8")


def error_response(status: int, message: str, documentation_url: str = DOCS) -> Response:
    return json_response({"message": message, "documentation_url": documentation_url, "status": str(status)}, status)


# --- routing ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """Everything a handler needs about one authenticated request."""

    state: SandboxState
    viewer: Token
    owner: OwnerRef
    params: Mapping[str, str]
    query: QueryParams
    base: str
    raw_path: str
    raw_query: str
    credential: str  # the token as sent: it keys the rate limit

    @property
    def package(self) -> tuple[OwnerRef, str, str]:
        return self.owner, self.params["package_type"], self.params["package_name"]

    @property
    def version_id(self) -> int:
        return int(self.params["package_version_id"])


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class Operation:
    handler: Handler
    scopes: tuple[str, ...]  # what a classic token needs (X-Accepted-OAuth-Scopes)
    action: str  # completes "You need at least <scope> scope to <action>."
    anchors: tuple[str, ...]  # docs anchors for the /user, /orgs and /users variants, or the only one
    api: Api = "packages"
    page: str = PACKAGES_DOCS  # the docs page of the anchors
    metered: bool = True  # counts against the quota and is refused once it is spent

    def documentation_url(self, kind: OwnerKind, anchor: str | None = None) -> str:
        """The docs link of an error: `anchor`, by default the variant's, on the operation's page."""
        if anchor is None:
            anchor = self.anchors[("user", "org", "users").index(kind) % len(self.anchors)]
        return self.page + anchor


def _paging(query: QueryParams) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        try:
            value = int(query.get(name, ""))
        except ValueError:
            return default
        return value if value >= 1 else default

    return number("page", 1), min(number("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)


def _paged(call: Call, items: Sequence[T], page: int, per_page: int, build: Callable[[T], Json]) -> Response:
    """One page of `items` with GitHub's Link header; only that page is turned into JSON."""
    last = max(1, math.ceil(len(items) / per_page))
    pairs = parse_qsl(call.raw_query, keep_blank_values=True)

    def link(number: int, rel: str) -> str:
        query = [(k, v) for k, v in pairs if k != "page"] + [("page", str(number))]
        return f'<{call.base}{call.raw_path}?{urlencode(query)}>; rel="{rel}"'

    links = []
    if page > 1:
        links.append(link(min(page - 1, last), "prev"))
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        links.append(link(1, "first"))
    headers = {"Link": ", ".join(links)} if links else {}
    return json_response([build(item) for item in items[(page - 1) * per_page : page * per_page]], headers=headers)


def _get_user(call: Call) -> Response:
    return json_response(private_user_json(call.state.account(call.viewer), call.base))


def _get_rate_limit(call: Call) -> Response:
    return json_response(rate_limit_json(call.state.rate_limit(call.credential), call.state.clock.now()))


def _list_packages(call: Call) -> Response:
    page, per_page = _paging(call.query)
    if page * per_page > MAX_LIST_WINDOW:
        raise SandboxError(400, "The value of per_page multiplied by page cannot be greater than 10000.")
    packages = call.state.list_packages(
        call.viewer, call.owner, call.query.get("package_type"), call.query.get("visibility")
    )
    return _paged(call, packages, page, per_page, lambda p: package_json(p, call.base))


def _docker_conflicts(call: Call) -> Response:
    return json_response([package_json(p, call.base) for p in call.state.docker_conflicts(call.viewer, call.owner)])


def _get_package(call: Call) -> Response:
    return json_response(package_json(call.state.get_package(call.viewer, *call.package), call.base))


def _delete_package(call: Call) -> Response:
    call.state.delete_package(call.viewer, *call.package)
    return Response(status_code=204)


def _restore_package(call: Call) -> Response:
    call.state.restore_package(call.viewer, *call.package)  # the `token` query parameter is accepted and ignored
    return Response(status_code=204)


def _list_versions(call: Call) -> Response:
    page, per_page = _paging(call.query)
    package, versions = call.state.list_versions(call.viewer, *call.package, call.query.get("state"))
    return _paged(call, versions, page, per_page, _VersionRenderer(package, call.base))


def _get_version(call: Call) -> Response:
    package, version = call.state.get_version(call.viewer, *call.package, call.version_id)
    return json_response(version_json(package, version, call.base))


def _delete_version(call: Call) -> Response:
    call.state.delete_version(call.viewer, *call.package, call.version_id)
    return Response(status_code=204)


def _restore_version(call: Call) -> Response:
    call.state.restore_version(call.viewer, *call.package, call.version_id)
    return Response(status_code=204)


_PACKAGE = "packages/{package_type}/{package_name}"
_VERSION = _PACKAGE + "/versions/{package_version_id}"

# The 7 path shapes below each owner prefix (/user, /orgs/{owner}, /users/{owner}): 21 templates, 27 operations.
ROUTES: Final[dict[str, dict[str, Operation]]] = {
    "docker/conflicts": {
        "GET": Operation(
            _docker_conflicts,
            READ,
            "list packages",
            (
                "get-list-of-conflicting-packages-during-docker-migration-for-authenticated-user",
                "get-list-of-conflicting-packages-during-docker-migration-for-organization",
                "get-list-of-conflicting-packages-during-docker-migration-for-user",
            ),
        )
    },
    "packages": {
        "GET": Operation(
            _list_packages,
            READ,
            "list packages",
            (
                "list-packages-for-the-authenticated-users-namespace",
                "list-packages-for-an-organization",
                "list-packages-for-a-user",
            ),
        )
    },
    _PACKAGE: {
        "GET": Operation(
            _get_package,
            READ,
            "view packages",
            (
                "get-a-package-for-the-authenticated-user",
                "get-a-package-for-an-organization",
                "get-a-package-for-a-user",
            ),
        ),
        "DELETE": Operation(
            _delete_package,
            DELETE,
            "delete packages",
            (
                "delete-a-package-for-the-authenticated-user",
                "delete-a-package-for-an-organization",
                "delete-a-package-for-a-user",
            ),
        ),
    },
    _PACKAGE + "/restore": {
        "POST": Operation(
            _restore_package,
            RESTORE,
            "restore packages",
            (
                "restore-a-package-for-the-authenticated-user",
                "restore-a-package-for-an-organization",
                "restore-a-package-for-a-user",
            ),
        )
    },
    _PACKAGE + "/versions": {
        "GET": Operation(
            _list_versions,
            READ,
            "list package versions",
            (
                "list-package-versions-for-a-package-owned-by-the-authenticated-user",
                "list-package-versions-for-a-package-owned-by-an-organization",
                "list-package-versions-for-a-package-owned-by-a-user",
            ),
        )
    },
    _VERSION: {
        "GET": Operation(
            _get_version,
            READ,
            "view package versions",
            (
                "get-a-package-version-for-the-authenticated-user",
                "get-a-package-version-for-an-organization",
                "get-a-package-version-for-a-user",
            ),
        ),
        "DELETE": Operation(
            _delete_version,
            DELETE,
            "delete package versions",
            (
                "delete-a-package-version-for-the-authenticated-user",
                "delete-package-version-for-an-organization",
                "delete-package-version-for-a-user",
            ),
        ),
    },
    _VERSION + "/restore": {
        "POST": Operation(
            _restore_version,
            RESTORE,
            "restore package versions",
            (
                "restore-a-package-version-for-the-authenticated-user",
                "restore-package-version-for-an-organization",
                "restore-package-version-for-a-user",
            ),
        )
    },
}

# Routes outside the owner namespaces, by exact path.
ACCOUNT_ROUTES: Final[dict[str, dict[str, Operation]]] = {
    "/user": {
        "GET": Operation(
            _get_user, (), "view the authenticated user", ("get-the-authenticated-user",), "user", USERS_DOCS
        )
    },
    "/rate_limit": {
        "GET": Operation(
            _get_rate_limit,
            (),
            "view rate limits",
            ("get-rate-limit-status-for-the-authenticated-user",),
            "rate_limit",
            RATE_LIMIT_STATUS_DOCS,
            metered=False,  # GitHub does not count it, and answers it with the quota spent
        )
    },
}

_PREFIXES: Final[tuple[tuple[OwnerKind, tuple[str, ...]], ...]] = (
    ("user", ("user",)),
    ("org", ("orgs", "{owner}")),
    ("users", ("users", "{owner}")),
)
TEMPLATES: Final = tuple(
    (kind, (*prefix, *suffix.split("/")), methods) for kind, prefix in _PREFIXES for suffix, methods in ROUTES.items()
)


def match(method: str, raw_path: str) -> tuple[Operation, OwnerRef, dict[str, str]] | None:
    """Match a still-encoded path segment by segment, so `%2F` stays inside one segment (as on GitHub)."""
    if raw_path in ACCOUNT_ROUTES:
        operation = ACCOUNT_ROUTES[raw_path].get(method)
        return None if operation is None else (operation, OwnerRef("user"), {})
    segments = raw_path.split("/")[1:]
    for kind, template, methods in TEMPLATES:
        if len(template) != len(segments):
            continue
        params: dict[str, str] = {}
        for expected, segment in zip(template, segments, strict=True):
            if expected.startswith("{") and segment:
                params[expected[1:-1]] = unquote(segment)
            elif expected != segment:
                break
        else:
            operation = methods.get(method)
            if operation is None or not _valid(params):
                return None
            return operation, OwnerRef(kind, params.get("owner")), params
    return None


def _valid(params: Mapping[str, str]) -> bool:
    # GitHub answers 404, not 400, for an unknown package type or a non-numeric version id in the path.
    version_id = params.get("package_version_id", "0")
    return params.get("package_type", "npm") in PACKAGE_TYPES and version_id.isascii() and version_id.isdigit()


# --- conditional requests, rate limits and faults -----------------------------------------------------------------


def _conditional(request: Request, response: Response) -> Response:
    """GitHub's weak ETag on a 200 JSON GET, and 304 Not Modified when If-None-Match already holds it."""
    if (
        request.method != "GET"
        or response.status_code != HTTPStatus.OK
        or not response.headers.get("content-type", "").startswith("application/json")
    ):
        return response
    etag = f'W/"{hashlib.sha256(response.body).hexdigest()}"'  # over the exact bytes sent
    if _etag_matches(request.headers.getlist("if-none-match"), etag):
        kept = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=kept | {"ETag": etag})
    response.headers["ETag"] = etag
    return response


def _etag_matches(header_values: Sequence[str], etag: str) -> bool:
    # If-None-Match uses the weak comparison: W/"x" and "x" are the same entity tag.
    tags = [tag.strip().removeprefix("W/") for value in header_values for tag in value.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def _rate_limited(user_id: int, request_id: str) -> Response:
    message = (
        f"API rate limit exceeded for user ID {user_id}. "
        f"If you reach out to GitHub Support for help, please include the request ID {request_id}."
    )
    return error_response(403, message, RATE_LIMIT_DOCS)


class ConnectionBroken(Exception):
    """Raised on purpose mid-response so the server drops the connection: a scripted reset."""


class _QuietBreaks(logging.Filter):
    """Drops uvicorn's "Exception in ASGI application" traceback for a deliberate ConnectionBroken."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionBroken))


_QUIET_BREAKS: Final = _QuietBreaks()
_PARTIAL_BODY: Final = b'{"message": "'


async def _break_connection(send: Send) -> NoReturn:
    """Promise a body, send part of it, then fail: uvicorn closes the transport, the client sees a short body.

    ASGI offers no socket to reset; a failing app after `http.response.start` is uvicorn's cue to close it.
    """
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _PARTIAL_BODY, "more_body": True})
    raise ConnectionBroken


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- the app ------------------------------------------------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    # An unusable header counts as bad credentials, not as a missing one.
    return token.strip() if scheme.lower() in ("bearer", "token") and token.strip() else ""


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _github_headers(request: Request, request_id: str) -> dict[str, str]:
    version = request.headers.get("x-github-api-version", API_VERSIONS[0])
    return {
        "X-GitHub-Api-Version-Selected": version if version in API_VERSIONS else API_VERSIONS[0],
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Request-Id": request_id,
    }


class SandboxApp:
    """ASGI3 app answering the 27 Packages operations, /user, /rate_limit, the registry under /v2/ and /_sandbox/*."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._request_ids = itertools.count(1)
        # Scripted resets make uvicorn log an error with a traceback; they are intended, so keep them quiet.
        logging.getLogger("uvicorn.error").addFilter(_QUIET_BREAKS)  # adding the same filter twice is a no-op

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = scope.get("raw_path")
        raw_path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(scope["path"])
        raw_query = scope["query_string"].decode("latin-1")
        if raw_path.startswith("/_sandbox/"):
            response = await self._answer(request, raw_path, raw_query, None)
            self._record(request, raw_path, raw_query, response.status_code)
            await response(scope, receive, send)
            return
        request_id = f"5A9D:{next(self._request_ids):08X}"
        # Recorded on arrival (status 0 until answered), so a request the client gave up on still shows.
        arrived = self._record(request, raw_path, raw_query, 0)
        fault = self.state.faults.take(request.method, raw_path)
        delay = self.state.faults.latency + (fault.latency if fault is not None else 0.0)
        with self.state.track_request():
            if delay > 0:
                await anyio.sleep(delay)  # never under the lock, so concurrent requests overlap
            if fault is not None and fault.reset and not fault.after:
                self.state.update_record(arrived, replace(arrived, broken=True))
                await _break_connection(send)
            if fault is not None and fault.status is not None:
                response = self._fault_response(request, fault, request_id)
            else:
                response = await self._answer(request, raw_path, raw_query, request_id)
            broken = fault is not None and fault.reset  # the request was handled, its response gets lost
            self.state.update_record(arrived, replace(arrived, status=response.status_code, broken=broken))
            if broken:
                await _break_connection(send)
            await response(scope, receive, send)

    def _record(self, request: Request, raw_path: str, raw_query: str, status: int) -> RecordedRequest:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = value if name not in headers else f"{headers[name]}, {value}"
        if "authorization" in headers:
            headers["authorization"] = "<redacted>"
        recorded = RecordedRequest(request.method, raw_path, raw_query, headers, status)
        self.state.record(recorded)
        return recorded

    async def _answer(self, request: Request, raw_path: str, raw_query: str, request_id: str | None) -> Response:
        try:
            if request_id is None:
                return await self._control(request, raw_path)
            if registry.handles(raw_path):
                return registry.respond(self.state, request, raw_path, _base_url(request))
            return self._respond(request, raw_path, raw_query, request_id)
        except Exception:
            logger.exception("sandbox failed on %s %s", request.method, raw_path)
            return error_response(500, "Internal Server Error")

    def _respond(self, request: Request, raw_path: str, raw_query: str, request_id: str) -> Response:
        found = match(request.method, raw_path)
        if found is None:
            response = error_response(404, "Not Found")
            response.headers["X-GitHub-Request-Id"] = request_id
            return response
        operation, owner, params = found
        headers = _github_headers(request, request_id)
        try:
            version = request.headers.get("x-github-api-version", API_VERSIONS[0])
            if version not in API_VERSIONS:
                raise SandboxError(400, f"Invalid API version: {version}")
            token_value = _bearer(request)
            token = self.state.authenticate(token_value)
            key = token_value or ""
            if token.rules.scoped:  # fine-grained and Actions tokens have permissions, not OAuth scopes
                headers |= {
                    "X-OAuth-Scopes": ", ".join(token.scopes),
                    "X-Accepted-OAuth-Scopes": ", ".join(operation.scopes),
                }
            call = Call(
                self.state,
                token,
                owner,
                params,
                request.query_params,
                _base_url(request),
                raw_path,
                raw_query,
                key,
            )
            # One step under the lock: check the quota, answer from one consistent snapshot, count the request.
            with self.state.lock:
                rate = self.state.rate_limit(key)
                if operation.metered and rate.remaining == 0:
                    response = _rate_limited(self.state.user_id(token.login), request_id)  # does not count
                else:
                    response = _conditional(request, self._handle(operation, call, token))
                    # GitHub does not count an authorised 304.
                    if operation.metered and response.status_code != HTTPStatus.NOT_MODIFIED:
                        rate = self.state.consume_rate_limit(key)
            headers |= rate.headers()
        except SandboxError as error:
            response = error_response(
                error.status, error.message, operation.documentation_url(owner.kind, error.anchor)
            )
        response.headers.update(headers)
        return response

    @staticmethod
    def _handle(operation: Operation, call: Call, token: Token) -> Response:
        """Token kind, scopes and the operation itself; their errors count against the quota like any answer."""
        try:
            token.require(operation.api, operation.scopes, operation.action)
            return operation.handler(call)
        except SandboxError as error:
            return error_response(
                error.status, error.message, operation.documentation_url(call.owner.kind, error.anchor)
            )

    def _fault_response(self, request: Request, fault: Fault, request_id: str) -> Response:
        """A scripted answer in place of handling the request; it does not count against the quota."""
        assert fault.status is not None
        body = fault.response_body(request_id)
        response = Response(status_code=fault.status) if body is None else json_response(body, fault.status)
        response.headers.update(_github_headers(request, request_id))
        token = _bearer(request)
        if token and self.state.has_token(token):
            response.headers.update(self.state.rate_limit(token).headers())
        response.headers.update(fault.headers)
        return response

    async def _control(self, request: Request, raw_path: str) -> Response:
        method = request.method
        if raw_path == "/_sandbox/reset" and method == "POST":
            self.state.reset()
            return Response(status_code=204)
        if raw_path == "/_sandbox/clock" and method == "POST":
            try:
                seconds = (await request.json())["advance_seconds"]
                if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                    raise TypeError(seconds)
            except (ValueError, KeyError, TypeError):
                return error_response(400, 'Send a JSON body like {"advance_seconds": 3600}.')
            self.state.clock.advance(timedelta(seconds=seconds))
        if raw_path == "/_sandbox/clock" and method in ("GET", "POST"):
            return json_response({"now": _timestamp(self.state.clock.now())})
        if raw_path == "/_sandbox/faults" and method == "POST":
            try:
                self.state.faults.load_json(await request.json())
            except (ValueError, TypeError) as error:
                return error_response(400, f"Bad fault configuration: {error}.")
        if raw_path == "/_sandbox/faults" and method in ("GET", "POST"):
            return json_response(self.state.faults.to_json())
        if raw_path == "/_sandbox/faults" and method == "DELETE":
            self.state.faults.clear()
            return Response(status_code=204)
        if raw_path == "/_sandbox/registry" and method == "POST":
            try:
                available = (await request.json())["available"]
                if not isinstance(available, bool):
                    raise TypeError(available)
            except (ValueError, KeyError, TypeError):
                return error_response(400, 'Send a JSON body like {"available": false}.')
            self.state.set_registry_available(available)
        if raw_path == "/_sandbox/registry" and method in ("GET", "POST"):
            return json_response({"available": self.state.registry_available})
        if raw_path == "/_sandbox/rate-limit" and method == "POST":
            return await self._set_rate_limit(request)
        if raw_path == "/_sandbox/stats" and method == "GET":
            with self.state.lock:
                stats = {
                    "requests": len(self.state.requests),
                    "in_flight": self.state.in_flight,
                    "max_in_flight": self.state.max_in_flight,
                }
            return json_response(stats)
        return error_response(404, "Not Found")

    async def _set_rate_limit(self, request: Request) -> Response:
        try:
            data = await request.json()
            token, remaining, reset_in = data["token"], data["remaining"], data["reset_in"]
            if not isinstance(token, str) or not _is_int(remaining) or not isinstance(reset_in, int | float):
                raise TypeError(data)
            if isinstance(reset_in, bool):
                raise TypeError(reset_in)
            self.state.set_rate_limit(token, remaining=remaining, reset_in=reset_in)
        except (ValueError, KeyError, TypeError):
            return error_response(
                400, 'Send a JSON body like {"token": "ghp_...", "remaining": 0, "reset_in": 3600} (0-5000 remaining).'
            )
        rate = self.state.rate_limit(token)
        return json_response({"limit": rate.limit, "remaining": rate.remaining, "used": rate.used, "reset": rate.reset})


def create_app(state: SandboxState) -> SandboxApp:
    """The sandbox ASGI3 app serving `state`."""
    return SandboxApp(state)
