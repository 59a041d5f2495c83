"""Retention cleanup: plan (reads only), apply (deletes, journaled, resumable), restore from the journal.

A plan decides, for every active version of one package or of every package matching a name glob, delete or
keep and why (`retention.py`). For containers it then reads the registry's manifests of the kept images and
keeps what they need (platform images and attestations of a kept index, signatures and other referrers);
when the manifests cannot be read, no untagged version of that package is deleted. The plan is saved as
`<journal_dir>/plans/<plan_id>.json`.

Applying a plan deletes its versions one by one through the shared client (paced, retried where safe) and
appends one JSON line per version to `<journal_dir>/journal/<plan_id>.jsonl`: id, name, tags, result, time.
A 404 counts as already done; GitHub's refusals (the 5,000-downloads rule, the last version) are skipped,
not failures. Applying the same plan again resumes after what the journal records as done, so an
interrupted run loses nothing; and every deleted version can be restored from the journal within 30 days.
"""

from __future__ import annotations

import fnmatch
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from github_packages_mcp.client import GitHubClient, ProgressCallback, gather
from github_packages_mcp.errors import APIError, GitHubError, NotFound, RateLimited, TransportError
from github_packages_mcp.tools.catalogue import Owner
from github_packages_mcp.tools.models import ConfirmationOutcome, PackageType, _Result, version_tags
from github_packages_mcp.tools.retention import (
    Decision,
    ImageLinks,
    Rules,
    VersionFacts,
    decide,
    parse_time,
    protect,
    short_digest,
    summarize,
)

__all__ = [
    "CleanupApplied",
    "CleanupPlan",
    "CleanupStore",
    "JournalEntry",
    "PlanNotFound",
    "Restored",
    "apply_plan",
    "describe_plan",
    "make_plan",
    "restore_from_journal",
]

# Accept headers for reading any manifest ghcr.io serves: OCI and Docker, single images and indexes.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
ATTESTATION = "attestation-manifest"
# A plan lists every decision up to this many versions per package; beyond, only the deletions (up to this
# many), so one result stays readable in a context window. The saved plan always has all of them.
SHOWN_DECISIONS = 200


class PlanNotFound(LookupError):
    """No saved plan has this id."""


# --- what is saved -------------------------------------------------------------------------------------------


class PlannedDeletion(BaseModel):
    id: int
    name: str
    tags: list[str] | None = None
    package_name: str
    path: str  # the version's API path, encoded


class SavedPlan(BaseModel):
    plan_id: str
    created_at: str
    owner_kind: Literal["my", "org", "user"]
    owner_login: str | None
    package_type: PackageType
    rules: dict[str, Any]
    deletions: list[PlannedDeletion]


class JournalEntry(BaseModel):
    time: str
    plan_id: str
    version_id: int
    name: str
    tags: list[str] | None = None
    package_name: str
    path: str
    result: Literal["deleted", "already_gone", "skipped", "failed", "restored", "restore_failed"]
    detail: str | None = None


