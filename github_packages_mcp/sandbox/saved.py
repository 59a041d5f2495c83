"""The sandbox world saved on disk, so that every sandbox on one machine holds the same world: a version deleted
through one `call ... --sandbox` stays deleted in the next command, and in a sandbox served meanwhile.

Only how the world differs from freshly built demo data is saved, as one small JSON file: the epoch the demo data
is dated from (clock.py), and the deletion time of every package and version, by id, that differs from the demo
data's (null: active again, after a restore). Several processes may share the file at once (the MCP Inspector
starts one server per call; an MCP client may serve `--sandbox` while a person runs `call ... --sandbox`), so a
change is a read-modify-write under an inter-process lock, and a sandbox re-reads the file when it changed since it
last looked. The lock is flock(2) on a lock file beside it; Windows has no flock, so there it is best effort: two
processes changing the world at the same moment may lose one of the changes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Protocol

from github_packages_mcp.sandbox.clock import demo_epoch
from github_packages_mcp.sandbox.model import World, WorldFactory

if sys.platform != "win32":
    import fcntl

__all__ = ["Changes", "SavedWorld"]

log = logging.getLogger(__name__)

FORMAT: Final = "github-packages-mcp sandbox world"
FORMAT_VERSION: Final = 1
FILE_NAME: Final = "world.json"
LOCK_NAME: Final = "world.lock"
NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)

DeletionTimes = Mapping[int, datetime | None]  # by id: when it was deleted; None: it is active


@dataclass(frozen=True)
class Changes:
    """How a world differs from the demo data built from `epoch`: the deletion times of the packages and versions
    whose deletion time is not the demo data's."""

    epoch: datetime
    packages: DeletionTimes = field(default_factory=dict)
    versions: DeletionTimes = field(default_factory=dict)

    @classmethod
    def fresh(cls, now: datetime) -> Changes:
        """No changes, to demo data dated from `now`'s epoch: a reset."""
        return cls(demo_epoch(now))

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "epoch": self.epoch.isoformat(),
                "packages": _times_to_json(self.packages),
                "versions": _times_to_json(self.versions),
            },
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Changes:
        """Raises ValueError for anything this module did not write."""
        try:
            content = json.loads(data)  # a ValueError too if it is not JSON, or not UTF-8
            kind = (content.get("format"), content.get("version")) if isinstance(content, dict) else None
            if kind != (FORMAT, FORMAT_VERSION):
                raise ValueError(f"not a {FORMAT}, version {FORMAT_VERSION}")
            return cls(
                _time(content["epoch"]), _times_from_json(content["packages"]), _times_from_json(content["versions"])
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a {FORMAT}: {exc!r}") from None


def _times_to_json(times: DeletionTimes) -> dict[str, str | None]:
    return {str(key): None if moment is None else moment.isoformat() for key, moment in sorted(times.items())}


def _times_from_json(value: Any) -> dict[int, datetime | None]:
    if not isinstance(value, dict):
        raise ValueError("deletion times are not an object")
    return {int(key): None if moment is None else _time(moment) for key, moment in value.items()}


def _time(value: Any) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return moment


class _Deletable(Protocol):
    id: int
    deleted_at: datetime | None


class _Baseline:
    """A world as it was built from demo data: what tells its changes apart, and what saved changes apply to."""

    def __init__(self, world: World, epoch: datetime) -> None:
        self.world = world
        self.epoch = epoch
        # Only what the demo data holds: packages added later (through the control API) are never saved.
        self._packages: dict[int, _Deletable] = {p.id: p for p in world.packages}
        self._versions: dict[int, _Deletable] = {v.id: v for p in world.packages for v in p.versions}
        self._built_packages = {key: item.deleted_at for key, item in self._packages.items()}
        self._built_versions = {key: item.deleted_at for key, item in self._versions.items()}

    def changes(self) -> Changes:
        return Changes(
            self.epoch,
            _differences(self._packages, self._built_packages),
            _differences(self._versions, self._built_versions),
        )

    def apply(self, changes: Changes) -> None:
        _set_times(self._packages, self._built_packages, changes.packages)
        _set_times(self._versions, self._built_versions, changes.versions)


def _differences(items: Mapping[int, _Deletable], built: DeletionTimes) -> dict[int, datetime | None]:
    return {key: item.deleted_at for key, item in items.items() if item.deleted_at != built[key]}


def _set_times(items: Mapping[int, _Deletable], built: DeletionTimes, changed: DeletionTimes) -> None:
    for key, item in items.items():  # ids the demo data does not hold are ignored
        item.deleted_at = changed.get(key, built[key])


class SavedWorld:
    """The file one SandboxState keeps its world's changes in (mode 0600, in a 0700 directory), and the world it
    last built from it. Other processes may share the file, each through a SavedWorld of its own.

    The caller serialises the use of one object (SandboxState holds its lock).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self._seen: tuple[int, int, int] | None = None  # the file as last read or written: inode, mtime, size
        self._baseline: _Baseline | None = None

    def changed(self) -> bool:
        """Whether the file is not the one last read or written here (one stat, no read)."""
        return self._stamp() != self._seen

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the inter-process lock (flock; none on Windows) for a read-modify-write of the file."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | NOFOLLOW, 0o600)
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # which releases the lock

    def load(self, factory: WorldFactory, now: datetime) -> World:
        """The saved world (hold `locked()`): the one last loaded, changed in place, when the file's epoch is the
        same (so what the control API added to it stays), else one newly built by `factory`. Without a usable
        file, fresh demo data dated from `now`, saved at once so that every process dates it the same."""
        changes = self._read()
        if changes is None:
            changes = Changes.fresh(now)
            self._write(changes)
        if self._baseline is None or self._baseline.epoch != changes.epoch:
            self._baseline = _Baseline(factory(changes.epoch), changes.epoch)
        self._baseline.apply(changes)
        return self._baseline.world

    def save(self) -> None:
        """Write how the world last loaded differs from its demo data (hold `locked()`)."""
        if self._baseline is None:
            raise RuntimeError("load the saved world before saving it")
        self._write(self._baseline.changes())

    def reset(self, now: datetime) -> None:
        """Save fresh demo data dated from `now`'s epoch; the next `load` builds the world anew."""
        with self.locked():
            self._write(Changes.fresh(now))
        self._baseline = None

    def _read(self) -> Changes | None:
        """The saved changes; None when there is no file, or it cannot be used (logged): then the demo data."""
        try:
            with self.path.open("rb") as file:
                self._seen = _stamp_of(os.fstat(file.fileno()))
                data = file.read()
        except FileNotFoundError:
            self._seen = None
            return None
        except OSError as exc:
            self._seen = self._stamp()  # warn once, not on every request
            log.warning("cannot read the saved sandbox world %s (%s): using fresh demo data", self.path, exc)
            return None
        try:
            return Changes.from_json(data)
        except ValueError as exc:
            log.warning("the saved sandbox world %s is not usable (%s): using fresh demo data", self.path, exc)
            return None

    def _write(self, changes: Changes) -> None:
        """Replace the file atomically: a reader sees the old file or the new one, never a part."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.directory / f".{FILE_NAME}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(changes.to_json())
                file.flush()
                stamp = _stamp_of(os.fstat(file.fileno()))
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._seen = stamp

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            return _stamp_of(self.path.stat())
        except OSError:
            return None


def _stamp_of(status: os.stat_result) -> tuple[int, int, int]:
    # A write makes a new file (then renamed), so its inode differs from the file it replaces.
    return status.st_ino, status.st_mtime_ns, status.st_size
