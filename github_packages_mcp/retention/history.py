"""What the journal says: the acts a query selects ("what did we delete this week"), what of it can still be
restored, and restoring it, by plan, by version or package id, or by time window: a `Selection`, described for the
person (who confirms a restore of more than one), then restored.

A package or version can be restored when its last journaled act was a deletion, less than 30 days ago (GitHub's
window); a restore that failed changes nothing, and deletions made outside this server are not known here.
Packages are restored before versions, so that a version whose package was deleted after it comes back too; a
package that GitHub deleted along with its last version is selected with that version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import ClassVar, Literal

import anyio.lowlevel
from pydantic import Field

from github_packages_mcp.durations import AGE_UNITS, duration_days
from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.github.client import GitHubClient, ProgressCallback, Turn
from github_packages_mcp.github.errors import APIError, RateLimited, TransportError
from github_packages_mcp.github.models import ConfirmationOutcome, Result
from github_packages_mcp.github.pacing import sent_in_turn
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.retention.apply import DIGEST_SHOWN, SkippedVersion
from github_packages_mcp.retention.journal import Actor, Journal, JournalEntry
from github_packages_mcp.retention.patterns import compile_pattern
from github_packages_mcp.retention.plan import SHOWN_DECISIONS
from github_packages_mcp.retention.rules import short_digest
from github_packages_mcp.retention.signing import canonical

__all__ = [
    "History",
    "HistoryEntry",
    "JournalQuery",
    "Restored",
    "Selection",
    "history",
    "parse_moment",
    "restore",
    "select",
    "window",
]

RESTORE_WINDOW = timedelta(days=30)
_Key = tuple[object, ...]
SHOWN_ENTRIES = 100  # newest first; a context window holds about this many lines with room to spare
SHOWN_PACKAGES, SHOWN_SAMPLE = 10, 5  # in the words the person confirms


def parse_moment(argument: str, text: str, now: datetime) -> datetime:
    """A moment given as an ISO 8601 date or time (UTC unless it says otherwise) or as an age: `36h`, `7d`, `2w 3d`
    (durations.py); an age before the calendar begins is its first moment.

    Raises:
        InvalidArguments: If it is neither, naming `argument`.
    """
    if (days := duration_days(text, AGE_UNITS)) is not None:
        try:
            return now - timedelta(days=days)
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArguments(
            f"{argument}: an ISO 8601 date or time (2026-12-01, 2026-12-01T09:00:00Z) or an age (90m, 36h, 7d, "
            f"2w 3d), got {text[:40]!r}"
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
    _name_matches: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Compile the package glob on RE2, within the cleanup rules' bounds (patterns.py), so none can stall.

        Raises:
            RulesError: If the glob is longer than the patterns' limit.
        """
        named = compile_pattern("package_name", self.package_name, "glob") if self.package_name else _anything
        object.__setattr__(self, "_name_matches", named)

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
            and self._name_matches(entry.package_name)
            and (self.plan_id is None or entry.plan_id == self.plan_id)
            and (self.caller is None or entry.caller == self.caller)
        )


def _anything(_name: str) -> bool:
    return True


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


class Restored(ConfirmationOutcome):
    """What restore_from_journal answers: done, refused by the person, or waiting for their confirmation."""

    restored: int = 0
    status: Literal["restored", "confirmation_required", "declined", "cancelled", "not_confirmed"] = "restored"
    failed: int = 0
    failures: list[SkippedVersion] = Field(default_factory=list)
    journal: str | None = None
    plan_id: str | None = None
    message: str | None = None
    confirmation_required: bool = False
    summary: str | None = None  # what would be restored; show it to the person
    confirmation_token: str | None = None  # once the person agrees: the same call plus this
    expires_at: str | None = None

    NOTHING_DONE: ClassVar[str] = "Nothing was restored"
    WILL: ClassVar[str] = "This will restore"