class CleanupStore:
    """Plans and journals on disk, one file each, under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def plan_path(self, plan_id: str) -> Path:
        return self.directory / "plans" / f"{_safe_id(plan_id)}.json"

    def journal_path(self, plan_id: str) -> Path:
        return self.directory / "journal" / f"{_safe_id(plan_id)}.jsonl"

    def save(self, plan: SavedPlan) -> None:
        path = self.plan_path(plan.plan_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(plan.model_dump_json(indent=1), encoding="utf-8")

    def load(self, plan_id: str) -> SavedPlan:
        """Raises PlanNotFound if there is no such plan."""
        try:
            return SavedPlan.model_validate_json(self.plan_path(plan_id).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError) as exc:
            raise PlanNotFound(f"no cleanup plan {plan_id!r} in {self.directory}") from exc

    def append(self, entry: JournalEntry) -> None:
        path = self.journal_path(entry.plan_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as journal:  # one line per version, flushed as it happens
            journal.write(entry.model_dump_json(exclude_none=True) + "\n")

    def journal(self, plan_id: str) -> list[JournalEntry]:
        path = self.journal_path(plan_id)
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [JournalEntry.model_validate_json(line) for line in lines if line.strip()]


def _safe_id(plan_id: str) -> str:
    if not plan_id or not all(c.isalnum() or c in "-_" for c in plan_id):
        raise PlanNotFound(f"{plan_id!r} is not a plan id")
    return plan_id


# --- results -------------------------------------------------------------------------------------------------


class VersionDecision(_Result):
    id: int
    name: str
    tags: list[str] | None = None
    action: Literal["delete", "keep"]
    rule: str


class PackagePlan(_Result):
    package: str
    versions: int
    delete: int
    keep: int
    by_rule: dict[str, int]
    manifests: str | None = Field(default=None, description="For containers: whether the registry could be read")
    decisions: list[VersionDecision]
    decisions_omitted: int = 0


class CleanupPlan(_Result):
    plan_id: str
    owner: str
    package_type: str
    delete: int
    keep: int
    packages: list[PackagePlan]
    message: str


class SkippedVersion(_Result):
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


class Restored(_Result):
    plan_id: str
    restored: int
    failed: int
    failures: list[SkippedVersion]
    journal: str


# --- plan ----------------------------------------------------------------------------------------------------


async def make_plan(
    github: GitHubClient,
    store: CleanupStore,
    registry_url: str,
    owner: Owner,
    package_type: PackageType,
    package_name: str,
    rules: Rules,
    now: datetime,
    progress: ProgressCallback | None = None,
) -> CleanupPlan:
    """Decide for every active version of the matching packages, save the plan, and describe it.

    Raises:
        RulesError: If a rule is invalid (before any request).
        GitHubError: If GitHub cannot be read.
    """
    rules.validate()
    packages = await _matching_packages(github, owner, package_type, package_name)
    done = 0

    async def plan_one(package: dict[str, Any]) -> tuple[dict[str, Any], list[Decision], str | None]:
        nonlocal done
        path = f"{owner.prefix}/packages/{package_type}/{quote(package['name'], safe='')}"
        listing = await github.get_all_pages(f"{path}/versions", {"state": "active"})
        decisions = decide([_facts(version) for version in listing.items], rules, now)
        note = None
        if package_type == "container" and any(d.action == "delete" for d in decisions):
            login = (package.get("owner") or {}).get("login") or owner.login or ""
            repository = f"{login.lower()}/{package['name']}"
            decisions, note = await _protect_images(github, registry_url, repository, decisions)
        done += 1
        if progress:
            await progress(done, len(packages))
        return package, decisions, note

    planned = await gather([partial(plan_one, package) for package in packages])
    plan_id = secrets.token_hex(8)
    deletions = [
        PlannedDeletion(
            id=d.version.id,
            name=d.version.name,
            tags=list(d.version.tags) if d.version.tags is not None else None,
            package_name=package["name"],
            path=f"{owner.prefix}/packages/{package_type}/{quote(package['name'], safe='')}/versions/{d.version.id}",
        )
        for package, decisions, _ in planned
        for d in decisions
        if d.action == "delete"
    ]
    store.save(
        SavedPlan(
            plan_id=plan_id,
            created_at=_now_text(now),
            owner_kind=owner.kind,
            owner_login=owner.login,
            package_type=package_type,
            rules=rules.__dict__ | {"include_tags": list(rules.include_tags), "exclude_tags": list(rules.exclude_tags)},
            deletions=deletions,
        )
    )
    results = [_package_plan(package["name"], decisions, note) for package, decisions, note in planned]
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


async def _matching_packages(
    github: GitHubClient, owner: Owner, package_type: PackageType, pattern: str
) -> list[dict[str, Any]]:
    if not any(char in pattern for char in "*?["):
        package = await github.get_json(f"{owner.prefix}/packages/{package_type}/{quote(pattern, safe='')}")
        return [package]
    listing = await github.get_all_pages(f"{owner.prefix}/packages", {"package_type": package_type})
    return [package for package in listing.items if fnmatch.fnmatchcase(package["name"], pattern)]


def _facts(version: dict[str, Any]) -> VersionFacts:
    tags = version_tags(version)
    return VersionFacts(
        id=version["id"],
        name=version["name"],
        tags=tuple(tags) if tags is not None else None,
        created_at=parse_time(version["created_at"]),
        updated_at=parse_time(version["updated_at"]),
    )


async def _protect_images(
    github: GitHubClient, registry_url: str, repository: str, decisions: list[Decision]
) -> tuple[list[Decision], str]:
    """Keep what kept images need; without readable manifests, delete no untagged version of the package."""
    links: dict[str, ImageLinks] = {}
    pending = {d.version.name for d in decisions if d.action == "keep" and d.version.name.startswith("sha256:")}
    try:
        while pending:
            fetched = await gather(
                [partial(_image_links, github, registry_url, repository, d) for d in sorted(pending)]
            )
            links.update((found.digest, found) for found in fetched)
            decisions, newly_kept = protect(decisions, links)
            pending = newly_kept - set(links)
    except GitHubError as exc:
        reason = f"the registry's manifests could not be read ({exc.message})"
        kept_untagged = [
            Decision(d.version, "keep", f"kept: untagged, and {reason}", "protected")
            if d.action == "delete" and not d.version.tags
            else d
            for d in decisions
        ]
        return kept_untagged, f"unavailable: {reason}; no untagged version is deleted"
    return decisions, f"read {len(links)} manifest(s) of kept images"


async def _image_links(github: GitHubClient, registry_url: str, repository: str, digest: str) -> ImageLinks:
    name = "/".join(quote(part, safe="") for part in repository.split("/"))  # registry names keep their "/"
    manifest = (await github.registry_get(f"{registry_url}/v2/{name}/manifests/{digest}", MANIFEST_TYPES)).json()
    entries = manifest.get("manifests") or []
    children = tuple(entry["digest"] for entry in entries)
    attestations = tuple(
        entry["digest"]
        for entry in entries
        if (entry.get("annotations") or {}).get("vnd.docker.reference.type") == ATTESTATION
    )
    try:
        referrers_index = (
            await github.registry_get(f"{registry_url}/v2/{name}/referrers/{digest}", MANIFEST_TYPES.split(",")[0])
        ).json()
        referrers = tuple(entry["digest"] for entry in referrers_index.get("manifests") or [])
    except NotFound:  # a registry without the referrers API: signatures are then found by their tags
        referrers = ()
    return ImageLinks(digest=digest, children=children, referrers=referrers, attestations=attestations)


def _package_plan(name: str, decisions: Sequence[Decision], note: str | None) -> PackagePlan:
    counts = summarize(decisions)
    shown = list(decisions) if len(decisions) <= SHOWN_DECISIONS else [d for d in decisions if d.action == "delete"]
    shown = shown[:SHOWN_DECISIONS]
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
                tags=list(d.version.tags) if d.version.tags is not None else None,
                action=d.action,
                rule=d.rule,
            )
            for d in shown
        ],
        decisions_omitted=len(decisions) - len(shown),
    )


# --- apply ---------------------------------------------------------------------------------------------------


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
    owner = Owner(plan.owner_kind, plan.owner_login).describe()
    sample = "; ".join(
        f"{item.package_name} {item.id} ({short_digest(item.name)}, "
        f"{'tags: ' + ', '.join(item.tags) if item.tags else 'untagged' if item.tags is not None else 'no tags'})"
        for item in todo[:5]
    )
    packages = ", ".join(f"{name}: {count}" for name, count in per_package.items())
    return (
        f"{len(todo)} version(s) of {len(per_package)} {plan.package_type} package(s) owned by {owner} "
        f"({packages}), planned as {plan_id}; for example {sample}",
        len(todo),
    )


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
        result, detail = await _delete_one(github, item)
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


async def _delete_one(github: GitHubClient, item: PlannedDeletion) -> tuple[str, str | None]:
    try:
        response = await github.request("DELETE", item.path)
    except NotFound:
        return "already_gone", None
    except (RateLimited, TransportError):
        raise  # stop the run: nothing more can be done now, and the journal says what was
    except APIError as exc:
        # GitHub's rules (the 5,000-downloads rule, the last version) answer 400: a skip, not a failure.
        return ("skipped" if exc.status == 400 else "failed"), f"{exc.status}: {exc.message}"
    return ("already_gone" if response.status_code == 404 else "deleted"), None


def _entry(plan_id: str, item: PlannedDeletion, result: str, detail: str | None) -> JournalEntry:
    return JournalEntry(
        time=_now_text(datetime.now(UTC)),
        plan_id=plan_id,
        version_id=item.id,
        name=item.name,
        tags=item.tags,
        package_name=item.package_name,
        path=item.path,
        result=result,  # type: ignore[arg-type]
        detail=detail,
    )


# --- restore -------------------------------------------------------------------------------------------------


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
    restored, failures = 0, []
    for number, entry in enumerate(todo, start=1):
        item = PlannedDeletion(
            id=entry.version_id, name=entry.name, tags=entry.tags, package_name=entry.package_name, path=entry.path
        )
        try:
            await github.request("POST", f"{entry.path}/restore")
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


def _now_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
