"""What the journal says: the acts a query selects ("what did we delete this week"), what of it can still be
restored, and restoring it, by plan, by version or package id, or by time window.

A package or version can be restored when its last journaled act was a deletion, less than 30 days ago (GitHub's
window); a restore that failed changes nothing, and deletions made outside this server are not known here.
Packages are restored before versions, so that a version whose package was deleted after it comes back too; a
package that GitHub deleted along with its last version is selected with that version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase

import anyio
import anyio.lowlevel

from github_packages_mcp.github.client import GitHubClient, ProgressCallback, Turn
from github_packages_mcp.github.errors import APIError, InvalidArguments, RateLimited, TransportError
from github_packages_mcp.github.models import Result
from github_packages_mcp.retention.apply import SkippedVersion
from github_packages_mcp.retention.journal import Actor, Journal, JournalEntry
from github_packages_mcp.retention.plan import SHOWN_DECISIONS

__all__ = ["History", "HistoryEntry", "JournalQuery", "Restored", "history", "parse_moment", "restore", "window"]

RESTORE_WINDOW = timedelta(days=30)
_Key = tuple[object, ...]
SHOWN_ENTRIES = 100  # newest first; a context window holds about this many lines with room to spare
_AGE = re.compile(r"(\d{1,5})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_moment(argument: str, text: str, now: datetime) -> datetime:
    """A moment given as an ISO 8601 date or time (UTC unless it says otherwise) or as an age: `36h`, `7d`.

    Raises:
        InvalidArguments: If it is neither, naming `argument`.
    """
    if age := _AGE.fullmatch(text.strip().lower()):
        return now - timedelta(**{_UNITS[age[2]]: int(age[1])})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArguments(
            f"{argument}: an ISO 8601 date or time (2026-12-01, 2026-12-01T09:00:00Z) or an age (90m, 36h, 7d, "
            f"2w), got {text[:40]!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window(since: str | None, until: str | None, now: datetime) -> tuple[datetime | None, datetime | None]:
    """`since` and `until` as moments (None: not given), checked before anything is read.

    Raises:
        InvalidArguments: Naming the argument: not a moment (an empty one neither), or `until` not after `since`.
    """
    start = None if since is None else parse_moment("since", since, now)
    end = None if until is None else parse_moment("until", until, now)
    if start is not None and end is not None and end <= start:
        raise InvalidArguments(f"until: {_shown(end)} is not after since ({_shown(start)}), so nothing is between them")
    return start, end


def _shown(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class JournalQuery:
    """Which journal lines: every filter given must hold. `caller` keeps one caller's acts only (callers who
    bring their own GitHub tokens see only their own); None keeps every caller's."""

    since: datetime | None = None
    until: datetime | None = None
    package_name: str | None = None  # a name or a glob like 'web/*'
    plan_id: str | None = None
    version_ids: frozenset[int] | None = None
    package_ids: frozenset[int] | None = None  # packages deleted whole
    caller: str | None = None

    def selects_something(self) -> bool:
        """Whether it says what to restore: a plan, ids or a time window (a restore of everything is refused)."""
        return any(x is not None for x in (self.plan_id, self.version_ids, self.package_ids, self.since))

    def matches(self, entry: JournalEntry) -> bool:
        moment = entry.moment
        named = (self.version_ids is None and self.package_ids is None) or (
            (entry.version_id is not None and entry.version_id in (self.version_ids or ()))
            or (entry.version_id is None and entry.package_id in (self.package_ids or ()))
            # a package GitHub deleted with its last version comes back with that version
            or (entry.version_id is None and entry.deleted_with in (self.version_ids or ()))
        )
        return (
            named
            and (self.since is None or moment >= self.since)
            and (self.until is None or moment < self.until)
            and (self.package_name is None or fnmatchcase(entry.package_name, self.package_name))
            and (self.plan_id is None or entry.plan_id == self.plan_id)
            and (self.caller is None or entry.caller == self.caller)
        )


class HistoryEntry(JournalEntry):
    restorable: bool  # a deletion that restore_from_journal can still undo (result "deleting": outcome unknown)


class History(Result):
    entries: list[HistoryEntry]  # newest first
    total: int  # lines the query selects; at most SHOWN_ENTRIES are shown
    counts: dict[str, int]  # by result
    restorable: int
    unverified: int  # journal lines ignored: malformed, or failing their signature
    journal: str
    message: str | None = None


class Restored(Result):
    restored: int
    failed: int
    failures: list[SkippedVersion]
    journal: str
    plan_id: str | None = None
    message: str | None = None


