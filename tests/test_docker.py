"""The Docker image, built from this tree and driven as an MCP stdio server by the SDK's client, as the client
configuration in docs/publishing.md runs it. A build takes minutes, so these tests run only when asked
(GITHUB_PACKAGES_MCP_DOCKER_TESTS=1) and a docker daemon answers; otherwise they skip at once and say which is
missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from github_packages_mcp import __version__
from github_packages_mcp.server.app import tool_entries
from tests.helpers import clean_env, ok

OPT_IN = "GITHUB_PACKAGES_MCP_DOCKER_TESTS"
TAG = "github-packages-mcp:docker-test"
ROOT = Path(__file__).parent.parent


def docker_missing() -> str | None:
    """Why the image cannot be built here, or None. `docker info` fails within a second when no daemon runs."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker command on PATH"
    try:
        info = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=15, check=False
        )
    except subprocess.TimeoutExpired:
        return "docker info did not answer within 15 s"
    if info.returncode != 0:
        said = (info.stderr.strip().splitlines() or ["no output"])[-1]
        return f"no docker daemon answers (docker info: {said})"
    if os.environ.get(OPT_IN) != "1":
        return f"building the image takes minutes: set {OPT_IN}=1 to run these tests"
    return None


def docker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S607
    assert done.returncode == 0, f"docker {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout.strip()


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    if (reason := docker_missing()) is not None:
        pytest.skip(reason)
    docker("build", "--tag", TAG, str(ROOT), timeout=1200)
    try:
        yield TAG
    finally:
        subprocess.run(["docker", "image", "rm", "--force", TAG], capture_output=True, timeout=60, check=False)  # noqa: S607


@pytest.mark.anyio
async def test_the_image_serves_mcp_over_stdio(image: str) -> None:
    # As a client starts it (docs/publishing.md): docker run -i --rm IMAGE, here with --sandbox instead of a token.
    params = StdioServerParameters(command="docker", args=["run", "-i", "--rm", image, "--sandbox"], env=clean_env())
    async with Client(params) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        listing = ok(await client.call_tool("list_my_packages", {"package_type": "container"}))
        # A plan is written to the state directory: the user without root can write there.
        plan = ok(
            await client.call_tool(
                "plan_version_cleanup",
                {
                    "org": "acme-labs",
                    "package_type": "container",
                    "package_name": "multi/app",
                    "tagged": "untagged",
                    "keep_younger_than_days": 30,
                },
            )
        )
    assert sorted(names) == sorted(entry.name for entry in tool_entries())
    assert [item["name"] for item in listing["items"]] == ["hello-world"]
    assert plan["plan_id"]


def test_the_image_runs_without_root_and_keeps_state_in_its_home(image: str) -> None:
    script = 'id -u; echo "$XDG_STATE_HOME"; touch "$XDG_STATE_HOME/written" && echo writable'
    assert docker("run", "--rm", "--entrypoint", "sh", image, "-c", script).splitlines() == [
        "10001",
        "/home/mcp/state",
        "writable",
    ]
    assert docker("run", "--rm", image, "--version") == f"github-packages-mcp {__version__}"
