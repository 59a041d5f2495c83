"""`github-packages-mcp install CLIENT`: this installation added to an MCP client's configuration file, or shown.

    github-packages-mcp install cursor [--print] [--sandbox] [--read-only] [--toolsets ..] [--tools ..]
                                       [--scope user|project]

The entry, named `github-packages`, starts this installation's own command by its absolute path (no venv needs to
be activated, any working directory will do) with the flags given. The token's value is never written: each client
gets it its own way (`_TOKEN_ENV`): VS Code asks for it once and keeps it in its secret storage, Cursor and Claude
Code expand GITHUB_TOKEN from their environment, and Claude Desktop, which expands nothing, leaves the server to the
GitHub CLI's token (`gh auth token`, which the server reads when no token is set). `--sandbox` needs no token.

The file is merged, never replaced: every other server and key stays, only our entry changes; a run that would
change nothing writes nothing ("already configured"); a file that changes is first copied beside itself
(`<file>.<time>.bak`) and then replaced in one step (a temporary file renamed over it), keeping its mode. A file
that is not JSON, such as a VS Code mcp.json with comments (JSONC), is refused with nothing written: rewriting it
would drop the comments.

MCP-free: the command line (`cli.py`) checks the choice of tools, then calls `install`.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

__all__ = ["CLIENTS", "SERVER_NAME", "InstallError", "Options", "config_path", "install", "server_command"]

SERVER_NAME: Final = "github-packages"
# VS Code's input holding the token: not `github_token`, which GitHub's own MCP server's entry uses.
TOKEN_INPUT: Final = "github_packages_token"  # noqa: S105 (the input's id, no password)
# The settings that are no secret and that the server would otherwise lose when a client starts it elsewhere.
_PASSED_ENV: Final = ("GITHUB_API_URL", "GITHUB_REGISTRY_URL")


@dataclass(frozen=True)
class Client:
    """An MCP client: its name for people, the key of its servers, and how it picks up a change."""

    title: str
    servers_key: str
    reload: str
    scopes: tuple[str, ...] = ("user", "project")


CLIENTS: Final = {
    "claude-desktop": Client(
        "Claude Desktop",
        "mcpServers",
        "Quit Claude Desktop completely (not only its window) and start it again.",
        scopes=("user",),
    ),
    "claude-code": Client(
        "Claude Code",
        "mcpServers",
        "Start a new Claude Code session; `/mcp` lists github-packages (a project's .mcp.json is approved once).",
    ),
    "cursor": Client(
        "Cursor", "mcpServers", "Restart Cursor, or switch github-packages off and on in its MCP settings."
    ),
    "vscode": Client(
        "VS Code",
        "servers",
        "In VS Code, run `MCP: List Servers` and start github-packages.",
    ),
}
# How each client passes the token: the value stays where the person keeps it, never in the file.
_TOKEN_ENV: Final = {
    "claude-code": "${GITHUB_TOKEN:-}",  # `:-`: unset, it is empty (the server then asks gh), not a parse error
    "cursor": "${env:GITHUB_TOKEN}",
    "vscode": "${input:" + TOKEN_INPUT + "}",
}
_TOKEN_NOTES: Final = {
    "claude-code": "token: GITHUB_TOKEN from Claude Code's environment (expanded at start, not stored); unset, "
    "the server uses the GitHub CLI's (gh auth token)",
    "cursor": "token: GITHUB_TOKEN from Cursor's environment (${env:GITHUB_TOKEN}, not stored): start Cursor where "
    "it is set; unset, the server uses the GitHub CLI's (gh auth token)",
    "vscode": "token: VS Code asks for it when it first starts the server and keeps it in its secret storage",
}


class InstallError(Exception):
    """The configuration cannot be written as asked; nothing was written, and the message says why."""


@dataclass(frozen=True)
class Options:
    """What the entry starts, where it goes, and whether it is only shown."""

    sandbox: bool = False
    read_only: bool = False
    toolsets: tuple[str, ...] | None = None
    tools: tuple[str, ...] | None = None
    config: Path | None = None
    log_level: str | None = None
    scope: str | None = None
    print_only: bool = False
    tools_offered: int | None = None  # counted by the caller, for the summary


def server_command(executable: str = sys.executable) -> list[str]:
    """This installation's command, by absolute path: the `github-packages-mcp` script beside the interpreter, or
    the interpreter with `-m github_packages_mcp` when there is none (a source checkout)."""
    # Not resolved: a venv's python is a link to the base interpreter, which does not see the venv's packages.
    python = Path(executable).absolute()
    script = python.with_name("github-packages-mcp.exe" if os.name == "nt" else "github-packages-mcp")
    return [str(script)] if script.is_file() else [str(python), "-m", "github_packages_mcp"]


def server_args(options: Options) -> list[str]:
    """The flags the client passes to the server."""
    args = ["--sandbox"] if options.sandbox else []
    args += ["--read-only"] if options.read_only else []
    args += ["--toolsets", ",".join(options.toolsets)] if options.toolsets is not None else []
    args += ["--tools", ",".join(options.tools)] if options.tools is not None else []
    args += ["--config", str(options.config.absolute())] if options.config is not None else []
    return args + (["--log-level", options.log_level] if options.log_level else [])


def config_path(
    client: str, scope: str, env: Mapping[str, str], cwd: Path, platform: str = sys.platform, home: Path | None = None
) -> Path:
    """Where `client` reads its MCP servers for `scope` (user or project), on `platform`.

    Raises:
        InstallError: If the client has no such scope, or Windows' APPDATA is not set.
    """
    if scope not in CLIENTS[client].scopes:
        raise InstallError(f"{CLIENTS[client].title} has one configuration, the user's: --scope {scope} does not apply")
    home = home or Path.home()
    if scope == "project":
        return cwd / {"claude-code": ".mcp.json", "cursor": ".cursor/mcp.json", "vscode": ".vscode/mcp.json"}[client]
    if client == "claude-code":  # Claude Code moves its whole configuration with CLAUDE_CONFIG_DIR
        return (
            Path(env["CLAUDE_CONFIG_DIR"]) / ".claude.json" if env.get("CLAUDE_CONFIG_DIR") else home / ".claude.json"
        )
    if client == "cursor":
        return home / ".cursor" / "mcp.json"
    within = ("Claude", "claude_desktop_config.json") if client == "claude-desktop" else ("Code", "User", "mcp.json")
    if platform == "darwin":
        return home.joinpath("Library", "Application Support", *within)
    if platform == "win32":
        if not env.get("APPDATA"):
            raise InstallError("APPDATA is not set: cannot find the user's application data folder")
        return Path(env["APPDATA"]).joinpath(*within)
    # Linux: where Electron apps keep their data (app.getPath("appData")), XDG_CONFIG_HOME or ~/.config
    return (Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config").joinpath(*within)


def entry(client: str, options: Options, env: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The server's entry for `client`, and what the person should know about it (how the token arrives)."""
    command = server_command()
    server: dict[str, Any] = {"type": "stdio"} if client in ("claude-code", "vscode") else {}
    server |= {"command": command[0], "args": [*command[1:], *server_args(options)]}
    variables = {} if options.sandbox else {name: env[name] for name in _PASSED_ENV if env.get(name, "").strip()}
    notes = _where_notes(command)
    if options.sandbox:
        notes.append("token: none needed: --sandbox serves the built-in sandbox's demo data")
    elif client == "claude-desktop":
        notes.append(_gh_note(variables))
    else:
        variables["GITHUB_TOKEN"] = _TOKEN_ENV[client]
        notes.append(_TOKEN_NOTES[client])
    if variables:
        server["env"] = variables
    return server, notes


