"""Tool results: GitHub's `package` and `package-version` objects, trimmed to what an assistant needs.

GitHub nests a ~20-field owner and a ~100-field repository in every package; here they become
`OwnerSummary` and `RepositorySummary`. Container tags move from `metadata.container.tags` to `tags`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, Literal, Self

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "PACKAGE_TYPES",
    "ConfirmationOutcome",
    "DeleteOutcome",
    "DeletionResult",
    "DockerConflicts",
    "OwnerSummary",
    "Package",
    "PackageList",
    "PackageType",
    "PackageVersion",
    "PackageVersionList",
    "RepositorySummary",
    "RestoreResult",
    "Result",
    "parse_time",
    "summaries",
    "version_tags",
]

PackageType = Literal["npm", "maven", "rubygems", "docker", "nuget", "container"]
PACKAGE_TYPES: tuple[PackageType, ...] = ("npm", "maven", "rubygems", "docker", "nuget", "container")


def parse_time(text: str) -> datetime:
    """Parse GitHub's ISO 8601 time ("2026-11-25T12:00:00Z") into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return parsed.astimezone(UTC)


class Result(BaseModel):
    """Base of every tool result. `toolkit/schemas.py` decides how much of its schema is published."""

    # extra="allow": with `full_results`, GitHub's complete objects pass through these models unchanged.
    model_config = ConfigDict(extra="allow")


class OwnerSummary(Result):
    login: str
    type: str = Field(description="User or Organization")


class RepositorySummary(Result):
    full_name: str
    html_url: str
    private: bool


class Package(Result):
    id: int
    name: str
    package_type: PackageType
    visibility: str = Field(description="public or private")
    version_count: int = Field(description="Active versions")
    owner: OwnerSummary | None = None
    repository: RepositorySummary | None = None
    html_url: str
    created_at: str
    updated_at: str

    @classmethod
    def from_github(cls, data: dict[str, Any], *, full: bool = False) -> Package:
        """The concise summary of GitHub's package object, or with `full` the whole object."""
        return cls.model_validate(data) if full else _GitHubPackage.model_validate(data)


class PackageVersion(Result):
    id: int
    name: str = Field(description="Version name; for containers the manifest digest")
    tags: list[str] | None = Field(default=None, description="Container and docker tags; [] means untagged")
    html_url: str | None = None
    created_at: str
    updated_at: str
    deleted_at: str | None = None

    @classmethod
    def from_github(cls, data: dict[str, Any], *, full: bool = False) -> PackageVersion:
        """The concise summary of GitHub's package-version object (tags lifted out of `metadata`), or with
        `full` the whole object plus `tags`."""
        return cls.model_validate({**data, "tags": version_tags(data)}) if full else _GitHubVersion.model_validate(data)


def version_tags(data: dict[str, Any]) -> list[str] | None:
    """A GitHub package version's tags (containers and docker), `[]` when untagged, None for other registries."""
    metadata = data.get("metadata") or {}
    image = metadata.get("container") or metadata.get("docker")
    # GitHub's spec names the docker field `tag` but requires `tags`; accept both.
    tags = image.get("tags", image.get("tag")) if isinstance(image, dict) else None
    return list(tags) if tags is not None else None


# GitHub's objects validated straight into their summaries, in pydantic-core: each summary's fields taken, the rest
# of GitHub's object (a ~20-field owner, a ~100-field repository) left out, tags lifted out of `metadata`. Subclasses
# of the published models, so what a tool answers and publishes is theirs; in three fifths of the time of picking
# the fields in Python first (30 versions: 50 -> 28 us; 30 packages: 102 -> 59 us).
_SUMMARY = ConfigDict(extra="ignore")
_TAGS = AliasChoices(  # as `version_tags` reads them
    AliasPath("metadata", "container", "tags"),
    AliasPath("metadata", "docker", "tags"),
    AliasPath("metadata", "docker", "tag"),
)


