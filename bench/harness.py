"""What the benchmarks share: the sandbox in its own process (GitHub's CPU is not ours), free ports, timing.

.venv/bin/python bench/harness.py --serve PORT [--versions N] [--latency SECONDS]   (used by the others)
"""

from __future__ import annotations

import argparse
import compileall
import gc
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import github_packages_mcp
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer, SandboxState, build_demo_world

PACKAGE = "bench/image"  # the extra package the walk benchmark pages through


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Until something accepts connections on the loopback port, or fail if the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.05)


@contextmanager
def sandbox_process(versions: int = 0, latency: float = 0.0) -> Iterator[str]:
    """The sandbox with demo data (plus a package of `versions` versions) in a subprocess; yields its URL."""
    port = free_port()
    command = [sys.executable, __file__, "--serve", str(port), "--versions", str(versions), "--latency", str(latency)]
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(port, process)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def compile_package() -> None:
    """Write our modules' bytecode, as pip does when it installs the package, before timing a server's start: with
    PYTHONDONTWRITEBYTECODE set, an editable install would compile every module from source at every start (about
    50 ms here), which no installed server does and the SDK's installed modules never do."""
    compileall.compile_dir(Path(github_packages_mcp.__file__).parent, quiet=1)


def settle() -> None:
    """Keep what is imported out of the collector's full passes, as the server does when it starts serving
    (`cli.main`) and the sandbox below: a benchmark's process measures our code, not collector pauses over the
    libraries' objects."""
    gc.freeze()


@contextmanager
def redis_process() -> Iterator[str]:
    """redis-server (or valkey-server) without persistence on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    if binary is None:
        raise SystemExit("no redis-server or valkey-server on PATH")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_for(port, process)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


def _serve(port: int, versions: int, latency: float) -> None:
    state = SandboxState(build_demo_world)
    if versions:
        state.add_package(DEMO_ORG, "container", PACKAGE, versions=versions)
    state.faults.latency = latency
    settle()  # the world is built: keep collector pauses of the sandbox out of the client's timings
    with SandboxServer(state, port=port):
        threading.Event().wait()  # until terminated


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int, required=True)
    parser.add_argument("--versions", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    arguments = parser.parse_args()
    _serve(arguments.serve, arguments.versions, arguments.latency)
