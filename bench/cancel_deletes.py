"""Benchmark: how many DELETEs a cleanup still sends after a cancel that arrives while it waits for its next turn.

The server runs as a person runs it, with its default spacing of one second between deletes (GitHub asks for about a
second): over stdio (the SDK's client spawns `python -m github_packages_mcp`) and over streamable HTTP (the command
serving `--transport http` on loopback), each in both protocol eras (2025-11-25 cancels with
`notifications/cancelled`; 2026-07-28 over HTTP closes the call's stream). Each run applies a plan of five deletes
(multi/app's untagged images, confirmed by token) and cancels the call as soon as the sandbox has answered the
first DELETE: the run is then waiting about a second for the next one's turn. The sandbox's log is watched for two
seconds more, and every DELETE that arrived after the cancel is counted. Expected: 0 (before the turn was taken
apart from the shielded delete, 1 in every run, about half a second after the cancel).

The sandbox runs in this process (its log of requests is read, on this process's clock); the server in its own.

    .venv/bin/python bench/cancel_deletes.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
from harness import free_port
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer

MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app", "tagged": "untagged"}
WATCH_SECONDS = 2.0  # after the cancel: un-cancelled, the next DELETE would come within one second
COMMAND = [sys.executable, "-m", "github_packages_mcp"]


def server_env(sandbox: SandboxServer, directory: Path) -> dict[str, str]:
    config = directory / "config.toml"
    config.write_text(f'hide_unusable_tools = false\njournal_dir = "{directory / "state"}"\n')
    return {
        "PATH": "/usr/bin:/bin",
        "GITHUB_API_URL": sandbox.url,
        "GITHUB_REGISTRY_URL": sandbox.url,
        "GITHUB_TOKEN": DEMO_TOKEN,
        "GITHUB_PACKAGES_MCP_CONFIG": str(config),
        "XDG_STATE_HOME": str(directory / "xdg"),
    }


@asynccontextmanager
async def connected(transport: str, mode: str, env: dict[str, str]) -> AsyncIterator[Client]:
    if transport == "stdio":
        async with Client(StdioServerParameters(command=COMMAND[0], args=COMMAND[1:], env=env), mode=mode) as client:
            yield client
        return
    port = free_port()
    command = [*COMMAND, "--transport", "http", "--port", str(port)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    async with await anyio.open_process(command, env=env, **quiet) as server:
        try:
            with anyio.fail_after(30):
                while True:
                    try:
                        await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                        break
                    except OSError:
                        await anyio.sleep(0.05)
            async with (
                httpx2.AsyncClient() as http,
                Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http), mode=mode) as client,
            ):
                yield client
        finally:
            server.terminate()


def deletes(sandbox: SandboxServer) -> list[Any]:
    return [r for r in sandbox.state.requests if r.method == "DELETE"]


async def one_run(sandbox: SandboxServer, transport: str, mode: str) -> tuple[int, int]:
    """DELETEs that arrived after the cancel, and in all."""
    sandbox.state.reset()
    with tempfile.TemporaryDirectory() as directory:
        async with connected(transport, mode, server_env(sandbox, Path(directory))) as client:
            plan = (await client.call_tool("plan_version_cleanup", MULTI)).structured_content or {}
            arguments = {"plan_id": plan["plan_id"]}
            offered = (await client.call_tool("apply_version_cleanup", arguments)).structured_content or {}
            arguments["confirmation_token"] = offered["confirmation_token"]
            async with anyio.create_task_group() as group:
                group.start_soon(client.call_tool, "apply_version_cleanup", arguments)
                with anyio.fail_after(30):
                    while not [r for r in deletes(sandbox) if r.status]:  # noqa: ASYNC110  (the sandbox's thread)
                        await anyio.sleep(0.005)
                cancelled_at = time.monotonic()
                group.cancel_scope.cancel()
            await anyio.sleep(WATCH_SECONDS)
    sent = deletes(sandbox)
    return len([r for r in sent if r.received_at > cancelled_at]), len(sent)


async def main(runs: int) -> None:
    cases = [("stdio", "legacy"), ("stdio", "auto"), ("http", "legacy"), ("http", "auto")]
    era = {"legacy": "2025-11-25", "auto": "2026-07-28"}
    print(f"{runs} run(s) each; 1 s between deletes (the default); cancelled once the first DELETE was answered\n")
    print("| transport | protocol | DELETEs after the cancel, per run | in all, per run |\n|---|---|---|---|")
    with SandboxServer() as sandbox:
        for transport, mode in cases:
            results = [await one_run(sandbox, transport, mode) for _ in range(runs)]
            after = [late for late, _ in results]
            total = [count for _, count in results]
            print(f"| {transport} | {era[mode]} | {after} (max {max(after)}) | {statistics.median(total):g} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    anyio.run(main, parser.parse_args().runs)
