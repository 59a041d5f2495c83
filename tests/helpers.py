"""Helpers the tests share: reading tool results, a person who answers confirmation forms, and running the
installed command with a clean environment. Fixtures are in `conftest.py`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

from mcp.client.session import ClientRequestContext
from mcp_types import CallToolResult, ElicitRequestParams, ElicitResult

from github_packages_mcp.toolkit.entries import ToolEntry

COMMAND = [sys.executable, "-m", "github_packages_mcp"]
# The sandbox demo organization's container packages, as list-packages names them.
ACME_CONTAINERS = ["base-image", "gateway", "multi/app", "web/api"]


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a call that must have succeeded."""
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    """The text of a call that must have failed."""
    assert result.is_error
    return " ".join(getattr(block, "text", "") for block in result.content)


# The state directory of every command the tests run: never the home directory of the machine running them.
STATE_HOME = tempfile.mkdtemp(prefix="github-packages-mcp-tests-")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any GitHub settings of the machine running the tests, with a state
    directory of the tests' own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITHUB_PACKAGES_MCP"))}
    return env | {"XDG_STATE_HOME": STATE_HOME} | extra


class Person:
    """Answers confirmation forms like a person would, and remembers what they were shown."""

    def __init__(self, action: str = "accept", typed: str | None = None) -> None:
        self.action = action
        self.typed = typed
        self.messages: list[str] = []

    async def __call__(self, _context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        self.messages.append(params.message)
        if self.action != "accept":
            return ElicitResult(action=self.action)  # type: ignore[arg-type]
        return ElicitResult(action="accept", content={"confirm": self.typed or ""})


def changes_nothing(entry: ToolEntry) -> bool:
    """Whether a tool only reads, judged by the scopes it needs (its annotations must agree)."""
    return not {"delete:packages", "write:packages"} & set(entry.scopes)


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Until the process started by a test accepts connections on the loopback port.

    Raises:
        RuntimeError: If it exited first, or did not listen within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.args!r} did not listen on port {port} in {timeout} s") from None
            time.sleep(0.02)
    raise RuntimeError(f"{process.args!r} exited with {process.returncode} before listening on port {port}")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class StoppedClock:
    """A clock (seconds since the epoch) that stands still at 2026-12-02T12:00:00Z until a test moves `now`."""

    START = 1_796_212_800.0

    def __init__(self) -> None:
        self.now = self.START

    def __call__(self) -> float:
        return self.now


def printed_at_terminal(arguments: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """The command run with its standard output a pseudo-terminal, as a person sees it: its exit code, what it
    printed there (line ends as `\\n`) and its standard error."""
    import pty  # POSIX only, as the tests that need a terminal

    terminal, its_end = pty.openpty()
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen([*COMMAND, *arguments], stdout=its_end, stderr=stderr, env=env) as process,
    ):
        os.close(its_end)
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: the command closed its end
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait()
        stderr.seek(0)
        errors = stderr.read().decode()
    os.close(terminal)
    return code, b"".join(chunks).decode().replace("\r\n", "\n"), errors
