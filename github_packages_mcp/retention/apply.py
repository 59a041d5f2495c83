"""Applying a saved cleanup plan: deletes, journaled, resumable.

Applying reads each package again and holds back what changed since the plan (recheck.py), then deletes the
plan's versions one by one through the shared client (paced, retried where safe) and journals every version. A
404 counts as already done only if the version is gone when read again: GitHub also answers 404 to a token without
admin rights on the package, and such a version is a failure, which applying the plan again retries. GitHub's
refusals (the 5,000-downloads rule, the last version) are skipped, not failures. A cancel while the run waits for
its next delete's turn sends nothing more; one while a delete is in flight lets that delete finish and be journaled
first. Applying the same plan again resumes after what the journal records as done, so an interrupted run loses
nothing; and every deleted version can be restored from the journal within 30 days (history.py). Every request
path is rebuilt from the plan's owner, type, package name and version id through the catalogue.

A plan is only acted on by the caller who made it (the store checks its signature and caller), and applied only if
it is the very plan the person confirmed (its digest): the cleanup service (`service.py`) checks both, then runs
`run_plan`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import anyio.lowlevel
from pydantic import Field

from github_packages_mcp.errors import InvalidRequest, StateUnavailable
from github_packages_mcp.github.client import GitHubClient, ProgressCallback, Turn
from github_packages_mcp.github.errors import APIError, NotDeleted, NotFound, RateLimited, TransportError
from github_packages_mcp.github.execute import delete_checked
from github_packages_mcp.github.models import DeleteOutcome, Result
from github_packages_mcp.github.pacing import sent_in_turn
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.retention.journal import Actor, Journal, JournalResult, Subject
from github_packages_mcp.retention.plan import SHOWN_DECISIONS
from github_packages_mcp.retention.recheck import look_again
from github_packages_mcp.retention.rules import short_digest
from github_packages_mcp.retention.sources import Sources
from github_packages_mcp.retention.store import PlannedDeletion, SavedPlan

__all__ = [
    "CleanupApplied",
    "OutcomeNotJournaled",
    "PlanChanged",
    "PlanSummary",
    "SkippedVersion",
    "already_done",
    "plan_summary",
    "remaining",
    "run_plan",
]

DIGEST_SHOWN = 12  # hex characters of the plan's digest in the words the person approves
_SETTLED: tuple[JournalResult, ...] = ("deleted", "already_gone", "skipped")  # a failed delete is tried again


class PlanChanged(InvalidRequest):
    """The plan is not the one the person confirmed."""


class OutcomeNotJournaled(StateUnavailable):
    """A delete went to GitHub, but its outcome could not be journaled: the run stops."""


@dataclass(frozen=True)
class PlanSummary:
    summary: str  # the words for the person, with the plan's short digest
    versions: int  # left to delete
    digest: str  # the whole plan's SHA-256, for the apply to check


class SkippedVersion(Result):
    id: int
    name: str
    reason: str


class CleanupApplied(DeleteOutcome):
    plan_id: str | None = None
    deleted_count: int = 0
    already_gone: int = 0
    skipped: int = 0
    failed: int = 0
    skipped_versions: list[SkippedVersion] = Field(default_factory=list)
    journal: str | None = None


async def remaining(journal: Journal, plan: SavedPlan) -> list[PlannedDeletion]:
    """The plan's deletions the journal does not record as done (deleted, already gone or skipped)."""
    settled = {
        (entry.package_name, entry.version_id)
        for entry in (await journal.read()).entries
        if entry.plan_id == plan.plan_id and entry.result in _SETTLED
    }
    return [item for item in plan.deletions if (item.package_name, item.id) not in settled]


async def already_done(journal: Journal, plan: SavedPlan) -> CleanupApplied:
    """What applying a plan with nothing left to delete answers (no error: running a finished plan again is not
    one): that nothing was done now, and what the journal records its apply did then."""
    settled: dict[tuple[str, int | None], JournalResult] = {}
    for entry in (await journal.read()).entries:  # oldest first: a later outcome of a version replaces an earlier
        if entry.plan_id == plan.plan_id and entry.version_id is not None and entry.result in _SETTLED:
            settled[(entry.package_name, entry.version_id)] = entry.result
    counts = Counter(settled.values())
    then = (
        f"Plan {plan.plan_id} was already applied; nothing was left to delete now. Then it deleted "
        f"{counts['deleted']} version(s); {counts['already_gone']} were already gone, {counts['skipped']} skipped. "
        "restore_from_journal with this plan_id brings deleted versions back within 30 days."
    )
    return CleanupApplied(
        status="already_done",
        message=then if plan.deletions else f"Plan {plan.plan_id} deletes nothing: there was nothing to do.",
        plan_id=plan.plan_id,
        deleted_count=counts["deleted"],
        already_gone=counts["already_gone"],
        skipped=counts["skipped"],
        journal=journal.file_name(),
    )


