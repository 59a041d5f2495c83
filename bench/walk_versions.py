"""Benchmark: read every version of a 5,000-version package at 50 ms of latency per request.

Compares, side by side in one run against the sandbox on 127.0.0.1 (in its own process, as GitHub's CPU is
not ours):
  - a sequential page walk (one page after another, following `next`),
  - the shared client's concurrent walk (page 1, then the rest `max_concurrency` at a time),
  - the same concurrent walk through the MCP protocol (`list_org_package_versions` with `all_pages`),
and reports each against the physical floor: ceil(pages / concurrency) x latency.

    .venv/bin/python bench/walk_versions.py [--versions 5000] [--latency 0.05] [--concurrency 4] [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from harness import PACKAGE, sandbox_process, settle
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN
from github_packages_mcp.server.app import build_server

PATH = f"/orgs/{DEMO_ORG}/packages/container/bench%2Fimage/versions"


async def sequential(github: GitHubClient) -> int:
    count, page = 0, 1
    while True:
        result = await github.get_page(PATH, {"page": page, "per_page": 100})
        count += len(result.items)
        if not result.next_page:
            return count
        page = result.next_page


async def concurrent(github: GitHubClient) -> int:
    return len((await github.get_all_pages(PATH, {})).items)


async def through_mcp(client: Client) -> int:
    arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": PACKAGE, "all_pages": True}
    result = await client.call_tool("list_org_package_versions", arguments)
    assert result.structured_content is not None, result.content
    # Every page is read; the result is cut at a page boundary to fit a context window: count what was read.
    listing = result.structured_content
    return len(listing["items"]) if "next_page" not in listing else listing["last_page"] * listing["per_page"]


async def timed(run: Callable[[], Awaitable[int]], repeat: int, expected: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        count = await run()
        times.append(time.perf_counter() - started)
        assert count == expected, count
    return statistics.median(times)


async def main(args: argparse.Namespace) -> None:
    settle()
    with sandbox_process(args.versions, args.latency) as url:
        settings = Settings(token=DEMO_TOKEN, api_url=url, max_concurrency=args.concurrency, cache_max_entries=0)
        pages = math.ceil(args.versions / 100)
        floor = math.ceil(pages / args.concurrency) * args.latency
        results: dict[str, Any] = {}
        async with GitHubClient.from_settings(settings) as github:
            results["sequential page walk"] = await timed(lambda: sequential(github), args.repeat, args.versions)
            results["concurrent walk (client)"] = await timed(lambda: concurrent(github), args.repeat, args.versions)
        async with Client(build_server(settings)) as client:
            results["concurrent walk (MCP tool call)"] = await timed(
                lambda: through_mcp(client), args.repeat, args.versions
            )
    print(
        f"{args.versions} versions, {pages} pages of 100, {args.latency * 1000:.0f} ms latency, "
        f"concurrency {args.concurrency}, median of {args.repeat}; floor = ceil({pages}/{args.concurrency}) x "
        f"{args.latency * 1000:.0f} ms = {floor * 1000:.0f} ms\n"
    )
    print("| walk | time | x floor |\n|---|---|---|")
    for name, seconds in results.items():
        print(f"| {name} | {seconds * 1000:.0f} ms | {seconds / floor:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    anyio.run(main, parser.parse_args())
