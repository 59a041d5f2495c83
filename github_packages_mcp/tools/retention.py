"""Retention rules for package versions: for every version, delete or keep, and why. Pure logic, no I/O.

`decide` takes all versions of one package and a `Rules` and returns one `Decision` per version, in input order.
The rules apply in this order; the first that applies decides:

1. exclude_tags: a version with any tag matching an exclude pattern is kept ("exclude_tags").
2. selection: a version is selected only when it passes all three filters, else it is kept ("not_selected"):
   a. tagged: "tagged" selects versions with at least one tag, "untagged" those with none, "any" all;
   b. include_tags: when given, a version needs at least one tag matching one of the patterns;
   c. prerelease: "only" selects pre-releases, "never" selects the others, "any" all.
3. keep_latest: the N newest selected versions are kept ("keep_latest"). Newest means the latest created_at, and on
   equal created_at the higher id (GitHub hands out ids in increasing order). Versions kept by rule 1 or 2 are not
   selected, so they do not count toward N.
4. keep_younger_than_days: selected versions younger than the cut-off are kept ("keep_younger"). Age is measured
   from created_at or updated_at (age_basis); a version exactly at the cut-off counts as old.
5. Every other version is deleted ("delete"); the rule text lists the criteria that made it deletable.

Patterns match tags only, never a version's name, so `sha256*` never matches a digest. Glob patterns use
`fnmatch.fnmatchcase` on the whole tag (case-sensitive); regex patterns use `re.fullmatch`.

Registries without tags (npm, maven, rubygems, nuget) give versions with `tags=None`. Tag rules cannot apply to
them, so `decide` raises `RulesError` when such a version meets `tagged` other than "any" or non-empty
include_tags/exclude_tags, rather than silently keeping or deleting everything.

Pre-releases (`is_prerelease`): a text is a pre-release when it is, in full, an optional `v`/`V`, two to four
dot-separated numbers, a `-` and a non-empty suffix of letters, digits, dots and hyphens, then an optional
`+build` part. So `1.2.3-rc.1`, `v2.0.0-beta`, `1.0.0-alpha.1+build.5`, `2.1-SNAPSHOT` and `1.0.0-preview1` are
pre-releases; `1.2.3`, `1.2.3+build`, `latest`, `2024-01-01` and digests are not. As in semver, a variant tag such
as `1.25-alpine` counts as a pre-release too (use patterns for those); RubyGems' dotted `1.0.0.pre` does not.
A version with tags (containers) is a pre-release when any of its tags is one; a tagless version when its name is.

`protect` then keeps what kept container images need, given the registry's links of the kept images:
the children of a kept image index (platform images, attestation manifests), the referrers of a kept image
(signatures, SBOMs, attestations), and versions tagged by the cosign convention `sha256-<hex>`, `sha256-<hex>.sig`,
`.att` or `.sbom` for a kept `sha256:<hex>`. It repeats until nothing changes, and reports the digests it newly
kept whose links the caller has not fetched yet, so the caller can fetch them and call it again.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

__all__ = [
    "RULE_IDS",
    "Decision",
    "ImageLinks",
    "Rules",
    "RulesError",
    "VersionFacts",
    "decide",
    "is_prerelease",
    "parse_time",
    "protect",
    "short_digest",
    "summarize",
]

AgeBasis = Literal["created", "updated"]
Tagged = Literal["any", "tagged", "untagged"]
PatternSyntax = Literal["glob", "regex"]
Prerelease = Literal["any", "only", "never"]

RULE_IDS: tuple[str, ...] = ("exclude_tags", "not_selected", "keep_latest", "keep_younger", "protected", "delete")


class RulesError(ValueError):
    """An invalid rule; the message names the argument and the problem."""


@dataclass(frozen=True)
class Rules:
    """What to select for deletion and what to keep among the selected."""

    keep_latest: int = 0
    keep_younger_than_days: float | None = None
    age_basis: AgeBasis = "created"
    tagged: Tagged = "any"
    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    pattern_syntax: PatternSyntax = "glob"
    prerelease: Prerelease = "any"

    def validate(self) -> None:
        """Raise `RulesError` for an invalid rule; checks that need no versions (`decide` checks the rest)."""
        # The values often come straight from an assistant's JSON, so the Literal types are checked at run time too.
        for name, allowed in (
            ("age_basis", AgeBasis),
            ("tagged", Tagged),
            ("pattern_syntax", PatternSyntax),
            ("prerelease", Prerelease),
        ):
            value = getattr(self, name)
            if value not in get_args(allowed):
                choices = ", ".join(repr(choice) for choice in get_args(allowed))
                raise RulesError(f"{name} must be one of {choices}, not {value!r}")
        if isinstance(self.keep_latest, bool) or not isinstance(self.keep_latest, int):
            raise RulesError(f"keep_latest must be a whole number, not {self.keep_latest!r}")
        if self.keep_latest < 0:
            raise RulesError(f"keep_latest must be 0 or more, not {self.keep_latest}")
        days = self.keep_younger_than_days
        if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)):
            raise RulesError(f"keep_younger_than_days must be a number of days, not {days!r}")
        if days is not None and (not math.isfinite(days) or days < 0):
            raise RulesError(f"keep_younger_than_days must be 0 or more, not {days}")
        for name in ("include_tags", "exclude_tags"):
            patterns = getattr(self, name)
            # A bare string would be read as one pattern per character.
            if isinstance(patterns, str) or not all(isinstance(pattern, str) for pattern in patterns):
                raise RulesError(f"{name} must be a list of patterns, not {patterns!r}")
            if self.pattern_syntax == "regex":
                for pattern in patterns:
                    try:
                        re.compile(pattern)
                    except re.error as exc:
                        raise RulesError(f"{name}: invalid regex {pattern!r}: {exc}") from None


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


@dataclass(frozen=True)
class ImageLinks:
    """What the registry says about one kept image."""

    digest: str
    children: tuple[str, ...] = ()  # digests listed by an image index (platform images, attestation manifests)
    referrers: tuple[str, ...] = ()  # digests of artifacts whose subject is this image (signatures, SBOMs, ...)
    attestations: tuple[str, ...] = ()  # the children known to be attestation manifests (from index annotations)


# ---- helpers for the caller ----


def parse_time(text: str) -> datetime:
    """Parse GitHub's ISO 8601 time ("2026-11-25T12:00:00Z") into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"time without a UTC offset: {text!r}")
    return parsed.astimezone(UTC)


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


