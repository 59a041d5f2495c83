"""check_token as a tool: who the token belongs to, its kind and scopes, which tools it can use, its quota."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations

from github_packages_mcp.config import Settings
from github_packages_mcp.server.toolkit import AppContext, ToolEntry, build_tool, concise, keyword, signed, tool_errors
from github_packages_mcp.tools.diagnostics import TokenCheck, check_token

__all__ = ["diagnostics_entries"]


def diagnostics_entries() -> tuple[ToolEntry, ...]:
    return (ToolEntry("check_token", "audit", True, (), _check_token_tool),)


def _check_token_tool(_settings: Settings) -> Tool:
    async def check(ctx: Context[AppContext, Any]) -> CallToolResult:
        app = ctx.request_context.lifespan_context
        with tool_errors((), "check_token"):  # the token of this call: the caller's own, when passed through
            return concise(await check_token(app.github, app.github.token, app.tool_scopes))

    return build_tool(
        signed(check, "check_token", [keyword("ctx", Context)], Annotated[CallToolResult, TokenCheck]),
        name="check_token",
        description=(
            "Check the token: its user, kind, scopes, which tools it can use (and what others miss), its quota."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