def plan_summary(plan: SavedPlan, todo: Sequence[PlannedDeletion]) -> PlanSummary:
    """The words for the person about what applying the plan will delete now (`todo`: what `remaining` says),
    how many versions, and the digest of the plan they approve."""
    per_package: dict[str, int] = {}
    for item in todo:
        per_package[item.package_name] = per_package.get(item.package_name, 0) + 1
    sample = "; ".join(f"{quoted(item.package_name)} {item.id} ({_described(item)})" for item in todo[:5])
    packages = ", ".join(f"{quoted(name)}: {count}" for name, count in per_package.items())
    digest = plan.digest()
    narrowed = f", narrowed from {plan.narrowed_from}," if plan.narrowed_from else ""
    return PlanSummary(
        f"{len(todo)} version(s) of {len(per_package)} {plan.package_type} package(s) owned by "
        f"{plan.owner.describe()} ({packages}), planned as {plan.plan_id}{narrowed} (plan digest "
        f"{digest[:DIGEST_SHOWN]}); "
        f"for example {sample}",
        len(todo),
        digest,
    )


def _described(item: PlannedDeletion) -> str:
    tags = "untagged" if item.tags == [] else f"tags: {', '.join(map(quoted, item.tags))}" if item.tags else "no tags"
    return f"{quoted(short_digest(item.name))}, {tags}"


async def run_plan(
    sources: Sources,
    journal: Journal,
    actor: Actor,
    plan: SavedPlan,
    progress: ProgressCallback | None = None,
    *,
    whole: bool = False,
) -> CleanupApplied:
    """Delete what the plan says and the journal does not record as done, journaling every version. Each package
    is read again first (recheck.py): what changed since the plan is held back, never deleted. The result lists
    at most SHOWN_DECISIONS skipped or failed versions, or with `whole` all of them.

    Raises:
        GitHubError: A rate limit or a network failure stops the run (what is done is in the journal; applying
            the plan again resumes).
    """
    github = sources.github
    todo = await remaining(journal, plan)
    counts = {"deleted": 0, "already_gone": 0, "skipped": 0, "failed": 0}
    skipped: list[SkippedVersion] = []
    number = 0
    for package_name, items in _by_package(todo):
        for item, settled in await _looked_again(sources, plan, package_name, items):
            result, detail = await _step(github, journal, actor, plan, item, settled)
            await anyio.lowlevel.checkpoint()
            counts[result] += 1
            if result in ("skipped", "failed") and (whole or len(skipped) < SHOWN_DECISIONS):
                skipped.append(SkippedVersion(id=item.id, name=item.name, reason=detail or result))
            number += 1
            if progress:
                await progress(number, len(todo))
    return CleanupApplied(
        deleted=counts["deleted"] > 0,
        status="deleted",
        message=(
            f"Deleted {counts['deleted']} version(s); {counts['already_gone']} were already gone, "
            f"{counts['skipped']} skipped (changed since the plan, or GitHub refused), {counts['failed']} failed"
            f"{' (applying the plan again retries them; skipped_versions says why)' if counts['failed'] else ''}. "
            "Each is in the journal and can be restored within 30 days with restore_from_journal."
        ),
        plan_id=plan.plan_id,
        deleted_count=counts["deleted"],
        already_gone=counts["already_gone"],
        skipped=counts["skipped"],
        failed=counts["failed"],
        skipped_versions=skipped,
        journal=journal.file_name(),
    )


def _by_package(todo: Sequence[PlannedDeletion]) -> list[tuple[str, list[PlannedDeletion]]]:
    """The deletions by package, in plan order (images before their parts within each)."""
    packages: dict[str, list[PlannedDeletion]] = {}
    for item in todo:
        packages.setdefault(item.package_name, []).append(item)
    return list(packages.items())


