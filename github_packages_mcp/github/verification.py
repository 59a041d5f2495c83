"""Whether GitHub knows a token: one GET /user, read the way GitHub answers it.

Only a 401 says a token is unknown (made up, expired or revoked). A 2xx proves it is known, and so does a 403 that
is no rate limit: GitHub authenticated the token and then refused it the account, as it does for Actions and GitHub
App installation tokens, which cannot read /user ("Resource not accessible by integration",
docs/github-behaviour.md#actions-tokens). A rate limit proves it only when the quota GitHub reports is a token's:
requests GitHub could not tie to a token share their address's quota of `UNAUTHENTICATED_QUOTA` an hour, so a rate
limit under that quota could be the address's, whatever the token. Anything else (no answer, 5xx, a redirect, another
4xx) says neither, and is raised for the caller to tell apart from a verdict.
"""

from __future__ import annotations

from typing import Final

from github_packages_mcp.github.catalogue import AUTHENTICATED_USER
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.errors import Forbidden, RateLimited, Unauthorized

__all__ = ["UNAUTHENTICATED_QUOTA", "token_is_known"]

# GitHub's hourly quota for requests without a (valid) token, per address; a token's own is at least 1,000.
UNAUTHENTICATED_QUOTA: Final = 60


async def token_is_known(github: GitHubClient) -> bool:
    """Whether GitHub knows the token `github` acts with (its `token`): False only when GitHub answered 401.

    Give `github` a `RetryPolicy` with `max_wait=0`: a rate limit then ends the question at once (a spent quota
    sends nothing), rather than being waited out.

    Raises:
        GitHubError: If GitHub's answer does not tell: it could not be reached, answered 5xx, a redirect or another
            4xx, or a rate limit that may be its address's rather than the token's.
    """
    try:
        await github.request("GET", AUTHENTICATED_USER)
    except Unauthorized:
        return False
    except RateLimited:
        if (github.quota.limit or 0) > UNAUTHENTICATED_QUOTA:  # the quota GitHub counts is the token's own
            return True
        raise
    except Forbidden:  # authenticated, then refused the account: an installation token
        return True
    return True
