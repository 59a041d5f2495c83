"""The clock the sandbox world runs on, and the moment its demo data is dated from."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Real UTC time plus an adjustable offset, so tests can jump ahead."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()


def demo_epoch(now: datetime) -> datetime:
    """The moment demo data is dated from: the start of the current UTC hour, so that two sandboxes started within
    the hour hold the same world, and a confirmation token issued by one still matches the other's summary (the
    MCP Inspector's CLI starts a new server, and so a new sandbox, for every call). A saved world keeps its epoch
    until it is reset (saved.py)."""
    return now.replace(minute=0, second=0, microsecond=0)
