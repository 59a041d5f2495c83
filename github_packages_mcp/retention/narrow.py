"""Narrowing a saved cleanup plan to the deletions a person chose: a new plan, deleting nothing now.

The person unticks versions (in the plan review app, docs/apps.md); what is left becomes a plan of its own, with its
own id and digest over exactly that set, so the confirmation they then give (form or token, unchanged) binds only
what they chose. Parts follow their image as in planning (`images.py`): a part planned to go with its images
("deleted_with": every parent is among the plan's deletions) stays in the narrowed plan only while every one of
those images does, whether or not it is named, so unticking an image keeps its parts. Naming such a part without
its images is refused rather than dropped: the person asked for something the plan cannot do, and is told so
before any plan exists. Other versions (images, orphans, superseded referrers indexes, versions of other
registries) are chosen one by one. The narrowed plan keeps the original's owner, caller, rules and expiry (its
decisions are as old as the original's) and names the plan it was narrowed from.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.retention.plan import CleanupPlan, PackagePlan, VersionDecision, shown_decisions
from github_packages_mcp.retention.store import PlannedDeletion, SavedPlan

__all__ = ["followers", "narrowed_plan", "narrowed_result"]

SHOWN_IDS = 10  # ids named in an error, at most
CHOSEN, FOLLOWED, NOT_CHOSEN, NOT_FOLLOWED = "chosen", "deleted_with", "not_chosen", "kept_with"


def _key(item: PlannedDeletion) -> tuple[str, str]:
    # A digest may be in two packages of one glob plan: a part follows its parents in its own package.
    return item.package_name, item.name


def followers(plan: SavedPlan) -> set[int]:
    """The ids of the plan's parts that go with their images: every parent among the plan's deletions."""
    planned = {_key(item) for item in plan.deletions}
    return {
        item.id
        for item in plan.deletions
        if item.parents and all((item.package_name, parent) in planned for parent in item.parents)
    }


def _kept_with_images(plan: SavedPlan, chosen: set[int], following: set[int]) -> set[int]:
    """The chosen versions, with every part whose images all stay (parts of parts settle in later rounds)."""
    included = {item.id for item in plan.deletions if item.id in chosen and item.id not in following}
    kept_keys = {_key(item) for item in plan.deletions if item.id in included}
    pending = [item for item in plan.deletions if item.id in following]
    while True:
        settled = [
            item for item in pending if all((item.package_name, parent) in kept_keys for parent in item.parents or ())
        ]
        if not settled:
            return included
        included |= {item.id for item in settled}
        kept_keys |= {_key(item) for item in settled}
        pending = [item for item in pending if item.id not in included]


def _ids(ids: Collection[int]) -> str:
    shown = sorted(ids)
    return ", ".join(map(str, shown[:SHOWN_IDS])) + (
        f" and {len(shown) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else ""
    )


def narrowed_plan(plan: SavedPlan, delete_version_ids: Sequence[int], plan_id: str, created_at: str) -> SavedPlan:
    """The plan deleting only `delete_version_ids` (and the parts of those images), saved as `plan_id`.

    Raises:
        InvalidArguments: If an id is not among the plan's deletions, or is a part whose images are not all chosen,
            or nothing would be deleted.
    """
    chosen = set(delete_version_ids)
    planned = {item.id for item in plan.deletions}
    if unknown := chosen - planned:
        raise InvalidArguments(
            f"delete_version_ids: {_ids(unknown)} not among the {len(planned)} version(s) plan {plan.plan_id} "
            "deletes (its decisions with action 'delete'); nothing was narrowed"
        )
    following = followers(plan)
    included = _kept_with_images(plan, chosen, following)
    if stray := (chosen & following) - included:
        raise InvalidArguments(
            f"delete_version_ids: {_ids(stray)} are parts (platform images, signatures, attestations) of images "
            "not chosen; a part follows its images: choose them too, or leave the part out; nothing was narrowed"
        )
    if not included:
        raise InvalidArguments(
            "delete_version_ids: nothing would be deleted; choose at least one of the plan's deletions"
        )
    return plan.model_copy(
        update={
            "plan_id": plan_id,
            "created_at": created_at,
            "narrowed_from": plan.plan_id,
            "deletions": [item for item in plan.deletions if item.id in included],
        }
    )


def narrowed_result(original: SavedPlan, narrowed: SavedPlan, *, whole: bool = False) -> CleanupPlan:
    """The narrowed plan in plan_version_cleanup's shape: per package, every deletion of the original, deleted or
    now kept, and why (the original's own reasons are in its result)."""
    included = {item.id for item in narrowed.deletions}
    following = followers(original)
    packages: dict[str, list[tuple[str, VersionDecision]]] = {}
    for item in original.deletions:
        packages.setdefault(item.package_name, []).append(_decision(item, item.id in included, item.id in following))
    results = [_package(name, decisions, whole) for name, decisions in packages.items()]
    delete = len(included)
    return CleanupPlan(
        plan_id=narrowed.plan_id,
        owner=narrowed.owner.describe(),
        package_type=narrowed.package_type,
        delete=delete,
        keep=len(original.deletions) - delete,
        packages=results,
        message=(
            f"Nothing was deleted. Narrowed from plan {original.plan_id}: {delete} of its {len(original.deletions)} "
            f"deletion(s) would be deleted, the rest kept; to do it, call apply_version_cleanup with plan_id "
            f"{narrowed.plan_id} (the person confirms first)."
        ),
    )


def _decision(item: PlannedDeletion, deleted: bool, follower: bool) -> tuple[str, VersionDecision]:
    if follower:
        rule_id, rule = (
            (FOLLOWED, "delete: part of a chosen image") if deleted else (NOT_FOLLOWED, "kept: part of a kept image")
        )
    else:
        rule_id, rule = (CHOSEN, "delete: chosen") if deleted else (NOT_CHOSEN, "kept: not chosen")
    action: Literal["delete", "keep"] = "delete" if deleted else "keep"
    return rule_id, VersionDecision(
        id=item.id, name=item.name, tags=item.tags, action=action, rule=rule, follows=item.parents
    )


def _package(name: str, ruled: list[tuple[str, VersionDecision]], whole: bool) -> PackagePlan:
    counts: dict[str, int] = {}
    for rule_id, _ in ruled:
        counts[rule_id] = counts.get(rule_id, 0) + 1
    decisions = [decision for _, decision in ruled]
    delete = sum(decision.action == "delete" for decision in decisions)
    shown = shown_decisions(decisions, whole)
    return PackagePlan(
        package=name,
        versions=len(decisions),
        delete=delete,
        keep=len(decisions) - delete,
        by_rule=counts,
        decisions=shown,
        decisions_omitted=len(decisions) - len(shown),
    )
