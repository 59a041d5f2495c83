"""The sandbox's ASGI app: one request in, one response out.

It records every request, applies scripted faults and latency, sends /_sandbox/* to control.py and /v2/* to
registry.py, and answers the REST routes of routes.py with GitHub's auth, quota headers, ETags and 304s.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Sequence
from dataclasses import replace
from http import HTTPStatus
from typing import Final, NoReturn
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from github_packages_mcp.sandbox import registry
from github_packages_mcp.sandbox.control import answer_control
from github_packages_mcp.sandbox.faults import RATE_LIMIT_DOCS, Fault
from github_packages_mcp.sandbox.model import SandboxError, Token
from github_packages_mcp.sandbox.render import error_response, json_response
from github_packages_mcp.sandbox.routes import Call, Route, match
from github_packages_mcp.sandbox.world import RecordedRequest, SandboxState

logger = logging.getLogger(__name__)

API_VERSIONS: Final = ("2022-11-28", "2026-03-10")


# --- conditional requests, rate limits and faults -----------------------------------------------------------------


def _conditional(request: Request, response: Response) -> Response:
    """GitHub's weak ETag on a 200 JSON GET, and 304 Not Modified when If-None-Match already holds it."""
    if (
        request.method != "GET"
        or response.status_code != HTTPStatus.OK
        or not response.headers.get("content-type", "").startswith("application/json")
    ):
        return response
    etag = f'W/"{hashlib.sha256(response.body).hexdigest()}"'  # over the exact bytes sent
    if _etag_matches(request.headers.getlist("if-none-match"), etag):
        kept = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return Response(status_code=HTTPStatus.NOT_MODIFIED, headers=kept | {"ETag": etag})
    response.headers["ETag"] = etag
    return response


