"""The package audit as a tool: audit_packages (reads only). The work itself is in `tools/audit.py`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations

from github_packages_mcp.config import Settings
from github_packages_mcp.server.toolkit import (
    OWNER_PARAMS,
    AppContext,
    ToolEntry,
    build_tool,
    concise,
    keyword,
    owner_of,
    signed,
    tool_errors,
)
from github_packages_mcp.tools.audit import Audit, audit
from github_packages_mcp.tools.catalogue import arg, scopes_for
from github_packages_mcp.tools.models import PACKAGE_TYPES, PackageType

__all__ = ["audit_entries", "now"]

READ = scopes_for("read")


def audit_entries() -> tuple[ToolEntry, ...]:
    return (ToolEntry("audit_packages", "audit", True, READ, _audit_tool),)


def now() -> datetime:
    """The time ages are measured against (a module function, so tests can follow the sandbox's clock)."""
    return datetime.now(UTC)


def _audit_tool(_settings: Settings) -> Tool:
    async def audit_packages(ctx: Context[AppContext, Any], **arguments: Any) -> CallToolResult:
        app = ctx.request_context.lifespan_context
        owner = owner_of(arguments["org"], arguments["username"])

        async def progress(done: int, total: int | None) -> None:
            await ctx.report_progress(done, total, f"audited {done} of {total} package(s)")

        with tool_errors(READ, "list_org_packages"):
            result = await audit(
                app.github, owner, list(dict.fromkeys(arguments["package_types"])), arguments["stale_after_days"],
                arguments["include_versions"], now(), progress,
            )  # fmt: skip
        return concise(result)

    params = [
        *OWNER_PARAMS,
        keyword("package_types", Annotated[list[PackageType], arg(min_length=1)], list(PACKAGE_TYPES)),
        keyword(
            "stale_after_days",
            Annotated[int, arg("Stale: no new version in this many days", strict=True, ge=1)],
            90,
        ),
        keyword(
            "include_versions",
            Annotated[bool, arg("Also read the versions", strict=True)],
            True,
        ),
    ]
    return build_tool(
        signed(audit_packages, "audit_packages", [*params, keyword("ctx", Context)], Annotated[CallToolResult, Audit]),
        name="audit_packages",
        description=(
            "Audit an owner's packages: versions, last update, visibility, stale and public ones, and deleted "
            "versions still restorable."
        ),
        annotations=ToolAnnotations(read_only_hint=True),
    )
