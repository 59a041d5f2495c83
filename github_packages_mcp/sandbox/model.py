"""The sandbox world's data and the GitHub rules that read it: owners, packages, versions, tokens, quotas.

Nothing here locks or keeps time: SandboxState (world.py) does both around these objects.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Final, Literal

from github_packages_mcp.sandbox import oci
from github_packages_mcp.sandbox.oci import Manifest, RegistryError

PACKAGE_TYPES: Final = ("npm", "maven", "rubygems", "docker", "nuget", "container")
# Ecosystems with granular permissions: only there "internal" differs from "private".
GRANULAR_TYPES: Final = frozenset({"container", "npm", "nuget", "rubygems"})
VISIBILITY_FILTERS: Final = ("public", "private", "internal")
VERSION_STATES: Final = ("active", "deleted")
RESTORE_WINDOW: Final = timedelta(days=30)
DOWNLOAD_LIMIT: Final = 5000
RATE_LIMIT: Final = 5000
ACTIONS_RATE_LIMIT: Final = 1000  # a GITHUB_TOKEN's hourly quota
RATE_WINDOW: Final = timedelta(hours=1)
FINE_GRAINED_REFUSED: Final = "Resource not accessible by personal access token"
INTEGRATION_REFUSED: Final = "Resource not accessible by integration"
# An Actions token listing an organization's packages (docs/github-behaviour.md#actions-tokens).
INVALID_ARGUMENT: Final = "Invalid argument."
LAST_TAGGED_REFUSED: Final = (
    "You cannot delete the last tagged version of a package. You must delete the package instead."
)
LAST_VERSION_REFUSED: Final = "You cannot delete the last version of a package. You must delete the package instead."

OwnerKind = Literal["user", "org", "users"]
TokenKind = Literal["classic", "fine_grained", "actions"]
# What a kind of token may be refused as a whole; "accounts": owners' public profiles, which no token is refused.
Api = Literal["packages", "registry", "user", "rate_limit", "accounts"]


def too_popular(what: str) -> str:
    """GitHub's 400 message for deleting public packages or versions downloaded more than DOWNLOAD_LIMIT times."""
    return (
        f"Publicly visible {what} with more than {DOWNLOAD_LIMIT} downloads cannot be deleted. "
        "Contact GitHub support for further assistance."
    )


