"""Planning a retention cleanup, deleting nothing: delete or keep, and why, for every active version of one package
or of every package matching a name glob.

The rules decide (`rules.py`); for containers they decide the images, and the registry's manifests tell which
versions are parts that follow them (`images.py`). What GitHub would refuse to delete is kept. The plan is saved
(`store.py`) for `apply.py`, images before their parts, so an interrupted run never leaves a kept image broken. The
cleanup service (`service.py`) runs the three steps: `plan_packages`, `saved_plan`, `plan_result`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, Literal, Protocol, TypeVar

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from github_packages_mcp.github.catalogue import Owner
from github_packages_mcp.github.client import ProgressCallback
from github_packages_mcp.github.models import PackageType, Result
from github_packages_mcp.github.tasks import gather
from github_packages_mcp.retention.images import plan_images
from github_packages_mcp.retention.patterns import PatternList
from github_packages_mcp.retention.rules import (
    Decision,
    Rules,
    check_tags_apply,
    decide,
    last_to_keep,
    summarize,
)
from github_packages_mcp.retention.signing import timestamp
from github_packages_mcp.retention.sources import NoPackageMatched, Sources
from github_packages_mcp.retention.store import PlannedDeletion, SavedPlan

__all__ = [
    "SHOWN_DECISIONS",
    "CleanupPlan",
    "PackagePlan",
    "PlannedPackage",
    "VersionDecision",
    "check_rules",
    "plan_packages",
    "plan_result",
    "saved_plan",
    "shown_decisions",
]

TAGGED_TYPES = ("container", "docker")  # the registries whose versions have tags
# A plan lists every decision up to this many versions per package; beyond, only the deletions (up to this
# many), so one result stays readable in a context window. The saved plan always has all of them, and a plan made
# `whole` (for a person at the command line, who has no context window) shows them all too.
SHOWN_DECISIONS = 200


class VersionDecision(Result):
    id: int
    name: str
    tags: list[str] | None = None
    action: Literal["delete", "keep"]
    rule: str
    follows: list[str] | None = Field(default=None, description="A part's image(s): the digests it follows")
    # Only in a `whole` plan, which the command line shows with each version's age: MCP clients never get it, so
    # it is not in the published schema either.
    created_at: SkipJsonSchema[str | None] = None


class PackagePlan(Result):
    package: str
    versions: int
    delete: int
    keep: int
    by_rule: dict[str, int]
    manifests: str | None = Field(default=None, description="For containers: whether the registry could be read")
    decisions: list[VersionDecision]
    decisions_omitted: int = 0


class CleanupPlan(Result):
    plan_id: str
    owner: str
    package_type: str
    delete: int
    keep: int
    packages: list[PackagePlan]
    message: str


PlannedPackage = tuple[dict[str, Any], list[Decision], str | None]  # GitHub's package, decisions, manifests note


async def plan_packages(
    sources: Sources,
    owner: Owner,
    package_type: PackageType,
    package_name: str,
    rules: Rules,
    now: datetime,
    progress: ProgressCallback | None = None,
) -> list[PlannedPackage]:
    """Decide for every active version of the matching packages.

    Raises:
        RulesError: If a rule is invalid (before any request).
        NoPackageMatched: If `package_name` is a glob that matches no package (no plan is made).
        GitHubError: If GitHub cannot be read.
    """
    check_rules(rules, package_type)
    try:
        packages = await sources.matching(owner, package_type, package_name, rules.exclude_packages)
    except NoPackageMatched as exc:
        # pattern_syntax is easily taken to cover the package name too: say it does not.
        glob = " (package_name is a glob whatever pattern_syntax says)" if rules.pattern_syntax == "regex" else ""
        raise NoPackageMatched(f"{exc} No plan was made{glob}.") from None
    done = 0

    async def plan_one(package: dict[str, Any]) -> PlannedPackage:
        nonlocal done
        decisions, note = await _decide_package(sources, owner, package_type, package, rules, now)
        done += 1
        if progress:
            await progress(done, len(packages))
        return package, decisions, note

    return await gather([partial(plan_one, package) for package in packages])


def check_rules(rules: Rules, package_type: PackageType) -> None:
    """What planning refuses before any request: invalid patterns, and tag rules for a registry without tags.

    Raises:
        RulesError: Naming the rule.
    """
    rules.patterns()
    PatternList("exclude_packages", rules.exclude_packages, "glob")
    check_tags_apply(rules, tagless=package_type not in TAGGED_TYPES)


def plan_result(
    plan_id: str, owner: Owner, package_type: PackageType, planned: Sequence[PlannedPackage], *, whole: bool = False
) -> CleanupPlan:
    """The plan as the caller reads it: per package, the decisions shown and how many by rule; `whole`: every
    decision, with when its version was made, rather than at most SHOWN_DECISIONS."""
    results = [_package_plan(package["name"], decisions, note, whole) for package, decisions, note in planned]
    delete = sum(result.delete for result in results)
    return CleanupPlan(
        plan_id=plan_id,
        owner=owner.describe(),
        package_type=package_type,
        delete=delete,
        keep=sum(result.keep for result in results),
        packages=results,
        message=(
            f"Nothing was deleted. {delete} version(s) would be deleted; to do it, call apply_version_cleanup "
            f"with plan_id {plan_id} (the person confirms first)."
            if delete
            else "Nothing to delete under these rules."
        ),
    )


async def _decide_package(
    sources: Sources, owner: Owner, package_type: PackageType, package: dict[str, Any], rules: Rules, now: datetime
) -> tuple[list[Decision], str | None]:
    """The decisions for every active version of one package, and for containers how the manifests were read."""
    versions = await sources.versions(owner, package_type, package["name"])
    if package_type == "container":
        return await plan_images(sources.registry(owner, package), versions, rules, now)
    decisions = decide(versions, rules, now)
    if (kept := last_to_keep(decisions, tagged_only=False)) is not None:
        decisions = [kept if d.version.id == kept.version.id else d for d in decisions]
    return decisions, None


def _tag_list(decision: Decision) -> list[str] | None:
    return list(decision.version.tags) if decision.version.tags is not None else None


def saved_plan(
    plan_id: str,
    caller: str,
    owner: Owner,
    package_type: PackageType,
    package_name: str,
    rules: Rules,
    lifetime: tuple[datetime, datetime],
    planned: Sequence[PlannedPackage],
) -> SavedPlan:
    """The plan as the store keeps it for `caller` (identity_of their token), alive for `lifetime`."""
    return SavedPlan(
        plan_id=plan_id,
        created_at=timestamp(lifetime[0]),
        expires_at=timestamp(lifetime[1]),
        caller=caller,
        owner_kind=owner.kind,
        owner_login=owner.login,
        package_type=package_type,
        package_name=package_name,
        rules=rules.model_dump(),
        deletions=[
            PlannedDeletion(
                id=d.version.id,
                name=d.version.name,
                tags=_tag_list(d),
                package_name=package["name"],
                parents=list(d.follows) or None,
            )
            for package, decisions, _ in planned
            # Images before their parts: a run stopped halfway leaves stray parts, never a broken image.
            for d in sorted(decisions, key=lambda d: d.rule_id == "deleted_with")
            if d.action == "delete"
        ],
    )


class _Decided(Protocol):
    @property
    def action(self) -> Literal["delete", "keep"]: ...


DecidedT = TypeVar("DecidedT", bound=_Decided)


def shown_decisions(decisions: Sequence[DecidedT], whole: bool) -> list[DecidedT]:
    """What a result shows of a package's decisions: all of them when `whole` or when they are few, else the first
    SHOWN_DECISIONS deletions (a model's context window holds the counts by rule, not 300 lines)."""
    if whole or len(decisions) <= SHOWN_DECISIONS:
        return list(decisions)
    return [d for d in decisions if d.action == "delete"][:SHOWN_DECISIONS]


def _package_plan(name: str, decisions: Sequence[Decision], note: str | None, whole: bool) -> PackagePlan:
    counts = summarize(decisions)
    shown = shown_decisions(decisions, whole)
    return PackagePlan(
        package=name,
        versions=len(decisions),
        delete=counts["delete"],
        keep=counts["keep"],
        by_rule={rule: count for rule, count in counts.items() if count and rule not in ("delete", "keep")},
        manifests=note,
        decisions=[
            VersionDecision(
                id=d.version.id,
                name=d.version.name,
                tags=_tag_list(d),
                action=d.action,
                rule=d.rule,
                follows=list(d.follows) or None,
                created_at=timestamp(d.version.created_at) if whole else None,
            )
            for d in shown
        ],
        decisions_omitted=len(decisions) - len(shown),
    )
