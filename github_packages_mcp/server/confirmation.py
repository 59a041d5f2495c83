"""Confirmation of destructive tools: a form the person fills in, or a single-use token.

A destructive tool has two resolvers that run before its body and stay out of its input schema: its `target`
resolver reads what would be destroyed, and `asking(target)` asks the person to type the answer when the client
can show a form (MCP form elicitation: from the 2025-06-18 protocol, which introduced it, to 2026-07-28). A form
that fails on a handshake-era connection (the client does not know the method, does not answer in time, or the
connection breaks) falls back to the token flow, which needs the person's agreement just as much; a call that comes
before the client's `notifications/initialized` (a raw client can send one) is refused, since no form may go out
before it. The body then calls `settle`, which acts only on a typed answer that matches, or on a token the person's
earlier call was given: a client that cannot show forms gets `confirmation_required` with a summary and a token
instead, and the same call plus that token acts. Annotations are hints for clients; this module is the guard.
"""

# No `from __future__ import annotations` here: `asking` builds a resolver whose annotation names a local
# function, which the SDK must be able to evaluate.

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from mcp import MCPError
from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from mcp_types.version import KNOWN_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field

from github_packages_mcp.github.cache import identity_of
from github_packages_mcp.github.catalogue import arg
from github_packages_mcp.github.models import ConfirmationOutcome
from github_packages_mcp.server.context import AppContext, ToolContext, app_of
from github_packages_mcp.server.schemas import concise
from github_packages_mcp.server.tokens import TokenRejected

__all__ = ["Answer", "ConfirmationToken", "DeletionConfirmation", "Target", "asking", "can_elicit", "settle"]


class DeletionConfirmation(BaseModel):
    """The form shown to the person: one required text field."""

    confirm: str = Field(description="Type the package name to confirm the deletion")


@dataclass(frozen=True)
class Target:
    """What a destructive call would destroy, read just before asking: the words for the person, and the answer
    they must type to agree."""

    summary: str
    answer: str
    answer_hint: str  # e.g. "the package name 'web/api'"


log = logging.getLogger("github_packages_mcp")

Answer = ElicitationResult[DeletionConfirmation]
# Form elicitation arrived in 2025-06-18: a client on an older protocol that declares `elicitation` anyway answers
# elicitation/create with "method not found".
FORM_PROTOCOL_VERSIONS = frozenset(version for version in KNOWN_PROTOCOL_VERSIONS if version >= "2025-06-18")
# What a failed form on a handshake-era connection raises: the client's error, no answer in time, a broken stream.
_FORM_FAILURES = (MCPError, TimeoutError, anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)
_INITIALIZED_GRACE = 1.0  # seconds
ConfirmationToken = Annotated[str | None, arg("From confirmation_required, once the person agreed", max_length=100)]
ReadTarget = Callable[..., Awaitable[Target]]


def can_elicit(ctx: ToolContext) -> bool:
    """Whether this client can show a form to the person now, on this protocol version."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare `elicitation: {}` (the shape before modes existed) means form support; url-only does not.
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    if ctx.protocol_version not in FORM_PROTOCOL_VERSIONS:
        return False
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS or ctx.session.can_send_request


def asking(read_target: ReadTarget) -> Callable[..., Awaitable[Elicit[DeletionConfirmation] | Answer | None]]:
    """The `answer` resolver of a tool whose target `read_target` resolves: a form, unless a token was given, the
    client cannot show one, or the server confirms by token only."""

    async def ask(
        ctx: ToolContext,
        target: Annotated[Target, Resolve(read_target)],
        confirmation_token: str | None = None,
    ) -> Elicit[DeletionConfirmation] | Answer | None:
        settings = app_of(ctx).settings
        if settings.confirmation == "token" or confirmation_token or not can_elicit(ctx):
            return None
        question = f"Permanently delete {target.summary}?\nType {target.answer_hint} to confirm."
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return Elicit(question, DeletionConfirmation)  # asked through InputRequiredResult, by the SDK
        if not await _client_initialized(ctx):  # a server request before it breaks the MCP lifecycle
            raise ToolError(
                "Nothing was deleted: the confirmation form cannot be sent before the client sent "
                "notifications/initialized, as no server request may go out until then (MCP lifecycle). "
                "Send it, then call again."
            )
        # On a handshake-era connection the form is sent here, so that a failure can fall back to the token flow.
        try:
            with anyio.fail_after(settings.confirmation_ttl_seconds):
                return await ctx.elicit(question, DeletionConfirmation)
        except _FORM_FAILURES as exc:
            log.info("the confirmation form failed (%s); falling back to a confirmation token", type(exc).__name__)
            return None

    return ask


async def _client_initialized(ctx: ToolContext) -> bool:
    """Whether the client has sent `notifications/initialized`, given a moment: it is handled beside calls read
    after it. The SDK lets a call through once `initialize` is answered, and would send a form then (see
    docs/sdk-notes.md); the flag is on the connection, which a tool reaches only through the session's private
    attribute."""
    initialized: anyio.Event = ctx.session._connection.initialized
    with anyio.move_on_after(_INITIALIZED_GRACE):
        await initialized.wait()
    return initialized.is_set()


async def settle(
    ctx: ToolContext,
    tool: str,
    arguments: Mapping[str, Any],
    target: Target,
    answer: Answer,
    confirmation_token: str | None,
    act: Callable[[], Awaitable[ConfirmationOutcome]],
    outcome: type[ConfirmationOutcome],
) -> CallToolResult:
    """Act if the person agreed (a matching typed answer, or a valid token); else say why nothing was deleted, or
    hand out a token for the person's agreement.

    Raises:
        ToolError: If the token is refused, or the server requires a form this client cannot show.
    """
    app = app_of(ctx)
    mode = app.settings.confirmation
    if isinstance(answer, AcceptedElicitation) and isinstance(answer.data, _OUTCOMES):
        answer = answer.data  # a form `asking` sent itself (handshake era): the SDK wrapped its outcome
    if confirmation_token:
        if mode == "elicitation":
            raise ToolError("Nothing was deleted: this server confirms deletions with a form, not tokens.")
        try:
            await app.tokens.redeem(confirmation_token, tool, arguments, target.summary, _caller(app))
        except TokenRejected as exc:
            raise ToolError(f"Nothing was deleted: {exc}.") from None
        return concise(await act())
    match answer:
        case AcceptedElicitation(data=DeletionConfirmation(confirm=typed)):
            if typed.strip() == target.answer:
                return concise(await act())
            return concise(outcome.refused("not_confirmed", f"the answer '{typed}' was not {target.answer_hint}"))
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
    issued, expires = app.tokens.issue(tool, arguments, target.summary, _caller(app))
    return concise(outcome.needs_confirmation(tool, target.summary, issued, expires))


_OUTCOMES = (AcceptedElicitation, DeclinedElicitation, CancelledElicitation)


def _caller(app: AppContext) -> str:
    # With callers' own GitHub tokens passed through, one caller's confirmation must not delete with another's
    # rights: tokens are bound to the caller's token fingerprint.
    return identity_of(app.github.token)
