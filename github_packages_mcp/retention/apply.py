"""Applying a saved cleanup plan (deletes, journaled, resumable) and restoring from its journal.

Applying deletes the plan's versions one by one through the shared client (paced, retried where safe) and
journals every version. A 404 counts as already done; GitHub's refusals (the 5,000-downloads rule, the last
version) are skipped, not failures. Applying the same plan again resumes after what the journal records as done,
so an interrupted run loses nothing; and every deleted version can be restored from the journal within 30 days.
Every request path is rebuilt from the plan's owner, type, package name and version id through the catalogue.

A plan is only acted on by the caller who made it (the store checks its signature and caller), applied only if it
is the very plan the person confirmed (its digest), and a restore acts only on journal lines that name a version
the plan planned to delete.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import anyio.lowlevel
from pydantic import Field

from github_packages_mcp.github.cache import identity_of
from github_packages_mcp.github.client import GitHubClient, ProgressCallback
from github_packages_mcp.github.errors import APIError, InvalidRequest, NotFound, RateLimited, TransportError
from github_packages_mcp.github.models import ConfirmationOutcome, Result
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.retention.plan import SHOWN_DECISIONS
from github_packages_mcp.retention.rules import short_digest
from github_packages_mcp.retention.store import (
    CleanupStore,
    JournalEntry,
    JournalResult,
    PlannedDeletion,
    SavedPlan,
    timestamp,
)

__all__ = [
    "CleanupApplied",
    "PlanChanged",
    "PlanSummary",
    "Restored",
    "SkippedVersion",
    "apply_plan",
    "describe_plan",
    "restore_from_journal",
]

DIGEST_SHOWN = 12  # hex characters of the plan's digest in the words the person approves


class PlanChanged(InvalidRequest):
    """The plan is not the one the person confirmed."""


@dataclass(frozen=True)
class PlanSummary:
    summary: str  # the words for the person, with the plan's short digest
    versions: int  # left to delete
    digest: str  # the whole plan's SHA-256, for apply_plan to check


class SkippedVersion(Result):
    id: int
    name: str
    reason: str


class CleanupApplied(ConfirmationOutcome):
    plan_id: str | None = None
    deleted_count: int = 0
    already_gone: int = 0
    skipped: int = 0
    failed: int = 0
    skipped_versions: list[SkippedVersion] = Field(default_factory=list)
    journal: str | None = None


class Restored(Result):
    plan_id: str
    restored: int
    failed: int
    failures: list[SkippedVersion]
    journal: str


def remaining(store: CleanupStore, plan: SavedPlan) -> list[PlannedDeletion]:
    """The plan's deletions the journal does not record as done (deleted, already gone or skipped)."""
    entries, _ = store.journal(plan.plan_id)
    settled = {e.version_id for e in entries if e.result in ("deleted", "already_gone", "skipped")}
    return [item for item in plan.deletions if item.id not in settled]


def describe_plan(store: CleanupStore, plan_id: str, caller: str) -> PlanSummary:
    """The words for the person about what applying the plan will delete now, how many versions, and the digest
    of the plan they approve. `caller` is identity_of(the caller's token).

    Raises:
        PlanNotFound: If there is no such plan that this caller can use.
        PlanExpired: If the plan expired.
    """
    plan = store.load(plan_id, caller)
    todo = remaining(store, plan)
    per_package: dict[str, int] = {}
    for item in todo:
        per_package[item.package_name] = per_package.get(item.package_name, 0) + 1
    sample = "; ".join(f"{quoted(item.package_name)} {item.id} ({_described(item)})" for item in todo[:5])
    packages = ", ".join(f"{quoted(name)}: {count}" for name, count in per_package.items())
    digest = plan.digest()
    return PlanSummary(
        f"{len(todo)} version(s) of {len(per_package)} {plan.package_type} package(s) owned by "
        f"{plan.owner.describe()} ({packages}), planned as {plan_id} (plan digest {digest[:DIGEST_SHOWN]}); "
        f"for example {sample}",
        len(todo),
        digest,
    )


def _described(item: PlannedDeletion) -> str:
    tags = "untagged" if item.tags == [] else f"tags: {', '.join(map(quoted, item.tags))}" if item.tags else "no tags"
    return f"{quoted(short_digest(item.name))}, {tags}"


async def apply_plan(
    github: GitHubClient,
    store: CleanupStore,
    plan_id: str,
    expected_digest: str,
    progress: ProgressCallback | None = None,
) -> CleanupApplied:
    """Delete what the plan says and the journal does not record as done, journaling every version; only if the
    plan is still the one whose digest the person confirmed (`describe_plan`), and only for the token that made it.

    Raises:
        PlanNotFound: If there is no such plan that this caller can use.
        PlanExpired: If the plan expired.
        PlanChanged: If the plan is not the one confirmed.
        GitHubError: A rate limit or a network failure stops the run (what is done is in the journal; applying
            the plan again resumes).
    """
    plan = store.load(plan_id, identity_of(github.token))
    if not hmac.compare_digest(plan.digest(), expected_digest):
        raise PlanChanged(
            f"Nothing was deleted: plan {plan_id} is not the plan the person confirmed; call apply_version_cleanup "
            "again without a confirmation_token to show them what it holds now"
        )
    todo = remaining(store, plan)
    counts = {"deleted": 0, "already_gone": 0, "skipped": 0, "failed": 0}
    skipped: list[SkippedVersion] = []
    for number, item in enumerate(todo, start=1):
        # A cancel waits for the version in flight and its journal line, so the journal never misses a delete
        # that happened (and so can always restore it); then it stops the run before the next one.
        with anyio.CancelScope(shield=True):
            result, detail = await _delete_one(github, plan, item)
            store.append(_entry(store, plan.plan_id, item, result, detail))
        await anyio.lowlevel.checkpoint()
        counts[result] += 1
        if result in ("skipped", "failed") and len(skipped) < SHOWN_DECISIONS:
            skipped.append(SkippedVersion(id=item.id, name=item.name, reason=detail or result))
        if progress:
            await progress(number, len(todo))
    return CleanupApplied(
        deleted=counts["deleted"] > 0,
        status="deleted",
        message=(
            f"Deleted {counts['deleted']} version(s); {counts['already_gone']} were already gone, "
            f"{counts['skipped']} skipped (GitHub refused), {counts['failed']} failed. "
            "Each is in the journal and can be restored within 30 days with restore_from_journal."
        ),
        plan_id=plan.plan_id,
        deleted_count=counts["deleted"],
        already_gone=counts["already_gone"],
        skipped=counts["skipped"],
        failed=counts["failed"],
        skipped_versions=skipped,
        journal=store.journal_name(plan.plan_id),
    )


