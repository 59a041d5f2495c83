"""The command's client side, for a person at a terminal: call a tool (confirming at the prompt, or with `--yes`),
describe the tools, prompts and resources, read a resource, render a prompt; progress on stderr; exit codes that
scripts can rely on. A result prints as tables and summaries on a terminal (`readable/`), and as JSON when piped
or with `--json`. Everything printed shows the characters a terminal would obey instead (a bidi override in a
package name) as `\\uXXXX` escapes, JSON's own, so a printed result is still JSON (`say`).

Exit codes (`exit_code`): 0 success, or already done (a plan applied before); 1 a tool error, any failure in an
apply or a restore, or a confirmation refused or cancelled; 2 a usage error, or a confirmation with no terminal to
ask at (stdin not a terminal and no `--yes`: nothing is sent); 130 interrupted (Ctrl-C), said with how far the call
got (`Progress`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
from mcp import Client, MCPError
from mcp.client.session import ClientRequestContext
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult, ErrorData, Implementation, Tool

from github_packages_mcp import __version__
from github_packages_mcp.github.untrusted import escaped, visible
from github_packages_mcp.server.app import tool_entries
from github_packages_mcp.spelling import closest

__all__ = [
    "INTERRUPTED",
    "NO_TERMINAL",
    "OK",
    "REFUSED",
    "USAGE",
    "Progress",
    "Terminal",
    "call_tool",
    "confirmed_call",
    "describe_prompts",
    "describe_resources",
    "describe_tools",
    "error_text",
    "exit_code",
    "read_resource",
    "render_prompt",
    "say",
]

OK, REFUSED, USAGE, INTERRUPTED = 0, 1, 2, 130
_REFUSALS = ("declined", "cancelled", "not_confirmed")
NO_TERMINAL = "not a terminal: pass --yes to confirm"
# Calling these again picks up where an interrupted call stopped (the journal has what was done).
RESUMABLE = frozenset({"apply_version_cleanup", "restore_from_journal"})
CLIENT = Implementation(name="github-packages-mcp-cli", version=__version__)  # who acted, in the journal


def say(text: str, *, err: bool = False) -> None:
    """Print a line for the person (on stderr with `err`): every character a terminal would obey rather than show,
    such as a bidi override from a package name, escaped (`visible`)."""
    print(visible(text), file=sys.stderr if err else sys.stdout)


class UsageError(Exception):
    """What the person typed cannot be a call; the message says why."""


async def call_tool(
    server: MCPServer[Any],
    name: str,
    pairs: Sequence[str],
    assume_yes: bool,
    as_json: bool = False,
    progress: Progress | None = None,
) -> int:
    """Call one tool and print its result: for people on a terminal, else (or with `as_json`) as JSON; with
    `assume_yes`, confirm a delete without asking. `progress` keeps how far the call got, for the words on an
    interrupt.

    `--yes` takes the token flow: the first call answers `confirmation_required` with the summary (printed on
    stderr) and a token, and the same call plus the token acts, for every destructive tool alike. Without it, a
    destructive tool needs a terminal to ask at: with stdin not one, nothing is called.
    """
    progress = progress or Progress()
    terminal = Terminal()
    confirm: Any = None if assume_yes else terminal.confirm  # no form capability: the token flow
    async with Client(server, elicitation_callback=confirm, client_info=CLIENT) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        if name not in tools:
            say(f"error: {_not_offered(name)}", err=True)
            return USAGE
        try:
            arguments = parse_arguments(pairs, tools[name].input_schema)
        except UsageError as exc:
            say(f"error: {exc}", err=True)
            return USAGE
        if not assume_yes and _kind(tools[name]) == "destructive" and not sys.stdin.isatty():
            say(f"error: {NO_TERMINAL}", err=True)
            return USAGE
        result = await confirmed_call(client, name, arguments, assume_yes, progress)
    if terminal.unanswerable:  # a restore of several asked with no terminal: nothing was restored
        say(f"error: {NO_TERMINAL}", err=True)
        return USAGE
    return _print_result(name, result, as_json or not sys.stdout.isatty())


async def confirmed_call(
    client: Client, name: str, arguments: dict[str, Any], assume_yes: bool, progress: Progress
) -> CallToolResult:
    """Call a tool; with `assume_yes`, a `confirmation_required` answer (its summary said on stderr) is confirmed
    by calling again with its token, as `--yes` does for every destructive tool."""
    result = await client.call_tool(name, arguments, progress_callback=progress)
    first = result.structured_content or {}
    if assume_yes and not result.is_error and first.get("status") == "confirmation_required":
        say(f"--yes: {first.get('summary')}", err=True)
        confirmed = {**arguments, "confirmation_token": first["confirmation_token"]}
        result = await client.call_tool(name, confirmed, progress_callback=progress)
    return result


def _print_result(name: str, result: CallToolResult, as_json: bool) -> int:
    if result.is_error:
        say(f"error: {error_text(name, result)}", err=True)
    elif as_json:
        say(json.dumps(result.structured_content, indent=2, ensure_ascii=False))  # JSON still: the escapes are JSON's
    else:
        from github_packages_mcp.cli.readable import print_readable  # only when a person reads the result

        print_readable(name, result.structured_content or {}, sys.stdout)
    return exit_code(result)


def error_text(name: str, result: CallToolResult) -> str:
    """A tool error's words for the person: the MCP wording names the tool for an assistant juggling many; the
    person just typed it."""
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    return text.removeprefix(f"Error executing tool {name}: ")


def exit_code(result: CallToolResult) -> int:
    """1 for a tool error, a confirmation refused or cancelled, or an apply or a restore with any failure (its
    `failed` count); else 0, a plan applied before (`already_done`) included."""
    content = result.structured_content or {}
    failed = content.get("failed")
    if result.is_error or content.get("status") in _REFUSALS or (isinstance(failed, int) and failed > 0):
        return REFUSED
    return OK


def _not_offered(name: str) -> str:
    if name in {entry.name for entry in tool_entries()}:
        return (
            f"{name} is not offered here: the token lacks a scope it needs (see `call check_token`), or "
            "--read-only, --toolsets or --tools leave it out"
        )
    suggestion = _did_you_mean(name, [entry.name for entry in tool_entries()])
    return f"unknown tool {name!r}{suggestion}; see `github-packages-mcp tools`"


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    return f" (did you mean {close}?)" if (close := closest(name, known)) else ""


class Terminal:
    """Asks the person on the terminal (stdin) when the server wants their confirmation; with no terminal, asks
    nobody (a script's or a pipe's input is no person's answer) and remembers that it could not."""

    def __init__(self) -> None:
        self.unanswerable = False

    async def confirm(self, _context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
        if not sys.stdin.isatty():
            self.unanswerable = True
            return ElicitResult(action="cancel")
        # The server quotes GitHub's strings; a terminal still gets no control character but the line breaks.
        print(escaped(params.message, keep="\n"), file=sys.stderr)
        print("> ", end="", file=sys.stderr, flush=True)  # stdout carries only the result, for scripts
        line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)  # Ctrl-C at the prompt
        if not line:  # end of input: nobody answered
            return ElicitResult(action="cancel")
        return ElicitResult(action="accept", content={"confirm": line.rstrip("\r\n")})


class Progress:
    """The progress callback of a call: keeps the last progress reported (done of total), and shows it as one line
    on stderr (done/total, rate, time left) when that is a terminal."""

    def __init__(self) -> None:
        self.done: float | None = None
        self.total: float | None = None
        self._started = time.monotonic()
        self._shown = sys.stderr.isatty()
        self._line_open = False

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.done, self.total = progress, total
        if not self._shown:
            return
        line = visible(progress_text(progress, total, message, time.monotonic() - self._started))
        print(f"\r\x1b[K{line}", end="", file=sys.stderr)
        self._line_open = total is None or progress < total
        if not self._line_open:
            print(file=sys.stderr)

    def interrupted(self, tool: str) -> str:
        """`interrupted after 3 of 38; run the same command to resume`: how far the call got, as last reported."""
        if self._line_open:  # end the progress line first
            print(file=sys.stderr)
            self._line_open = False
        words = "interrupted"
        if self.done is not None:
            words += f" after {self.done:g}" + (f" of {self.total:g}" if self.total else "")
        return words + ("; run the same command to resume" if tool in RESUMABLE else "")


def progress_text(done: float, total: float | None, message: str | None, elapsed: float) -> str:
    """`deleted 3 of 38 · 3/38 · 1.5/s · 23 s left`."""
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [message or "working", f"{done:g}/{total:g}" if total else f"{done:g}", f"{rate:.1f}/s"]
    if total and rate > 0:
        parts.append(f"{max(0.0, (total - done) / rate):.0f} s left")
    return " · ".join(parts)


def parse_arguments(pairs: Sequence[str], schema: dict[str, Any]) -> dict[str, Any]:
    """`key=value` pairs typed by the tool's input schema: integers, numbers and true/false keep their types,
    lists are `a,b` or JSON (`[1,2]`); anything else is left for the tool's own validation to judge.

    Raises:
        UsageError: If a pair has no `=`, or JSON does not parse.
    """
    arguments: dict[str, Any] = {}
    properties = schema.get("properties", {})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"expected key=value, got {pair!r}")
        arguments[key] = _typed(key, value, properties.get(key, {}))
    return arguments


