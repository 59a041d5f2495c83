"""Benchmark: concurrent tool calls over streamable HTTP, many clients, GitHub at 50 ms of latency.

Our server runs as `github-packages-mcp --transport http` in its own process against the sandbox (its own
process too, 50 ms per request). N clients call `get_org_package` in parallel; reports calls per second and
the p50/p95 latency, for the default limiter (4 requests in flight) and a wider one.

    .venv/bin/python bench/throughput.py [--clients 50] [--calls 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
from harness import free_port, sandbox_process, wait_for
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN

PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}


@contextmanager
def http_server(github: str, concurrency: int) -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "config.toml"
        config.write_text(f"hide_unusable_tools = false\nmax_concurrency = {concurrency}\n")
        env = {**os.environ, "GITHUB_TOKEN": DEMO_TOKEN, "GITHUB_API_URL": github,
               "GITHUB_PACKAGES_MCP_CONFIG": str(config)}  # fmt: skip
        command = [sys.executable, "-m", "github_packages_mcp", "--transport", "http", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            wait_for(port, process)
            yield url
        finally:
            process.terminate()
            process.wait(10)


async def run(url: str, clients: int, calls: int) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def one_client() -> None:
        async with (
            httpx2.AsyncClient(timeout=60) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            for _ in range(calls):
                started = time.perf_counter()
                result = await client.call_tool("get_org_package", PACKAGE)
                assert not result.is_error, result.content
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(one_client)
    return time.perf_counter() - started, latencies


async def main(clients: int, calls: int) -> None:
    print(f"{clients} clients x {calls} calls of get_org_package over streamable HTTP, GitHub at 50 ms\n")
    print("| limiter (requests in flight) | calls/s | p50 ms | p95 ms |\n|---|---|---|---|")
    with sandbox_process(latency=0.05) as github:
        for concurrency in (4, 32):
            with http_server(github, concurrency) as url:
                await run(url, 2, 2)  # warm up
                elapsed, latencies = await run(url, clients, calls)
            p95 = statistics.quantiles(latencies, n=20)[-1]
            print(f"| {concurrency} | {len(latencies) / elapsed:.0f} | {statistics.median(latencies) * 1000:.0f} | "
                  f"{p95 * 1000:.0f} |")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10)
    arguments = parser.parse_args()
    anyio.run(main, arguments.clients, arguments.calls)