async def _delete_one(github: GitHubClient, plan: SavedPlan, item: PlannedDeletion) -> tuple[JournalResult, str | None]:
    delete = plan.owner.operation("delete", "package_version")
    try:
        response = await github.request("DELETE", delete.url_path(plan.version_arguments(item.package_name, item.id)))
    except NotFound:
        return "already_gone", None
    except (RateLimited, TransportError):
        raise  # stop the run: nothing more can be done now, and the journal says what was
    except APIError as exc:
        # GitHub's rules (the 5,000-downloads rule, the last version) answer 400: a skip, not a failure.
        return ("skipped" if exc.status == 400 else "failed"), f"{exc.status}: {exc.message}"
    if response.status_code == 404:  # the answer to an attempt that went through was lost: it was this run's delete
        return "deleted", "GitHub's first answer was lost; the version was deleted by that attempt"
    return "deleted", None


def _entry(
    store: CleanupStore, plan_id: str, item: PlannedDeletion, result: JournalResult, detail: str | None
) -> JournalEntry:
    return JournalEntry(
        time=timestamp(store.now()),
        plan_id=plan_id,
        version_id=item.id,
        name=item.name,
        tags=item.tags,
        package_name=item.package_name,
        result=result,
        detail=detail,
    )


async def restore_from_journal(
    github: GitHubClient,
    store: CleanupStore,
    plan_id: str,
    version_ids: Sequence[int] | None,
    progress: ProgressCallback | None = None,
) -> Restored:
    """Restore the versions the plan's run deleted (all, or those listed) that are not restored yet.

    Only journal lines that are well-formed and name a version (id and package) the plan planned to delete are
    acted on; the others are reported among the failures, and nothing is sent for them.

    Raises:
        PlanNotFound: If there is no such plan that this caller can use (an expired plan still restores).
    """
    plan = store.load(plan_id, identity_of(github.token), expired_ok=True)
    todo, failures = _to_restore(store, plan, version_ids)
    restore = plan.owner.operation("restore", "package_version")
    restored = 0
    for number, item in enumerate(todo, start=1):
        with anyio.CancelScope(shield=True):  # as in apply_plan: the journal never misses what was done
            try:
                await github.request("POST", restore.url_path(plan.version_arguments(item.package_name, item.id)))
            except (RateLimited, TransportError):
                raise
            except APIError as exc:
                detail = f"{exc.status}: {exc.message}"
                store.append(_entry(store, plan.plan_id, item, "restore_failed", detail))
                failures.append(SkippedVersion(id=item.id, name=item.name, reason=detail))
            else:
                store.append(_entry(store, plan.plan_id, item, "restored", None))
                restored += 1
        await anyio.lowlevel.checkpoint()
        if progress:
            await progress(number, len(todo))
    return Restored(
        plan_id=plan.plan_id,
        restored=restored,
        failed=len(failures),
        failures=failures[:SHOWN_DECISIONS],
        journal=store.journal_name(plan.plan_id),
    )


def _to_restore(
    store: CleanupStore, plan: SavedPlan, version_ids: Sequence[int] | None
) -> tuple[list[PlannedDeletion], list[SkippedVersion]]:
    """The plan's deletions the journal says were deleted and not restored since (those listed, if any), and the
    journal lines ignored because they are malformed or name a version the plan did not plan to delete."""
    planned = {(item.id, item.package_name): item for item in plan.deletions}
    entries, malformed = store.journal(plan.plan_id)
    ignored: list[SkippedVersion] = []
    if malformed:
        reason = f"{malformed} journal line(s) are malformed or name another plan: ignored, nothing restored for them"
        ignored.append(SkippedVersion(id=0, name="", reason=reason))
    state: dict[int, tuple[JournalEntry, PlannedDeletion]] = {}
    for entry in entries:
        if entry.result not in ("deleted", "restored"):
            continue
        item = planned.get((entry.version_id, entry.package_name))
        if item is None:
            reason = f"the journal names {entry.package_name} {entry.version_id}, not deleted by the plan: ignored"
            ignored.append(SkippedVersion(id=entry.version_id, name=entry.name[:80], reason=reason))
            continue
        state[item.id] = entry, item
    wanted = set(version_ids) if version_ids is not None else None
    todo = [
        item for entry, item in state.values() if entry.result == "deleted" and (wanted is None or item.id in wanted)
    ]
    return todo, ignored