def _typed(key: str, value: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if value.startswith(("[", "{")) and kind != "string":  # a string, such as the glob `[a-m]*`, stays as typed
        try:
            return json.loads(value)
        except ValueError as exc:
            raise UsageError(f"{key}: not valid JSON ({exc})") from None
        except RecursionError:
            raise UsageError(f"{key}: not valid JSON (nested too deeply)") from None
    if kind == "array":
        item = schema.get("items", {})
        return [_typed(key, part.strip(), item) for part in value.split(",") if part.strip()]
    if kind == "integer" and value.lstrip("-").isdigit():
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


async def describe_tools(server: MCPServer[Any], names: Sequence[str], as_json: bool = False) -> int:
    """Print the tool list, or for named tools their parameters: type, required or default, allowed values; with
    `as_json`, the (named) tools as JSON: name, kind, description and input schema."""
    async with Client(server, client_info=CLIENT) as client:
        tools = (await client.list_tools()).tools
    if as_json:
        return _tools_as_json(tools, names)
    if not names:
        for tool in tools:
            say(f"{tool.name:32} {_kind(tool):11} {tool.description}")
        return OK
    offered = {tool.name: tool for tool in tools}
    for name in names:
        if name not in offered:
            say(f"error: {_not_offered(name)}", err=True)
            return USAGE
        say(_tool_help(offered[name]))
    return OK


def _tools_as_json(tools: Sequence[Tool], names: Sequence[str]) -> int:
    offered = {tool.name: tool for tool in tools}
    if unknown := [name for name in names if name not in offered]:
        say(f"error: {_not_offered(unknown[0])}", err=True)
        return USAGE
    chosen = [offered[name] for name in names] if names else list(tools)
    described = [
        {"name": tool.name, "kind": _kind(tool), "description": tool.description, "input_schema": tool.input_schema}
        for tool in chosen
    ]
    say(json.dumps(described, indent=2, ensure_ascii=False))
    return OK


def _kind(tool: Tool) -> str:
    hints = tool.annotations
    if hints and hints.destructive_hint:
        return "destructive"
    return "read-only" if hints and hints.read_only_hint else "write"


def _tool_help(tool: Tool) -> str:
    lines = [f"{tool.name} ({_kind(tool)}): {tool.description}", ""]
    required = set(tool.input_schema.get("required", []))
    for name, prop in tool.input_schema.get("properties", {}).items():
        kind = prop.get("type", "any")
        if kind == "array":
            kind = f"list of {prop.get('items', {}).get('type', 'any')}"
        facts = ["required" if name in required else f"default {json.dumps(prop.get('default'))}"]
        if "enum" in prop:
            facts.append("one of " + ", ".join(map(str, prop["enum"])))
        if "minimum" in prop or "maximum" in prop:
            facts.append(f"{prop.get('minimum', '')}..{prop.get('maximum', '')}")
        description = f"  {prop['description']}" if prop.get("description") else ""
        lines.append(f"  {name}: {kind}, {'; '.join(facts)}.{description}")
    return "\n".join(lines)


async def describe_prompts(server: MCPServer[Any]) -> int:
    """Print each prompt as it is rendered (`prompt NAME key=…`, optional arguments in brackets), its description,
    and its arguments."""
    async with Client(server, client_info=CLIENT) as client:
        prompts = (await client.list_prompts()).prompts
    for prompt in prompts:
        arguments = prompt.arguments or []
        usage = " ".join(f"{a.name}=…" if a.required else f"[{a.name}=…]" for a in arguments)
        say(f"{prompt.name} {usage}".rstrip())
        say(f"  {prompt.description or ''}".rstrip())
        for argument in arguments:
            say(f"    {argument.name}: {'required' if argument.required else 'optional'}. {argument.description or ''}")
    return OK


async def describe_resources(server: MCPServer[Any]) -> int:
    """Print the resources and the resource templates (what `read URI` takes), each with its description."""
    async with Client(server, client_info=CLIENT) as client:
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
    for uri, description in [
        *((str(resource.uri), resource.description) for resource in resources),
        *((template.uri_template, template.description) for template in templates),
    ]:
        say(uri)
        say(f"  {description or ''}".rstrip())
    return OK


async def read_resource(server: MCPServer[Any], uri: str) -> int:
    """Print a resource's text; a URI that matches no template lists the templates."""
    async with Client(server, client_info=CLIENT) as client:
        templates = (await client.list_resource_templates()).resource_templates
        try:
            result = await client.read_resource(uri)
        except Exception as exc:
            say(f"error: {exc}", err=True)
            say("\n".join(["resource templates:", *(f"  {t.uri_template}" for t in templates)]), err=True)
            return REFUSED
    for content in result.contents:
        say(getattr(content, "text", ""))
    return OK


async def render_prompt(server: MCPServer[Any], name: str, pairs: Sequence[str]) -> int:
    """Print a prompt rendered with `key=value` arguments."""
    try:
        arguments = dict(pair.split("=", 1) for pair in pairs)
    except ValueError:
        say("error: expected key=value arguments", err=True)
        return USAGE
    async with Client(server, client_info=CLIENT) as client:
        prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
        if name not in prompts:
            say(f"error: unknown prompt {name!r}{_did_you_mean(name, prompts)}; prompts: {', '.join(sorted(prompts))}",
                err=True)  # fmt: skip
            return USAGE
        needed = [argument for argument in prompts[name].arguments or [] if argument.required]
        if missing := [argument for argument in needed if argument.name not in arguments]:
            wanted = ", ".join(f"{argument.name}=… ({argument.description})" for argument in missing)
            say(f"error: the prompt {name} needs {wanted}", err=True)
            return USAGE
        try:
            result = await client.get_prompt(name, arguments)
        except MCPError as exc:  # arguments the prompt cannot take: the server's words, no traceback
            say(f"error: {exc.error.message}", err=True)
            return USAGE
    for message in result.messages:
        say(getattr(message.content, "text", ""))
    return OK
