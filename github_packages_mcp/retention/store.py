"""Cleanup plans and their journals on disk: `<journal_dir>/plans/<plan_id>.json` and
`<journal_dir>/journal/<plan_id>.jsonl` (one JSON line per version acted on: id, name, tags, result, time)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from github_packages_mcp.github.catalogue import Owner, OwnerKind
from github_packages_mcp.github.errors import InvalidRequest
from github_packages_mcp.github.models import PackageType

__all__ = ["CleanupStore", "JournalEntry", "JournalResult", "PlanNotFound", "PlannedDeletion", "SavedPlan", "timestamp"]

JournalResult = Literal["deleted", "already_gone", "skipped", "failed", "restored", "restore_failed"]


class PlanNotFound(InvalidRequest):
    """No saved plan has this id."""


class PlannedDeletion(BaseModel):
    id: int
    name: str
    tags: list[str] | None = None
    package_name: str


class SavedPlan(BaseModel):
    plan_id: str
    created_at: str
    owner_kind: OwnerKind
    owner_login: str | None
    package_type: PackageType
    rules: dict[str, Any]
    deletions: list[PlannedDeletion]

    @property
    def owner(self) -> Owner:
        return Owner(self.owner_kind, self.owner_login)

    def version_arguments(self, package_name: str, version_id: int) -> dict[str, Any]:
        """The arguments that name one of the plan's versions in a catalogue operation of its owner."""
        return {
            **self.owner.arguments,
            "package_type": self.package_type,
            "package_name": package_name,
            "package_version_id": version_id,
        }


class JournalEntry(BaseModel):
    time: str
    plan_id: str
    version_id: int
    name: str
    tags: list[str] | None = None
    package_name: str
    result: JournalResult
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
            raise PlanNotFound(
                f"no cleanup plan {plan_id!r} in {self.directory}; make one with plan_version_cleanup"
            ) from exc

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


def timestamp(moment: datetime) -> str:
    """GitHub's time format, to the second: `2026-12-02T12:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe_id(plan_id: str) -> str:
    if not plan_id or not all(c.isalnum() or c in "-_" for c in plan_id):
        raise PlanNotFound(f"{plan_id!r} is not a plan id; make one with plan_version_cleanup")
    return plan_id
