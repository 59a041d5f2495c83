"""What can go wrong talking to GitHub: the `GitHubError` branch of the package's error root (`errors.py`),
and the one refusal that belongs to the HTTP client.

    GitHubError              GitHub answered with an error, or could not be reached
     ├── TransportError      the request did not complete: network failure or timeout
     ├── IncompleteListing   a listing that cannot be read whole (no partial listing is ever returned)
     └── APIError            GitHub answered with an error status (GitHub's message kept)
          ├── Redirected     3xx: never followed, never a success (where to: the host only)
          ├── Unauthorized   401: missing, expired or revoked token
          ├── Forbidden      403: missing scope or permission, or a rule GitHub enforces
          ├── NotFound       404: absent, or hidden from this token
          ├── NotDeleted     404 to a DELETE whose target is still there: GitHub's answer to a token without admin
          │                  rights on a package it can see
          └── RateLimited    403/429 from a rate limit too long to wait out (which limit, when it resets)
    UnusableToken            an `InvalidRequest`: a token with characters an HTTP header cannot carry (never
                             sent, never shown)

The functions below the classes map httpx2's errors and GitHub's answers in: `transport_error`,
`error_from_response`, `redirected`, `rate_limited` and `quota_spent`, which `client.py` raises once `retry.py`
says to stop retrying and waiting. An `APIError` carries the kind of token the request acted with
(`credentials.token_kind`), never the token. `toolkit/advice.py` maps the tree out to tool errors.
No message here ever contains the token: requests are described by method and path only, and text that comes
from the HTTP stack or from the other side (an exception's message, GitHub's `message`) passes through
`redaction.redact`, which removes the token of the request in every spelling and any `Authorization`, `Bearer`
or `Basic` value.
"""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx2

from github_packages_mcp.errors import GitHubPackagesError, InvalidRequest
from github_packages_mcp.github.redaction import redact, scrub

NetworkCause = Literal["timeout", "refused", "dns", "tls", "other"]
# getaddrinfo's "no such name" (a typo), as opposed to a temporary failure of the resolver.
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}

__all__ = [
    "APIError",
    "Forbidden",
    "GitHubError",
    "IncompleteListing",
    "NotDeleted",
    "NotFound",
    "RateLimited",
    "Redirected",
    "TransportError",
    "Unauthorized",
    "UnusableToken",
    "error_from_response",
    "error_message",
    "may_have_arrived",
    "quota_spent",
    "rate_limited",
    "redirected",
    "transport_error",
]


class UnusableToken(InvalidRequest):
    """The token holds characters an HTTP header cannot carry (a line ending, a space, a non-ASCII character), so
    the request was not built: httpx2 would refuse the header and repeat its value in the error."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"Nothing was sent: the GitHub token {problem}, which an HTTP header cannot carry. Set the token again "
            "without such characters (a file saved with CRLF line endings, or a paste, can add them)."
        )
        self.problem = problem


class GitHubError(GitHubPackagesError):
    """Base of every error raised by the GitHub client. Its message never holds a credential (`redact`)."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path


