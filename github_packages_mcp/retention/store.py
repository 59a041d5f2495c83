"""Cleanup plans: signed, bound to the caller who made them, expiring (what a cleanup did is in the journal,
journal.py). Where they are kept, and for how long, is the state's (`PlanRecords`: files under journal_dir, or Redis).

A plan is one line of compact JSON that carries `mac`, the HMAC-SHA256 under the server's plan key of the rest
(canonical JSON), and `caller`, the fingerprint of the token that made it. Loading checks both: a plan that was
changed, is not this server's, was saved before plans were signed, or belongs to another caller is refused like
one that does not exist, with the same words. Plans expire (`plan_ttl_days`); they are kept 35 days after they
were made (a restore by plan id needs its plan, and GitHub restores for 30 days).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from github_packages_mcp.errors import InvalidArguments, InvalidRequest
from github_packages_mcp.github.catalogue import Owner, OwnerKind
from github_packages_mcp.github.models import PackageType, parse_time
from github_packages_mcp.retention.signing import canonical, signed, verified
from github_packages_mcp.state.files import StoreUnavailable
from github_packages_mcp.state.peers import PlanRecords

__all__ = [
    "CleanupStore",
    "PlanExpired",
    "PlanNotFound",
    "PlannedDeletion",
    "SavedPlan",
    "StoreUnavailable",
]

PLAN_FORMAT: Final = 2  # 1 (unsigned, indented) is refused: it cannot be verified
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
    # The name or glob planned (export_cleanup_policy writes it back); plans saved before it was kept have none.
    package_name: str | None = None
    rules: dict[str, Any]
    deletions: list[PlannedDeletion]
    # The plan this one was narrowed from (narrow.py); None, so absent from what is signed, for a plan as made.
    narrowed_from: str | None = None

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
    """Plans kept in `plans`, signed with `key()`."""

    def __init__(
        self,
        plans: PlanRecords,
        key: Callable[[], bytes],
        *,
        clock: Callable[[], float] = time.time,
        plan_ttl_days: float = 7,
    ) -> None:
        self._plans = plans
        self.plan_ttl = timedelta(days=plan_ttl_days)
        self._key = key
        self._clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def save(self, plan: SavedPlan) -> None:
        """Sign and keep the plan (compact JSON)."""
        await self._plans.put(checked_id(plan.plan_id), signed(plan.content(), self._key()))

    async def load(self, plan_id: str, caller: str, *, expired_ok: bool = False) -> SavedPlan:
        """The caller's plan, verified; `expired_ok` for restoring (an expired plan still names what it deleted).

        Raises:
            InvalidArguments: If `plan_id` is not a plan id.
            PlanNotFound: If there is no such plan, or it fails its check, or it is another caller's.
            PlanExpired: If it expired (and `expired_ok` is false).
        """
        data = await self._plans.get(checked_id(plan_id))
        if data is None:
            raise _unknown(plan_id)
        # None for format 1 plans, saved before plans were signed.
        plan = verified(data.decode("utf-8", errors="replace"), self._key(), SavedPlan)
        if plan is None or plan.plan_id != plan_id or not hmac.compare_digest(plan.caller, caller):
            raise _unknown(plan_id)
        if not expired_ok and self._clock() >= parse_time(plan.expires_at).timestamp():
            raise PlanExpired(
                f"plan {plan_id} expired on {plan.expires_at} (a plan can be applied for {self.plan_ttl.days} day(s)); "
                "make a new one with plan_version_cleanup"
            )
        return plan


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
