"""Retention rules for package versions: for every version, delete or keep, and why. Pure logic, no I/O.

`decide` takes all versions of one package and a `Rules` and returns one `Decision` per version, in input order.
The rules apply in this order; the first that applies decides:

1. exclusions: a version with any tag matching exclude_tags ("exclude_tags"), or whose name matches
   exclude_versions ("exclude_versions"), is kept.
2. selection: a version is selected only when it passes all four filters, else it is kept ("not_selected"):
   a. tagged: "tagged" selects versions with at least one tag, "untagged" those with none, "any" all;
   b. include_tags: when given, a version needs at least one tag matching one of the patterns;
   c. include_versions: when given, a version's name must match one of the patterns;
   d. prerelease: "only" selects pre-releases, "never" selects the others, "any" all.
3. keep_latest: the N newest selected versions are kept ("keep_latest"). Newest means the latest created_at, and on
   equal created_at the higher id (GitHub hands out ids in increasing order). Versions kept by rule 1 or 2 are not
   selected, so they do not count toward N.
4. keep_younger_than_days: selected versions younger than the cut-off are kept ("keep_younger"). Age is measured
   from created_at or updated_at (age_basis); a version exactly at the cut-off counts as old.
5. Every other version is deleted ("delete"); the rule text lists the criteria that made it deletable.

Tag patterns match tags only, never a version's name, so `sha256*` never matches a digest; version patterns
match the name (`1.*`, `*-SNAPSHOT`), for every registry. Patterns match the whole text, case-sensitively, with
RE2 (`google-re2`), whose matching time is linear in the text: no pattern can stall the server. A glob means what
`fnmatch.fnmatchcase` means (`*`, `?`, `[...]`, `[!...]`, everything else literal) and is translated once into
RE2 (`glob_to_re2`). A regex is RE2 syntax: Python's without backreferences, lookarounds or atomic groups (refused
with a `RulesError` that says so), and with ASCII-only classes (`\\d`, `\\w`, `\\s`). Each list holds at most
`MAX_PATTERNS` patterns of at most `MAX_PATTERN_LENGTH` characters.

GitHub refuses some deletes (docs/github-behaviour.md#last-tagged-version): the last tagged version of a container
package (untagged ones do not count) and the last version of any other package. `last_to_keep` names the version
a set of decisions must keep instead ("github_refuses").

Registries without tags (npm, maven, rubygems, nuget) give versions with `tags=None`. Tag rules cannot apply to
them, so `decide` raises `RulesError` when such a version meets `tagged` other than "any" or non-empty
include_tags/exclude_tags, rather than silently keeping or deleting everything.

Pre-releases (`is_prerelease`): a text is a pre-release when it is, in full, an optional `v`/`V`, two to four
dot-separated numbers, a `-` and a non-empty suffix of letters, digits, dots and hyphens, then an optional
`+build` part. So `1.2.3-rc.1`, `v2.0.0-beta`, `1.0.0-alpha.1+build.5`, `2.1-SNAPSHOT` and `1.0.0-preview1` are
pre-releases; `1.2.3`, `1.2.3+build`, `latest`, `2024-01-01` and digests are not. As in semver, a variant tag such
as `1.25-alpine` counts as a pre-release too (use patterns for those); RubyGems' dotted `1.0.0.pre` does not.
A version with tags (containers) is a pre-release when any of its tags is one; a tagless version when its name is.

For containers, `images.py` decides only the images with these rules; their parts follow them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import re2  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict

from github_packages_mcp.github.catalogue import arg
from github_packages_mcp.github.errors import InvalidArguments

__all__ = [
    "MAX_PATTERNS",
    "MAX_PATTERN_LENGTH",
    "RULE_IDS",
    "AgeBasis",
    "Decision",
    "ExcludeTags",
    "ExcludeVersions",
    "IncludeTags",
    "IncludeVersions",
    "KeepLatest",
    "KeepYoungerThanDays",
    "PatternSyntax",
    "Prerelease",
    "Rules",
    "RulesError",
    "Tagged",
    "VersionFacts",
    "check_pattern_limits",
    "check_tags_apply",
    "compile_pattern",
    "decide",
    "exclusion",
    "glob_to_re2",
    "is_prerelease",
    "last_to_keep",
    "parse_time",
    "short_digest",
    "summarize",
]

# Each rule is declared once, here: `Rules` validates with these types, and the cleanup tool publishes them.
KeepLatest = Annotated[int, arg("Keep the N newest selected", strict=True, ge=0)]
KeepYoungerThanDays = Annotated[float | None, arg("Keep selected ones younger than this", ge=0, allow_inf_nan=False)]
AgeBasis = Annotated[Literal["created", "updated"], arg("Age from")]
Tagged = Annotated[Literal["any", "tagged", "untagged"], arg("Select these")]
IncludeTags = Annotated[list[str], arg("Select only if a tag matches")]
ExcludeTags = Annotated[list[str], arg("Keep if a tag matches")]
IncludeVersions = Annotated[list[str], arg("Select only if the name matches")]
ExcludeVersions = Annotated[list[str], arg("Keep if the name matches")]
PatternSyntax = Annotated[Literal["glob", "regex"], arg("Of the patterns")]
Prerelease = Annotated[Literal["any", "only", "never"], arg("Semver pre-releases")]

RULE_IDS: tuple[str, ...] = (
    "exclude_tags",
    "exclude_versions",
    "not_selected",
    "keep_latest",
    "keep_younger",
    "protected",
    "github_refuses",
    "deleted_with",
    "delete",
)
LAST_TAGGED = "kept: GitHub refuses to delete the last tagged version of a package (delete the package instead)"
LAST_VERSION = "kept: GitHub refuses to delete the last version of a package (delete the package instead)"

Matcher = Callable[[Sequence[str]], tuple[str, str] | None]


class RulesError(InvalidArguments):
    """Rules that cannot apply (an invalid regex, tag rules for tagless versions); the message names the argument."""


class Rules(BaseModel):
    """What to select for deletion and what to keep among the selected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    keep_latest: KeepLatest = 0
    keep_younger_than_days: KeepYoungerThanDays = None
    age_basis: AgeBasis = "created"
    tagged: Tagged = "any"
    include_tags: IncludeTags = []
    exclude_tags: ExcludeTags = []
    include_versions: IncludeVersions = []
    exclude_versions: ExcludeVersions = []
    pattern_syntax: PatternSyntax = "glob"
    prerelease: Prerelease = "any"

    def patterns(self) -> Patterns:
        """The compiled patterns.

        Raises:
            RulesError: If a regex pattern does not compile.
        """
        return Patterns(
            *(_matcher(name, getattr(self, name), self.pattern_syntax) for name in Patterns.__dataclass_fields__)
        )