class TransportError(GitHubError):
    """The request did not complete (connection refused or reset, DNS, timeout).

    `may_have_arrived` is False when the request surely never reached GitHub (no connection was made).
    """

    def __init__(
        self, message: str, *, method: str, path: str, may_have_arrived: bool, cause: NetworkCause = "other"
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.may_have_arrived = may_have_arrived
        self.cause = cause

    @property
    def lasting(self) -> bool:
        """Whether waiting will not help: nothing listens at that address, or its name does not exist."""
        return self.cause in ("refused", "dns")


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
    """404: the resource does not exist, or this token may not see it.

    `owner_exists` is what reading the owner of an `/orgs/{org}` or `/users/{username}` request said afterwards
    (`insights.suggest.owner_checked`), as GitHub answers 404 both for an unknown owner and an unknown package;
    None when it was not read, or could not be.
    """

    owner_exists: bool | None = None
    owner_read: bool = False  # read once per error at most


class NotDeleted(APIError):
    """404 to a DELETE, yet the package or version is still there when read again: GitHub answers a token that can
    see a package but not administer it 404 "Package not found." rather than 403
    (docs/github-behaviour.md#delete-without-admin). Not a NotFound: nothing here is gone."""

    def __init__(self, said: str, *, path: str, what: str) -> None:
        super().__init__(
            f"GitHub answered 404 ({said.rstrip('.')}) but the {what} is still there: the token likely lacks admin "
            "rights on this package (GitHub answers a delete without them with 404, not 403)",
            method="DELETE", path=path, status=404,
        )  # fmt: skip


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
_NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


def may_have_arrived(exc: Exception) -> bool:
    """False only when no connection was made, so the request surely never reached GitHub."""
    return not isinstance(exc, _NOT_SENT)


def transport_error(exc: Exception, method: str, path: str, token: str | None = None) -> TransportError:
    """The `TransportError` for an httpx2 timeout or network failure.

    `token` is the one the failed request acted with: it is redacted from the message, and from the arguments
    of `exc` and of every exception chained to it, so no traceback of the chain shows it either.
    """
    scrub(exc, token)
    cause = network_cause(exc)
    host = _host_of(exc)
    # The registry is read by absolute URL, the API by path: say which setting names the address.
    setting = "registry_url (GITHUB_REGISTRY_URL)" if path.startswith("http") else "api_url (GITHUB_API_URL)"
    detail = redact(str(exc), token) or type(exc).__name__
    message = {
        "timeout": f"{host} did not answer in time ({type(exc).__name__})",
        "refused": f"the connection to {host} was refused: nothing listens there; check {setting}",
        "dns": f"{host} could not be found (DNS): check {setting} for a typo",
        "tls": f"the TLS handshake with {host} failed ({detail}); check {setting}, or a proxy that intercepts TLS",
    }.get(cause, f"could not reach {host}: {detail}")
    return TransportError(message, method=method, path=path, may_have_arrived=may_have_arrived(exc), cause=cause)


def network_cause(exc: BaseException) -> NetworkCause:
    """What kind of network failure `exc` is, from it and the exceptions chained to it."""
    if isinstance(exc, httpx2.TimeoutException):
        return "timeout"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or "connection refused" in str(seen).lower():
            return "refused"
        if isinstance(seen, socket.gaierror) and seen.errno in _NO_SUCH_NAME:
            return "dns"
        if any(text in str(seen).lower() for text in ("name or service not known", "nodename nor servname")):
            return "dns"
        if isinstance(seen, ssl.SSLError):
            return "tls"
        seen = seen.__cause__ or seen.__context__
    return "other"


def _host_of(exc: Exception) -> str:
    try:
        url = exc.request.url  # type: ignore[attr-defined]  # httpx2's errors carry their request, when there is one
    except (AttributeError, RuntimeError):
        return "GitHub"
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def error_from_response(
    response: httpx2.Response, method: str, path: str, *, token_kind: str | None = None, token: str | None = None
) -> APIError:
    """The `APIError` (a subclass where one fits) for an error answer, with GitHub's message and scopes.

    `token_kind` is the kind of token the request acted with; `token`, that token, is redacted from GitHub's
    message should anything in between echo it.
    """
    body = _error_body(response)
    return _STATUS_ERRORS.get(response.status_code, APIError)(
        redact(error_message(response, body), token),
        method=method,
        path=path,
        status=response.status_code,
        documentation_url=body.get("documentation_url"),
        accepted_scopes=response.headers.get("x-accepted-oauth-scopes"),
        token_scopes=response.headers.get("x-oauth-scopes"),
        token_kind=token_kind,
    )


def redirected(response: httpx2.Response, method: str, path: str) -> Redirected:
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
    response: httpx2.Response, method: str, path: str, limit: Literal["primary", "secondary"], reset_at: datetime
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


def _error_body(response: httpx2.Response) -> dict[str, Any]:
    """GitHub's error object (`message`, `documentation_url`), or {} when the body is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def error_message(response: httpx2.Response, body: dict[str, Any] | None = None) -> str:
    """GitHub's `message`, else the reason phrase; `body` when the caller has already parsed it."""
    message = (body if body is not None else _error_body(response)).get("message")
    return str(message or response.reason_phrase or "error")
