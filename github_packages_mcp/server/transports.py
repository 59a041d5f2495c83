"""Serving: stdio for local clients, streamable HTTP for remote ones (safe by default).

HTTP binds loopback unless told otherwise, checks Host and Origin against DNS rebinding, refuses to listen
on any other address without authentication, and runs stateless (no session state a second replica would
need): with one `shared_secret` for every replica, confirmation tokens and the SDK's request state verify on
any of them. A stateless server has no stream to offer, so `GET` on the endpoint answers 405 at once.

Slow clients cannot hold the server (`uvicorn_config`): a client has `http_read_timeout_seconds` to send a whole
request, from connecting or from the first byte of its next one (uvicorn has no such timeout: `ReadTimeout`
adds it to uvicorn's h11 protocol); idle kept-alive connections close after `http_keep_alive_seconds`; at most
`http_limit_concurrency` connections and requests are served at once (uvicorn's `limit_concurrency`, 503
beyond), and when that many are open, the connection that has waited longest without sending a whole request is
closed to make room, so stalled connections never lock out a client that sends its request.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import OrderedDict
from typing import Any, ClassVar
from urllib.parse import urlsplit

import h11
import uvicorn
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from github_packages_mcp.config import ConfigError, Settings, is_loopback, secret_problem
from github_packages_mcp.github.cache import identity_of
from github_packages_mcp.server.app import build_server

__all__ = ["GitHubTokenPassThrough", "SharedSecretVerifier", "http_app", "serve_http", "uvicorn_config"]

# On SIGTERM, requests still running after this long are cancelled (uvicorn waits forever by default).
GRACEFUL_SHUTDOWN_SECONDS = 30


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
    app = server.streamable_http_app(
        streamable_http_path=settings.http_path,
        stateless_http=True,
        transport_security=_transport_security(settings, public),
        host=settings.http_host,
    )
    app.add_middleware(NoStandaloneStream, path=settings.http_path)
    return app


def serve_http(settings: Settings) -> None:
    """Serve the HTTP app until interrupted."""
    uvicorn.Server(uvicorn_config(http_app(settings), settings)).run()


def uvicorn_config(app: ASGIApp, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for the app, with the limits that keep slow or stalled clients from holding it.

    `options` override or add to `uvicorn.Config`'s arguments (tests pass their logging choices).
    """
    arguments: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_level": settings.log_level.lower(),
        "http": read_timeout_protocol(settings.http_read_timeout_seconds, settings.http_limit_concurrency),
        "limit_concurrency": settings.http_limit_concurrency,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "ws": "none",  # streamable HTTP has no WebSocket; an upgrade request is served as plain HTTP
    }
    return uvicorn.Config(app, **(arguments | options))


class NoStandaloneStream:
    """Answers `GET` on the MCP endpoint with 405: a stateless server never sends on a standalone stream, which
    the SDK would otherwise hold open for as long as the client stays (the MCP spec allows 405 for it)."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == self.path:
            text = "Method Not Allowed: this stateless server offers no stream; POST requests to it"
            await PlainTextResponse(text, 405, headers={"Allow": "POST"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ReadTimeout(H11Protocol):
    """uvicorn's h11 protocol, closing a connection that takes over `timeout` seconds to send a whole request (line,
    headers and body), and closing the connection that has waited longest for a request when a new one would make
    `max_connections` (so none is refused for stalled ones). Made per server by `read_timeout_protocol`."""

    timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = 100
    # This server's open connections with no request being answered (idle, or still sending one), oldest first.
    waiting: ClassVar[OrderedDict[ReadTimeout, None]] = OrderedDict()
    _timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        while len(self.connections) >= self.max_connections and self.waiting:
            oldest, _ = self.waiting.popitem(last=False)
            oldest.give_up()
        self.waiting[self] = None
        self._start_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):  # a request is on its way
            self._start_timer()  # from its first bytes, on a kept-alive connection
        else:  # whole: the app answers it
            self._stop_timer()
            self.waiting.pop(self, None)

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request received meanwhile
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self.waiting[self] = None  # idle (uvicorn's keep-alive timeout runs) or receiving its next request
            self.waiting.move_to_end(self)
            if self.conn.their_state is h11.SEND_BODY:  # a pipelined request's body is still on its way
                self._start_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        self.waiting.pop(self, None)
        super().connection_lost(exc)

    def give_up(self) -> None:
        """Close the connection: its request is too slow, or room is needed while it sends none."""
        self._stop_timer()
        self.waiting.pop(self, None)
        self.connections.discard(self)  # at once: it no longer counts toward the limit
        if not self.transport.is_closing():
            self.transport.close()

    def _start_timer(self) -> None:
        if self._timer is None:
            self._timer = self.loop.call_later(self.timeout, self.give_up)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def read_timeout_protocol(timeout: float, max_connections: int) -> type[ReadTimeout]:
    """`ReadTimeout` with these limits, and its own record of waiting connections (one per server)."""
    limits = {"timeout": timeout, "max_connections": max_connections, "waiting": OrderedDict()}
    return type("ReadTimeout", (ReadTimeout,), limits)


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