async def _looked_again(
    sources: Sources, plan: SavedPlan, package_name: str, items: list[PlannedDeletion]
) -> list[tuple[PlannedDeletion, tuple[JournalResult, str] | None]]:
    """Each deletion of one package with None (delete it now) or how it is settled without a request."""
    looked = await look_again(sources, plan.owner, plan.package_type, package_name, items)
    gone: tuple[JournalResult, str] = ("already_gone", "not in the package any more when the apply looked again")
    settled = {item.id: gone for item in looked.gone} | {item.id: ("skipped", why) for item, why in looked.held}
    return [(item, settled.get(item.id)) for item in items]


async def _step(
    github: GitHubClient,
    journal: Journal,
    actor: Actor,
    plan: SavedPlan,
    item: PlannedDeletion,
    settled: tuple[JournalResult, str] | None,
) -> tuple[JournalResult, str | None]:
    """Delete one version, or journal how it is settled without a request (held back, or gone since the plan).

    A cancel while the delete waits for its turn sends nothing. Once the turn is held, the delete and its journal
    lines are shielded: a cancel then waits for them, so the journal never misses a delete that happened (and so
    can always restore it), and stops the run before the next one.

    Raises:
        StateUnavailable: If the turn cannot be had (the pacing replicas share did not answer: nothing was sent).
    """
    if settled is not None:
        await journal.record(actor, _subject(plan, item), *settled, plan.plan_id)
        return settled
    send = partial(_delete_journaled, github, journal, actor, plan, item)
    return await sent_in_turn(
        github.turn("DELETE"), send, lambda exc: StateUnavailable(f"{exc} {_stopped_before(item)}")
    )


def _stopped_before(item: PlannedDeletion) -> str:
    return f"The run stopped before version {item.id}: nothing more was deleted. Apply the plan again to resume."


async def _delete_journaled(
    github: GitHubClient, journal: Journal, actor: Actor, plan: SavedPlan, item: PlannedDeletion, turn: Turn
) -> tuple[JournalResult, str | None]:
    """Delete one version, in `turn`, between its two journal lines: the intent, then the outcome. No journal, no
    delete.

    Raises:
        StateUnavailable: If the intent cannot be journaled (nothing was sent).
        OutcomeNotJournaled: If the outcome cannot be.
    """
    subject = _subject(plan, item)
    try:
        await journal.record(actor, subject, "deleting", None, plan.plan_id)
    except StateUnavailable as exc:
        raise StateUnavailable(f"{exc} {_stopped_before(item)}") from None
    try:
        result, detail = await _delete_one(github, subject, turn)
    except RateLimited as exc:  # answered, so surely not deleted; a network failure leaves the intent unsettled
        await journal.record(actor, subject, "failed", f"{exc.status}: {exc.message}", plan.plan_id)
        raise
    try:
        await journal.record(actor, subject, result, detail, plan.plan_id)
    except StateUnavailable as exc:
        raise OutcomeNotJournaled(
            f"{exc} Version {item.id} was {result.replace('_', ' ')} and the run stopped there; its intent is "
            "journaled, so restore_from_journal can bring it back."
        ) from None
    return result, detail


async def _delete_one(github: GitHubClient, version: Subject, turn: Turn) -> tuple[JournalResult, str | None]:
    delete = version.owner.operation("delete", "package_version")
    try:
        response = await delete_checked(delete, github, version.arguments(), turn=turn)
    except NotFound:  # and gone when read again
        return "already_gone", None
    except NotDeleted as exc:  # and still there: not done, so applying the plan again retries it
        return "failed", exc.message
    except (RateLimited, TransportError):
        raise  # stop the run: nothing more can be done now, and the journal says what was
    except APIError as exc:
        # GitHub's rules (the 5,000-downloads rule, the last version) answer 400: a skip, not a failure.
        return ("skipped" if exc.status == 400 else "failed"), f"{exc.status}: {exc.message}"
    if response.status_code == 404:  # an attempt's answer was lost, and the version is gone: that attempt deleted it
        return "deleted", "GitHub's first answer was lost; the version was deleted by that attempt"
    return "deleted", None


def _subject(plan: SavedPlan, item: PlannedDeletion) -> Subject:
    return Subject(
        owner_kind=plan.owner_kind,
        owner_login=plan.owner_login,
        package_type=plan.package_type,
        package_name=item.package_name,
        version_id=item.id,
        name=item.name,
        tags=item.tags,
    )