class _GitHubOwner(OwnerSummary):
    model_config = _SUMMARY
    type: str = "User"


class _GitHubRepository(RepositorySummary):
    model_config = _SUMMARY


class _GitHubPackage(Package):
    model_config = _SUMMARY
    owner: _GitHubOwner | None = None
    repository: _GitHubRepository | None = None


class _GitHubVersion(PackageVersion):
    model_config = _SUMMARY
    tags: list[str] | None = Field(default=None, validation_alias=_TAGS)


@cache
def _summaries(model: type[Package] | type[PackageVersion]) -> TypeAdapter[list[Any]]:
    # Made at the first listing, not at start.
    return TypeAdapter(list[_GitHubPackage]) if model is Package else TypeAdapter(list[_GitHubVersion])


def summaries(model: type[Package] | type[PackageVersion], items: list[Any], *, full: bool = False) -> list[Any]:
    """GitHub's package or package-version objects as `model`s: concise summaries, or with `full` whole (versions
    with `tags` added), in one validation for all of them."""
    if full:
        return [model.from_github(data, full=True) for data in items]
    return _summaries(model).validate_python(items)


class _Paging(Result):
    page: int
    per_page: int
    next_page: int | None = Field(default=None, description="Page to ask for next; absent on the last page")
    last_page: int | None = Field(default=None, description="Number of the last page, when GitHub says")
    message: str | None = Field(default=None, description="Set when the result was cut to fit")


class PackageList(_Paging):
    items: list[Package]


class PackageVersionList(_Paging):
    items: list[PackageVersion]


class DockerConflicts(Result):
    items: list[Package] = Field(description="Packages whose Docker-to-Container migration hit a conflict")


class ConfirmationOutcome(Result):
    """What a tool that asks the person first answers when it did nothing: they refused, or their confirmation is
    needed. Its subclasses declare the fields, in their own order: `status`, `message`, `confirmation_required`,
    `summary`, `confirmation_token`, `expires_at`."""

    NOTHING_DONE: ClassVar[str]  # "Nothing was deleted"
    WILL: ClassVar[str]  # the summary's first words: "This will permanently delete"

    @classmethod
    def refused(cls, status: Literal["declined", "cancelled", "not_confirmed"], reason: str) -> Self:
        return cls.model_validate({"status": status, "message": f"{cls.NOTHING_DONE}: {reason}."})

    @classmethod
    def needs_confirmation(cls, tool: str, summary: str, token: str, expires: datetime) -> Self:
        return cls.model_validate(
            {
                "status": "confirmation_required",
                "confirmation_required": True,
                "summary": f"{cls.WILL} {summary}.",
                "confirmation_token": token,
                "expires_at": expires.isoformat().replace("+00:00", "Z"),
                "message": (
                    f"{cls.NOTHING_DONE} yet. Show the summary to the person; only if they agree, call {tool} "
                    "again with the same arguments plus confirmation_token."
                ),
            }
        )


class DeleteOutcome(ConfirmationOutcome):
    """What a tool that deletes answers: done, refused by the person, or waiting for their confirmation."""

    deleted: bool = False
    # already_done: a cleanup plan with nothing left to delete (its counts: what its apply did then).
    status: Literal["deleted", "already_done", "confirmation_required", "declined", "cancelled", "not_confirmed"]
    message: str
    confirmation_required: bool = False
    summary: str | None = Field(default=None, description="What would be deleted; show it to the person")
    confirmation_token: str | None = Field(
        default=None, description="After the person agrees, call the same tool with the same arguments plus this"
    )
    expires_at: str | None = None

    NOTHING_DONE: ClassVar[str] = "Nothing was deleted"
    WILL: ClassVar[str] = "This will permanently delete"


class DeletionResult(DeleteOutcome):
    """The outcome of deleting one package or version."""


class RestoreResult(Result):
    restored: bool
    message: str
