"""Retention patterns cannot stall the server: capped in size and count, matched in linear time by RE2, with the
glob semantics of `fnmatch.fnmatchcase` kept exactly."""

from __future__ import annotations

import fnmatch
import time

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from mcp import Client
from pydantic import ValidationError

from github_packages_mcp.config import Settings
from github_packages_mcp.retention.patterns import (
    MAX_PATTERN_LENGTH,
    MAX_PATTERNS,
    PatternList,
    RulesError,
    compile_pattern,
    glob_to_re2,
)
from github_packages_mcp.retention.rules import Rules, decide
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.server.app import build_server
from tests.helpers import error_text, ok
from tests.retention.helpers import NOW, image

# The demo's cosign signature tag: 75 characters, on which Python's `re` needs about 2**75 steps for CATASTROPHIC.
COSIGN_TAG = "sha256-" + "0123456789abcdef" * 4 + ".sig"
CATASTROPHIC = r"(?:[\w.-]|[\w.-])*!"


def test_a_catastrophic_regex_matches_in_microseconds() -> None:
    started = time.perf_counter()
    decisions = decide([image(1, COSIGN_TAG)], Rules(exclude_tags=[CATASTROPHIC], pattern_syntax="regex"), NOW)
    assert time.perf_counter() - started < 0.5  # Python's re: 0.73 s at 24 characters, doubling with each one
    assert decisions[0].rule_id == "delete"  # no "!" in the tag: the exclusion does not apply
    assert compile_pattern("exclude_tags", CATASTROPHIC, "regex")(COSIGN_TAG + "!")


def test_a_long_run_of_brackets_translates_in_linear_time() -> None:
    started = time.perf_counter()
    translated = glob_to_re2("[" * 200_000)  # fnmatch: 8 s for 20,000 (quadratic)
    assert time.perf_counter() - started < 1
    assert translated == "(?s)" + r"\x{5b}" * 200_000


@pytest.mark.parametrize("syntax", ["glob", "regex"])
@pytest.mark.parametrize("name", ["include_tags", "exclude_tags", "include_versions", "exclude_versions"])
def test_patterns_are_capped_in_length_and_count(name: str, syntax: str) -> None:
    longest, too_long = "a" * MAX_PATTERN_LENGTH, "[" * 20_000
    decide([image(1, "v1")], Rules.model_validate({name: [longest] * MAX_PATTERNS, "pattern_syntax": syntax}), NOW)
    # The bounds are the rules' own types (so also their schema): refused as the rules are made.
    with pytest.raises(ValidationError, match=rf"{name}\.1\n  String should have at most 256 characters"):
        Rules.model_validate({name: ["v*", too_long], "pattern_syntax": syntax})
    with pytest.raises(ValidationError, match=rf"{name}\n  List should have at most 50 items after validation, not 51"):
        Rules.model_validate({name: ["v*"] * 51, "pattern_syntax": syntax})
    # And as patterns are compiled, wherever they come from.
    with pytest.raises(RulesError, match=rf"^Invalid arguments, nothing was sent: {name}: .* at most 256 characters"):
        PatternList(name, ["v*", too_long], syntax)
    with pytest.raises(RulesError, match=rf"{name}: at most 50 patterns are accepted, 51 were given"):
        PatternList(name, ["v*"] * 51, syntax)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(v\d+)-\1", r"invalid escape sequence: \\1"),
        (r"v(?=\d)\w+", r"invalid perl operator: \(\?="),
        (r"(?<!rc)\d+", r"invalid perl operator: \(\?<!"),
        (r"(?>v+)1", r"invalid perl operator: \(\?>"),
    ],
)
def test_what_re2_cannot_match_in_linear_time_is_refused_and_says_so(pattern: str, reason: str) -> None:
    with pytest.raises(RulesError, match=rf"include_tags: invalid regex .*{reason} \(patterns run on RE2, .*"):
        Rules(include_tags=[pattern], pattern_syntax="regex").patterns()


def test_regex_semantics_kept_full_match_and_case() -> None:
    matches = compile_pattern("include_tags", r"v\d+(?:\.\d+)*", "regex")
    assert matches("v1.2.3")
    assert not matches("xv1.2.3")
    assert not matches("v1.2.3-rc")
    assert not matches("V1")
    assert compile_pattern("include_tags", r"(?i)v\d+", "regex")("V1")
    assert compile_pattern("include_tags", r"(?P<major>\d+)\..*", "regex")("12.0")  # named groups compile


@pytest.mark.parametrize(
    ("glob", "text", "expected"),
    [
        ("v*", "v1.0", True),
        ("v*", "xv1", False),
        ("V*", "v1", False),  # case-sensitive
        ("*-SNAPSHOT", "1.0-SNAPSHOT", True),
        ("1.?", "1.5", True),
        ("1.?", "1.50", False),
        ("[!a-c]x", "dx", True),
        ("[!a-c]x", "bx", False),
        ("[]]", "]", True),
        ("[z-a]", "m", False),  # a reversed range matches nothing
        ("v[", "v[", True),  # an unclosed bracket is literal
        ("a.b", "axb", False),  # a dot is literal
        ("a\\*", "a\\bc", True),  # a backslash is literal, it does not escape
        ("web/*", "web/api", True),  # `*` crosses `/`
        ("é*", "éclair", True),
    ],
)
def test_glob_examples(glob: str, text: str, expected: bool) -> None:
    assert compile_pattern("include_tags", glob, "glob")(text) is expected
    assert fnmatch.fnmatchcase(text, glob) is expected


GLOB_CHARS = st.sampled_from(list("ab-z!^][*?\\.&|~\nc/é"))


@examples(max_examples=3000, deadline=None)
@given(st.text(GLOB_CHARS, max_size=10), st.lists(st.text(GLOB_CHARS, max_size=8), max_size=6))
def test_globs_mean_exactly_what_fnmatch_means(glob: str, texts: list[str]) -> None:
    matches = compile_pattern("include_tags", glob, "glob")
    for text in texts:
        assert matches(text) is fnmatch.fnmatchcase(text, glob), (glob, text, glob_to_re2(glob))


@pytest.mark.anyio
async def test_the_package_name_glob_is_translated_and_capped(settings: Settings, sandbox: SandboxServer) -> None:
    arguments = {"org": DEMO_ORG, "package_type": "container", "tagged": "untagged", "keep_younger_than_days": 60}
    async with Client(build_server(settings)) as client:
        plan = ok(await client.call_tool("plan_version_cleanup", {**arguments, "package_name": "[mw]*/[!b]??"}))
        sent = len(sandbox.state.requests)
        too_long = await client.call_tool("plan_version_cleanup", {**arguments, "package_name": "[" * 20_000 + "*"})
    assert [package["package"] for package in plan["packages"]] == ["multi/app", "web/api"]  # not gateway: 7 letters
    assert "package_name: at most 256 characters, got 20001" in error_text(too_long)
    assert len(sandbox.state.requests) == sent  # the refused call sent nothing
