"""Serving: stdio for local clients, streamable HTTP for remote ones (safe by default).

HTTP binds loopback unless told otherwise, checks Host and Origin against DNS rebinding, refuses to listen
on any other address without authentication, and runs stateless (no session state a second replica would
need): with one `shared_secret` for every replica, confirmation tokens and the SDK's request state verify on
any of them.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette

from github_packages_mcp.config import ConfigError, Settings, is_loopback, secret_problem
from github_packages_mcp.github.cache import identity_of
from github_packages_mcp.server.app import build_server

__all__ = ["GitHubTokenPassThrough", "SharedSecretVerifier", "http_app", "serve_http"]


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
    the client keeps caches, quotas and confirmation tokens per token, so callers never share them. A bearer that
    no header to GitHub could carry (whitespace, control or non-ASCII characters) is refused here with a 401.
    """

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token or secret_problem(token):
            return None
        return AccessToken(token=token, client_id=identity_of(token), scopes=[])


def http_app(settings: Settings) -> Starlette:
    """The MCP endpoint as an ASGI app, at `settings.http_path`.

    Raises:
        ConfigError: If the settings would expose the server unsafely (no authentication off loopback,
            bearer mode without a secret).
    """
    secret = settings.http_bearer_secret.get_secret_value() if settings.http_bearer_secret else ""
    if settings.http_auth == "bearer" and len(secret) < 16:
        raise ConfigError(
            'http_auth = "bearer" needs http_bearer_secret (GITHUB_PACKAGES_MCP_BEARER_SECRET), 16+ characters'
        )
    if settings.http_auth == "none" and not is_loopback(settings.http_host):
        raise ConfigError(
            f'refusing to serve on {settings.http_host} without authentication: set http_auth = "bearer" '
            "and http_bearer_secret, or bind 127.0.0.1"
        )
    public = settings.public_url or f"http://{_host_for_url(settings.http_host)}:{settings.http_port}"
    auth: AuthSettings | None = None
    verifier: SharedSecretVerifier | GitHubTokenPassThrough | None = None
    if settings.http_auth == "github":
        verifier = GitHubTokenPassThrough()
        # The tokens are GitHub's: its OAuth server is where a client would get one.
        auth = AuthSettings(
            issuer_url=AnyHttpUrl("https://github.com/login/oauth"),
            resource_server_url=AnyHttpUrl(public.rstrip("/") + settings.http_path),
            validate_token_resource=False,  # GitHub's tokens name no resource; GitHub checks them on each call
        )
    elif settings.http_auth == "bearer":
        verifier = SharedSecretVerifier(secret)
        # The secret is not an OAuth token: the metadata only names this server, for clients that look.
        auth = AuthSettings(
            issuer_url=AnyHttpUrl(public),
            resource_server_url=AnyHttpUrl(public.rstrip("/") + settings.http_path),
            validate_token_resource=False,  # the verifier checks the one secret itself
        )
    server = build_server(settings, token_verifier=verifier, auth=auth)
    return server.streamable_http_app(
        streamable_http_path=settings.http_path,
        stateless_http=True,
        transport_security=_transport_security(settings, public),
        host=settings.http_host,
    )


def serve_http(settings: Settings) -> None:
    """Serve the HTTP app until interrupted."""
    app = http_app(settings)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_level=settings.log_level.lower())


def _transport_security(settings: Settings, public: str) -> TransportSecuritySettings:
    host = urlsplit(public).netloc
    hosts = {"127.0.0.1", "localhost", "[::1]", host, *settings.http_allowed_hosts}
    allowed = sorted({*hosts, *(f"{name}:*" for name in hosts if ":" not in name.strip("[]"))})
    origins = sorted({f"{scheme}://{name}" for name in allowed for scheme in ("http", "https")})
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=allowed, allowed_origins=origins
    )


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
