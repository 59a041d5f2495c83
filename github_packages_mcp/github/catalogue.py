"""The operation catalogue: GitHub's 27 Packages operations as data, one `Operation` row each.

GitHub's operations are nine endpoint shapes (list/get/delete/restore packages and versions, and the
Docker-migration conflicts) under three owners (`/user`, `/orgs/{org}`, `/users/{username}`). The shapes
and the owners are written once here; `OPERATIONS` is their product. Parameters are defined once and
carry the endpoint's schema (enums, defaults, bounds, required), which becomes each tool's input schema.
`tests/github/test_catalogue.py` checks every row against GitHub's OpenAPI description.

This module is the only place that spells a GitHub API path: every request path is a row's template (or one
of the few non-package endpoints below) filled by `expand_path`, which encodes each value as one segment.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote

from pydantic import BaseModel, Field

from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.github.models import (
    DeletionResult,
    DockerConflicts,
    Package,
    PackageList,
    PackageType,
    PackageVersion,
    PackageVersionList,
    RestoreResult,
)
from github_packages_mcp.github.paging import QueryValue

__all__ = [
    "AUTHENTICATED_USER",
    "OPERATIONS",
    "PACKAGE_TYPE",
    "RATE_LIMIT",
    "Kind",
    "Operation",
    "OptionalOrg",
    "OptionalUsername",
    "Owner",
    "OwnerKind",
    "PackageTypeArgument",
    "Param",
    "Target",
    "Verb",
    "arg",
    "arguments_at",
    "encode_segment",
    "expand_path",
    "operation",
    "operation_at",
    "parse_scopes",
    "scopes_for",
]

OwnerKind = Literal["my", "org", "user"]
Kind = Literal["read", "delete", "restore"]
Verb = Literal["list", "get", "delete", "restore"]
Target = Literal["packages", "package", "package_versions", "package_version", "docker_conflicts"]

# The two endpoints outside the Packages API this server reads: who the token is (and its scopes), and its quota.
AUTHENTICATED_USER = "/user"
RATE_LIMIT = "/rate_limit"  # costs no quota

_REQUIRED = inspect.Parameter.empty
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def encode_segment(value: str) -> str:
    """Percent-encode one path segment exactly once: `web/api` -> `web%2Fapi`.

    `.` and `..` are encoded too, so no value can climb out of its segment once a URL library
    normalises the path.
    """
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


def expand_path(template: str, values: Mapping[str, Any]) -> str:
    """Fill `{name}` placeholders of a path template, each value encoded as one segment."""
    return _PLACEHOLDER.sub(lambda match: encode_segment(str(values[match.group(1)])), template)


def arg(description: str | None = None, **constraints: Any) -> Any:
    """A `Field` for a tool argument: its constraints and an optional description (`toolkit/schemas.py` trims
    the published schema)."""
    return Field(description=description, **constraints)


@dataclass(frozen=True)
class Param:
    """One endpoint parameter: GitHub's name, where it travels, and its schema as a pydantic annotation."""

    name: str
    location: Literal["path", "query", "tool"]  # "tool": read by the tool itself, never sent to GitHub
    annotation: Any
    default: Any = _REQUIRED

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


# No GitHub login or package name comes near this (logins stop at 39 characters, npm names at 214); a longer path
# argument is refused by its schema, and before a URL is built (assumed bound: #package-name-encoding in
# docs/github-behaviour.md). Every string argument has a bound, so no caller can send a megabyte of one.
MAX_SEGMENT = 1_000
MAX_LOGIN = 100

