"""Retention rules: decide (selection, keep rules, precedence, validation) and summarize."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from github_packages_mcp.github.models import parse_time
from github_packages_mcp.retention.images import decide_images
from github_packages_mcp.retention.parts import Part
from github_packages_mcp.retention.rules import (
    LAST_VERSION,
    Rules,
    RulesError,
    decide,
    is_prerelease,
    last_to_keep,
    summarize,
)
from tests.retention.helpers import NOW, actions, digest, image, npm

# ---- helpers ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3-rc.1", True),
        ("v2.0.0-beta", True),
        ("1.0.0-alpha.1+build.5", True),
        ("2.1-SNAPSHOT", True),
        ("1.0.0-preview1", True),
        ("1.25-alpine", True),  # semver cannot tell a variant from a pre-release
        ("1.2.3", False),
        ("1.2.3+build", False),
        ("latest", False),
        ("2024-01-01", False),
        ("1.0.0.pre", False),
        (digest(1), False),
        ("sha256-" + "a" * 64 + ".sig", False),
    ],
)
def test_is_prerelease(text: str, expected: bool) -> None:
    assert is_prerelease(text) is expected


def test_parse_time_gives_aware_utc_and_refuses_naive_times() -> None:
    assert parse_time("2026-11-25T12:00:00Z") == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert parse_time("2026-11-25T14:00:00+02:00").tzinfo is UTC
    with pytest.raises(ValueError, match="UTC offset"):
        parse_time("2026-11-25T12:00:00")


# ---- decide: single rules ----


def test_keep_newest_untagged_only_and_ties_in_created_at_broken_by_id() -> None:
    versions = [image(1, age=5), image(2, "v1", age=1), image(3, age=3), image(4, age=3), image(5, age=9)]
    decisions = decide(versions, Rules(tagged="untagged", keep_latest=2), NOW)
    assert [d.version.id for d in decisions] == [1, 2, 3, 4, 5]  # input order
    # 3 and 4 share created_at: the higher id is newer; the tagged 2 is not selected and does not count.
    assert actions(decisions) == {1: "delete", 2: "not_selected", 3: "keep_latest", 4: "keep_latest", 5: "delete"}
    assert decisions[2].rule == "kept: among the 2 newest selected"
    assert decisions[0].rule == "delete: untagged, beyond the 2 newest selected"


@pytest.mark.parametrize(
    ("basis", "expected", "text"),
    [
        ("created", "delete", "delete: older than 30 days (created 2026-09-02)"),
        ("updated", "keep_younger", "kept: younger than 30 days (updated 2026-11-26)"),
    ],
)
def test_younger_than_on_created_or_updated(basis: str, expected: str, text: str) -> None:
    version = image(1, "v1", age=90, updated=5)
    [decision] = decide([version], Rules(keep_younger_than_days=30, age_basis=basis), NOW)  # type: ignore[arg-type]
    assert (decision.rule_id, decision.rule) == (expected, text)


def test_exactly_at_the_cutoff_is_old_and_one_day_is_singular() -> None:
    decisions = decide([image(1, age=1), image(2, age=0.5)], Rules(keep_younger_than_days=1), NOW)
    assert actions(decisions) == {1: "delete", 2: "keep_younger"}
    assert decisions[1].rule == "kept: younger than 1 day (created 2026-12-01)"


@pytest.mark.parametrize(
    ("syntax", "include", "exclude"),
    [
        ("glob", ("v*",), ("*-keep",)),
        ("regex", (r"v\d+(\.\d+)*",), (r".*-keep",)),
    ],
)
def test_include_and_exclude_patterns_glob_and_regex(
    syntax: str, include: tuple[str, ...], exclude: tuple[str, ...]
) -> None:
    versions = [image(1, "v1.0"), image(2, "v2.0", "v2.0-keep"), image(3, "nightly"), image(4), image(5, "xv1")]
    rules = Rules(include_tags=include, exclude_tags=exclude, pattern_syntax=syntax)  # type: ignore[arg-type]
    decisions = decide(versions, rules, NOW)
    # The pattern matches the whole tag: "xv1" is not matched by v*.
    assert actions(decisions) == {
        1: "delete",
        2: "exclude_tags",
        3: "not_selected",
        4: "not_selected",
        5: "not_selected",
    }
    assert decisions[1].rule == f"kept: tag 'v2.0-keep' matches exclude pattern {exclude[0]!r}"
    assert decisions[0].rule == f"delete: tag 'v1.0' matches include pattern {include[0]!r}"
    assert decisions[2].rule == f"kept: not selected (its tag 'nightly' matches no include pattern {include[0]!r})"
    assert (
        decisions[3].rule
        == f"kept: not selected (untagged, and only versions whose tags all match {include[0]!r} are selected)"
    )


@pytest.mark.parametrize("syntax", ["glob", "regex"])
def test_patterns_never_match_digests(syntax: str) -> None:
    pattern = "sha256*" if syntax == "glob" else "sha256.*"
    untagged = [image(1)]
    excluding = Rules(exclude_tags=(pattern,), pattern_syntax=syntax)  # type: ignore[arg-type]
    including = Rules(include_tags=(pattern,), pattern_syntax=syntax)  # type: ignore[arg-type]
    assert decide(untagged, excluding, NOW)[0].rule_id == "delete"
    assert decide(untagged, including, NOW)[0].rule_id == "not_selected"


@pytest.mark.parametrize(
    ("tagged", "expected", "text"),
    [
        ("any", {1: "delete", 2: "delete"}, "delete: every version is selected and no keep rule is set"),
        (
            "tagged",
            {1: "delete", 2: "not_selected"},
            "kept: not selected (untagged, and only tagged versions are selected)",
        ),
        ("untagged", {1: "not_selected", 2: "delete"}, "delete: untagged"),
    ],
)
def test_tagged_filter(tagged: str, expected: dict[int, str], text: str) -> None:
    decisions = decide([image(1, "v1"), image(2)], Rules(tagged=tagged), NOW)  # type: ignore[arg-type]
    assert actions(decisions) == expected
    assert decisions[1].rule == text
    if tagged == "untagged":
        assert decisions[0].rule == "kept: not selected (tagged, and only untagged versions are selected)"


@pytest.mark.parametrize(
    ("prerelease", "expected"),
    [
        ("any", {1: "delete", 2: "delete", 3: "delete"}),
        ("only", {1: "not_selected", 2: "delete", 3: "delete"}),
        ("never", {1: "delete", 2: "not_selected", 3: "not_selected"}),
    ],
)
def test_prerelease_filter_on_npm_names(prerelease: str, expected: dict[int, str]) -> None:
    versions = [npm(1, "1.2.3"), npm(2, "1.3.0-rc.1"), npm(3, "2.1-SNAPSHOT")]
    assert actions(decide(versions, Rules(prerelease=prerelease), NOW)) == expected  # type: ignore[arg-type]


def test_prerelease_filter_on_container_tags_any_tag_counts() -> None:
    versions = [image(1, "1.2.3", "latest"), image(2, "2.0.0-beta", "next"), image(3)]
    only = decide(versions, Rules(prerelease="only"), NOW)
    never = decide(versions, Rules(prerelease="never"), NOW)
    assert actions(only) == {1: "not_selected", 2: "delete", 3: "not_selected"}
    assert actions(never) == {1: "delete", 2: "not_selected", 3: "delete"}
    assert only[0].rule == "kept: not selected (not a pre-release, and only pre-releases are selected)"
    assert only[1].rule == "delete: pre-release '2.0.0-beta'"
    assert never[1].rule == "kept: not selected (pre-release '2.0.0-beta', and pre-releases are never selected)"


# ---- decide: precedence and combinations ----


def test_excluded_versions_are_not_selected_and_do_not_count_toward_keep_latest() -> None:
    versions = [image(1, "latest", age=1), image(2, age=2), image(3, age=3)]
    decisions = decide(versions, Rules(keep_latest=1, exclude_tags=("latest",)), NOW)
    assert actions(decisions) == {1: "exclude_tags", 2: "keep_latest", 3: "delete"}
    assert decisions[0].rule == "kept: tag 'latest' matches exclude pattern 'latest'"
    assert decisions[1].rule == "kept: among the newest selected"


def test_keep_latest_wins_over_keep_younger_and_the_delete_text_lists_every_criterion() -> None:
    versions = [image(1, age=1), image(2, age=10), image(3, age=40), image(4, "v1", age=50), image(5, age=60)]
    rules = Rules(tagged="untagged", keep_latest=1, keep_younger_than_days=30)
    decisions = decide(versions, rules, NOW)
    assert actions(decisions) == {1: "keep_latest", 2: "keep_younger", 3: "delete", 4: "not_selected", 5: "delete"}
    assert decisions[2].rule == "delete: untagged, older than 30 days (created 2026-10-22), beyond the newest selected"


def test_decide_does_not_mutate_inputs_and_is_deterministic() -> None:
    versions = [image(3, age=2), image(1, age=2), image(2, "v1", age=5)]
    snapshot = list(versions)
    rules = Rules(keep_latest=1, keep_younger_than_days=3, include_tags=("v*",))
    assert decide(versions, rules, NOW) == decide(tuple(versions), rules, NOW)
    assert versions == snapshot
    assert decide([], rules, NOW) == []


# ---- decide: validation ----


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (Rules(include_tags=["v["], pattern_syntax="regex"), r"include_tags: invalid regex 'v\['"),
        (Rules(exclude_tags=["("], pattern_syntax="regex"), r"exclude_tags: invalid regex '\('"),
    ],
)
def test_invalid_patterns_name_the_argument(rules: Rules, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        decide([image(1, "v1")], rules, NOW)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"keep_latest": -1}, "keep_latest"),
        ({"keep_latest": True}, "keep_latest"),
        ({"keep_younger_than_days": -2.5}, "keep_younger_than_days"),
        ({"keep_younger_than_days": float("nan")}, "keep_younger_than_days"),
        ({"keep_younger_than_days": float("inf")}, "keep_younger_than_days"),
        ({"tagged": "yes"}, "tagged"),
        ({"include_tags": "v*"}, "include_tags"),
        ({"keep_newest": 3}, "keep_newest"),
    ],
)
def test_rules_outside_their_declared_types_are_refused_naming_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Rules.model_validate(values)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (Rules(tagged="untagged"), "tagged='untagged' needs tags.*use tagged='any'"),
        (Rules(include_tags=["1.*"]), r"include_tags needs tags.*leave include_tags empty \(use include_versions"),
        (Rules(exclude_tags=["1.*"]), r"exclude_tags needs tags.*leave exclude_tags empty \(use exclude_versions"),
    ],
)
def test_tag_rules_on_a_tagless_registry_are_errors(rules: Rules, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        decide([npm(1, "1.0.0")], rules, NOW)


def test_summarize_counts_actions_and_every_rule_id() -> None:
    versions = [image(1, "latest", age=1), image(2, age=2), image(3, age=3), image(4, age=4), image(5, "v1", age=5)]
    rules = Rules(tagged="untagged", keep_latest=1, exclude_tags=["latest"])
    decisions = decide_images(versions, rules, NOW, {digest(3): Part("platform image", "index", (digest(2),))})
    assert summarize(decisions) == {
        "delete": 1,
        "keep": 4,
        "exclude_tags": 1,
        "exclude_versions": 0,
        "not_selected": 1,
        "keep_latest": 1,
        "keep_latest_tagged": 0,
        "keep_latest_untagged": 0,
        "keep_younger": 0,
        "protected": 1,
        "orphaned": 0,
        "superseded": 0,
        "broken": 0,
        "unreadable": 0,
        "github_refuses": 0,
        "deleted_with": 0,
    }
    assert set(summarize([]).values()) == {0}


@pytest.mark.parametrize("syntax", ["glob", "regex"])
def test_version_name_patterns_select_and_exclude_on_any_registry(syntax: str) -> None:
    versions = [npm(1, "1.0.0"), npm(2, "1.1.0-SNAPSHOT"), npm(3, "2.0.0-SNAPSHOT"), npm(4, "2.0.0")]
    snapshots, ones = ("*-SNAPSHOT", "1.*") if syntax == "glob" else (r".*-SNAPSHOT", r"1\..*")
    rules = Rules(include_versions=[snapshots], exclude_versions=[ones], pattern_syntax=syntax)  # type: ignore[arg-type]
    decisions = decide(versions, rules, NOW)
    assert actions(decisions) == {1: "exclude_versions", 2: "exclude_versions", 3: "delete", 4: "not_selected"}
    assert decisions[0].rule == f"kept: name matches exclude pattern {ones!r}"
    assert decisions[2].rule == f"delete: name matches include pattern {snapshots!r}"
    assert decisions[3].rule == f"kept: not selected (name matches none of {snapshots!r})"


def test_the_last_version_of_a_package_is_kept_as_github_requires() -> None:
    versions = [npm(1, "1.0.0", age=30), npm(2, "1.1.0", age=20)]
    decisions = decide(versions, Rules(), NOW)
    kept = last_to_keep(decisions, tagged_only=False)
    assert kept is not None and (kept.version.id, kept.rule, kept.rule_id) == (2, LAST_VERSION, "github_refuses")
    assert last_to_keep([*decisions[:1], kept], tagged_only=False) is None
    untagged = decide([image(1), image(2)], Rules(), NOW)
    assert last_to_keep(untagged, tagged_only=True) is None  # GitHub counts tagged container versions only
