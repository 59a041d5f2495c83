"""Retention rules for package versions: for every version, delete or keep, and why. Pure logic, no I/O.

`decide` takes all versions of one package and a `Rules` and returns one `Decision` per version, in input order.
The rules apply in this order; the first that applies decides:

1. exclusions: a version with any tag matching exclude_tags ("exclude_tags"), or whose name matches
   exclude_versions ("exclude_versions"), is kept.
2. selection: a version is selected only when it passes all four filters, else it is kept ("not_selected"):
   a. tagged: "tagged" selects versions with at least one tag, "untagged" those with none, "any" all;
   b. include_tags: when given, every tag of a version must match one of the patterns (an untagged version is
      not selected), so a release tagged `latest`, `v4` and `sha-bbbbbbb` is never selected by `sha-*`: a rule about
      some of a version's tags never deletes the others (snok/container-retention-policy selects the same way);
   c. include_versions: when given, a version's name must match one of the patterns;
   d. prerelease: "only" selects pre-releases, "never" selects the others, "any" all.
3. keep_latest: the N newest selected versions are kept ("keep_latest"); keep_latest_tagged and
   keep_latest_untagged keep the N newest selected tagged, and untagged, versions ("keep_latest_tagged",
   "keep_latest_untagged"). Newest means the latest created_at, and on equal created_at the higher id (GitHub
   hands out ids in increasing order). Versions kept by rule 1 or 2 are not selected, so they do not count.
4. keep_younger_than_days: selected versions younger than the cut-off are kept ("keep_younger"). Age is measured
   from created_at or updated_at (age_basis); a version exactly at the cut-off counts as old.
5. Every other version is deleted ("delete"); the rule text lists the criteria that made it deletable.

Before any of these, exclude_packages (globs, as package_name is one whatever pattern_syntax says) takes packages
out of what package_name selects: their versions are not read or decided at all (`sources.matching`).

Tag patterns match tags only, never a version's name, so `sha256*` never matches a digest; version patterns
match the name (`1.*`, `*-SNAPSHOT`), for every registry. How patterns match, and their bounds: `patterns.py`.

GitHub refuses some deletes (docs/github-behaviour.md#last-tagged-version): the last tagged version of a container
package (untagged ones do not count) and the last version of any other package. `last_to_keep` names the version
a set of decisions must keep instead ("github_refuses").

Registries without tags (npm, maven, rubygems, nuget) give versions with `tags=None`. Tag rules cannot apply to
them, so `decide` raises `RulesError` when such a version meets `tagged` other than "any" or non-empty
include_tags/exclude_tags, or the image options (keep_latest_tagged/untagged, delete_orphans, delete_ghost_images,
delete_partial_images), rather than silently keeping or deleting everything.

Pre-releases (`is_prerelease`): a text is a pre-release when it is, in full, an optional `v`/`V`, two to four
dot-separated numbers, a `-` and a non-empty suffix of letters, digits, dots and hyphens, then an optional
`+build` part. So `1.2.3-rc.1`, `v2.0.0-beta`, `1.0.0-alpha.1+build.5`, `2.1-SNAPSHOT` and `1.0.0-preview1` are
pre-releases; `1.2.3`, `1.2.3+build`, `latest`, `2024-01-01` and digests are not. As in semver, a variant tag such
as `1.25-alpine` counts as a pre-release too (use patterns for those); RubyGems' dotted `1.0.0.pre` does not.
A version with tags (containers) is a pre-release when any of its tags is one; a tagless version when its name is.

For containers, `images.py` decides only the images with these rules; their parts follow them, and the image
options (orphans, broken images) are applied there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict

from github_packages_mcp.durations import Days
from github_packages_mcp.github.catalogue import arg
from github_packages_mcp.retention.patterns import MAX_PATTERN_LENGTH, MAX_PATTERNS, PatternList, RulesError

__all__ = [
    "RULE_IDS",
    "AgeBasis",
    "Decision",
    "DeleteGhostImages",
    "DeleteOrphans",
    "DeletePartialImages",
    "ExcludePackages",
    "ExcludeTags",
    "ExcludeVersions",
    "IncludeTags",
    "IncludeVersions",
    "KeepLatest",
    "KeepLatestTagged",
    "KeepLatestUntagged",
    "KeepYoungerThanDays",
    "PatternSyntax",
    "Prerelease",
    "Rules",
    "RulesError",
    "Tagged",
    "VersionFacts",
    "check_tags_apply",
    "decide",
    "exclusion",
    "is_prerelease",
    "last_to_keep",
    "short_digest",
    "summarize",
]

# Each rule is declared once, here: `Rules` validates with these types, and the cleanup tool publishes them.
KeepLatest = Annotated[int, arg("Keep the N newest selected", strict=True, ge=0)]
KeepLatestTagged = Annotated[int, arg("Keep the N newest tagged", strict=True, ge=0)]
KeepLatestUntagged = Annotated[int, arg("Keep the N newest untagged", strict=True, ge=0)]
KeepYoungerThanDays = Annotated[Days | None, arg("Keep selected ones younger than this: days or 2w 3d, 36h")]
AgeBasis = Annotated[Literal["created", "updated"], arg("Age from")]
Tagged = Annotated[Literal["any", "tagged", "untagged"], arg("Select these")]
PatternText = Annotated[str, arg(max_length=MAX_PATTERN_LENGTH)]
IncludeTags = Annotated[list[PatternText], arg("Select only if every tag matches", max_length=MAX_PATTERNS)]
ExcludeTags = Annotated[list[PatternText], arg("Keep if any tag matches", max_length=MAX_PATTERNS)]
IncludeVersions = Annotated[list[PatternText], arg("Select only if the name matches", max_length=MAX_PATTERNS)]
ExcludeVersions = Annotated[list[PatternText], arg("Keep if the name matches", max_length=MAX_PATTERNS)]
ExcludePackages = Annotated[list[PatternText], arg("Packages to skip (globs)", max_length=MAX_PATTERNS)]
PatternSyntax = Annotated[Literal["glob", "regex"], arg("Of the patterns")]
Prerelease = Annotated[Literal["any", "only", "never"], arg("Semver pre-releases")]
DeleteOrphans = Annotated[bool, arg("Delete signatures etc. whose image is gone")]
DeleteGhostImages = Annotated[bool, arg("Delete indexes whose images are all gone")]
DeletePartialImages = Annotated[bool, arg("Delete indexes missing some images")]

RULE_IDS: tuple[str, ...] = (
    "exclude_tags",
    "exclude_versions",
    "not_selected",
    "keep_latest",
    "keep_latest_tagged",
    "keep_latest_untagged",
    "keep_younger",
    "protected",
    "orphaned",
    "superseded",
    "broken",
    "unreadable",
    "github_refuses",
    "deleted_with",
    "delete",
)
# Options about container images and their parts (images.py), meaningless for other registries.
IMAGE_OPTIONS = (
    "keep_latest_tagged", "keep_latest_untagged", "delete_orphans", "delete_ghost_images", "delete_partial_images"
)  # fmt: skip
LAST_TAGGED = "kept: GitHub refuses to delete the last tagged version of a package (delete the package instead)"
LAST_VERSION = "kept: GitHub refuses to delete the last version of a package (delete the package instead)"


class Rules(BaseModel):
    """What to select for deletion and what to keep among the selected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exclude_packages: ExcludePackages = []
    keep_latest: KeepLatest = 0
    keep_latest_tagged: KeepLatestTagged = 0
    keep_latest_untagged: KeepLatestUntagged = 0
    keep_younger_than_days: KeepYoungerThanDays = None
    age_basis: AgeBasis = "created"
    tagged: Tagged = "any"
    include_tags: IncludeTags = []
    exclude_tags: ExcludeTags = []
    include_versions: IncludeVersions = []
    exclude_versions: ExcludeVersions = []
    pattern_syntax: PatternSyntax = "glob"
    prerelease: Prerelease = "any"
    delete_orphans: DeleteOrphans = False
    delete_ghost_images: DeleteGhostImages = False
    delete_partial_images: DeletePartialImages = False

    def patterns(self) -> Patterns:
        """The compiled patterns.

        Raises:
            RulesError: If a pattern is invalid or there are too many.
        """
        return Patterns(*(PatternList(f.name, getattr(self, f.name), self.pattern_syntax) for f in fields(Patterns)))


