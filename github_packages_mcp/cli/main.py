"""The `github-packages-mcp` command: serve MCP over stdio, list or call tools, or run the sandbox alone.

github-packages-mcp [--sandbox] [--config PATH] [--read-only]          serve MCP over stdio
github-packages-mcp tools [NAME ...] [--sandbox] [--json] ...          print the tool list, or tools' parameters
github-packages-mcp prompts [--sandbox]                                print the prompts and their arguments
github-packages-mcp resources [--sandbox]                              print the resources and resource templates
github-packages-mcp call TOOL key=value ... [--sandbox] [--yes]        call one tool, print its result (--json)
github-packages-mcp cleanup --policy FILE [--apply] [--yes] [--json]   plan (and apply) a retention policy's cleanups
github-packages-mcp read URI [--sandbox]                               print a resource
github-packages-mcp prompt NAME key=value ... [--sandbox]              print a rendered prompt
github-packages-mcp sandbox [--port N] [--reset]                       serve the sandbox API on 127.0.0.1
github-packages-mcp install CLIENT [--print] [--sandbox] [--scope S]   configure Claude Desktop, Claude Code, ...

A result prints as tables and summaries on a terminal, whole (every page of a listing, every decision of a plan:
no context window to fit); piped, or with --json, as JSON. NO_COLOR or TERM=dumb turn colour off.

Every sandbox on one machine shares one world, saved in the state directory: what a `--sandbox` command deletes
stays deleted for the next, until `sandbox --reset` restores the demo data (alone, it resets and exits; with
--port, it resets, then serves).

Exit codes: 0 success, or already done (re-applying a finished cleanup plan); 1 a tool error, any failure in an
apply or a restore (its `failed` count), or a confirmation refused or cancelled; 2 a usage or configuration error,
or a destructive call with no terminal to confirm at (stdin not a terminal and no --yes: nothing is sent); 130
interrupted (Ctrl-C), an apply saying "interrupted after N of M; run the same command to resume" on stderr.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import anyio

from github_packages_mcp import __version__
from github_packages_mcp.cli.terminal import (
    INTERRUPTED,
    NO_TERMINAL,
    USAGE,
    Progress,
    call_tool,
    describe_prompts,
    describe_resources,
    describe_tools,
    read_resource,
    render_prompt,
    say,
)
from github_packages_mcp.config import (
    CONFIG_ENV,
    GITHUB_MUTATION_INTERVAL,
    MUTATION_INTERVAL_ENV,
    SELECTION_ENV,
    TOKEN_ENV,
    TOOLSETS,
    ConfigError,
    Settings,
    gh_host_for,
    load_settings,
    token_from_gh_cli,
)
from github_packages_mcp.github.catalogue import scopes_for
from github_packages_mcp.server.app import build_server, process_state, select_tools
from github_packages_mcp.server.stdio import serve_stdio
from github_packages_mcp.state.opening import ProcessState
from github_packages_mcp.state.redis import SharedStateUnavailable

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from github_packages_mcp.sandbox import SandboxServer

__all__ = ["main", "missing_token_message"]

SANDBOX_PORT: Final = 8787
SANDBOX_MUTATION_INTERVAL: Final = 0.05  # seconds between mutations sent to the sandbox, unless configured
_PACING_NOTE: Final = (
    f"GitHub's real pacing is {GITHUB_MUTATION_INTERVAL:g} s between deletes; the sandbox uses "
    f"{SANDBOX_MUTATION_INTERVAL:g} s unless mutation_interval_seconds (or {MUTATION_INTERVAL_ENV}) is set"
)

log = logging.getLogger("github_packages_mcp")


STDIO_HINT = (
    'Serving MCP over stdin and stdout, for an MCP client (README, "Connect your MCP client"); Ctrl-C stops it.\n'
    "To try it by hand: github-packages-mcp tools --sandbox, or github-packages-mcp call list_org_packages "
    "org=acme-labs package_type=container --sandbox"
)


def missing_token_message() -> str:
    """The start-up error for a missing token: how to create one, and which scopes each tool needs."""
    read, delete, restore = (", ".join(scopes_for(kind)) for kind in ("read", "delete", "restore"))
    return (
        "No GitHub token. Set GITHUB_TOKEN (or GITHUB_PERSONAL_ACCESS_TOKEN), or `token` in the config file,\n"
        "to a classic personal access token: https://github.com/settings/tokens/new?scopes="
        "read:packages,write:packages,delete:packages&description=github-packages-mcp\n"
        f"Scopes: list_*/get_* tools need {read}; delete_* tools need {delete}; restore_* tools need {restore}.\n"
        "Packages in repository-scoped registries also need `repo`. The Packages API does not accept\n"
        "fine-grained tokens. To try every tool without a token: github-packages-mcp --sandbox"
    )


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    # Subcommands repeat the options; SUPPRESS keeps their defaults from hiding values given before the subcommand.
    default: Any = argparse.SUPPRESS if suppress else None
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--sandbox",
        action="store_true",
        default=default or False,
        help="use the built-in sandbox with demo data (no token needed; a demo token in GITHUB_TOKEN is used, "
        f"any other ignored). {_PACING_NOTE}",
    )
    parser.add_argument("--config", type=Path, default=default, help="TOML configuration file")
    parser.add_argument(
        "--read-only", action="store_true", default=default or False, help="expose only tools that read"
    )
    parser.add_argument(
        "--toolsets",
        type=_names,
        default=default,
        help=f"comma-separated toolsets to expose (default all: {','.join(TOOLSETS)})",
    )
    parser.add_argument("--tools", type=_names, default=default, help="comma-separated tool names to expose, only")
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
        default=default,
        help="log to stderr at this level; INFO logs one line per GitHub request (default WARNING)",
    )
    return parser


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="github-packages-mcp",
        description="MCP server for GitHub Packages. With no command, serves MCP over stdio.",
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--transport", choices=["stdio", "http"], help="how to serve MCP (default stdio)")
    parser.add_argument("--host", help="HTTP: address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP: port (default 8080)")
    parser.add_argument("--path", help="HTTP: endpoint path (default /mcp)")
    commands = parser.add_subparsers(dest="command")
    tools = commands.add_parser(
        "tools", help="print the tool list, or the parameters of named tools", parents=[_common_options(True)]
    )
    tools.add_argument("names", nargs="*", metavar="NAME")
    tools.add_argument("--json", action="store_true", help="print the tools as JSON, with their input schemas")
    commands.add_parser(
        "prompts", help="print the prompts, their arguments and descriptions", parents=[_common_options(True)]
    )
    commands.add_parser(
        "resources", help="print the resources and resource templates `read` takes", parents=[_common_options(True)]
    )
    call = commands.add_parser("call", help="call one tool and print its result", parents=[_common_options(True)])
    call.add_argument("tool")
    call.add_argument("arguments", nargs="*", metavar="key=value", help="lists as a,b or JSON")
    call.add_argument("--yes", action="store_true", help="confirm a destructive tool without asking")
    call.add_argument("--json", action="store_true", help="print the result as JSON, also on a terminal")
    cleanup = commands.add_parser(
        "cleanup", help="plan a retention policy's cleanups; with --apply, apply them", parents=[_common_options(True)]
    )
    cleanup.add_argument(
        "--policy", type=Path, required=True, help="TOML file of [[cleanup]] tables of plan_version_cleanup arguments"
    )
    cleanup.add_argument("--apply", action="store_true", help="apply the plans (without it: a dry run)")
    cleanup.add_argument("--yes", action="store_true", help="with --apply: confirm without asking")
    cleanup.add_argument("--json", action="store_true", help="print the plans as JSON, also on a terminal")
    cleanup.add_argument("--journal-out", type=Path, help="write this run's journal lines (JSON lines) to this file")
    read = commands.add_parser("read", help="print a resource", parents=[_common_options(True)])
    read.add_argument("uri")
    prompt = commands.add_parser("prompt", help="print a rendered prompt", parents=[_common_options(True)])
    prompt.add_argument("name")
    prompt.add_argument("arguments", nargs="*", metavar="key=value")
    install = commands.add_parser(
        "install",
        help="add this server to an MCP client's configuration (or show it, with --print)",
        parents=[_common_options(True)],
    )
    install.add_argument(
        "client", choices=["claude-desktop", "claude-code", "cursor", "vscode"], help="the MCP client to configure"
    )
    install.add_argument("--print", action="store_true", dest="print_only", help="show the entry, write nothing")
    install.add_argument("--scope", choices=["user", "project"], help="the user's file (default) or the project's")
    sandbox = commands.add_parser("sandbox", help="serve the sandbox GitHub Packages API on 127.0.0.1")
    sandbox.add_argument("--port", type=int, help=f"port to serve on (default {SANDBOX_PORT})")
    sandbox.add_argument(
        "--reset", action="store_true", help="restore the demo data, then exit (with --port: then serve)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command in ("sandbox", "install"):  # neither needs the settings' GitHub
            return _sandbox_command(args) if args.command == "sandbox" else _install_command(args)
        if args.command == "cleanup" and (refused := _policy_refused(args)) is not None:
            return refused
        with _settings(args) as settings:
            # Opened once, before anything is served or called, and shared by all of it (one Redis client).
            state = process_state(settings)
            if args.command is None:
                if settings.http_auth != "github":  # there, each HTTP caller brings their own token
                    settings.require_token()
                if settings.transport == "http":  # only then: stdio starts without uvicorn's protocol and ours
                    from github_packages_mcp.server.transports import serve_http
                # Everything imported to serve lives as long as the process: kept out of the collector's full
                # passes, which would otherwise walk all of it again and again under load (or a long listing).
                gc.freeze()
                if settings.transport == "http":
                    serve_http(settings, state)
                else:
                    if sys.stdin.isatty():  # a person, not an MCP client, started it: say what it is waiting for
                        print(STDIO_HINT, file=sys.stderr)
                    serve_stdio(build_server(settings, state=state), state)
                return 0
            if args.command == "tools":
                tools = build_server(settings, state=state)
                return anyio.run(_with_state, state, describe_tools, tools, args.names, args.json)
            if args.command in ("prompts", "resources"):  # listed without a token, as tools are
                listing = describe_prompts if args.command == "prompts" else describe_resources
                return anyio.run(_with_state, state, listing, build_server(settings, state=state))
            settings.require_token()
            # A person reads what this prints (or a script takes it whole): no result is cut to fit a context window.
            server = build_server(settings, state=state, result_limits="none")
            if args.command == "read":
                return anyio.run(_with_state, state, read_resource, server, args.uri)
            if args.command == "prompt":
                return anyio.run(_with_state, state, render_prompt, server, args.name, args.arguments)
            if args.command == "cleanup":
                return _cleanup_command(args, server, state)
            progress = Progress()
            try:
                return anyio.run(
                    _with_state, state, call_tool, server, args.tool, args.arguments, args.yes, args.json, progress
                )
            except KeyboardInterrupt:  # a delete in flight was let finish and journaled: the next run resumes after it
                say(progress.interrupted(args.tool), err=True)
                return INTERRUPTED
    except SharedStateUnavailable as exc:  # met when the state was opened, before anything was served or called
        say(f"error: cannot start: {exc}", err=True)
        return USAGE
    except ConfigError as exc:
        say(missing_token_message() if str(exc) == "no GitHub token" else f"error: {exc}", err=True)
        return USAGE
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:  # stdout was piped into a command that stopped reading (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush does not fail again
        return 0


def _policy_refused(args: argparse.Namespace) -> int | None:
    """`cleanup --policy`'s checks before anything starts or is sent: the policy read and checked whole (every
    problem said), and with --apply, someone to confirm. USAGE when one fails, else None; `args.tables` the tables."""
    from github_packages_mcp.cli.policy import load_policy
    from github_packages_mcp.retention.policy import PolicyError

    try:
        args.tables = load_policy(args.policy)
    except PolicyError as exc:
        for problem in exc.problems:
            say(f"error: {problem}", err=True)
        say(f"{args.policy}: the policy does not validate; nothing was planned or sent", err=True)
        return USAGE
    if args.apply and not args.yes and not sys.stdin.isatty():
        say(f"error: {NO_TERMINAL}", err=True)
        return USAGE
    return None


def _cleanup_command(args: argparse.Namespace, server: MCPServer[Any], state: ProcessState) -> int:
    from github_packages_mcp.cli.policy import PolicyOptions, run_policy

    options = PolicyOptions(apply=args.apply, assume_yes=args.yes, as_json=args.json, journal_out=args.journal_out)
    progress = Progress()
    try:
        return anyio.run(_with_state, state, run_policy, server, args.tables, options, progress)
    except KeyboardInterrupt:  # a delete in flight was let finish and journaled: the same command plans what is left
        say(progress.interrupted("apply_version_cleanup" if args.apply else "plan_version_cleanup"), err=True)
        return INTERRUPTED


async def _with_state(state: ProcessState, command: Callable[..., Awaitable[int]], *arguments: Any) -> int:
    """`command`, with the process's state opened first and kept open for all of it.

    Raises:
        SharedStateUnavailable: If the state cannot be opened (nothing was run).
    """
    async with state:
        return await command(*arguments)


@contextmanager
def _settings(args: argparse.Namespace) -> Iterator[Settings]:
    """Load the settings; with --sandbox, start the sandbox and point them at it for the block's duration."""
    overrides: dict[str, Any] = {
        "read_only": True if args.read_only else None,
        "log_level": args.log_level,
        "toolsets": args.toolsets,
        "tools": args.tools,
        **{
            key: getattr(args, name, None)
            for key, name in (
                ("transport", "transport"),
                ("http_host", "host"),
                ("http_port", "port"),
                ("http_path", "path"),
            )
        },
    }
    if not args.sandbox:
        settings = _with_logging(load_settings(args.config, **overrides))
        if settings.token is None and (token := token_from_gh_cli(settings.api_url)) is not None:
            host = gh_host_for(settings.api_url)
            print(f"Using the GitHub CLI's token for {host} (gh auth token): no token is configured.", file=sys.stderr)
            settings = settings.with_changes(token=token)
        yield settings
        return
    # The sandbox reads no GitHub setting of the environment (its URLs, a real token), only its pacing if set.
    environment = (
        {MUTATION_INTERVAL_ENV: os.environ[MUTATION_INTERVAL_ENV]} if MUTATION_INTERVAL_ENV in os.environ else {}
    )
    configured = load_settings(args.config, env=environment)
    journal = _sandbox_room(configured)
    # Paced as GitHub asks only when the configuration says so: a local sandbox needs no gentleness.
    paced = "mutation_interval_seconds" in configured.model_fields_set
    with _saved_sandbox(journal) as sandbox:
        sandboxed = {
            "api_url": sandbox.url,
            "registry_url": sandbox.url,
            "token": _sandbox_token(),
            "journal_dir": journal,
            "mutation_interval_seconds": None if paced else SANDBOX_MUTATION_INTERVAL,
        }
        # The machine's GitHub settings stay out of the sandbox; its choice of tools (GITHUB_TOOLSETS ...) does not.
        selection = {name: value for name, value in os.environ.items() if name in SELECTION_ENV}
        settings = _with_logging(load_settings(args.config, env=environment | selection, **sandboxed, **overrides))
        if settings.state_url:  # a config file's Redis is a real deployment's: the sandbox keeps to its own room
            settings = settings.with_changes(state_url=None)
        log.info(
            "sandbox: GitHub Packages API with demo data at %s; mutations %g s apart (GitHub's: %g s)",
            sandbox.url, settings.mutation_interval_seconds, GITHUB_MUTATION_INTERVAL,
        )  # fmt: skip
        yield settings


