"""What kind a GitHub token is, told by its prefix; never the token itself.

GitHub's token prefixes: https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/.
`client.py` puts the kind of the token a request acted with on the `APIError` it raises, so advice can depend
on it (an Actions token cannot list an organization's packages) without anything secret leaving the client.
"""

from __future__ import annotations

__all__ = ["INSTALLATION_TOKEN", "token_kind"]

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
