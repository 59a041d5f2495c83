"""Where the manifest cache (github/manifests.py) keeps manifests: two peers of its `ManifestStore`.

- `ManifestFiles`: one file per manifest, `<journal_dir>/manifests/<key>`, private like plans (directory 0700,
  files 0600, written atomically, no symlink followed). At most `max_entries` files: when a process has written
  past the bound, the least recently used (by file time, which a hit renews) go until 90% of it is left.
  Counting takes a scan of the directory, so it is done on the first write and then only when past the bound.
- `SharedManifests`: one key per manifest in the replicas' shared records (state/redis.py), expiring
  `KEPT_DAYS` after it was written.

`manifest_store` picks one, as plans and the journal do: the shared records when there are any. Keys are what
the cache gives, 64 hex digits, checked here too, so no key ever names a path outside the directory.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Final

import anyio.to_thread

from github_packages_mcp.github.manifests import ManifestStore
from github_packages_mcp.retention.files import (
    DAY,
    SharedRecords,
    files,
    mtime,
    private_directory,
    read_bytes,
    remove,
    write_new,
)

__all__ = ["KEPT_DAYS", "MAX_ENTRIES", "ManifestFiles", "SharedManifests", "manifest_store"]

MAX_ENTRIES: Final = 50_000  # about 200 MB at a typical 4 KiB a manifest
KEPT_DAYS: Final = 90  # in the shared records; then a manifest is read once more
KEY: Final = re.compile(r"[0-9a-f]{64}")


def manifest_store(
    directory: Path, shared: SharedRecords | None, *, clock: Callable[[], float] = time.time
) -> ManifestStore:
    """The replicas' shared records when there are any, else files under `<directory>/manifests`."""
    if shared is not None:
        return SharedManifests(shared, clock=clock)
    return ManifestFiles(directory / "manifests", clock=clock)


class ManifestFiles:
    """Manifests as files in `directory`, at most about `max_entries` of them."""

    def __init__(
        self, directory: Path, *, clock: Callable[[], float] = time.time, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.directory = directory
        self._clock = clock
        self._max_entries = max(1, max_entries)
        self._count: int | None = None  # files as last counted, plus those written since; None: not counted yet
        self._pruning = False

    async def get(self, key: str) -> bytes | None:
        """The bytes kept under `key`, or None.

        Raises:
            OSError: If the file is there but cannot be read.
        """
        path = self._path(key)
        try:
            body = read_bytes(path)
        except FileNotFoundError:
            return None
        with suppress(OSError, NotImplementedError):  # a read-only directory still answers
            now = self._clock()
            os.utime(path, (now, now), follow_symlinks=False)  # used now: pruned last
        return body

    async def put(self, key: str, body: bytes) -> None:
        """Keep `body` under `key` (atomically: a reader sees all of it or nothing), then prune if past the bound.

        Raises:
            OSError: If it cannot be written.
        """
        path = self._path(key)
        private_directory(self.directory)
        temporary = path.with_name(f".{key}.{secrets.token_hex(4)}.tmp")
        write_new(temporary, body, self._clock())
        os.replace(temporary, path)
        if self._count is not None:
            self._count += 1
        if (self._count is None or self._count > self._max_entries) and not self._pruning:
            self._pruning = True
            try:
                self._count = await anyio.to_thread.run_sync(self.prune)  # a scan of up to max_entries files
            finally:
                self._pruning = False

    def prune(self) -> int:
        """Past `max_entries` files, remove the least recently used until 90% of the bound is left; remove
        temporary files a failed write left a day ago. How many files are left."""
        entries = files(self.directory, "[0-9a-f]*")
        excess = len(entries) - self._max_entries * 9 // 10 if len(entries) > self._max_entries else 0
        for path in sorted(entries, key=mtime)[:excess]:
            remove(path)
        now = self._clock()
        for temporary in files(self.directory, ".*.tmp"):
            if mtime(temporary) + DAY < now:
                remove(temporary)
        return len(entries) - excess

    def _path(self, key: str) -> Path:
        return self.directory / _checked(key)


class SharedManifests:
    """Manifests in the replicas' shared records, one key each, expiring `KEPT_DAYS` after they were written."""

    def __init__(self, shared: SharedRecords, *, clock: Callable[[], float] = time.time) -> None:
        self._shared = shared
        self._clock = clock

    async def get(self, key: str) -> bytes | None:
        """The bytes kept under `key`, or None.

        Raises:
            StateUnavailable: If the shared records cannot answer.
        """
        return await self._shared.get(f"manifest:{_checked(key)}")

    async def put(self, key: str, body: bytes) -> None:
        """Keep `body` under `key` for `KEPT_DAYS`.

        Raises:
            StateUnavailable: If the shared records cannot answer.
        """
        await self._shared.put(f"manifest:{_checked(key)}", body, self._clock() + KEPT_DAYS * DAY)


def _checked(key: str) -> str:
    if not KEY.fullmatch(key):
        raise ValueError(f"not a manifest cache key: {key[:80]!r}")
    return key
