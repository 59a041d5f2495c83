"""Benchmark: the stdio server's memory while it serves 10,000 tool calls; it must not grow with the calls.

The server runs as `python -m github_packages_mcp` against the sandbox (its own process); its resident set
(VmRSS) is read from /proc after 1,000, 2,500, 5,000 and 10,000 calls, and its peak (VmHWM) at the end.
Calls alternate between a read, a listing and a confirmation request (a delete that stops at
`confirmation_required`), so caches, tokens and logs all get their share.

    .venv/bin/python bench/memory.py [--calls 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import anyio
from harness import sandbox_process
from mcp import Client, StdioServerParameters

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN

PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
CALLS = (
    ("get_org_package", PACKAGE),
    ("list_org_package_versions", {**PACKAGE, "per_page": 100}),
    ("delete_org_package", PACKAGE),
)


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def server_pid(parent: int) -> int:
    """The stdio server: the child process of this one that runs github_packages_mcp."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"PPid:\t{parent}\n" in status and b"github_packages_mcp" in command:
                return int(entry.name)
    raise LookupError("the server process was not found")


async def main(total: int) -> None:
    checkpoints = sorted({1_000, 2_500, 5_000, total})
    with sandbox_process() as github, tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "config.toml"
        config.write_text(f'hide_unusable_tools = false\nconfirmation = "token"\njournal_dir = "{directory}"\n')
        env = {**os.environ, "GITHUB_TOKEN": DEMO_TOKEN, "GITHUB_API_URL": github,
               "GITHUB_PACKAGES_MCP_CONFIG": str(config)}  # fmt: skip
        params = StdioServerParameters(command=sys.executable, args=["-m", "github_packages_mcp"], env=env)
        print(f"{total} tool calls over stdio; server memory in MB\n\n| after calls | RSS |\n|---|---|")
        async with Client(params) as client:
            pid = server_pid(os.getpid())
            for number in range(1, total + 1):
                name, arguments = CALLS[number % len(CALLS)]
                result = await client.call_tool(name, arguments)
                assert not result.is_error, result.content
                if number in checkpoints:
                    print(f"| {number} | {memory_kb(pid)['VmRSS'] / 1024:.1f} |")
            print(f"\npeak RSS {memory_kb(pid)['VmHWM'] / 1024:.1f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    anyio.run(main, parser.parse_args().calls)
