"""No credential in what the HTTP stack says: a token is refused before a header could echo it, and whatever text
comes from httpx2, httpcore2 or the other side is redacted (`redaction.redact`) in messages, exception chains and the
HTTP stack's own log lines."""

from __future__ import annotations

import base64
import logging
import re
import traceback
from collections.abc import Callable
from urllib.parse import quote

import httpx2
import pytest

from github_packages_mcp.config import Settings
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.errors import TransportError, Unauthorized, UnusableToken
from github_packages_mcp.github.redaction import REDACTED, redact, scrub
from github_packages_mcp.sandbox import DEMO_READ_TOKEN, DEMO_TOKEN, SandboxServer

pytestmark = pytest.mark.anyio
Spelled = Callable[[str, str], bool]
OPAQUE = "opaque-caller-secret-7f3a9c"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


HEADER_CR = f"Bearer {DEMO_TOKEN}\r".encode()
HEADER_SPACE = f"Bearer {DEMO_TOKEN} ".encode()


@pytest.mark.parametrize(
    "text",
    [
        DEMO_TOKEN,
        f"Illegal header value {HEADER_CR!r}",
        repr(httpx2.LocalProtocolError(f"Illegal header value {HEADER_SPACE!r}")),
        f"registry answered for Bearer {_b64(DEMO_TOKEN)}",
        f"in a longer value: {_b64('user:' + DEMO_TOKEN)} and {_b64('Bearer ' + DEMO_TOKEN)}",
        f"https://example.test/?access_token={quote(DEMO_TOKEN + chr(13))}",
        f"headers: [(b'Authorization', b'token {DEMO_TOKEN}')]",
        f"Authorization: Bearer {DEMO_TOKEN}\r\nAccept: */*",
    ],
)
def test_every_spelling_of_the_token_is_redacted(text: str, spelled: Spelled) -> None:
    assert spelled(DEMO_TOKEN, text)
    redacted = redact(text, DEMO_TOKEN)
    assert REDACTED in redacted
    assert not spelled(DEMO_TOKEN, redacted)


def test_credentials_are_redacted_whoever_they_belong_to() -> None:
    """Without knowing the token: any Authorization value, Bearer or Basic credential, GitHub-shaped token."""
    assert redact("Authorization: token abc123") == f"Authorization: {REDACTED}"
    assert redact(f"{{'authorization': 'Bearer {OPAQUE}'}}") == f"{{'authorization': '{REDACTED}'}}"
    assert redact(f"sent Basic {_b64('x:' + OPAQUE)}") == f"sent Basic {REDACTED}"
    assert redact(f"a token {DEMO_READ_TOKEN}, then") == f"a token {REDACTED}, then"
    assert redact(f"the caller's {OPAQUE}\r", OPAQUE) == f"the caller's {REDACTED}\r"
    assert redact(f"POST /x/restore?token={OPAQUE}&y=1") == f"POST /x/restore?token={REDACTED}&y=1"
    # Words stay words: no credential here.
    for text in ("Basic authentication is not supported", "the token contains a tab", "Bearer realm"):
        assert redact(text) == text


def test_an_exception_chain_is_scrubbed_in_place(spelled: Spelled) -> None:
    try:
        try:
            raise ValueError(f"Illegal header value {HEADER_CR!r}")
        except ValueError as inner:
            raise httpx2.LocalProtocolError(f"Illegal header value {HEADER_CR!r}") from inner
    except httpx2.LocalProtocolError as outer:
        failure = outer
    error = TransportError("x", method="GET", path="/user", may_have_arrived=False)
    error.__cause__ = failure
    scrub(error, DEMO_TOKEN)
    printed = "".join(traceback.format_exception(error))
    assert "Illegal header value b'Bearer [redacted]\\r'" in printed
    assert not spelled(DEMO_TOKEN, printed)


