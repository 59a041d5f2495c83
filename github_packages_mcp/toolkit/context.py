"""What a tool call reaches: the app built once in the lifespan (`AppContext`) and its services (`Services`), who
calls (`Caller`, worked out once per call), and progress reporting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context

from github_packages_mcp.config import Settings
from github_packages_mcp.github.client import GitHubClient, ProgressCallback
from github_packages_mcp.toolkit.schemas import ResultLimits, keyword

if TYPE_CHECKING:  # the services' modules are imported when they are made (`AppContext.services`)
    from github_packages_mcp.retention.journal import Actor
    from github_packages_mcp.retention.service import Cleanups
    from github_packages_mcp.retention.sources import Sources
    from github_packages_mcp.toolkit.tokens import ConfirmationTokens

__all__ = [
    "CONTEXT",
    "AppContext",
    "Caller",
    "Services",
    "ToolContext",
    "app_of",
    "caller_of",
    "progress_reporter",
]


@dataclass(frozen=True)
class Services:
    """What tool calls keep in the process's state, over the shared client."""

    tokens: ConfirmationTokens
    cleanups: Cleanups  # plans, applies, the journal's history and restores
    sources: Sources  # where cleanups read: the API, and the registry's manifests read once (manifest cache)


@dataclass(frozen=True)
class AppContext:
    """What every tool call can reach: built once in the lifespan, shared by all sessions. Its services are made by
    the first call that uses one: a server starts, and lists its tools, without importing retention."""

    settings: Settings
    github: GitHubClient
    tool_scopes: dict[str, tuple[str, ...]]  # every tool this server offers, and the scopes it needs
    clock: Callable[[], float]  # seconds since the epoch: ages, plan and confirmation expiry
    services: Callable[[], Services]
    result_limits: ResultLimits = "context_window"

    @cached_property
    def _services(self) -> Services:
        return self.services()

    @cached_property
    def tokens(self) -> ConfirmationTokens:
        return self._services.tokens

    @cached_property
    def cleanups(self) -> Cleanups:
        return self._services.cleanups

    @cached_property
    def sources(self) -> Sources:
        return self._services.sources


ToolContext = Context[AppContext, Any]
CONTEXT = keyword("ctx", Context)  # the context parameter of a tool whose signature is built (`schemas.signed`)


@dataclass(frozen=True)
class Caller:
    """Who makes a tool call, worked out once per call (`caller_of`): their token's fingerprint (`identity_of`), the
    MCP client that asked, and whether callers bring their own GitHub tokens (http_auth = "github")."""

    identity: str
    client: str | None
    own_tokens: bool

    def acting_in(self, tool: str) -> Actor:
        """Who acts, for the journal: this caller, through `tool`."""
        from github_packages_mcp.retention.journal import Actor  # imported with the journal, by its first use

        return Actor(self.identity, tool, self.client)

    @property
    def journal_scope(self) -> str | None:
        """Whose journal lines this caller sees: with callers' own GitHub tokens passed through, only their own;
        else everyone's (one operator, whose token may have changed since a deletion)."""
        return self.identity if self.own_tokens else None


def app_of(ctx: ToolContext) -> AppContext:
    return ctx.request_context.lifespan_context


async def caller_of(ctx: ToolContext) -> Caller:
    """Who makes this call. Async, so that as a resolver (`Resolve(caller_of)`) the SDK runs it on the event loop,
    not in a worker thread."""
    app, params = app_of(ctx), ctx.session.client_params
    client = f"{params.client_info.name} {params.client_info.version}" if params is not None else None
    return Caller(app.github.identity, client, app.settings.passes_callers_tokens)


def progress_reporter(ctx: ToolContext, message: str) -> ProgressCallback:
    """Progress notifications for this call; `message` says `{done}` of `{total}` (`?` while unknown)."""

    async def report(done: int, total: int | None) -> None:
        await ctx.report_progress(done, total, message.format(done=done, total="?" if total is None else total))

    return report
