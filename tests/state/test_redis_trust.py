"""Where Redis's trust ends: only an authenticated request's cancel is announced to the other replicas; a state URL
whose password was not percent-encoded is a clear error that shows no part of it. Against a real redis-server."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import redis
import redis.asyncio

from github_packages_mcp.config import Settings
from github_packages_mcp.github.cache import identity_of
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.transports import http_app
from github_packages_mcp.state.redis import shown_url
from tests.helpers import COMMAND, clean_env
from tests.server.http_serving import ACCEPT, LEGACY, serving
from tests.state.redis_serving import RedisServer

pytestmark = pytest.mark.anyio
SECRET = "one secret for every replica"
BEARER = "the-bearer-secret-of-this-server"
MULTI = {"org": DEMO_ORG, "package_type": "container", "package_name": "multi/app"}
VERSION = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api", "package_version_id": 3000000000}
CANCEL = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}


def admin(server: RedisServer) -> redis.Redis:
    """Redis as its operator (or anyone with write access to it) reaches it."""
    return redis.Redis(port=server.port)


@asynccontextmanager
async def heard_on(server: RedisServer, channel: str) -> AsyncIterator[list[Any]]:
    """What is published on `channel` while the block runs (and a moment after), decoded."""
    heard: list[Any] = []
    listener = redis.asyncio.Redis(port=server.port)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    try:
        yield heard
        with anyio.move_on_after(0.5):  # what was published at the end has arrived by then
            async for message in pubsub.listen():
                heard.append(json.loads(message["data"]))
    finally:
        await pubsub.aclose()
        await listener.aclose()


@pytest.mark.parametrize(
    ("auth", "wrong", "right", "caller"),
    [
        ("bearer", "not-the-secret-of-this-server", BEARER, "shared-secret"),
        ("github", "made-up-by-a-stranger", DEMO_TOKEN, identity_of(DEMO_TOKEN)),
    ],
    ids=["bearer", "github"],
)
async def test_only_an_authenticated_requests_cancel_reaches_the_other_replicas(
    settings: Settings, sandbox: SandboxServer, redis: RedisServer, auth: str, wrong: str, right: str, caller: str
) -> None:
    served = settings.with_changes(
        http_stateless=True, state_url=redis.url, shared_secret=SECRET, http_auth=auth, http_bearer_secret=BEARER,
        token=None if auth == "github" else settings.token,
    )  # fmt: skip
    headers = ACCEPT | {"Mcp-Protocol-Version": LEGACY}
    async with (
        heard_on(redis, "github-packages-mcp:cancel") as heard,
        serving(http_app(served), served) as url,
        httpx.AsyncClient() as raw,
    ):
        missing = await raw.post(url, json=CANCEL, headers=headers)
        refused = await raw.post(url, json=CANCEL, headers=headers | {"Authorization": f"Bearer {wrong}"})
        accepted = await raw.post(url, json=CANCEL, headers=headers | {"Authorization": f"Bearer {right}"})
    assert missing.status_code == refused.status_code == 401
    assert accepted.status_code == 202
    assert heard == [{"caller": caller, "id": 7}]


def test_a_state_url_with_an_unencoded_password_is_a_clear_error_at_start_without_it(redis: RedisServer) -> None:
    env = clean_env(
        GITHUB_PACKAGES_MCP_STATE_URL=f"redis://:hunt/er#2?x@127.0.0.1:{redis.port}/0",
        GITHUB_PACKAGES_MCP_SHARED_SECRET=SECRET,
        GITHUB_TOKEN=DEMO_TOKEN,
    )
    done = subprocess.run(
        [*COMMAND, "call", "list_my_packages", "package_type=npm"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("error: invalid configuration: state_url (from GITHUB_PACKAGES_MCP_STATE_URL): ")
    assert "percent-encode" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(part in done.stderr for part in ("hunt", "er#2", "2?x", "x@"))
    # Where messages name the server, no part of such a URL is shown either.
    shown = [shown_url(url) for url in ("redis://:/hunter2x@db:6379/0", "redis://:hunt/er2x@db/0", "unix:///r.sock")]
    assert shown == ["redis://localhost", "(a URL that cannot be read)", "unix://localhost/r.sock"]
