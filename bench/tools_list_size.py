"""Benchmark: the size of our tools/list answer, whole and per part, in bytes and estimated tokens.

    .venv/bin/python bench/tools_list_size.py

Tokens are estimated as bytes / 4 (compact JSON, as clients send it to the model).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.server import build_server


def compact(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")))


async def tools_list(settings: Settings) -> list[dict[str, Any]]:
    async with Client(build_server(settings)) as client:
        tools = (await client.list_tools()).tools
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


async def main() -> None:
    operations = await tools_list(Settings(toolsets=("read", "delete", "restore")))
    print(f"GitHub's 27 operations: {compact({'tools': operations})} bytes (FastMCP's OpenAPI tools: 227,000)")
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
