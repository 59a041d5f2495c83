"""How much of the server one caller may hold (`http_auth = "github"`): sessions and open streams per credential.

The global caps bound the server (`http_max_sessions`, the SDK's; `http_limit_concurrency`, uvicorn's); these bound
each credential's part of it, so no caller can take what another needs: at most `http_max_sessions_per_credential`
open sessions, and at most `http_max_streams_per_credential` requests being answered at once (a session's `GET`
stream, a call and its response stream). One more is answered 429 with a JSON-RPC error saying which cap it met and
what frees room, while other credentials are served as before. A notification or an answer to the server's question
holds nothing and is never refused: a caller at its cap can still cancel.

Sessions are counted as the SDK keeps them, from what passes through here: a session is its credential's from the
answer that opened it (its `Mcp-Session-Id`) until its `DELETE` is answered, a request naming it is answered 404, or
it has had no request in flight for `http_session_idle_seconds` (the SDK closes it then; timed here from the end of
its last request as seen from outside the SDK, so never before the SDK closes it).

Runs inside authentication: a credential is the fingerprint its verifier gave the caller (`AccessToken.client_id`).
With `http_auth = "bearer"` every client shares one credential, so only the global caps apply there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from github_packages_mcp.server.cancellation import buffered, json_rpc

__all__ = ["CredentialCaps"]

_SESSION_HEADER = MCP_SESSION_ID_HEADER.lower().encode()
_PROTOCOL_HEADER = b"mcp-protocol-version"
_SERVER_ERROR = -32000  # JSON-RPC's implementation-defined server error


@dataclass
class _Session:
    credential: str
    in_flight: int = 0
    idle_since: float = 0.0


class CredentialCaps:
    """ASGI middleware holding each credential to its caps on the MCP endpoint at `path`."""

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        *,
        max_sessions: int,
        max_streams: int,
        idle_seconds: float,
        stateless: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.path = path
        self.max_sessions = max_sessions
        self.max_streams = max_streams
        self.idle_seconds = idle_seconds
        self.stateless = stateless
        self.clock = clock
        self.sessions: dict[str, _Session] = {}  # session id -> whose, and whether it is still open
        self.streams: dict[str, int] = {}  # credential -> requests being answered
        self.opening: dict[str, int] = {}  # credential -> sessions being opened

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if scope["type"] != "http" or scope["path"] != self.path or not isinstance(user, AuthenticatedUser):
            await self.app(scope, receive, send)
            return
        credential: str = user.access_token.client_id
        holds = scope["method"] == "GET"
        if scope["method"] == "POST":
            body, receive = await buffered(receive)
            holds = _holds_a_stream(json_rpc(body))
        opens = self._opens_session(scope)
        if holds and self.streams.get(credential, 0) >= self.max_streams:
            await _refuse(
                f"This credential already has {self.max_streams} requests open (a session's GET stream or a call "
                "each), the most one credential may hold (http_max_streams_per_credential): close one, or wait for "
                "a call to end.",
                retry_after=1,
            )(scope, receive, send)
            return
        if opens and self._open_sessions(credential) >= self.max_sessions:
            await _refuse(
                f"This credential already has {self.max_sessions} open MCP sessions, the most one credential may "
                "hold (http_max_sessions_per_credential): end one (DELETE with its Mcp-Session-Id), or wait for an "
                "idle one to expire."
            )(scope, receive, send)
            return
        await self._serve(scope, receive, send, credential, holds=holds, opens=opens)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, credential: str, *, holds: bool, opens: bool
    ) -> None:
        """Serve the request, counting what it holds while it is answered, and the session it opens or ends."""
        named = _header(scope["headers"], _SESSION_HEADER)
        session = self.sessions.get(named or "")
        if session is not None and session.credential != credential:
            session = None  # another's session: the SDK answers 404, and it stays theirs
        answer: dict[str, Any] = {"status": 0, "session": None}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.update(status=message["status"], session=_header(message["headers"], _SESSION_HEADER))
            await send(message)

        _add(self.streams, credential, holds)
        _add(self.opening, credential, opens)
        if session is not None:
            session.in_flight += 1
        try:
            await self.app(scope, receive, sending)
        finally:
            _add(self.streams, credential, holds, -1)
            _add(self.opening, credential, opens, -1)
            if opens and answer["status"] < 400 and answer["session"]:
                self.sessions[answer["session"]] = _Session(credential, idle_since=self.clock())
            if session is not None and named is not None:
                session.in_flight -= 1
                session.idle_since = self.clock()
                if answer["status"] == 404 or (scope["method"] == "DELETE" and answer["status"] < 400):
                    self.sessions.pop(named, None)  # ended: by its client, or by the SDK (expired)

    def _opens_session(self, scope: Scope) -> bool:
        """Whether the request would open a session: a handshake-era POST naming none (2026-07-28 opens none)."""
        headers = scope["headers"]
        version = _header(headers, _PROTOCOL_HEADER)
        return (
            not self.stateless
            and scope["method"] == "POST"
            and _header(headers, _SESSION_HEADER) is None
            and (version is None or version in HANDSHAKE_PROTOCOL_VERSIONS)
        )

    def _open_sessions(self, credential: str) -> int:
        """The credential's sessions open or being opened; sessions the SDK has closed since are forgotten."""
        now = self.clock()
        self.sessions = {
            key: session
            for key, session in self.sessions.items()
            if session.in_flight or now - session.idle_since < self.idle_seconds
        }
        open_now = sum(session.credential == credential for session in self.sessions.values())
        return open_now + self.opening.get(credential, 0)


def _holds_a_stream(message: dict[str, Any]) -> bool:
    """Whether a POST is answered for as long as a request takes: anything but a notification or an answer (a body
    that is no single message is counted, as the SDK may take it for requests)."""
    return not message or ("method" in message and "id" in message)


def _header(headers: Any, name: bytes) -> str | None:
    return next((value.decode("latin-1") for key, value in headers if key.lower() == name), None)


def _add(counts: dict[str, int], key: str, counted: bool, step: int = 1) -> None:
    """Count `step` more for `key` when `counted`; a count back at 0 is dropped (the maps stay small)."""
    if counted:
        counts[key] = counts.get(key, 0) + step
        if not counts[key]:
            del counts[key]


def _refuse(message: str, retry_after: int | None = None) -> JSONResponse:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": _SERVER_ERROR, "message": message}}
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse(body, 429, headers=headers)