# Shared parameter definitions, written once.
ORG = Param("org", "path", Annotated[str, arg("Organization login", min_length=1, max_length=MAX_LOGIN)])
USERNAME = Param("username", "path", Annotated[str, arg("User login", min_length=1, max_length=MAX_LOGIN)])
PackageTypeArgument = Annotated[PackageType, arg("Registry")]  # which type is which: the server's instructions
PACKAGE_TYPE = Param("package_type", "path", PackageTypeArgument)
# list-packages takes the type as a required query parameter; everywhere else it is a path segment.
PACKAGE_TYPE_QUERY = Param("package_type", "query", PackageTypeArgument)
PACKAGE_NAME = Param(
    "package_name", "path", Annotated[str, arg("As listed", min_length=1, max_length=MAX_SEGMENT)]
)  # sent encoded
# GitHub's spec types ids as plain `integer`; ids may pass 2^31, so they are not 32-bit here. The bound is
# JavaScript's largest exact integer (2^53 - 1): a JSON client in JavaScript reads 2^63 - 1 as 2^63, and no
# GitHub id comes near either (docs/github-behaviour.md#64-bit-ids). Strict: "123" as a string is refused.
MAX_ID = 2**53 - 1
PACKAGE_VERSION_ID = Param(
    "package_version_id",
    "path",
    Annotated[int, arg("Version id", strict=True, ge=1, le=MAX_ID)],
)
VISIBILITY = Param(
    "visibility",
    "query",
    Annotated[Literal["public", "private", "internal"] | None, arg("Only these")],
    default=None,
)
PAGE = Param("page", "query", Annotated[int, arg("Page number", strict=True, ge=1)], default=1)
# GitHub documents the cap of 100 only in prose; it is a schema bound here.
PER_PAGE = Param("per_page", "query", Annotated[int, arg("Page size", strict=True, ge=1, le=100)], default=30)
STATE = Param(
    "state",
    "query",
    Annotated[Literal["active", "deleted"], arg("deleted: still restorable")],
    default="active",
)
RESTORE_TOKEN = Param(
    "token",
    "query",
    Annotated[str | None, arg("If GitHub gave one", max_length=MAX_SEGMENT)],
    default=None,
)
ALL_PAGES = Param(
    "all_pages",
    "tool",
    Annotated[bool, arg("All pages", strict=True)],
    default=False,
)
# The owner arguments of tools that work across one owner's packages (cleanups, audits): neither means yours.
OptionalOrg = Annotated[str | None, arg("Organization login", min_length=1, max_length=MAX_LOGIN)]
OptionalUsername = Annotated[str | None, arg("User login", min_length=1, max_length=MAX_LOGIN)]
PACKAGE = (PACKAGE_TYPE, PACKAGE_NAME)
VERSION = (PACKAGE_TYPE, PACKAGE_NAME, PACKAGE_VERSION_ID)
PAGING = (PAGE, PER_PAGE, ALL_PAGES)


@dataclass(frozen=True)
class _OwnerForm:
    """How GitHub's paths and this server's words name one kind of owner."""

    prefix: str
    params: tuple[Param, ...]
    possessive: str  # in tool descriptions, where no login is known: "{possessive} package"
    named: str  # in results and summaries: "{login}" is filled in


_OWNERS: dict[OwnerKind, _OwnerForm] = {
    "my": _OwnerForm("/user", (), "your", "you"),
    "org": _OwnerForm("/orgs/{org}", (ORG,), "an organization's", "the organization {login}"),
    "user": _OwnerForm("/users/{username}", (USERNAME,), "a user's", "the user {login}"),
}


@dataclass(frozen=True)
class Owner:
    """Whose packages: the token's user (`my`), an organization or a user."""

    kind: OwnerKind
    login: str | None = None

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> Owner:
        """The owner that tool arguments name: `org`, `username`, or neither for the token's user.

        Raises:
            InvalidArguments: If both are given.
        """
        org, username = arguments.get("org"), arguments.get("username")
        if org and username:
            raise InvalidArguments("give org or username, not both")
        return cls("org", org) if org else cls("user", username) if username else cls("my")

    @property
    def arguments(self) -> dict[str, str]:
        """The owner's path arguments: `{"org": login}`, `{"username": login}` or none."""
        return {param.name: self.login or "" for param in _OWNERS[self.kind].params}

    def describe(self) -> str:
        """`you`, `the organization acme` or `the user mona`."""
        return _OWNERS[self.kind].named.format(login=self.login)

    @property
    def own_path(self) -> str | None:
        """The owner's own resource, `/orgs/acme` or `/users/mona`: outside the Packages API, read only after a 404
        to tell an unknown owner from an unknown package; None for the token's user, who exists."""
        return None if self.kind == "my" else expand_path(_OWNERS[self.kind].prefix, self.arguments)

    def owned_by(self) -> str:
        """`owned by ...`, saying who "you" is."""
        return f"owned by {self.describe()}" + (" (the token's user)" if self.kind == "my" else "")

    def operation(self, verb: Verb, target: Target) -> Operation:
        """This owner's row for a verb and a target, e.g. `("list", "package_versions")`."""
        return operation(f"{verb}_{self.kind}_{target}")


@dataclass(frozen=True)
class _Shape:
    """An endpoint shape shared by the three owners; `{o}` in the name is the owner kind."""

    name: str
    method: Literal["GET", "DELETE", "POST"]
    suffix: str
    params: tuple[Param, ...]
    result: type[BaseModel]
    description: str


