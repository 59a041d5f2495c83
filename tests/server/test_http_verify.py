"""With callers' own GitHub tokens (`http_auth = "github"`), GitHub is asked about a bearer before anything is served:
a made-up one gets 401 `invalid_token` and opens nothing, a real one is served, a token GitHub knows but that cannot
read /user is no made-up one, a GitHub that cannot say makes a 503 that is not remembered, and GitHub's word is
kept for a while. Through a real uvicorn, against the sandbox's GET /user (the requests it records are counted)."""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx2
import pytest

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ACTIONS_TOKEN, DEMO_ORG, DEMO_READ_TOKEN, DEMO_TOKEN, Fault, SandboxServer
from github_packages_mcp.server.http_verify import VERDICT_SECONDS, GitHubTokenVerifier
from github_packages_mcp.server.transports import http_app
from tests.helpers import free_port, ok
from tests.server.http_serving import ACCEPT, INITIALIZE, LEGACY, http_client, open_session, serving

pytestmark = pytest.mark.anyio
PUBLIC = "https://mcp.example.com"
LISTING = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
POINTER = f'resource_metadata="{PUBLIC}/.well-known/oauth-protected-resource/mcp"'
MADE_UP = 1000  # bearers nobody issued, sent while a real user connects


def user_checks(sandbox: SandboxServer) -> int:
    """GET /user requests the sandbox received: how often GitHub was asked about a token."""
    return sum(request.method == "GET" and request.raw_path == "/user" for request in sandbox.state.requests)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def passing(settings: Settings) -> Settings:
    return settings.with_changes(http_auth="github", token=None, public_url=PUBLIC)


async def test_made_up_bearers_open_no_session_and_a_real_user_gets_in_meanwhile(
    passing: Settings, sandbox: SandboxServer
) -> None:
    """A thousand made-up bearers, 32 at a time, against a server allowing only three sessions: every one is refused,
    none takes a session, and a real user opens all three while they keep coming."""
    few = passing.with_changes(http_max_sessions=3)
    refused: list[httpx2.Response] = []
    opened: list[str] = []
    async with serving(http_app(few), few) as url, httpx2.AsyncClient(timeout=30) as raw:

        async def flood(first: int) -> None:
            for number in range(first, MADE_UP, 32):
                headers = ACCEPT | bearer(f"made-up-{number}")
                refused.append(await raw.post(url, headers=headers, json=INITIALIZE))

        async with anyio.create_task_group() as group:
            for first in range(32):
                group.start_soon(flood, first)
            with anyio.fail_after(10):
                while len(refused) < MADE_UP // 4:  # noqa: ASYNC110  (the flood offers no event)
                    await anyio.sleep(0.005)
            for _ in range(3):  # while the flood goes on
                opened.append(await open_session(raw, url, bearer(DEMO_TOKEN)))
            assert len(refused) < MADE_UP
        listing = await raw.post(url, headers=ACCEPT | bearer(DEMO_TOKEN) | session_of(opened[0]), json=LISTING)
    assert len(refused) == MADE_UP
    assert {answer.status_code for answer in refused} == {401}
    assert {answer.headers["www-authenticate"] for answer in refused} == {
        f'Bearer {POINTER}, scope="read:packages write:packages delete:packages", error="invalid_token"'
    }
    assert not any("mcp-session-id" in answer.headers for answer in refused)
    assert len(set(opened)) == 3  # every session the server allows went to the real user
    assert '"name":"list_my_packages"' in listing.text
    assert user_checks(sandbox) == MADE_UP + 1  # each bearer asked about once


def session_of(session: str) -> dict[str, str]:
    return {"Mcp-Session-Id": session, "Mcp-Protocol-Version": LEGACY}


@pytest.mark.parametrize(
    ("method", "body"),
    [("POST", INITIALIZE), ("POST", LISTING), ("GET", None), ("DELETE", None)],
    ids=["initialize", "tools/list", "GET stream", "DELETE"],
)
async def test_a_token_github_rejects_gets_401_invalid_token_pointing_at_the_metadata(
    passing: Settings, sandbox: SandboxServer, method: str, body: Any
) -> None:
    revoked = "ghp_revokedYesterday00000000000000000000"  # the sandbox does not know it, as GitHub would not
    async with serving(http_app(passing), passing) as url, httpx2.AsyncClient() as raw:
        answers = [
            await raw.request(method, url, headers=ACCEPT | bearer(revoked) | session_of("0" * 32), json=body)
            for _ in range(3)
        ]
    assert [answer.status_code for answer in answers] == [401] * 3
    challenge = answers[0].headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge and POINTER in challenge
    assert answers[0].json() == {
        "error": "invalid_token",
        "error_description": "GitHub does not know this token (made up, expired or revoked): sign in again, or send "
        "your GitHub token (a classic token with the packages scopes) as Authorization: Bearer",
    }
    assert user_checks(sandbox) == 1  # GitHub's refusal is kept too


