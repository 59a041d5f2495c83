"""Serving: stdio for local clients, streamable HTTP for remote ones (safe by default).

HTTP binds loopback unless told otherwise, checks Host and Origin against DNS rebinding, and refuses to listen on
any other address without authentication (`http_auth.py`: who may call, and what a refused client is told; with
callers' own GitHub tokens, `http_verify.py` asks GitHub first and `http_caps.py` holds each caller to its share).

**Sessions (the default).** A client on a handshake-era protocol (2025-11-25 and before: every IDE today) opens an
MCP session with `initialize` and gets an `Mcp-Session-Id`; its later requests, its `GET` stream and its answers to
the server's questions all reach that session. So the server can ask it for a confirmation form (the question goes
out on the call's own response stream, the answer comes back in a POST of the same session), and its
`notifications/cancelled` reaches the call it names. A client that closes a call's response stream instead
(`CancelAbandonedCalls`) cancels it too. The SDK closes a session on the client's `DELETE`, or after
`http_session_idle_seconds` (30 minutes) without a request in flight (an open `GET` stream counts as one), and refuses
a session beyond `http_max_sessions` (1,000) with 503; a session is bound to the credential that opened it (any other
gets 404, "Session not found", as for a session that never was). No stream can be resumed: the server keeps no event
store, so a `GET` with `Last-Event-ID` gets 400 (`NoStreamResumption`). 2026-07-28 requests carry everything they
need and never open a session, in either mode; the SDK routes them by their protocol header.

**Stateless (`http_stateless = true`).** No session: every request is served by a transport of its own, so any
replica behind a load balancer without sticky sessions can answer it, and with one `shared_secret` for every replica,
confirmation tokens and the SDK's request state verify on any of them. The price, for handshake-era clients: no
form (the server cannot receive their answer; they get confirmation tokens instead) and no `notifications/cancelled`
(it arrives in a request of its own, which reaches no running call); closing the call's stream still cancels it,
since its transport ends with it. 2026-07-28 clients lose nothing. A stateless server has no stream to offer, so
`GET` on the endpoint answers 405 at once.

Slow and stalled clients cannot hold the server in either mode (`http_limits.py`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from urllib.parse import urlsplit

import anyio
import uvicorn
from mcp.server.streamable_http import LAST_EVENT_ID_HEADER, MCP_SESSION_ID_HEADER
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from mcp_types import INVALID_REQUEST, ErrorData, JSONRPCError
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from github_packages_mcp.config import ConfigError, Settings, is_loopback
from github_packages_mcp.server.app import build_server, process_state, select_tools
from github_packages_mcp.server.cancellation import CancelAcrossReplicas, ReplicaCancellations, json_rpc, request_id_of
from github_packages_mcp.server.http_auth import (
    PACKAGES_SCOPES,
    GitHubTokenVerifier,
    SharedSecretVerifier,
    add_authentication,
)
from github_packages_mcp.server.http_caps import CredentialCaps
from github_packages_mcp.server.http_limits import uvicorn_config
from github_packages_mcp.state.opening import ProcessState

__all__ = [
    "CancelAbandonedCalls",
    "GitHubTokenVerifier",
    "NoStandaloneStream",
    "NoStreamResumption",
    "SharedSecretVerifier",
    "http_app",
    "serve_http",
    "uvicorn_config",
]

log = logging.getLogger("github_packages_mcp")


def http_app(settings: Settings, state: ProcessState | None = None) -> Starlette:
    """The MCP endpoint as an ASGI app, at `settings.http_path`, on the process's `state` (else a state of its own,
    `process_state`), which every part of the app shares.

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
    state = state or process_state(settings)
    app = build_server(settings, state=state).streamable_http_app(
        streamable_http_path=settings.http_path,
        stateless_http=settings.http_stateless,
        session_idle_timeout=settings.http_session_idle_seconds,
        max_sessions=settings.http_max_sessions,
        transport_security=_transport_security(settings, public),
        host=settings.http_host,
    )
    # Added innermost first: what is added before authentication runs after it, for authenticated requests only.
    if settings.http_stateless and settings.state_url is not None:
        # A cancel may land on any replica: pass it on to the one running the call (only an authenticated one's).
        replicas = ReplicaCancellations(state)
        app.router.lifespan_context = replicas.lifespan(app.router.lifespan_context)
        app.add_middleware(CancelAcrossReplicas, path=settings.http_path, replicas=replicas)
    if settings.passes_callers_tokens:  # each caller its own credential: no caller may take what another needs
        app.add_middleware(
            CredentialCaps,
            path=settings.http_path,
            max_sessions=settings.http_max_sessions_per_credential,
            max_streams=settings.http_max_streams_per_credential,
            idle_seconds=settings.http_session_idle_seconds,
            stateless=settings.http_stateless,
        )
    scopes = _scopes_needed(settings) if settings.passes_callers_tokens else ()
    add_authentication(app, settings, public.rstrip("/") + settings.http_path, scopes)
    app.add_middleware(NoStreamResumption, path=settings.http_path)
    if settings.http_stateless:
        app.add_middleware(NoStandaloneStream, path=settings.http_path)
    else:  # outside authentication: the cancellation it sends on a client's behalf is authenticated like its own
        app.add_middleware(CancelAbandonedCalls, path=settings.http_path)
    return app


