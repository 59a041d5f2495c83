"""Benchmark: manifest GETs and time of plan_version_cleanup on acme-labs' web/api (345 image versions), the first
plan against later ones, which the manifest cache answers (github/manifests.py: ghcr.io counts every manifest GET
as a download).

Each plan is one tool call through an in-memory MCP session; the sandbox runs in its own process with `--latency`
added to every request. Manifest GETs are counted on the way out (a transport that wraps the real one), as the
registry would see them. Rows: the first plan (nothing cached), a second plan on the same server, and a plan on a
new server over the same state (journal_dir files, or with `--redis` a redis-server both servers share).

    .venv/bin/python bench/manifest_reads.py [--latency 0.05] [--redis]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import anyio
import httpx2
from harness import redis_process, sandbox_process, settle
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN
from github_packages_mcp.server.app import build_server

CLEANUP = {
    "org": DEMO_ORG,
    "package_type": "container",
    "package_name": "web/api",
    "tagged": "untagged",
    "keep_younger_than_days": 1,
}
SECRET = "one secret for every replica"  # noqa: S105  (a benchmark's)


class CountingTransport(httpx2.AsyncBaseTransport):
    """The real transport, counting the manifest GETs that go through it."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.manifest_gets = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "GET" and "/manifests/" in request.url.path:
            self.manifest_gets += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def plan(client: Client, transport: CountingTransport) -> tuple[int, float, dict[str, Any]]:
    """One plan: the manifest GETs it made, its seconds, and its result."""
    before, started = transport.manifest_gets, time.perf_counter()
    result = (await client.call_tool("plan_version_cleanup", CLEANUP)).structured_content
    assert result is not None
    return transport.manifest_gets - before, time.perf_counter() - started, result


async def main(args: argparse.Namespace) -> None:
    settle()
    rows: list[tuple[str, int, float, dict[str, Any]]] = []
    with (
        sandbox_process(latency=args.latency) as url,
        tempfile.TemporaryDirectory() as directory,
        redis_process() if args.redis else nullcontext(None) as redis_url,
    ):
        settings = Settings(
            token=DEMO_TOKEN, api_url=url, registry_url=url, journal_dir=Path(directory) / "one",
            hide_unusable_tools=False,
        )  # fmt: skip
        if redis_url is not None:
            settings = settings.with_changes(state_url=redis_url, shared_secret=SECRET)
        transport = CountingTransport()
        async with Client(build_server(settings, transport=transport)) as client:
            rows.append(("first plan (nothing cached)", *await plan(client, transport)))
            rows.append(("second plan, same server", *await plan(client, transport)))
        # A new server: over the same journal_dir, or with Redis over another one (only Redis is shared).
        other = settings.with_changes(journal_dir=Path(directory) / "two") if redis_url else settings
        transport = CountingTransport()
        async with Client(build_server(other, transport=transport)) as client:
            rows.append(("plan on a new server, same state", *await plan(client, transport)))
    state = "Redis (state_url)" if args.redis else "files under journal_dir"
    print(f"web/api, 345 versions, {args.latency * 1000:.0f} ms latency per request, cache in {state}\n")
    print("| plan | manifest GETs | time | delete | keep |\n|---|---|---|---|---|")
    for name, gets, seconds, result in rows:
        print(f"| {name} | {gets} | {seconds * 1000:.0f} ms | {result['delete']} | {result['keep']} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--redis", action="store_true", help="keep the cache in a redis-server (state_url)")
    anyio.run(main, parser.parse_args())
