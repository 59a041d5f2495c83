"""The MCP server: every catalogue row becomes a tool through one generic path.

Data flows one way: `Settings` -> the shared `GitHubClient` (opened in the lifespan) -> the operation
catalogue -> tools registered here. Deletes go through `confirmation.py` before any DELETE is sent.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

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
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from github_packages_mcp import __version__
from github_packages_mcp.client import GitHubClient
from github_packages_mcp.config import ConfigError, ConfirmationMode, Settings, Toolset
from github_packages_mcp.errors import GitHubError
from github_packages_mcp.server.confirmation import (
    ConfirmationTokens,
    DeletionConfirmation,
    TokenRejected,
    can_elicit,
)
from github_packages_mcp.server.errors import tool_error_message
from github_packages_mcp.tools.catalogue import OPERATIONS, Operation, arg
from github_packages_mcp.tools.execute import InvalidArguments, describe_deletion, execute
from github_packages_mcp.tools.models import ConfirmationOutcome, DeletionResult
from github_packages_mcp.tools.retention import RulesError

__all__ = ["AppContext", "ToolEntry", "build_server", "select_tools", "tool_entries"]

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


@dataclass(frozen=True)
class ToolEntry:
    """A tool before it is built: what filtering needs to know, and how to build it."""

    name: str
    toolset: Toolset
    read_only: bool
    scopes: tuple[str, ...]
    build: Callable[[Settings], Tool]


def tool_entries() -> tuple[ToolEntry, ...]:
    """Every tool this server can offer, in the order clients list them."""
    return tuple(
        ToolEntry(op.name, op.kind, op.kind == "read", op.scopes, partial(_operation_tool, op)) for op in OPERATIONS
    )


def select_tools(settings: Settings) -> tuple[ToolEntry, ...]:
    """The tools to expose, filtered in this order: toolsets, then explicit tool names, then read-only mode.

    Raises:
        ConfigError: If `tools` names a tool that does not exist.
    """
    entries = tool_entries()
    if settings.tools is not None:
        unknown = sorted(set(settings.tools) - {entry.name for entry in entries})
        if unknown:
            raise ConfigError(f"unknown tools: {', '.join(unknown)}; see `github-packages-mcp tools`")
        entries = tuple(entry for entry in entries if entry.name in settings.tools)
    else:
        entries = tuple(entry for entry in entries if entry.toolset in settings.toolsets)
    return tuple(entry for entry in entries if entry.read_only or not settings.read_only)


def build_server(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
) -> MCPServer[AppContext]:
    """Build the MCP server; the GitHub client opens when the server starts and closes when it stops.

    Raises:
        ConfigError: If the settings select tools that do not exist.
    """
    tokens = ConfirmationTokens(settings.confirmation_ttl_seconds, clock=clock)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with GitHubClient.from_settings(settings, transport) as github:
            yield AppContext(settings=settings, github=github, tokens=tokens)

    return MCPServer(
        SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level,
        tools=[entry.build(settings) for entry in select_tools(settings)],
    )


def _operation_tool(op: Operation, settings: Settings) -> Tool:
    params = [_keyword(p.name, p.annotation, p.default) for p in op.params]
    if op.kind == "delete":
        errors = partial(_tool_errors, op.scopes, op.name.replace("delete_", "get_", 1))
        fn = _confirmed(
            op.name, params, _delete_target(op), _delete_action(op), DeletionResult, errors, settings.confirmation
        )
    else:
        fn = _signed(
            _plain_body(op), op.name, [*params, _keyword("ctx", Context)], Annotated[CallToolResult, op.result]
        )
    return _tool(
        fn,
        name=op.name,
        description=op.description,
        # Explicit read-only and destructive hints; the others keep their defaults (open world, not idempotent).
        annotations=ToolAnnotations(
            read_only_hint=op.kind == "read", destructive_hint=None if op.kind == "read" else op.kind == "delete"
        ),
        meta={"github/operationId": op.operation_id},
    )


def _tool(fn: Callable[..., Any], **kwargs: Any) -> Tool:
    """An SDK tool with compact schemas, since tool lists eat the client's context window.

    The input schema loses only titles (property names say it); every type, enum, bound, default and
    required field stays. The output schema describes results rather than constrains calls, so it keeps
    their shape and types only, inlined (results are still checked against the full model before sending).
    """
    tool = Tool.from_function(fn, **kwargs)
    tool.parameters.pop("title", None)
    for prop in tool.parameters.get("properties", {}).values():
        prop.pop("title", None)
    if tool.fn_metadata.output_schema is not None:
        schema = tool.fn_metadata.output_schema
        tool.fn_metadata.output_schema = _compact_output(schema, schema.get("$defs", {}))
    return tool


def _compact_output(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _compact_output(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    arms = [arm for arm in schema.get("anyOf", []) if arm != {"type": "null"}]
    if len(arms) == 1 < len(schema["anyOf"]):  # nullable: the one real type, or null
        real = _compact_output(arms[0], defs)
        return real | {"type": [real["type"], "null"]}
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            compact[key] = {name: _compact_output(prop, defs) for name, prop in value.items()}
        elif key == "items":
            compact[key] = _compact_output(value, defs)
        elif key in ("type", "format"):
            compact[key] = value
    return compact


def _plain_body(op: Operation) -> Callable[..., Any]:
    async def body(ctx: Context[AppContext, Any], **arguments: Any) -> CallToolResult:
        async def progress(done: int, total: int | None) -> None:
            await ctx.report_progress(done, total, f"read {done} of {total or '?'} pages")

        app = ctx.request_context.lifespan_context
        with _tool_errors(op.scopes, op.name.replace(op.kind, "get", 1)):
            return concise(await execute(op, app.github, arguments, progress, full=app.settings.full_results))

    return body


@dataclass(frozen=True)
class Target:
    """What a destructive call would destroy, read just before asking: the words for the person, and the answer
    they must type to agree."""

    summary: str
    answer: str
    answer_hint: str  # e.g. "the package name 'web/api'"


Summarise = Callable[[AppContext, dict[str, Any]], Awaitable[Target]]
Act = Callable[[Context[AppContext, Any], dict[str, Any]], Awaitable[ConfirmationOutcome]]


def _confirmed(
    name: str,
    params: list[inspect.Parameter],
    summarise: Summarise,
    act: Act,
    outcome: type[ConfirmationOutcome],
    errors: Callable[[], AbstractContextManager[None]],
    mode: ConfirmationMode,
) -> Callable[..., Any]:
    """A tool function that acts only after explicit confirmation, by form or by single-use token.

    Two resolvers run before the body and stay out of the input schema: `target` reads what would be destroyed,
    `answer` asks the person when the client can show a form. Without a form the first call returns
    `confirmation_required` with a token bound to this tool, these arguments and the summary shown.
    """

    async def read_target(ctx: Context[AppContext, Any], **arguments: Any) -> Target:
        with errors():
            return await summarise(ctx.request_context.lifespan_context, arguments)

    async def ask(
        ctx: Context[AppContext, Any], target: Target, confirmation_token: str | None
    ) -> Elicit[DeletionConfirmation] | None:
        if mode == "token" or confirmation_token or not can_elicit(ctx):
            return None
        return Elicit(
            f"Permanently delete {target.summary}?\nType {target.answer_hint} to confirm.", DeletionConfirmation
        )

    context = _keyword("ctx", Context)
    token = _keyword(
        "confirmation_token",
        Annotated[str | None, arg("From a confirmation_required result, once the person agreed")],
        None,
    )
    target = _keyword(
        "target", Annotated[Target, Resolve(_signed(read_target, f"{name}_target", [*params, context], Target))]
    )
    ask = _signed(ask, f"{name}_ask", [context, target, _keyword("confirmation_token", str | None)], Any)
    answer = _keyword("answer", Annotated[ElicitationResult[DeletionConfirmation], Resolve(ask)])

    async def body(
        ctx: Context[AppContext, Any],
        target: Target,
        answer: ElicitationResult[DeletionConfirmation],
        confirmation_token: str | None,
        **arguments: Any,
    ) -> CallToolResult:
        app = ctx.request_context.lifespan_context
        with errors():
            if confirmation_token:
                if mode == "elicitation":
                    raise ToolError("Nothing was deleted: this server confirms deletions with a form, not tokens.")
                try:
                    app.tokens.redeem(confirmation_token, name, arguments, target.summary)
                except TokenRejected as exc:
                    raise ToolError(f"Nothing was deleted: {exc}.") from None
                return concise(await act(ctx, arguments))
            match answer:
                case AcceptedElicitation(data=DeletionConfirmation(confirm=typed)):
                    if typed.strip() == target.answer:
                        return concise(await act(ctx, arguments))
                    return concise(
                        outcome.refused("not_confirmed", f"the answer '{typed}' was not {target.answer_hint}")
                    )
                case DeclinedElicitation():
                    return concise(outcome.refused("declined", "the person declined"))
                case CancelledElicitation():
                    return concise(outcome.refused("cancelled", "the person cancelled"))
            # No form was shown: this client cannot show one, or the server is configured for tokens.
            if mode == "elicitation":
                raise ToolError(
                    "Nothing was deleted: this server requires confirmation through a form (MCP elicitation) "
                    "and this client cannot show one. Use a client that supports elicitation, or set "
                    'confirmation = "auto" in the configuration.'
                )
            issued, expires = app.tokens.issue(name, arguments, target.summary)
            return concise(outcome.needs_confirmation(name, target.summary, issued, expires))

    return _signed(body, name, [*params, token, target, answer, context], Annotated[CallToolResult, outcome])


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


def concise(result: BaseModel) -> CallToolResult:
    """The result as structured content and as compact JSON text, both without null fields.

    The text is what many clients put in the model's context: no indentation, no nulls.
    """
    data = result.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


@contextmanager
def _tool_errors(scopes: tuple[str, ...], check_with: str) -> Iterator[None]:
    """Turn what the user or GitHub can fix into a readable tool error."""
    try:
        yield
    except GitHubError as exc:
        raise ToolError(tool_error_message(exc, scopes, check_with)) from None
    except (InvalidArguments, RulesError) as exc:
        raise ToolError(f"Invalid arguments, nothing was sent: {exc}") from None


def _keyword(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _signed(fn: Callable[..., Any], name: str, params: list[inspect.Parameter], returns: Any) -> Callable[..., Any]:
    """Give a generic `**arguments` function the exact signature the SDK reads schemas and resolvers from."""
    fn.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    fn.__name__ = fn.__qualname__ = name
    return fn