# ---- decide ----


def _quoted(patterns: Sequence[str]) -> str:
    return ", ".join(repr(pattern) for pattern in patterns)


def _matcher(patterns: Sequence[str], syntax: PatternSyntax) -> Callable[[Sequence[str]], tuple[str, str] | None]:
    """A function giving the first (tag, pattern) that matches, in tag order then pattern order."""
    compiled = [re.compile(pattern) for pattern in patterns] if syntax == "regex" else []

    def first_match(tags: Sequence[str]) -> tuple[str, str] | None:
        for tag in tags:
            if syntax == "regex":
                for regex in compiled:
                    if regex.fullmatch(tag):
                        return tag, regex.pattern
            else:
                for pattern in patterns:
                    if fnmatch.fnmatchcase(tag, pattern):
                        return tag, pattern
        return None

    return first_match


def _prerelease_text(version: VersionFacts) -> str | None:
    """The tag or name that makes the version a pre-release, or None."""
    texts = version.tags if version.tags is not None else (version.name,)
    return next((text for text in texts if is_prerelease(text)), None)


def _check_tagless(versions: Sequence[VersionFacts], rules: Rules) -> None:
    if not any(version.tags is None for version in versions):
        return
    registry = "these versions come from a registry without tags (npm, maven, rubygems, nuget)"
    if rules.tagged != "any":
        raise RulesError(f"tagged={rules.tagged!r} needs tags, but {registry}: use tagged='any'")
    for name in ("include_tags", "exclude_tags"):
        if getattr(rules, name):
            raise RulesError(f"{name} needs tags, but {registry}: leave {name} empty")


