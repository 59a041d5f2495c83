"""What the server keeps beyond one call, as one interface (`State`) with two peers that keep it alike: files under
journal_dir for a process alone (local.py), and Redis for replicas that share it (redis.py). Consumers hold a
`State`, never ask which one it is, and only sign, verify and interpret what they keep; opening.py chooses once.

What both peers keep, and for how long:

- cleanup plans (`PlanRecords`), each until `plans_kept_seconds` after it was saved;
- the journal's signed lines (`JournalLines`), a list per month (`2026-12`), each until 35 days after its month
  ends (GitHub restores for 30 days);
- the registry manifests cleanups have read (`ManifestStore`, github/manifests.py);
- the ledger of spent confirmation tokens (`Ledger`), each until its token expires;
- pacing: a token's mutations spaced, and its rate-limit pauses (`SharedPacing`, github/pacing.py), which a process
  alone keeps in its Pacer and nowhere else;
- cancellations announced to the other replicas (`Cancellations`), which a process alone has none to send to.

Each raises a `StateUnavailable` (a `StoreUnavailable` or `SharedStateUnavailable`) that names no path nor
password when it cannot do what it was asked.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from github_packages_mcp.github.manifests import ManifestStore
from github_packages_mcp.github.pacing import SharedPacing
from github_packages_mcp.state.files import DAY

__all__ = [
    "JOURNAL_KEPT_DAYS",
    "Cancellations",
    "JournalLines",
    "Ledger",
    "PlanRecords",
    "Position",
    "State",
    "journal_kept_until",
    "manifest_key",
    "plans_kept_seconds",
]

PLAN_KEPT_DAYS: Final = 35  # as long as the journal keeps what a plan deleted
JOURNAL_KEPT_DAYS: Final = 35  # GitHub restores a deleted version for 30 days; a margin after the month ends
MANIFEST_KEY: Final = re.compile(r"[0-9a-f]{64}")


class PlanRecords(Protocol):
    """Cleanup plans by plan id (checked by the store: letters, digits, - and _), as the store signed them."""

    async def put(self, plan_id: str, data: bytes) -> None:
        """Keep `data` as the plan, replacing one of the same id."""
        ...

    async def get(self, plan_id: str) -> bytes | None:
        """The plan as it was put, or None when there is none (never was, or no longer kept)."""
        ...


@dataclass(frozen=True)
class Position:
    """Where a reading of a month's lines stopped: the next one starts there. `origin` names the list read (a
    file's inode); a list read again with another origin was replaced, and is read from its start."""

    origin: int = 0
    offset: int = 0  # bytes of a file, or lines of a list


class JournalLines(Protocol):
    """The journal's lines, appended as they happen, one list per month (`2026-12`)."""

    async def append(self, month: str, line: bytes) -> None:
        """Append one line (without its newline); kept when this returns."""
        ...

    async def months(self) -> Sequence[str]:
        """The months that may hold lines, oldest first."""
        ...

    async def lines(self, month: str, since: Position) -> tuple[list[str], Position]:
        """The month's complete lines from `since` on (a line still being written is read next time), and where
        to read from next."""
        ...


class Ledger(Protocol):
    """Where spent confirmation tokens are remembered until they expire."""

    async def spend_once(self, name: str, expires_at: float, record: bytes) -> bytes | None:
        """Record `name` as spent until `expires_at`, with `record`; None when it was not spent before, else the
        record it was spent with (b"" when that is gone meanwhile)."""
        ...


class Cancellations(Protocol):
    """Cancellations one replica announces and the others hear."""

    async def publish(self, channel: str, message: bytes) -> None: ...

    def messages(self, channel: str) -> AsyncIterator[bytes]:
        """What is published on `channel` from now on, until the caller stops iterating."""
        ...


class State(Protocol):
    """Everything the server keeps beyond one call; `aclose` when done."""

    @property
    def plans(self) -> PlanRecords: ...

    @property
    def journal(self) -> JournalLines: ...

    @property
    def manifests(self) -> ManifestStore: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def pacing(self) -> SharedPacing: ...

    @property
    def cancellations(self) -> Cancellations: ...

    async def aclose(self) -> None: ...


def plans_kept_seconds(plan_ttl_days: float) -> float:
    """How long a plan is kept: 35 days (a restore by plan id needs its plan), or its validity if longer."""
    return max(PLAN_KEPT_DAYS * DAY, plan_ttl_days * DAY)


def journal_kept_until(month: str) -> float:
    """When the month `2026-12`'s lines go: 35 days after it ends, in seconds since the epoch."""
    year, number = int(month[:4]), int(month[5:7])
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC).timestamp() + JOURNAL_KEPT_DAYS * DAY


def manifest_key(key: str) -> str:
    """The manifest cache's key (64 hex digits), checked, so that no key ever names a path outside its directory.

    Raises:
        ValueError: If it is not one.
    """
    if not MANIFEST_KEY.fullmatch(key):
        raise ValueError(f"not a manifest cache key: {key[:80]!r}")
    return key
