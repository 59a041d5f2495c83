"""Cancellation across replicas (stateless HTTP with `state_url`): a cancel that lands on another replica than the
call it names still stops that call.

A handshake-era client cancels a call with `notifications/cancelled`, a request of its own, which a load balancer
without sticky sessions may send to any replica. So every replica announces each cancellation it receives on the
shared state's "cancel" channel, and the replica running the call it names (same caller, same request id) cancels
it there: its transport ends, as it does when the client drops the call's stream, and a cleanup stops after the
version in flight (what it did is in its journal). `CancelAcrossReplicas` runs inside authentication: only an
authenticated request's cancellation is announced (one answered 401 or 503 reaches neither Redis nor any call), and a
caller is the fingerprint authentication gave it. With `http_auth = "bearer"` every client shares one, so one client's
cancel may stop another's call with the same request id, which is safe (a stopped cleanup resumes) but worth knowing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from github_packages_mcp.errors import StateUnavailable
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.state.local import NoReplicas
from github_packages_mcp.state.opening import ProcessState
from github_packages_mcp.state.peers import Cancellations

__all__ = ["CancelAcrossReplicas", "ReplicaCancellations", "buffered", "json_rpc", "request_id_of"]

log = logging.getLogger("github_packages_mcp")

CHANNEL = "cancel"
RELISTEN_SECONDS = 1.0
WARN_EVERY_SECONDS = 60.0
_Key = tuple[str, str | int]


class ReplicaCancellations:
    """This replica's running calls and its link to the others: `lifespan` wraps the app's own, listening to the
    channel of the process's `state` (the one the app uses) while the app runs."""

    def __init__(self, state: ProcessState) -> None:
        self.state = state
        self.cancellations: Cancellations = NoReplicas()  # until the app runs: nobody to tell
        self.running: dict[_Key, anyio.CancelScope] = {}

    def lifespan(
        self, inner: Callable[[Any], AbstractAsyncContextManager[Any]]
    ) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
        @asynccontextmanager
        async def lifespan(app: Any) -> AsyncIterator[Any]:
            async with self.state as state, inner(app) as inner_state, anyio.create_task_group() as group:
                self.cancellations = state.cancellations
                group.start_soon(self._listen, state.cancellations)
                yield inner_state
                group.cancel_scope.cancel()
            self.cancellations = NoReplicas()

        return lifespan

    async def announce(self, caller: str, message: dict[str, Any]) -> None:
        params = message.get("params")
        request_id = params.get("requestId") if isinstance(params, dict) else None
        if not isinstance(request_id, str | int):
            return
        try:
            await self.cancellations.publish(CHANNEL, json.dumps({"caller": caller, "id": request_id}).encode())
        except StateUnavailable as exc:  # the call goes on where it runs; its client has stopped waiting anyway
            log.warning("a cancellation could not be passed to the other replicas: %s", exc)

    async def _listen(self, cancellations: Cancellations) -> None:
        """Listen for as long as the app runs: a Redis lost meanwhile is listened to again once it is back (what
        was announced in between is lost; those calls run on), and never stops the app."""
        warned_at = -WARN_EVERY_SECONDS
        while True:
            try:
                async for data in cancellations.messages(CHANNEL):
                    self._cancel(data)
            except StateUnavailable as exc:
                if anyio.current_time() - warned_at >= WARN_EVERY_SECONDS:  # not once a second
                    warned_at = anyio.current_time()
                    log.warning("not listening for cancellations from other replicas until Redis is back: %s", exc)
            await anyio.sleep(RELISTEN_SECONDS)

    def _cancel(self, data: bytes) -> None:
        try:
            announced = json.loads(data)
            key: _Key = (announced["caller"], announced["id"])
            running = self.running.get(key)
        except (ValueError, KeyError, TypeError):
            return
        if running is not None:
            log.info("request %r was cancelled through another replica: stopping it", key[1])
            running.cancel()


class CancelAcrossReplicas:
    """ASGI middleware: announces the cancellations this replica receives, and runs each call under a cancel scope
    that an announcement from any replica can cancel."""

    def __init__(self, app: ASGIApp, path: str, replicas: ReplicaCancellations) -> None:
        self.app = app
        self.path = path
        self.replicas = replicas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path):
            await self.app(scope, receive, send)
            return
        body, replay = await buffered(receive)
        message = json_rpc(body)
        caller = _caller(scope)
        if message.get("method") == "notifications/cancelled":
            await self.replicas.announce(caller, message)
            await self.app(scope, replay, send)
            return
        if (request_id := request_id_of(message)) is None:
            await self.app(scope, replay, send)
            return
        await self._run(scope, replay, send, (caller, request_id))

    async def _run(self, scope: Scope, receive: Receive, send: Send, key: _Key) -> None:
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        running = self.replicas.running
        with anyio.CancelScope() as cancelled:
            running[key] = cancelled
            try:
                await self.app(scope, receive, sending)
            finally:
                if running.get(key) is cancelled:
                    del running[key]
        if not cancelled.cancelled_caught:
            return
        # A cancelled request gets no JSON-RPC answer: its HTTP response ends empty (or where its stream stopped).
        if not started:
            await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The request's body, and a `receive` that hands the app the same messages again."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body") or size > DEFAULT_MAX_REQUEST_BODY_SIZE:
            break
    body = b"".join(m.get("body", b"") for m in messages) if size <= DEFAULT_MAX_REQUEST_BODY_SIZE else b""

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay


def json_rpc(body: bytes) -> dict[str, Any]:
    """The JSON-RPC message a POST carried; {} for anything unreadable (a batch, not JSON)."""
    try:
        message = json.loads(body)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}


def request_id_of(message: dict[str, Any]) -> str | int | None:
    """The id of a JSON-RPC request (not `initialize`, which opens nothing a cancel could stop); None for
    notifications and answers to the server's own requests."""
    request_id = message.get("id")
    if not isinstance(message.get("method"), str) or message["method"] == "initialize":
        return None
    return request_id if isinstance(request_id, str | int) and not isinstance(request_id, bool) else None


def _caller(scope: Scope) -> str:
    """Who sent the request: the fingerprint authentication gave its caller; without authentication (loopback
    only), that of the Authorization header it may carry."""
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        return str(user.access_token.client_id)
    credential = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
    return identity_of(credential.decode("latin-1"))