def echoing(status: int | None = None) -> httpx2.MockTransport:
    """An HTTP stack that repeats the Authorization header in its error, as h11 does when refusing one; with
    `status`, a server (or proxy) that repeats it in its error message instead."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        header = request.headers["authorization"].encode()
        if status is None:
            raise httpx2.LocalProtocolError(f"Illegal header value {header!r}")
        return httpx2.Response(status, json={"message": f"Bad credentials: {header.decode()}"})

    return httpx2.MockTransport(answer)


def github_client(
    transport: httpx2.AsyncBaseTransport | None = None,
    token: str | None = DEMO_TOKEN,
    token_source: Callable[[], str | None] | None = None,
    base_url: str = "http://127.0.0.1:9",
) -> GitHubClient:
    settings = Settings(api_url=base_url, max_retries=1, retry_backoff_seconds=0.01)
    github = GitHubClient.from_settings(settings, transport, token_source)
    github._token_source = token_source or (lambda: token)
    return github


@pytest.mark.parametrize(
    ("token_source", "token"),
    [(None, DEMO_TOKEN), (lambda: OPAQUE, OPAQUE)],  # the client's token; a pass-through caller's own
)
async def test_an_http_stack_error_that_echoes_the_header_reaches_no_message(
    token_source: Callable[[], str | None] | None, token: str, spelled: Spelled
) -> None:
    async with github_client(echoing(), token_source=token_source) as github:
        with pytest.raises(TransportError) as api:
            await github.request("GET", "/user")
        with pytest.raises(TransportError) as registry:  # the registry's header: Bearer base64(token)
            await github.registry_get("http://127.0.0.1:9/v2/acme/web/manifests/1", "application/json")
    for caught in (api, registry):
        assert re.fullmatch(
            rf"could not reach http://127\.0\.0\.1:\d+: Illegal header value b'Bearer {re.escape(REDACTED)}'",
            caught.value.message,
        )
        printed = "".join(traceback.format_exception(caught.value))  # the whole chain, as a traceback shows it
        assert "LocalProtocolError" in printed
        assert not spelled(token, printed)


async def test_githubs_message_echoing_the_header_is_redacted(spelled: Spelled) -> None:
    async with github_client(echoing(401)) as github:
        with pytest.raises(Unauthorized) as caught:
            await github.request("GET", "/user")
    assert caught.value.message == f"Bad credentials: Bearer {REDACTED}"


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (f"{DEMO_TOKEN}\r", "contains a carriage return (CR)"),
        (f"{DEMO_TOKEN}\r\n", "contains a carriage return (CR) and a line feed (LF)"),
        (f"{DEMO_TOKEN} ", "contains a space"),
        (f"{DEMO_TOKEN}\x00", "contains a NUL character"),
        (f"{DEMO_TOKEN}\x01", "contains a control character"),  # h11 would even send this one
        (f"{DEMO_TOKEN}é", "contains a non-ASCII character"),  # httpx2 would raise UnicodeEncodeError
    ],
)
async def test_a_token_no_header_can_carry_is_refused_before_anything_is_built(
    token: str, says: str, sandbox: SandboxServer, spelled: Spelled
) -> None:
    """Given in code (bypassing the settings' validation), or as a pass-through caller's bearer."""
    for github in (
        github_client(token=token, base_url=sandbox.url),
        github_client(token_source=lambda: token, base_url=sandbox.url),
    ):
        async with github:
            with pytest.raises(UnusableToken) as api:
                await github.request("GET", "/user")
            with pytest.raises(UnusableToken) as registry:
                await github.registry_get(f"{sandbox.url}/v2/", "application/json")
        for caught in (api, registry):
            assert str(caught.value) == (
                f"Nothing was sent: the GitHub token {says}, which an HTTP header cannot carry. Set the token "
                "again without such characters (a file saved with CRLF line endings, or a paste, can add them)."
            )
            assert not spelled(DEMO_TOKEN, "".join(traceback.format_exception(caught.value)))
    assert sandbox.state.requests == []


async def test_httpcores_trace_of_a_refused_header_is_redacted(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, spelled: Spelled
) -> None:
    """httpcore2's DEBUG trace prints the exception a request failed with; h11's refusal quotes the header. Once a
    GitHubClient exists, those lines are redacted, even for a request this server did not build."""
    github_client()  # installs the filter on the HTTP stack's loggers
    caplog.set_level(logging.DEBUG)
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {DEMO_TOKEN}\r"}) as http:
        with pytest.raises(httpx2.LocalProtocolError) as caught:
            await http.get(f"{sandbox.url}/user")
    scrub(caught.value, DEMO_TOKEN)  # this test's own failure text, which the suite-wide guard also reads
    traced = [record.getMessage() for record in caplog.records if record.name.startswith("httpcore2")]
    failed = 'send_request_headers.failed exception=LocalProtocolError(LocalProtocolError("Illegal header value '
    assert f"{failed}b'Bearer {REDACTED}\\\\r'\"))" in traced
    assert not any(spelled(DEMO_TOKEN, line) for line in traced)
    assert sandbox.state.requests == []  # the header never left


async def test_httpxs_log_of_a_url_never_shows_a_package_token(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A restore may carry GitHub's package token in its query string; httpx2 logs every URL at INFO."""
    caplog.set_level(logging.INFO)
    async with github_client(base_url=sandbox.url) as github:
        await github.request("GET", "/user", {"token": OPAQUE})
    [line] = [record.getMessage() for record in caplog.records if record.name == "httpx2"]
    assert f"/user?token={REDACTED} " in line
    assert OPAQUE not in caplog.text
