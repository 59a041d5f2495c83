"""GitHub's 27 operations as tools: one generic path from a catalogue row to an MCP tool.

Reads and restores run the row through `execute`; deletes are confirmed tools (`toolkit/confirmation.py`): they
read their target, and act once the person agreed. The signatures are built at run time from the row's parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import BaseModel

from github_packages_mcp.errors import StateUnavailable
from github_packages_mcp.github.catalogue import OPERATIONS, Operation
from github_packages_mcp.github.client import GitHubClient, Turn
from github_packages_mcp.github.errors import APIError, GitHubError, NotDeleted, NotFound
from github_packages_mcp.github.execute import describe_deletion, execute, package_gone
from github_packages_mcp.github.listing import Listing
from github_packages_mcp.github.models import DeletionResult, Package
from github_packages_mcp.github.pacing import sent_in_turn
from github_packages_mcp.github.untrusted import quoted
from github_packages_mcp.insights.suggest import owner_checked, what_exists
from github_packages_mcp.retention.journal import Actor, JournalResult, Subject
from github_packages_mcp.toolkit.advice import owner_known, tool_error_message, tool_errors
from github_packages_mcp.toolkit.confirmation import ConfirmationTarget, confirmed_tool
from github_packages_mcp.toolkit.context import (
    CONTEXT,
    AppContext,
    Caller,
    ToolContext,
    app_of,
    caller_of,
    progress_reporter,
)
from github_packages_mcp.toolkit.entries import ToolEntry
from github_packages_mcp.toolkit.schemas import MAX_RESULT_TEXT, build_tool, concise, keyword, signed

__all__ = ["operation_entries"]

log = logging.getLogger("github_packages_mcp")


def operation_entries() -> tuple[ToolEntry, ...]:
    """One tool per catalogue row; its toolset is the operation's kind (read, delete, restore)."""
    return tuple(ToolEntry(op.name, op.kind, op.scopes, partial(_operation_tool, op)) for op in OPERATIONS)


def _operation_tool(op: Operation) -> Tool:
    params = [keyword(p.name, p.annotation, p.default) for p in op.params]
    return build_tool(
        _delete_tool(op, params) if op.kind == "delete" else _plain_body(op, params),
        name=op.name,
        description=op.description,
        # Explicit read-only and destructive hints; the others keep their defaults (open world, not idempotent).
        annotations=ToolAnnotations(
            read_only_hint=op.kind == "read", destructive_hint=None if op.kind == "read" else op.kind == "delete"
        ),
        # GitHub's operationId is not published: 1.7 KB of every tools/list that models do not use, spent instead on
        # a length bound for every string argument. The catalogue keeps it; the README's table names each endpoint.
    )


def _check_with(op: Operation) -> str:
    """The read tool that shows whether a failed request of `op` took effect."""
    return op.name if op.kind == "read" else op.sibling("get").name


def _plain_body(op: Operation, params: list[Any]) -> Callable[..., Any]:
    async def body(ctx: ToolContext, **arguments: Any) -> CallToolResult:
        app = app_of(ctx)
        progress = progress_reporter(ctx, "read {done} of {total} pages")
        with tool_errors(op.scopes, _check_with(op)):
            try:
                sent = partial(
                    execute,
                    op,
                    app.github,
                    arguments,
                    progress,
                    full=app.settings.full_results,
                    max_text=MAX_RESULT_TEXT if app.result_limits == "context_window" else None,
                )
                if op.kind == "restore":
                    actor = (await caller_of(ctx)).acting_in(op.name)
                    result = await _journaled(app, actor, op, Subject.of(arguments), lambda turn: sent(turn=turn))
                else:
                    result = await sent()
            except NotFound as exc:
                raise await _explained(op, app.github, arguments, exc) from None
            if isinstance(result, Listing) and not result.items and result.page > 1:
                result = await _past_the_end(op, app.github, arguments, result)
        return concise(result, declared_only=not app.settings.full_results)

    return signed(body, op.name, [*params, CONTEXT], Annotated[CallToolResult, op.result])


async def _explained(op: Operation, github: GitHubClient, arguments: dict[str, Any], exc: NotFound) -> Exception:
    """The 404 with what does exist said after it (the owner at all, then near the package), or the 404 itself
    when nothing more can be said."""
    exc = await owner_checked(github, exc)
    if "package_name" not in arguments or exc.owner_exists is False:
        return exc
    hint = await what_exists(github, arguments, restoring=op.kind == "restore")
    return exc if hint is None else ToolError(f"{tool_error_message(exc, op.scopes, _check_with(op))} {hint}")


async def _past_the_end(op: Operation, github: GitHubClient, arguments: dict[str, Any], empty: Listing) -> Listing:
    """An empty page past a listing's end, saying where the listing ends (one more request: its first page)."""
    first = await execute(op, github, {**arguments, "page": 1})
    assert isinstance(first, Listing)
    last = first.last_page or (1 if first.items else 0)
    return empty.model_copy(
        update={
            "last_page": last or None,
            "message": f"Page {empty.page} is past the end: the listing has {last} page(s) of {empty.per_page}.",
        }
    )


@dataclass(frozen=True)
class DeleteTarget(ConfirmationTarget):
    """What a delete acts on, as read before asking, and as the journal records it; `last_version`: a version that
    is its package's last, which GitHub may delete the package with."""

    subject: Subject
    last_version: bool


