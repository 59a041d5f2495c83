"""Confirmation of destructive tools (and of restores of more than one item): a form the person fills in, or a
single-use token. `confirmed_tool` builds every such tool.

Such a tool has resolvers that run before its body and stay out of its input schema: `caller_of` says who calls,
its `target` resolver reads what would be destroyed, and `asking(target)` asks the person to type the answer when
the client can show a form (MCP form elicitation: from the 2025-06-18 protocol, which introduced it, to
2026-07-28). The body then settles: it acts only on a typed answer that matches, or on a token the person's
earlier call was given: a client that cannot show forms gets `confirmation_required` with a summary and a token
instead, and the same call plus that token acts. A call that comes before the client's `notifications/initialized`
(a raw client can send one) is refused, since no form may go out before it. A form that was offered and failed
(the client answered with an error, did not answer in time, or sent back no typed answer) confirms nothing and
hands out no token: a token is something the model could redeem by itself. For the same reason a client that can
show the form cannot confirm with a token. Annotations are hints for clients; this module is the guard.
"""

# No `from __future__ import annotations` here: `asking` builds a resolver whose annotation names a local
# function, which the SDK must be able to evaluate.

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, ClassVar, TypeVar

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
from mcp_types import CallToolResult, ElicitResult
from mcp_types.version import KNOWN_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel, Field, ValidationError

from github_packages_mcp.github.catalogue import arg
from github_packages_mcp.github.models import ConfirmationOutcome
from github_packages_mcp.retention.journal import Actor
from github_packages_mcp.toolkit.context import CONTEXT, Caller, ToolContext, app_of, caller_of
from github_packages_mcp.toolkit.schemas import concise, keyword, signed
from github_packages_mcp.toolkit.tokens import TokenRejected

__all__ = ["ConfirmationTarget", "can_elicit", "confirmed_tool"]


class Confirmation(BaseModel):
    """The form shown to the person: one required text field."""

    confirm: str = Field(description="Type what the question asks for, to confirm")


@dataclass(frozen=True)
class ConfirmationTarget:
    """What a call that needs the person's agreement would destroy (or bring back), read just before asking: the
    words for the person, and the answer they must type to agree."""

    summary: str
    answer: str
    answer_hint: str  # e.g. "the package name 'web/api'"

    ASKED: ClassVar[str] = "Permanently delete"  # the question's first words, before the summary

    @property
    def needs_asking(self) -> bool:
        """Whether the person must agree first (a restore of one item need not)."""
        return True


@dataclass(frozen=True)
class FormFailed:
    """A form that was offered and did not come back as the person's answer; `reason` says what happened, in
    words for the person."""

    reason: str


log = logging.getLogger("github_packages_mcp")

Answer = ElicitationResult[Confirmation]
# Form elicitation arrived in 2025-06-18: a client on an older protocol that declares `elicitation` anyway answers
# elicitation/create with "method not found".
FORM_PROTOCOL_VERSIONS = frozenset(version for version in KNOWN_PROTOCOL_VERSIONS if version >= "2025-06-18")
# What a failed form on a handshake-era connection raises: the client's error, no answer in time, a broken stream.
_BROKEN = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream)
_NO_TYPED_ANSWER = "the confirmation form came back accepted, but without a typed answer"
_WHAT_TO_DO = (
    "; call again to show the form again, or, if this client cannot show forms, set "
    'confirmation = "token" in the server\'s configuration'
)
_INITIALIZED_GRACE = 1.0  # seconds
ConfirmationToken = Annotated[str | None, arg("Once the person agreed", max_length=100)]
_CALLER = keyword("caller", Annotated[Caller, Resolve(caller_of)])
ReadTarget = Callable[..., Awaitable[ConfirmationTarget]]
TargetT = TypeVar("TargetT", bound=ConfirmationTarget)


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


