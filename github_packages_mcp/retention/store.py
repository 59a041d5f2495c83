"""Cleanup plans and their journals on disk: `<journal_dir>/plans/<plan_id>.json` and
`<journal_dir>/journal/<plan_id>.jsonl` (one JSON line per version acted on: id, name, tags, result, time).

A plan is one line of compact JSON that carries `mac`, the HMAC-SHA256 under the server's plan key of the rest
(canonical JSON), and `caller`, the fingerprint of the token that made it. Loading checks both: a plan that was
changed, is not this server's, was saved before plans were signed, or belongs to another caller is refused like
one that does not exist, with the same words. Plans expire (`plan_ttl_days`); journals go 35 days after their last
line (GitHub restores for 30 days), with their plan; an unapplied plan goes a week after it expired. Pruning is
lazy: on saving a plan and on the store's first use. Directories are 0700 and files 0600, whatever was there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from github_packages_mcp.github.catalogue import Owner, OwnerKind
from github_packages_mcp.github.errors import InvalidArguments, InvalidRequest
from github_packages_mcp.github.models import PackageType

__all__ = [
    "CleanupStore",
    "JournalEntry",
    "JournalResult",
    "PlanExpired",
    "PlanNotFound",
    "PlannedDeletion",
    "SavedPlan",
    "StoreUnavailable",
    "timestamp",
]

log = logging.getLogger("github_packages_mcp")

JournalResult = Literal["deleted", "already_gone", "skipped", "failed", "restored", "restore_failed"]
PLAN_FORMAT: Final = 2  # 1 (unsigned, indented) is refused: it cannot be verified
DAY = 86_400.0
JOURNAL_KEPT_DAYS = 35  # GitHub restores a deleted version for 30 days; a margin after the journal's last line
EXPIRED_PLAN_KEPT_DAYS = 7  # an expired plan that was never applied says so for a week, then goes
PRUNE_EVERY_SECONDS = 3600.0
PLAN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class PlanNotFound(InvalidRequest):
    """No saved plan with this id that this caller can use: missing, changed, unsigned or another caller's."""


class PlanExpired(InvalidRequest):
    """The caller's plan is past its expiry: its decisions may no longer hold."""


class StoreUnavailable(InvalidRequest):
    """The plans and journals cannot be read or written; the message names no path (the server log does)."""


class PlannedDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    tags: list[str] | None = None
    package_name: str


class SavedPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal[2] = PLAN_FORMAT
    plan_id: str
    created_at: str
    expires_at: str
    caller: str  # identity_of(the token that made the plan): only that caller may use it
    owner_kind: OwnerKind
    owner_login: str | None = None
    package_type: PackageType
    rules: dict[str, Any]
    deletions: list[PlannedDeletion]

    @property
    def owner(self) -> Owner:
        return Owner(self.owner_kind, self.owner_login)

    def version_arguments(self, package_name: str, version_id: int) -> dict[str, Any]:
        """The arguments that name one of the plan's versions in a catalogue operation of its owner."""
        return {
            **self.owner.arguments,
            "package_type": self.package_type,
            "package_name": package_name,
            "package_version_id": version_id,
        }

    def content(self) -> dict[str, Any]:
        """What is stored and signed: every field, in JSON types, without empty ones."""
        return self.model_dump(mode="json", exclude_none=True)

    def digest(self) -> str:
        """SHA-256 of the whole plan (its canonical JSON): what a confirmation binds."""
        return hashlib.sha256(_canonical(self.content())).hexdigest()


class JournalEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: str
    plan_id: str
    version_id: int
    name: str
    tags: list[str] | None = None
    package_name: str
    result: JournalResult
    detail: str | None = None


