"""The sandbox's world is the same in every sandbox started within the hour, so a confirmation token issued
through one server process still matches the summary another process reads (the Inspector CLI starts a new
server for every call)."""

from __future__ import annotations

from datetime import UTC, datetime

from github_packages_mcp.sandbox import DEMO_TOKENS, build_demo_world
from github_packages_mcp.sandbox.clock import demo_epoch


def test_demo_data_is_dated_from_the_start_of_the_hour() -> None:
    early, late = datetime(2026, 12, 2, 13, 0, 1, tzinfo=UTC), datetime(2026, 12, 2, 13, 59, 59, 999, tzinfo=UTC)
    assert demo_epoch(early) == demo_epoch(late) == datetime(2026, 12, 2, 13, tzinfo=UTC)


def test_two_worlds_built_from_one_epoch_are_the_same() -> None:
    epoch = demo_epoch(datetime.now(UTC))
    first, second = build_demo_world(epoch), build_demo_world(epoch)
    assert repr(first.packages) == repr(second.packages)
    assert any(version.created_at for package in first.packages for version in package.versions)


def test_the_tokens_sandbox_commands_accept_are_the_demo_worlds() -> None:
    """`GITHUB_TOKEN=... --sandbox` uses a token in DEMO_TOKENS, and only those: each must open the demo world."""
    assert sorted(DEMO_TOKENS) == sorted(build_demo_world(demo_epoch(datetime.now(UTC))).tokens)