def _forms_only(ctx: ToolContext) -> bool:
    """Whether this call must be confirmed with a form, never a token: the server says so, or the client can show
    one (a token is something the model could redeem without the person)."""
    mode = app_of(ctx).settings.confirmation
    return mode == "elicitation" or (mode == "auto" and can_elicit(ctx))


def asking(read_target: ReadTarget) -> Callable[..., Awaitable[Elicit[Confirmation] | Answer | FormFailed | None]]:
    """The `answer` resolver of a tool whose target `read_target` resolves: a form, unless there is nothing to ask,
    a token was given (which `_settled` then redeems, or refuses where a form can be shown), the client cannot show
    one, or the server confirms by token only."""

    async def ask(
        ctx: ToolContext,
        target: Annotated[ConfirmationTarget, Resolve(read_target)],
        confirmation_token: str | None = None,
    ) -> Elicit[Confirmation] | Answer | FormFailed | None:
        settings = app_of(ctx).settings
        if not target.needs_asking or settings.confirmation == "token" or confirmation_token or not can_elicit(ctx):
            return None
        question = f"{target.ASKED} {target.summary}?\nType {target.answer_hint} to confirm."
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            # Asked through InputRequiredResult, by the SDK, which fails the whole call with words naming this
            # resolver when the answer is no answer: such an answer is caught here first.
            return _no_answer(ctx) or Elicit(question, Confirmation)
        if not await _client_initialized(ctx):  # a server request before it breaks the MCP lifecycle
            raise ToolError(
                "Nothing was deleted: the confirmation form cannot be sent before the client sent "
                "notifications/initialized, as no server request may go out until then (MCP lifecycle). "
                "Send it, then call again."
            )
        return await _shown(ctx, question, settings.confirmation_ttl_seconds)

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


async def _shown(ctx: ToolContext, question: str, seconds: int) -> Answer | FormFailed:
    """The form, sent now on a handshake-era connection, and what came back; a failure is no answer."""
    try:
        with anyio.fail_after(seconds):
            return await ctx.elicit(question, Confirmation)
    except MCPError as exc:
        log.info("the client answered the confirmation form with error %s: %s", exc.error.code, exc.error.message)
        return FormFailed("the client could not show the confirmation form (it answered with an error)")
    except TimeoutError:
        return FormFailed(f"no answer to the confirmation form came within {seconds} s")
    except _BROKEN:
        return FormFailed("the connection broke while the confirmation form was shown")
    except ValueError:  # the SDK's word for an accepted answer without content, or with content of another shape
        return FormFailed(_NO_TYPED_ANSWER)


def _no_answer(ctx: ToolContext) -> FormFailed | None:
    """On 2026-07-28, whether the client sent the form back accepted without a typed answer (no content, or no
    text in it). The tool's one form is the only elicitation it asks, so any elicitation answer is its answer."""
    for response in (ctx.input_responses or {}).values():
        if isinstance(response, ElicitResult) and response.action == "accept":
            try:
                Confirmation.model_validate(response.content)
            except ValidationError:
                return FormFailed(_NO_TYPED_ANSWER)
    return None


