"""What a tool call reaches: the app built once in the lifespan (`AppContext`), progress reporting, and what a
tool is before it is built (`ToolEntry`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool

from github_packages_mcp.config import Settings, Toolset
from github_packages_mcp.github.client import GitHubClient, ProgressCallback
from github_packages_mcp.github.credentials import identity_of
from github_packages_mcp.retention.journal import Actor, Journal
from github_packages_mcp.retention.sources import Sources
from github_packages_mcp.retention.store import CleanupStore
from github_packages_mcp.toolkit.tokens import ConfirmationTokens

__all__ = ["AppContext", "ToolContext", "ToolEntry", "actor_of", "app_of", "journal_caller", "progress_reporter"]


@dataclass(frozen=True)
class AppContext:
    """What every tool call can reach: built once in the lifespan, shared by all sessions."""

    settings: Settings
    github: GitHubClient
    tokens: ConfirmationTokens
    store: CleanupStore
    journal: Journal
    sources: Sources  # where cleanups read: the API, and the registry's manifests read once (manifest cache)
    tool_scopes: dict[str, tuple[str, ...]]  # every tool this server offers, and the scopes it needs
    clock: Callable[[], float]  # seconds since the epoch: ages, plan and confirmation expiry


ToolContext = Context[AppContext, Any]


@dataclass(frozen=True)
class ToolEntry:
    """A tool before it is built: what selection needs to know (its toolset and scopes), and how to build it.
    Whether it only reads is its annotations' word."""

    name: str
    toolset: Toolset
    scopes: tuple[str, ...]
    build: Callable[[], Tool]


def app_of(ctx: ToolContext) -> AppContext:
    return ctx.request_context.lifespan_context


def actor_of(ctx: ToolContext, tool: str) -> Actor:
    """Who is acting in this call, for the journal: the caller's token fingerprint, the MCP client, the tool."""
    params = ctx.session.client_params
    client = f"{params.client_info.name} {params.client_info.version}" if params is not None else None
    return Actor(identity_of(app_of(ctx).github.token), tool, client)


def journal_caller(ctx: ToolContext) -> str | None:
    """Whose journal lines a call sees: with callers' own GitHub tokens passed through, only the caller's own;
    else everyone's (one operator, whose token may have changed since a deletion)."""
    app = app_of(ctx)
    return identity_of(app.github.token) if app.settings.http_auth == "github" else None


def progress_reporter(ctx: ToolContext, message: str) -> ProgressCallback:
    """Progress notifications for this call; `message` says `{done}` of `{total}` (`?` while unknown)."""

    async def report(done: int, total: int | None) -> None:
        await ctx.report_progress(done, total, message.format(done=done, total="?" if total is None else total))

    return report
