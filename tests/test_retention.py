"""Retention rules: decide (selection, keep rules, precedence, validation), protect (multi-arch), summarize."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from github_packages_mcp.tools.retention import (
    Decision,
    ImageLinks,
    Rules,
    RulesError,
    VersionFacts,
    decide,
    is_prerelease,
    parse_time,
    protect,
    summarize,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def digest(n: int) -> str:
    return f"sha256:{n:04x}{'ab' * 30}"


def image(n: int, *tags: str, age: float = 100, updated: float | None = None) -> VersionFacts:
    """A container version with id n, created `age` days ago and updated `updated` days ago."""
    created = NOW - timedelta(days=age)
    return VersionFacts(n, digest(n), tuple(tags), created, NOW - timedelta(days=updated) if updated else created)


def npm(n: int, name: str, age: float = 100) -> VersionFacts:
    return VersionFacts(n, name, None, NOW - timedelta(days=age), NOW - timedelta(days=age))


def actions(decisions: list[Decision]) -> dict[int, str]:
    return {d.version.id: d.rule_id for d in decisions}


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
    assert decisions[0].rule == "delete: untagged, beyond the 2 newest"


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
    assert decisions[2].rule == f"kept: not selected (no tag matches include pattern {include[0]!r})"
    assert (
        decisions[3].rule
        == f"kept: not selected (untagged, and only versions with a tag matching {include[0]!r} are selected)"
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
    assert decisions[2].rule == "delete: untagged, older than 30 days (created 2026-10-22), beyond the newest"


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
        (Rules(include_tags=("v[",), pattern_syntax="regex"), r"include_tags: invalid regex 'v\['"),
        (Rules(exclude_tags=("(",), pattern_syntax="regex"), r"exclude_tags: invalid regex '\('"),
        (Rules(keep_latest=-1), "keep_latest must be 0 or more, not -1"),
        (Rules(keep_younger_than_days=-2.5), "keep_younger_than_days must be 0 or more, not -2.5"),
        (Rules(keep_younger_than_days=float("nan")), "keep_younger_than_days must be 0 or more"),
        (Rules(tagged="yes"), "tagged must be one of 'any', 'tagged', 'untagged', not 'yes'"),  # type: ignore[arg-type]
        (Rules(include_tags="v*"), "include_tags must be a list of patterns"),  # type: ignore[arg-type]
    ],
)
def test_invalid_rules_name_the_argument(rules: Rules, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        decide([image(1, "v1")], rules, NOW)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (Rules(tagged="untagged"), "tagged='untagged' needs tags.*use tagged='any'"),
        (Rules(include_tags=("1.*",)), "include_tags needs tags.*leave include_tags empty"),
        (Rules(exclude_tags=("1.*",)), "exclude_tags needs tags.*leave exclude_tags empty"),
    ],
)
def test_tag_rules_on_a_tagless_registry_are_errors(rules: Rules, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        decide([npm(1, "1.0.0")], rules, NOW)


# ---- protect ----


def kept_and_deleted(*versions: VersionFacts, keep: tuple[int, ...]) -> list[Decision]:
    return [
        Decision(v, "keep", "kept: x", "exclude_tags") if v.id in keep else Decision(v, "delete", "delete: x", "delete")
        for v in versions
    ]


def test_platform_images_and_attestations_of_a_kept_index_are_kept() -> None:
    index, amd64, arm64, attestation, other = image(1, "v2.1.0", "latest"), image(2), image(3), image(4), image(5)
    decisions = kept_and_deleted(index, amd64, arm64, attestation, other, keep=(1,))
    links = {digest(1): ImageLinks(digest(1), children=(digest(2), digest(3), digest(4)), attestations=(digest(4),))}
    result, missing = protect(decisions, links)
    assert actions(result) == {1: "exclude_tags", 2: "protected", 3: "protected", 4: "protected", 5: "delete"}
    parent = "sha256:0001abababab… (v2.1.0, latest)"
    assert result[1].rule == f"kept: platform image of kept index {parent}"
    assert result[3].rule == f"kept: attestation of kept index {parent}"
    assert missing == {digest(2), digest(3), digest(4)}


def test_children_of_a_deleted_index_are_not_protected() -> None:
    decisions = kept_and_deleted(image(1), image(2), keep=())
    result, missing = protect(decisions, {digest(1): ImageLinks(digest(1), children=(digest(2),))})
    assert result == decisions
    assert missing == set()


def test_nested_index_is_protected_in_a_second_round_and_inside_one_call_when_links_are_known() -> None:
    outer, inner, leaf = image(1, "v1"), image(2), image(3)
    decisions = kept_and_deleted(outer, inner, leaf, keep=(1,))
    links = {digest(1): ImageLinks(digest(1), children=(digest(2),))}
    first, missing = protect(decisions, links)
    assert actions(first) == {1: "exclude_tags", 2: "protected", 3: "delete"}
    assert missing == {digest(2)}
    # The caller fetches the links of what became kept and calls again.
    links[digest(2)] = ImageLinks(digest(2), children=(digest(3),))
    second, missing = protect(first, links)
    assert actions(second) == {1: "exclude_tags", 2: "protected", 3: "protected"}
    assert second[2].rule == "kept: platform image of kept index sha256:0002abababab… (untagged)"
    assert missing == {digest(3)}
    # With all links known up front, one call reaches the fixpoint.
    once, _ = protect(decisions, links)
    assert once == second


def test_referrers_and_cosign_tags_of_kept_digests_are_kept() -> None:
    kept = image(1, "v1")
    hexdigits = digest(1).removeprefix("sha256:")
    signature, sbom, referrer = image(2, f"sha256-{hexdigits}.sig"), image(3, f"sha256-{hexdigits}.sbom"), image(4)
    stray = image(5, f"sha256-{digest(9).removeprefix('sha256:')}.sig")  # signs a version that is not kept
    decisions = kept_and_deleted(kept, signature, sbom, referrer, stray, image(9), keep=(1,))
    result, missing = protect(decisions, {digest(1): ImageLinks(digest(1), referrers=(digest(4),))})
    assert actions(result) == {
        1: "exclude_tags",
        2: "protected",
        3: "protected",
        4: "protected",
        5: "delete",
        9: "delete",
    }
    short = "sha256:0001abababab… (v1)"
    assert result[1].rule == f"kept: signature of kept image {short}, by its tag 'sha256-{hexdigits}.sig'"
    assert result[2].rule.startswith("kept: SBOM of kept image")
    assert result[3].rule == f"kept: referrer of kept image {short}"
    assert missing == {digest(2), digest(3), digest(4)}


def test_protect_never_deletes_is_idempotent_and_does_not_mutate() -> None:
    decisions = kept_and_deleted(image(1, "v1"), image(2), image(3), keep=(1, 2))
    snapshot = list(decisions)
    links = {digest(1): ImageLinks(digest(1), children=(digest(2), digest(3)))}
    once, missing = protect(decisions, links)
    assert once[1] == decisions[1]  # already kept: its own reason stays
    assert [d.action for d in once] == ["keep", "keep", "keep"]
    assert missing == {digest(3)}
    assert protect(once, links) == (once, set())
    assert decisions == snapshot
    assert protect(once, {}) == (once, set())  # no links: nothing to take back either


# ---- summarize ----


def test_summarize_counts_actions_and_every_rule_id() -> None:
    versions = [image(1, "latest", age=1), image(2, age=2), image(3, age=3), image(4, age=4), image(5, "v1", age=5)]
    decisions = decide(versions, Rules(tagged="untagged", keep_latest=1, exclude_tags=("latest",)), NOW)
    decisions, _ = protect(decisions, {digest(2): ImageLinks(digest(2), children=(digest(3),))})
    assert summarize(decisions) == {
        "delete": 1,
        "keep": 4,
        "exclude_tags": 1,
        "not_selected": 1,
        "keep_latest": 1,
        "keep_younger": 0,
        "protected": 1,
    }
    assert set(summarize([]).values()) == {0}
