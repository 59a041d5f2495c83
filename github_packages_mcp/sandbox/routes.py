"""The GitHub REST routes the sandbox answers: the 27 Packages operations, /user, /rate_limit, and the owners'
public profiles /orgs/{org} and /users/{username} (read after a 404, to tell an unknown owner from an unknown
package).

Each is a Route: its handler, the scopes a classic token needs and its documentation anchors.
`match` finds the route for a method and a raw path; the app does authentication, quotas and ETags around it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode

from starlette.datastructures import QueryParams
from starlette.responses import Response

from github_packages_mcp.sandbox.model import PACKAGE_TYPES, Api, OwnerKind, OwnerRef, SandboxError, Token
from github_packages_mcp.sandbox.render import (
    Json,
    VersionRenderer,
    json_response,
    organization_json,
    package_json,
    private_user_json,
    rate_limit_json,
    user_json,
    version_json,
)
from github_packages_mcp.sandbox.world import SandboxState

PACKAGES_DOCS: Final = "https://docs.github.com/rest/packages/packages#"
USERS_DOCS: Final = "https://docs.github.com/rest/users/users#"
ORGS_DOCS: Final = "https://docs.github.com/rest/orgs/orgs#"
RATE_LIMIT_STATUS_DOCS: Final = "https://docs.github.com/rest/rate-limit/rate-limit#"
DEFAULT_PER_PAGE: Final = 30
MAX_PER_PAGE: Final = 100
MAX_LIST_WINDOW: Final = 10_000  # list-packages refuses page * per_page beyond this
READ: Final = ("read:packages",)
DELETE: Final = ("delete:packages", "read:packages")
RESTORE: Final = ("read:packages", "write:packages")

T = TypeVar("T")


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
class Route:
    """What the sandbox does for one method on one path shape, and what GitHub's answers about it say."""

    handler: Handler
    scopes: tuple[str, ...]  # what a classic token needs (X-Accepted-OAuth-Scopes)
    action: str  # completes "You need at least <scope> scope to <action>."
    anchors: tuple[str, ...]  # docs anchors for the /user, /orgs and /users variants, or the only one
    api: Api = "packages"
    page: str = PACKAGES_DOCS  # the docs page of the anchors
    metered: bool = True  # counts against the quota and is refused once it is spent

    def documentation_url(self, kind: OwnerKind, anchor: str | None = None) -> str:
        """The docs link of an error: `anchor`, by default the variant's, on the route's page."""
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


def _paged(
    call: Call, items: Sequence[T], page: int, per_page: int, build: Callable[[T], Json], *, linked: bool = True
) -> Response:
    """One page of `items` with GitHub's Link header (unless not `linked`); only that page is turned into JSON."""
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
    headers = {"Link": ", ".join(links)} if links and linked else {}
    return json_response([build(item) for item in items[(page - 1) * per_page : page * per_page]], headers=headers)


def _get_user(call: Call) -> Response:
    return json_response(private_user_json(call.state.account(call.viewer), call.base))


def _get_owner(call: Call) -> Response:
    owner = call.state.public_owner(call.owner)
    render = organization_json if call.owner.kind == "org" else user_json
    return json_response(render(owner, call.base))


def _get_rate_limit(call: Call) -> Response:
    return json_response(rate_limit_json(call.state.rate_limit(call.credential), call.state.clock.now()))


def _list_packages(call: Call) -> Response:
    page, per_page = _paging(call.query)
    if page * per_page > MAX_LIST_WINDOW:
        raise SandboxError(400, "The value of per_page multiplied by page cannot be greater than 10000.")
    packages = call.state.list_packages(
        call.viewer, call.owner, call.query.get("package_type"), call.query.get("visibility")
    )
    # GitHub has been seen to list packages without a Link header (docs/github-behaviour.md#listing-without-link).
    linked = not call.state.switches.list_packages_without_link
    return _paged(call, packages, page, per_page, lambda p: package_json(p, call.base), linked=linked)


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
    return _paged(call, versions, page, per_page, VersionRenderer(package, call.base))


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
ROUTES: Final[dict[str, dict[str, Route]]] = {
    "docker/conflicts": {
        "GET": Route(
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
        "GET": Route(
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
        "GET": Route(
            _get_package,
            READ,
            "view packages",
            (
                "get-a-package-for-the-authenticated-user",
                "get-a-package-for-an-organization",
                "get-a-package-for-a-user",
            ),
        ),
        "DELETE": Route(
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
        "POST": Route(
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
        "GET": Route(
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
        "GET": Route(
            _get_version,
            READ,
            "view package versions",
            (
                "get-a-package-version-for-the-authenticated-user",
                "get-a-package-version-for-an-organization",
                "get-a-package-version-for-a-user",
            ),
        ),
        "DELETE": Route(
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
        "POST": Route(
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
ACCOUNT_ROUTES: Final[dict[str, dict[str, Route]]] = {
    "/user": {
        "GET": Route(_get_user, (), "view the authenticated user", ("get-the-authenticated-user",), "user", USERS_DOCS)
    },
    "/rate_limit": {
        "GET": Route(
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

# An owner's own public profile, by the first segment of /orgs/{org} and /users/{username}.
OWNER_ROUTES: Final[dict[str, tuple[OwnerKind, Route]]] = {
    "orgs": ("org", Route(_get_owner, (), "view organizations", ("get-an-organization",), "accounts", ORGS_DOCS)),
    "users": ("users", Route(_get_owner, (), "view users", ("get-a-user",), "accounts", USERS_DOCS)),
}

_PREFIXES: Final[tuple[tuple[OwnerKind, tuple[str, ...]], ...]] = (
    ("user", ("user",)),
    ("org", ("orgs", "{owner}")),
    ("users", ("users", "{owner}")),
)
TEMPLATES: Final = tuple(
    (kind, (*prefix, *suffix.split("/")), methods) for kind, prefix in _PREFIXES for suffix, methods in ROUTES.items()
)


def match(method: str, raw_path: str) -> tuple[Route, OwnerRef, dict[str, str]] | None:
    """Match a still-encoded path segment by segment, so `%2F` stays inside one segment (as on GitHub)."""
    if raw_path in ACCOUNT_ROUTES:
        route = ACCOUNT_ROUTES[raw_path].get(method)
        return None if route is None else (route, OwnerRef("user"), {})
    segments = raw_path.split("/")[1:]
    if len(segments) == 2 and segments[0] in OWNER_ROUTES and segments[1]:
        kind, route = OWNER_ROUTES[segments[0]]
        return None if method != "GET" else (route, OwnerRef(kind, unquote(segments[1])), {})
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
            route = methods.get(method)
            if route is None or not _valid(params):
                return None
            return route, OwnerRef(kind, params.get("owner")), params
    return None


def _valid(params: Mapping[str, str]) -> bool:
    # GitHub answers 404, not 400, for an unknown package type or a non-numeric version id in the path.
    version_id = params.get("package_version_id", "0")
    return params.get("package_type", "npm") in PACKAGE_TYPES and version_id.isascii() and version_id.isdigit()
