"""What can go wrong when talking to GitHub, as two exception trees.

    InvalidRequest           refused here, before anything was sent; the message says what to change
     └── InvalidArguments    arguments GitHub would refuse, or that contradict each other

    GitHubError
     ├── TransportError      the request did not complete: network failure or timeout
     ├── IncompleteListing   a listing that cannot be read whole (no partial listing is ever returned)
     └── APIError            GitHub answered with an error status (GitHub's message kept)
          ├── Redirected     3xx: never followed, never a success (where to: the host only)
          ├── Unauthorized   401: missing, expired or revoked token
          ├── Forbidden      403: missing scope or permission, or a rule GitHub enforces
          ├── NotFound       404: absent, or hidden from this token
          └── RateLimited    403/429 from a rate limit too long to wait out (which limit, when it resets)

The functions below the classes map httpx's errors and GitHub's answers in: `transport_error`,
`error_from_response`, `redirected`, `rate_limited` and `quota_spent`, which `client.py` raises once `retry.py`
says to stop retrying and waiting. An `APIError` carries the kind of token the request acted with
(`credentials.token_kind`), never the token. The layers above raise their own `InvalidRequest` subclasses;
`server/advice.py` maps both trees out to tool errors.
No message here ever contains the token: requests are described by method and path only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

__all__ = [
    "APIError",
    "Forbidden",
    "GitHubError",
    "IncompleteListing",
    "InvalidArguments",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "Redirected",
    "TransportError",
    "Unauthorized",
    "error_from_response",
    "error_message",
    "may_have_arrived",
    "quota_spent",
    "rate_limited",
    "redirected",
    "transport_error",
]


class InvalidRequest(ValueError):
    """A request refused before anything was sent; its message is whole, for the person to act on."""


class InvalidArguments(InvalidRequest):
    """Arguments that pass the schema but that GitHub would refuse, or that contradict each other."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"Invalid arguments, nothing was sent: {problem}")
        self.problem = problem


class GitHubError(Exception):
    """Base of every error raised by the GitHub client."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path


class TransportError(GitHubError):
    """The request did not complete (connection refused or reset, DNS, timeout).

    `may_have_arrived` is False when the request surely never reached GitHub (no connection was made).
    """

    def __init__(self, message: str, *, method: str, path: str, may_have_arrived: bool) -> None:
        super().__init__(message, method=method, path=path)
        self.may_have_arrived = may_have_arrived


class IncompleteListing(GitHubError):
    """A listing that cannot be read whole: GitHub's result window was reached without a `Link` header saying
    where the listing ends, or a page repeated only what was already read. Nothing partial is returned."""


class APIError(GitHubError):
    """GitHub answered with a 3xx, 4xx or 5xx status (a 3xx as `Redirected`).

    `token_kind` is the kind of token the request acted with (`credentials.token_kind`), never the token.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        documentation_url: str | None = None,
        accepted_scopes: str | None = None,
        token_scopes: str | None = None,
        token_kind: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status = status
        self.documentation_url = documentation_url
        self.accepted_scopes = accepted_scopes
        self.token_scopes = token_scopes
        self.token_kind = token_kind


class Redirected(APIError):
    """3xx: GitHub (or something in between) sent the request elsewhere. Redirects are never followed, so the
    token never travels to another address and a redirected DELETE is never reported done.

    `location_host` is the host of the `Location` header (never its path or query, which may carry secrets);
    None when the header is missing or names no host (elsewhere on the same host).
    """

    def __init__(self, message: str, *, method: str, path: str, status: int, location_host: str | None) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.location_host = location_host


class Unauthorized(APIError):
    """401: the token is missing, malformed, expired or revoked."""


class Forbidden(APIError):
    """403: the token lacks a scope or permission, or GitHub refuses the action."""


class NotFound(APIError):
    """404: the resource does not exist, or this token may not see it."""


class RateLimited(APIError):
    """403/429 from GitHub's primary (hourly quota) or secondary (burst) rate limit, not waited out."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        limit: Literal["primary", "secondary"],
        reset_at: datetime,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.limit = limit
        self.reset_at = reset_at

    @property
    def resets_in_seconds(self) -> float:
        return max(0.0, (self.reset_at - datetime.now(UTC)).total_seconds())


_STATUS_ERRORS: dict[int, type[APIError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound}
# Failures after which the request surely never reached GitHub, so even a restore may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def may_have_arrived(exc: Exception) -> bool:
    """False only when no connection was made, so the request surely never reached GitHub."""
    return not isinstance(exc, _NOT_SENT)


def transport_error(exc: Exception, method: str, path: str) -> TransportError:
    """The `TransportError` for an httpx timeout or network failure."""
    if isinstance(exc, httpx.TimeoutException):
        message = f"GitHub did not answer in time ({type(exc).__name__})"
    else:
        message = f"could not reach GitHub: {exc or type(exc).__name__}"
    return TransportError(message, method=method, path=path, may_have_arrived=may_have_arrived(exc))


def error_from_response(response: httpx.Response, method: str, path: str, *, token_kind: str | None = None) -> APIError:
    """The `APIError` (a subclass where one fits) for an error answer, with GitHub's message and scopes.

    `token_kind` is the kind of token the request acted with (never the token).
    """
    body = _error_body(response)
    return _STATUS_ERRORS.get(response.status_code, APIError)(
        error_message(response, body),
        method=method,
        path=path,
        status=response.status_code,
        documentation_url=body.get("documentation_url"),
        accepted_scopes=response.headers.get("x-accepted-oauth-scopes"),
        token_scopes=response.headers.get("x-oauth-scopes"),
        token_kind=token_kind,
    )


def redirected(response: httpx.Response, method: str, path: str) -> Redirected:
    """The `Redirected` for a 3xx answer: where it pointed, by host only (a query string may carry a token)."""
    location = response.headers.get("location")
    try:
        host = urlsplit(location).hostname if location else None
    except ValueError:  # a Location that is no URL at all
        host = None
    where = f"to {host}" if host else "without naming a host" if location else "without saying where"
    return Redirected(
        f"redirected {where} ({response.reason_phrase}); this server never follows redirects",
        method=method, path=path, status=response.status_code, location_host=host,
    )  # fmt: skip


def rate_limited(
    response: httpx.Response, method: str, path: str, limit: Literal["primary", "secondary"], reset_at: datetime
) -> RateLimited:
    """The `RateLimited` for a 403/429 rate-limit answer that is too long to wait out."""
    return RateLimited(
        error_message(response), method=method, path=path, status=response.status_code, limit=limit,
        reset_at=reset_at,
    )  # fmt: skip


def quota_spent(method: str, path: str, reset_at: datetime) -> RateLimited:
    """The `RateLimited` for a request not sent because the primary quota is known to be spent."""
    return RateLimited(
        "the primary rate limit is spent", method=method, path=path, status=403, limit="primary", reset_at=reset_at
    )


def _error_body(response: httpx.Response) -> dict[str, Any]:
    """GitHub's error object (`message`, `documentation_url`), or {} when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_message(response: httpx.Response, body: dict[str, Any] | None = None) -> str:
    """GitHub's `message`, else the reason phrase; `body` when the caller has already parsed it."""
    message = (body if body is not None else _error_body(response)).get("message")
    return str(message or response.reason_phrase or "error")
