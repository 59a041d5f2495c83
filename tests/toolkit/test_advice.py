"""GitHub's errors become tool errors that say the status, GitHub's message and what to do; no token leaks."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.github.catalogue import operation
from github_packages_mcp.github.errors import (
    APIError,
    Forbidden,
    GitHubError,
    IncompleteListing,
    NotDeleted,
    NotFound,
    RateLimited,
    Redirected,
    TransportError,
    Unauthorized,
)
from github_packages_mcp.sandbox import DEMO_ORG, DEMO_OTHER_USER, DEMO_READ_TOKEN, DEMO_TOKEN, Fault, SandboxServer
from github_packages_mcp.server.app import build_server
from github_packages_mcp.toolkit.advice import tool_error_message
from tests.helpers import Person, error_text, ok

pytestmark = pytest.mark.anyio


async def test_not_found_says_the_token_may_lack_access(settings: Settings) -> None:
    async with Client(build_server(settings)) as client:
        result = await client.call_tool(
            "get_org_package", {"org": DEMO_ORG, "package_type": "npm", "package_name": "nope"}
        )
    text = error_text(result)
    assert "404" in text and "not found" in text.lower() and "(or the token cannot see it)" in text
    assert ": Package not found. The organization" in text  # GitHub's full stop, not a second one of ours


async def test_a_missing_scope_is_named(settings: Settings) -> None:
    read_only_token = settings.with_changes(token=DEMO_READ_TOKEN)
    async with Client(build_server(read_only_token)) as client:
        result = await client.call_tool("restore_my_package", {"package_type": "npm", "package_name": "old-cli"})
    text = error_text(result)
    assert "403" in text and "lacks the scope write:packages" in text and "it has: read:packages" in text


async def test_a_bad_token_is_a_401_with_advice(settings: Settings) -> None:
    async with Client(build_server(settings.with_changes(token="ghp_wrong"))) as client:
        result = await client.call_tool("list_my_packages", {"package_type": "npm"})
    text = error_text(result)
    assert "401" in text and "Bad credentials" in text and "classic personal access token" in text


async def test_githubs_delete_rules_are_passed_on_plainly(settings: Settings, sandbox: SandboxServer) -> None:
    person_for = {"base-image": Person(typed="base-image"), "acme-ruby": Person(typed="acme-ruby")}
    async with Client(build_server(settings), elicitation_callback=person_for["base-image"]) as client:  # type: ignore[arg-type]
        popular = await client.call_tool(
            "delete_org_package", {"org": DEMO_ORG, "package_type": "container", "package_name": "base-image"}
        )
    async with Client(build_server(settings), elicitation_callback=person_for["acme-ruby"]) as client:  # type: ignore[arg-type]
        only = ok(
            await client.call_tool(
                "list_org_package_versions", {"org": DEMO_ORG, "package_type": "rubygems", "package_name": "acme-ruby"}
            )
        )
        last = await client.call_tool(
            "delete_org_package_version",
            {
                "org": DEMO_ORG,
                "package_type": "rubygems",
                "package_name": "acme-ruby",
                "package_version_id": only["items"][0]["id"],
            },
        )
    assert "400" in error_text(popular) and "5000 downloads" in error_text(popular)
    assert "400" in error_text(last) and "cannot delete the last version of a package" in error_text(last)


async def test_another_users_package_cannot_be_deleted(settings: Settings) -> None:
    async with Client(build_server(settings), elicitation_callback=Person(typed="tools/cli")) as client:  # type: ignore[arg-type]
        result = await client.call_tool(
            "delete_user_package",
            {"username": DEMO_OTHER_USER, "package_type": "container", "package_name": "tools/cli"},
        )
    assert "403" in error_text(result)


async def test_restore_after_30_days_or_over_a_reused_name_fails_clearly(
    settings: Settings, sandbox: SandboxServer
) -> None:
    async with Client(build_server(settings)) as client:
        reused = await client.call_tool(
            "restore_org_package", {"org": DEMO_ORG, "package_type": "npm", "package_name": "shared-config"}
        )
        sandbox.state.clock.advance(timedelta(days=31))
        expired = await client.call_tool("restore_my_package", {"package_type": "npm", "package_name": "old-cli"})
    assert "403" in error_text(reused) and "reused" in error_text(reused)
    assert "404" in error_text(expired)


async def test_an_unreachable_api_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nothing listens there
    settings = Settings(token=DEMO_TOKEN, api_url=f"http://127.0.0.1:{port}", retry_backoff_seconds=0.01)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("list_my_packages", {"package_type": "npm"})
    assert "Could not complete GET /user/packages: the connection to http://127.0.0.1:" in error_text(result)
    assert error_text(result).endswith(
        "was refused: nothing listens there; check api_url (GITHUB_API_URL). Nothing was sent."
    )


def test_every_error_class_maps_to_its_own_advice() -> None:
    scopes = operation("delete_org_package").scopes
    where = {"method": "DELETE", "path": "/orgs/a/packages/npm/x"}
    soon = datetime.now(UTC) + timedelta(minutes=30)
    messages = {
        TransportError: tool_error_message(
            TransportError("connection reset", may_have_arrived=False, **where), scopes, "get_org_package"
        ),
        Unauthorized: tool_error_message(
            Unauthorized("Bad credentials", status=401, **where), scopes, "get_org_package"
        ),
        Forbidden: tool_error_message(Forbidden("no", status=403, token_scopes="", **where), scopes, "get_org_package"),
        NotFound: tool_error_message(
            NotFound("Not Found", status=404, documentation_url="https://docs.github.com/rest", **where),
            scopes,
            "get_org_package",
        ),
        NotDeleted: tool_error_message(
            NotDeleted("Package not found.", path=where["path"], what="package"), scopes, "get_org_package"
        ),
        RateLimited: tool_error_message(
            RateLimited("limit", status=403, limit="primary", reset_at=soon, **where), scopes, "get_org_package"
        ),
        APIError: tool_error_message(APIError("Server Error", status=502, **where), scopes, "get_org_package"),
        Redirected: tool_error_message(
            Redirected("redirected to example.com", status=307, location_host="example.com", **where),
            scopes,
            "get_org_package",
        ),
        IncompleteListing: tool_error_message(
            IncompleteListing("window reached", method="GET", path="/orgs/a/packages"), (), "list_org_packages"
        ),
    }
    assert set(messages) == {GitHubError, *_subclasses(GitHubError)} - {GitHubError}
    assert "try again later" in messages[TransportError]
    assert "classic personal access token" in messages[Unauthorized]
    assert "lacks the scope delete:packages, read:packages" in messages[Forbidden]
    assert "hidden from this token" in messages[NotFound]
    assert messages[NotDeleted] == (
        "Nothing was deleted by DELETE /orgs/a/packages/npm/x: GitHub answered 404 (Package not found) but the "
        "package is still there: the token likely lacks admin rights on this package (GitHub answers a delete "
        "without them with 404, not 403). Use a classic token of a user with the Admin role on the package (its "
        "settings on GitHub, Manage access), then try again."
    )
    assert "primary rate limit" in messages[RateLimited]
    assert f"{soon:%H:%M:%S} UTC, in 30 minute(s)" in messages[RateLimited]
    assert "GitHub's side" in messages[APIError]
    assert "Nothing was done" in messages[Redirected]
    assert "check with get_org_package" in messages[Redirected].lower()
    assert "Could not read all of GET /orgs/a/packages: window reached" in messages[IncompleteListing]
    lost = tool_error_message(TransportError("reset", may_have_arrived=True, **where), scopes, "get_org_package")
    assert "may have reached GitHub: check with get_org_package before trying again" in lost


def _subclasses(cls: type) -> set[type]:
    return {sub for direct in cls.__subclasses__() for sub in {direct, *_subclasses(direct)}}


async def test_the_token_never_appears_in_results_errors_or_logs(
    settings: Settings, sandbox: SandboxServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = [repr(settings), str(settings)]
    async with Client(build_server(settings)) as client:
        for tool, arguments in [
            ("list_org_packages", {"org": DEMO_ORG, "package_type": "container"}),
            ("get_org_package", {"org": DEMO_ORG, "package_type": "npm", "package_name": "missing"}),
            ("delete_org_package", {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}),
            ("list_org_packages", {"org": DEMO_ORG, "package_type": "container", "per_page": 1000}),
            ("restore_my_package", {"package_type": "npm", "package_name": "old-cli", "token": "x"}),
        ]:
            result = await client.call_tool(tool, arguments)
            seen.append(result.model_dump_json())
    captured = capsys.readouterr()
    seen += [caplog.text, captured.out, captured.err, repr(sandbox.state.requests)]
    assert all(DEMO_TOKEN not in text for text in seen)


@pytest.mark.parametrize(
    ("api_url", "says"),
    [
        ("http://127.0.0.1:9", "the connection to http://127.0.0.1:9 was refused: nothing listens there"),
        ("https://api.github.invalid", "https://api.github.invalid could not be found (DNS): check api_url"),
    ],
)
async def test_a_wrong_address_fails_at_once_and_names_the_setting(settings: Settings, api_url: str, says: str) -> None:
    with anyio.fail_after(5):  # no retries with backoff: waiting does not fix an address
        async with Client(build_server(settings.with_changes(api_url=api_url))) as client:
            result = await client.call_tool("get_my_package", {"package_type": "npm", "package_name": "x"})
    text = error_text(result)
    assert says in text
    assert "GITHUB_API_URL" in text
    assert text.endswith("Nothing was sent.")


async def test_a_404_that_is_not_githubs_points_at_the_api_url(settings: Settings, sandbox: SandboxServer) -> None:
    # A web server's 404 page rather than GitHub's JSON error: the address is most likely wrong.
    sandbox.state.faults.script("GET", "*", [Fault(status=404, headers={"content-type": "text/html"}, body="<html/>")])
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("get_my_package", {"package_type": "npm", "package_name": "x"})
    assert "That answer is not GitHub's API: check api_url (GITHUB_API_URL)" in error_text(result)
