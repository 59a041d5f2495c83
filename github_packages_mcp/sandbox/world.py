"""The sandbox's live world (SandboxState) and GitHub's Packages rules as operations on it (no HTTP here).

Also the log of requests it received. The clock it runs on is in clock.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Unpack

from github_packages_mcp.sandbox import oci
from github_packages_mcp.sandbox.clock import Clock, demo_epoch
from github_packages_mcp.sandbox.faults import Faults
from github_packages_mcp.sandbox.model import (
    DOWNLOAD_LIMIT,
    INVALID_ARGUMENT,
    PACKAGE_TYPES,
    RATE_LIMIT,
    RATE_WINDOW,
    RESTORE_WINDOW,
    VERSION_STATES,
    VISIBILITY_FILTERS,
    Owner,
    OwnerRef,
    Package,
    RateLimit,
    SandboxError,
    Token,
    TokenKind,
    Version,
    World,
    WorldFactory,
    newest_first,
    too_popular,
)
from github_packages_mcp.sandbox.oci import Manifest
from github_packages_mcp.sandbox.saved import SavedWorld
from github_packages_mcp.sandbox.switches import SwitchChanges, Switches

logger = logging.getLogger(__name__)

__all__ = ["RecordedRequest", "SandboxState"]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the sandbox received it (the credential is never kept)."""

    method: str
    raw_path: str
    query: str
    headers: dict[str, str]
    status: int  # what the sandbox answered; 0 while in flight, or when the connection broke before handling
    broken: bool = False  # the connection broke before the response was complete
    received_at: float = field(default_factory=time.monotonic)  # when it arrived, for tests of pacing


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise SandboxError(400, f"The {name} parameter must be one of: {', '.join(allowed)}.")