def _days(days: float) -> str:
    return f"{days:g} day" if days == 1 else f"{days:g} days"


def decide(versions: Sequence[VersionFacts], rules: Rules, now: datetime) -> list[Decision]:
    """Decide delete or keep for every version, in input order; raises `RulesError` for invalid rules."""
    rules.validate()
    _check_tagless(versions, rules)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    for version in versions:
        if version.created_at.tzinfo is None or version.updated_at.tzinfo is None:
            raise ValueError(f"version {version.id}: created_at and updated_at must be timezone-aware")

    excluded = _matcher(rules.exclude_tags, rules.pattern_syntax)
    included = _matcher(rules.include_tags, rules.pattern_syntax)
    decisions: list[Decision | None] = [None] * len(versions)
    # For each selected version (by position), what made it selected, for the delete text.
    selected: dict[int, list[str]] = {}

    for position, version in enumerate(versions):
        tags = version.tags or ()
        hit = excluded(tags)
        if hit:
            text = f"kept: tag {hit[0]!r} matches exclude pattern {hit[1]!r}"
            decisions[position] = Decision(version, "keep", text, "exclude_tags")
            continue
        reasons: list[str] = []
        why_not: str | None = None
        if rules.tagged == "tagged":
            if tags:
                reasons.append("tagged")
            else:
                why_not = "untagged, and only tagged versions are selected"
        elif rules.tagged == "untagged":
            if tags:
                why_not = "tagged, and only untagged versions are selected"
            else:
                reasons.append("untagged")
        if why_not is None and rules.include_tags:
            hit = included(tags)
            noun = "pattern" if len(rules.include_tags) == 1 else "patterns"
            if hit:
                reasons.append(f"tag {hit[0]!r} matches include pattern {hit[1]!r}")
            elif tags:
                why_not = f"no tag matches include {noun} {_quoted(rules.include_tags)}"
            else:
                why_not = f"untagged, and only versions with a tag matching {_quoted(rules.include_tags)} are selected"
        if why_not is None and rules.prerelease != "any":
            prerelease = _prerelease_text(version)
            if rules.prerelease == "only" and prerelease is None:
                why_not = "not a pre-release, and only pre-releases are selected"
            elif rules.prerelease == "never" and prerelease is not None:
                why_not = f"pre-release {prerelease!r}, and pre-releases are never selected"
            else:
                reasons.append(f"pre-release {prerelease!r}" if prerelease else "not a pre-release")
        if why_not is not None:
            decisions[position] = Decision(version, "keep", f"kept: not selected ({why_not})", "not_selected")
        else:
            selected[position] = reasons

    newest_first = sorted(selected, key=lambda p: (versions[p].created_at, versions[p].id), reverse=True)
    latest = set(newest_first[: rules.keep_latest])
    newest = "the newest" if rules.keep_latest == 1 else f"the {rules.keep_latest} newest"
    days = rules.keep_younger_than_days
    cutoff = now - timedelta(days=days) if days is not None else None

    for position, reasons in selected.items():
        version = versions[position]
        if position in latest:
            decisions[position] = Decision(version, "keep", f"kept: among {newest} selected", "keep_latest")
            continue
        basis = version.created_at if rules.age_basis == "created" else version.updated_at
        when = f"{rules.age_basis} {basis.astimezone(UTC).date().isoformat()}"
        if cutoff is not None and days is not None:
            if basis > cutoff:
                text = f"kept: younger than {_days(days)} ({when})"
                decisions[position] = Decision(version, "keep", text, "keep_younger")
                continue
            reasons = [*reasons, f"older than {_days(days)} ({when})"]
        if rules.keep_latest:
            reasons = [*reasons, f"beyond {newest}"]
        text = "delete: " + (", ".join(reasons) if reasons else "every version is selected and no keep rule is set")
        decisions[position] = Decision(version, "delete", text, "delete")

    return [decision for decision in decisions if decision is not None]