# The scopes, GitHub's rules for deletes and restores and the person's confirmation are said once, in the server's
# instructions, not in every description.
_SHAPES = (
    _Shape(
        "list_{o}_packages",
        "GET",
        "/packages",
        (PACKAGE_TYPE_QUERY, VISIBILITY, *PAGING),
        PackageList,
        "List {owner} packages of one type.",
    ),
    _Shape(
        "get_{o}_package",
        "GET",
        "/packages/{package_type}/{package_name}",
        PACKAGE,
        Package,
        "Get {owner} package.",
    ),
    _Shape(
        "delete_{o}_package",
        "DELETE",
        "/packages/{package_type}/{package_name}",
        PACKAGE,
        DeletionResult,
        "Delete {owner} package and all its versions.",
    ),
    _Shape(
        "restore_{o}_package",
        "POST",
        "/packages/{package_type}/{package_name}/restore",
        (*PACKAGE, RESTORE_TOKEN),
        RestoreResult,
        "Restore {owner} deleted package.",
    ),
    _Shape(
        "list_{o}_package_versions",
        "GET",
        "/packages/{package_type}/{package_name}/versions",
        # The spec leaves paging out of the user-owned variant, but GitHub honours it there too.
        (*PACKAGE, *PAGING, STATE),
        PackageVersionList,
        "List versions of {owner} package, newest first.",
    ),
    _Shape(
        "get_{o}_package_version",
        "GET",
        "/packages/{package_type}/{package_name}/versions/{package_version_id}",
        VERSION,
        PackageVersion,
        "Get a version of {owner} package.",
    ),
    _Shape(
        "delete_{o}_package_version",
        "DELETE",
        "/packages/{package_type}/{package_name}/versions/{package_version_id}",
        VERSION,
        DeletionResult,
        "Delete a version of {owner} package.",
    ),
    _Shape(
        "restore_{o}_package_version",
        "POST",
        "/packages/{package_type}/{package_name}/versions/{package_version_id}/restore",
        VERSION,
        RestoreResult,
        "Restore a deleted version of {owner} package.",
    ),
    _Shape(
        "list_{o}_docker_conflicts",
        "GET",
        "/docker/conflicts",
        (),
        DockerConflicts,
        "List {owner} packages with Docker-to-ghcr.io migration conflicts.",
    ),
)

# GitHub's operationIds, which follow no single pattern across owners.
_OPERATION_IDS: dict[str, str] = {
    "list_my_packages": "list-packages-for-authenticated-user",
    "list_org_packages": "list-packages-for-organization",
    "list_user_packages": "list-packages-for-user",
    "get_my_package": "get-package-for-authenticated-user",
    "get_org_package": "get-package-for-organization",
    "get_user_package": "get-package-for-user",
    "delete_my_package": "delete-package-for-authenticated-user",
    "delete_org_package": "delete-package-for-org",
    "delete_user_package": "delete-package-for-user",
    "restore_my_package": "restore-package-for-authenticated-user",
    "restore_org_package": "restore-package-for-org",
    "restore_user_package": "restore-package-for-user",
    "list_my_package_versions": "get-all-package-versions-for-package-owned-by-authenticated-user",
    "list_org_package_versions": "get-all-package-versions-for-package-owned-by-org",
    "list_user_package_versions": "get-all-package-versions-for-package-owned-by-user",
    "get_my_package_version": "get-package-version-for-authenticated-user",
    "get_org_package_version": "get-package-version-for-organization",
    "get_user_package_version": "get-package-version-for-user",
    "delete_my_package_version": "delete-package-version-for-authenticated-user",
    "delete_org_package_version": "delete-package-version-for-org",
    "delete_user_package_version": "delete-package-version-for-user",
    "restore_my_package_version": "restore-package-version-for-authenticated-user",
    "restore_org_package_version": "restore-package-version-for-org",
    "restore_user_package_version": "restore-package-version-for-user",
    "list_my_docker_conflicts": "list-docker-migration-conflicting-packages-for-authenticated-user",
    "list_org_docker_conflicts": "list-docker-migration-conflicting-packages-for-organization",
    "list_user_docker_conflicts": "list-docker-migration-conflicting-packages-for-user",
}

_KIND_BY_METHOD: dict[str, Kind] = {"GET": "read", "DELETE": "delete", "POST": "restore"}
_SCOPES: dict[Kind, tuple[str, ...]] = {
    "read": ("read:packages",),
    "delete": ("read:packages", "delete:packages"),
    "restore": ("read:packages", "write:packages"),
}
# list-packages answers 400 when page x per_page exceeds this; checked before sending.
LIST_PACKAGES_WINDOW = 10_000


