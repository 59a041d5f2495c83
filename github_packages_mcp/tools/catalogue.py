"""The operation catalogue: GitHub's 27 Packages operations as data, one `Operation` row each.

GitHub's operations are nine endpoint shapes (list/get/delete/restore packages and versions, and the
Docker-migration conflicts) under three owners (`/user`, `/orgs/{org}`, `/users/{username}`). The shapes
and the owners are written once here; `OPERATIONS` is their product. Parameters are defined once and
carry the endpoint's schema (enums, defaults, bounds, required), which becomes each tool's input schema.
`tests/test_catalogue.py` checks every row against GitHub's OpenAPI description.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from github_packages_mcp.client import QueryValue, expand_path
from github_packages_mcp.tools.models import (
    DeletionResult,
    DockerConflicts,
    Package,
    PackageList,
    PackageType,
    PackageVersion,
    PackageVersionList,
    RestoreResult,
)

__all__ = ["OPERATIONS", "Kind", "Operation", "Owner", "OwnerKind", "Param", "arg", "operation", "scopes_for"]

OwnerKind = Literal["my", "org", "user"]
Kind = Literal["read", "delete", "restore"]

_REQUIRED = inspect.Parameter.empty


def _tidy(schema: dict[str, Any]) -> None:
    # Tool lists eat context: no per-field titles (the name says it). An optional argument is left out rather
    # than sent as null, so it publishes only its real type: no `anyOf` for clients and model providers that
    # handle it badly.
    schema.pop("title", None)
    arms = [arm for arm in schema.pop("anyOf", []) if arm.get("type") != "null"]
    if len(arms) == 1:
        schema.update(arms[0])
    if schema.get("default", 0) is None:
        del schema["default"]


def arg(description: str | None = None, **constraints: Any) -> Any:
    """A `Field` for a tool argument: its constraints, an optional description, and a tidy schema."""
    return Field(description=description, json_schema_extra=_tidy, **constraints)


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


# Shared parameter definitions, written once.
ORG = Param("org", "path", Annotated[str, arg(min_length=1)])
USERNAME = Param("username", "path", Annotated[str, arg(min_length=1)])
PACKAGE_TYPE = Param(
    "package_type",
    "path",
    Annotated[PackageType, arg()],  # which type is which: the server's instructions
)
# list-packages takes the type as a required query parameter; everywhere else it is a path segment.
PACKAGE_TYPE_QUERY = Param("package_type", "query", PACKAGE_TYPE.annotation)
PACKAGE_NAME = Param("package_name", "path", Annotated[str, arg(min_length=1)])  # '/' allowed: sent encoded
# GitHub's spec types ids as plain `integer`; real version ids already pass 2^31, so they are 64-bit here.
# Strict: the schema says integer, so "123" as a string is refused rather than guessed at.
PACKAGE_VERSION_ID = Param(
    "package_version_id",
    "path",
    Annotated[int, arg(strict=True, ge=1, le=2**63 - 1)],
)
VISIBILITY = Param(
    "visibility",
    "query",
    Annotated[Literal["public", "private", "internal"] | None, arg()],
    default=None,
)
PAGE = Param("page", "query", Annotated[int, arg(strict=True, ge=1)], default=1)
# GitHub documents the cap of 100 only in prose; it is a schema bound here.
PER_PAGE = Param("per_page", "query", Annotated[int, arg(strict=True, ge=1, le=100)], default=30)
STATE = Param(
    "state",
    "query",
    Annotated[Literal["active", "deleted"], arg("deleted: still restorable")],
    default="active",
)
RESTORE_TOKEN = Param(
    "token",
    "query",
    Annotated[str | None, arg("Package token, if GitHub gave one")],
    default=None,
)
ALL_PAGES = Param(
    "all_pages",
    "tool",
    Annotated[bool, arg("All pages at once", strict=True)],
    default=False,
)
PACKAGE = (PACKAGE_TYPE, PACKAGE_NAME)
VERSION = (PACKAGE_TYPE, PACKAGE_NAME, PACKAGE_VERSION_ID)
PAGING = (PAGE, PER_PAGE, ALL_PAGES)


@dataclass(frozen=True)
class _Owner:
    prefix: str
    params: tuple[Param, ...]
    possessive: str


_OWNERS: dict[OwnerKind, _Owner] = {
    "my": _Owner("/user", (), "your"),
    "org": _Owner("/orgs/{org}", (ORG,), "an organization's"),
    "user": _Owner("/users/{username}", (USERNAME,), "a user's"),
}


@dataclass(frozen=True)
class Owner:
    """Whose packages, for tools that work across an owner's packages: the token's user, an org or a user."""

    kind: OwnerKind
    login: str | None = None

    @property
    def prefix(self) -> str:
        """The API path prefix, each segment encoded once."""
        return expand_path(_OWNERS[self.kind].prefix, {"org": self.login or "", "username": self.login or ""})

    def describe(self) -> str:
        return {"my": "you", "org": f"the organization {self.login}", "user": f"the user {self.login}"}[self.kind]


@dataclass(frozen=True)
class _Shape:
    """An endpoint shape shared by the three owners; `{o}` in the name is the owner kind."""

    name: str
    method: Literal["GET", "DELETE", "POST"]
    suffix: str
    params: tuple[Param, ...]
    result: type[BaseModel]
    description: str


_DELETE_NOTE = "Needs delete:packages."  # that the person confirms first is said once, in the instructions
_RESTORE_NOTE = "Within 30 days of deletion, unless the name was reused. Needs write:packages."
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
        "Get one of {owner} packages.",
    ),
    _Shape(
        "delete_{o}_package",
        "DELETE",
        "/packages/{package_type}/{package_name}",
        PACKAGE,
        DeletionResult,
        "Delete one of {owner} packages and all its versions. "
        + _DELETE_NOTE
        + " Refused for public packages over 5,000 downloads.",
    ),
    _Shape(
        "restore_{o}_package",
        "POST",
        "/packages/{package_type}/{package_name}/restore",
        (*PACKAGE, RESTORE_TOKEN),
        RestoreResult,
        "Restore a deleted package of {owner}. " + _RESTORE_NOTE,
    ),
    _Shape(
        "list_{o}_package_versions",
        "GET",
        "/packages/{package_type}/{package_name}/versions",
        # The spec leaves paging out of the user-owned variant, but GitHub honours it there too.
        (*PACKAGE, *PAGING, STATE),
        PackageVersionList,
        "List versions of one of {owner} packages, newest first.",
    ),
    _Shape(
        "get_{o}_package_version",
        "GET",
        "/packages/{package_type}/{package_name}/versions/{package_version_id}",
        VERSION,
        PackageVersion,
        "Get a version of one of {owner} packages.",
    ),
    _Shape(
        "delete_{o}_package_version",
        "DELETE",
        "/packages/{package_type}/{package_name}/versions/{package_version_id}",
        VERSION,
        DeletionResult,
        "Delete a version of one of {owner} packages. "
        + _DELETE_NOTE
        + " Refused for the last version and public ones over 5,000 downloads.",
    ),
    _Shape(
        "restore_{o}_package_version",
        "POST",
        "/packages/{package_type}/{package_name}/versions/{package_version_id}/restore",
        VERSION,
        RestoreResult,
        "Restore a deleted version of one of {owner} packages. " + _RESTORE_NOTE,
    ),
    _Shape(
        "list_{o}_docker_conflicts",
        "GET",
        "/docker/conflicts",
        (),
        DockerConflicts,
        "List {owner} packages whose Docker-to-ghcr.io migration hit a conflict.",
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

    def path_values(self, arguments: Mapping[str, Any]) -> dict[str, QueryValue]:
        return {p.name: arguments[p.name] for p in self.params if p.location == "path"}

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