@dataclass(frozen=True)
class Patterns:
    """Each pattern rule, compiled."""

    exclude_tags: PatternList
    include_tags: PatternList
    exclude_versions: PatternList
    include_versions: PatternList


@dataclass(frozen=True)
class VersionFacts:
    """One package version, as far as retention cares."""

    id: int
    name: str  # containers: the manifest digest "sha256:<hex>"; others: the version string
    tags: tuple[str, ...] | None  # None when the registry has no tags (npm, maven, ...); () means untagged
    created_at: datetime  # aware
    updated_at: datetime  # aware


@dataclass(frozen=True)
class Decision:
    """Delete or keep one version, with the rule that decided in words (`rule`) and as an id (`rule_id`)."""

    version: VersionFacts
    action: Literal["delete", "keep"]
    rule: str
    rule_id: str
    follows: tuple[str, ...] = ()  # a part's parents: the digests whose fate it follows
    kind: str | None = None  # in a container package: "image", "index" or what part it is (parts.Part.kind)


_PRERELEASE = re.compile(r"[vV]?\d+(?:\.\d+){1,3}-[0-9A-Za-z.-]+(?:\+[0-9A-Za-z.-]+)?")


def is_prerelease(text: str) -> bool:
    """Whether a version name or tag is a (loose) semver pre-release; the exact rule is in the module docstring."""
    return _PRERELEASE.fullmatch(text) is not None


