"""What can go wrong when talking to GitHub, as two exception trees.

    InvalidRequest           refused here, before anything was sent; the message says what to change
     └── InvalidArguments    arguments GitHub would refuse, or that contradict each other

    GitHubError
     ├── TransportError      the request did not complete: network failure or timeout
     └── APIError            GitHub answered with an error status (GitHub's message kept)
          ├── Unauthorized   401: missing, expired or revoked token
          ├── Forbidden      403: missing scope or permission, or a rule GitHub enforces
          ├── NotFound       404: absent, or hidden from this token
          └── RateLimited    403/429 from a rate limit too long to wait out (which limit, when it resets)

`client.py` maps httpx's errors and GitHub's answers in (after its retries and waits); the layers above raise
their own `InvalidRequest` subclasses; `server/advice.py` maps both trees out to tool errors.
No message here ever contains the token: requests are described by method and path only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "APIError",
    "Forbidden",
    "GitHubError",
    "InvalidArguments",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "TransportError",
    "Unauthorized",
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


class APIError(GitHubError):
    """GitHub answered with a 4xx or 5xx status."""

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
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.status = status
        self.documentation_url = documentation_url
        self.accepted_scopes = accepted_scopes
        self.token_scopes = token_scopes


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
