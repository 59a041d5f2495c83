"""The stdio server as a raw JSON-RPC client meets it: bytes written to the command's stdin, lines read from its
stdout. Every line gets the answer JSON-RPC gives it, a batch is served or refused as the negotiated protocol says,
and no server request goes out before the client's `notifications/initialized`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from tests.helpers import COMMAND, clean_env

pytestmark = pytest.mark.anyio
PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
LISTING = {"name": "list_org_packages", "arguments": {"org": DEMO_ORG, "package_type": "container"}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
PROMPTS = ["clean_up_container_package", "audit_organization", "draft_cleanup_policy"]


class RawClient:
    """Writes whatever it is given to the server's stdin; reads its stdout a line (one message) at a time."""

    def __init__(self, process: Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin = process.stdin
        self.stdout = BufferedByteReceiveStream(process.stdout)

    async def send(self, message: Any) -> None:
        line = message if isinstance(message, bytes) else json.dumps(message).encode()
        await self.stdin.send(line + b"\n")

    async def receive(self) -> Any:
        with anyio.fail_after(10):
            return json.loads(await self.stdout.receive_until(b"\n", 10_000_000))

    async def request(self, request_id: int | str, method: str, params: dict[str, Any] | None = None) -> Any:
        """Send a request and return the next message, which must be its answer."""
        await self.send(_request(request_id, method, params))
        answer = await self.receive()
        assert answer["id"] == request_id and "method" not in answer, answer
        return answer

    async def initialize(self, version: str, capabilities: dict[str, Any] | None = None) -> None:
        opening = {"protocolVersion": version, "capabilities": capabilities or {}, "clientInfo": _CLIENT}
        assert (await self.request(0, "initialize", opening))["result"]["protocolVersion"] == version


_CLIENT = {"name": "by-hand", "version": "0"}


def _request(request_id: int | str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, **({"params": params} if params else {})}


@asynccontextmanager
async def raw_stdio(sandbox: SandboxServer) -> AsyncIterator[RawClient]:
    """The command serving MCP over stdio against the test's sandbox; its stdin closed (it exits) after the block."""
    env = clean_env(GITHUB_API_URL=sandbox.url, GITHUB_TOKEN=DEMO_TOKEN)
    async with await anyio.open_process(COMMAND, env=env, stderr=subprocess.DEVNULL) as process:
        yield RawClient(process)
        assert process.stdin is not None
        await process.stdin.aclose()
        with anyio.fail_after(10):
            assert await process.wait() == 0


async def test_a_line_that_is_not_json_is_answered_with_a_parse_error(sandbox: SandboxServer) -> None:
    async with raw_stdio(sandbox) as client:
        await client.send(b'{"jsonrpc": "2.0", "id": 1, "method": ')
        broken = await client.receive()
        await client.initialize("2025-11-25")  # the connection goes on
    assert broken["id"] is None
    assert broken["error"]["code"] == -32700
    assert broken["error"]["message"].startswith("Parse error: not JSON")


async def test_json_that_is_no_json_rpc_message_is_an_invalid_request(sandbox: SandboxServer) -> None:
    async with raw_stdio(sandbox) as client:
        await client.initialize("2025-11-25")
        await client.send({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": [1]})
        with_id = await client.receive()
        await client.send(42)
        without_id = await client.receive()
    assert (with_id["id"], with_id["error"]["code"]) == (7, -32600)
    assert (without_id["id"], without_id["error"]["code"]) == (None, -32600)


async def test_a_batch_is_served_as_one_array_on_a_2025_03_26_connection(sandbox: SandboxServer) -> None:
    async with raw_stdio(sandbox) as client:
        await client.initialize("2025-03-26")
        await client.send(INITIALIZED)
        await client.send(
            [
                _request(1, "prompts/list"),
                {"jsonrpc": "2.0", "method": "notifications/roots/list_changed"},
                _request("two", "tools/call", LISTING),
                {"not": "a message"},
            ]
        )
        batch = await client.receive()
        after = await client.request(3, "ping")
    answers = {answer["id"]: answer for answer in batch}
    assert sorted(answers, key=str) == [1, None, "two"]
    assert [prompt["name"] for prompt in answers[1]["result"]["prompts"]] == PROMPTS
    listing = json.loads(answers["two"]["result"]["content"][0]["text"])  # 2025-03-26 has no structuredContent
    assert "web/api" in [item["name"] for item in listing["items"]]
    assert answers[None]["error"]["code"] == -32600
    assert after["result"] == {}


async def test_a_batch_waits_for_no_request_the_client_cancelled(sandbox: SandboxServer) -> None:
    sandbox.state.faults.latency = 6  # longer than the answer may take
    async with raw_stdio(sandbox) as client:
        await client.initialize("2025-03-26")
        await client.send(INITIALIZED)
        await client.send([_request(1, "tools/call", LISTING), _request(2, "ping")])
        with anyio.fail_after(10):
            while sandbox.state.in_flight == 0:  # noqa: ASYNC110  (the sandbox offers no event)
                await anyio.sleep(0.01)
        # Stringified, as some clients echo ids: the SDK takes "1" for 1, and so does the batch.
        await client.send({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "1"}})
        with anyio.fail_after(3):
            batch = await client.receive()
    assert batch == [{"jsonrpc": "2.0", "id": 2, "result": {}}]


@pytest.mark.parametrize("version", ["2025-06-18", "2025-11-25", None], ids=["2025-06-18", "2025-11-25", "before"])
async def test_a_batch_is_refused_request_by_request_on_any_other_version(
    sandbox: SandboxServer, version: str | None
) -> None:
    async with raw_stdio(sandbox) as client:
        if version is not None:
            await client.initialize(version)
            await client.send(INITIALIZED)
        await client.send([_request(1, "tools/call", LISTING), INITIALIZED, _request("b", "ping")])
        refusals = [await client.receive(), await client.receive()]
        await client.send([INITIALIZED])  # no request in it: one refusal, id null
        refusals.append(await client.receive())
    assert [(refusal["id"], refusal["error"]["code"]) for refusal in refusals] == [
        (1, -32600),
        ("b", -32600),
        (None, -32600),
    ]
    assert "JSON-RPC batches exist only in MCP 2025-03-26" in refusals[0]["error"]["message"]
    assert [r.raw_path for r in sandbox.state.requests if "/packages" in r.raw_path] == []  # none was served


async def test_no_form_is_sent_before_the_client_said_it_is_initialized(sandbox: SandboxServer) -> None:
    """A raw client may call a tool between `initialize` and `notifications/initialized`; the server may send it
    no request then, so the delete is refused (nothing deleted), and once initialized the form is sent."""
    async with raw_stdio(sandbox) as client:
        await client.initialize("2025-11-25", {"elicitation": {"form": {}}})
        early = await client.request(1, "tools/call", {"name": "delete_org_package", "arguments": PACKAGE})
        await client.send(INITIALIZED)
        await client.send(_request(2, "tools/call", {"name": "delete_org_package", "arguments": PACKAGE}))
        form = await client.receive()
        await client.send({"jsonrpc": "2.0", "id": form["id"], "result": {"action": "decline"}})
        declined = await client.receive()
    assert early["result"]["isError"] is True
    assert "before the client sent notifications/initialized" in early["result"]["content"][0]["text"]
    assert form["method"] == "elicitation/create"
    assert declined["result"]["structuredContent"]["status"] == "declined"
    assert [request for request in sandbox.state.requests if request.method == "DELETE"] == []
