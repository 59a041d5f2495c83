"""Serving MCP over stdin and stdout: one JSON-RPC message a line, and every line answered as JSON-RPC says.

The SDK's stdio transport hands a line it cannot read to the server as an exception, which the server drops, so a
raw client that sends a broken line or a batch waits forever; and it writes one message a line, so it could not
answer a batch with an array (docs/sdk-notes.md). Here `Wire` reads every line first:

- not JSON: -32700 Parse error, with id null;
- JSON but not a JSON-RPC message: -32600 Invalid Request, with the request's id when it has one;
- a batch (a JSON array): MCP 2025-03-26 requires servers to accept batches, and later versions removed them. On a
  connection that negotiated 2025-03-26, every message in it is served and the answers go back together, one array
  (JSON-RPC 2.0); on any other, nothing in it is served, and each request in it is answered -32600 on a line of its
  own (one -32600 with id null when it holds no request).

As with the SDK's transport, the wire is a private duplicate of fd 0 and fd 1 while serving; fd 0 then reads the
null device and fd 1 writes to stderr, so nothing else in the process can read from the wire or print into it.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from io import TextIOWrapper
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.shared.message import SessionMessage
from mcp_types import (
    INVALID_REQUEST,
    PARSE_ERROR,
    ErrorData,
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    RequestId,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from github_packages_mcp.state.opening import ProcessState

__all__ = ["BATCH_VERSION", "Reading", "Wire", "serve_stdio", "stdio_streams"]

BATCH_VERSION = "2025-03-26"  # the only MCP version with JSON-RPC batches


def serve_stdio(server: MCPServer[Any], state: ProcessState) -> None:
    """Serve `server` over this process's stdin and stdout until stdin ends, with the process's `state` (the
    server's) opened first and kept open meanwhile.

    Raises:
        SharedStateUnavailable: If the state cannot be opened (nothing was served).
    """
    anyio.run(_serve, server, state)


async def _serve(server: MCPServer[Any], state: ProcessState) -> None:
    # What `MCPServer.run_stdio_async` does over the SDK's transport, over this one (the SDK's in-memory client
    # reaches the low-level server the same way).
    lowlevel = server._lowlevel_server
    async with state, stdio_streams() as (read, write):
        await lowlevel.run(read, write, lowlevel.create_initialization_options())


@asynccontextmanager
async def stdio_streams() -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[SessionMessage | Exception], MemoryObjectSendStream[SessionMessage | str]]
]:
    """The server's two streams over the process's stdin and stdout, read and written through a `Wire`."""
    with _claimed(0, os.open(os.devnull, os.O_RDONLY)) as wire_in, _claimed(1, os.dup(2)) as wire_out:
        # closefd=False, as in the SDK: a worker thread may still block on the descriptor after serving ends.
        stdin = anyio.wrap_file(TextIOWrapper(os.fdopen(wire_in, "rb", closefd=False), "utf-8", errors="replace"))
        stdout = anyio.wrap_file(TextIOWrapper(os.fdopen(wire_out, "wb", closefd=False), "utf-8"))
        wire = Wire()
        to_server, from_client = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        to_client, for_client = anyio.create_memory_object_stream[SessionMessage | str](0)
        answers = to_client.clone()  # the reader's own answers (refusals), in turn with the server's

        async def read() -> None:
            async with to_server, answers:
                async for line in stdin:
                    reading = wire.read(line)
                    for message in reading.to_server:
                        await to_server.send(SessionMessage(message))
                    for answer in reading.to_client:
                        await answers.send(answer)

        async def write() -> None:
            async with for_client:
                async for item in for_client:
                    line = item if isinstance(item, str) else wire.written(item.message)
                    if line is not None:
                        await stdout.write(line + "\n")
                        await stdout.flush()

        async with anyio.create_task_group() as group:
            group.start_soon(read)
            group.start_soon(write)
            yield from_client, to_client


@contextmanager
def _claimed(fd: int, diversion: int) -> Iterator[int]:
    """A private duplicate of `fd` for the wire, `fd` itself pointing at `diversion` until the block ends."""
    wire = os.dup(fd)
    try:
        os.dup2(diversion, fd)
    finally:
        os.close(diversion)
    try:
        yield wire
    finally:
        os.dup2(wire, fd)


@dataclass
class Reading:
    """What one line of input comes to: messages for the server, and lines answered at once."""

    to_server: list[JSONRPCMessage] = field(default_factory=list)
    to_client: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    """A batch being served: the answers so far, and the requests still to answer."""

    answers: list[JSONRPCMessage] = field(default_factory=list)
    waiting: set[RequestId] = field(default_factory=set)

    def line(self) -> str | None:
        """The batch's answer once every request is answered; none for a batch with nothing to answer."""
        if self.waiting or not self.answers:
            return None
        return "[" + ",".join(_dumped(answer) for answer in self.answers) + "]"


class _Refused(Exception):
    def __init__(self, error: JSONRPCError) -> None:
        super().__init__(error.error.message)
        self.error = error


class Wire:
    """One stdio connection's framing: each line read, each message written, and what that needs remembered (the
    protocol version the connection negotiated, the batches waiting for answers)."""

    def __init__(self) -> None:
        self.version: str | None = None
        self._opening: set[RequestId] = set()  # `initialize` requests not answered yet
        # By the id of each request still waiting in one, as the SDK correlates ids ("7" and 7 are one).
        self._batches: dict[RequestId, _Batch] = {}

    def read(self, line: str) -> Reading:
        """A line from the client: what goes to the server, and what is answered at once."""
        if not line.strip():
            return Reading()
        try:
            value = json.loads(line)
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            return Reading(to_client=[_dumped(_error(None, PARSE_ERROR, f"Parse error: not JSON ({reason})"))])
        if isinstance(value, list):
            return self._batch(value)
        try:
            message = _message(value)
        except _Refused as refused:
            return Reading(to_client=[_dumped(refused.error)])
        return Reading(to_server=[message], to_client=self._observe(message))

    def written(self, message: JSONRPCMessage) -> str | None:
        """The line a message of the server goes out as; none while its batch waits for other answers."""
        if isinstance(message, JSONRPCResponse | JSONRPCError) and message.id is not None:
            if message.id in self._opening:
                self._opening.discard(message.id)
                if isinstance(message, JSONRPCResponse):
                    self.version = message.result.get("protocolVersion")
            key = coerce_request_id(message.id)
            if (batch := self._batches.pop(key, None)) is not None:
                batch.answers.append(message)
                batch.waiting.discard(key)
                return batch.line()
        return _dumped(message)

    def _observe(self, message: JSONRPCMessage) -> list[str]:
        """Remember what later framing depends on; a batch completed by a cancellation is answered now."""
        if isinstance(message, JSONRPCRequest) and message.method == "initialize":
            self._opening.add(message.id)
        if isinstance(message, JSONRPCNotification) and message.method == "notifications/cancelled":
            # A cancelled request is never answered: its batch no longer waits for it.
            cancelled = cancelled_request_id_from_params(message.params)
            key = coerce_request_id(cancelled) if cancelled is not None else None
            if key is not None and (batch := self._batches.pop(key, None)) is not None:
                batch.waiting.discard(key)
                return [line] if (line := batch.line()) is not None else []
        return []

    def _batch(self, values: list[Any]) -> Reading:
        if not values:
            return Reading(to_client=[_dumped(_error(None, INVALID_REQUEST, "Invalid Request: an empty batch"))])
        if self.version != BATCH_VERSION:
            return Reading(to_client=[_dumped(error) for error in self._refused_batch(values)])
        batch, reading = _Batch(), Reading()
        for value in values:
            try:
                message = _message(value)
            except _Refused as refused:
                batch.answers.append(refused.error)
                continue
            if isinstance(message, JSONRPCRequest):
                batch.waiting.add(coerce_request_id(message.id))
                self._batches[coerce_request_id(message.id)] = batch
            reading.to_server.append(message)
            reading.to_client.extend(self._observe(message))
        if (line := batch.line()) is not None:  # nothing to wait for: only refusals
            reading.to_client.append(line)
        return reading

    def _refused_batch(self, values: list[Any]) -> list[JSONRPCError]:
        negotiated = f"negotiated {self.version}" if self.version else "negotiated no version by initialize"
        reason = (
            f"Invalid Request: JSON-RPC batches exist only in MCP {BATCH_VERSION}, and this connection {negotiated}. "
            "Nothing in the batch was served; send each message on a line of its own."
        )
        ids: list[RequestId | None] = [rid for value in values if (rid := _request_id(value)) is not None]
        return [_error(request_id, INVALID_REQUEST, reason) for request_id in ids or [None]]


def _message(value: Any) -> JSONRPCMessage:
    """`value` as a JSON-RPC message.

    Raises:
        _Refused: If it is not one; with the -32600 answer.
    """
    try:
        return jsonrpc_message_adapter.validate_python(value, by_name=False)
    except ValidationError:
        reason = "Invalid Request: not a JSON-RPC 2.0 request, notification or response"
        raise _Refused(_error(_request_id(value), INVALID_REQUEST, reason)) from None


def _request_id(value: Any) -> RequestId | None:
    """The id of something meant as a request (it names a method), if it has a valid one."""
    if not isinstance(value, dict) or "method" not in value:
        return None
    request_id = value.get("id")
    valid = isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool))
    return request_id if valid else None


def _error(request_id: RequestId | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def _dumped(message: JSONRPCMessage) -> str:
    return message.model_dump_json(by_alias=True, exclude_unset=True)