def _sandbox_token() -> str:
    """The sandbox's token: the environment's when it is one of the sandbox's demo tokens (the read-only one shows
    what a token without delete:packages meets), else the full-access demo token. Any other token is never used
    with the sandbox, though it only listens on this machine: a real token has no business in its logs."""
    from github_packages_mcp.sandbox import DEMO_TOKEN, DEMO_TOKENS

    for variable in TOKEN_ENV:
        if given := os.environ.get(variable, "").strip():
            if given in DEMO_TOKENS:
                return given
            print(
                f"sandbox: {variable} is not one of the sandbox's demo tokens, so it is not used (nor sent anywhere); "
                "the full-access demo token is.",
                file=sys.stderr,
            )
            break
    return DEMO_TOKEN


def _install_command(args: argparse.Namespace) -> int:
    """`install CLIENT`: the choice of tools checked as the server will check it, then the client configured.

    Raises:
        ConfigError: If the flags or the config file would keep the server from starting, or offer no tool.
    """
    from github_packages_mcp.cli.install import InstallError, Options, install

    config = args.config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    read_only = True if args.read_only else None
    settings = load_settings(config, env={}, read_only=read_only, toolsets=args.toolsets, tools=args.tools)
    if not (offered := len(select_tools(settings))):
        raise ConfigError("--toolsets, --tools and --read-only leave no tool to offer")
    options = Options(
        sandbox=args.sandbox, read_only=args.read_only, toolsets=args.toolsets, tools=args.tools, config=config,
        log_level=args.log_level, scope=args.scope, print_only=args.print_only, tools_offered=offered,
    )  # fmt: skip
    try:
        return install(args.client, options, os.environ, Path.cwd())
    except InstallError as exc:
        say(f"error: {exc}", err=True)
        return USAGE