@dataclass(frozen=True)
class Patterns:
    """Each pattern rule as a function giving the first (text, pattern) that matches, or None."""

    exclude_tags: Matcher
    include_tags: Matcher
    exclude_versions: Matcher
    include_versions: Matcher


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


def _quoted(patterns: Sequence[str]) -> str:
    return ", ".join(repr(pattern) for pattern in patterns)


MAX_PATTERNS = 50  # per list (include_tags, exclude_versions, ...)
MAX_PATTERN_LENGTH = 256  # characters, per pattern; the package name glob too

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error goes into the RulesError, not onto stderr
_RE2_OPTIONS.never_capture = True  # only whether it matches counts: the fastest of RE2's engines


def check_pattern_limits(name: str, patterns: Sequence[str]) -> None:
    """Refuse more than `MAX_PATTERNS` patterns, or one longer than `MAX_PATTERN_LENGTH` characters.

    Raises:
        RulesError: Naming the argument and the limit.
    """
    if len(patterns) > MAX_PATTERNS:
        raise RulesError(f"{name}: at most {MAX_PATTERNS} patterns are accepted, {len(patterns)} were given")
    for pattern in patterns:
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise RulesError(
                f"{name}: a pattern may be at most {MAX_PATTERN_LENGTH} characters long; "
                f"{pattern[:40]!r}... has {len(pattern)}"
            )


def compile_pattern(name: str, pattern: str, syntax: str) -> Callable[[str], bool]:
    """One pattern (glob or regex, within the limits) as a function telling whether a whole text matches it.

    Raises:
        RulesError: If the pattern is too long, or RE2 cannot compile it (saying so when RE2 lacks the feature).
    """
    check_pattern_limits(name, (pattern,))
    try:
        regex = re2.compile(glob_to_re2(pattern) if syntax == "glob" else pattern, _RE2_OPTIONS)
    except (re2.error, UnicodeError) as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        if reason.startswith(("invalid perl operator", "invalid escape sequence")):
            reason += (
                " (patterns run on RE2, which matches in linear time: it has no backreferences, lookarounds, "
                "atomic groups or \\Z)"
            )
        raise RulesError(f"{name}: invalid {syntax} {pattern!r}: {reason}") from None
    fullmatch = regex.fullmatch
    return lambda text: fullmatch(text.encode("utf-8", "surrogatepass")) is not None


