"""Cleanup plans on disk: `<journal_dir>/plans/<plan_id>.json` (what a cleanup did is in the journal, journal.py).

A plan is one line of compact JSON that carries `mac`, the HMAC-SHA256 under the server's plan key of the rest
(canonical JSON), and `caller`, the fingerprint of the token that made it. Loading checks both: a plan that was
changed, is not this server's, was saved before plans were signed, or belongs to another caller is refused like
one that does not exist, with the same words. Plans expire (`plan_ttl_days`) and go 35 days after they were made
(a restore by plan id needs its plan, and GitHub restores for 30 days). Pruning is lazy: on saving a plan and on
the store's first use. Directories are 0700 and files 0600, whatever was there.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from github_packages_mcp.errors import InvalidArguments, InvalidRequest
from github_packages_mcp.github.catalogue import Owner, OwnerKind
from github_packages_mcp.github.models import PackageType, parse_time
from github_packages_mcp.retention.files import (
    DAY,
    SharedRecords,
    StoreUnavailable,
    canonical,
    disk,
    files,
    mtime,
    private_directory,
    read_bytes,
    remove,
    signed,
    verified,
    write_new,
)

__all__ = [
    "CleanupStore",
    "PlanExpired",
    "PlanNotFound",
    "PlannedDeletion",
    "SavedPlan",
    "StoreUnavailable",
]

PLAN_FORMAT: Final = 2  # 1 (unsigned, indented) is refused: it cannot be verified
PLAN_KEPT_DAYS = 35  # as long as the journal keeps what a plan deleted
PRUNE_EVERY_SECONDS = 3600.0
PLAN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class PlanNotFound(InvalidRequest):
    """No saved plan with this id that this caller can use: missing, changed, unsigned or another caller's."""


class PlanExpired(InvalidRequest):
    """The caller's plan is past its expiry: its decisions may no longer hold."""


class PlannedDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    name: str
    tags: list[str] | None = None
    package_name: str
    parents: list[str] | None = None  # a part's parents when planned: apply skips it if they changed


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

    def content(self) -> dict[str, Any]:
        """What is stored and signed: every field, in JSON types, without empty ones."""
        return self.model_dump(mode="json", exclude_none=True)

    def digest(self) -> str:
        """SHA-256 of the whole plan (its canonical JSON): what a confirmation binds."""
        return hashlib.sha256(canonical(self.content())).hexdigest()


class CleanupStore:
    """Plans on disk, one file each, under `<directory>/plans`, or in the replicas' `shared` records; signed with
    `key()`."""

    def __init__(
        self,
        directory: Path,
        key: Callable[[], bytes],
        *,
        clock: Callable[[], float] = time.time,
        plan_ttl_days: float = 7,
        shared: SharedRecords | None = None,
    ) -> None:
        self.directory = directory
        self._shared = shared
        self.plan_ttl = timedelta(days=plan_ttl_days)
        self._key = key
        self._clock = clock
        self._pruned_at: float | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def plan_path(self, plan_id: str) -> Path:
        return self.directory / "plans" / f"{checked_id(plan_id)}.json"

    async def save(self, plan: SavedPlan) -> None:
        """Sign and write the plan atomically (compact JSON, mode 0600), then prune what has expired; or keep it
        in the replicas' shared records, which expire it themselves."""
        path = self.plan_path(plan.plan_id)
        if self._shared is not None:
            await self._shared.put(
                f"plan:{plan.plan_id}", signed(plan.content(), self._key()), self._clock() + self._kept_seconds()
            )
            return
        with disk("save the cleanup plan", path):
            private_directory(path.parent)
            temporary = path.with_name(f".{plan.plan_id}.{secrets.token_hex(4)}.tmp")
            write_new(temporary, signed(plan.content(), self._key()), self._clock())
            os.replace(temporary, path)
        self.prune()

    async def load(self, plan_id: str, caller: str, *, expired_ok: bool = False) -> SavedPlan:
        """The caller's plan, verified; `expired_ok` for restoring (an expired plan still names what it deleted).

        Raises:
            InvalidArguments: If `plan_id` is not a plan id.
            PlanNotFound: If there is no such plan, or it fails its check, or it is another caller's.
            PlanExpired: If it expired (and `expired_ok` is false).
        """
        path = self.plan_path(plan_id)
        if self._shared is not None:
            data = await self._shared.get(f"plan:{plan_id}")
            if data is None:
                raise _unknown(plan_id)
            text = data.decode("utf-8", errors="replace")
        else:
            self._prune_now_and_then()
            with disk("read the cleanup plan", path):
                try:
                    text = read_bytes(path).decode("utf-8", errors="replace")
                except FileNotFoundError:
                    raise _unknown(plan_id) from None
        plan = verified(text, self._key(), SavedPlan)  # None for format 1 plans, saved before plans were signed
        if plan is None or plan.plan_id != plan_id or not hmac.compare_digest(plan.caller, caller):
            raise _unknown(plan_id)
        if not expired_ok and self._clock() >= parse_time(plan.expires_at).timestamp():
            raise PlanExpired(
                f"plan {plan_id} expired on {plan.expires_at} (a plan can be applied for {self.plan_ttl.days} day(s)); "
                "make a new one with plan_version_cleanup"
            )
        return plan

    def prune(self) -> None:
        """Remove plans 35 days after they were made, and temporary files a save left when it failed. Ages are
        the files' times, which the store sets from its clock."""
        now = self._clock()
        self._pruned_at = now
        plans = self.directory / "plans"
        for plan in files(plans, "*.json"):
            if mtime(plan) + self._kept_seconds() < now:
                remove(plan)
        for temporary in files(plans, ".*.tmp"):
            if mtime(temporary) + DAY < now:
                remove(temporary)

    def _kept_seconds(self) -> float:
        return max(PLAN_KEPT_DAYS * DAY, self.plan_ttl.total_seconds())

    def _prune_now_and_then(self) -> None:
        if self._pruned_at is None or self._clock() - self._pruned_at > PRUNE_EVERY_SECONDS:
            self.prune()


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
