"""The parts every tool is built from: the app context, schemas kept compact, results kept concise, errors
made readable, and confirmation before anything is destroyed."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from github_packages_mcp.cache import identity_of
from github_packages_mcp.client import GitHubClient
from github_packages_mcp.config import ConfirmationMode, Settings, Toolset
from github_packages_mcp.errors import GitHubError
from github_packages_mcp.server.confirmation import ConfirmationTokens, DeletionConfirmation, TokenRejected, can_elicit
from github_packages_mcp.server.errors import tool_error_message
from github_packages_mcp.tools.catalogue import Owner, arg
from github_packages_mcp.tools.cleanup import CleanupStore, PlanNotFound
from github_packages_mcp.tools.execute import InvalidArguments
from github_packages_mcp.tools.models import ConfirmationOutcome
from github_packages_mcp.tools.retention import RulesError

__all__ = [
    "OWNER_PARAMS",
    "Act",
    "AppContext",
    "Summarise",
    "Target",
    "ToolEntry",
    "build_tool",
    "concise",
    "confirmed",
    "keyword",
    "owner_of",
    "signed",
    "tool_errors",
]


@dataclass(frozen=True)
class AppContext:
    """What every tool call can reach: built once in the lifespan, shared by all sessions."""

    settings: Settings
    github: GitHubClient
    tokens: ConfirmationTokens
    store: CleanupStore
    tool_scopes: dict[str, tuple[str, ...]]  # every tool this server offers, and the scopes it needs


@dataclass(frozen=True)
class ToolEntry:
    """A tool before it is built: what filtering needs to know, and how to build it."""

    name: str
    toolset: Toolset
    read_only: bool
    scopes: tuple[str, ...]
    build: Callable[[Settings], Tool]


def build_tool(fn: Callable[..., Any], **kwargs: Any) -> Tool:
    """An SDK tool with compact schemas, since tool lists eat the client's context window.

    The input schema loses only titles (property names say it); every type, enum, bound, default and
    required field stays. The output schema describes results rather than constrains calls: it keeps their
    fields and structure (objects, arrays, flags), inlined; results are still checked against the full model
    before they are sent.
    """
    tool = Tool.from_function(fn, **kwargs)
    # A misspelt argument (`per_pag`, `confirmation_tokn`) is an error naming it, not silently dropped.
    tool.fn_metadata.arg_model.model_config["extra"] = "forbid"
    tool.fn_metadata.arg_model.model_rebuild(force=True)
    tool.parameters.pop("title", None)
    for prop in tool.parameters.get("properties", {}).values():
        prop.pop("title", None)
    if tool.fn_metadata.output_schema is not None:
        schema = tool.fn_metadata.output_schema
        # The root stays `type: object` (clients require it); nested objects are known by their properties.
        tool.fn_metadata.output_schema = {"type": "object"} | _compact_output(schema, schema.get("$defs", {}))
        # Every result is built from its pydantic model (see `concise`), so the SDK need not check it again.
        tool.fn_metadata.output_model = None
    return tool


def _compact_output(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _compact_output(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
    arms = [arm for arm in schema.get("anyOf", []) if arm != {"type": "null"}]
    if len(arms) == 1 < len(schema["anyOf"]):  # nullable; `concise` leaves nulls out, so only the real type
        return _compact_output(arms[0], defs)
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            compact[key] = {name: _compact_output(prop, defs) for name, prop in value.items()}
        elif key == "items":
            compact[key] = _compact_output(value, defs)
        elif key == "type" and value in ("array", "boolean"):
            # Structure and flags keep their type; plain values (names, ids, counts, times) are known by name.
            compact[key] = value
        elif key == "format":
            compact[key] = value
    return compact


@dataclass(frozen=True)
class Target:
    """What a destructive call would destroy, read just before asking: the words for the person, and the answer
    they must type to agree."""

    summary: str
    answer: str
    answer_hint: str  # e.g. "the package name 'web/api'"


Summarise = Callable[[AppContext, dict[str, Any]], Awaitable[Target]]
Act = Callable[[Context[AppContext, Any], dict[str, Any]], Awaitable[ConfirmationOutcome]]


def confirmed(
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

    context = keyword("ctx", Context)
    token = keyword(
        "confirmation_token",
        Annotated[str | None, arg("From confirmation_required, once the person agreed")],
        None,
    )
    target = keyword(
        "target", Annotated[Target, Resolve(signed(read_target, f"{name}_target", [*params, context], Target))]
    )
    ask = signed(ask, f"{name}_ask", [context, target, keyword("confirmation_token", str | None)], Any)
    answer = keyword("answer", Annotated[ElicitationResult[DeletionConfirmation], Resolve(ask)])

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
                    app.tokens.redeem(confirmation_token, name, arguments, target.summary, _caller(app))
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
            issued, expires = app.tokens.issue(name, arguments, target.summary, _caller(app))
            return concise(outcome.needs_confirmation(name, target.summary, issued, expires))

    return signed(body, name, [*params, token, target, answer, context], Annotated[CallToolResult, outcome])


def _caller(app: AppContext) -> str:
    # With callers' own GitHub tokens passed through, one caller's confirmation must not delete with another's
    # rights: tokens are bound to the caller's token fingerprint.
    return identity_of(app.github.token)


def concise(result: BaseModel) -> CallToolResult:
    """The result as structured content and as compact JSON text, both without null fields.

    The text is what many clients put in the model's context: no indentation, no nulls.
    """
    data = result.model_dump(mode="json", exclude_none=True)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


@contextmanager
def tool_errors(scopes: tuple[str, ...], check_with: str) -> Iterator[None]:
    """Turn what the user or GitHub can fix into a readable tool error."""
    try:
        yield
    except GitHubError as exc:
        raise ToolError(tool_error_message(exc, scopes, check_with)) from None
    except (InvalidArguments, RulesError) as exc:
        raise ToolError(f"Invalid arguments, nothing was sent: {exc}") from None
    except PlanNotFound as exc:
        raise ToolError(f"{exc}; make one with plan_version_cleanup") from None


def owner_of(org: str | None, username: str | None) -> Owner:
    """Whose packages the OWNER_PARAMS name: an organization, a user, or with neither the token's user.

    Raises:
        ToolError: If both are given (before any request).
    """
    if org and username:
        raise ToolError("Invalid arguments, nothing was sent: give org or username, not both")
    return Owner("org", org) if org else Owner("user", username) if username else Owner("my")


def keyword(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def signed(fn: Callable[..., Any], name: str, params: list[inspect.Parameter], returns: Any) -> Callable[..., Any]:
    """Give a generic `**arguments` function the exact signature the SDK reads schemas and resolvers from."""
    fn.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    fn.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    fn.__name__ = fn.__qualname__ = name
    return fn


# The owner arguments of tools that work across one owner's packages (cleanups, audits).
OWNER_PARAMS = [
    keyword(
        "org",
        Annotated[str | None, arg(min_length=1)],
        None,
    ),
    keyword("username", Annotated[str | None, arg(min_length=1)], None),
]
