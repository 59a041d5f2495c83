"""The plan review app (MCP Apps: docs/apps.md) as tools see it: the `ui://` resource they name in their
definitions, and the whole plan or audit a result carries in its `_meta` for clients that show apps, and only for
them (a client without Apps gets today's result, byte for byte).

Per the Apps specification a result's `_meta` reaches the app and is not meant for the model's context, so it can
hold what a result cut for a context window leaves out (docs/sdk-notes.md, "MCP Apps").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from mcp.server.apps import client_supports_apps
from mcp_types import CallToolResult

__all__ = ["APP_URI", "AUDIT_KEY", "PLAN_KEY", "for_app", "shown_in_app"]

APP_URI = "ui://github-packages-mcp/review.html"
PLAN_KEY = "io.github.github-packages-mcp/plan"  # a plan whole (retention/review.py)
AUDIT_KEY = "io.github.github-packages-mcp/audit"  # an audit with its versions per month (insights/audit.py)


def shown_in_app(visibility: Sequence[Literal["model", "app"]] | None = None) -> dict[str, Any]:
    """A tool's `_meta` naming the app that shows its results (`visibility`: who may call it; both when None)."""
    ui: dict[str, Any] = {"resourceUri": APP_URI}
    if visibility is not None:
        ui["visibility"] = list(visibility)
    return {"ui": ui}


def for_app(ctx: Any, result: CallToolResult, key: str, whole: Callable[[], dict[str, Any] | None]) -> CallToolResult:
    """`result`, with `whole()` under `_meta[key]` when the client negotiated Apps (made only then)."""
    if not result.is_error and client_supports_apps(ctx) and (data := whole()) is not None:
        result.meta = {**(result.meta or {}), key: data}
    return result