def _gh_note(variables: dict[str, str]) -> str:
    """Claude Desktop expands no variable in its file, and a token written there would lie in plain text: the
    server takes the GitHub CLI's token. Claude Desktop starts servers with a short PATH (no Homebrew), so gh's
    folder is put first on it."""
    gh = shutil.which("gh")
    if gh is None:
        return (
            "token: none yet. Claude Desktop cannot pass GITHUB_TOKEN, and the GitHub CLI (gh), whose token the "
            "server would use, was not found: install gh and run `gh auth login`, or install with --sandbox to try it"
        )
    if os.name != "nt":
        variables["PATH"] = os.pathsep.join([str(Path(gh).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    return (
        f"token: the GitHub CLI's ({gh} auth token; run `gh auth login` if needed), as Claude Desktop cannot pass "
        "GITHUB_TOKEN"
    )


def _where_notes(command: list[str]) -> list[str]:
    notes = [f"command: {' '.join(command)}"]
    parts = Path(command[0]).parts
    if "archive-v0" in parts or (".cache" in parts and "pipx" in " ".join(parts)):  # uvx's and pipx run's caches
        notes.append(
            "warning: this is a temporary environment (uvx or pipx run) that may be removed: install the package to "
            "stay (pipx install, uv tool install, or pip in a venv) and run install from there"
        )
    return notes


def merged(client: str, document: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    """`document` with our entry (and, for VS Code, our token input) in place; every other key kept as it was.

    Raises:
        InstallError: If the servers, or VS Code's inputs, are not what the client reads.
    """
    key = CLIENTS[client].servers_key
    servers = document.get(key, {})
    if not isinstance(servers, dict):
        raise InstallError(f"its {key!r} is not a JSON object, as {CLIENTS[client].title} expects")
    result = {**document, key: {**servers, SERVER_NAME: server}}
    if client == "vscode":
        inputs = document.get("inputs", [])
        if not isinstance(inputs, list):
            raise InstallError("its 'inputs' is not a JSON array, as VS Code expects")
        kept = [item for item in inputs if not (isinstance(item, dict) and item.get("id") == TOKEN_INPUT)]
        if "${input:" + TOKEN_INPUT + "}" in server.get("env", {}).values():
            kept.append(_token_input())
        if kept or "inputs" in document:
            result["inputs"] = kept
    return result


def _token_input() -> dict[str, Any]:
    description = "GitHub token for github-packages: classic, read:packages (delete:packages to delete)"
    return {"type": "promptString", "id": TOKEN_INPUT, "description": description, "password": True}


def read_config(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when there is no file (an empty one reads as `{}`).

    Raises:
        InstallError: If it cannot be read, is not JSON (JSONC's comments included), or is not an object.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: a byte order mark, as some Windows editors write
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InstallError(f"cannot read {path}: {exc}") from None
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstallError(
            f"{path} is not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno}); nothing was written. "
            "Comments and trailing commas (JSONC, which VS Code accepts) would be lost in rewriting it: remove them, "
            "or add the entry by hand (`--print` shows it)"
        ) from None
    if not isinstance(document, dict):
        raise InstallError(f"{path} holds JSON but not an object; nothing was written")
    return document


def write_atomically(path: Path, document: dict[str, Any], existed: bool) -> Path | None:
    """Write `document` to `path` in one step, keeping its mode; first copy the old file beside it.

    Returns:
        The backup's path, or None when there was no file.
    """
    target = path.resolve() if path.is_symlink() else path  # a dotfiles link stays a link
    backup = None
    if existed:
        mode = stat.S_IMODE(target.stat().st_mode)
        backup = _backup_path(target)
        shutil.copy2(target, backup)  # copy2: the backup keeps the mode too, since such files may hold secrets
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
        target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return backup


def _backup_path(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    backup, n = path.with_name(f"{path.name}.{stamp}.bak"), 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.{stamp}-{n}.bak")
    return backup


def install(client: str, options: Options, env: Mapping[str, str], cwd: Path, out: TextIO = sys.stdout) -> int:
    """Write (or with `print_only`, print) `client`'s configuration for this installation; 0 when done.

    Raises:
        InstallError: If nothing could be written (the message says why).
    """
    scope = options.scope or "user"
    path = config_path(client, scope, env, cwd)
    server, notes = entry(client, options, env)
    title = CLIENTS[client].title
    if options.print_only:
        shown = merged(client, {}, server)
        print(json.dumps(shown, indent=2, ensure_ascii=False), file=out)
        print(f"For {title} ({scope}): merge into {path}; nothing was written.", file=sys.stderr)
        print("\n".join(f"  {note}" for note in notes), file=sys.stderr)
        return 0
    existing = read_config(path)
    document = merged(client, existing or {}, server)
    if existing is not None and document == existing:
        print(f"{SERVER_NAME} is already configured for {title} in {path}; nothing changed.", file=out)
        return 0
    before = (existing or {}).get(CLIENTS[client].servers_key, {})
    try:
        backup = write_atomically(path, document, existed=existing is not None)
    except OSError as exc:
        raise InstallError(f"cannot write {path}: {exc.strerror or exc}") from None
    done = "Updated" if SERVER_NAME in before else "Added"
    offered = f", {options.tools_offered} tools" if options.tools_offered is not None else ""
    lines = [f"{done} {SERVER_NAME} ({scope}{offered}) for {title} in {path}", *(f"  {note}" for note in notes)]
    lines += [f"  backup of the previous file: {backup}"] if backup else []
    print("\n".join([*lines, f"Next: {CLIENTS[client].reload}"]), file=out)
    return 0