class CleanupStore:
    """Plans and journals on disk, one file each, under one directory; plans signed with `key()`."""

    def __init__(
        self,
        directory: Path,
        key: Callable[[], bytes],
        *,
        clock: Callable[[], float] = time.time,
        plan_ttl_days: float = 7,
    ) -> None:
        self.directory = directory
        self.plan_ttl = timedelta(days=plan_ttl_days)
        self._key = key
        self._clock = clock
        self._pruned_at: float | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def plan_path(self, plan_id: str) -> Path:
        return self.directory / "plans" / f"{checked_id(plan_id)}.json"

    def journal_path(self, plan_id: str) -> Path:
        return self.directory / "journal" / f"{checked_id(plan_id)}.jsonl"

    def journal_name(self, plan_id: str) -> str:
        """Where the journal is, relative to journal_dir: what results show (never the server's paths)."""
        return f"journal/{checked_id(plan_id)}.jsonl"

    def save(self, plan: SavedPlan) -> None:
        """Sign and write the plan atomically (compact JSON, mode 0600), then prune what has expired."""
        path = self.plan_path(plan.plan_id)
        content = plan.content()
        signed = _canonical({**content, "mac": self._mac(content)})
        with _disk("save the cleanup plan", path):
            _private_directory(path.parent)
            temporary = path.with_name(f".{plan.plan_id}.{secrets.token_hex(4)}.tmp")
            _write_new(temporary, signed, self._clock())
            os.replace(temporary, path)
        self.prune()

    def load(self, plan_id: str, caller: str, *, expired_ok: bool = False) -> SavedPlan:
        """The caller's plan, verified; `expired_ok` for restoring (an expired plan still names what it deleted).

        Raises:
            InvalidArguments: If `plan_id` is not a plan id.
            PlanNotFound: If there is no such plan, or it fails its check, or it is another caller's.
            PlanExpired: If it expired (and `expired_ok` is false).
        """
        path = self.plan_path(plan_id)
        self._prune_now_and_then()
        with _disk("read the cleanup plan", path):
            try:
                text = _read(path)
            except FileNotFoundError:
                raise _unknown(plan_id) from None
        plan = self._verified(text)
        if plan is None or plan.plan_id != plan_id or not hmac.compare_digest(plan.caller, caller):
            raise _unknown(plan_id)
        if not expired_ok and self._clock() >= _epoch(plan.expires_at):
            raise PlanExpired(
                f"plan {plan_id} expired on {plan.expires_at} (a plan can be applied for {self.plan_ttl.days} day(s)); "
                "make a new one with plan_version_cleanup"
            )
        return plan

    def append(self, entry: JournalEntry) -> None:
        path = self.journal_path(entry.plan_id)
        line = (entry.model_dump_json(exclude_none=True) + "\n").encode()
        with _disk("write the cleanup journal", path):
            _private_directory(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW, 0o600)
            try:
                _private_file(fd)
                os.write(fd, line)  # one line per version, written as it happens
            finally:
                os.close(fd)
            now = self._clock()
            os.utime(path, (now, now))  # pruning measures the journal's age by its last line

    def journal(self, plan_id: str) -> tuple[list[JournalEntry], int]:
        """The plan's well-formed journal entries, and how many lines were not (unreadable, or another plan's)."""
        path = self.journal_path(plan_id)
        with _disk("read the cleanup journal", path):
            try:
                text = _read(path)
            except FileNotFoundError:
                return [], 0
        entries, malformed = [], 0
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                entry = JournalEntry.model_validate_json(line)
            except ValidationError:
                malformed += 1
                continue
            if entry.plan_id != plan_id:
                malformed += 1
                continue
            entries.append(entry)
        return entries, malformed

    def prune(self) -> None:
        """Remove journals 35 days after their last line (with their plan), and plans never applied a week after
        they expired. Ages are the files' times, which the store sets from its clock."""
        now = self._clock()
        self._pruned_at = now
        journals, plans = self.directory / "journal", self.directory / "plans"
        for journal in _files(journals, "*.jsonl"):
            if _mtime(journal) + JOURNAL_KEPT_DAYS * DAY < now:
                _remove(journal)
                _remove(plans / f"{journal.stem}.json")
        unapplied_for = self.plan_ttl.total_seconds() + EXPIRED_PLAN_KEPT_DAYS * DAY
        for plan in _files(plans, "*.json"):
            if not (journals / f"{plan.stem}.jsonl").exists() and _mtime(plan) + unapplied_for < now:
                _remove(plan)
        for temporary in _files(plans, ".*.tmp"):
            if _mtime(temporary) + DAY < now:
                _remove(temporary)

    def _prune_now_and_then(self) -> None:
        if self._pruned_at is None or self._clock() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self.prune()

    def _mac(self, content: dict[str, Any]) -> str:
        return hmac.new(self._key(), _canonical(content), hashlib.sha256).hexdigest()

    def _verified(self, text: str) -> SavedPlan | None:
        """The plan if its MAC verifies under this server's key, else None (changed, unsigned, another key's)."""
        try:
            content = json.loads(text)
        except ValueError:
            return None
        if not isinstance(content, dict) or not isinstance(mac := content.pop("mac", None), str):
            return None  # format 1 plans (before plans were signed) have no mac
        if not hmac.compare_digest(mac, self._mac(content)):
            return None
        try:
            return SavedPlan.model_validate(content)
        except ValidationError:
            return None


def timestamp(moment: datetime) -> str:
    """GitHub's time format, to the second: `2026-12-02T12:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def checked_id(plan_id: str) -> str:
    """The plan id if it can be one (what plan_version_cleanup gives: letters, digits, - or _, at most 64).

    Raises:
        InvalidArguments: If it cannot.
    """
    if not PLAN_ID.fullmatch(plan_id):
        shown = plan_id if len(plan_id) <= 40 else f"{plan_id[:40]}… ({len(plan_id)} characters)"
        raise InvalidArguments(
            f"plan_id {shown!r} is not a plan id (plan_version_cleanup gives ids like 91605a01b3217976)"
        )
    return plan_id


def _unknown(plan_id: str) -> PlanNotFound:
    return PlanNotFound(
        f"no cleanup plan {plan_id!r} that this server can use: there is none, or it was made with another "
        "token, or it changed after it was made, or an older version of this server saved it without a "
        "signature; make one with plan_version_cleanup"
    )


def _canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def _epoch(moment: str) -> float:
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


@contextmanager
def _disk(doing: str, path: Path) -> Iterator[None]:
    """OS errors become an error that names no path (the log does)."""
    try:
        yield
    except OSError as exc:
        log.warning("could not %s %s: %s", doing, path, exc)
        raise StoreUnavailable(
            f"The server could not {doing} ({exc.strerror or type(exc).__name__}); nothing else was done. "
            "The server's log says where; its operator can fix the journal_dir permissions or space."
        ) from None


def _private_directory(path: Path) -> None:
    """The directory, made 0700 (and made so if it was looser)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


def _private_file(fd: int) -> None:
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
        os.fchmod(fd, 0o600)  # a journal written before files were kept private


def _write_new(path: Path, content: bytes, moment: float) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.utime(path, (moment, moment))
    except OSError:
        path.unlink(missing_ok=True)
        raise


def _read(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    with os.fdopen(fd, "rb") as file:
        return file.read().decode("utf-8", errors="replace")


def _files(directory: Path, pattern: str) -> list[Path]:
    try:
        return list(directory.glob(pattern))
    except OSError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return float("inf")  # gone meanwhile: nothing to prune


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not prune %s: %s", path, exc)
