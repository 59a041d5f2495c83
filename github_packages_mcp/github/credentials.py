"""What kind a GitHub token is, told by its prefix, and who it is (`identity_of`, a fingerprint); never the token.

GitHub's token prefixes: https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/.
`client.py` puts the kind of the token a request acted with on the `APIError` it raises, so advice can depend
on it (an Actions token cannot list an organization's packages) without anything secret leaving the client.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

__all__ = ["INSTALLATION_TOKEN", "identity_of", "token_kind"]

# A workflow's GITHUB_TOKEN and a GitHub App's installation token share the `ghs_` prefix.
INSTALLATION_TOKEN = "GitHub Actions or GitHub App installation token"  # noqa: S105  (a kind, not a token)
_KINDS = (
    ("github_pat_", "fine-grained personal access token"),
    ("ghp_", "classic personal access token"),
    ("gho_", "OAuth app token"),
    ("ghu_", "GitHub App user token"),
    ("ghs_", INSTALLATION_TOKEN),
)


def token_kind(token: str | None) -> str:
    """The kind of token, such as "classic personal access token"; "none" without one."""
    if not token:
        return "none"
    return next((kind for prefix, kind in _KINDS if token.startswith(prefix)), "unknown kind (no GitHub prefix)")


@lru_cache(maxsize=1024)  # a handful of tokens, fingerprinted on every request
def identity_of(token: str | None) -> str:
    """A short, one-way fingerprint of a token, safe to keep in memory and logs: who acted, never the token."""
    return hashlib.sha256((token or "").encode()).hexdigest()[:16]