# ---- protect ----

# Cosign and the OCI referrers tag schema tag artifacts about `sha256:<hex>` as `sha256-<hex>[.sig|.att|.sbom]`.
_COSIGN_TAG = re.compile(r"(sha256|sha512)-([0-9a-f]+)(?:\.(sig|att|sbom))?")
_COSIGN_KIND = {"sig": "signature", "att": "attestation", "sbom": "SBOM", None: "referrer"}


def _described(decision: Decision) -> str:
    """A kept version for people: short digest and its tags."""
    tags = decision.version.tags
    if tags is None:
        return short_digest(decision.version.name)
    return f"{short_digest(decision.version.name)} ({', '.join(tags) if tags else 'untagged'})"


def _needed(decisions: Sequence[Decision], links: Mapping[str, ImageLinks]) -> dict[str, str]:
    """The digests that kept images with known links need, each with the rule text; first kept parent wins."""
    needed: dict[str, str] = {}
    for decision in decisions:
        image = links.get(decision.version.name)
        if decision.action != "keep" or image is None:
            continue
        parent = _described(decision)
        for child in image.children:
            kind = "attestation" if child in image.attestations else "platform image"
            needed.setdefault(child, f"kept: {kind} of kept index {parent}")
        for attestation in image.attestations:
            needed.setdefault(attestation, f"kept: attestation of kept index {parent}")
        for referrer in image.referrers:
            needed.setdefault(referrer, f"kept: referrer of kept image {parent}")
    return needed


def _cosign_reason(version: VersionFacts, kept: Mapping[str, Decision]) -> str | None:
    for tag in version.tags or ():
        match = _COSIGN_TAG.fullmatch(tag)
        subject = kept.get(f"{match[1]}:{match[2]}") if match else None
        if match and subject:
            kind = _COSIGN_KIND[match[3]]
            return f"kept: {kind} of kept image {_described(subject)}, by its tag {tag!r}"
    return None


def protect(decisions: Sequence[Decision], links: Mapping[str, ImageLinks]) -> tuple[list[Decision], set[str]]:
    """Keep every version a kept image needs; return the new decisions (same order) and the newly kept digests
    that have no entry in `links` yet (fetch their links and call again until that set is empty).

    Only deletes turn into keeps ("protected"); a keep is never changed. Idempotent.
    """
    result = list(decisions)
    newly_kept: set[str] = set()
    # Repeat while something changes: a version kept in one round may have links that protect others.
    changed = True
    while changed:
        changed = False
        needed = _needed(result, links)
        kept: dict[str, Decision] = {}
        for decision in result:
            if decision.action == "keep":
                kept.setdefault(decision.version.name, decision)
        for position, decision in enumerate(result):
            if decision.action != "delete":
                continue
            text = needed.get(decision.version.name) or _cosign_reason(decision.version, kept)
            if text is not None:
                result[position] = Decision(decision.version, "keep", text, "protected")
                newly_kept.add(decision.version.name)
                changed = True
    return result, {digest for digest in newly_kept if digest not in links}


def summarize(decisions: Sequence[Decision]) -> dict[str, int]:
    """Counts of "delete" and "keep", then of every rule id (all present, zero when unused)."""
    counts = {"delete": 0, "keep": 0} | dict.fromkeys(RULE_IDS, 0)
    for decision in decisions:
        counts[decision.action] += 1
        if decision.rule_id != "delete":  # "delete" is both an action and a rule id; count it once
            counts[decision.rule_id] = counts.get(decision.rule_id, 0) + 1
    return counts