def glob_to_re2(glob: str) -> str:
    """The RE2 pattern matching exactly the texts `fnmatch.fnmatchcase` matches with `glob`, in linear time.

    `*` is any text, `?` any one character, `[...]` a class (`[!...]` negated; a `]` first is a member, `a-z` a
    range, a reversed range matches nothing, an unclosed `[` is literal); every other character is literal.
    """
    parts = ["(?s)"]  # fnmatch's `*` and `?` match newlines too
    last_close = glob.rfind("]")
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        if char == "*":
            if parts[-1] != ".*":
                parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif char == "[":
            j = i + (glob[i : i + 1] == "!")
            j += glob[j : j + 1] == "]"
            end = glob.find("]", j) if j <= last_close else -1  # never a rescan to the end for each `[`
            if end < 0:
                parts.append(_literal("["))
                continue
            parts.append(_glob_class(glob, i, end))
            i = end + 1
        else:
            parts.append(_literal(char))
    return "".join(parts)


def _glob_class(glob: str, start: int, end: int) -> str:
    """The RE2 class for `glob[start:end]`, the inside of a `[...]`, with fnmatch's reading of `-` and `!`."""
    negated = glob[start] == "!"
    first = start + 1 if negated else start
    # fnmatch's chunks: a `-` after the first character and not right after a range's end joins a range.
    chunks: list[str] = []
    i, k = first, first + 1
    while (k := glob.find("-", k, end)) >= 0:
        chunks.append(glob[i:k])
        i, k = k + 1, k + 3
    if chunk := glob[i:end]:
        chunks.append(chunk)
    elif chunks:
        chunks[-1] += "-"
    for k in range(len(chunks) - 1, 0, -1):  # a reversed range matches nothing, and takes its ends with it
        if chunks[k - 1][-1] > chunks[k][0]:
            chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
            del chunks[k]
    # Between two chunks, a range from the last character of one to the first of the next; the rest are members.
    members: list[str] = []
    last = len(chunks) - 1
    for k, chunk in enumerate(chunks):
        members.extend(_literal(char) for char in chunk[1 if k else 0 : -1 if k < last else None])
        if k < last:
            members.append(f"{_literal(chunk[-1])}-{_literal(chunks[k + 1][0])}")
    if not members:
        return "." if negated else r"[^\x00-\x{10FFFF}]"  # fnmatch: `[!]`-like matches anything, `[]`-like nothing
    return f"[{'^' if negated else ''}{''.join(members)}]"


def _literal(char: str) -> str:
    """One character as RE2 reads it literally, inside or outside a class."""
    return char if char.isascii() and (char.isalnum() or char == "_") else f"\\x{{{ord(char):x}}}"


def _matcher(name: str, patterns: Sequence[str], syntax: str) -> Matcher:
    """A function giving the first (tag, pattern) that matches, in tag order then pattern order.

    Raises:
        RulesError: If there are too many patterns, or one is too long or does not compile.
    """
    check_pattern_limits(name, patterns)
    compiled = [(pattern, compile_pattern(name, pattern, syntax)) for pattern in patterns]

    def first_match(tags: Sequence[str]) -> tuple[str, str] | None:
        for tag in tags:
            for pattern, matches in compiled:
                if matches(tag):
                    return tag, pattern
        return None

    return first_match


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
    if hit := patterns.exclude_tags(version.tags or ()):
        return Decision(version, "keep", f"kept: tag {hit[0]!r} matches exclude pattern {hit[1]!r}", "exclude_tags")
    if hit := patterns.exclude_versions((version.name,)):
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
        hit = patterns.include_tags(tags)
        noun = "pattern" if len(rules.include_tags) == 1 else "patterns"
        if hit:
            reasons.append(f"tag {hit[0]!r} matches include pattern {hit[1]!r}")
        elif tags:
            why_not = f"no tag matches include {noun} {_quoted(rules.include_tags)}"
        else:
            why_not = f"untagged, and only versions with a tag matching {_quoted(rules.include_tags)} are selected"
    if why_not is None and rules.include_versions:
        if hit := patterns.include_versions((version.name,)):
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
    latest = set(newest_first[: rules.keep_latest])
    newest = "the newest" if rules.keep_latest == 1 else f"the {rules.keep_latest} newest"
    days = rules.keep_younger_than_days
    cutoff = _cutoff(now, days)
    decisions: dict[int, Decision] = {}
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
    return decisions


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