def scopes_for(kind: Kind) -> tuple[str, ...]:
    """Classic-token scopes an operation of this kind needs (repository-scoped registries also need `repo`)."""
    return _SCOPES[kind]


def parse_scopes(header: str | None) -> set[str] | None:
    """The scopes in an `X-OAuth-Scopes` or `X-Accepted-OAuth-Scopes` header, or None without the header."""
    if header is None:
        return None
    return {scope.strip() for scope in header.split(",") if scope.strip()}


@dataclass(frozen=True)
class Operation:
    """One GitHub operation and the MCP tool that exposes it."""

    name: str
    operation_id: str
    owner: OwnerKind
    method: Literal["GET", "DELETE", "POST"]
    path: str
    params: tuple[Param, ...]
    result: type[BaseModel]
    description: str

    @property
    def kind(self) -> Kind:
        return _KIND_BY_METHOD[self.method]

    @property
    def scopes(self) -> tuple[str, ...]:
        return scopes_for(self.kind)

    @property
    def result_window(self) -> int | None:
        """The largest page x per_page GitHub serves for this listing, if it has such a limit."""
        return LIST_PACKAGES_WINDOW if self.result is PackageList else None

    def sibling(self, verb: Verb) -> Operation:
        """The same owner's and target's operation for another verb: `delete_org_package` -> `get_org_package`."""
        return operation(verb + self.name[self.name.index("_") :])

    def url_path(self, arguments: Mapping[str, Any]) -> str:
        """The request path, each path argument encoded as one segment.

        Raises:
            InvalidArguments: If a path argument is longer than any name GitHub gives.
        """
        values = {p.name: arguments[p.name] for p in self.params if p.location == "path"}
        for name, value in values.items():
            if len(str(value)) > MAX_SEGMENT:
                raise InvalidArguments(f"{name}: at most {MAX_SEGMENT} characters, got {len(str(value))}")
        return expand_path(self.path, values)

    def query_values(self, arguments: Mapping[str, Any]) -> dict[str, QueryValue]:
        return {
            p.name: arguments[p.name]
            for p in self.params
            if p.location == "query" and arguments.get(p.name) is not None
        }


# The spec gives the user-owned version list no `state`: another user's deleted versions are not listable.
_LEFT_OUT: dict[str, frozenset[str]] = {"list_user_package_versions": frozenset({"state"})}


def _build(shape: _Shape, owner_kind: OwnerKind) -> Operation:
    owner = _OWNERS[owner_kind]
    name = shape.name.format(o=owner_kind)
    left_out = _LEFT_OUT.get(name, frozenset())
    return Operation(
        name=name,
        operation_id=f"packages/{_OPERATION_IDS[name]}",
        owner=owner_kind,
        method=shape.method,
        path=owner.prefix + shape.suffix,
        params=tuple(p for p in (*owner.params, *shape.params) if p.name not in left_out),
        result=shape.result,
        description=shape.description.format(owner=owner.possessive),
    )


OPERATIONS: tuple[Operation, ...] = tuple(_build(shape, owner) for shape in _SHAPES for owner in _OWNERS)
_BY_NAME = {op.name: op for op in OPERATIONS}


def operation(name: str) -> Operation:
    """The operation behind a tool name.

    Raises:
        KeyError: If no operation has that name.
    """
    return _BY_NAME[name]


def _matcher(template: str) -> re.Pattern[str]:
    """A template as a pattern over request paths: each placeholder is one (encoded) segment."""
    parts = _PLACEHOLDER.split(template)  # literal, name, literal, name, ..., literal
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)))


@cache
def _matchers() -> tuple[tuple[Operation, re.Pattern[str]], ...]:
    return tuple((op, _matcher(op.path)) for op in OPERATIONS)  # compiled at the first request, not at start


def operation_at(method: str, path: str) -> Operation | None:
    """The operation a request is, from its method and (filled, encoded) path; None for any other request.

    Lets the client know a listing's result window, and advice know which operation failed.
    """
    return next((op for op, pattern in _matchers() if op.method == method and pattern.fullmatch(path)), None)


def arguments_at(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    """The operation a request is and its path arguments, decoded (`web%2Fapi` is `web/api`); None for any other
    request. Lets advice name what a 404 was about."""
    for op, pattern in _matchers():
        if op.method == method and (found := pattern.fullmatch(path)):
            return op, {name: unquote(value) for name, value in found.groupdict().items()}
    return None
