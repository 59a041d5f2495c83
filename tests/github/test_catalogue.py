"""The catalogue against GitHub's OpenAPI description: same operations, paths, parameters and schemas."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import TypeAdapter

from github_packages_mcp.github.catalogue import OPERATIONS, Operation, Param

# Where we follow GitHub's real behaviour rather than the spec (each also commented in the catalogue).
PAGING_ADDED = {"list_user_package_versions"}  # GitHub honours page/per_page there; the spec omits them


def _spec_operation(spec: dict[str, Any], op: Operation) -> dict[str, Any]:
    return spec["paths"][op.path][op.method.lower()]


def _spec_params(spec: dict[str, Any], op: Operation) -> dict[str, dict[str, Any]]:
    params = {}
    for param in _spec_operation(spec, op).get("parameters", []):
        if "$ref" in param:
            param = spec["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        params[param["name"]] = param
    return params


def _schema(param: Param) -> dict[str, Any]:
    """The parameter's schema; for an optional one, that of the value it takes when given."""
    schema: dict[str, Any] = TypeAdapter(param.annotation).json_schema()
    arms = [arm for arm in schema.get("anyOf", []) if arm != {"type": "null"}]
    return arms[0] if len(arms) == 1 else schema


def test_there_are_27_operations_with_unique_short_names() -> None:
    names = [op.name for op in OPERATIONS]
    assert len(names) == len(set(names)) == 27
    assert all(re.fullmatch(r"[a-z0-9_]{1,40}", name) for name in names)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_operation_matches_github_spec(spec: dict[str, Any], op: Operation) -> None:
    github = _spec_operation(spec, op)
    assert github["operationId"] == op.operation_id
    expected = _spec_params(spec, op)
    ours = {p.name: p for p in op.params}
    extra = {name for name, param in ours.items() if param.location != "tool"} - set(expected)
    assert extra == ({"page", "per_page"} if op.name in PAGING_ADDED else set())
    assert {name for name, param in ours.items() if param.location == "tool"} <= {"all_pages"}
    assert set(expected) <= set(ours)
    for name, spec_param in expected.items():
        param, spec_schema = ours[name], spec_param["schema"]
        assert param.location == spec_param["in"], name
        assert param.required == bool(spec_param.get("required")), name
        schema = _schema(param)
        assert schema.get("enum") == spec_schema.get("enum"), name
        assert schema.get("type", "string") == spec_schema["type"], name
        if "default" in spec_schema:
            assert param.default == spec_schema["default"], name


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
def test_name_hints_and_scopes_follow_the_method(op: Operation) -> None:
    verb = {"GET": ("list", "get"), "DELETE": ("delete",), "POST": ("restore",)}[op.method]
    assert op.name.split("_")[0] in verb
    assert op.name.split("_")[1] == op.owner
    assert "read:packages" in op.scopes
    assert ("delete:packages" in op.scopes) == (op.method == "DELETE")
    assert ("write:packages" in op.scopes) == (op.method == "POST")


def test_every_id_passes_32_bits_within_javascripts_exact_integers_and_every_page_size_is_bounded() -> None:
    for op in OPERATIONS:
        for param in op.params:
            schema = _schema(param)
            if param.name == "package_version_id":
                assert schema["maximum"] == 2**53 - 1 > 2**32
            if param.name == "per_page":
                assert (schema["minimum"], schema["maximum"], param.default) == (1, 100, 30)
            if param.name == "page":
                assert schema["minimum"] == 1
