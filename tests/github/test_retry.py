"""The retry and rate-limit decisions on their own: answers and failures in, decisions out; no network, no sleeps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from github_packages_mcp.github.retry import Backoff, Limit, Pause, Quota, RetryPolicy, Stop, known_limit, rate_limit

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy()
SECONDARY = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}


def primary(reset_in: float) -> httpx2.Response:
    reset = int((NOW + timedelta(seconds=reset_in)).timestamp())
    return httpx2.Response(403, json={"message": "API rate limit exceeded"}, headers={
        "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset),
    })  # fmt: skip


def limit_of(response: httpx2.Response, retries: int = 0) -> Limit | None:
    return rate_limit(response, retries, NOW, secondary_wait=POLICY.secondary_wait)


def test_a_spent_primary_limit_waits_until_its_reset_and_a_second_more() -> None:
    limit = Limit("primary", 31.0, NOW + timedelta(seconds=30))
    assert limit_of(primary(30)) == limit
    assert POLICY.after_response(primary(30), "GET", 0, NOW, earlier_arrived=False) == Pause(limit)


def test_a_primary_limit_whose_reset_has_passed_waits_one_second() -> None:
    limit = limit_of(primary(-120))
    assert limit is not None and (limit.kind, limit.wait) == ("primary", 1.0)


def test_retry_after_is_honoured_even_with_the_quota_spent() -> None:
    response = httpx2.Response(403, json=SECONDARY, headers={"retry-after": "7", "x-ratelimit-remaining": "0"})
    assert limit_of(response) == Limit("secondary", 7.0, NOW + timedelta(seconds=7))


def test_a_headerless_429_waits_the_secondary_wait_then_doubles_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.5)
    limited = httpx2.Response(429)
    assert limit_of(limited, 0) == Limit("secondary", 60.0, NOW + timedelta(seconds=60))
    assert limit_of(limited, 1) == Limit("secondary", 126.0, NOW + timedelta(seconds=126))  # 60 * 2 * (1 + 0.05)
    assert limit_of(limited, 2) == Limit("secondary", 252.0, NOW + timedelta(seconds=252))


def test_a_403_that_is_not_a_rate_limit_is_an_answer_to_keep() -> None:
    refused = httpx2.Response(
        403, json={"message": "Must have admin rights"}, headers={"x-ratelimit-remaining": "4000"}
    )
    assert limit_of(refused) is None
    assert POLICY.after_response(refused, "GET", 0, NOW, earlier_arrived=False) == Stop()


def test_waits_beyond_max_wait_or_after_the_last_retry_give_up() -> None:
    long_wait = httpx2.Response(403, json=SECONDARY, headers={"retry-after": "61"})
    short_wait = httpx2.Response(403, json=SECONDARY, headers={"retry-after": "5"})
    decide = POLICY.after_response
    assert decide(long_wait, "GET", 0, NOW, earlier_arrived=False) == Stop(limit_of(long_wait))
    five_seconds = Limit("secondary", 5.0, NOW + timedelta(seconds=5))
    assert decide(short_wait, "GET", 0, NOW, earlier_arrived=False) == Pause(five_seconds)
    assert decide(short_wait, "GET", 3, NOW, earlier_arrived=False) == Stop(five_seconds)
    assert decide(primary(3600), "GET", 0, NOW, earlier_arrived=False) == Stop(limit_of(primary(3600)))


def test_a_quota_known_to_be_spent_pauses_or_sends_nothing() -> None:
    def spent(reset_in: float) -> Quota:
        return Quota(remaining=0, reset_at=NOW + timedelta(seconds=reset_in))

    assert POLICY.before_sending(spent(30), NOW) == Pause(Limit("primary", 30.0, NOW + timedelta(seconds=30)))
    assert POLICY.before_sending(spent(3600), NOW) == Stop(Limit("primary", 3600.0, NOW + timedelta(hours=1)))
    assert POLICY.before_sending(spent(-1), NOW) is None
    assert known_limit(Quota(remaining=5, reset_at=NOW + timedelta(hours=1)), NOW) is None
    assert known_limit(Quota(), NOW) is None


def test_5xx_is_retried_except_for_a_restore_and_not_after_the_last_retry() -> None:
    unavailable = httpx2.Response(503)
    decision = POLICY.after_response(unavailable, "GET", 0, NOW, earlier_arrived=False)
    assert isinstance(decision, Backoff) and decision.arrived and 0.5 <= decision.wait <= 0.625
    assert POLICY.after_response(unavailable, "POST", 0, NOW, earlier_arrived=False) == Stop()
    assert POLICY.after_response(unavailable, "GET", 3, NOW, earlier_arrived=False) == Stop()


def test_a_delete_answering_404_after_a_failed_attempt_that_arrived_is_done() -> None:
    missing = httpx2.Response(404, json={"message": "Not Found"})
    assert POLICY.after_response(missing, "DELETE", 1, NOW, earlier_arrived=True) == Stop(done=True)
    assert POLICY.after_response(missing, "DELETE", 0, NOW, earlier_arrived=False) == Stop()
    assert POLICY.after_response(missing, "GET", 1, NOW, earlier_arrived=True) == Stop()


def test_a_restore_is_resent_only_when_it_surely_never_left() -> None:
    unsent, lost = httpx2.ConnectTimeout("connect timed out"), httpx2.ReadError("connection reset")
    never_left = POLICY.after_failure(unsent, "POST", 0)
    assert isinstance(never_left, Backoff) and not never_left.arrived
    assert POLICY.after_failure(lost, "POST", 0) == Stop()
    may_have_arrived = POLICY.after_failure(lost, "DELETE", 0)
    assert isinstance(may_have_arrived, Backoff) and may_have_arrived.arrived
    assert POLICY.after_failure(unsent, "GET", 3) == Stop()


def test_a_wrong_address_is_not_retried() -> None:
    # Waiting does not fix a typo in api_url: a refused connection or an unknown name stops at once.
    assert POLICY.after_failure(httpx2.ConnectError("[Errno 111] Connection refused"), "GET", 0) == Stop()
    unknown = httpx2.ConnectError("[Errno -2] Name or service not known")
    assert POLICY.after_failure(unknown, "GET", 0) == Stop()
    assert isinstance(
        POLICY.after_failure(httpx2.ConnectError("Temporary failure in name resolution"), "GET", 0), Backoff
    )
