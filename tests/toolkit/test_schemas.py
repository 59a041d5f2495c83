"""A result's text is the same compact JSON whichever writer writes it: pydantic-core for results that cannot hold a
float, json for the others."""

from __future__ import annotations

import json

import pytest
from mcp_types import TextContent
from pydantic import BaseModel

from github_packages_mcp.github.models import PackageVersion, PackageVersionList, Result
from github_packages_mcp.toolkit.schemas import concise


class Measured(Result):
    name: str
    days: float


def text_of(result: BaseModel, *, declared_only: bool) -> str:
    content = concise(result, declared_only=declared_only).content[0]
    assert isinstance(content, TextContent)
    return content.text


def python_json(result: BaseModel) -> str:
    return json.dumps(result.model_dump(mode="json", exclude_none=True), separators=(",", ":"), ensure_ascii=False)


def listing(name: str, version_id: int = 1) -> PackageVersionList:
    version = {"id": version_id, "name": name, "tags": ["v1", "ü"], "created_at": "2026-01-01T00:00:00Z",
               "updated_at": "2026-01-01T00:00:00Z"}  # fmt: skip
    return PackageVersionList.model_validate({"items": [version], "page": 1, "per_page": 30, "next_page": 2})


@pytest.mark.parametrize(
    "name",
    ["sha256:12e4", 'quote " backslash \\ slash /', "controls \x00\x01\x1f\x7f \b\f\n\r\t", "é 漢字 \u2028 😀"],
)
def test_a_result_without_floats_is_written_as_json_writes_it(name: str) -> None:
    result = listing(name, version_id=2**70)
    assert text_of(result, declared_only=True) == python_json(result)


def test_a_lone_surrogate_is_written_as_json_writes_it() -> None:
    result = listing("half \ud800 a pair")
    assert text_of(result, declared_only=True) == python_json(result)


@pytest.mark.parametrize("result", [Measured(name="a", days=1e-05), PackageVersion.model_validate(
    {"id": 1, "name": "a", "created_at": "t", "updated_at": "t", "score": 1.23e-08}
)])  # fmt: skip
def test_a_result_that_may_hold_floats_is_written_by_json(result: BaseModel) -> None:
    # pydantic-core writes these floats otherwise (0.00001, 1.23e-8); a GitHub object passed through whole may hold
    # any field (declared_only=False), and a float-typed field always may.
    expected = python_json(result)
    assert text_of(result, declared_only=isinstance(result, Measured)) == expected
    assert "e-0" in expected