def short_digest(name: str) -> str:
    """`sha256:` and the first 12 hex digits of a digest, for people; other names unchanged."""
    algorithm, sep, hexdigits = name.partition(":")
    if not sep or len(hexdigits) <= 12:
        return name
    return f"{algorithm}:{hexdigits[:12]}…"


def _quoted(patterns: Sequence[str]) -> str:
    return ", ".join(repr(pattern) for pattern in patterns)


def _prerelease_text(version: VersionFacts) -> str | None:
    """The tag or name that makes the version a pre-release, or None."""
    texts = version.tags if version.tags is not None else (version.name,)
    return next((text for text in texts if is_prerelease(text)), None)


def check_tags_apply(rules: Rules, *, tagless: bool) -> None:
    """Refuse tag rules for a registry without tags (npm, maven, rubygems, nuget), where they could only keep or
    delete everything.

    Raises:
        RulesError: If a tag rule is set and the registry is `tagless`.
    """
    if not tagless:
        return
    registry = "these versions come from a registry without tags (npm, maven, rubygems, nuget)"
    if rules.tagged != "any":
        raise RulesError(f"tagged={rules.tagged!r} needs tags, but {registry}: use tagged='any'")
    for name in ("include_tags", "exclude_tags"):
        if getattr(rules, name):
            other = name.replace("_tags", "_versions")
            raise RulesError(f"{name} needs tags, but {registry}: leave {name} empty (use {other} for names)")
    for name in IMAGE_OPTIONS:
        if getattr(rules, name):
            raise RulesError(f"{name} is about container images, but {registry}: leave it unset")


def _days(days: float) -> str:
    return f"{days:g} day" if days == 1 else f"{days:g} days"


def decide(versions: Sequence[VersionFacts], rules: Rules, now: datetime) -> list[Decision]:
    """Decide delete or keep for every version, in input order.

    Raises:
        RulesError: If the rules cannot apply to these versions.
    """
    patterns = rules.patterns()
    check_tags_apply(rules, tagless=any(version.tags is None for version in versions))
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    for version in versions:
        if version.created_at.tzinfo is None or version.updated_at.tzinfo is None:
            raise ValueError(f"version {version.id}: created_at and updated_at must be timezone-aware")
    decisions: list[Decision | None] = [None] * len(versions)
    # For each selected version (by position), what made it selected, for the delete text.
    selected: dict[int, list[str]] = {}
    for position, version in enumerate(versions):
        kept_or_reasons = exclusion(version, patterns) or _select(version, rules, patterns)
        if isinstance(kept_or_reasons, Decision):
            decisions[position] = kept_or_reasons
        else:
            selected[position] = kept_or_reasons
    for position, decision in _keep_or_delete(versions, selected, rules, now).items():
        decisions[position] = decision
    return [decision for decision in decisions if decision is not None]


def exclusion(version: VersionFacts, patterns: Patterns) -> Decision | None:
    """Rule 1: the keep decision of a version an exclude pattern matches, or None."""
    if hit := patterns.exclude_tags.first_match(version.tags or ()):
        return Decision(version, "keep", f"kept: tag {hit[0]!r} matches exclude pattern {hit[1]!r}", "exclude_tags")
    if hit := patterns.exclude_versions.first_match((version.name,)):
        return Decision(version, "keep", f"kept: name matches exclude pattern {hit[1]!r}", "exclude_versions")
    return None


