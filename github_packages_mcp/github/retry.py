"""When a request to GitHub is tried again, waited out, or given up: pure decisions, no I/O.

`GitHubClient.request` sends, then asks its `RetryPolicy` what to do with the answer or the failure. Each
decision is one of three, and the client only carries it out:

    Backoff   send again after a short, jittered sleep (5xx, timeouts, broken connections)
    Pause     a rate limit: every request with the same token waits until it lifts, then this one is sent again
    Stop      send no more: the answer stands, or its error is raised (with the limit, if one was too long)

Rate limits follow GitHub's guidance: `x-ratelimit-remaining: 0` waits until `x-ratelimit-reset`;
`retry-after` is honoured; a 429 or a "rate limit" message without either waits at least a minute, then
backs off exponentially with jitter. A wait longer than `RetryPolicy.max_wait` is not slept through.

Usage::

    decision = policy.after_response(response, "GET", retries=0, now=datetime.now(UTC), earlier_arrived=False)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx2

from github_packages_mcp.github.errors import error_message, may_have_arrived, network_cause

__all__ = [
    "Backoff",
    "Decision",
    "Limit",
    "Pause",
    "Quota",
    "RetryPolicy",
    "Stop",
    "known_limit",
    "rate_limit",
]


@dataclass
class Quota:
    """The primary rate limit as GitHub last reported it (`x-ratelimit-*` headers)."""

    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    reset_at: datetime | None = None
    resource: str | None = None

    def update(self, headers: httpx2.Headers) -> None:
        # One pass over the raw headers: each `headers.get` walks them all again, and every answer carries five.
        said = {name.lower(): value for name, value in headers.raw if name[:12].lower() == b"x-ratelimit-"}
        if (remaining := said.get(b"x-ratelimit-remaining")) is None:
            return
        self.remaining = int(remaining)
        self.limit = _int_or_none(said.get(b"x-ratelimit-limit"))
        self.used = _int_or_none(said.get(b"x-ratelimit-used"))
        reset = _int_or_none(said.get(b"x-ratelimit-reset"))
        self.reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else None
        resource = said.get(b"x-ratelimit-resource")
        self.resource = resource.decode("latin-1") if resource is not None else None


@dataclass(frozen=True)
class Limit:
    """A rate limit met: which one, how many seconds to wait, and when it lifts."""

    kind: Literal["primary", "secondary"]
    wait: float
    reset_at: datetime


@dataclass(frozen=True)
class Backoff:
    """Send again after sleeping `wait` seconds; `arrived` if the failed attempt may have reached GitHub."""

    wait: float
    arrived: bool


@dataclass(frozen=True)
class Pause:
    """Pause every request with this token for `limit.wait` seconds (a limit holds for the token), then resend."""

    limit: Limit


@dataclass(frozen=True)
class Stop:
    """Send no more. `limit`: the rate limit too long to wait out; `done`: a DELETE's 404 that means deleted."""

    limit: Limit | None = None
    done: bool = False


Decision = Backoff | Pause | Stop


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again, and how long a rate limit may be waited out before giving up.

    Usage: `RetryPolicy(max_retries=3, backoff=0.5)`: waits about 0.5 s, 1 s, 2 s between attempts.
    """

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 60.0
    # GitHub: after a secondary limit that names no wait, wait at least a minute, then back off.
    secondary_wait: float = 60.0

    def backoff_for(self, retry: int) -> float:
        """Exponential backoff with up to 25 % jitter, so parallel retries do not arrive together."""
        return float(min(self.max_backoff, self.backoff * 2**retry)) * (1 + random.random() / 4)  # noqa: S311

    def before_sending(self, quota: Quota, now: datetime) -> Pause | Stop | None:
        """Whether a quota known to be spent lets the request go (None), after a pause, or not at all.

        GitHub may ban integrations that keep calling while rate limited, so a long wait sends nothing.
        """
        if (limit := known_limit(quota, now)) is None:
            return None
        return Stop(limit) if limit.wait > self.max_wait else Pause(limit)

    def after_failure(self, exc: Exception, method: str, retries: int) -> Backoff | Stop:
        """After a timeout or broken connection: retry, except a POST (a restore) that may have arrived, and except
        a refused connection or an unknown host name: waiting does not help a wrong address."""
        if network_cause(exc) in ("refused", "dns"):
            return Stop()
        arrived = may_have_arrived(exc)
        if retries < self.max_retries and (method != "POST" or not arrived):
            return Backoff(self.backoff_for(retries), arrived)
        return Stop()

    def after_response(
        self, response: httpx2.Response, method: str, retries: int, now: datetime, *, earlier_arrived: bool
    ) -> Decision:
        """After an answer: wait out a rate limit, retry a 5xx that is safe to resend, or let it stand.

        A DELETE that answers 404 after a failed attempt that may have arrived is done: that attempt deleted it.
        """
        status = response.status_code
        if limit := rate_limit(response, retries, now, secondary_wait=self.secondary_wait):
            return Stop(limit) if limit.wait > self.max_wait or retries >= self.max_retries else Pause(limit)
        if status >= 500 and method != "POST" and retries < self.max_retries:
            return Backoff(self.backoff_for(retries), arrived=True)
        return Stop(done=status == 404 and method == "DELETE" and earlier_arrived)


def known_limit(quota: Quota, now: datetime) -> Limit | None:
    """The primary limit while the quota is known to be spent until a reset still to come, else None."""
    reset_at = quota.reset_at
    if quota.remaining != 0 or reset_at is None or reset_at <= now:
        return None
    return Limit("primary", (reset_at - now).total_seconds(), reset_at)


def rate_limit(response: httpx2.Response, retries: int, now: datetime, *, secondary_wait: float) -> Limit | None:
    """Which limit a 403/429 comes from and how long to wait, or None when it is not a rate limit.

    `secondary_wait` is the first wait for a secondary limit that names none (`RetryPolicy.secondary_wait`).
    """
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    retry_after = _int_or_none(headers.get("retry-after"))
    if headers.get("x-ratelimit-remaining") == "0" and retry_after is None:
        reset = _int_or_none(headers.get("x-ratelimit-reset"))
        reset_at = datetime.fromtimestamp(reset, UTC) if reset is not None else now + timedelta(hours=1)
        return Limit("primary", max(0.0, (reset_at - now).total_seconds()) + 1, reset_at)
    if retry_after is not None:
        wait = float(retry_after)
    elif response.status_code == 429 or "rate limit" in error_message(response).lower():
        # At least a minute, as GitHub asks; later waits double, with jitter so they spread out.
        wait = secondary_wait * 2**retries * (1 + random.random() / 10 if retries else 1)  # noqa: S311
    else:
        return None
    return Limit("secondary", wait, now + timedelta(seconds=wait))


def _int_or_none(value: str | bytes | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None
