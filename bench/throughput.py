"""Benchmark: concurrent tool calls over streamable HTTP, many clients, GitHub at 50 ms of latency.

Side by side in one run, with the same load generator (N clients, each its own MCP session, calling one after
another, spread over generator processes started together):
  - SDK floor: a one-tool MCPServer served by uvicorn with the SDK's defaults, whose tool waits 50 ms, at most
    32 at a time (what GitHub's latency and our limiter allow, without our code): what MCP over HTTP, uvicorn and
    the load generator cost on this machine;
  - ours: `github-packages-mcp --transport http` in its own process against the sandbox (its own process too,
    50 ms per request), calling `get_org_package`, with the default limiter (4 requests in flight) and a wider one.
Reports calls per second, the p50/p95 latency, and calls/s against the limiter's ceiling (in flight / 50 ms).

    .venv/bin/python bench/throughput.py [--clients 50] [--calls 10] [--repeat 3] [--processes 2] [--replicas 1,2,4]

Every server is a list of endpoints (`run` spreads the clients over them): with `--replicas`, the same load on
that many replicas of ours sharing one Redis (stateless; the clients are the load balancer) is measured beside.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import partial
from pathlib import Path
from subprocess import PIPE

import anyio
import httpx2
import uvicorn
from harness import free_port, redis_process, sandbox_process, settle, wait_for
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN

PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
GITHUB_HEADERS = {"Authorization": f"Bearer {DEMO_TOKEN}", "Accept": "application/vnd.github+json"}
LATENCY = 0.05  # GitHub's, in the sandbox and in the floor's tool


@contextmanager
def serving(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[list[str]]:
    """A server process on the loopback port; yields its MCP endpoints (one; replicas would add theirs)."""
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for(port, process)
        yield [f"http://127.0.0.1:{port}/mcp"]
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def our_server(github: str, concurrency: int, replicas: int = 1, state_url: str | None = None) -> Iterator[list[str]]:
    """Our server, or `replicas` of it sharing the Redis at `state_url` (stateless: the clients, spread over
    them, are the load balancer)."""
    with tempfile.TemporaryDirectory() as directory, ExitStack() as stack:
        config = Path(directory) / "config.toml"
        config.write_text(f"hide_unusable_tools = false\nmax_concurrency = {concurrency}\n")
        env = {**os.environ, "GITHUB_TOKEN": DEMO_TOKEN, "GITHUB_API_URL": github,
               "GITHUB_PACKAGES_MCP_CONFIG": str(config)}  # fmt: skip
        if state_url is not None:
            env |= {"GITHUB_PACKAGES_MCP_STATE_URL": state_url, "GITHUB_PACKAGES_MCP_HTTP_STATELESS": "true",
                    "GITHUB_PACKAGES_MCP_SHARED_SECRET": "one secret for every replica"}  # fmt: skip
        urls = []
        for number in range(replicas):
            port = free_port()
            command = [sys.executable, "-m", "github_packages_mcp", "--transport", "http", "--port", str(port)]
            urls += stack.enter_context(serving(command, port, env | {"XDG_STATE_HOME": f"{directory}/{number}"}))
        yield urls


@contextmanager
def floor_server(concurrency: int, github: str = "") -> Iterator[list[str]]:
    port = free_port()
    command = [sys.executable, __file__, "--serve-floor", str(port), "--concurrency", str(concurrency)]
    with serving(command + (["--github", github] if github else []), port) as urls:
        yield urls


def _serve_floor(port: int, concurrency: int, github: str) -> None:
    """The SDK's floor: a one-tool server whose tool waits as GitHub would, or, with `github`, sends the same
    GET to it that ours does (one shared httpx2 client, as many connections as requests in flight) and returns
    its body as text: what MCP plus the GitHub request itself cost, without any of our code."""
    server = MCPServer("floor")
    limiter = anyio.CapacityLimiter(concurrency)
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = httpx2.AsyncClient(base_url=github or "http://unused", limits=limits, headers=GITHUB_HEADERS)
    path = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi"

    @server.tool()
    async def get_org_package(org: str, package_type: str, package_name: str) -> str:
        async with limiter:
            if not github:
                await anyio.sleep(LATENCY)
                return f"{org}/{package_type}/{package_name}"
            return (await http.get(path)).raise_for_status().text

    settle()  # as our server does when it starts serving
    uvicorn.run(server.streamable_http_app(), host="127.0.0.1", port=port, log_level="warning")


async def run(urls: Sequence[str], clients: int, calls: int) -> tuple[float, list[float]]:
    """`clients` sessions, spread over the endpoints, each making `calls` calls one after another."""
    latencies: list[float] = []

    async def one_client(url: str) -> None:
        async with (
            httpx2.AsyncClient(timeout=60) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            for _ in range(calls):
                started = time.perf_counter()
                result = await client.call_tool("get_org_package", PACKAGE)
                assert not result.is_error, result.content
                latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    async with anyio.create_task_group() as group:
        for number in range(clients):
            group.start_soon(one_client, urls[number % len(urls)])
    return time.monotonic() - started, latencies


def load(urls: Sequence[str], clients: int, calls: int, processes: int) -> tuple[float, list[float]]:
    """`run` split over generator processes started together: one event loop driving every session would be
    busy most of the time, and its own queueing would be measured as the server's."""
    shares = [clients // processes + (number < clients % processes) for number in range(processes)]
    command = [sys.executable, __file__, "--load", json.dumps(list(urls)), "--calls", str(calls), "--clients"]
    children = [subprocess.Popen([*command, str(share)], stdin=PIPE, stdout=PIPE, text=True) for share in shares]
    for child in children:  # all imported and waiting, then all at once
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    outcomes = [json.loads(child.communicate()[0]) for child in children]
    elapsed = max(outcome["end"] for outcome in outcomes) - min(outcome["start"] for outcome in outcomes)
    return elapsed, [latency for outcome in outcomes for latency in outcome["latencies"]]


async def _load(urls: list[str], clients: int, calls: int) -> None:
    settle()
    print("ready", flush=True)
    await anyio.to_thread.run_sync(sys.stdin.readline)
    started = time.monotonic()
    _, latencies = await run(urls, clients, calls)
    print(json.dumps({"start": started, "end": time.monotonic(), "latencies": latencies}))


async def main(clients: int, calls: int, repeat: int, processes: int, replicas: Sequence[int]) -> None:
    print(f"{clients} clients x {calls} calls of get_org_package over streamable HTTP, GitHub at "
          f"{LATENCY * 1000:.0f} ms, from {processes} generator processes; median of {repeat} runs each, "
          "interleaved\n")  # fmt: skip
    settle()
    with sandbox_process(latency=LATENCY) as github, ExitStack() as stack:
        servers: dict[str, tuple[int, Callable[[], AbstractContextManager[list[str]]]]] = {
            "SDK floor (one tool waiting 50 ms), 32": (32, lambda: floor_server(32)),
            "SDK floor + the same GitHub GET, 32": (32, lambda: floor_server(32, github)),
            "ours, limiter 4 (default)": (4, lambda: our_server(github, 4)),
            "ours, limiter 32": (32, lambda: our_server(github, 32)),
        }
        if replicas:  # the same load on replicas sharing one Redis, each with the limiter at 32
            state_url = stack.enter_context(redis_process())
            for count in replicas:
                servers[f"ours, {count} replica(s) sharing Redis, 32 each"] = (
                    32 * count,
                    partial(our_server, github, 32, count, state_url),
                )
        results: dict[str, list[tuple[float, list[float]]]] = {name: [] for name in servers}
        for _ in range(repeat):
            for name, (_, start) in servers.items():
                with start() as urls:
                    await run(urls, 2, 2)  # warm up
                    results[name].append(await anyio.to_thread.run_sync(load, urls, clients, calls, processes))
    print("| server (requests in flight) | calls/s | of the ceiling | p50 ms | p95 ms |\n|---|---|---|---|---|")
    for name, runs in results.items():
        ceiling = servers[name][0] / LATENCY
        elapsed, latencies = sorted(runs, key=lambda run: run[0])[len(runs) // 2]  # the median run
        rate = len(latencies) / elapsed
        p95 = statistics.quantiles(latencies, n=20)[-1]
        print(f"| {name} | {rate:.0f} | {rate / ceiling:.0%} of {ceiling:.0f} | "
              f"{statistics.median(latencies) * 1000:.0f} | {p95 * 1000:.0f} |")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="load generator processes")
    parser.add_argument("--replicas", default="", help="e.g. 1,2,4: also replicas sharing a Redis (redis-server)")
    parser.add_argument("--load", help=argparse.SUPPRESS)  # a generator process: the endpoints, as JSON
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=32, help=argparse.SUPPRESS)
    parser.add_argument("--github", default="", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_floor:
        _serve_floor(arguments.serve_floor, arguments.concurrency, arguments.github)
    elif arguments.load:
        anyio.run(_load, json.loads(arguments.load), arguments.clients, arguments.calls)
    else:
        counts = [int(count) for count in arguments.replicas.split(",") if count.strip()]
        anyio.run(main, arguments.clients, arguments.calls, arguments.repeat, arguments.processes, counts)
