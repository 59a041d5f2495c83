"""The state of a process alone (no `state_url`): files under journal_dir, private (state/files.py), shared by every
process that uses the directory (the Inspector starts one per call), and pruned as they age, lazily.

- plans: `plans/<plan_id>.json`, one line each, written atomically and dated when saved; they go
  `plans_kept_seconds` after that (checked on saving a plan, and on the first read and then hourly);
- the journal: `journal/<month>.jsonl`, one line per act, appended in one write; a month's file goes 35 days after
  its month ends, a file of an older format (one plan's lines) 35 days after its last line;
- manifests: `manifests/<key>`, at most `max_entries` files; past the bound, the least recently used (by file time,
  which a hit renews) go until 90% of it is left. Counting takes a scan of the directory, so it is done on the first
  write and then only when past the bound;
- spent confirmation tokens: `spent/<nonce>`, holding the spending's record, dated the token's expiry; creating the
  file is the spending (O_EXCL: one process wins); expired files go at most once a minute;
- pacing: nothing beyond the Pacer's own, and no other replica to announce a cancellation to.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from pathlib import Path
from typing import Final

import anyio
import anyio.to_thread

from github_packages_mcp.github.pacing import UNSHARED
from github_packages_mcp.state.files import (
    DAY,
    append_line,
    disk,
    files,
    mtime,
    private_directory,
    read_bytes,
    remove,
    write_new,
)
from github_packages_mcp.state.peers import (
    JOURNAL_KEPT_DAYS,
    Position,
    journal_kept_until,
    manifest_key,
    plans_kept_seconds,
)

__all__ = ["MAX_ENTRIES", "FileLedger", "LocalJournal", "LocalPlans", "LocalState", "ManifestFiles", "forget_all"]

PRUNE_EVERY_SECONDS: Final = 3600.0  # plans and the journal
MAX_ENTRIES: Final = 50_000  # manifests: about 200 MB at a typical 4 KiB a manifest
MONTH_FILE: Final = re.compile(r"\d{4}-\d{2}\.jsonl")
_NONCE: Final = re.compile("[0-9a-f]{16}")


# The rooms of journal_dir that hold what was done and planned (the key beside them is not among them).
ROOMS: Final = ("plans", "journal", "spent", "manifests")


def forget_all(directory: Path) -> None:
    """Remove every plan, journal line, spent confirmation token and manifest under `directory` (journal_dir), as
    if nothing had been done there; the key stays, so that a process still running there goes on signing with the
    key the next one reads.

    Raises:
        OSError: If a file cannot be removed (those before it are gone).
    """
    for room in ROOMS:
        for path in files(directory / room, "*"):  # pathlib's * matches dot files too: failed writes' leftovers
            path.unlink(missing_ok=True)


class LocalState:
    """Everything under `directory` (journal_dir); `clock` (seconds since the epoch) dates and ages it."""

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time, plan_ttl_days: float = 7) -> None:
        self.plans = LocalPlans(directory, clock=clock, kept_seconds=plans_kept_seconds(plan_ttl_days))
        self.journal = LocalJournal(directory, clock=clock)
        self.manifests = ManifestFiles(directory / "manifests", clock=clock)
        self.ledger = FileLedger(directory, clock)
        self.pacing = UNSHARED
        self.cancellations = NoReplicas()

    async def aclose(self) -> None:
        pass  # every write is done when it returns


class LocalPlans:
    """Plans as files in `<directory>/plans`, each kept `kept_seconds` after it was saved."""

    def __init__(self, directory: Path, *, clock: Callable[[], float], kept_seconds: float) -> None:
        self.directory = directory / "plans"
        self._clock = clock
        self._kept_seconds = kept_seconds
        self._pruned_at: float | None = None

    def path(self, plan_id: str) -> Path:
        return self.directory / f"{plan_id}.json"

    async def put(self, plan_id: str, data: bytes) -> None:
        """Write the plan atomically (mode 0600), then prune what has expired."""
        path = self.path(plan_id)
        with disk("save the cleanup plan", path):
            private_directory(path.parent)
            temporary = path.with_name(f".{plan_id}.{secrets.token_hex(4)}.tmp")
            write_new(temporary, data, self._clock())
            os.replace(temporary, path)
        self.prune()

    async def get(self, plan_id: str) -> bytes | None:
        if self._pruned_at is None or self._clock() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self.prune()
        path = self.path(plan_id)
        with disk("read the cleanup plan", path):
            try:
                return read_bytes(path)
            except FileNotFoundError:
                return None

    def prune(self) -> None:
        """Remove plans `kept_seconds` after they were made, and temporary files a save left when it failed. Ages
        are the files' times, which are set from the clock."""
        now = self._clock()
        self._pruned_at = now
        for plan in files(self.directory, "*.json"):
            if mtime(plan) + self._kept_seconds < now:
                remove(plan)
        for temporary in files(self.directory, ".*.tmp"):
            if mtime(temporary) + DAY < now:
                remove(temporary)


