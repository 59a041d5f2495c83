"""Benchmark: the four budgets of issue 19, each measured side by side with its floor in one run, as one table.

  - cold start: spawn to first tools/list over stdio, ours and the SDK's one-tool echo server, interleaved;
    medians of --runs (`cold_start.py`). Budget: at most 1.10x the echo server.
  - tools/list: the bytes of our whole answer (compact JSON, every tool) against a generic OpenAPI-to-MCP server's
    for the same 27 operations (FastMCP's, when installed; else its 227,035 bytes measured before,
    `tools_list_size.py`). Budget: at most 29,150 bytes (about 1/7.8 of the generic one).
  - added time per call: a listing tool call (`list_org_package_versions` of web/api, 30 a page, our ETag cache
    off) minus the same raw GET, against the echo server's whole call; in one process, interleaved, medians of
    --calls (`overhead.py`). Budget: at most 1.5x the echo call.
  - memory: the resident set (VmRSS) of our stdio server after --memory-calls tool calls (`memory.py`'s mix: a
    read, a listing, a delete stopping at its confirmation) against the floor, the echo stdio server's resident set
    after as many echo calls. Budget: at most the floor plus 8 MiB.

The machine may be busy with other work: the ratios, measured interleaved, hold better than the absolute times.
Our modules' bytecode is written first, as an installed package has it (`harness.compile_package`).

    .venv/bin/python bench/budgets.py [--runs 7] [--calls 300] [--memory-calls 10000]
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

import anyio
from cold_start import ECHO, cold_starts_ms, echo_stdio_server
from harness import sandbox_process
from memory import CALLS, PACKAGE, memory_while_calling, our_stdio_server
from overhead import side_by_side_ms
from tools_list_size import compact, generic_openapi_tools, tools_list

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG

GENERIC_TOOLS_LIST_BYTES = 227_035  # FastMCP's tools/list for the 27 operations, when fastmcp is not installed
LISTING = {**PACKAGE, "per_page": 30}
LISTING_PATH = f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions?page=1&per_page=30&state=active"
TOOLS_LIST_BUDGET = 29_150  # bytes, about 1/7.8 of the generic server's (an eighth before export_cleanup_policy)
MEMORY_ROOM_MIB = 8  # above the floor
ECHO_CALLS = (("echo", {"text": "hi"}),)


@dataclass(frozen=True)
class Row:
    """One line of the table: a measure, ours against its floor or reference, and its budget."""

    measure: str
    ours: str
    floor: str
    compared: str  # ours / floor, or ours - floor
    budget: str
    met: bool

    def markdown(self) -> str:
        cells = (self.measure, self.ours, self.floor, self.compared, self.budget, "yes" if self.met else "no")
        return f"| {' | '.join(cells)} |"


def ratio_row(measure: str, ours: float, floor: float, unit: str, limit: float) -> Row:
    """A budget on ours / floor."""
    ratio, digits = ours / floor, 0 if floor >= 100 else 2
    figures = (f"{ours:,.{digits}f} {unit}", f"{floor:,.{digits}f} {unit}")
    return Row(measure, *figures, f"{ratio:.2f}x", f"<= {limit:.2f}x", ratio <= limit)


async def cold_start(runs: int) -> Row:
    ours, echo = await cold_starts_ms(runs)
    measure = f"cold start to tools/list, median of {runs} (floor: echo server)"
    return ratio_row(measure, statistics.median(ours), statistics.median(echo), "ms", 1.10)


async def tools_list_bytes() -> Row:
    generic = await generic_openapi_tools()
    reference = compact({"tools": generic}) if generic is not None else GENERIC_TOOLS_LIST_BYTES
    ours = compact({"tools": await tools_list(Settings())})
    return Row(
        "tools/list bytes (reference: a generic OpenAPI server, 27 operations)", f"{ours:,} B", f"{reference:,} B",
        f"{ours / reference:.3f}x", f"<= {TOOLS_LIST_BUDGET:,} B", ours <= TOOLS_LIST_BUDGET,
    )  # fmt: skip


async def added_per_call(calls: int) -> Row:
    measured = await side_by_side_ms(LISTING_PATH, "list_org_package_versions", LISTING, calls)
    measure = f"added per call: listing call - same raw GET, median of {calls} (floor: echo server's whole call)"
    return ratio_row(measure, measured["tool"] - measured["raw"], measured["floor"], "ms", 1.5)


async def memory(calls: int) -> Row:
    with sandbox_process() as github, our_stdio_server(github) as params:
        ours = (await memory_while_calling(params, b"github_packages_mcp", CALLS, [calls]))[calls]["VmRSS"] / 1024
    floor = (await memory_while_calling(echo_stdio_server(), ECHO.encode(), ECHO_CALLS, [calls]))[calls]["VmRSS"] / 1024
    return Row(
        f"RSS after {calls:,} stdio calls (floor: echo server after {calls:,} echo calls)", f"{ours:.1f} MiB",
        f"{floor:.1f} MiB", f"{ours - floor:+.1f} MiB", f"<= floor + {MEMORY_ROOM_MIB} MiB",
        ours - floor <= MEMORY_ROOM_MIB,
    )  # fmt: skip


async def main(arguments: argparse.Namespace) -> None:
    rows = [
        await cold_start(arguments.runs),
        await tools_list_bytes(),
        await added_per_call(arguments.calls),
        await memory(arguments.memory_calls),
    ]
    print("| measure | ours | floor / reference | ratio or difference | budget | met |\n|---|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="cold starts of each server")
    parser.add_argument("--calls", type=int, default=300, help="calls of each kind for the added time per call")
    parser.add_argument("--memory-calls", type=int, default=10_000, help="stdio calls before reading memory")
    anyio.run(main, parser.parse_args())
