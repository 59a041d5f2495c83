"""Replicas as they are deployed: `github-packages-mcp --transport http` processes, each with a state directory of
its own, behind a round-robin proxy that sends each HTTP request to the next one (a load balancer without sticky
sessions)."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
from starlette.types import Message, Receive, Scope, Send

from github_packages_mcp.sandbox import Fault, SandboxServer
from tests.helpers import COMMAND, clean_env, free_port, wait_for_port
from tests.server.http_serving import ACCEPT, LEGACY

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"host", b"content-length"}


@contextmanager
def replica_processes(count: int, directory: Path, **env: str) -> Iterator[list[str]]:
    """`count` replicas serving streamable HTTP on free ports, with `env`; their MCP URLs."""
    with ExitStack() as stack:
        urls = []
        for number in range(count):
            port = free_port()
            home = directory / f"replica-{number}"
            log = stack.enter_context((directory / f"replica-{number}.log").open("w"))
            process = subprocess.Popen(
                [*COMMAND, "--transport", "http", "--port", str(port)],
                env=clean_env(XDG_STATE_HOME=str(home), **env),
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
            stack.callback(_stop, process)
            wait_for_port(port, process)
            urls.append(f"http://127.0.0.1:{port}/mcp")
        yield urls


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


class RoundRobinProxy:
    """An ASGI app forwarding each request, streamed both ways, to the next of `upstreams`; `served` counts them."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = upstreams
        self.served = [0] * len(upstreams)
        self._turns = itertools.cycle(range(len(upstreams)))
        self._http = httpx2.AsyncClient(timeout=60)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self._http.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message: Message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        turn = next(self._turns)
        self.served[turn] += 1
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        request = self._http.build_request(scope["method"], self.upstreams[turn], headers=headers, content=body)
        response = await self._http.send(request, stream=True)
        async with anyio.create_task_group() as group:

            async def client_gone() -> None:  # a client that drops its stream drops the upstream one too
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(client_gone)
            try:
                sent_headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
                await send({"type": "http.response.start", "status": response.status_code, "headers": sent_headers})
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                await response.aclose()
                group.cancel_scope.cancel()


async def apply_then_cancel(
    apply_url: str,
    cancel_url: str,
    arguments: dict[str, Any],
    sandbox: SandboxServer,
    headers: dict[str, str],
    *,
    during: Literal["delete", "wait"] = "delete",
) -> tuple[int, bytes]:
    """Apply a plan (with its confirmation token) by hand through `apply_url`, as a 2025-11-25 client would, and
    cancel it through `cancel_url`; the cancel's HTTP status, and what the apply's stream carried. `during`
    "delete": deletes are slowed to 0.4 s each, and the cancel goes once the first DELETE reached GitHub (while it
    is in flight); "wait": once the first DELETE was answered (while the run waits for the next one's turn). The run
    is watched for a second more."""
    if during == "delete":
        sandbox.state.faults.script("DELETE", "*/versions/*", [Fault(latency=0.4)] * 5)
    headers = {**ACCEPT, "Mcp-Protocol-Version": LEGACY, **headers}
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "apply_version_cleanup", "arguments": arguments}}  # fmt: skip
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}
    answered: list[bytes] = []

    def started() -> bool:  # recorded on arrival with status 0, then again once answered
        return any(r.method == "DELETE" and (during == "delete" or r.status) for r in sandbox.state.requests)

    async with httpx2.AsyncClient(timeout=30) as raw:

        async def apply() -> None:
            async with raw.stream("POST", apply_url, json=call, headers=headers) as stream:
                answered.extend([chunk async for chunk in stream.aiter_bytes()])

        async with anyio.create_task_group() as group:
            group.start_soon(apply)
            with anyio.fail_after(10):
                while not started():  # noqa: ASYNC110  (a thread records it)
                    await anyio.sleep(0.005)
            sent = await raw.post(cancel_url, json=cancel, headers=headers)
        await anyio.sleep(1.0)  # time for two more deletes, had it gone on
    return sent.status_code, b"".join(answered)
