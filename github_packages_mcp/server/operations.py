"""The 27 GitHub operations as tools: one generic path from a catalogue row to an MCP tool."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations

from github_packages_mcp.config import Settings
from github_packages_mcp.server.toolkit import (
    Act,
    AppContext,
    Summarise,
    Target,
    ToolEntry,
    build_tool,
    concise,
    confirmed,
    keyword,
    signed,
    tool_errors,
)
from github_packages_mcp.tools.catalogue import OPERATIONS, Operation
from github_packages_mcp.tools.execute import describe_deletion, execute
from github_packages_mcp.tools.models import ConfirmationOutcome, DeletionResult

__all__ = ["operation_entries"]


def operation_entries() -> tuple[ToolEntry, ...]:
    """One tool per catalogue row; its toolset is the operation's kind (read, delete, restore)."""
    return tuple(
        ToolEntry(op.name, op.kind, op.kind == "read", op.scopes, partial(_operation_tool, op)) for op in OPERATIONS
    )


def _operation_tool(op: Operation, settings: Settings) -> Tool:
    params = [keyword(p.name, p.annotation, p.default) for p in op.params]
    if op.kind == "delete":
        errors = partial(tool_errors, op.scopes, op.name.replace("delete_", "get_", 1))
        fn = confirmed(
            op.name, params, _delete_target(op), _delete_action(op), DeletionResult, errors, settings.confirmation
        )
    else:
        fn = signed(_plain_body(op), op.name, [*params, keyword("ctx", Context)], Annotated[CallToolResult, op.result])
    return build_tool(
        fn,
        name=op.name,
        description=op.description,
        # Explicit read-only and destructive hints; the others keep their defaults (open world, not idempotent).
        annotations=ToolAnnotations(
            read_only_hint=op.kind == "read", destructive_hint=None if op.kind == "read" else op.kind == "delete"
        ),
        meta={"operationId": op.operation_id},  # GitHub's own id for the operation
    )


def _plain_body(op: Operation) -> Callable[..., Any]:
    async def body(ctx: Context[AppContext, Any], **arguments: Any) -> CallToolResult:
        async def progress(done: int, total: int | None) -> None:
            await ctx.report_progress(done, total, f"read {done} of {total or '?'} pages")

        app = ctx.request_context.lifespan_context
        with tool_errors(op.scopes, op.name.replace(op.kind, "get", 1)):
            return concise(await execute(op, app.github, arguments, progress, full=app.settings.full_results))

    return body


def _delete_target(op: Operation) -> Summarise:
    async def summarise(app: AppContext, arguments: dict[str, Any]) -> Target:
        name = arguments["package_name"]
        return Target(await describe_deletion(op, app.github, arguments), name, f"the package name '{name}'")

    return summarise


def _delete_action(op: Operation) -> Act:
    async def act(ctx: Context[AppContext, Any], arguments: dict[str, Any]) -> ConfirmationOutcome:
        result = await execute(op, ctx.request_context.lifespan_context.github, arguments)
        assert isinstance(result, DeletionResult)
        return result

    return act
