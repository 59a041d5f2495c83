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
from pathlib import Path

import anyio
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


async def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "config.toml"
        config.write_text("hide_unusable_tools = false\n")
        env = {**os.environ, "GITHUB_TOKEN": "ghp_cold_start", "GITHUB_PACKAGES_MCP_CONFIG": str(config)}
        ours = StdioServerParameters(command=sys.executable, args=["-m", "github_packages_mcp"], env=env)
        floor = StdioServerParameters(command=sys.executable, args=["-c", ECHO], env=dict(os.environ))
        times: dict[str, list[float]] = {"github-packages-mcp": [], "SDK floor (echo server)": []}
        for _ in range(runs):  # interleaved, so the machine's state hits both alike
            times["github-packages-mcp"].append(await first_list_ms(ours))
            times["SDK floor (echo server)"].append(await first_list_ms(floor))
    print(f"spawn to first tools/list answer over stdio, median of {runs}\n\n| server | ms |\n|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.0f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    anyio.run(main, parser.parse_args().runs)
