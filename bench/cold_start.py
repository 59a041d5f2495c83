"""Benchmark: cold start, from spawning the stdio server to its first tools/list answer (median of runs).

Side by side: our server (`python -m github_packages_mcp`) and the SDK's floor, a one-tool echo server run the
same way. No GitHub request is needed to list tools (scope probing is off).

    .venv/bin/python bench/cold_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
from harness import compile_package
from mcp import Client, StdioServerParameters

ECHO = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("echo")
@server.tool()
def echo(text: str) -> str:
    return text
server.run()
"""


async def first_list_ms(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params) as client:
        await client.list_tools()
        return (time.perf_counter() - started) * 1000


@contextmanager
def stdio_servers() -> Iterator[tuple[StdioServerParameters, StdioServerParameters]]:
    """How to start ours (the token's scopes not probed, so no GitHub request) and the echo server over stdio."""
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "config.toml"
        config.write_text("hide_unusable_tools = false\n")
        env = {**os.environ, "GITHUB_TOKEN": "ghp_cold_start", "GITHUB_PACKAGES_MCP_CONFIG": str(config)}
        ours = StdioServerParameters(command=sys.executable, args=["-m", "github_packages_mcp"], env=env)
        yield ours, echo_stdio_server()


def echo_stdio_server() -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-c", ECHO], env=dict(os.environ))


async def cold_starts_ms(runs: int) -> tuple[list[float], list[float]]:
    """Spawn to first tools/list of ours and of the echo server, `runs` of each, interleaved so that the machine's
    state hits both alike."""
    compile_package()
    times: tuple[list[float], list[float]] = ([], [])
    with stdio_servers() as servers:
        for _ in range(runs):
            for params, measured in zip(servers, times, strict=True):
                measured.append(await first_list_ms(params))
    return times


async def main(runs: int) -> None:
    ours, floor = await cold_starts_ms(runs)
    times = {"github-packages-mcp": ours, "SDK floor (echo server)": floor}
    print(f"spawn to first tools/list answer over stdio, median of {runs}\n\n| server | ms |\n|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    anyio.run(main, parser.parse_args().runs)
