"""Replicas as they are deployed: `github-packages-mcp --transport http` processes, each with a state directory of
its own, behind a round-robin proxy that sends each HTTP request to the next one (a load balancer without sticky
sessions)."""

from __future__ import annotations

import itertools
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import httpx
from starlette.types import Message, Receive, Scope, Send

from tests.helpers import COMMAND, clean_env, free_port

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
            _wait_for(port, process)
            urls.append(f"http://127.0.0.1:{port}/mcp")
        yield urls


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a replica exited with {process.returncode} (see its log)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"a replica did not listen on {port}")


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
        self._http = httpx.AsyncClient(timeout=60)

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
