"""Benchmark: what sharing state through Redis (`state_url`) costs, side by side with the embedded default.

- per delete: the same cleanup (the untagged versions of a package of N image versions; no mutation spacing, no
  injected latency, so the shared state's cost is not hidden behind waits) applied through an in-memory MCP
  session, with the journal in files and pacing in memory, then with both (and the plan) in Redis;
- per confirmation token redeemed: the in-process ledger against Redis's set-if-absent.

The sandbox runs in its own process, redis-server in another, both on loopback; rounds alternate the modes.

    .venv/bin/python bench/shared_state.py [--versions 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio
from harness import PACKAGE, redis_process, sandbox_process
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN
from github_packages_mcp.server.app import build_server
from github_packages_mcp.state.redis import RedisState
from github_packages_mcp.toolkit.tokens import ConfirmationTokens

SECRET = "one secret for every replica"  # noqa: S105  (a benchmark's)


async def apply_once(settings: Settings) -> tuple[int, float]:
    """Plan and apply the cleanup; the number of versions deleted and the apply's seconds."""
    async with Client(build_server(settings)) as client:
        arguments = {"org": DEMO_ORG, "package_type": "container", "package_name": PACKAGE, "tagged": "untagged"}
        plan = (await client.call_tool("plan_version_cleanup", arguments)).structured_content or {}
        first = (await client.call_tool("apply_version_cleanup", {"plan_id": plan["plan_id"]})).structured_content
        confirmed = {"plan_id": plan["plan_id"], "confirmation_token": (first or {})["confirmation_token"]}
        started = time.perf_counter()
        done = (await client.call_tool("apply_version_cleanup", confirmed)).structured_content or {}
        return int(done["deleted_count"]), time.perf_counter() - started


async def redeem_seconds(tokens: ConfirmationTokens, count: int) -> float:
    issued = [tokens.issue("delete_my_package", {"n": n}, "the summary")[0] for n in range(count)]
    started = time.perf_counter()
    for n, token in enumerate(issued):
        await tokens.redeem(token, "delete_my_package", {"n": n}, "the summary")
    return (time.perf_counter() - started) / count


async def main(versions: int, rounds: int) -> None:
    per_delete: dict[str, list[float]] = {"embedded": [], "redis": []}
    per_redeem: dict[str, list[float]] = {"embedded": [], "redis": []}
    with redis_process() as redis_url, tempfile.TemporaryDirectory() as directory:
        state = await RedisState.connect(redis_url)
        for round_number in range(rounds):
            for mode in ("embedded", "redis"):
                with sandbox_process(versions=versions) as github:
                    settings = Settings(
                        token=DEMO_TOKEN, api_url=github, registry_url=github, mutation_interval_seconds=0,
                        hide_unusable_tools=False, journal_dir=Path(directory) / f"{mode}-{round_number}",
                        shared_secret=SECRET, state_url=redis_url if mode == "redis" else None,
                    )  # fmt: skip
                    deleted, seconds = await apply_once(settings)
                per_delete[mode].append(seconds / deleted * 1000)
                ledger = state if mode == "redis" else None
                tokens = ConfirmationTokens(300, secret=b"k" * 32, ledger=ledger)
                per_redeem[mode].append(await redeem_seconds(tokens, 2000) * 1e6)
        await state.aclose()
    print(f"cleanup of {deleted} versions, {rounds} rounds alternating, median (min-max):")
    for mode in ("embedded", "redis"):
        delete, redeem = per_delete[mode], per_redeem[mode]
        print(
            f"  {mode:8}  {statistics.median(delete):.2f} ms per delete ({min(delete):.2f}-{max(delete):.2f}), "
            f"{statistics.median(redeem):.0f} us per token redeemed ({min(redeem):.0f}-{max(redeem):.0f})"
        )
    embedded, shared = statistics.median(per_delete["embedded"]), statistics.median(per_delete["redis"])
    print(f"  Redis adds {shared - embedded:.2f} ms per delete (x{shared / embedded:.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    anyio.run(main, arguments.versions, arguments.rounds)
