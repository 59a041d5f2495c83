"""Run the sandbox on a local port in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from github_packages_mcp.sandbox.app import SandboxApp
from github_packages_mcp.sandbox.demo import build_demo_world
from github_packages_mcp.sandbox.switches import Switches
from github_packages_mcp.sandbox.world import SandboxState

START_TIMEOUT = 10.0


class SandboxServer:
    """The sandbox served by uvicorn on `host:port` (port 0 picks a free one); usable as a context manager.

    `switches` (for the demo world it builds when no `state` is given) depart from GitHub's observed behaviour;
    a reset restores them.

    uvicorn runs in a daemon thread with its own event loop: off the main thread it installs no signal
    handlers, so the host keeps its own Ctrl-C handling.
    """

    def __init__(
        self,
        state: SandboxState | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        switches: Switches | None = None,
    ) -> None:
        if state is not None and switches is not None:
            raise ValueError("give the switches to the SandboxState, or no state")
        self.state = state if state is not None else SandboxState(build_demo_world, switches=switches)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. "http://127.0.0.1:54321"."""
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the sandbox server is already running")
        # An explicit IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (it checks `proto`);
        # without it every response with a body waits ~40 ms for a delayed ACK.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        # log_config=None: do not reconfigure the host's logging; ws="none": plain HTTP only.
        config = uvicorn.Config(
            SandboxApp(self.state), log_level="warning", lifespan="off", access_log=False, log_config=None, ws="none"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{self.port}", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox server did not start on {self.host}:{self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=START_TIMEOUT)
        if sock is not None:
            sock.close()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
