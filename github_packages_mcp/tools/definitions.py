"""Every tool's published definition, shipped as data (`definitions.json`), so that a server lists its tools without
building them.

Building the 36 tools (their argument models and schemas, and importing the modules behind them) took about a
tenth of a second of every start, before the first tools/list. The file holds, per tool in the order clients list
them, what tools/list publishes (byte for byte), what selection needs (toolset, scopes) and the module that builds
it; a listed tool is built, and its module imported, when it is first called. The file is written from the built tools
(`write_definitions`), and tests/tools/test_toolsnaps.py fails when it differs from them.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from functools import cache, cached_property, partial
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp_types import Tool as PublishedTool
from pydantic import Field

from github_packages_mcp.toolkit.entries import ToolEntry

__all__ = [
    "DEFINITIONS",
    "REGENERATE",
    "built_definitions",
    "built_tool",
    "published_entries",
    "shipped_definitions",
    "write_definitions",
]

DEFINITIONS = Path(__file__).with_name("definitions.json")
REGENERATE = "UPDATE_TOOLSNAPS=1 pytest tests/tools/test_toolsnaps.py"
# Each module of tools and the function offering its entries, in the order clients list the tools.
_OFFERED_BY = {
    "operations": "operation_entries",
    "cleanup": "cleanup_entries",
    "policy": "policy_entries",
    "audit": "audit_entries",
}


@cache
def published_entries() -> tuple[ToolEntry, ...]:
    """Every tool this server can offer, from the shipped definitions: each builds into a tool listed from its
    definition, itself built when first called."""
    return tuple(
        ToolEntry(row["tool"]["name"], row["toolset"], tuple(row["scopes"]), partial(_listed, row))
        for row in shipped_definitions()
    )


def _listed(row: dict[str, Any]) -> Tool:
    published = PublishedTool.model_validate(row["tool"])
    # Built without validation: the fields of a built tool (its function, argument model) exist once it is built.
    return _ListedTool.model_construct(
        name=published.name,
        title=published.title,
        description=published.description or "",
        parameters=published.input_schema,
        annotations=published.annotations,
        icons=published.icons,
        meta=published.meta,
        published_output_schema=published.output_schema,
        build=partial(_built, row["module"], published.name),
    )


class _ListedTool(Tool):
    """A tool listed from its shipped definition; its first call builds it, and every call runs the built tool
    (argument checks, resolvers and errors exactly as it has them)."""

    build: Callable[[], Tool] = Field(exclude=True)
    published_output_schema: dict[str, Any] | None = Field(default=None, exclude=True)

    @cached_property
    def output_schema(self) -> dict[str, Any] | None:
        return self.published_output_schema

    @cached_property
    def built(self) -> Tool:
        return self.build()

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        return await self.built.run(arguments, context, convert_result)


def built_tool(name: str) -> Tool:
    """The tool `name` built (its argument model, its function), as its first call builds it.

    Raises:
        KeyError: If no tool has that name.
    """
    modules = {row["tool"]["name"]: row["module"] for row in shipped_definitions()}
    return _built(modules[name], name)


def _built(module: str, name: str) -> Tool:
    [entry] = [entry for entry in _offered_by(module) if entry.name == name]
    return entry.build()


def _offered_by(module: str) -> tuple[ToolEntry, ...]:
    offer: Callable[[], tuple[ToolEntry, ...]] = getattr(
        importlib.import_module(f"github_packages_mcp.tools.{module}"), _OFFERED_BY[module]
    )
    return offer()


async def built_definitions() -> list[dict[str, Any]]:
    """What `definitions.json` must hold: every tool built, as tools/list publishes it (the SDK's own listing,
    dumped as its runner sends it), with its module, toolset and scopes."""
    offered = [(module, entry) for module in _OFFERED_BY for entry in _offered_by(module)]
    listed = await MCPServer(tools=[entry.build() for _, entry in offered]).list_tools()
    return [
        {
            "module": module,
            "toolset": entry.toolset,
            "scopes": list(entry.scopes),
            "tool": tool.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
        for (module, entry), tool in zip(offered, listed, strict=True)
    ]


def shipped_definitions() -> list[dict[str, Any]]:
    """What `definitions.json` holds: per tool, its module, toolset, scopes and published definition."""
    rows: list[dict[str, Any]] = json.loads(DEFINITIONS.read_text(encoding="utf-8"))
    return rows


async def write_definitions() -> None:
    """Write `definitions.json` from the built tools (the next `published_entries` reads it)."""
    text = json.dumps(await built_definitions(), indent=1, ensure_ascii=False) + "\n"
    DEFINITIONS.write_text(text, encoding="utf-8")
    published_entries.cache_clear()
