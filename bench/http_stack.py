"""Benchmark: the GitHub client's HTTP stack, httpx (httpcore 1.x) against httpx2 (httpcore2), side by side in one run.

What the GitHub client does with its stack, for each:
  - import: a fresh interpreter imports the stack and builds a client with its transport (which loads the
    connection pool); median seconds, alone and with the SDK's server already imported (the SDK loads httpx2);
  - memory: the resident set added by that import and build when the SDK is already imported (VmRSS);
  - load: 32 requests in flight, each worker sending GETs one after another to the sandbox (its own process,
    GitHub's latency added), through one pool or through pools of 8 taken in turn (`POOL_SIZE` below, as the
    client splitting its pool did); calls per second and this process's CPU per call (what the pool costs).
Runs are interleaved so drift hits every stack alike; medians of `--repeat` runs.

    .venv/bin/python bench/http_stack.py [--calls 40] [--repeat 5] [--imports 15] [--latency 0.05] [--stacks httpx2]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import itertools
import statistics
import subprocess
import sys
import time
from types import ModuleType
from typing import Any

import anyio
from harness import sandbox_process, settle

from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN

STACKS = ("httpx", "httpx2")
SDK = "mcp.server.mcpserver"  # what the server imports of the SDK; it imports httpx2
IN_FLIGHT = 32
POOL_SIZE = 8  # requests in flight per pool when the pool is split
PATH = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi"
HEADERS = {"Authorization": f"Bearer {DEMO_TOKEN}", "Accept": "application/vnd.github+json"}

# Run in a fresh interpreter: seconds to import the stack and build a client, and the resident set it added.
_IMPORT = """
import gc, importlib, os, sys, time
def rss():
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
if {with_sdk}:
    importlib.import_module({sdk!r})
before, started = rss(), time.perf_counter()
stack = importlib.import_module({stack!r})
stack.AsyncClient()
print(time.perf_counter() - started, rss() - before)
"""


def imported(stack: str, *, with_sdk: bool) -> tuple[float, int]:
    """Seconds and bytes of resident set to import `stack` and build a client, in a fresh interpreter."""
    code = _IMPORT.format(with_sdk=with_sdk, sdk=SDK, stack=stack)
    seconds, grown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, text=True
    ).stdout.split()
    return float(seconds), int(grown)


def transport(http: ModuleType, split: bool) -> Any:
    """One pool keeping a connection for each request in flight, or pools of `POOL_SIZE` taken in turn."""
    limits = http.Limits(max_keepalive_connections=max(20, IN_FLIGHT))
    if not split:
        return http.AsyncHTTPTransport(limits=limits)
    pools = [http.AsyncHTTPTransport(limits=limits) for _ in range(-(-IN_FLIGHT // POOL_SIZE))]
    turn = itertools.cycle(pools)

    class Pools(http.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        async def handle_async_request(self, request: Any) -> Any:
            return await next(turn).handle_async_request(request)

        async def aclose(self) -> None:
            for pool in pools:
                await pool.aclose()

    return Pools()


async def under_load(http: ModuleType, url: str, split: bool, calls: int) -> tuple[float, float]:
    """Calls per second and CPU milliseconds per call of `IN_FLIGHT` workers each sending `calls` GETs."""
    async with http.AsyncClient(base_url=url, headers=HEADERS, transport=transport(http, split)) as client:
        quota = {"token": DEMO_TOKEN, "remaining": 5000, "reset_in": 3600}  # a fresh hour for each run
        (await client.post("/_sandbox/rate-limit", json=quota)).raise_for_status()

        async def worker(count: int) -> None:
            for _ in range(count):
                (await client.get(PATH)).raise_for_status()

        async with anyio.create_task_group() as group:  # warm up: every connection open
            for _ in range(IN_FLIGHT):
                group.start_soon(worker, 2)
        wall, cpu = time.perf_counter(), time.process_time()
        async with anyio.create_task_group() as group:
            for _ in range(IN_FLIGHT):
                group.start_soon(worker, calls)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    total = IN_FLIGHT * calls
    return total / wall, cpu / total * 1000


async def main(calls: int, repeat: int, imports: int, latency: float, stacks: tuple[str, ...]) -> None:
    print(f"Python {sys.version.split()[0]}; " + ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("httpx", "httpcore", "httpx2", "httpcore2")
    ) + "\n")  # fmt: skip
    import_runs: dict[tuple[str, bool], list[tuple[float, int]]] = {}
    for _ in range(imports):
        for stack in stacks:
            for with_sdk in (False, True):
                import_runs.setdefault((stack, with_sdk), []).append(imported(stack, with_sdk=with_sdk))
    print(f"Import and build a client, fresh interpreter, median of {imports}:\n")
    print("| stack | alone ms | SDK already imported: ms | extra RSS MiB |\n|---|---|---|---|")
    for stack in stacks:
        alone = statistics.median(seconds for seconds, _ in import_runs[stack, False])
        after = statistics.median(seconds for seconds, _ in import_runs[stack, True])
        grown = statistics.median(grown for _, grown in import_runs[stack, True])
        print(f"| {stack} | {alone * 1000:.1f} | {after * 1000:.1f} | {grown / 2**20:.2f} |")

    modules = {stack: importlib.import_module(stack) for stack in stacks}
    variants = [(stack, split) for stack in stacks for split in (False, True)]
    runs: dict[tuple[str, bool], list[tuple[float, float]]] = {variant: [] for variant in variants}
    settle()
    with sandbox_process(latency=latency) as url:
        for _ in range(repeat):
            for stack, split in variants:
                runs[stack, split].append(await under_load(modules[stack], url, split, calls))
    print(f"\n{IN_FLIGHT} requests in flight x {calls} GETs each against the sandbox ({latency * 1000:.0f} ms "
          f"latency, own process), median of {repeat} runs, interleaved:\n")  # fmt: skip
    print("| stack | pool | calls/s | client CPU ms per call |\n|---|---|---|---|")
    for stack, split in variants:
        rate = statistics.median(rate for rate, _ in runs[stack, split])
        cpu = statistics.median(cpu for _, cpu in runs[stack, split])
        pool = f"{-(-IN_FLIGHT // POOL_SIZE)} pools of {POOL_SIZE}" if split else "one pool"
        print(f"| {stack} | {pool} | {rate:.0f} | {cpu:.3f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=40, help="GETs per worker per run (at most 150: 5,000 a run)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--imports", type=int, default=15, help="fresh interpreters per import measurement")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the sandbox waits per request")
    parser.add_argument("--stacks", default=",".join(STACKS), help="which of them, e.g. httpx2")
    arguments = parser.parse_args()
    stacks = tuple(stack for stack in STACKS if stack in arguments.stacks.split(","))
    anyio.run(main, arguments.calls, arguments.repeat, arguments.imports, arguments.latency, stacks)
