"""Where Redis's trust ends: only an authenticated request's cancel is announced to the other replicas. Against a
real redis-server."""

from __future__ import annotations

import json
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