class SandboxError(Exception):
    """A GitHub-style error; the app turns it into a JSON error response."""

    def __init__(self, status: int, message: str, anchor: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.anchor = anchor  # docs anchor; None means "the current operation's"


@dataclass(frozen=True)
class Owner:
    login: str
    id: int
    type: Literal["User", "Organization", "Bot"]
    admins: frozenset[str] = frozenset()  # lower-case logins administering an organization
    name: str | None = None  # the display name
    created_at: datetime = datetime(2020, 1, 1, tzinfo=UTC)

    def administered_by(self, login: str) -> bool:
        return login.lower() == self.login.lower() or login.lower() in self.admins


@dataclass
class Version:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    tags: tuple[str, ...] = ()  # container/docker only
    license: str | None = None
    description: str | None = None
    download_count: int = 0  # internal: the API never exposes it
    deleted_at: datetime | None = None
    manifest: bytes | None = None  # container/docker: the exact manifest bytes the registry serves
    media_type: str | None = None  # the manifest's media type


def image_version(
    version_id: int, manifest: Manifest, created: datetime, tags: tuple[str, ...] = (), *, download_count: int = 0
) -> Version:
    """A container/docker version named by its manifest's digest, so name and bytes always match."""
    return Version(
        version_id,
        manifest.digest,
        created,
        created,
        tags,
        download_count=download_count,
        manifest=manifest.body,
        media_type=manifest.media_type,
    )


def newest_first(versions: Iterable[Version]) -> list[Version]:
    # attrgetter rather than a lambda: this sorts thousands of versions for every page of a big package.
    return sorted(versions, key=attrgetter("created_at", "id"), reverse=True)


@dataclass
class Package:
    id: int
    name: str
    package_type: str
    owner: Owner
    visibility: Literal["public", "private"]
    created_at: datetime
    updated_at: datetime
    versions: list[Version] = field(default_factory=list)
    internal: bool = False  # only meaningful for private packages
    repository: str | None = None  # repository name under the same owner
    download_count: int = 0
    migration_conflict: bool = False
    deleted_at: datetime | None = None

    def active_versions(self) -> list[Version]:
        return [v for v in self.versions if v.deleted_at is None]

    def active_version(self, version_id: int) -> Version:
        for v in self.active_versions():
            if v.id == version_id:
                return v
        raise SandboxError(404, "Package version not found.")

    def manifest(self, reference: str) -> Manifest:
        """The manifest of the active version a registry reference (a digest or a tag) names."""
        by_digest = reference.startswith("sha256:")
        for v in self.active_versions():
            if (v.name == reference if by_digest else reference in v.tags) and v.manifest and v.media_type:
                return Manifest(v.manifest, v.media_type)
        raise RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown")

    def referrers(self, digest: str) -> list[oci.Json]:
        """Descriptors of the active manifests whose subject is `digest`, newest first."""
        versions = newest_first(self.active_versions())
        found = (oci.referrer(v.manifest, digest) for v in versions if v.manifest is not None)
        return [descriptor for descriptor in found if descriptor is not None]

    def require_deletable(self, version: Version) -> None:
        """GitHub's 400 for deleting what must be kept: the package has to be deleted instead.

        A container package keeps its last tagged version; untagged versions do not count, and the last one
        left may go (docs/github-behaviour.md#last-tagged-version). Other packages keep their last version
        (docs/github-behaviour.md#last-tagged-version); docker ones are taken to follow that rule too.
        """
        if self.package_type == "container":
            if version.tags and not any(v.tags for v in self.active_versions() if v is not version):
                raise SandboxError(400, LAST_TAGGED_REFUSED)
        elif self.active_versions() == [version]:
            raise SandboxError(400, LAST_VERSION_REFUSED)

    def matches_visibility(self, wanted: str) -> bool:
        """Whether the `visibility` filter of list-packages keeps this package."""
        if wanted == "public":
            return self.visibility == "public"
        if self.visibility != "private":
            return False
        # "internal" only exists for granular ecosystems; elsewhere it is a synonym of "private".
        return wanted == "private" or self.internal or self.package_type not in GRANULAR_TYPES


@dataclass(frozen=True)
class TokenRules:
    """What GitHub does differently for one kind of token."""

    rate_limit: int
    scoped: bool  # carries OAuth scopes (X-OAuth-Scopes); the other kinds have permissions instead
    refused: Mapping[Api, str] = field(default_factory=dict)  # GitHub's 403 message for an API it cannot use
    no_access: str | None = None  # its 403 for a package it may not see or change (users get 404 or "admin access")
    lists_org_packages: bool = True  # False: GitHub's 400 INVALID_ARGUMENT for GET /orgs/{org}/packages


TOKEN_RULES: Final[Mapping[TokenKind, TokenRules]] = {
    "classic": TokenRules(RATE_LIMIT, scoped=True),
    # The Packages API and the container registry accept classic tokens only.
    "fine_grained": TokenRules(
        RATE_LIMIT, scoped=False, refused={"packages": FINE_GRAINED_REFUSED, "registry": FINE_GRAINED_REFUSED}
    ),
    # A GITHUB_TOKEN belongs to an app installation, not to a user.
    # It manages its repository's packages one by one, but cannot list its organization's
    # (docs/github-behaviour.md#actions-tokens).
    "actions": TokenRules(
        ACTIONS_RATE_LIMIT,
        scoped=False,
        refused={"user": INTEGRATION_REFUSED},
        no_access=INTEGRATION_REFUSED,
        lists_org_packages=False,
    ),
}


@dataclass(frozen=True)
class Token:
    login: str  # its user; for an Actions token, the bot
    scopes: tuple[str, ...]  # classic tokens only
    kind: TokenKind = "classic"
    acts_for: str | None = None  # an Actions token: the workflow repository's owner, whose packages it manages

    @property
    def rules(self) -> TokenRules:
        return TOKEN_RULES[self.kind]

    def require(self, api: Api, scopes: Iterable[str] = (), action: str = "") -> None:
        """GitHub's 403 when this kind of token cannot use `api`, or a classic token lacks a scope for `action`."""
        refusal = self.rules.refused.get(api)
        if refusal is not None:
            raise SandboxError(403, refusal)
        for scope in scopes:
            if not self.has_scope(scope):
                raise SandboxError(403, f"You need at least {scope} scope to {action}.")

    def has_scope(self, scope: str) -> bool:
        # Only classic tokens have scopes; what the other kinds may do is decided package by package.
        return not self.rules.scoped or scope in self.scopes

    def administers(self, package: Package) -> bool:
        if self.acts_for is not None:
            return package.owner.login.lower() == self.acts_for.lower()
        return package.owner.administered_by(self.login)

    def sees(self, package: Package) -> bool:
        return package.visibility == "public" or self.administers(package)

    def require_admin(self, package: Package) -> None:
        if not self.administers(package):
            raise SandboxError(403, self.rules.no_access or "You do not have admin access to this package.")


@dataclass
class World:
    """Everything a reset rebuilds, and the lookups routes make in it (the caller holds the state's lock)."""

    owners: dict[str, Owner]  # by lower-case login
    packages: list[Package]
    tokens: dict[str, Token]

    def owner_or_new_user(self, login: str) -> Owner:
        key = login.lower()
        if key not in self.owners:
            self.owners[key] = Owner(login, 10_000_000 + zlib.crc32(key.encode()) % 80_000_000, "User")
        return self.owners[key]

    def add_package(
        self, owner: str, package_type: str, name: str, versions: int, visibility: str, now: datetime
    ) -> Package:
        """What SandboxState.add_package adds, once it has checked the arguments."""
        found = self.owner_or_new_user(owner)
        if any(
            p.owner is found and p.package_type == package_type and p.name == name and p.deleted_at is None
            for p in self.packages
        ):
            raise ValueError(f"{found.login} already has an active {package_type} package {name!r}")
        image = package_type in ("container", "docker")
        # Ids above every existing one keep them unique; images' ids exceed 2**31 like GitHub's today.
        first_id = max((v.id for p in self.packages for v in p.versions), default=0) + 1
        first_id = max(first_id, 2**31 + 1) if image else first_id
        created = generated_versions(f"{found.login}/{name}", image, first_id, versions, now)
        package = Package(
            max((p.id for p in self.packages), default=0) + 1,
            name,
            package_type,
            found,
            "public" if visibility == "public" else "private",
            created_at=created[0].created_at,
            updated_at=now,
            versions=created,
        )
        self.packages.append(package)
        return package

    def push(self, package: Package, manifest: Manifest, tags: tuple[str, ...], now: datetime) -> Version:
        """What `docker push` or `oras push` does: a manifest not in the package becomes a new version (the newest
        id), one already in it only gains `tags`; a tag lives on one version, so pushing it moves it off others."""
        active = package.active_versions()
        for version in active:
            if version.name != manifest.digest and set(tags) & set(version.tags):
                version.tags = tuple(tag for tag in version.tags if tag not in tags)
        found = next((v for v in active if v.name == manifest.digest), None)
        if found is None:
            found = image_version(max(v.id for p in self.packages for v in p.versions) + 1, manifest, now, tags)
            package.versions.append(found)
        else:
            found.tags = (*found.tags, *(tag for tag in tags if tag not in found.tags))
        package.updated_at = now
        return found

    def owner(self, viewer: Token, ref: OwnerRef) -> Owner:
        if ref.kind == "user":
            viewer.require("user")
        login = viewer.login if ref.kind == "user" else (ref.name or "")
        owner = self.owners.get(login.lower())
        wanted = "Organization" if ref.kind == "org" else "User"
        if owner is None or owner.type != wanted:
            raise SandboxError(404, "Not Found")
        return owner

    def public_owner(self, ref: OwnerRef) -> Owner:
        """The organization (`/orgs/{org}`) or account (`/users/{username}`: a user or an organization, as on
        GitHub) a login names, which any token may read."""
        owner = self.owners.get((ref.name or "").lower())
        if owner is None or (ref.kind == "org" and owner.type != "Organization"):
            raise SandboxError(404, "Not Found")
        return owner

    def active_package(self, viewer: Token, ref: OwnerRef, package_type: str, name: str) -> Package:
        owner = self.owner(viewer, ref)
        for p in self.packages:
            if p.owner is owner and p.package_type == package_type and p.name == name and p.deleted_at is None:
                if viewer.sees(p):
                    return p
                if viewer.rules.no_access is not None:
                    raise SandboxError(403, viewer.rules.no_access)
        # GitHub answers 404, not 403, for private packages a user may not see.
        raise SandboxError(404, "Package not found.")

    def image(self, viewer: Token, repository: str) -> Package:
        """The active container package a registry repository ("<owner>/<package name>") names."""
        owner, _, name = repository.partition("/")
        for p in self.packages:
            if (
                p.package_type == "container"
                and p.deleted_at is None
                and p.name == name
                and p.owner.login.lower() == owner.lower()
            ):
                if not viewer.sees(p):
                    raise RegistryError(403, "DENIED", "denied")
                return p
        raise RegistryError(404, "NAME_UNKNOWN", "repository name not known to registry")


@dataclass(frozen=True)
class OwnerRef:
    """Whose namespace a route addresses: /user, /orgs/{name} or /users/{name}."""

    kind: OwnerKind
    name: str | None = None


@dataclass(frozen=True)
class RateLimit:
    limit: int
    used: int
    reset: int  # epoch seconds
    resource: str = "core"

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def to_json(self) -> dict[str, int | str]:
        """As GET /rate_limit shows it."""
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "reset": self.reset,
            "used": self.used,
            "resource": self.resource,
        }

    def headers(self) -> dict[str, str]:
        return {f"X-RateLimit-{key.title()}": str(value) for key, value in self.to_json().items()}


def generated_versions(seed: str, image: bool, first_id: int, count: int, now: datetime) -> list[Version]:
    """What add_package publishes: `count` versions, oldest first and one hour apart, the newest at `now`."""
    created: list[Version] = []
    for i in range(count):
        moment = now - timedelta(hours=count - 1 - i)
        if image:
            tags = (f"v1.{i // 10}",) if i % 10 == 0 else ()
            created.append(image_version(first_id + i, oci.image(f"{seed}:{i}"), moment, tags))
        else:
            created.append(Version(first_id + i, f"1.0.{i}", moment, moment))
    return created


WorldFactory = Callable[[datetime], World]
