"""What a client is told when it may not call: bearer mode challenges for its secret and advertises no OAuth; github
mode publishes protected-resource metadata (RFC 9728) naming GitHub's OAuth server and the packages scopes."""

from __future__ import annotations

import httpx2
import pytest

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ACTIONS_TOKEN, DEMO_ORG, DEMO_TOKEN
from github_packages_mcp.server.transports import http_app
from tests.helpers import Person, ok
from tests.server.http_serving import ACCEPT, LEGACY, http_client, open_session, serving

pytestmark = pytest.mark.anyio
SECRET = "s3cret-for-the-mcp-endpoint"
PUBLIC = "https://mcp.example.com"
LISTING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
# Every place an OAuth client looks for metadata about this server or an authorization server at its address.
METADATA_PATHS = (
    "/.well-known/oauth-protected-resource/mcp",
    "/.well-known/oauth-protected-resource",
    "/.well-known/oauth-authorization-server",
    "/.well-known/oauth-authorization-server/mcp",
    "/.well-known/openid-configuration",
)


def origin(url: str) -> str:
    return url.removesuffix("/mcp")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_bearer_mode_answers_a_plain_challenge_and_serves_no_oauth_metadata(
    settings: Settings, mode: str
) -> None:
    guarded = settings.with_changes(http_auth="bearer", http_bearer_secret=SECRET, public_url=PUBLIC)
    async with serving(http_app(guarded)) as url:
        async with httpx2.AsyncClient() as raw:
            missing = await raw.post(url, json=LISTING)
            wrong = await raw.post(url, json=LISTING, headers={"Authorization": "Bearer not-the-secret"})
            metadata = [(await raw.get(origin(url) + path)).status_code for path in METADATA_PATHS]
        async with http_client(url, SECRET, mode=mode, person=Person(typed="web/api")) as client:
            deleted = ok(await client.call_tool("delete_org_package", {
                "org": DEMO_ORG, "package_type": "container", "package_name": "web/api"
            }))  # fmt: skip
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"  # no resource_metadata: nothing to sign in to
    assert wrong.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "Bearer with this server's secret" in missing.json()["error_description"]
    assert metadata == [404] * len(METADATA_PATHS)
    assert deleted["deleted"] is True  # with the secret: sessions, forms and all


async def test_github_mode_names_github_as_the_authorization_server(settings: Settings) -> None:
    passing = settings.with_changes(http_auth="github", token=None, public_url=PUBLIC)
    async with serving(http_app(passing)) as url, httpx2.AsyncClient() as raw:
        missing = await raw.post(url, json=LISTING)
        wrong = await raw.post(url, json=LISTING, headers={"Authorization": "Bearer ghp_\x01"})
        metadata = await raw.get(origin(url) + "/.well-known/oauth-protected-resource/mcp")
        others = [(await raw.get(origin(url) + path)).status_code for path in METADATA_PATHS[1:]]
    scopes = 'scope="read:packages write:packages delete:packages"'
    pointer = f'resource_metadata="{PUBLIC}/.well-known/oauth-protected-resource/mcp"'
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == f"Bearer {pointer}, {scopes}"
    assert wrong.headers["www-authenticate"] == f'Bearer {pointer}, {scopes}, error="invalid_token"'
    assert metadata.status_code == 200
    assert metadata.json() == {
        "resource": f"{PUBLIC}/mcp",
        "authorization_servers": ["https://github.com/login/oauth"],
        "scopes_supported": ["read:packages", "write:packages", "delete:packages"],
        "bearer_methods_supported": ["header"],
        "resource_name": "github-packages-mcp",
    }
    assert others == [404] * len(others)  # GitHub serves the authorization server's metadata, not this server


async def test_github_mode_advertises_only_the_scopes_the_served_tools_need(settings: Settings) -> None:
    reading = settings.with_changes(http_auth="github", token=None, read_only=True)
    async with serving(http_app(reading)) as url, httpx2.AsyncClient() as raw:
        challenge = (await raw.post(url, json=LISTING)).headers["www-authenticate"]
        metadata = (await raw.get(origin(url) + "/.well-known/oauth-protected-resource/mcp")).json()
    assert metadata["scopes_supported"] == ["read:packages"]
    assert challenge.endswith(', scope="read:packages"')
    assert metadata["resource"] == "http://127.0.0.1:8080/mcp"  # without public_url: where it listens


async def test_a_session_belongs_to_the_token_that_opened_it(settings: Settings) -> None:
    """With callers' own tokens, another caller who learns a session's id cannot use it (the SDK binds a session to
    the credential that opened it, which this server's authentication hands it)."""
    passing = settings.with_changes(http_auth="github", token=None)
    async with serving(http_app(passing)) as url, httpx2.AsyncClient() as raw:
        admin = {"Authorization": f"Bearer {DEMO_TOKEN}"}
        session = {"Mcp-Session-Id": await open_session(raw, url, admin), "Mcp-Protocol-Version": LEGACY}
        bot = {"Authorization": f"Bearer {DEMO_ACTIONS_TOKEN}"}
        own = await raw.post(url, json=LISTING, headers=ACCEPT | admin | session)
        other = await raw.post(url, json=LISTING, headers=ACCEPT | bot | session)
    assert own.status_code == 200
    assert '"name":"list_my_packages"' in own.text
    assert other.status_code == 404
    assert "Session not found" in other.text
