"""Maps the client's exception tree out to tool errors that say what happened and what to do."""

from __future__ import annotations

from datetime import UTC, datetime

from github_packages_mcp.errors import APIError, Forbidden, GitHubError, NotFound, RateLimited, Unauthorized
from github_packages_mcp.tools.catalogue import Operation

__all__ = ["tool_error_message"]


def tool_error_message(exc: GitHubError, op: Operation) -> str:
    """One or two sentences for the assistant: the status, GitHub's own message, and the next step."""
    request = f"{exc.method} {exc.path}"
    if not isinstance(exc, APIError):
        return f"Could not complete {request}: {exc.message}. Nothing was changed; try again later."
    said = f"GitHub answered {exc.status} to {request}: {exc.message}."
    needed = ", ".join(op.scopes)
    if isinstance(exc, RateLimited):
        return f"{said} {_rate_limit_advice(exc)}"
    if isinstance(exc, Unauthorized):
        return (
            f"{said} The token is missing, expired or revoked. Use a classic personal access token "
            f"with the scopes {needed}."
        )
    if isinstance(exc, Forbidden):
        return f"{said} {_scope_advice(exc, needed)}"
    if isinstance(exc, NotFound):
        return (
            f"{said} The package or version may not exist, may be deleted, or may be hidden from this token: "
            f"GitHub also answers 404 when the token lacks access to it or the read:packages scope."
        )
    if exc.status >= 500:
        return f"{said} This is a problem on GitHub's side; nothing was changed, try again later."
    return said


def _scope_advice(exc: APIError, needed: str) -> str:
    accepted = _scope_set(exc.accepted_scopes) or set(needed.split(", "))
    held = _scope_set(exc.token_scopes)
    if exc.token_scopes is not None and (missing := sorted(accepted - held)):
        return f"The token lacks the scope {', '.join(missing)} (it has: {', '.join(sorted(held)) or 'none'})."
    return (
        f"This needs a classic token with {needed} and admin permission on the package; "
        "GitHub may also refuse it by one of its rules."
    )


def _scope_set(header: str | None) -> set[str]:
    return {scope.strip() for scope in (header or "").split(",") if scope.strip()}


def _rate_limit_advice(exc: RateLimited) -> str:
    seconds = exc.resets_in_seconds
    if seconds is None:
        return "A secondary rate limit was hit; wait at least a minute before retrying."
    at = exc.reset_at or datetime.fromtimestamp(datetime.now(UTC).timestamp() + seconds, UTC)
    return f"The rate limit resets at {at:%H:%M:%S} UTC, in {max(1, round(seconds / 60))} minute(s); retry then."
