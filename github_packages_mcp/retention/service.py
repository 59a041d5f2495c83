"""Retention cleanups as one service, bound once to where they read and write (`Cleanups`): planning, the words
for the person about a plan, applying it, and the journal's history and restores. A call passes only what varies:
who calls, and what they ask.

The work itself is in `plan.py`, `apply.py` and `history.py`; here a plan is tied to the caller who made it and to
the digest the person confirmed.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from github_packages_mcp.github.catalogue import Owner
from github_packages_mcp.github.client import ProgressCallback
from github_packages_mcp.github.models import PackageType
from github_packages_mcp.retention.apply import (
    CleanupApplied,
    PlanChanged,
    PlanSummary,
    already_done,
    plan_summary,
    remaining,
    run_plan,
)
from github_packages_mcp.retention.history import History, JournalQuery, Restored, Selection, history, restore, select
from github_packages_mcp.retention.journal import Actor, Journal
from github_packages_mcp.retention.narrow import narrowed_plan, narrowed_result
from github_packages_mcp.retention.plan import CleanupPlan, plan_packages, plan_result, saved_plan
from github_packages_mcp.retention.review import plan_review
from github_packages_mcp.retention.rules import Rules
from github_packages_mcp.retention.signing import timestamp
from github_packages_mcp.retention.sources import Sources
from github_packages_mcp.retention.store import CleanupStore, SavedPlan

__all__ = ["Cleanups"]


@dataclass(frozen=True)
class Cleanups:
    """Cleanups over one GitHub client and registry (`sources`), one plan store, one journal and one clock
    (seconds since the epoch). `caller` arguments are identity_of(the caller's token). `whole`: results list every
    decision, skipped version, failure and journal line (for a person at the command line), not only as many as a
    model's context window holds."""

    sources: Sources
    store: CleanupStore
    journal: Journal
    clock: Callable[[], float]
    whole: bool = False

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def plan(
        self,
        caller: str,
        owner: Owner,
        package_type: PackageType,
        package_name: str,
        rules: Rules,
        progress: ProgressCallback | None = None,
        *,
        review: bool = False,
    ) -> tuple[CleanupPlan, dict[str, Any] | None]:
        """Decide for every active version of the matching packages, save the plan, and describe it; with `review`,
        also the whole plan for a person reviewing it in the plan review app (`review.plan_review`).

        Raises:
            RulesError: If a rule is invalid (before any request).
            NoPackageMatched: If `package_name` is a glob that matches no package (nothing is saved).
            GitHubError: If GitHub cannot be read.
        """
        now = self.now()
        planned = await plan_packages(self.sources, owner, package_type, package_name, rules, now, progress)
        plan_id = secrets.token_hex(8)
        # The plan is the caller's only (their token's fingerprint), and expires: its decisions go stale.
        lifetime = (now, now + self.store.plan_ttl)
        await self.store.save(saved_plan(plan_id, caller, owner, package_type, package_name, rules, lifetime, planned))
        result = plan_result(plan_id, owner, package_type, planned, whole=self.whole)
        return result, plan_review(result, planned) if review else None

    async def narrow(self, plan_id: str, caller: str, delete_version_ids: Sequence[int]) -> CleanupPlan:
        """Save, as a new plan, the caller's plan deleting only `delete_version_ids` (parts follow their images:
        `narrow.py`), and describe it; the original stays as it was.

        Raises:
            PlanNotFound: If there is no such plan that this caller can use.
            PlanExpired: If the plan expired.
            InvalidArguments: If the ids are not a choice among the plan's deletions (nothing is saved).
        """
        plan = await self.store.load(plan_id, caller)
        narrowed = narrowed_plan(plan, delete_version_ids, secrets.token_hex(8), timestamp(self.now()))
        await self.store.save(narrowed)
        return narrowed_result(plan, narrowed, whole=self.whole)

    async def saved(self, plan_id: str, caller: str) -> SavedPlan:
        """The caller's plan as saved, expired or not (what it was asked to plan does not go stale).

        Raises:
            PlanNotFound: If there is no such plan that this caller can use.
        """
        return await self.store.load(plan_id, caller, expired_ok=True)

    async def describe(self, plan_id: str, caller: str) -> PlanSummary:
        """What applying the plan would delete now, in words for the person, and the digest they approve.

        Raises:
            PlanNotFound: If there is no such plan that this caller can use.
            PlanExpired: If the plan expired.
        """
        plan = await self.store.load(plan_id, caller)
        return plan_summary(plan, await remaining(self.journal, plan))

    async def already_done(self, plan_id: str, caller: str) -> CleanupApplied:
        """What applying a plan with nothing left to delete answers: what its apply did then (`apply.already_done`).

        Raises:
            PlanNotFound: If there is no such plan that this caller can use.
            PlanExpired: If the plan expired.
        """
        return await already_done(self.journal, await self.store.load(plan_id, caller))

    async def apply(
        self, plan_id: str, confirmed_digest: str, actor: Actor, progress: ProgressCallback | None = None
    ) -> CleanupApplied:
        """Delete what the plan says and the journal does not record as done (`run_plan`); only if the plan is
        still the one whose digest the person confirmed (`describe`), and only for the caller who made it.

        Raises:
            PlanNotFound: If there is no such plan that this caller can use.
            PlanExpired: If the plan expired.
            PlanChanged: If the plan is not the one confirmed.
            GitHubError: A rate limit or a network failure stops the run (what is done is in the journal; applying
                the plan again resumes).
        """
        plan = await self.store.load(plan_id, actor.caller)
        if not hmac.compare_digest(plan.digest(), confirmed_digest):
            raise PlanChanged(
                f"Nothing was deleted: plan {plan_id} is not the plan the person confirmed; call apply_version_cleanup "
                "again without a confirmation_token to show them what it holds now"
            )
        return await run_plan(self.sources, self.journal, actor, plan, progress, whole=self.whole)

    async def history(self, query: JournalQuery) -> History:
        """The journal lines the query selects, newest first (`history.history`)."""
        return await history(self.journal, query, whole=self.whole)

    async def select(self, query: JournalQuery, caller: str) -> Selection:
        """What restoring the query's selection would bring back now (`history.select`).

        Raises:
            PlanNotFound: If the query names a plan this caller did not make: only they restore by its id, as only
                they apply it.
            InvalidArguments: If the query says nothing of what to restore.
        """
        if query.plan_id is not None:
            await self.store.load(query.plan_id, caller, expired_ok=True)
        return await select(self.journal, query)

    async def restore(
        self, selection: Selection, actor: Actor, plan_id: str | None = None, progress: ProgressCallback | None = None
    ) -> Restored:
        """Restore what the person confirmed (`history.restore`).

        Raises:
            GitHubError: A rate limit or a network failure stops the run (the journal has what was restored).
        """
        return await restore(self.sources.github, self.journal, actor, selection, plan_id, progress, whole=self.whole)