def _with_logging(settings: Settings) -> Settings:
    """Log to stderr (stdout is the MCP wire on stdio), one `key=value` line per event."""
    logging.basicConfig(
        stream=sys.stderr, level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # httpx2 logs full URLs at INFO, and a restore's query string may carry a package token.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    return settings


def _sandbox_room(configured: Settings) -> Path:
    """Where the sandbox keeps its world, plans, journals and key: a room of the state directory of their own, so
    that a deletion, a confirmation token or a plan of one `--sandbox` process holds in the next (the Inspector CLI
    starts one per call), and nothing of the sandbox mixes with a real GitHub's."""
    return configured.journal_dir / "sandbox"


def _saved_sandbox(room: Path, port: int = 0) -> SandboxServer:
    """A sandbox server (not started) on the demo world saved in `room`, which every sandbox on the machine shares."""
    from github_packages_mcp.sandbox import SandboxServer, SandboxState, SavedWorld, build_demo_world

    return SandboxServer(SandboxState(build_demo_world, saved=SavedWorld(room)), port=port)


def _sandbox_command(args: argparse.Namespace) -> int:
    """`sandbox`: serve it; `--reset`: restore the demo data first, and only that without `--port`."""
    from github_packages_mcp.sandbox import SavedWorld
    from github_packages_mcp.state.local import forget_all

    room = _sandbox_room(load_settings(args.config, env={}))
    if args.reset:
        saved = SavedWorld(room)
        try:
            saved.reset(datetime.now(UTC))
            # What was deleted is back, so the journal's restores, the plans and the spent tokens go with it.
            forget_all(room)
        except OSError as exc:
            print(f"error: cannot reset the sandbox in {room}: {exc.strerror or exc}", file=sys.stderr)
            return USAGE
        print(
            f"sandbox: demo data restored ({saved.path}); its journal, plans and spent confirmations cleared",
            file=sys.stderr,
        )
        if args.port is None:
            return 0
    return _serve_sandbox(room, SANDBOX_PORT if args.port is None else args.port)


def _serve_sandbox(room: Path, port: int) -> int:
    from github_packages_mcp.sandbox import DEMO_LOGIN, DEMO_READ_TOKEN, DEMO_TOKEN

    try:
        sandbox = _saved_sandbox(room, port).__enter__()
    except OSError as exc:  # most often the port is taken
        print(f"error: cannot serve the sandbox on 127.0.0.1:{port}: {exc.strerror or exc}", file=sys.stderr)
        return USAGE
    url, pacing = sandbox.url, f"{MUTATION_INTERVAL_ENV}={SANDBOX_MUTATION_INTERVAL}"
    try:
        print(
            f"Sandbox GitHub Packages API and container registry on {url} (demo user {DEMO_LOGIN}); "
            "Ctrl-C stops it. A client needs:\n"
            f"  GITHUB_API_URL={url}\n  GITHUB_REGISTRY_URL={url}\n  GITHUB_TOKEN={DEMO_TOKEN}\n"
            f"  {pacing}\n"
            f"  e.g. GITHUB_API_URL={url} GITHUB_REGISTRY_URL={url} GITHUB_TOKEN={DEMO_TOKEN} {pacing} "
            "github-packages-mcp\n"
            f"GITHUB_TOKEN={DEMO_READ_TOKEN} is the demo user's read-only token. GitHub's real pacing is "
            f"{GITHUB_MUTATION_INTERVAL:g} s between deletes; without {MUTATION_INTERVAL_ENV}, a client uses it here "
            "too.\n"
            f"Its world is saved in {room}, shared with `--sandbox` commands; "
            "`github-packages-mcp sandbox --reset` restores the demo data.",
            file=sys.stderr,
        )
        threading.Event().wait()
    finally:
        sandbox.__exit__(None, None, None)
    return 0