def serve_http(settings: Settings, state: ProcessState) -> None:
    """Serve the HTTP app until interrupted, with the process's `state` opened first and kept open meanwhile.

    Raises:
        SharedStateUnavailable: If the state cannot be opened (nothing was served).
    """
    config = uvicorn_config(http_app(settings, state), settings)

    async def serve() -> None:
        async with state:
            await _SaysWhereItListens(config, settings.http_path).serve()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:  # as uvicorn.Server.run does
        runner.run(serve())


class _SaysWhereItListens(uvicorn.Server):
    """uvicorn's server, telling the person who started it where it listens once its socket is bound (the real port,
    for --port 0); uvicorn's own line is logged at INFO only."""

    def __init__(self, config: uvicorn.Config, path: str) -> None:
        super().__init__(config)
        self.path = path

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers and (bound := self.servers[0].sockets):
            host, port = bound[0].getsockname()[:2]
            print(
                f"Serving MCP over HTTP at http://{_host_for_url(host)}:{port}{self.path}; Ctrl-C stops it",
                file=sys.stderr,
                flush=True,
            )


def _scopes_needed(settings: Settings) -> tuple[str, ...]:
    """The packages scopes the served tools need, least first."""
    needed = {scope for entry in select_tools(settings) for scope in entry.scopes}
    return tuple(scope for scope in PACKAGES_SCOPES if scope in needed)


class NoStandaloneStream:
    """Answers `GET` on the MCP endpoint with 405 in stateless mode: a stateless server never sends on a standalone
    stream, which the SDK would otherwise hold open for as long as the client stays (the MCP spec allows 405)."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"] == self.path:
            text = "Method Not Allowed: this stateless server offers no stream; POST requests to it"
            await PlainTextResponse(text, 405, headers={"Allow": "POST"})(scope, receive, send)
            return
        await self.app(scope, receive, send)


class NoStreamResumption:
    """Answers a `GET` on the MCP endpoint that asks to resume a stream (`Last-Event-ID`) with 400, saying why: this
    server keeps no event store, so nothing can be replayed (no event it sends carries an id to resume from). The SDK
    would try to replay anyway and end the request without a response, which reaches the client as a 500
    (docs/sdk-notes.md). A `GET` without the header opens a stream as before."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] == self.path
            and any(name == LAST_EVENT_ID_HEADER.encode() for name, _ in scope["headers"])
        ):
            reason = (
                "Bad Request: this server keeps no event store, so a stream cannot be resumed (Last-Event-ID): what "
                "was sent on the interrupted stream is gone. Open a new stream with a GET without Last-Event-ID."
            )
            error = JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=INVALID_REQUEST, message=reason))
            response = Response(error.model_dump_json(by_alias=True), 400, media_type="application/json")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


# What a cancellation sent on a client's behalf keeps of the request it cancels: where it goes (DNS-rebinding checks),
# who sends it (authentication, and the session's owner), which session and protocol.
_FORWARDED = frozenset({b"host", b"origin", b"authorization", MCP_SESSION_ID_HEADER.encode(), b"mcp-protocol-version"})
_CANCEL_TIMEOUT = 5.0  # seconds; a session that cannot take the notification by then is going away anyway


class CancelAbandonedCalls:
    """Cancels a session's call whose client closed the call's response stream before the answer.

    The SDK keeps such a call running (a handshake-era client may resume a stream from an event store), but this
    server keeps no event store: the answer can never reach the client, and a cleanup would go on deleting for
    nobody. So once a POST of a session that carried a request ends without its whole answer sent, the session is
    sent, on the client's behalf and through the same authentication, the `notifications/cancelled` a client that
    cancels would send: the call stops where it is, as it does on stdio.
    """

    def __init__(self, app: ASGIApp, path: str) -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Without a session (an opening request, stateless, 2026-07-28) the call's transport ends with its stream.
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == self.path
            and any(name == MCP_SESSION_ID_HEADER.encode() for name, _ in scope["headers"])
        ):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        answered = False

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) <= DEFAULT_MAX_REQUEST_BODY_SIZE:
                body.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal answered
            await send(message)
            answered = answered or (message["type"] == "http.response.body" and not message.get("more_body", False))

        try:
            await self.app(scope, receiving, sending)
        finally:
            if not answered and (request_id := request_id_of(json_rpc(bytes(body)))) is not None:
                with anyio.move_on_after(_CANCEL_TIMEOUT, shield=True):
                    try:
                        await self._cancel(scope, request_id)
                    except Exception:  # the request it follows is over either way; its own outcome stands
                        log.exception("could not cancel request %r of a closed stream", request_id)

    async def _cancel(self, scope: Scope, request_id: str | int) -> None:
        log.info("a client closed the stream of its request %r before the answer: cancelling it", request_id)
        reason = "the client closed the request's response stream"
        params = {"requestId": request_id, "reason": reason}
        body = json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": params}).encode()
        headers = [
            *((name, value) for name, value in scope["headers"] if name in _FORWARDED),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
            (b"content-length", str(len(body)).encode()),
        ]
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> Message:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(_message: Message) -> None:
            pass  # 202, or 404 for a session that has ended meanwhile: nothing left to cancel

        forwarded = {key: value for key, value in scope.items() if key not in ("user", "auth")}
        await self.app(forwarded | {"headers": headers}, receive, send)


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