async def test_a_real_token_is_asked_about_once_and_served(passing: Settings, sandbox: SandboxServer) -> None:
    async with serving(http_app(passing), passing) as url:
        for mode in ("legacy", "auto"):
            async with http_client(url, DEMO_TOKEN, mode=mode) as client:
                assert (await client.list_tools()).tools
                listing = ok(await client.call_tool("list_org_packages", {"org": DEMO_ORG, "package_type": "npm"}))
                assert listing["items"]
    assert user_checks(sandbox) == 1


@pytest.mark.parametrize("limited", ["installation token", "spent quota", "secondary limit"])
async def test_a_token_github_knows_is_served_even_when_it_cannot_read_user(
    passing: Settings, sandbox: SandboxServer, limited: str
) -> None:
    """Actions and App installation tokens get 403 on /user (docs/github-behaviour.md#actions-tokens); a token whose
    quota is spent gets a rate limit naming its own quota: neither is a made-up token."""
    token = DEMO_ACTIONS_TOKEN if limited == "installation token" else DEMO_READ_TOKEN
    if limited == "spent quota":
        sandbox.state.set_rate_limit(token, remaining=0, reset_in=600)
    if limited == "secondary limit":
        sandbox.state.faults.script("GET", "/user", [Fault.secondary_rate_limit(retry_after=60)])
    async with serving(http_app(passing), passing) as url, httpx2.AsyncClient() as raw:
        opened = await raw.post(url, headers=ACCEPT | bearer(token), json=INITIALIZE)
    assert opened.status_code == 200
    assert [r.status for r in sandbox.state.requests if r.raw_path == "/user"] == [403]


async def test_a_rate_limit_that_may_be_the_servers_address_proves_nothing(
    passing: Settings, sandbox: SandboxServer
) -> None:
    """A 403 carrying the quota of requests without a token (60 an hour per address) could answer any token: the
    made-up one is neither served nor refused for good, but told to come back."""
    spent = {"x-ratelimit-limit": "60", "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 60)}
    body = {"message": "API rate limit exceeded for 127.0.0.1.", "documentation_url": "https://docs.github.com/rest"}
    sandbox.state.faults.script("GET", "/user", [Fault(403, spent, body)])
    async with serving(http_app(passing), passing) as url, httpx2.AsyncClient() as raw:
        answer = await raw.post(url, headers=ACCEPT | bearer("made-up-by-an-attacker"), json=INITIALIZE)
    assert answer.status_code == 503
    assert "mcp-session-id" not in answer.headers


async def test_a_github_that_cannot_answer_makes_a_503_that_is_not_remembered(
    passing: Settings, sandbox: SandboxServer
) -> None:
    sandbox.state.faults.script("GET", "/user", [Fault(502), Fault(502)])  # the first try and its one retry
    async with serving(http_app(passing), passing) as url, httpx2.AsyncClient() as raw:
        down = await raw.post(url, headers=ACCEPT | bearer(DEMO_TOKEN), json=INITIALIZE)
        back = await raw.post(url, headers=ACCEPT | bearer(DEMO_TOKEN), json=INITIALIZE)
    assert down.status_code == 503
    assert down.headers["retry-after"] == "5"
    assert "www-authenticate" not in down.headers  # the token may be valid: no sign-in is asked for
    assert down.json() == {
        "error": "temporarily_unavailable",
        "error_description": "GitHub could not be asked whether this token is valid, so nothing was done; try "
        "again in a moment",
    }
    assert back.status_code == 200
    assert user_checks(sandbox) == 3


async def test_an_unreachable_github_makes_a_503(passing: Settings) -> None:
    elsewhere = passing.with_changes(api_url=f"http://127.0.0.1:{free_port()}")
    async with serving(http_app(elsewhere), elsewhere) as url, httpx2.AsyncClient() as raw:
        answer = await raw.post(url, headers=ACCEPT | bearer(DEMO_TOKEN), json=INITIALIZE)
        metadata = await raw.get(url.removesuffix("/mcp") + "/.well-known/oauth-protected-resource/mcp")
    assert answer.status_code == 503
    assert metadata.status_code == 200  # the metadata asks GitHub nothing


async def test_github_is_asked_again_once_its_word_is_old(passing: Settings, sandbox: SandboxServer) -> None:
    now = [1000.0]
    async with GitHubTokenVerifier(passing, clock=lambda: now[0]).open() as verifier:
        first = [await verifier.verify_token(token) for token in (DEMO_TOKEN, "made-up") for _ in range(3)]
        now[0] += VERDICT_SECONDS - 1
        kept = [await verifier.verify_token(token) for token in (DEMO_TOKEN, "made-up")]
        now[0] += 2
        again = [await verifier.verify_token(token) for token in (DEMO_TOKEN, "made-up")]
    assert [access is not None for access in first + kept + again] == [True] * 3 + [False] * 3 + [True, False] * 2
    assert user_checks(sandbox) == 4  # each token at first, and once more after VERDICT_SECONDS


async def test_requests_with_one_new_token_wait_for_one_question(passing: Settings, sandbox: SandboxServer) -> None:
    sandbox.state.faults.script("GET", "/user", [Fault(latency=0.3)])
    async with GitHubTokenVerifier(passing).open() as verifier, anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(verifier.verify_token, DEMO_READ_TOKEN)
    assert user_checks(sandbox) == 1