class SandboxState:
    """The whole sandbox world. Public methods take `lock`, so other threads may use them too.

    `switches` are where it departs from GitHub's observed behaviour (by default it does not); a reset restores them.

    Without `saved` the world lives in memory only. With it, the packages and versions the demo data holds, and their
    deletes and restores, are shared through its file with every process using it (saved.py): `sync` takes on
    what others changed, each delete and restore is made on the latest saved world and saved, and a reset saves
    fresh demo data. What the control API adds or sets (tokens, packages, faults, switches, rate limits, the
    clock's offset) stays in this process's memory only, and a reset elsewhere that moves the demo data's epoch
    drops it.
    """

    def __init__(
        self,
        world_factory: WorldFactory,
        clock: Clock | None = None,
        *,
        switches: Switches | None = None,
        saved: SavedWorld | None = None,
    ) -> None:
        self.clock = clock or Clock()
        # Re-entrant so the app can hold it around a handler and its serialization.
        self.lock = threading.RLock()
        self._factory = world_factory
        self._saved = saved
        self._world = self._open_saved(saved) if saved is not None else world_factory(demo_epoch(self.clock.now()))
        self._rate: dict[str, tuple[datetime, int]] = {}  # token -> (end of its window, requests used)
        self.requests: list[RecordedRequest] = []
        self.faults = Faults(self.lock)
        self._in_flight = 0
        self._max_in_flight = 0
        # Bumped by every change to the world; keys the sorted-versions cache that big packages page through.
        self._revision = 0
        self._sorted: dict[tuple[int, int], list[Version]] = {}
        self._registry_available = True
        self._default_switches = self._switches = switches or Switches()

    def reset(self) -> None:
        """Back to a fresh world: clock, packages, tokens, rate limits, faults, switches and recorded requests."""
        with self.lock:
            self.clock.reset()
            if self._saved is None:
                self._world = self._factory(demo_epoch(self.clock.now()))
            else:
                self._saved.reset(self.clock.now())
                with self._saved.locked():
                    self._world = self._saved.load(self._factory, self.clock.now())
            self._revision += 1
            self._rate.clear()
            self.requests.clear()
            self.faults.clear()
            self._registry_available = True
            self._switches = self._default_switches
            self._max_in_flight = self._in_flight  # requests still running keep counting

    # --- the saved world --------------------------------------------------------------------------------------------

    def _open_saved(self, saved: SavedWorld) -> World:
        try:
            with saved.locked():
                return saved.load(self._factory, self.clock.now())
        except OSError as exc:  # e.g. a state directory that cannot be written: the world stays in memory
            logger.warning("cannot use the saved sandbox world in %s (%s): keeping it in memory", saved.directory, exc)
            self._saved = None
            return self._factory(demo_epoch(self.clock.now()))

    def sync(self) -> None:
        """Take on what other processes saved since this one last looked (with a saved world; one stat if nothing)."""
        with self.lock:
            if self._saved is not None and self._saved.changed():
                with self._saved.locked():
                    self._world = self._saved.load(self._factory, self.clock.now())
                self._revision += 1

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Around one change of the world, under `lock`: with a saved world, made on its latest content while holding
        its inter-process lock, then saved (if that fails, the world goes back to what is saved)."""
        if self._saved is None:
            yield
        else:
            with self._saved.locked():
                self._world = self._saved.load(self._factory, self.clock.now())  # always read: no change is lost
                yield
                try:
                    self._saved.save()
                except OSError:
                    self._world = self._saved.load(self._factory, self.clock.now())
                    raise
        self._revision += 1

    # --- load -----------------------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """API requests being handled right now (latency included)."""
        with self.lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The largest `in_flight` seen since the last reset."""
        with self.lock:
            return self._max_in_flight

    @contextmanager
    def track_request(self) -> Iterator[None]:
        """Count one API request as in flight for the block's duration."""
        with self.lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self.lock:
                self._in_flight -= 1

    def add_token(
        self, token: str, login: str, scopes: Iterable[str], *, kind: TokenKind = "classic", acts_for: str | None = None
    ) -> None:
        """Register a token; an unknown login becomes a user without packages (see Token for `kind`, `acts_for`)."""
        with self.lock:
            owner = self._world.owner_or_new_user(login)
            self._world.tokens[token] = Token(owner.login, tuple(dict.fromkeys(scopes)), kind, acts_for)

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def update_record(self, old: RecordedRequest, new: RecordedRequest) -> None:
        """Replace a request recorded on arrival once it is answered (gone after a reset: then nothing happens)."""
        with self.lock:
            for index in range(len(self.requests) - 1, -1, -1):  # recent requests sit at the end
                if self.requests[index] is old:
                    self.requests[index] = new
                    return

    def package(self, owner: str, package_type: str, name: str, *, deleted: bool = False) -> Package:
        """Look a package up directly (for tests): the active one, or the latest deleted one."""
        with self.lock:
            found = [
                p
                for p in self._world.packages
                if p.owner.login.lower() == owner.lower()
                and p.package_type == package_type
                and p.name == name
                and (p.deleted_at is not None) == deleted
            ]
            if not found:
                raise KeyError((owner, package_type, name))
            return max(found, key=lambda p: p.deleted_at or p.created_at)

    def add_package(
        self, owner: str, package_type: str, name: str, *, versions: int, visibility: str = "private"
    ) -> Package:
        """Add an active package with `versions` generated versions, the newest published now (for load tests).

        Images get manifests and their digests as names, a tag on every 10th version and ids above 2**31;
        other types get "1.0.N" names.
        The package lasts until the next reset, like everything else in the world.
        """
        if package_type not in PACKAGE_TYPES:
            raise ValueError(f"package_type must be one of: {', '.join(PACKAGE_TYPES)}")
        if visibility not in ("public", "private"):
            raise ValueError("visibility must be public or private")
        if versions < 1:
            raise ValueError("a package has at least one version")
        with self.lock:
            package = self._world.add_package(owner, package_type, name, versions, visibility, self.clock.now())
            self._revision += 1
            return package

    def push(self, owner: str, name: str, manifest: Manifest, tags: tuple[str, ...] = ()) -> Version:
        """`docker push` to an active container package (World.push); like add_package, until the next reset."""
        with self.lock:
            pushed = self._world.push(self.package(owner, "container", name), manifest, tags, self.clock.now())
            self._revision += 1
            return pushed

    # --- authentication -------------------------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> Token:
        if token is None:
            raise SandboxError(401, "Requires authentication")
        found = self.lookup_token(token)
        if found is None:
            raise SandboxError(401, "Bad credentials")
        return found

    def lookup_token(self, token: str) -> Token | None:
        with self.lock:
            return self._world.tokens.get(token)

    def has_token(self, token: str) -> bool:
        return self.lookup_token(token) is not None

    def rate_limit(self, token: str) -> RateLimit:
        """The token's primary quota right now, without counting a request."""
        with self.lock:
            end, used = self._window(token)
            return RateLimit(self._limit(token), used, int(end.timestamp()))

    def consume_rate_limit(self, token: str) -> RateLimit:
        """Count one request against the token's hourly window."""
        with self.lock:
            end, used = self._window(token)
            self._rate[token] = (end, used + 1)
            return RateLimit(self._limit(token), used + 1, int(end.timestamp()))

    def set_rate_limit(self, token: str, *, remaining: int, reset_in: float) -> None:
        """Set the token's primary quota: `remaining` requests until the window ends in `reset_in` seconds."""
        if reset_in < 0:
            raise ValueError("reset_in cannot be negative")
        with self.lock:
            limit = self._limit(token)
            if not 0 <= remaining <= limit:
                raise ValueError(f"remaining must be between 0 and {limit}")
            self._rate[token] = (self.clock.now() + timedelta(seconds=reset_in), limit - remaining)

    def _limit(self, token: str) -> int:
        found = self._world.tokens.get(token)
        return found.rules.rate_limit if found is not None else RATE_LIMIT

    def _window(self, token: str) -> tuple[datetime, int]:
        # A window starts with the first request after the previous one ended; the caller holds the lock.
        now = self.clock.now()
        end, used = self._rate.get(token, (now, 0))
        return (now + RATE_WINDOW, 0) if now >= end else (end, used)

    def user_id(self, login: str) -> int:
        """The numeric id of an owner (every token's login has one)."""
        with self.lock:
            return self._world.owners[login.lower()].id

    def account(self, viewer: Token) -> Owner:
        """The user a token belongs to (GET /user)."""
        viewer.require("user")
        with self.lock:
            return self._world.owners[viewer.login.lower()]

    def public_owner(self, ref: OwnerRef) -> Owner:
        """The organization or account an /orgs/{org} or /users/{username} request names (`World.public_owner`)."""
        with self.lock:
            return self._world.public_owner(ref)

    # --- packages -------------------------------------------------------------------------------------------------

    def list_packages(
        self, viewer: Token, ref: OwnerRef, package_type: str | None, visibility: str | None
    ) -> list[Package]:
        _choice("package_type", package_type, PACKAGE_TYPES)
        if visibility is not None:
            _choice("visibility", visibility, VISIBILITY_FILTERS)
        with self.lock:
            owner = self._world.owner(viewer, ref)
            # docs/github-behaviour.md#actions-tokens
            if ref.kind == "org" and not (
                viewer.rules.lists_org_packages or self._switches.actions_token_lists_org_packages
            ):
                raise SandboxError(400, INVALID_ARGUMENT)
            found = [
                p
                for p in self._world.packages
                if p.owner is owner
                and p.package_type == package_type
                and p.deleted_at is None
                and viewer.sees(p)
                and (visibility is None or p.matches_visibility(visibility))
            ]
            return sorted(found, key=lambda p: p.name)

    def docker_conflicts(self, viewer: Token, ref: OwnerRef) -> list[Package]:
        with self.lock:
            owner = self._world.owner(viewer, ref)
            found = [
                p
                for p in self._world.packages
                if p.owner is owner
                and p.package_type == "docker"
                and p.migration_conflict
                and p.deleted_at is None
                and viewer.sees(p)
            ]
            return sorted(found, key=lambda p: p.name)

    def get_package(self, viewer: Token, ref: OwnerRef, package_type: str, name: str) -> Package:
        with self.lock:
            return self._world.active_package(viewer, ref, package_type, name)

    def delete_package(self, viewer: Token, ref: OwnerRef, package_type: str, name: str) -> None:
        with self.lock, self._changing():
            package = self._world.active_package(viewer, ref, package_type, name)
            self._require_admin_to_delete(viewer, package)
            if package.visibility == "public" and package.download_count > DOWNLOAD_LIMIT:
                raise SandboxError(400, too_popular("packages"))
            package.deleted_at = self.clock.now()

    def restore_package(self, viewer: Token, ref: OwnerRef, package_type: str, name: str) -> None:
        with self.lock, self._changing():
            owner = self._world.owner(viewer, ref)
            now = self.clock.now()
            same_name = [
                p
                for p in self._world.packages
                if p.owner is owner and p.package_type == package_type and p.name == name
            ]
            restorable = [
                p
                for p in same_name
                if p.deleted_at is not None and now - p.deleted_at < RESTORE_WINDOW and viewer.sees(p)
            ]
            if not restorable:
                raise SandboxError(404, "Package not found.")
            package = max(restorable, key=lambda p: p.deleted_at or now)
            viewer.require_admin(package)
            # Our best model of GitHub's undocumented behaviour (restore documents only 204/401/403/404).
            if any(p.deleted_at is None for p in same_name):
                raise SandboxError(
                    403, "The package namespace has been reused by a new package; it cannot be restored."
                )
            package.deleted_at = None

    # --- versions -------------------------------------------------------------------------------------------------

    def list_versions(
        self, viewer: Token, ref: OwnerRef, package_type: str, name: str, state: str | None
    ) -> tuple[Package, list[Version]]:
        state = state or "active"
        _choice("state", state, VERSION_STATES)
        with self.lock:
            package = self._world.active_package(viewer, ref, package_type, name)
            if state == "active":
                key = (id(package), self._revision)
                if key not in self._sorted:
                    self._sorted = {key: newest_first(package.active_versions())}  # the latest listing only
                return package, self._sorted[key]
            # Our best model of GitHub: deleted versions are shown to those who could restore them, admins.
            viewer.require_admin(package)
            now = self.clock.now()
            deleted = [v for v in package.versions if v.deleted_at is not None and now - v.deleted_at < RESTORE_WINDOW]
            return package, newest_first(deleted)

    def get_version(
        self, viewer: Token, ref: OwnerRef, package_type: str, name: str, version_id: int
    ) -> tuple[Package, Version]:
        with self.lock:
            package = self._world.active_package(viewer, ref, package_type, name)
            return package, package.active_version(version_id)

    def delete_version(self, viewer: Token, ref: OwnerRef, package_type: str, name: str, version_id: int) -> None:
        with self.lock, self._changing():
            package = self._world.active_package(viewer, ref, package_type, name)
            self._require_admin_to_delete(viewer, package)
            version = package.active_version(version_id)
            if package.visibility == "public" and version.download_count > DOWNLOAD_LIMIT:
                raise SandboxError(400, too_popular("package versions"))
            last = package.package_type != "container" and package.active_versions() == [version]
            if last and self._switches.last_version == "delete_package":  # docs/github-behaviour.md#last-version
                version.deleted_at = package.deleted_at = self.clock.now()
                return
            package.require_deletable(version)
            version.deleted_at = self.clock.now()

    def _require_admin_to_delete(self, viewer: Token, package: Package) -> None:
        """A user's token that sees the package but may not administer it gets 404 for a delete, as on GitHub, or
        403 with the `delete_without_admin` switch (docs/github-behaviour.md#delete-without-admin)."""
        hidden = self._switches.delete_without_admin == "not_found" and viewer.rules.no_access is None
        if hidden and not viewer.administers(package):
            raise SandboxError(404, "Package not found.")
        viewer.require_admin(package)

    def restore_version(self, viewer: Token, ref: OwnerRef, package_type: str, name: str, version_id: int) -> None:
        with self.lock, self._changing():
            package = self._world.active_package(viewer, ref, package_type, name)
            viewer.require_admin(package)
            now = self.clock.now()
            version = next((v for v in package.versions if v.id == version_id and v.deleted_at is not None), None)
            if version is None or version.deleted_at is None or now - version.deleted_at >= RESTORE_WINDOW:
                raise SandboxError(404, "Package version not found.")
            # Our best model of GitHub's undocumented behaviour: a republished version name blocks the restore
            # (container versions are content digests, so they cannot clash).
            if package.package_type != "container" and any(v.name == version.name for v in package.active_versions()):
                raise SandboxError(
                    403, "A version with this name was published after the deletion; it cannot be restored."
                )
            version.deleted_at = None

    # --- container registry ---------------------------------------------------------------------------------------

    @property
    def registry_available(self) -> bool:
        with self.lock:
            return self._registry_available

    def set_registry_available(self, available: bool) -> None:
        """Make every registry request answer 503 (False) or work again (True); a reset makes it available."""
        with self.lock:
            self._registry_available = available

    @property
    def switches(self) -> Switches:
        with self.lock:
            return self._switches

    def set_switches(self, **changes: Unpack[SwitchChanges]) -> Switches:
        """Change the switches given (see Switches), keep the others; a reset restores the state's defaults."""
        return self.update_switches(changes)

    def update_switches(self, changes: object) -> Switches:
        """Apply the JSON object POST /_sandbox/switches sends; ValueError leaves the switches unchanged."""
        with self.lock:
            self._switches = self._switches.updated(changes)
            return self._switches

    def image(self, viewer: Token, repository: str) -> Package:
        """The container package a registry repository names, if `viewer` may pull it (else a RegistryError)."""
        with self.lock:
            return self._world.image(viewer, repository)

    def manifest(self, viewer: Token, repository: str, reference: str) -> Manifest:
        """The manifest of the active version a registry reference (a digest or a tag) names in `repository`."""
        with self.lock:
            return self._world.image(viewer, repository).manifest(reference)

    def referrers(self, viewer: Token, repository: str, digest: str) -> list[oci.Json]:
        """Descriptors of the active manifests in `repository` whose subject is `digest`, newest first."""
        with self.lock:
            return self._world.image(viewer, repository).referrers(digest)
