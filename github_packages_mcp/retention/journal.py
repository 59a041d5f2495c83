"""The journal: every delete and restore this server sent to GitHub, whoever asked and through whichever tool.

One JSON line per act (who: the caller's token fingerprint and the MCP client; what: owner, type, package, version;
when; how it ended), appended as it happens, in month files: `<journal_dir>/journal/2026-12.jsonl`. Each line is
signed (`mac`: HMAC-SHA256 under the server's journal key), so a line that was changed, or written by anything but
this server, is ignored and counted, never acted on. A cleanup resumes from it and restores read it. A month's file
goes 35 days after the month ends: GitHub restores for 30 days. Replicas keep the same lines in lists of their
shared records instead (`state_url`), one per month, expiring alike.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from github_packages_mcp.github.catalogue import Owner, OwnerKind
from github_packages_mcp.github.models import PackageType, parse_time
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.retention.files import (
    DAY,
    SharedRecords,
    append_line,
    disk,
    files,
    mtime,
    private_directory,
    read_bytes,
    remove,
    signed,
    timestamp,
    verified,
)

__all__ = ["Actor", "Journal", "JournalEntry", "JournalRead", "JournalResult", "Subject"]

# "deleting" is written before a DELETE is sent, its outcome after: a delete is never sent unjournaled.
JournalResult = Literal["deleting", "deleted", "already_gone", "skipped", "failed", "restored", "restore_failed"]
JOURNAL_KEPT_DAYS: Final = 35  # GitHub restores a deleted version for 30 days; a margin after the month ends
MONTH_FILE: Final = re.compile(r"\d{4}-\d{2}\.jsonl")
PRUNE_EVERY_SECONDS: Final = 3600.0


class Subject(BaseModel):
    """What an act was on: a package (no `version_id`) or one of its versions."""

    model_config = ConfigDict(extra="forbid")

    owner_kind: OwnerKind
    owner_login: str | None = None
    package_type: PackageType
    package_name: str
    package_id: int | None = None  # known when the package was read before it was deleted
    version_id: int | None = None  # None: the whole package
    name: str | None = None  # the version's name (an image's digest)
    tags: list[str] | None = None
    deleted_with: int | None = None  # a package GitHub deleted along with its last version: that version's id

    @classmethod
    def of(cls, arguments: dict[str, Any], **known: Any) -> Subject:
        """The subject a catalogue operation's arguments name, with what else is `known` of it."""
        owner = Owner.of(arguments)
        return cls(
            owner_kind=owner.kind,
            owner_login=owner.login,
            package_type=arguments["package_type"],
            package_name=arguments["package_name"],
            version_id=arguments.get("package_version_id"),
            **known,
        )

    @property
    def owner(self) -> Owner:
        return Owner(self.owner_kind, self.owner_login)

    @property
    def key(self) -> tuple[str, str, str, str, int | None]:
        """What names the same package or version in every line (logins are case-insensitive on GitHub)."""
        login = (self.owner_login or "").lower()
        return self.owner_kind, login, self.package_type, self.package_name, self.version_id

    def arguments(self) -> dict[str, Any]:
        """The arguments that name it in a catalogue operation of its owner."""
        named = {**self.owner.arguments, "package_type": self.package_type, "package_name": self.package_name}
        return named if self.version_id is None else {**named, "package_version_id": self.version_id}

    def describe(self) -> str:
        package = f"{self.package_type} package {quoted(self.package_name)} {self.owner.owned_by()}"
        if self.version_id is None:
            return f"the {package}"
        return f"version {self.version_id}{f' ({quoted(self.name)})' if self.name else ''} of the {package}"


@dataclass(frozen=True)
class Actor:
    """Who acts: the caller's token fingerprint (identity_of), the MCP client that asked, and the tool."""

    caller: str
    tool: str
    client: str | None = None


class JournalEntry(Subject):
    time: str
    result: JournalResult
    caller: str
    tool: str
    client: str | None = None
    plan_id: str | None = None  # set when a cleanup plan's apply acted
    detail: str | None = None

    @property
    def moment(self) -> datetime:
        return parse_time(self.time)


@dataclass(frozen=True)
class JournalRead:
    entries: list[JournalEntry]  # oldest first
    unverified: int  # lines that are not well-formed or fail their signature: ignored


@dataclass
class _Month:
    """What was read of one month's lines: they only grow, so the next read starts where this one stopped (a byte
    offset in a file of this inode, or an index in a shared list)."""

    inode: int
    offset: int
    entries: list[JournalEntry] = field(default_factory=list)
    unverified: int = 0


