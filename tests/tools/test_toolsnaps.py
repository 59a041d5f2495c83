"""Every tool's published definition against the reviewed definitions shipped in the package
(`github_packages_mcp/tools/definitions.json`, what tools/list answers from), and those against the built tools.

A changed tool fails until the shipped definitions are rewritten on purpose, and the change is then reviewed in
that file's diff: `UPDATE_TOOLSNAPS=1 pytest tests/tools/test_toolsnaps.py` (in CI nothing is written).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.catalogue import OPERATIONS
from github_packages_mcp.server.app import build_server, tool_entries
from github_packages_mcp.tools.definitions import REGENERATE, built_definitions, shipped_definitions, write_definitions
from tests.helpers import changes_nothing

pytestmark = pytest.mark.anyio


def _updating() -> bool:
    return bool(os.environ.get("UPDATE_TOOLSNAPS")) and not os.environ.get("CI")


async def test_the_shipped_definitions_are_what_building_the_tools_gives() -> None:
    if _updating():
        await write_definitions()
    built = {row["tool"]["name"]: row for row in await built_definitions()}
    shipped = {row["tool"]["name"]: row for row in shipped_definitions()}
    changed = sorted(name for name in built.keys() | shipped.keys() if built.get(name) != shipped.get(name))
    assert (changed, list(shipped)) == ([], list(built)), (
        f"tools/definitions.json differs from the built tools ({changed or 'their order'}); regenerate: {REGENERATE}"
    )


async def _published_tools() -> dict[str, dict[str, Any]]:
    async with Client(build_server(Settings())) as client:
        tools = (await client.list_tools()).tools
    return {tool.name: tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools}


async def test_tools_list_publishes_exactly_the_shipped_definitions() -> None:
    tools = await _published_tools()
    assert sorted(tools) == sorted(entry.name for entry in tool_entries())
    shipped = {row["tool"]["name"]: row["tool"] for row in shipped_definitions()}
    changed = sorted(name for name in tools if tools[name] != shipped[name])
    assert not changed, f"tools/list differs from tools/definitions.json: {changed}"


async def test_no_input_schema_has_a_top_level_combinator() -> None:
    for definition in (await _published_tools()).values():
        schema = definition["inputSchema"]
        assert schema["type"] == "object"
        assert not {"anyOf", "oneOf", "allOf"} & set(schema)
        assert all("anyOf" not in prop for prop in schema["properties"].values())


async def test_annotations_are_explicit_on_every_tool() -> None:
    operations = {op.name: op for op in OPERATIONS}
    entries = {entry.name: entry for entry in tool_entries()}
    for name, definition in (await _published_tools()).items():
        hints = definition["annotations"]
        assert hints["readOnlyHint"] is changes_nothing(entries[name]), name
        if not hints["readOnlyHint"]:  # meaningful only for tools that change something
            assert hints["destructiveHint"] is ("delete:packages" in entries[name].scopes), name
        if name in operations:  # GitHub's operationId stays in the catalogue (test_catalogue), out of tools/list
            assert "_meta" not in definition


async def test_read_only_mode_registers_only_tools_that_change_nothing() -> None:
    async with Client(build_server(Settings(read_only=True))) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {entry.name for entry in tool_entries() if changes_nothing(entry)}
    assert names >= {op.name for op in OPERATIONS if op.method == "GET"} | {"plan_version_cleanup", "check_token"}
    assert not names & {"apply_version_cleanup", "restore_from_journal"}
