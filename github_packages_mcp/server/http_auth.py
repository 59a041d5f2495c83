"""Who may use the HTTP endpoint, and what a client is told when it may not.

- `http_auth = "none"`: anyone who can reach it (loopback only; `transports.http_app` refuses anything else).
- `"bearer"`: holders of one secret (`http_bearer_secret`). The secret is no OAuth token and no authorization server
  issues it, so the 401 is a plain `WWW-Authenticate: Bearer` challenge and no OAuth metadata is served: a client
  that found any would start an OAuth flow that cannot succeed, instead of asking the person for the secret.
- `"github"`: anyone with a GitHub token, each call acting with the caller's own. The 401 points at OAuth
  protected-resource metadata (RFC 9728) naming GitHub's OAuth server and the packages scopes the tools need, so a
  client that can sign in to GitHub by itself gets a token without the person pasting one.

The SDK's `AuthSettings` would serve metadata in both modes (naming this server as the authorization server in bearer
mode) and advertise no scopes in github mode, so the server is built without it and the checks are put in front of
the app here, from the SDK's own parts: the bearer is verified by `BearerAuthBackend`, the caller is put where
`get_access_token()` finds it by `AuthContextMiddleware` (sessions are bound to it by the SDK), and
`create_protected_resource_routes` serves the metadata.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import build_resource_metadata_url, create_protected_resource_routes
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from github_packages_mcp.config import Settings, secret_problem
from github_packages_mcp.github.cache import identity_of

__all__ = [
    "GITHUB_AUTHORIZATION_SERVER",
    "PACKAGES_SCOPES",
    "BearerRequired",
    "GitHubTokenPassThrough",
    "SharedSecretVerifier",
    "add_authentication",
]

# GitHub's OAuth server, as MCP clients with a built-in GitHub sign-in recognise it (VS Code's GitHub authentication
# provider claims exactly this authorization server).
GITHUB_AUTHORIZATION_SERVER = "https://github.com/login/oauth"
# The classic scopes of the Packages API, least first; `add_authentication` advertises those the tools need.
PACKAGES_SCOPES = ("read:packages", "write:packages", "delete:packages")


class SharedSecretVerifier:
    """Accepts exactly one bearer secret (compared in constant time); the GitHub token stays on the server."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._secret.encode()):
            return AccessToken(token="shared-secret", client_id="shared-secret", scopes=[])  # noqa: S106
        return None


class GitHubTokenPassThrough:
    """Accepts a caller's GitHub token as the bearer: every call then acts as that caller.

    The token is not checked here but by GitHub on each call (an invalid one gets GitHub's 401 as a tool error);
    the client keeps caches, quotas and confirmation tokens per token, so callers never share them, and a session
    belongs to the token that opened it (`client_id` is its fingerprint). A bearer that no header to GitHub could
    carry (whitespace, control or non-ASCII characters) is refused here with a 401.
    """

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token or secret_problem(token):
            return None
        return AccessToken(token=token, client_id=identity_of(token), scopes=[])


def add_authentication(app: Starlette, settings: Settings, resource: str, scopes: Sequence[str]) -> None:
    """Guard the MCP endpoint of `app` as `settings.http_auth` says; nothing for "none".

    `resource` is the endpoint's public URL; `scopes` the packages scopes the served tools need (github mode
    advertises them). Call before any other middleware is added: these must run first.
    """
    verifier: TokenVerifier
    challenge: list[str]  # the parameters of the 401's Bearer challenge
    if settings.http_auth == "github":
        verifier = GitHubTokenPassThrough()
        metadata = build_resource_metadata_url(AnyHttpUrl(resource))
        app.router.routes.extend(
            create_protected_resource_routes(
                resource_url=AnyHttpUrl(resource),
                authorization_servers=[AnyHttpUrl(GITHUB_AUTHORIZATION_SERVER)],
                scopes_supported=list(scopes),
                resource_name="github-packages-mcp",
            )
        )
        challenge = [f'resource_metadata="{metadata}"', *([f'scope="{" ".join(scopes)}"'] if scopes else [])]
        advice = "send your GitHub token (a classic token with the packages scopes) as Authorization: Bearer"
    elif settings.http_auth == "bearer":
        assert settings.http_bearer_secret is not None  # http_app checked it
        verifier = SharedSecretVerifier(settings.http_bearer_secret.get_secret_value())
        challenge = []
        advice = "send Authorization: Bearer with this server's secret (http_bearer_secret)"
    else:
        return
    # Added innermost first: the bearer is read, then the caller made visible to the tools, then required.
    app.add_middleware(BearerRequired, path=settings.http_path, challenge=challenge, advice=advice)
    app.add_middleware(AuthContextMiddleware)
    app.add_middleware(AuthenticationMiddleware, backend=BearerAuthBackend(verifier))


class BearerRequired:
    """Answers a request to the MCP endpoint without an accepted bearer with 401 and a Bearer challenge of these
    parameters (RFC 6750: with `error="invalid_token"` only when a credential was sent). Other paths (the metadata,
    unknown ones) pass."""

    def __init__(self, app: ASGIApp, path: str, challenge: Sequence[str], advice: str) -> None:
        self.app = app
        self.path = path
        self.challenge = challenge
        self.advice = advice

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or isinstance(scope.get("user"), AuthenticatedUser):
            await self.app(scope, receive, send)
            return
        sent = any(name == b"authorization" for name, _ in scope["headers"])
        parameters = [*self.challenge, *(['error="invalid_token"'] if sent else [])]
        challenge = " ".join(["Bearer", ", ".join(parameters)]) if parameters else "Bearer"
        body = {"error": "invalid_token" if sent else "unauthorized", "error_description": self.advice}
        await JSONResponse(body, 401, headers={"WWW-Authenticate": challenge})(scope, receive, send)