class Journal:
    """The journal's month files under `<directory>/journal`, or its lists in the replicas' `shared` records;
    lines signed with `key()`."""

    def __init__(
        self,
        directory: Path,
        key: Callable[[], bytes],
        *,
        clock: Callable[[], float] = time.time,
        shared: SharedRecords | None = None,
    ) -> None:
        self.directory = directory / "journal"
        self._key = key
        self._clock = clock
        self._shared = shared
        self._read: dict[str, _Month] = {}
        self._pruned_at: float | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def file_name(self) -> str:
        """This month's file, relative to journal_dir: what results show (never the server's paths)."""
        return f"journal/{self.now():%Y-%m}.jsonl"

    async def record(
        self,
        actor: Actor,
        subject: Subject,
        result: JournalResult,
        detail: str | None = None,
        plan_id: str | None = None,
    ) -> JournalEntry:
        """Append one signed line for an act; it is kept (on disk, or in the shared records) when this returns."""
        entry = JournalEntry(
            **subject.model_dump(include=set(Subject.model_fields)),  # a JournalEntry is a Subject too
            time=timestamp(self.now()),
            result=result,
            caller=actor.caller,
            tool=actor.tool,
            client=actor.client,
            plan_id=plan_id,
            detail=detail,
        )
        line = signed(entry.model_dump(mode="json", exclude_none=True), self._key())
        month = entry.time[:7]
        if self._shared is not None:
            await self._shared.append(f"journal:{month}", line, _month_end(month) + JOURNAL_KEPT_DAYS * DAY)
            return entry
        path = self.directory / f"{month}.jsonl"
        with disk("write the journal", path):
            private_directory(self.directory)
            append_line(path, line + b"\n", self._clock())
        return entry

    async def read(self) -> JournalRead:
        """Every verified line, oldest first, and how many lines were ignored."""
        if self._shared is None:
            self._prune_now_and_then()
        entries: list[JournalEntry] = []
        unverified = 0
        months = await self._months()
        for name in months:
            month = await self._month(name)
            entries += month.entries
            unverified += month.unverified
        self._read = {name: month for name, month in self._read.items() if name in months}
        return JournalRead(sorted(entries, key=lambda entry: entry.time), unverified)

    def prune(self) -> None:
        """Remove month files 35 days after their month ended, and files of an older format 35 days after their
        last line. Ages are measured against the journal's clock. (Shared lists expire by themselves.)"""
        now = self._clock()
        self._pruned_at = now
        for path in files(self.directory, "*.jsonl"):
            # A file of an older format held one plan's lines; its age is its last line's.
            ended = _month_end(path.stem) if MONTH_FILE.fullmatch(path.name) else mtime(path)
            if ended + JOURNAL_KEPT_DAYS * DAY < now:
                remove(path)

    def _prune_now_and_then(self) -> None:
        if self._pruned_at is None or self._clock() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self.prune()

    async def _months(self) -> list[str]:
        if self._shared is None:
            return [path.stem for path in files(self.directory, "*.jsonl") if MONTH_FILE.fullmatch(path.name)]
        # Lists live at most 35 days past their month: this month's and the two before hold them all.
        year, month = self.now().year, self.now().month
        return [f"{year - (month - back <= 0)}-{(month - back - 1) % 12 + 1:02d}" for back in (2, 1, 0)]

    async def _month(self, name: str) -> _Month:
        if self._shared is not None:
            month = self._read.setdefault(name, _Month(0, 0))
            lines = [
                line.decode("utf-8", errors="replace")
                for line in await self._shared.lines(f"journal:{name}", month.offset)
            ]
            month.offset += len(lines)
        else:
            path = self.directory / f"{name}.jsonl"
            with disk("read the journal", path):
                inode = os.stat(path, follow_symlinks=False).st_ino
                month = self._read.get(name) or _Month(inode, 0)
                if month.inode != inode:
                    month = _Month(inode, 0)
                self._read[name] = month
                data = read_bytes(path, month.offset)
            complete = data[: data.rfind(b"\n") + 1]  # a line being written is read next time
            month.offset += len(complete)
            lines = complete.decode("utf-8", errors="replace").splitlines()
        for line in lines:
            if line.strip():
                entry = verified(line, self._key(), JournalEntry)
                if entry is None:
                    month.unverified += 1
                else:
                    month.entries.append(entry)
        return month


def _month_end(month: str) -> float:
    """When the month `2026-12` ends, in seconds since the epoch."""
    year, number = int(month[:4]), int(month[5:7])
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC).timestamp()