class LocalJournal:
    """The journal's month files in `<directory>/journal`."""

    def __init__(self, directory: Path, *, clock: Callable[[], float]) -> None:
        self.directory = directory / "journal"
        self._clock = clock
        self._pruned_at: float | None = None

    async def append(self, month: str, line: bytes) -> None:
        path = self.directory / f"{month}.jsonl"
        with disk("write the journal", path):
            private_directory(self.directory)
            append_line(path, line + b"\n", self._clock())

    async def months(self) -> list[str]:
        """The month files there are, once what has expired is pruned (hourly)."""
        if self._pruned_at is None or self._clock() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self.prune()
        return [path.stem for path in files(self.directory, "*.jsonl") if MONTH_FILE.fullmatch(path.name)]

    async def lines(self, month: str, since: Position) -> tuple[list[str], Position]:
        """The file's complete lines from `since` (a byte offset in the file of that inode; another file of the
        same name is read from its start)."""
        path = self.directory / f"{month}.jsonl"
        with disk("read the journal", path):
            inode = os.stat(path, follow_symlinks=False).st_ino
            offset = since.offset if since.origin == inode else 0
            data = read_bytes(path, offset)
        complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
        return complete.decode("utf-8", errors="replace").splitlines(), Position(inode, offset + len(complete))

    def prune(self) -> None:
        """Remove month files 35 days after their month ended, and files of an older format 35 days after their
        last line. Ages are measured against the clock."""
        now = self._clock()
        self._pruned_at = now
        for path in files(self.directory, "*.jsonl"):
            # A file of an older format held one plan's lines; its age is its last line's.
            if MONTH_FILE.fullmatch(path.name):
                kept_until = journal_kept_until(path.stem)
            else:
                kept_until = mtime(path) + JOURNAL_KEPT_DAYS * DAY
            if kept_until < now:
                remove(path)


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
        path = self.directory / manifest_key(key)
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
        path = self.directory / manifest_key(key)
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


class FileLedger:
    """Spent tokens as files in `<directory>/spent/<nonce>`: a token spent before a restart, or by another process,
    stays spent; the directory holds about the tokens of the last confirmation_ttl_seconds."""

    PRUNE_EVERY_SECONDS = 60.0

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        self._directory = directory / "spent"
        self._clock = clock
        self._pruned_at = -self.PRUNE_EVERY_SECONDS

    async def spend_once(self, name: str, expires_at: float, record: bytes) -> bytes | None:
        """Raises:
        StoreUnavailable: If the spending cannot be recorded (the token is then not accepted).
        """
        if not _NONCE.fullmatch(name):
            raise ValueError("a token's nonce is hex")
        path = self._directory / name
        with disk("remember the spent confirmation token", path):
            private_directory(self._directory)
            self._prune()
            try:
                write_new(path, record, expires_at)
            except FileExistsError:
                try:
                    return read_bytes(path)
                except FileNotFoundError:
                    return b""  # pruned meanwhile: spent all the same
        return None

    def _prune(self) -> None:
        now = self._clock()
        if now - self._pruned_at < self.PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        for spent in files(self._directory, "*"):
            if mtime(spent) < now:  # dated its token's expiry: no token that old is accepted any more
                remove(spent)


class NoReplicas:
    """Cancellations of a process alone: within it, the SDK delivers them itself; there is nobody else to tell."""

    async def publish(self, channel: str, message: bytes) -> None:
        pass

    async def messages(self, channel: str) -> AsyncIterator[bytes]:
        await anyio.sleep_forever()  # nothing is ever announced
        yield b""  # pragma: no cover  (makes this a generator)
