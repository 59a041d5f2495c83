"""Token diagnostics: who the token is, what kind it is, its scopes, which tools it can use, and its quota.

GitHub's Packages API accepts classic personal access tokens (and GITHUB_TOKEN inside Actions), not
fine-grained tokens or GitHub App tokens; scopes come from the `X-OAuth-Scopes` header, which only classic
tokens carry. An Actions GITHUB_TOKEN or App installation token cannot list an organization's packages
(GitHub answers 400 "Invalid argument", cli/cli#9606): the tools that list them are reported as limited.
Nothing here ever returns the token itself, only what kind it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from github_packages_mcp.github.catalogue import AUTHENTICATED_USER, RATE_LIMIT, parse_scopes
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.credentials import INSTALLATION_TOKEN, token_kind
from github_packages_mcp.github.errors import APIError, Unauthorized
from github_packages_mcp.github.models import Result

__all__ = ["TokenCheck", "check_token", "granted_scopes", "missing_scopes", "token_kind"]

# A scope that includes another: write:packages can read, and repo covers repository-scoped registries.
_IMPLIED = {"write:packages": {"read:packages"}}


# What an installation token cannot do for an organization: list its packages, so neither can these tools.
_ORG_LISTING = "list_org_packages"
_LIMITED_BY_ORG_LISTING = {
    "audit_packages": "cannot audit an organization",
    "plan_version_cleanup": "needs an exact package name (no pattern) for an organization",
}


def granted_scopes(header: str | None) -> set[str] | None:
    """The scopes a classic token has (with those they imply), or None when GitHub sent no scope header."""
    scopes = parse_scopes(header)
    if scopes is None:
        return None
    return scopes.union(*(_IMPLIED.get(scope, set()) for scope in scopes))


def missing_scopes(needed: Iterable[str], granted: set[str]) -> list[str]:
    return sorted(set(needed) - granted)


class ToolAccess(Result):
    tool: str
    missing: list[str]


class Quota(Result):
    limit: int
    remaining: int
    used: int
    resets_at: str


class TokenCheck(Result):
    login: str | None = None
    token_type: str
    scopes: list[str] | None = None
    usable: list[str]
    unusable: list[ToolAccess]
    rate_limit: Quota | None = None
    notes: list[str]


async def check_token(github: GitHubClient, token: str | None, tools: Mapping[str, tuple[str, ...]]) -> TokenCheck:
    """Ask GitHub who the token is and what it may do; `tools` maps every tool name to the scopes it needs.

    Raises:
        Unauthorized: If GitHub rejects the token (401): invalid, expired or revoked.
    """
    kind = token_kind(token)
    notes: list[str] = []
    login, header = None, None
    try:
        response = await github.request("GET", AUTHENTICATED_USER)
        login, header = response.json().get("login"), response.headers.get("x-oauth-scopes")
    except Unauthorized:
        raise  # a token GitHub rejects can use no tool: an error, not a list of tools as if it might
    except APIError as exc:
        notes.append(f"GET {AUTHENTICATED_USER} answered {exc.status}: {exc.message}")
    granted = granted_scopes(header)
    if kind.startswith("fine-grained"):
        usable, unusable = [], [ToolAccess(tool=name, missing=["a classic token"]) for name in tools]
        notes.append("GitHub's Packages API does not accept fine-grained tokens: use a classic token.")
    elif granted is None:
        usable, unusable = list(tools), []
        notes.append(
            "GitHub reports no scopes for this token (an Actions or App token): what it may do depends on the "
            "workflow's `permissions: packages:` setting or the app's package permission."
        )
    else:
        usable = [name for name, needed in tools.items() if not missing_scopes(needed, granted)]
        unusable = [
            ToolAccess(tool=name, missing=missing)
            for name, needed in tools.items()
            if (missing := missing_scopes(needed, granted))
        ]
        if unusable:
            notes.append("Add the missing scopes at https://github.com/settings/tokens (edit the classic token).")
    if kind == INSTALLATION_TOKEN:
        usable, unusable = _without_org_listing(tools, usable, unusable, notes)
    return TokenCheck(
        login=login,
        token_type=kind,
        scopes=sorted(granted) if granted is not None else None,
        usable=usable,
        unusable=unusable,
        rate_limit=await _quota(github),
        notes=notes,
    )


def _without_org_listing(
    tools: Mapping[str, tuple[str, ...]], usable: list[str], unusable: list[ToolAccess], notes: list[str]
) -> tuple[list[str], list[ToolAccess]]:
    """The tools an installation token can use once listing an organization's packages is taken away, with a
    note on what that limits."""
    limits = [f"{_ORG_LISTING} cannot be used"]
    limits += [f"{name} {limit}" for name, limit in _LIMITED_BY_ORG_LISTING.items() if name in tools]
    limited = ", ".join(limits[:-1]) + f" and {limits[-1]}" if len(limits) > 1 else limits[0]
    if _ORG_LISTING in usable:
        usable = [name for name in usable if name != _ORG_LISTING]
        unusable = [*unusable, ToolAccess(tool=_ORG_LISTING, missing=["a classic token"])]
    notes.append(
        "GitHub does not let this kind of token list an organization's packages (it answers 400 \"Invalid "
        f'argument"): {limited}. Name the package instead (get_org_package), or list with a classic personal '
        "access token with read:packages."
    )
    return usable, unusable


async def _quota(github: GitHubClient) -> Quota | None:
    try:
        core = (await github.get_json(RATE_LIMIT))["resources"]["core"]  # /rate_limit costs no quota
    except (APIError, KeyError, TypeError):
        return None
    resets = datetime.fromtimestamp(core["reset"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Quota(limit=core["limit"], remaining=core["remaining"], used=core["used"], resets_at=resets)
