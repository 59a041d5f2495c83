"""What a tool is before it is built (`ToolEntry`): what selection needs to know, and how to build it. Light to
import, so that a server selects its tools without importing what they run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations

from github_packages_mcp.config import Toolset

__all__ = ["ToolEntry"]


@dataclass(frozen=True)
class ToolEntry:
    """A tool before it is built: what selection needs to know (its toolset and scopes), and how to build it.
    Whether it only reads is its annotations' word."""

    name: str
    toolset: Toolset
    scopes: tuple[str, ...]
    build: Callable[[], Tool]

    @classmethod
    def of(
        cls,
        fn: Callable[..., Any],
        toolset: Toolset,
        scopes: tuple[str, ...],
        *,
        description: str,
        annotations: ToolAnnotations,
        meta: dict[str, Any] | None = None,
    ) -> ToolEntry:
        """The entry of the tool `fn` is built into, named as `fn` is (the tool's name is said once, by `fn`);
        `meta` is its definition's `_meta` (the app showing its results: toolkit/apps.py)."""
        from github_packages_mcp.toolkit.schemas import build_tool  # what building needs, imported by the builders

        build = partial(build_tool, fn, name=fn.__name__, description=description, annotations=annotations, meta=meta)
        return cls(fn.__name__, toolset, scopes, build)
