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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
from harness import compile_package, sandbox_process
from mcp import Client, StdioServerParameters

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN

PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
Call = tuple[str, dict[str, Any]]
CALLS: tuple[Call, ...] = (
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


def server_pid(parent: int, marker: bytes) -> int:
    """The stdio server: the child process of this one whose command line holds `marker`."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"PPid:\t{parent}\n" in status and marker in command:
                return int(entry.name)
    raise LookupError("the server process was not found")


@contextmanager
def our_stdio_server(github: str) -> Iterator[StdioServerParameters]:
    """How to start our stdio server against the sandbox at `github`, confirming by token (a delete stops at
    `confirmation_required`), its journal in a directory of its own."""
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "config.toml"
        config.write_text(f'hide_unusable_tools = false\nconfirmation = "token"\njournal_dir = "{directory}"\n')
        env = {**os.environ, "GITHUB_TOKEN": DEMO_TOKEN, "GITHUB_API_URL": github,
               "GITHUB_PACKAGES_MCP_CONFIG": str(config)}  # fmt: skip
        yield StdioServerParameters(command=sys.executable, args=["-m", "github_packages_mcp"], env=env)


async def memory_while_calling(
    params: StdioServerParameters, marker: bytes, calls: Sequence[Call], checkpoints: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Start the stdio server and call its tools (`calls` in turn) up to the last checkpoint; its memory
    (`memory_kb`) after each checkpoint's number of calls."""
    compile_package()
    memory = {}
    async with Client(params) as client:
        pid = server_pid(os.getpid(), marker)
        for number in range(1, max(checkpoints) + 1):
            name, arguments = calls[number % len(calls)]
            result = await client.call_tool(name, arguments)
            assert not result.is_error, result.content
            if number in checkpoints:
                memory[number] = memory_kb(pid)
    return memory


async def main(total: int) -> None:
    checkpoints = sorted({1_000, 2_500, 5_000, total})
    with sandbox_process() as github, our_stdio_server(github) as params:
        memory = await memory_while_calling(params, b"github_packages_mcp", CALLS, checkpoints)
    print(f"{total} tool calls over stdio; server memory in MB\n\n| after calls | RSS |\n|---|---|")
    for number, fields in memory.items():
        print(f"| {number} | {fields['VmRSS'] / 1024:.1f} |")
    print(f"\npeak RSS {memory[total]['VmHWM'] / 1024:.1f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    anyio.run(main, parser.parse_args().calls)
