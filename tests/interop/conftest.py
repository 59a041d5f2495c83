"""What the interoperability tests share: the official TypeScript SDK's client (installed with npm on first use),
driving the command over stdio, or over HTTP as the `http_url` fixture (tests/conftest.py) serves it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import COMMAND
from tests.npm import node_with_packages, pinned

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
HARNESS = HERE / "ts_client.mjs"
TS_SDK = "@modelcontextprotocol/sdk"
Scenario = dict[str, Any]
Report = dict[str, Any]


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, with the pinned packages installed next to the harness (npm ci, once)."""
    return node_with_packages(HERE, f"{TS_SDK}@{pinned(HERE)[TS_SDK]}")


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
        assert report["sdkVersion"] == pinned(HERE)[TS_SDK]
        return report

    return run
