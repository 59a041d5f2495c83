"""The MCP server: the tools selected by the settings, over one shared GitHub client.

Data flows one way: `Settings` -> the process's state (`process_state`: files under journal_dir, or Redis with
`state_url`) and the shared `GitHubClient`, both opened in the lifespan -> the tools in `tools/` (`operations.py`
for GitHub's 27 operations, `cleanup.py` for retention cleanups, `audit.py` for audits) -> the server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial

import httpx2
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer, RequestStateSecurity
from mcp.server.mcpserver.tools import Tool
from mcp.server.request_state import AESGCMRequestStateCodec

from github_packages_mcp import __version__
from github_packages_mcp.config import ConfigError, Settings
from github_packages_mcp.errors import GitHubPackagesError
from github_packages_mcp.github.catalogue import AUTHENTICATED_USER
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.manifests import ManifestCache
from github_packages_mcp.github.redaction import redact
from github_packages_mcp.server.resources import add_prompts, add_resources, prompt_errors
from github_packages_mcp.server.review_app import review_app
from github_packages_mcp.spelling import closest
from github_packages_mcp.state.opening import ProcessState, open_state
from github_packages_mcp.state.peers import State
from github_packages_mcp.toolkit.context import AppContext, Services
from github_packages_mcp.toolkit.entries import ToolEntry
from github_packages_mcp.toolkit.schemas import ResultLimits
from github_packages_mcp.toolkit.tokens import ConfirmationTokens, ServerKeys
from github_packages_mcp.tools.definitions import published_entries

__all__ = ["build_server", "process_state", "select_tools", "tool_entries"]

log = logging.getLogger("github_packages_mcp")

SERVER_NAME = "github-packages-mcp"
# Guidance that applies to many tools is said once here (sent at connection), not repeated in every schema.
INSTRUCTIONS = (
    "Manage GitHub Packages. A classic token needs read:packages to read, delete:packages to delete and "
    "write:packages to restore. "
    "Tool names say the owner: my_ (the token's user), org_ (an organization), "
    "user_ (another user); tools taking org or username work on your own packages when given neither. "
    "package_type: images on ghcr.io are 'container' ('docker' is the old docker.pkg.github.com registry), "
    "Gradle packages are 'maven'. Package names may contain '/' (pass them as they are). "
    "Deletes never happen without the person's confirmation: either a form they fill in, or a result with "
    "confirmation_required true, whose summary you must show them before calling again with its "
    "confirmation_token (until its expires_at). "
    "GitHub refuses to delete a public package or version with over 5,000 downloads, and may refuse a package's "
    "last version or delete the package with it. Deleted packages and versions can be restored within 30 days, "
    "unless the name was reused. "
    "Cleanups: plan_version_cleanup first (deletes nothing), then apply_version_cleanup. "
    "Every delete and restore is journaled: list_deletion_history says what was deleted when, and "
    "restore_from_journal brings it back without needing names."
)


def tool_entries() -> tuple[ToolEntry, ...]:
    """Every tool this server can offer, in the order clients list them (listed from their shipped definitions,
    each built when first called: `tools/definitions.py`)."""
    return published_entries()


def select_tools(settings: Settings) -> dict[ToolEntry, Tool]:
    """The tools to expose, filtered in this order: toolsets, then explicit tool names, then read-only mode
    (a tool only reads when its annotations say so).

    Raises:
        ConfigError: If `tools` names a tool that does not exist.
    """
    entries = tool_entries()
    if settings.tools is not None:
        unknown = sorted(set(settings.tools) - {entry.name for entry in entries})
        if unknown:
            named = ", ".join(_with_closest(name[:100], [entry.name for entry in entries]) for name in unknown)
            raise ConfigError(f"unknown tools: {named}; see `github-packages-mcp tools`")
        entries = tuple(entry for entry in entries if entry.name in settings.tools)
    else:
        entries = tuple(entry for entry in entries if entry.toolset in settings.toolsets)
    built = {entry: entry.build() for entry in entries}
    return {entry: tool for entry, tool in built.items() if not settings.read_only or _reads_only(tool)}


def _with_closest(name: str, known: list[str]) -> str:
    return f"{name} (did you mean {close}?)" if (close := closest(name, known)) else name


def _reads_only(tool: Tool) -> bool:
    return tool.annotations is not None and tool.annotations.read_only_hint is True


def _app_context(
    settings: Settings,
    github: GitHubClient,
    state: State,
    keys: ServerKeys,
    clock: Callable[[], float],
    result_limits: ResultLimits,
) -> AppContext:
    """What every tool call reaches; its services are made by the first call that uses one (`_services`)."""
    return AppContext(
        settings=settings,
        github=github,
        tool_scopes={entry.name: entry.scopes for entry in tool_entries()},
        clock=clock,
        services=partial(_services, settings, github, state, keys, clock, result_limits),
        result_limits=result_limits,
    )


def _services(
    settings: Settings,
    github: GitHubClient,
    state: State,
    keys: ServerKeys,
    clock: Callable[[], float],
    result_limits: ResultLimits,
) -> Services:
    """Plans, the journal, spent tokens and manifests, kept in the process's `state`. Retention is imported here,
    by the first call that needs it: it was a third of the time our modules took to import at start."""
    from github_packages_mcp.retention.journal import Journal
    from github_packages_mcp.retention.service import Cleanups
    from github_packages_mcp.retention.sources import Sources
    from github_packages_mcp.retention.store import CleanupStore

    sources = Sources(github, settings.registry_url, ManifestCache(state.manifests))
    return Services(
        tokens=ConfirmationTokens(
            settings.confirmation_ttl_seconds, secret=keys.source("confirmation"), clock=clock, ledger=state.ledger
        ),
        cleanups=Cleanups(
            sources,
            store=CleanupStore(state.plans, keys.source("plans"), clock=clock, plan_ttl_days=settings.plan_ttl_days),
            journal=Journal(state.journal, keys.source("journal"), clock=clock),
            clock=clock,
            whole=result_limits == "none",
        ),
        sources=sources,
    )


def process_state(settings: Settings, clock: Callable[[], float] = time.time) -> ProcessState:
    """The state the settings choose (Redis with `state_url`, else files under journal_dir), not opened yet."""
    return ProcessState(
        partial(
            open_state,
            settings.journal_dir,
            settings.state_url,
            prefix=settings.state_prefix,
            clock=clock,
            plan_ttl_days=settings.plan_ttl_days,
        )
    )


def build_server(
    settings: Settings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    state: ProcessState | None = None,
    result_limits: ResultLimits = "context_window",
) -> MCPServer[AppContext]:
    """Build the MCP server; its state and the GitHub client open when the server starts and close when it stops.

    `clock` (seconds since the epoch) is what ages, plan and confirmation expiries are measured against. `state` is
    the process's when other parts of the process share it (what opened it first, the HTTP app's listener for
    other replicas' cancellations); else the server has its own (`process_state`). `result_limits` "none" is the
    command line's in-memory server's alone: no setting or variable reaches it, so MCP clients always get results
    sized for a context window.

    Raises:
        ConfigError: If the settings select tools that do not exist.
    """
    shared = settings.shared_secret.get_secret_value() if settings.shared_secret else None
    # One secret (shared_secret, else `<journal_dir>/key`, made on first use), a key per purpose.
    keys = ServerKeys(settings.journal_dir, shared)
    selected = select_tools(settings)
    passing_through = settings.passes_callers_tokens  # each HTTP caller's own token, not settings.token
    kept = state or process_state(settings, clock)

    @asynccontextmanager
    async def lifespan(server: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with (
            kept as opened,
            GitHubClient.from_settings(
                settings, transport, _caller_token if passing_through else None, shared_pacing=opened.pacing
            ) as github,
        ):
            if settings.hide_unusable_tools and settings.token is not None and not passing_through:
                await _hide_unusable_tools(server, github, selected)
            yield _app_context(settings, github, opened, keys, clock, result_limits)

    server = MCPServer(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level,
        tools=list(selected.values()),
        # Sealed under the server's key: a confirmation form answered through one replica (with a shared secret)
        # or before a restart resumes on any other.
        request_state_security=RequestStateSecurity(codec=_RequestStateCodec(keys.source("request-state"))),
        middleware=[prompt_errors],
        extensions=[review_app()],
    )
    add_resources(server)
    add_prompts(server, {entry.name for entry in selected})
    return server


class _RequestStateCodec:
    """The SDK's AES-GCM request-state codec under the server's request-state key, made when first needed (so
    building a server touches no disk)."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key
        self._codec: AESGCMRequestStateCodec | None = None

    def seal(self, payload: bytes) -> str:
        return self._made().seal(payload)

    def unseal(self, token: str) -> bytes:
        return self._made().unseal(token)

    def _made(self) -> AESGCMRequestStateCodec:
        if self._codec is None:
            self._codec = AESGCMRequestStateCodec([self._key()])
        return self._codec


def _caller_token() -> str | None:
    """The GitHub token the current HTTP request authenticated with (pass-through mode)."""
    access = get_access_token()
    return access.token if access is not None else None


async def _hide_unusable_tools(
    server: MCPServer[AppContext], github: GitHubClient, entries: Iterable[ToolEntry]
) -> None:
    """Drop the tools the token's scopes cannot use, when GitHub says what they are (classic tokens)."""
    from github_packages_mcp.insights.token import granted_scopes, missing_scopes  # not needed with this option off

    try:
        granted = granted_scopes((await github.request("GET", AUTHENTICATED_USER)).headers.get("x-oauth-scopes"))
    except GitHubPackagesError as exc:  # the tools stay; each call will say what is wrong
        # Already without the token (github/errors.py); redacted again, as this line reaches every log.
        log.warning("could not read the token's scopes, all tools stay listed: %s", redact(str(exc), github.token))
        return
    if granted is None:
        return
    for entry in entries:
        if missing := missing_scopes(entry.scopes, granted):
            log.info("hiding %s: the token lacks %s", entry.name, ", ".join(missing))
            server.remove_tool(entry.name)
