"""The MCP server: every catalogue row becomes a tool through one generic path.

Data flows one way: `Settings` -> the shared `GitHubClient` (opened in the lifespan) -> the operation
catalogue -> tools registered here. Deletes go through `confirmation.py` before any DELETE is sent.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import httpx
from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    MCPServer,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel

from github_packages_mcp import __version__
from github_packages_mcp.client import GitHubClient
from github_packages_mcp.config import ConfirmationMode, Settings
from github_packages_mcp.errors import GitHubError
from github_packages_mcp.server.confirmation import (
    ConfirmationTokens,
    DeletionConfirmation,
    TokenRejected,
    can_elicit,
)
from github_packages_mcp.server.errors import tool_error_message
from github_packages_mcp.tools.catalogue import OPERATIONS, Operation, optional_field
from github_packages_mcp.tools.execute import InvalidArguments, describe_deletion, execute
from github_packages_mcp.tools.models import DeletionResult

__all__ = ["AppContext", "build_server", "selected_operations"]

SERVER_NAME = "github-packages-mcp"
INSTRUCTIONS = (
    "Manage GitHub Packages. Tool names say the owner: my_ (the token's user), org_ (an organization), "
    "user_ (another user). Deletes never happen without the person's confirmation: either a form they "
    "fill in, or a confirmation_required result whose summary you must show them before calling again "
    "with its confirmation_token."
)


@dataclass(frozen=True)
class AppContext:
    """What every tool call can reach: built once in the lifespan, shared by all sessions."""

    settings: Settings
    github: GitHubClient
    tokens: ConfirmationTokens


def selected_operations(settings: Settings) -> tuple[Operation, ...]:
    """The operations to expose: read-only mode drops every delete and restore."""
    return tuple(op for op in OPERATIONS if not settings.read_only or op.kind == "read")


def build_server(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> MCPServer[AppContext]:
    """Build the MCP server; the GitHub client opens when the server starts and closes when it stops."""
    tokens = ConfirmationTokens(settings.confirmation_ttl_seconds, clock=clock)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with GitHubClient.from_settings(settings, transport) as github:
            yield AppContext(settings=settings, github=github, tokens=tokens)

    server: MCPServer[AppContext] = MCPServer(
        SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, lifespan=lifespan, log_level=settings.log_level
    )
    for op in selected_operations(settings):
        _register(server, op, settings.confirmation)
    return server


def _register(server: MCPServer[AppContext], op: Operation, mode: ConfirmationMode) -> None:
    params = [_keyword(p.name, p.annotation, p.default) for p in op.params]
    if op.kind == "delete":
        params += _confirmation_params(op, params, mode)
        body: Callable[..., Any] = _delete_body(op, mode)
    else:
        body = _plain_body(op)
    server.add_tool(
        _signed(body, op.name, [*params, _keyword("ctx", Context)], op.result),
        name=op.name,
        description=op.description,
        annotations=ToolAnnotations(
            read_only_hint=op.kind == "read",
            destructive_hint=op.kind == "delete",
            idempotent_hint=op.kind == "read",
            open_world_hint=True,
        ),
        meta={"github/operationId": op.operation_id},
    )


def _plain_body(op: Operation) -> Callable[..., Any]:
    async def body(ctx: Context[AppContext, Any], **arguments: Any) -> BaseModel:
        async def progress(done: int, total: int | None) -> None:
            await ctx.report_progress(done, total, f"read {done} of {total or '?'} pages")

        with _tool_errors(op):
            return await execute(op, ctx.request_context.lifespan_context.github, arguments, progress)

    return body


def _confirmation_params(op: Operation, tool_params: list[inspect.Parameter], mode: ConfirmationMode) -> list[Any]:
    """The token argument, plus two resolvers filled before the body runs and hidden from the schema:
    `summary` looks the target up on GitHub, `answer` asks the person when the client can show a form."""

    async def summarise(ctx: Context[AppContext, Any], **arguments: Any) -> str:
        with _tool_errors(op):
            return await describe_deletion(op, ctx.request_context.lifespan_context.github, arguments)

    async def ask(
        ctx: Context[AppContext, Any], summary: str, confirmation_token: str | None, package_name: str
    ) -> Elicit[DeletionConfirmation] | None:
        if mode == "token" or confirmation_token or not can_elicit(ctx):
            return None
        return Elicit(
            f"Permanently delete {summary}?\nType the package name '{package_name}' to confirm.",
            DeletionConfirmation,
        )

    token = _keyword(
        "confirmation_token",
        Annotated[str | None, optional_field("From a confirmation_required result, once the person agreed")],
        None,
    )
    summarise = _signed(summarise, f"{op.name}_summary", [*tool_params, _keyword("ctx", Context)], str)
    summary_param = _keyword("summary", Annotated[str, Resolve(summarise)])
    ask_params = [
        _keyword("ctx", Context),
        summary_param,
        _keyword("confirmation_token", str | None),
        _keyword("package_name", str),
    ]
    answer = Annotated[
        ElicitationResult[DeletionConfirmation],
        Resolve(_signed(ask, f"{op.name}_ask", ask_params, Elicit[DeletionConfirmation] | None)),
    ]
    return [token, summary_param, _keyword("answer", answer)]


def _delete_body(op: Operation, mode: ConfirmationMode) -> Callable[..., Any]:
    async def body(
        ctx: Context[AppContext, Any],
        summary: str,
        answer: ElicitationResult[DeletionConfirmation],
        confirmation_token: str | None,
        **arguments: Any,
    ) -> DeletionResult:
        app = ctx.request_context.lifespan_context
        with _tool_errors(op):
            if confirmation_token:
                if mode == "elicitation":
                    raise ToolError("Nothing was deleted: this server confirms deletions with a form, not tokens.")
                try:
                    app.tokens.redeem(confirmation_token, op.name, arguments, summary)
                except TokenRejected as exc:
                    raise ToolError(f"Nothing was deleted: {exc}.") from None
                return await _delete(op, app, arguments)
            match answer:
                case AcceptedElicitation(data=DeletionConfirmation(confirm=typed)):
                    if typed.strip() == arguments["package_name"]:
                        return await _delete(op, app, arguments)
                    expected = arguments["package_name"]
                    return _not_deleted("not_confirmed", f"the answer '{typed}' was not the package name '{expected}'")
                case DeclinedElicitation():
                    return _not_deleted("declined", "the person declined")
                case CancelledElicitation():
                    return _not_deleted("cancelled", "the person cancelled")
            # No form was shown: this client cannot show one, or the server is configured for tokens.
            if mode == "elicitation":
                raise ToolError(
                    "Nothing was deleted: this server requires confirmation through a form (MCP elicitation) "
                    "and this client cannot show one. Use a client that supports elicitation, or set "
                    'confirmation = "auto" in the configuration.'
                )
            return _confirmation_required(op, app, arguments, summary)

    return body


async def _delete(op: Operation, app: AppContext, arguments: Mapping[str, Any]) -> DeletionResult:
    result = await execute(op, app.github, arguments)
    assert isinstance(result, DeletionResult)
    return result


def _not_deleted(status: Literal["declined", "cancelled", "not_confirmed"], reason: str) -> DeletionResult:
    return DeletionResult(deleted=False, status=status, message=f"Nothing was deleted: {reason}.")


def _confirmation_required(
    op: Operation, app: AppContext, arguments: Mapping[str, Any], summary: str
) -> DeletionResult:
    token, expires = app.tokens.issue(op.name, arguments, summary)
    return DeletionResult(
        deleted=False,
        status="confirmation_required",
        confirmation_required=True,
        summary=f"This will permanently delete {summary}.",
        confirmation_token=token,
        expires_at=expires.isoformat().replace("+00:00", "Z"),
        message=(
            "Nothing was deleted yet. Show the summary to the person; only if they agree, call "
            f"{op.name} again with the same arguments plus confirmation_token."
        ),
    )


@contextmanager
def _tool_errors(op: Operation) -> Iterator[None]:
    """Turn what the user or GitHub can fix into a readable tool error."""
    try:
        yield
    except GitHubError as exc:
        raise ToolError(tool_error_message(exc, op)) from None
    except InvalidArguments as exc:
        raise ToolError(f"Invalid arguments, nothing was sent: {exc}") from None


def _keyword(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _signed(fn: Callable[..., Any], name: str, params: list[inspect.Parameter], returns: Any) -> Callable[..., Any]:
    """Give a generic `**arguments` function the exact signature the SDK reads schemas and resolvers from."""
    fn.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    fn.__name__ = fn.__qualname__ = name
    return fn
