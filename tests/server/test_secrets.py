"""A token that slipped past the settings' validation (given in code, or a pass-through caller's bearer) never
reaches a tool result, a start-up warning or a log line: real MCP sessions against the sandbox."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx2
import pytest
from mcp import Client
from pydantic import SecretStr

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_TOKEN, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.server.transports import GitHubTokenVerifier, http_app
from tests.helpers import error_text

pytestmark = pytest.mark.anyio
Spelled = Callable[[str, str], bool]
UNUSABLE = (
    "Nothing was sent: the GitHub token contains a carriage return (CR), which an HTTP header cannot carry. Set the "
    "token again without such characters (a file saved with CRLF line endings, or a paste, can add them)."
)
PACKAGE = {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}


def with_token(settings: Settings, token: str, **changes: object) -> Settings:
    """The settings with a token set in code, past validation, as a program embedding the server might."""
    return settings.model_copy(update={"token": SecretStr(token), **changes})


async def test_a_token_with_a_stray_cr_is_a_clear_tool_error_without_the_token(
    settings: Settings, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, spelled: Spelled
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Client(build_server(with_token(settings, f"{DEMO_TOKEN}\r"))) as client:
        read = await client.call_tool("get_org_package", PACKAGE)
        checked = await client.call_tool("check_token", {})
        planned = await client.call_tool("plan_version_cleanup", {**PACKAGE, "keep_latest": 1})
    assert error_text(read) == f"Error executing tool get_org_package: {UNUSABLE}"
    assert error_text(checked) == f"Error executing tool check_token: {UNUSABLE}"
    assert UNUSABLE in error_text(planned)
    assert sandbox.state.requests == []  # refused before anything was built, never retried
    everything = [error_text(read), error_text(checked), error_text(planned), caplog.text]
    assert not any(spelled(DEMO_TOKEN, text) for text in everything)


async def test_the_start_up_warning_never_holds_the_token(
    settings: Settings, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, spelled: Spelled
) -> None:
    caplog.set_level(logging.DEBUG)
    bad = with_token(settings, f"{DEMO_TOKEN}\r", hide_unusable_tools=True)
    async with Client(build_server(bad)) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [f"could not read the token's scopes, all tools stay listed: {UNUSABLE}"]
    assert "delete_org_package" in listed  # the tools stay; each call says what is wrong
    assert sandbox.state.requests == []
    assert not spelled(DEMO_TOKEN, caplog.text)


async def test_an_http_stack_error_echoing_the_header_is_redacted_at_start_up_and_in_results(
    settings: Settings, caplog: pytest.LogCaptureFixture, spelled: Spelled
) -> None:
    """A valid token, but an HTTP stack that repeats the Authorization header in its error (as h11 does)."""

    def echo(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.LocalProtocolError(f"Illegal header value {request.headers['authorization'].encode()!r}")

    caplog.set_level(logging.DEBUG)
    server = build_server(settings.with_changes(hide_unusable_tools=True), transport=httpx2.MockTransport(echo))
    async with Client(server) as client:
        result = await client.call_tool("get_org_package", PACKAGE)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    host = settings.api_url.rstrip("/")
    assert warnings == [
        "could not read the token's scopes, all tools stay listed: "
        f"could not reach {host}: Illegal header value b'Bearer [redacted]'"
    ]
    assert error_text(result) == (
        "Error executing tool get_org_package: Could not complete GET /orgs/acme-labs/packages/container/web%2Fapi: "
        f"could not reach {host}: Illegal header value b'Bearer [redacted]'. Nothing was changed; try again later."
    )
    assert not spelled(DEMO_TOKEN, caplog.text + error_text(result))


@pytest.mark.parametrize("stray", ["\r", "\n", " ", "\t", "\x00", "\x01", "\x7f", "é", "\u00a0"])
async def test_pass_through_refuses_a_bearer_no_header_to_github_could_carry(
    settings: Settings, sandbox: SandboxServer, stray: str
) -> None:
    async with GitHubTokenVerifier(settings).open() as verifier:
        assert await verifier.verify_token(f"{DEMO_TOKEN}{stray}") is None
        assert sandbox.state.requests == []  # refused without asking GitHub, so never sent anywhere
        assert await verifier.verify_token(DEMO_TOKEN) is not None
    # As a request carries it: uvicorn's h11 lets control and non-ASCII (latin-1) bytes through, the SDK's
    # authentication hands them to the verifier, which answers 401 before any call acts with them.
    app = http_app(settings.with_changes(http_auth="github", token=None))
    accept = (b"accept", b"application/json, text/event-stream")
    client = {"name": "test", "version": "0"}
    opening = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}  # opens a session
    listing = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": opening}
    answers = []
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app), base_url="http://127.0.0.1") as http,
    ):
        for token in (DEMO_TOKEN.encode(), DEMO_TOKEN.encode() + stray.encode("latin-1")):
            headers = [(b"authorization", b"Bearer " + token), accept]
            answers.append((await http.post("/mcp", headers=headers, json=listing)).status_code)
    assert answers == [200, 401]
