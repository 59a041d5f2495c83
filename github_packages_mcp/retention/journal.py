"""The journal: every delete and restore this server sent to GitHub, whoever asked and through whichever tool.

One JSON line per act (who: the caller's token fingerprint and the MCP client; what: owner, type, package, version;
when; how it ended), appended as it happens, a list per month (`JournalLines`: the file
`<journal_dir>/journal/2026-12.jsonl`, or a Redis list with `state_url`), kept 35 days after the month ends (GitHub
restores for 30 days). Each line is signed (`mac`: HMAC-SHA256 under the server's journal key), so a line that was
changed, or written by anything but this server, is ignored and counted, never acted on. A cleanup resumes from it
and restores read it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from github_packages_mcp.github.catalogue import Owner, OwnerKind
from github_packages_mcp.github.models import PackageType, parse_time
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.retention.signing import signed, timestamp, verified
from github_packages_mcp.state.peers import JournalLines, Position

__all__ = ["Actor", "Journal", "JournalEntry", "JournalRead", "JournalResult", "Subject"]

# "deleting" is written before a DELETE is sent, its outcome after: a delete is never sent unjournaled.
JournalResult = Literal["deleting", "deleted", "already_gone", "skipped", "failed", "restored", "restore_failed"]


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
    """What was read of one month's lines: they only grow, so the next read starts where this one stopped."""

    position: Position
    entries: list[JournalEntry] = field(default_factory=list)
    unverified: int = 0


class Journal:
    """The journal's month lists, kept in `lines`; lines signed with `key()`."""

    def __init__(
        self, lines: JournalLines, key: Callable[[], bytes], *, clock: Callable[[], float] = time.time
    ) -> None:
        self._lines = lines
        self._key = key
        self._clock = clock
        self._read: dict[str, _Month] = {}

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
        """Append one signed line for an act; it is kept when this returns."""
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
        await self._lines.append(entry.time[:7], signed(entry.model_dump(mode="json", exclude_none=True), self._key()))
        return entry

    async def read(self) -> JournalRead:
        """Every verified line, oldest first, and how many lines were ignored."""
        entries: list[JournalEntry] = []
        unverified = 0
        months = await self._lines.months()
        for name in months:
            month = await self._month(name)
            entries += month.entries
            unverified += month.unverified
        self._read = {name: month for name, month in self._read.items() if name in months}
        return JournalRead(sorted(entries, key=lambda entry: entry.time), unverified)

    async def _month(self, name: str) -> _Month:
        month = self._read.get(name) or _Month(Position())
        lines, position = await self._lines.lines(name, month.position)
        if position.origin != month.position.origin:  # another list of that name (a file made anew): read whole
            month = _Month(position)
        month.position = position
        self._read[name] = month
        for line in lines:
            if line.strip():
                entry = verified(line, self._key(), JournalEntry)
                if entry is None:
                    month.unverified += 1
                else:
                    month.entries.append(entry)
        return month