@dataclass(frozen=True)
class Selection:
    """What a restore would bring back: the deletions a query selects that can still be restored, packages
    first (a version cannot come back while its package is deleted)."""

    entries: tuple[JournalEntry, ...]
    unverified: int = 0  # journal lines ignored: malformed, or failing their signature

    @property
    def digest(self) -> str:
        """SHA-256 of the selected journal lines: what a confirmation binds."""
        return hashlib.sha256(canonical({"entries": [e.model_dump(mode="json") for e in self.entries]})).hexdigest()

    def describe(self) -> str:
        """The words for the person: how many, per package, and a sample with names, tags and ids."""
        packages: dict[tuple[object, ...], list[JournalEntry]] = {}
        for entry in self.entries:
            packages.setdefault(entry.key[:4], []).append(entry)
        shown = [_package_line(entries) for entries in list(packages.values())[:SHOWN_PACKAGES]]
        if len(packages) > SHOWN_PACKAGES:
            shown.append(f"{len(packages) - SHOWN_PACKAGES} more package(s)")
        sample = "; ".join(_sampled(entry) for entry in self.entries[:SHOWN_SAMPLE])
        return (
            f"{len(self.entries)} deletion(s) this server journaled, in {len(packages)} package(s) "
            f"({'; '.join(shown)}), selection digest {self.digest[:DIGEST_SHOWN]}; for example {sample}"
        )


def _package_line(entries: list[JournalEntry]) -> str:
    first, versions = entries[0], sum(entry.version_id is not None for entry in entries)
    what = ["the package itself"] if any(entry.version_id is None for entry in entries) else []
    what += [f"{versions} version(s)"] if versions else []
    return f"{quoted(first.package_name)}, {first.package_type} {first.owner.owned_by()}: {' and '.join(what)}"


def _sampled(entry: JournalEntry) -> str:
    deleted = f"deleted {entry.time} by {entry.tool}"
    if entry.version_id is None:
        return f"the package {quoted(entry.package_name)} ({deleted})"
    tags = "untagged" if entry.tags == [] else f"tags: {', '.join(map(quoted, entry.tags))}" if entry.tags else ""
    facts = [quoted(short_digest(entry.name)) if entry.name else "", tags, deleted]
    return f"{quoted(entry.package_name)} {entry.version_id} ({', '.join(fact for fact in facts if fact)})"


async def history(journal: Journal, query: JournalQuery, *, whole: bool = False) -> History:
    """The journal lines the query selects, newest first, each saying whether it can still be restored: at most
    SHOWN_ENTRIES of them, or with `whole` all."""
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
        for entry in (selected if whole else selected[:SHOWN_ENTRIES])
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


async def select(journal: Journal, query: JournalQuery) -> Selection:
    """What restoring the query's selection would bring back now.

    Raises:
        InvalidArguments: If the query says nothing of what to restore.
    """
    if not query.selects_something():
        raise InvalidArguments(
            "say what to restore: plan_id, version_ids, package_ids, or since (a time window); "
            "list_deletion_history shows what can be restored"
        )
    read = await journal.read()
    pending = _settle(read.entries, journal.now())[0].values()
    chosen = sorted((e for e in pending if query.matches(e)), key=lambda e: (e.version_id is not None, e.time))
    return Selection(tuple(chosen), read.unverified)


async def restore(
    github: GitHubClient,
    journal: Journal,
    actor: Actor,
    selection: Selection,
    plan_id: str | None = None,
    progress: ProgressCallback | None = None,
    *,
    whole: bool = False,
) -> Restored:
    """Restore the selection (what the person confirmed), journaling each restore. A deletion the journal no
    longer calls restorable (restored meanwhile) is left alone: a restore may bring back less than confirmed,
    never more. The result lists at most SHOWN_DECISIONS failures, or with `whole` all of them.

    Raises:
        GitHubError: A rate limit or a network failure stops the run (the journal has what was restored).
    """
    pending = _settle((await journal.read()).entries, journal.now())[0]
    todo = [entry for entry in selection.entries if pending.get(entry.key) == entry]
    failures: list[SkippedVersion] = []
    if selection.unverified:
        reason = f"{selection.unverified} journal line(s) are malformed or fail their signature: ignored"
        failures.append(SkippedVersion(id=0, name="", reason=reason))
    restored = 0
    for number, entry in enumerate(todo, start=1):
        # A cancel while waiting for the restore's turn sends nothing; one while it is in flight waits for it and
        # its journal line.
        failure = await sent_in_turn(github.turn("POST"), partial(_restore_one, github, journal, actor, entry))
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
        failures=failures if whole else failures[:SHOWN_DECISIONS],
        journal=journal.file_name(),
        plan_id=plan_id,
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