def _etag_matches(header_values: Sequence[str], etag: str) -> bool:
    # If-None-Match uses the weak comparison: W/"x" and "x" are the same entity tag.
    tags = [tag.strip().removeprefix("W/") for value in header_values for tag in value.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


def _rate_limited(user_id: int, request_id: str) -> Response:
    message = (
        f"API rate limit exceeded for user ID {user_id}. "
        f"If you reach out to GitHub Support for help, please include the request ID {request_id}."
    )
    return error_response(403, message, RATE_LIMIT_DOCS)


class ConnectionBroken(Exception):
    """Raised on purpose mid-response so the server drops the connection: a scripted reset."""


class _QuietBreaks(logging.Filter):
    """Drops uvicorn's "Exception in ASGI application" traceback for a deliberate ConnectionBroken."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionBroken))


_QUIET_BREAKS: Final = _QuietBreaks()
_PARTIAL_BODY: Final = b'{"message": "'


async def _break_connection(send: Send) -> NoReturn:
    """Promise a body, send part of it, then fail: uvicorn closes the transport, the client sees a short body.

    ASGI offers no socket to reset; a failing app after `http.response.start` is uvicorn's cue to close it.
    """
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", b"1024")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _PARTIAL_BODY, "more_body": True})
    raise ConnectionBroken


# --- the app ------------------------------------------------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    # An unusable header counts as bad credentials, not as a missing one.
    return token.strip() if scheme.lower() in ("bearer", "token") and token.strip() else ""


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _github_headers(request: Request, request_id: str) -> dict[str, str]:
    version = request.headers.get("x-github-api-version", API_VERSIONS[0])
    return {
        "X-GitHub-Api-Version-Selected": version if version in API_VERSIONS else API_VERSIONS[0],
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Request-Id": request_id,
    }


class SandboxApp:
    """ASGI3 app answering the 27 Packages operations, /user, /rate_limit, the registry under /v2/ and /_sandbox/*."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._request_ids = itertools.count(1)
        # Scripted resets make uvicorn log an error with a traceback; they are intended, so keep them quiet.
        logging.getLogger("uvicorn.error").addFilter(_QUIET_BREAKS)  # adding the same filter twice is a no-op

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        raw = scope.get("raw_path")
        raw_path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(scope["path"])
        raw_query = scope["query_string"].decode("latin-1")
        if raw_path.startswith("/_sandbox/"):
            response = await self._answer(request, raw_path, raw_query, None)
            self._record(request, raw_path, raw_query, response.status_code)
            await response(scope, receive, send)
            return
        request_id = f"5A9D:{next(self._request_ids):08X}"
        # Recorded on arrival (status 0 until answered), so a request the client gave up on still shows.
        arrived = self._record(request, raw_path, raw_query, 0)
        fault = self.state.faults.take(request.method, raw_path)
        delay = self.state.faults.latency + (fault.latency if fault is not None else 0.0)
        with self.state.track_request():
            if delay > 0:
                await anyio.sleep(delay)  # never under the lock, so concurrent requests overlap
            if fault is not None and fault.reset and not fault.after:
                self.state.update_record(arrived, replace(arrived, broken=True))
                await _break_connection(send)
            if fault is not None and fault.status is not None:
                response = self._fault_response(request, fault, request_id)
            else:
                response = await self._answer(request, raw_path, raw_query, request_id)
            broken = fault is not None and fault.reset  # the request was handled, its response gets lost
            self.state.update_record(arrived, replace(arrived, status=response.status_code, broken=broken))
            if broken:
                await _break_connection(send)
            await response(scope, receive, send)

    def _record(self, request: Request, raw_path: str, raw_query: str, status: int) -> RecordedRequest:
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = value if name not in headers else f"{headers[name]}, {value}"
        if "authorization" in headers:
            headers["authorization"] = "<redacted>"
        recorded = RecordedRequest(request.method, raw_path, raw_query, headers, status)
        self.state.record(recorded)
        return recorded

    async def _answer(self, request: Request, raw_path: str, raw_query: str, request_id: str | None) -> Response:
        """Route a request: /_sandbox/* (the only requests without a request id), /v2/*, or the REST API.

        Whatever crashes becomes a logged 500, as on GitHub, rather than a dropped connection.
        """
        try:
            if request_id is None:
                return await answer_control(self.state, request, raw_path)
            self.state.sync()  # what other processes sharing a saved world changed meanwhile
            if registry.handles(raw_path):
                return registry.respond(self.state, request, raw_path, _base_url(request))
            return self._respond(request, raw_path, raw_query, request_id)
        except Exception:
            logger.exception("sandbox failed on %s %s", request.method, raw_path)
            return error_response(500, "Internal Server Error")

    def _respond(self, request: Request, raw_path: str, raw_query: str, request_id: str) -> Response:
        found = match(request.method, raw_path)
        if found is None:
            response = error_response(404, "Not Found")
            response.headers["X-GitHub-Request-Id"] = request_id
            return response
        route, owner, params = found
        headers = _github_headers(request, request_id)
        try:
            version = request.headers.get("x-github-api-version", API_VERSIONS[0])
            if version not in API_VERSIONS:
                raise SandboxError(400, f"Invalid API version: {version}")
            token_value = _bearer(request)
            token = self.state.authenticate(token_value)
            key = token_value or ""
            if token.rules.scoped:  # fine-grained and Actions tokens have permissions, not OAuth scopes
                headers |= {
                    "X-OAuth-Scopes": ", ".join(token.scopes),
                    "X-Accepted-OAuth-Scopes": ", ".join(route.scopes),
                }
            call = Call(
                self.state,
                token,
                owner,
                params,
                request.query_params,
                _base_url(request),
                raw_path,
                raw_query,
                key,
            )
            # One step under the lock: check the quota, answer from one consistent snapshot, count the request.
            with self.state.lock:
                rate = self.state.rate_limit(key)
                if route.metered and rate.remaining == 0:
                    response = _rate_limited(self.state.user_id(token.login), request_id)  # does not count
                else:
                    response = _conditional(request, self._handle(route, call, token))
                    # GitHub does not count an authorised 304.
                    if route.metered and response.status_code != HTTPStatus.NOT_MODIFIED:
                        rate = self.state.consume_rate_limit(key)
            headers |= rate.headers()
        except SandboxError as error:
            response = error_response(error.status, error.message, route.documentation_url(owner.kind, error.anchor))
        response.headers.update(headers)
        return response

    @staticmethod
    def _handle(route: Route, call: Call, token: Token) -> Response:
        """Token kind, scopes and the route itself; their errors count against the quota like any answer."""
        try:
            token.require(route.api, route.scopes, route.action)
            return route.handler(call)
        except SandboxError as error:
            return error_response(error.status, error.message, route.documentation_url(call.owner.kind, error.anchor))

    def _fault_response(self, request: Request, fault: Fault, request_id: str) -> Response:
        """A scripted answer in place of handling the request; it does not count against the quota."""
        assert fault.status is not None
        body = fault.response_body(request_id)
        response = Response(status_code=fault.status) if body is None else json_response(body, fault.status)
        response.headers.update(_github_headers(request, request_id))
        token = _bearer(request)
        if token and self.state.has_token(token):
            response.headers.update(self.state.rate_limit(token).headers())
        response.headers.update(fault.headers)
        return response
