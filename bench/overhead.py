"""Benchmark: what a tool call costs on top of the GitHub request it makes, side by side in one run.

  - raw: an httpx2 GET of the URL `get_org_package` asks for (web/api of acme-labs), same process;
  - tool: `get_org_package` through an in-memory MCP client session (the SDK's client, ours as the server);
  - SDK floor: a one-tool echo server through the same kind of session (what MCP itself costs).
The sandbox runs in its own process with no added latency; our ETag cache is off, so every call is a full
GET like the raw one. Reports medians per call, the ratio tool / raw, and our added time (tool - raw) against
the SDK floor.

    .venv/bin/python bench/overhead.py [--calls 500]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
from harness import sandbox_process, settle
from mcp import Client
from mcp.server.mcpserver import MCPServer

from github_packages_mcp.config import Settings
from github_packages_mcp.github.client import USER_AGENT
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN
from github_packages_mcp.server.app import build_server

PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}


async def medians_ms(calls: dict[str, Callable[[], Awaitable[object]]], rounds: int) -> dict[str, float]:
    """Median time per call of each, measured interleaved (one of each per round) so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_number in range(rounds + 20):  # the first 20 rounds warm connections and caches up
        for name, call in calls.items():
            started = time.perf_counter()
            await call()
            if round_number >= 20:
                times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


async def json_of(response: Awaitable[httpx2.Response]) -> object:
    return (await response).json()  # a raw caller reads the answer too


def echo_server() -> MCPServer:
    server = MCPServer("echo")

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server


def raw_github(url: str) -> httpx2.AsyncClient:
    """A plain HTTP client for the sandbox at `url`, sending what our client sends."""
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}", "User-Agent": USER_AGENT,
               "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}  # fmt: skip
    return httpx2.AsyncClient(base_url=url, headers=headers)


def uncached_server(url: str) -> MCPServer[Any]:
    """Our server for the sandbox at `url`, its ETag cache off so that every call is a full GET like a raw one."""
    settings = Settings.model_validate(
        {"token": DEMO_TOKEN, "api_url": url, "cache_max_entries": 0, "hide_unusable_tools": False}
    )
    return build_server(settings)


async def side_by_side_ms(path: str, tool: str, arguments: dict[str, Any], calls: int) -> dict[str, float]:
    """Medians per call (`medians_ms`) of a raw GET of `path` ("raw"), the `tool` call that sends it ("tool") and
    the echo server's call ("floor"), in this process against the sandbox in its own."""
    settle()
    with sandbox_process() as url:
        async with raw_github(url) as raw, Client(uncached_server(url)) as ours, Client(echo_server()) as echo:
            return await medians_ms(
                {
                    "raw": lambda: json_of(raw.get(path)),
                    "tool": lambda: ours.call_tool(tool, arguments),
                    "floor": lambda: echo.call_tool("echo", {"text": "hi"}),
                },
                calls,
            )


async def main(calls: int) -> None:
    path = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi"
    measured = await side_by_side_ms(path, "get_org_package", PACKAGE, calls)
    raw_ms, tool_ms, floor_ms = measured["raw"], measured["tool"], measured["floor"]
    added = tool_ms - raw_ms
    print(f"median of {calls} calls each, interleaved; sandbox in its own process, no latency\n")
    print("| call | ms per call |\n|---|---|")
    print(f"| raw httpx2 GET | {raw_ms:.2f} |\n| get_org_package tool call | {tool_ms:.2f} |")
    print(f"| SDK floor (echo tool) | {floor_ms:.2f} |\n")
    print(f"tool / raw = {tool_ms / raw_ms:.2f}x; added by the tool call {added:.2f} ms = "
          f"{added / floor_ms:.2f}x the SDK floor")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500)
    anyio.run(main, parser.parse_args().calls)