async def history(journal: Journal, query: JournalQuery) -> History:
    """The journal lines the query selects, newest first, each saying whether it can still be restored."""
    read = await journal.read()
    pending, unsettled = _settle(read.entries, journal.now())
    # A delete's intent line shows only while its outcome is unknown.
    shown_intents = {id(entry) for entry in unsettled}
    selected = [
        entry
        for entry in reversed(read.entries)
        if query.matches(entry) and (entry.result != "deleting" or id(entry) in shown_intents)
    ]
    counts: dict[str, int] = {}
    for entry in selected:
        counts[entry.result] = counts.get(entry.result, 0) + 1
    shown = [
        HistoryEntry(**entry.model_dump(), restorable=pending.get(entry.key) is entry)
        for entry in selected[:SHOWN_ENTRIES]
    ]
    more = len(selected) - len(shown)
    return History(
        entries=shown,
        total=len(selected),
        counts=counts,
        restorable=sum(1 for entry in selected if pending.get(entry.key) is entry),
        unverified=read.unverified,
        journal=journal.file_name(),
        message=(
            f"The newest {len(shown)} of {len(selected)} lines; narrow with since, until or package_name to see older."
            if more
            else None
        ),
    )


async def restore(
    github: GitHubClient,
    journal: Journal,
    actor: Actor,
    query: JournalQuery,
    progress: ProgressCallback | None = None,
) -> Restored:
    """Restore what the query selects that can still be restored, journaling each restore.

    Raises:
        InvalidArguments: If the query says nothing of what to restore.
        GitHubError: A rate limit or a network failure stops the run (the journal has what was restored).
    """
    if not query.selects_something():
        raise InvalidArguments(
            "say what to restore: plan_id, version_ids, package_ids, or since (a time window); "
            "list_deletion_history shows what can be restored"
        )
    read = await journal.read()
    pending = _settle(read.entries, journal.now())[0].values()
    # Packages first: a version cannot come back while its package is deleted.
    todo = sorted((e for e in pending if query.matches(e)), key=lambda e: (e.version_id is not None, e.time))
    failures: list[SkippedVersion] = []
    if read.unverified:
        reason = f"{read.unverified} journal line(s) are malformed or fail their signature: ignored"
        failures.append(SkippedVersion(id=0, name="", reason=reason))
    restored = 0
    for number, entry in enumerate(todo, start=1):
        # As in apply_plan: a cancel while waiting for the restore's turn sends nothing; one while it is in flight
        # waits for it and its journal line.
        async with github.turn("POST") as turn:
            with anyio.CancelScope(shield=True):
                failure = await _restore_one(github, journal, actor, entry, turn)
        await anyio.lowlevel.checkpoint()
        if failure is None:
            restored += 1
        else:
            failures.append(failure)
        if progress:
            await progress(number, len(todo))
    return Restored(
        restored=restored,
        failed=len(failures),
        failures=failures[:SHOWN_DECISIONS],
        journal=journal.file_name(),
        plan_id=query.plan_id,
        message=None
        if todo
        else "Nothing to restore: the journal has no deletion that this selects and that "
        "was not restored since, within GitHub's 30 days. list_deletion_history shows what there is.",
    )


async def _restore_one(
    github: GitHubClient, journal: Journal, actor: Actor, entry: JournalEntry, turn: Turn
) -> SkippedVersion | None:
    """Restore one package or version, in `turn`, and journal it; None when restored, else why not.

    Raises:
        GitHubError: A rate limit or a network failure (the run stops: the journal says what was done).
    """
    operation = entry.owner.operation("restore", "package" if entry.version_id is None else "package_version")
    try:
        await github.request("POST", operation.url_path(entry.arguments()), turn=turn)
    except (RateLimited, TransportError):
        raise
    except APIError as exc:
        detail = f"{exc.status}: {exc.message}"
        await journal.record(actor, entry, "restore_failed", detail, entry.plan_id)
        return SkippedVersion(id=entry.version_id or entry.package_id or 0, name=_named(entry), reason=detail)
    await journal.record(actor, entry, "restored", None, entry.plan_id)
    return None


def _named(entry: JournalEntry) -> str:
    return (entry.name or entry.package_name)[:80]


def _settle(entries: Iterable[JournalEntry], now: datetime) -> tuple[dict[_Key, JournalEntry], list[JournalEntry]]:
    """For each package and version whose last journaled deletion or restore was a deletion within GitHub's
    window, that deletion; and the deletes whose outcome was never journaled (sent, perhaps done: a restore of
    what was not deleted fails harmlessly, so they count as deletions)."""
    last: dict[_Key, JournalEntry] = {}
    intents: dict[_Key, JournalEntry] = {}
    for entry in entries:  # oldest first
        if entry.result == "deleting":
            intents[entry.key] = entry
            continue
        intents.pop(entry.key, None)  # any later line settles it
        if entry.result in ("deleted", "restored"):
            last[entry.key] = entry
    last.update(intents)
    oldest = now - RESTORE_WINDOW
    pending = {key: e for key, e in last.items() if e.result in ("deleted", "deleting") and e.moment > oldest}
    return pending, list(intents.values())
