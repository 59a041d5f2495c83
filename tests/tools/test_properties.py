"""Property-based: every catalogue tool, called through the MCP protocol with generated arguments.

Valid arguments always produce exactly the expected request (each path segment encoded once, the query as
given); invalid ones never reach the network; nothing crashes or hangs. GitHub is a strict mock here: it
records what it is asked and answers with GitHub-shaped bodies.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import anyio
import httpx2
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.catalogue import OPERATIONS, Operation
from github_packages_mcp.github.models import PACKAGE_TYPES
from github_packages_mcp.server.app import build_server

NAMES = st.text(min_size=1, max_size=30)  # any Unicode, "/", "..", "%", "?", NUL: all must stay one segment
VALUES = {
    "org": NAMES,
    "username": NAMES,
    "package_name": NAMES,
    "package_type": st.sampled_from(PACKAGE_TYPES),
    "package_version_id": st.integers(min_value=1, max_value=2**53 - 1),
    "page": st.integers(min_value=1, max_value=100),
    "per_page": st.integers(min_value=1, max_value=100),
    "visibility": st.sampled_from(["public", "private", "internal"]),
    "state": st.sampled_from(["active", "deleted"]),
    "token": st.text(max_size=20),
}
# Per argument, values that break its schema.
INVALID = {
    "org": st.sampled_from(["", 5, None, ["a"]]),
    "username": st.sampled_from(["", 5, None]),
    "package_name": st.sampled_from(["", 7, None]),
    "package_type": st.text(max_size=10).filter(lambda text: text not in PACKAGE_TYPES),
    "package_version_id": st.one_of(st.integers(max_value=0), st.integers(min_value=2**53), st.text(), st.floats()),
    "page": st.one_of(st.integers(max_value=0), st.text(min_size=1)),
    "per_page": st.one_of(st.integers(max_value=0), st.integers(min_value=101)),
    "visibility": st.text(max_size=10).filter(lambda text: text not in ("public", "private", "internal")),
    "state": st.text(max_size=10).filter(lambda text: text not in ("active", "deleted")),
    "token": st.integers(),
}
VERSION = {"id": 3_000_000_001, "name": "1.0.0", "url": "u", "package_html_url": "h", "html_url": "h",
           "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
           "metadata": {"package_type": "npm"}}  # fmt: skip
PACKAGE = {"id": 1, "name": "x", "package_type": "npm", "visibility": "private", "version_count": 2, "url": "u",
           "html_url": "h", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}  # fmt: skip


def github(seen: list[httpx2.Request]) -> httpx2.MockTransport:
    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        path = request.url.raw_path.decode().split("?")[0]
        if request.method != "GET":
            return httpx2.Response(204)
        if path.endswith(("/packages", "/versions", "/conflicts")):
            return httpx2.Response(200, json=[VERSION] if path.endswith("/versions") else [PACKAGE])
        return httpx2.Response(200, json=VERSION if "/versions/" in path else PACKAGE)

    return httpx2.MockTransport(answer)


def expected_path(op: Operation, arguments: dict[str, Any]) -> str:
    """The path GitHub must be asked: each value as one segment, encoded once (a delete first reads the same)."""
    path = op.path
    for name, value in arguments.items():
        segment = quote(str(value), safe="")
        path = path.replace("{" + name + "}", segment.replace(".", "%2E") if segment in (".", "..") else segment)
    return path


BREAKABLE = [op for op in OPERATIONS if any(param.name in INVALID for param in op.params)]


@st.composite
def calls(draw: st.DrawFn, valid: bool) -> tuple[Operation, dict[str, Any]]:
    op = draw(st.sampled_from(OPERATIONS if valid else BREAKABLE))
    arguments = {
        p.name: draw(VALUES[p.name]) for p in op.params if p.name in VALUES and (p.required or draw(st.booleans()))
    }
    if not valid:
        broken = draw(st.sampled_from([p for p in op.params if p.name in INVALID]))
        if broken.required and draw(st.booleans()):
            arguments.pop(broken.name, None)  # a missing required argument
        else:
            arguments[broken.name] = draw(INVALID[broken.name])
    return op, arguments


def run_calls(batch: list[tuple[str, dict[str, Any]]]) -> list[tuple[bool, list[httpx2.Request]]]:
    """Each (tool name, arguments) called in turn in one session: was it an error, and what GitHub was asked."""

    async def main() -> list[tuple[bool, list[httpx2.Request]]]:
        results = []
        seen: list[httpx2.Request] = []
        settings = Settings.model_validate(
            {"token": "t", "confirmation": "token", "hide_unusable_tools": False, "mutation_interval_seconds": 0}
        )
        server = build_server(settings, transport=github(seen))
        async with Client(server) as client:
            for name, arguments in batch:
                seen.clear()
                with anyio.fail_after(5):  # no hung call
                    result = await client.call_tool(name, arguments)
                results.append((result.is_error, list(seen)))
        return results

    return anyio.run(main)


@examples(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(calls(valid=True), min_size=1, max_size=20))
def test_valid_arguments_ask_github_exactly_the_expected_path(batch: list[tuple[Operation, dict[str, Any]]]) -> None:
    results = run_calls([(op.name, arguments) for op, arguments in batch])
    for (op, arguments), (is_error, requests) in zip(batch, results, strict=True):
        assert not is_error, (op.name, arguments)
        assert requests, op.name
        first = requests[0]
        assert first.url.raw_path.decode().split("?")[0] == expected_path(op, arguments)
        assert first.method == ("GET" if op.kind == "delete" else op.method)  # deletes first read, then ask
        query = dict(first.url.params)
        for param in op.params:
            if param.location == "query" and param.name in arguments and not arguments.get("all_pages"):
                assert query[param.name] == str(arguments[param.name])


@examples(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(calls(valid=False), min_size=1, max_size=20))
def test_invalid_arguments_never_reach_github(batch: list[tuple[Operation, dict[str, Any]]]) -> None:
    results = run_calls([(op.name, arguments) for op, arguments in batch])
    for (op, arguments), (is_error, requests) in zip(batch, results, strict=True):
        assert is_error, (op.name, arguments)
        assert requests == [], (op.name, arguments)


# The higher-level tools: generated arguments never crash or hang them, and invalid ones send nothing.
HIGHER_VALID = {
    "plan_version_cleanup": st.fixed_dictionaries(
        {"package_type": st.sampled_from(PACKAGE_TYPES), "package_name": NAMES},
        optional={
            "org": NAMES,
            "keep_latest": st.integers(min_value=0, max_value=1000),
            "keep_younger_than_days": st.floats(min_value=0, max_value=1e4),
            "tagged": st.sampled_from(["any", "tagged", "untagged"]),
            "prerelease": st.sampled_from(["any", "only", "never"]),
        },
    ),
    "audit_packages": st.fixed_dictionaries(
        {}, optional={"username": NAMES, "stale_after_days": st.integers(min_value=1, max_value=1000)}
    ),
    "check_token": st.just({}),
    "restore_from_journal": st.fixed_dictionaries({"plan_id": NAMES}),
}
HIGHER_INVALID = st.sampled_from(
    [
        ("plan_version_cleanup", {"package_type": "pypi", "package_name": "x"}),
        ("plan_version_cleanup", {"package_type": "npm", "package_name": "x", "keep_latest": -1}),
        ("plan_version_cleanup", {"package_type": "npm", "package_name": "x", "tagged": "some"}),
        ("plan_version_cleanup", {"package_type": "npm", "package_name": "x", "include_tags": "v*"}),
        ("plan_version_cleanup", {"package_type": "container", "package_name": "x", "org": "a", "username": "b"}),
        (
            "plan_version_cleanup",
            {"package_type": "container", "package_name": "x", "include_tags": ["("], "pattern_syntax": "regex"},
        ),
        ("apply_version_cleanup", {"plan_id": ""}),
        ("apply_version_cleanup", {"plan_id": 5}),
        ("audit_packages", {"stale_after_days": 0}),
        ("audit_packages", {"package_types": ["pypi"]}),
        ("restore_from_journal", {"plan_id": "p", "version_ids": ["a"]}),
    ]
)


@examples(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(sorted(HIGHER_VALID)).flatmap(lambda n: st.tuples(st.just(n), HIGHER_VALID[n])),
                min_size=1, max_size=8))  # fmt: skip
def test_higher_level_tools_never_crash_or_hang(batch: list[tuple[str, dict[str, Any]]]) -> None:
    for (name, _), (is_error, _requests) in zip(batch, run_calls(batch), strict=True):
        assert isinstance(is_error, bool), name  # an answer came, error or not: no crash, no hang


@examples(max_examples=10, deadline=None)
@given(st.lists(HIGHER_INVALID, min_size=1, max_size=6))
def test_invalid_arguments_to_higher_level_tools_send_nothing(batch: list[tuple[str, dict[str, Any]]]) -> None:
    for (name, arguments), (is_error, requests) in zip(batch, run_calls(batch), strict=True):
        assert is_error, (name, arguments)
        assert requests == [], (name, arguments)
