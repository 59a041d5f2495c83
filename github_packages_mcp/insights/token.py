"""Token diagnostics: who the token is, what kind it is, its scopes, which tools it can use, and its quota.

GitHub's Packages API accepts classic personal access tokens (and GITHUB_TOKEN inside Actions), not
fine-grained tokens or GitHub App tokens; scopes come from the `X-OAuth-Scopes` header, which only classic
tokens carry. Nothing here ever returns the token itself, only what kind it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from github_packages_mcp.github.catalogue import AUTHENTICATED_USER, RATE_LIMIT, parse_scopes
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.errors import APIError
from github_packages_mcp.github.models import Result

__all__ = ["TokenCheck", "check_token", "granted_scopes", "missing_scopes", "token_kind"]

# GitHub's token prefixes (https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/).
_KINDS = (
    ("github_pat_", "fine-grained personal access token"),
    ("ghp_", "classic personal access token"),
    ("gho_", "OAuth app token"),
    ("ghu_", "GitHub App user token"),
    ("ghs_", "GitHub Actions or GitHub App installation token"),
)
# A scope that includes another: write:packages can read, and repo covers repository-scoped registries.
_IMPLIED = {"write:packages": {"read:packages"}}


def token_kind(token: str | None) -> str:
    if not token:
        return "none"
    return next((kind for prefix, kind in _KINDS if token.startswith(prefix)), "unknown kind (no GitHub prefix)")


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
    """Ask GitHub who the token is and what it may do; `tools` maps every tool name to the scopes it needs."""
    kind = token_kind(token)
    notes: list[str] = []
    login, header = None, None
    try:
        response = await github.request("GET", AUTHENTICATED_USER)
        login, header = response.json().get("login"), response.headers.get("x-oauth-scopes")
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
    return TokenCheck(
        login=login,
        token_type=kind,
        scopes=sorted(granted) if granted is not None else None,
        usable=usable,
        unusable=unusable,
        rate_limit=await _quota(github),
        notes=notes,
    )


async def _quota(github: GitHubClient) -> Quota | None:
    try:
        core = (await github.get_json(RATE_LIMIT))["resources"]["core"]  # /rate_limit costs no quota
    except (APIError, KeyError, TypeError):
        return None
    resets = datetime.fromtimestamp(core["reset"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Quota(limit=core["limit"], remaining=core["remaining"], used=core["used"], resets_at=resets)
