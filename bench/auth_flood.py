"""Benchmark: a real user's `initialize` while made-up bearers flood a server taking callers' own GitHub tokens.

The server runs as deployed (`github-packages-mcp --transport http`, `http_auth = "github"`) in its own process;
GitHub's stand-in, the sandbox, runs in this one with `--latency` added to every request (GitHub's GET /user takes
tens of milliseconds), so its log tells how often GitHub was asked. Each made-up bearer (`made-up-N`, each used once,
`--concurrency` at a time) sends the opening request of a 2025-11-25 session. Meanwhile, and again with no flood, a
real user opens sessions: with a token the server has not seen yet (it asks GitHub first), and with one it has
(GitHub's word is kept). Printed: the flood's outcome, what the server asked GitHub, and the real user's latencies.

    .venv/bin/python bench/auth_flood.py [--made-up 1000] [--concurrency 50] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import anyio
import httpx2
from harness import free_port, wait_for

from github_packages_mcp.sandbox import DEMO_LOGIN, DEMO_TOKEN, SandboxServer

COMMAND = [sys.executable, "-m", "github_packages_mcp"]
ACCEPT = {"Accept": "application/json, text/event-stream"}
OPENING = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}
REAL_OPENINGS = 20  # the real user's sessions with a token already checked, for the median and the worst


async def opening(raw: httpx2.AsyncClient, url: str, token: str) -> tuple[int, float]:
    """The status of one session-opening request with `token` as the bearer, and its milliseconds."""
    started = time.perf_counter()
    answer = await raw.post(url, headers=ACCEPT | {"Authorization": f"Bearer {token}"}, json=OPENING)
    return answer.status_code, (time.perf_counter() - started) * 1000


async def real_user(raw: httpx2.AsyncClient, url: str, new_token: str) -> tuple[tuple[int, float], list[float]]:
    """A first opening with a token never seen, then `REAL_OPENINGS` with one already checked, a little apart."""
    first = await opening(raw, url, new_token)
    again = []
    for _ in range(REAL_OPENINGS):
        status, took = await opening(raw, url, DEMO_TOKEN)
        assert status == 200, status
        again.append(took)
        await anyio.sleep(0.02)
    return first, again


async def flood(url: str, made_up: int, concurrency: int, statuses: Counter[int]) -> float:
    """Send every made-up bearer's opening request; the seconds it took."""
    started = time.perf_counter()
    async with httpx2.AsyncClient(timeout=60, limits=httpx2.Limits(max_connections=concurrency)) as raw:

        async def worker(first: int) -> None:
            for number in range(first, made_up, concurrency):
                statuses[(await opening(raw, url, f"made-up-{number}"))[0]] += 1

        async with anyio.create_task_group() as group:
            for first in range(concurrency):
                group.start_soon(worker, first)
    return time.perf_counter() - started


def report(label: str, first: tuple[int, float], again: list[float]) -> None:
    print(
        f"  {label}: a token not seen yet {first[1]:.1f} ms ({first[0]}); one already checked: median "
        f"{statistics.median(again):.1f} ms, worst {max(again):.1f} ms ({len(again)} openings)"
    )


async def measure(url: str, made_up: int, concurrency: int, new_tokens: list[str]) -> None:
    async with httpx2.AsyncClient(timeout=60) as raw:
        await opening(raw, url, DEMO_TOKEN)  # the already-checked token, checked
        quiet = await real_user(raw, url, new_tokens[0])
        statuses: Counter[int] = Counter()
        took: list[float] = []

        async def flooding() -> None:
            took.append(await flood(url, made_up, concurrency, statuses))

        async with anyio.create_task_group() as group:
            group.start_soon(flooding)
            await anyio.sleep(0.3)  # the flood is under way
            loud = await real_user(raw, url, new_tokens[1])
            answered_meanwhile = sum(statuses.values())
    print(f"  flood: {dict(statuses)} in {took[0]:.1f} s ({made_up / took[0]:.0f} requests/s)")
    print(f"  the real user's openings ended when {answered_meanwhile} made-up bearers had been answered")
    report("no flood", *quiet)
    report("during the flood", *loud)


def main(made_up: int, concurrency: int, latency: float) -> None:
    sandbox = SandboxServer()
    sandbox.state.faults.latency = latency
    with sandbox, tempfile.TemporaryDirectory() as directory:
        new_tokens = [f"ghp_benchRealUser{number}{'0' * 21}" for number in range(2)]  # a person's, not seen yet
        for token in new_tokens:
            sandbox.state.add_token(token, DEMO_LOGIN, ["read:packages"])
        config = Path(directory) / "config.toml"
        config.write_text(
            f'http_auth = "github"\njournal_dir = "{directory}/state"\n'
            "http_max_sessions = 100000\nhttp_max_sessions_per_credential = 100000\n"
        )
        port = free_port()
        env = {"PATH": "/usr/bin:/bin", "GITHUB_API_URL": sandbox.url, "GITHUB_PACKAGES_MCP_CONFIG": str(config)}
        server = subprocess.Popen([*COMMAND, "--transport", "http", "--port", str(port)], env=env)
        try:
            wait_for(port, server)
            print(f"GET /user answered after {latency * 1000:.0f} ms; {made_up} made-up bearers, {concurrency} at once")
            anyio.run(measure, f"http://127.0.0.1:{port}/mcp", made_up, concurrency, new_tokens)
        finally:
            server.terminate()
            server.wait(10)
        checks = sum(r.method == "GET" and r.raw_path == "/user" for r in sandbox.state.requests)
    print(f"  GET /user requests GitHub received: {checks} (each made-up bearer, and 3 real tokens, once)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--made-up", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    arguments = parser.parse_args()
    main(arguments.made_up, arguments.concurrency, arguments.latency)