Send = Callable[[Turn], Awaitable[BaseModel]]
Then = Callable[[BaseModel], Awaitable[BaseModel]]


async def _journaled(
    app: AppContext, actor: Actor, op: Operation, subject: Subject, send: Send, then: Then | None = None
) -> BaseModel:
    """A delete's or restore's request, and its journal lines: what GitHub answered, or that it refused.

    A cancel while the request waits for its turn sends nothing and journals nothing. Once the turn is held, it
    is shielded: a delete is journaled as intended before it is sent (no journal, no delete), so a delete whose
    outcome could not be written is still known, and can be restored; a cancelled call still journals a request
    that went out. `then` runs after the outcome is journaled, in the same shield (what else GitHub did). A result
    that cannot be journaled does not hide what GitHub did: the result says so.
    """

    async def in_turn(turn: Turn) -> BaseModel:
        result = await _sent_journaled(app, actor, op, subject, partial(send, turn))
        return result if then is None else await then(result)

    def refused(exc: StateUnavailable) -> StateUnavailable:  # the pacing replicas share did not answer
        return StateUnavailable(f"Nothing was {'deleted' if op.kind == 'delete' else 'restored'}: {exc}")

    return await sent_in_turn(app.github.turn(op.method), in_turn, refused)


async def _sent_journaled(
    app: AppContext, actor: Actor, op: Operation, subject: Subject, send: Callable[[], Awaitable[BaseModel]]
) -> BaseModel:
    """`send`, between its journal lines (`_journaled`)."""
    done: JournalResult = "deleted" if op.kind == "delete" else "restored"
    failed: JournalResult = "failed" if op.kind == "delete" else "restore_failed"
    if op.kind == "delete":
        try:
            await app.cleanups.journal.record(actor, subject, "deleting")
        except StateUnavailable as exc:
            raise StateUnavailable(f"Nothing was deleted: {exc}") from None
    try:
        result = await send()
    except GitHubError as exc:
        detail = exc.message if isinstance(exc, NotDeleted) else _detail(exc)
        try:
            await app.cleanups.journal.record(actor, subject, failed, detail)
        except StateUnavailable:  # the journal's disk or shared state
            log.warning("%s failed and could not be journaled", op.name)
        raise
    try:
        await app.cleanups.journal.record(actor, subject, done)
    except StateUnavailable:
        return _noted(result, "Its outcome is not in the journal: the server could not write it (its log says why).")
    return result


def _detail(exc: GitHubError) -> str:
    return f"{exc.status}: {exc.message}" if isinstance(exc, APIError) else exc.message[:300]


def _noted(result: BaseModel, note: str) -> BaseModel:
    message = getattr(result, "message", None) or ""
    return result.model_copy(update={"message": f"{message} {note}".strip()})


async def _package_gone_too(app: AppContext, actor: Actor, target: DeleteTarget, result: BaseModel) -> BaseModel:
    """After a package's last version was deleted: if GitHub deleted the package with it, journal the package's
    deletion too, so that restore_from_journal brings it back (before the version)."""
    subject = target.subject
    if not target.last_version or subject.version_id is None:
        return result
    try:
        if not await package_gone(app.github, subject.arguments()):
            return result
    except GitHubError as exc:
        return _noted(result, f"Whether GitHub deleted the package with its last version is unknown: {exc.message}.")
    package = subject.model_copy(
        update={"version_id": None, "name": None, "tags": None, "deleted_with": subject.version_id}
    )
    name = quoted(subject.package_name)
    try:
        await app.cleanups.journal.record(actor, package, "deleted", "GitHub deleted the package with its last version")
    except StateUnavailable:
        return _noted(
            result, f"GitHub deleted the package {name} with it, its last version; that is not in the journal."
        )
    return _noted(
        result,
        f"GitHub deleted the package {name} with it, its last version; restore_from_journal with version_ids "
        f"[{subject.version_id}] brings both back.",
    )


def _delete_tool(op: Operation, params: list[Any]) -> Callable[..., Any]:
    return confirmed_tool(
        op.name,
        params,
        partial(_delete_target, op),
        partial(_deleted, op),
        DeletionResult,
        partial(tool_errors, op.scopes, _check_with(op)),
    )


async def _delete_target(op: Operation, ctx: ToolContext, caller: Caller, arguments: dict[str, Any]) -> DeleteTarget:
    github = app_of(ctx).github
    async with owner_known(github):
        described = await describe_deletion(op, github, arguments)
    found, package = described.found, described.package
    known: dict[str, Any] = (
        {"package_id": found.id} if isinstance(found, Package) else {"name": found.name, "tags": found.tags}
    )
    if package is not None:
        known["package_id"] = package.id
    name = arguments["package_name"]
    subject = Subject.of(arguments, **known)
    return DeleteTarget(described.summary, name, f"the package name {quoted(name)}", subject, described.last_version)


async def _deleted(
    op: Operation, ctx: ToolContext, actor: Actor, target: DeleteTarget, arguments: dict[str, Any]
) -> DeletionResult:
    app = app_of(ctx)

    async def send(turn: Turn) -> BaseModel:
        return await execute(op, app.github, arguments, turn=turn)

    then = partial(_package_gone_too, app, actor, target)
    result = await _journaled(app, actor, op, target.subject, send, then)
    assert isinstance(result, DeletionResult)
    return result
