"""A cleanup plan whole, for a person reviewing it in the plan review app (docs/apps.md): every decided version,
not only the few a model's context window holds.

A plan's result (`plan.plan_result`) is cut for a model: at most SHOWN_DECISIONS decisions per package, without
ages. The app shows the plan as a tree instead (package -> image -> its parts), so it gets every decision with what
the version is, its tags, when it was made and last updated, the rule that decided it and what it follows; at most
MAX_REVIEWED versions in all (deletions first, so every version the plan deletes is there), the rest counted.
Sizes are not known: GitHub's Packages API gives none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from github_packages_mcp.retention.plan import CleanupPlan, PlannedPackage
from github_packages_mcp.retention.rules import Decision
from github_packages_mcp.retention.signing import timestamp

__all__ = ["MAX_REVIEWED", "plan_review"]

# About 300 bytes each in JSON: a plan of this many versions is ~1.5 MB for the app, which hosts pass as it is.
MAX_REVIEWED = 5_000


def plan_review(plan: CleanupPlan, planned: Sequence[PlannedPackage]) -> dict[str, Any]:
    """The plan for the app: its counts, and per package every decided version (`_version`), deletions first
    up to MAX_REVIEWED in all; `omitted` counts the versions left out."""
    budget = MAX_REVIEWED
    packages: list[dict[str, Any]] = []
    for package, decisions, note in planned:
        ordered = sorted(decisions, key=lambda d: d.action != "delete")  # stable: the plan's order within each
        shown, budget = ordered[:budget], max(0, budget - len(ordered))
        packages.append(
            {
                "name": package["name"],
                "manifests": note,
                "versions": [_version(d) for d in shown],
                "omitted": len(decisions) - len(shown),
            }
        )
    return {
        "plan_id": plan.plan_id,
        "owner": plan.owner,
        "package_type": plan.package_type,
        "delete": plan.delete,
        "keep": plan.keep,
        "packages": packages,
    }


def _version(decision: Decision) -> dict[str, Any]:
    version = decision.version
    shown: dict[str, Any] = {
        "id": version.id,
        "name": version.name,
        "tags": list(version.tags) if version.tags is not None else None,
        "created_at": timestamp(version.created_at),
        "updated_at": timestamp(version.updated_at),
        "action": decision.action,
        "rule": decision.rule,
        "rule_id": decision.rule_id,
        "kind": decision.kind or "version",
        "orphan": True if decision.rule_id == "orphaned" else None,
        "follows": list(decision.follows),
    }
    return {key: value for key, value in shown.items() if value is not None}
