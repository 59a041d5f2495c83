"""Maps the server's errors (`errors.py`) out to tool errors that say what happened and what to do: a
`GitHubError` with the next step added, any other error's whole message as it is."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from mcp.server.mcpserver.exceptions import ToolError

from github_packages_mcp.errors import GitHubPackagesError
from github_packages_mcp.github.catalogue import Owner, arguments_at, operation, operation_at, parse_scopes
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.credentials import INSTALLATION_TOKEN
from github_packages_mcp.github.errors import (
    APIError,
    Forbidden,
    GitHubError,
    IncompleteListing,
    NotDeleted,
    NotFound,
    RateLimited,
    Redirected,
    TransportError,
    Unauthorized,
)
from github_packages_mcp.github.models import PackageList
from github_packages_mcp.github.untrusted import quoted

__all__ = ["owner_known", "tool_error_message", "tool_errors"]

# How GitHub words a restore refused because the name was used again (assumed: docs/github-behaviour.md#restore-window).
_NAME_REUSED = ("reused", "published after the deletion")


@contextmanager
def tool_errors(scopes: tuple[str, ...], check_with: str) -> Iterator[None]:
    """Turn what the user or GitHub can fix into a readable tool error.

    `scopes` are what the tool needs; `check_with` names the read tool that shows whether a request that may
    have reached GitHub took effect.
    """
    try:
        yield
    except GitHubError as exc:
        raise ToolError(tool_error_message(exc, scopes, check_with)) from None
    except GitHubPackagesError as exc:  # refused before sending, or the server's records unavailable
        raise ToolError(str(exc)) from None


@asynccontextmanager
async def owner_known(github: GitHubClient) -> AsyncIterator[None]:
    """A 404 from the block, once it is known whether its owner exists (`suggest.owner_checked`), which the advice
    then says; inside `tool_errors`."""
    try:
        yield
    except NotFound as exc:
        # Imported on this error path only: serving stdio starts without the insights (tests/test_cli.py).
        from github_packages_mcp.insights.suggest import owner_checked

        await owner_checked(github, exc)
        raise


def tool_error_message(exc: GitHubError, scopes: tuple[str, ...], check_with: str) -> str:
    """One or two sentences for the assistant: the status, GitHub's own message, and the next step.

    `scopes` are what the failed tool needs; `check_with` names the read tool that shows whether a request
    that may have reached GitHub took effect.
    """
    request = f"{exc.method} {exc.path}"
    if isinstance(exc, TransportError):
        if exc.method != "GET" and exc.may_have_arrived:
            return (
                f"Could not complete {request}: {exc.message}. The request may have reached GitHub: "
                f"check with {check_with} before trying again."
            )
        if exc.lasting:
            return f"Could not complete {request}: {exc.message}. Nothing was sent."
        return f"Could not complete {request}: {exc.message}. Nothing was changed; try again later."
    if isinstance(exc, IncompleteListing):
        return (
            f"Could not read all of {request}: {exc.message}. Nothing was changed. Narrow the listing (the list "
            "tools take visibility) or name the package instead of listing (the get tools, or a cleanup plan "
            "with an exact package name)."
        )
    assert isinstance(exc, APIError)
    said = f"GitHub answered {exc.status} to {request}: {exc.message.rstrip('.')}."
    needed = ", ".join(scopes)
    if isinstance(exc, Redirected):
        return f"{said} {_redirect_advice(exc, check_with)}"
    if isinstance(exc, RateLimited):
        return f"{said} {_rate_limit_advice(exc)}"
    if listing := _listing_refused_to_installation_token(exc):
        return f"{said} {listing}"
    if isinstance(exc, Unauthorized):
        wanted = f" with the scopes {needed}" if needed else ""
        return (
            f"{said} The token is invalid: missing, expired or revoked, so no tool can be used with it. Use a "
            f"classic personal access token{wanted}."
        )
    if isinstance(exc, Forbidden):
        if exc.method == "POST" and any(word in exc.message.lower() for word in _NAME_REUSED):
            return (
                f"{said} GitHub does not restore a package or version whose name was used again after its deletion; "
                "the newer one stays. Nothing was changed."
            )
        return f"{said} {_scope_advice(exc, needed)}"
    if isinstance(exc, NotFound | NotDeleted):
        return _not_found_advice(exc, said, request)
    if exc.status >= 500:
        return f"{said} This is a problem on GitHub's side; nothing was changed, try again later."
    return said


def _not_found_advice(exc: APIError, said: str, request: str) -> str:
    if isinstance(exc, NotDeleted):  # answered 404, yet still there when read again
        return (
            f"Nothing was deleted by {request}: {exc.message}. Use a classic token of a user with the Admin role on "
            "the package (its settings on GitHub, Manage access), then try again."
        )
    if exc.documentation_url is None and not exc.path.startswith("http"):
        # GitHub's API answers every 404 with its JSON error (and a documentation_url); anything else is another
        # server, or another path on it: most likely a wrong api_url.
        return (
            f"{said} That answer is not GitHub's API: check api_url (GITHUB_API_URL): https://api.github.com for "
            "GitHub.com, https://HOST/api/v3 for GitHub Enterprise Server. Nothing was changed."
        )
    if isinstance(exc, NotFound) and (missing := _what_is_missing(exc)) is not None:
        return f"{said} {missing}"
    return (
        f"{said} The package or version may not exist, may be deleted, or may be hidden from this token: "
        f"GitHub also answers 404 when the token lacks access to it or the read:packages scope."
    )


def _what_is_missing(exc: NotFound) -> str | None:
    """The owner, or the owner's package, once the owner was read (`suggest.owner_checked`); None when that is not
    known (GitHub's 404 says neither)."""
    found = arguments_at(exc.method, exc.path)
    if found is None:
        return None
    op, arguments = found
    owner = Owner.of(arguments)
    if exc.owner_exists is False:
        kind = "organization" if owner.kind == "org" else "user"
        return f"There is no {kind} named {quoted(owner.login or '')} on GitHub (or the token cannot see it)."
    name = arguments.get("package_name")
    # A restore's 404 may be a package that is there and not deleted; a version's, a package without that version.
    if name is None or op.kind == "restore" or "package_version_id" in arguments:
        return None
    if owner.kind == "my":
        return f"You have no {arguments['package_type']} package named {quoted(name)} (or the token cannot see it)."
    if exc.owner_exists:
        who = owner.describe()
        return (
            f"{who[0].upper()}{who[1:]} has no {arguments['package_type']} package named {quoted(name)} (or the "
            "token cannot see it)."
        )
    return None


def _scope_advice(exc: APIError, needed: str) -> str:
    accepted = parse_scopes(exc.accepted_scopes) or set(needed.split(", "))
    held = parse_scopes(exc.token_scopes) or set()
    if exc.token_scopes is not None and (missing := sorted(accepted - held)):
        return f"The token lacks the scope {', '.join(missing)} (it has: {', '.join(sorted(held)) or 'none'})."
    return (
        f"This needs a classic token with {needed} and admin permission on the package; "
        "GitHub may also refuse it by one of its rules."
    )


def _rate_limit_advice(exc: RateLimited) -> str:
    minutes = max(1, math.ceil(exc.resets_in_seconds / 60))
    which = (
        "GitHub's primary rate limit (the hourly request quota of this token) is spent"
        if exc.limit == "primary"
        else "GitHub's secondary rate limit (too many requests in a short time) was hit"
    )
    return f"{which}. It resets at {exc.reset_at:%Y-%m-%d %H:%M:%S} UTC, in {minutes} minute(s); retry then."


def _redirect_advice(exc: Redirected, check_with: str) -> str:
    config = (
        "If every request to the registry is redirected, check registry_url."
        if exc.path.startswith(("https:", "http:"))  # the registry is read by absolute URL, the API by path
        else "If every request is redirected, check api_url (GitHub Enterprise Server: https://HOST/api/v3)."
    )
    if exc.method == "GET":
        return f"Nothing was read. {config}"
    return f"Nothing was done: the request was not carried out. Check with {check_with} before trying again. {config}"


def _listing_refused_to_installation_token(exc: APIError) -> str | None:
    """What works instead, when GitHub refuses an Actions or App installation token a list of packages.

    GitHub answers such a token's list-packages request with 400 "Invalid argument" (cli/cli#9606), though the
    same token may read, delete and restore a package it names.
    """
    listing = operation_at(exc.method, exc.path)
    if (
        exc.status != 400
        or exc.token_kind != INSTALLATION_TOKEN
        or listing is None
        or listing.result is not PackageList
    ):
        return None
    whose = "an organization's" if listing.owner == "org" else "an account's"
    get = operation(f"get_{listing.owner}_package").name
    return (
        f"GitHub does not let an Actions GITHUB_TOKEN or a GitHub App installation token list {whose} packages. "
        f"Name the package instead: {get}, or plan_version_cleanup with the exact package name rather than a "
        "pattern. To list, use a classic personal access token with read:packages."
    )
