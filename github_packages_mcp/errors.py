"""What can go wrong when talking to GitHub, as one exception tree.

    GitHubError
     ├── TransportError      the request did not complete: network failure or timeout
     └── APIError            GitHub answered with an error status (GitHub's message kept)
          ├── Unauthorized   401: missing, expired or revoked token
          ├── Forbidden      403: missing scope or permission, or a rule GitHub enforces
          ├── NotFound       404: absent, or hidden from this token
          └── RateLimited    403/429 with rate-limit headers

`client.py` maps httpx's errors and GitHub's answers in; `server/` maps this tree out to tool errors.
No message here ever contains the token: requests are described by method and path only.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["APIError", "Forbidden", "GitHubError", "NotFound", "RateLimited", "TransportError", "Unauthorized"]


class GitHubError(Exception):
    """Base of every error raised by the GitHub client."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path


class TransportError(GitHubError):
    """The request did not complete (connection refused or reset, DNS, timeout)."""


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
    """403/429 from a primary or secondary rate limit."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        retry_after: float | None = None,
        reset_at: datetime | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status)
        self.retry_after = retry_after
        self.reset_at = reset_at

    @property
    def resets_in_seconds(self) -> float | None:
        """Seconds until the limit lifts, when GitHub said."""
        if self.retry_after is not None:
            return self.retry_after
        if self.reset_at is not None:
            return max(0.0, (self.reset_at - datetime.now(UTC)).total_seconds())
        return None