async def _settled(
    ctx: ToolContext,
    caller: Caller,
    tool: str,
    arguments: Mapping[str, Any],
    target: ConfirmationTarget,
    answer: Answer,
    confirmation_token: str | None,
    act: Callable[[], Awaitable[BaseModel]],
    outcome: type[ConfirmationOutcome],
) -> CallToolResult:
    """Act if the person agreed (a matching typed answer, or a valid token where no form can be shown) or need not;
    else say why nothing was done, or hand out a token for the person's agreement.

    Raises:
        ToolError: If the token is refused, or the server requires a form this client cannot show.
    """
    app = app_of(ctx)
    if not target.needs_asking:
        return concise(await act())
    if isinstance(answer, AcceptedElicitation) and isinstance(answer.data, _OUTCOMES):
        answer = answer.data  # a form `asking` sent itself (handshake era): the SDK wrapped its outcome
    if confirmation_token:
        if _forms_only(ctx):
            raise ToolError(
                f"{outcome.NOTHING_DONE}: confirmation here is by a form the person answers, not by token; "
                f"call {tool} again without confirmation_token to ask them."
            )
        try:
            await app.tokens.redeem(confirmation_token, tool, arguments, target.summary, caller.identity)
        except TokenRejected as exc:
            raise ToolError(f"{outcome.NOTHING_DONE}: {exc}.") from None
        return concise(await act())
    match answer:
        case AcceptedElicitation(data=Confirmation(confirm=typed)):
            if typed.strip() == target.answer:
                return concise(await act())
            return concise(outcome.refused("not_confirmed", f"the answer '{typed}' was not {target.answer_hint}"))
        case AcceptedElicitation(data=FormFailed(reason=reason)):
            return concise(outcome.refused("not_confirmed", reason + _WHAT_TO_DO))
        case DeclinedElicitation():
            return concise(outcome.refused("declined", "the person declined"))
        case CancelledElicitation():
            return concise(outcome.refused("cancelled", "the person cancelled"))
    # No form was shown: this client cannot show one, or the server is configured for tokens.
    if app.settings.confirmation == "elicitation":
        raise ToolError(
            f"{outcome.NOTHING_DONE}: this server requires confirmation through a form (MCP elicitation) "
            "and this client cannot show one. Use a client that supports elicitation, or set "
            'confirmation = "auto" in the configuration.'
        )
    # With callers' own GitHub tokens passed through, one caller's confirmation must not delete with another's
    # rights: tokens are bound to the caller's token fingerprint.
    issued, expires = app.tokens.issue(tool, arguments, target.summary, caller.identity)
    return concise(outcome.needs_confirmation(tool, target.summary, issued, expires))


_OUTCOMES = (AcceptedElicitation, DeclinedElicitation, CancelledElicitation)


def confirmed_tool(
    name: str,
    params: Sequence[inspect.Parameter],
    read_target: Callable[[ToolContext, Caller, dict[str, Any]], Awaitable[TargetT]],
    act: Callable[[ToolContext, Actor, TargetT, dict[str, Any]], Awaitable[ConfirmationOutcome]],
    outcome: type[ConfirmationOutcome],
    errors: Callable[[], AbstractContextManager[None]],
) -> Callable[..., Awaitable[CallToolResult]]:
    """The function of the tool `name`, which acts only once the person agreed (or need not be asked): it takes
    `params` and a confirmation_token; `read_target` reads what it would act on, before asking, and `act` acts on
    that, as the caller through this tool (the journal's `Actor`); both get the call's arguments, and `errors` words
    what goes wrong in either. `outcome` is its result.
    """

    async def target(ctx: ToolContext, caller: Caller, **arguments: Any) -> ConfirmationTarget:
        with errors():
            return await read_target(ctx, caller, arguments)

    resolved_target = signed(target, f"{name}_target", [*params, _CALLER, CONTEXT], ConfirmationTarget)

    async def body(
        ctx: ToolContext,
        caller: Caller,
        target: TargetT,
        answer: Answer,
        confirmation_token: str | None,
        **arguments: Any,
    ) -> CallToolResult:
        given = {key: value for key, value in arguments.items() if value is not None}  # what a token is bound to
        act_now = partial(act, ctx, caller.acting_in(name), target, arguments)
        with errors():
            return await _settled(ctx, caller, name, given, target, answer, confirmation_token, act_now, outcome)

    resolved = [
        keyword("confirmation_token", ConfirmationToken, None),
        _CALLER,
        keyword("target", Annotated[ConfirmationTarget, Resolve(resolved_target)]),
        keyword("answer", Annotated[Answer, Resolve(asking(resolved_target))]),
    ]
    return signed(body, name, [*params, *resolved, CONTEXT], Annotated[CallToolResult, outcome])
