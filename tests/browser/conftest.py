"""The real-browser tests of MCP Apps: Debian's Chromium (installed by .ci/run), the harness's npm packages
(installed by npm ci on first use), one browser for the whole run, and the harness's own fixture server.

They skip, saying why, when Chromium or the npm packages cannot be had; under CI=true a missing Chromium fails
them, unless .ci/run said why it could not install it (CHROMIUM_UNAVAILABLE), so they never skip unnoticed there.
All of them run in one xdist worker (the group "browser"), so one browser serves them all.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.harness import BrowserHost, chromium
from tests.helpers import clean_env, free_port, wait_for_port
from tests.npm import node_with_packages, pinned

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
BRIDGE = "@modelcontextprotocol/ext-apps"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def browser_host() -> Iterator[BrowserHost]:
    """The driver and its headless Chromium, launched once for the run (each `open` gets a new context)."""
    browser = chromium()
    node = node_with_packages(HERE, f"the browser harness's npm packages ({BRIDGE}@{pinned(HERE)[BRIDGE]})")
    host = BrowserHost(node, browser)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="module")
def fixture_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The harness's own MCP server (fixture_server.py) on a free loopback port, for the module: its `echo`
    counts calls across the module's tests."""
    port = free_port()
    command = [sys.executable, "-m", "tests.browser.fixture_server", str(port)]
    with (tmp_path_factory.mktemp("fixture-server") / "server.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=clean_env(), stdout=log, stderr=log)
        try:
            wait_for_port(port, process)
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            process.wait(10)