def _select(version: VersionFacts, rules: Rules, patterns: Patterns) -> Decision | list[str]:
    """Rule 2: a keep decision, or the reasons the version is selected."""
    tags = version.tags or ()
    reasons: list[str] = []
    why_not: str | None = None
    if rules.tagged != "any":
        wanted = rules.tagged == "tagged"
        if bool(tags) == wanted:
            reasons.append(rules.tagged)
        else:
            why_not = f"{'untagged' if wanted else 'tagged'}, and only {rules.tagged} versions are selected"
    if why_not is None and rules.include_tags:
        noun = "pattern" if len(rules.include_tags) == 1 else "patterns"
        if not tags:
            why_not = f"untagged, and only versions whose tags all match {_quoted(rules.include_tags)} are selected"
        elif (other := patterns.include_tags.first_unmatched(tags)) is not None:
            why_not = f"its tag {other!r} matches no include {noun} {_quoted(rules.include_tags)}"
        else:
            which = f"tag {tags[0]!r} matches" if len(tags) == 1 else f"tags {_quoted(tags)} all match"
            reasons.append(f"{which} include {noun} {_quoted(rules.include_tags)}")
    if why_not is None and rules.include_versions:
        if hit := patterns.include_versions.first_match((version.name,)):
            reasons.append(f"name matches include pattern {hit[1]!r}")
        else:
            why_not = f"name matches none of {_quoted(rules.include_versions)}"
    if why_not is None and rules.prerelease != "any":
        prerelease = _prerelease_text(version)
        if rules.prerelease == "only" and prerelease is None:
            why_not = "not a pre-release, and only pre-releases are selected"
        elif rules.prerelease == "never" and prerelease is not None:
            why_not = f"pre-release {prerelease!r}, and pre-releases are never selected"
        else:
            reasons.append(f"pre-release {prerelease!r}" if prerelease else "not a pre-release")
    if why_not is not None:
        return Decision(version, "keep", f"kept: not selected ({why_not})", "not_selected")
    return reasons


def _keep_or_delete(
    versions: Sequence[VersionFacts], selected: dict[int, list[str]], rules: Rules, now: datetime
) -> dict[int, Decision]:
    """Rules 3 to 5 for the selected versions (by position)."""
    newest_first = sorted(selected, key=lambda p: (versions[p].created_at, versions[p].id), reverse=True)
    # Each keep-the-newest rule: its id, the positions it keeps, and which versions it counts, in words.
    latest = [
        (rule, set(counted[:count]), _newest(count, what), what)
        for rule, count, what, counted in (
            ("keep_latest", rules.keep_latest, "selected", newest_first),
            ("keep_latest_tagged", rules.keep_latest_tagged, "tagged", [p for p in newest_first if versions[p].tags]),
            (
                "keep_latest_untagged",
                rules.keep_latest_untagged,
                "untagged",
                [p for p in newest_first if not versions[p].tags],
            ),
        )
        if count
    ]
    days = rules.keep_younger_than_days
    cutoff = _cutoff(now, days)
    decisions: dict[int, Decision] = {}
    for position, reasons in selected.items():
        version = versions[position]
        if kept := next(((rule, words) for rule, kept, words, _ in latest if position in kept), None):
            decisions[position] = Decision(version, "keep", f"kept: among {kept[1]}", kept[0])
            continue
        basis = version.created_at if rules.age_basis == "created" else version.updated_at
        when = f"{rules.age_basis} {basis.astimezone(UTC).date().isoformat()}"
        if cutoff is not None and days is not None:
            if basis > cutoff:
                text = f"kept: younger than {_days(days)} ({when})"
                decisions[position] = Decision(version, "keep", text, "keep_younger")
                continue
            reasons = [*reasons, f"older than {_days(days)} ({when})"]
        kind = "tagged" if version.tags else "untagged"
        reasons = [*reasons, *(f"beyond {words}" for _, _, words, what in latest if what in ("selected", kind))]
        text = "delete: " + (", ".join(reasons) if reasons else "every version is selected and no keep rule is set")
        decisions[position] = Decision(version, "delete", text, "delete")
    return decisions


def _newest(count: int, what: str) -> str:
    return f"the newest {what}" if count == 1 else f"the {count} newest {what}"


def last_to_keep(decisions: Sequence[Decision], *, tagged_only: bool) -> Decision | None:
    """The keep decision GitHub's refusal forces when `decisions` delete every version (with `tagged_only`, every
    tagged version, as for containers): the newest such version is kept. None when GitHub refuses nothing."""
    counted = [d for d in decisions if d.version.tags or not tagged_only]
    if not counted or any(d.action == "keep" for d in counted):
        return None
    newest = max(counted, key=lambda d: (d.version.created_at, d.version.id)).version
    return Decision(newest, "keep", LAST_TAGGED if tagged_only else LAST_VERSION, "github_refuses")


def _cutoff(now: datetime, days: float | None) -> datetime | None:
    """`days` before `now`; before the calendar begins (keep_younger_than_days=1e9), its first moment."""
    if days is None:
        return None
    try:
        return now - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def summarize(decisions: Sequence[Decision]) -> dict[str, int]:
    """Counts of "delete" and "keep", then of every rule id (all present, zero when unused)."""
    counts = {"delete": 0, "keep": 0} | dict.fromkeys(RULE_IDS, 0)
    for decision in decisions:
        counts[decision.action] += 1
        if decision.rule_id != "delete":  # "delete" is both an action and a rule id; count it once
            counts[decision.rule_id] = counts.get(decision.rule_id, 0) + 1
    return counts
