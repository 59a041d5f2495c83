"""Who may use the HTTP endpoint, and what a client is told when it may not.

- `http_auth = "none"`: anyone who can reach it (loopback only; `transports.http_app` refuses anything else).
- `"bearer"`: holders of one secret (`http_bearer_secret`). The secret is no OAuth token and no authorization server
  issues it, so the 401 is a plain `WWW-Authenticate: Bearer` challenge and no OAuth metadata is served: a client
  that found any would start an OAuth flow that cannot succeed, instead of asking the person for the secret.
- `"github"`: anyone with a GitHub token GitHub knows, each call acting with the caller's own. The bearer is checked
  with GitHub before anything is served (`http_verify.py`): a made-up or revoked one gets 401 `invalid_token`, and a
  GitHub that cannot say gets 503. The 401 points at OAuth protected-resource metadata (RFC 9728) naming GitHub's
  OAuth server and the packages scopes the tools need, so a client that can sign in to GitHub by itself gets a token
  without the person pasting one. How much one caller may hold of the server is `http_caps.py`'s.

The SDK's `AuthSettings` would serve metadata in both modes (naming this server as the authorization server in bearer
mode) and advertise no scopes in github mode, so the server is built without it and the checks are put in front of
the app here, from the SDK's own parts: the bearer is verified by `BearerAuthBackend` (on the MCP endpoint only: the
metadata is served to anyone, and asks GitHub nothing), the caller is put where `get_access_token()` finds it by
`AuthContextMiddleware` (sessions are bound to it by the SDK), and `create_protected_resource_routes` serves the
metadata.
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
from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError, BaseUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from github_packages_mcp.config import Settings
from github_packages_mcp.server.http_verify import CredentialUnchecked, GitHubTokenVerifier

__all__ = [
    "GITHUB_AUTHORIZATION_SERVER",
    "PACKAGES_SCOPES",
    "BearerRequired",
    "GitHubTokenVerifier",
    "SharedSecretVerifier",
    "add_authentication",
]

# GitHub's OAuth server, as MCP clients with a built-in GitHub sign-in recognise it (VS Code's GitHub authentication
# provider claims exactly this authorization server).
GITHUB_AUTHORIZATION_SERVER = "https://github.com/login/oauth"
# The classic scopes of the Packages API, least first; `add_authentication` advertises those the tools need.
PACKAGES_SCOPES = ("read:packages", "write:packages", "delete:packages")
RETRY_UNCHECKED_SECONDS = 5  # Retry-After of the 503 when GitHub could not say whether a token is valid


class SharedSecretVerifier:
    """Accepts exactly one bearer secret (compared in constant time); the GitHub token stays on the server."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._secret.encode()):
            return AccessToken(token="shared-secret", client_id="shared-secret", scopes=[])  # noqa: S106
        return None


def add_authentication(app: Starlette, settings: Settings, resource: str, scopes: Sequence[str]) -> None:
    """Guard the MCP endpoint of `app` as `settings.http_auth` says; nothing for "none".

    `resource` is the endpoint's public URL; `scopes` the packages scopes the served tools need (github mode
    advertises them). Middleware added before runs after these, for authenticated requests only; middleware added
    after runs before them.
    """
    verifier: TokenVerifier
    challenge: list[str]  # the parameters of the 401's Bearer challenge
    if settings.passes_callers_tokens:
        verifier = checking = GitHubTokenVerifier(settings)
        app.router.lifespan_context = checking.lifespan(app.router.lifespan_context)
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
        refused = "GitHub does not know this token (made up, expired or revoked): sign in again, or " + advice
    elif settings.http_auth == "bearer":
        assert settings.http_bearer_secret is not None  # http_app checked it
        verifier = SharedSecretVerifier(settings.http_bearer_secret.get_secret_value())
        challenge = []
        advice = refused = "send Authorization: Bearer with this server's secret (http_bearer_secret)"
    else:
        return
    # Added innermost first: the bearer is read, then the caller made visible to the tools, then required.
    app.add_middleware(BearerRequired, path=settings.http_path, challenge=challenge, advice=(advice, refused))
    app.add_middleware(AuthContextMiddleware)
    backend = OnlyAt(settings.http_path, BearerAuthBackend(verifier))
    app.add_middleware(AuthenticationMiddleware, backend=backend, on_error=_unchecked)


class OnlyAt(AuthenticationBackend):
    """`backend`, consulted for requests to `path` only: no other path needs a caller (nor asks GitHub)."""

    def __init__(self, path: str, backend: AuthenticationBackend) -> None:
        self.path = path
        self.backend = backend

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        return await self.backend.authenticate(conn) if conn.scope["path"] == self.path else None


def _unchecked(_conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """A credential that could not be checked: 503, asking the client to try again (not 401: it may be valid)."""
    if isinstance(exc, CredentialUnchecked):
        body = {"error": "temporarily_unavailable", "error_description": str(exc)}
        return JSONResponse(body, 503, headers={"Retry-After": str(RETRY_UNCHECKED_SECONDS)})
    return PlainTextResponse(str(exc), 400)  # Starlette's own answer to an authentication error


class BearerRequired:
    """Answers a request to the MCP endpoint without an accepted bearer with 401 and a Bearer challenge of these
    parameters (RFC 6750: with `error="invalid_token"` only when a credential was sent), and `advice` in its body (what
    to send; what to do about a credential that was refused). Other paths (the metadata, unknown ones) pass."""

    def __init__(self, app: ASGIApp, path: str, challenge: Sequence[str], advice: tuple[str, str]) -> None:
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
        body = {"error": "invalid_token" if sent else "unauthorized", "error_description": self.advice[sent]}
        await JSONResponse(body, 401, headers={"WWW-Authenticate": challenge})(scope, receive, send)
