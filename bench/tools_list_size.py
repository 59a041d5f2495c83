"""Benchmark: the size of our tools/list answer, whole and per part, in bytes and estimated tokens, side by
side with a generic OpenAPI-to-MCP server (FastMCP's OpenAPI support) pointed at the same 27 operations.

    .venv/bin/pip install -e '.[bench]'   # fastmcp, for the comparison only
    .venv/bin/python bench/tools_list_size.py

Tokens are estimated as bytes / 4 (compact JSON, as clients send it to the model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.server.app import build_server


def compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


async def tools_list(settings: Settings) -> list[dict[str, Any]]:
    async with Client(build_server(settings)) as client:
        tools = (await client.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


SPEC = Path(__file__).parent.parent / "tests" / "data" / "github-packages.openapi.json"


async def generic_openapi_tools() -> list[dict[str, Any]] | None:
    """FastMCP's tools for GitHub's spec of the 27 operations, or None when fastmcp is not installed."""
    try:
        import httpx2
        from fastmcp import Client as FastMCPClient
        from fastmcp import FastMCP
    except ImportError:
        return None
    server = FastMCP.from_openapi(
        openapi_spec=json.loads(SPEC.read_text()), client=httpx2.AsyncClient(base_url="https://api.github.com")
    )
    async with FastMCPClient(server) as client:
        return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in await client.list_tools()]


async def main() -> None:
    generic = await generic_openapi_tools()
    if generic is not None:
        size = compact({"tools": generic})
        print(f"FastMCP's OpenAPI tools for the 27 operations: {size} bytes, about {size // 4} tokens")
    operations = await tools_list(Settings(toolsets=("read", "delete", "restore")))
    print(f"our 27 operations: {compact({'tools': operations})} bytes")
    tools = await tools_list(Settings())
    total = compact({"tools": tools})
    parts = {
        "input schemas": sum(compact(tool["inputSchema"]) for tool in tools),
        "output schemas": sum(compact(tool.get("outputSchema", {})) for tool in tools),
        "descriptions": sum(compact(tool["description"]) for tool in tools),
    }
    print(f"{len(tools)} tools, {total} bytes, about {total // 4} tokens")
    for name, size in parts.items():
        print(f"  {name}: {size} bytes")
    largest = sorted(tools, key=compact, reverse=True)[:3]
    print("largest:", ", ".join(f"{tool['name']} {compact(tool)}" for tool in largest))


if __name__ == "__main__":
    anyio.run(main)
