"""Versions for retention tests: container images by number (their digests follow the number) and npm versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from github_packages_mcp.retention.rules import Decision, VersionFacts

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def digest(n: int) -> str:
    return f"sha256:{n:04x}{'ab' * 30}"


def image(n: int, *tags: str, age: float = 100, updated: float | None = None) -> VersionFacts:
    """A container version with id n, created `age` days ago and updated `updated` days ago."""
    created = NOW - timedelta(days=age)
    return VersionFacts(n, digest(n), tuple(tags), created, NOW - timedelta(days=updated) if updated else created)


def npm(n: int, name: str, age: float = 100) -> VersionFacts:
    return VersionFacts(n, name, None, NOW - timedelta(days=age), NOW - timedelta(days=age))


def actions(decisions: list[Decision]) -> dict[int, str]:
    return {d.version.id: d.rule_id for d in decisions}
