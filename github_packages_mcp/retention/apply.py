"""Applying a saved cleanup plan (deletes, journaled, resumable) and restoring from its journal.

Applying deletes the plan's versions one by one through the shared client (paced, retried where safe) and
journals every version. A 404 counts as already done; GitHub's refusals (the 5,000-downloads rule, the last
version) are skipped, not failures. Applying the same plan again resumes after what the journal records as done,
so an interrupted run loses nothing; and every deleted version can be restored from the journal within 30 days.
Every request path is rebuilt from the plan's owner, type, package name and version id through the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import Field

from github_packages_mcp.github.client import GitHubClient, ProgressCallback
from github_packages_mcp.github.errors import APIError, NotFound, RateLimited, TransportError
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

__all__ = ["CleanupApplied", "Restored", "SkippedVersion", "apply_plan", "describe_plan", "restore_from_journal"]


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
    settled = {e.version_id for e in store.journal(plan.plan_id) if e.result in ("deleted", "already_gone", "skipped")}
    return [item for item in plan.deletions if item.id not in settled]


def describe_plan(store: CleanupStore, plan_id: str) -> tuple[str, int]:
    """The words for the person about what applying the plan will delete now, and how many versions.

    Raises:
        PlanNotFound: If there is no such plan.
    """
    plan = store.load(plan_id)
    todo = remaining(store, plan)
    per_package: dict[str, int] = {}
    for item in todo:
        per_package[item.package_name] = per_package.get(item.package_name, 0) + 1
    sample = "; ".join(f"{quoted(item.package_name)} {item.id} ({_described(item)})" for item in todo[:5])
    packages = ", ".join(f"{quoted(name)}: {count}" for name, count in per_package.items())
    return (
        f"{len(todo)} version(s) of {len(per_package)} {plan.package_type} package(s) owned by "
        f"{plan.owner.describe()} ({packages}), planned as {plan_id}; for example {sample}",
        len(todo),
    )


def _described(item: PlannedDeletion) -> str:
    tags = "untagged" if item.tags == [] else f"tags: {', '.join(map(quoted, item.tags))}" if item.tags else "no tags"
    return f"{quoted(short_digest(item.name))}, {tags}"


async def apply_plan(
    github: GitHubClient, store: CleanupStore, plan_id: str, progress: ProgressCallback | None = None
) -> CleanupApplied:
    """Delete what the plan says and the journal does not record as done, journaling every version.

    Raises:
        PlanNotFound: If there is no such plan.
        GitHubError: A rate limit or a network failure stops the run (what is done is in the journal; applying
            the plan again resumes).
    """
    plan = store.load(plan_id)
    todo = remaining(store, plan)
    counts = {"deleted": 0, "already_gone": 0, "skipped": 0, "failed": 0}
    skipped: list[SkippedVersion] = []
    for number, item in enumerate(todo, start=1):
        result, detail = await _delete_one(github, plan, item)
        store.append(_entry(plan.plan_id, item, result, detail))
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
        journal=str(store.journal_path(plan.plan_id)),
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
    return ("already_gone" if response.status_code == 404 else "deleted"), None


def _entry(plan_id: str, item: PlannedDeletion, result: JournalResult, detail: str | None) -> JournalEntry:
    return JournalEntry(
        time=timestamp(datetime.now(UTC)),
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

    Raises:
        PlanNotFound: If there is no such plan.
    """
    plan = store.load(plan_id)
    state: dict[int, JournalEntry] = {}
    for entry in store.journal(plan.plan_id):
        if entry.result in ("deleted", "restored"):
            state[entry.version_id] = entry
    wanted = set(version_ids) if version_ids is not None else None
    todo = [e for e in state.values() if e.result == "deleted" and (wanted is None or e.version_id in wanted)]
    restore = plan.owner.operation("restore", "package_version")
    restored, failures = 0, []
    for number, entry in enumerate(todo, start=1):
        item = PlannedDeletion(id=entry.version_id, name=entry.name, tags=entry.tags, package_name=entry.package_name)
        try:
            await github.request("POST", restore.url_path(plan.version_arguments(entry.package_name, entry.version_id)))
        except (RateLimited, TransportError):
            raise
        except APIError as exc:
            detail = f"{exc.status}: {exc.message}"
            store.append(_entry(plan.plan_id, item, "restore_failed", detail))
            failures.append(SkippedVersion(id=entry.version_id, name=entry.name, reason=detail))
        else:
            store.append(_entry(plan.plan_id, item, "restored", None))
            restored += 1
        if progress:
            await progress(number, len(todo))
    return Restored(
        plan_id=plan.plan_id,
        restored=restored,
        failed=len(failures),
        failures=failures[:SHOWN_DECISIONS],
        journal=str(store.journal_path(plan.plan_id)),
    )
