"""The shared GitHub client: GitHub's headers, segments encoded exactly once, one client per server lifetime."""

from __future__ import annotations

import httpx2
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from mcp import Client

from github_packages_mcp import __version__
from github_packages_mcp.config import Settings
from github_packages_mcp.errors import InvalidRequest
from github_packages_mcp.github.catalogue import encode_segment, expand_path
from github_packages_mcp.github.client import GitHubClient, _query_string
from github_packages_mcp.sandbox import DEMO_ORG, SandboxServer
from github_packages_mcp.server.app import build_server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("web/api", "web%2Fapi"),
        ("a/../b", "a%2F..%2Fb"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("50%", "50%25"),
        ("web%2Fapi", "web%252Fapi"),
        ("com.acme.app", "com.acme.app"),
        ("Octo.Core", "Octo.Core"),
    ],
)
def test_each_segment_is_encoded_exactly_once(value: str, segment: str) -> None:
    assert encode_segment(value) == segment
    path = expand_path("/orgs/{org}/packages", {"org": value})
    assert httpx2.URL("http://x" + path).raw_path.decode() == f"/orgs/{segment}/packages"


async def test_requests_carry_githubs_headers_and_never_the_token(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings)) as client:
        await client.call_tool(
            "get_org_package", {"org": DEMO_ORG, "package_type": "container", "package_name": "web/api"}
        )
    [request] = sandbox.state.requests
    assert request.raw_path == f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["user-agent"] == f"github-packages-mcp/{__version__}"
    assert request.headers["authorization"] == "<redacted>"
    assert request.status == 200


class CountingTransport(httpx2.AsyncHTTPTransport):
    """A real HTTP transport that counts how often it is used and closed."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self.closed = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        return await super().handle_async_request(request)

    async def __aexit__(self, *exc_info: object) -> None:
        self.closed += 1
        await super().__aexit__(*exc_info)  # type: ignore[arg-type]


async def test_one_client_serves_every_call_and_closes_at_shutdown(settings: Settings) -> None:
    transport = CountingTransport()
    server = build_server(settings, transport=transport)
    async with Client(server) as client:
        for _ in range(3):
            await client.call_tool("list_my_packages", {"package_type": "container"})
        assert (transport.requests, transport.closed) == (3, 0)
    assert transport.closed == 1


async def test_connection_pools_are_made_at_the_first_request_not_when_the_client_opens(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[CountingTransport] = []
    closed: list[CountingTransport] = []

    class Pool(CountingTransport):
        async def aclose(self) -> None:
            closed.append(self)
            await super().aclose()

    def pool(**_: object) -> CountingTransport:
        made.append(Pool())
        return made[-1]

    monkeypatch.setattr(httpx2, "AsyncHTTPTransport", pool)
    async with GitHubClient.from_settings(settings.model_copy(update={"max_concurrency": 16})) as github:
        assert made == []  # no SSL context loaded by a server whose tools are only listed
        await github.get_json("/user/packages", {"package_type": "container"})
        await github.get_json("/user/packages", {"package_type": "container"})
        assert [pool.requests for pool in made] == [1, 1]
    assert closed == made


async def test_the_api_version_is_configurable(settings: Settings, sandbox: SandboxServer) -> None:
    async with Client(build_server(settings.with_changes(api_version="2026-03-10"))) as client:
        await client.call_tool("list_my_packages", {"package_type": "container"})
    assert sandbox.state.requests[0].headers["x-github-api-version"] == "2026-03-10"


@pytest.mark.parametrize(
    "path",
    ["https://evil.example/orgs/acme/packages", "//evil.example/x", "/orgs/acme/packages/npm/../../../user",
     "/orgs/./packages", "orgs/acme/packages", "/orgs/acme\\..\\x"],
)  # fmt: skip
async def test_the_client_refuses_urls_and_dot_segments_outright(settings: Settings, path: str) -> None:
    async with GitHubClient.from_settings(settings) as github:
        with pytest.raises(InvalidRequest, match="must be an API path"):
            await github.request("DELETE", path)


query_values = st.one_of(
    st.integers(), st.booleans(), st.text(max_size=20), st.sampled_from(["active", "1.2.3", "a~b_c-d"])
)


@given(st.dictionaries(st.sampled_from(["page", "per_page", "state", "token", "visibility"]), query_values, max_size=5))
@examples(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded CI machine is not a slow test
def test_a_request_query_is_written_exactly_as_httpx2_writes_it(params: dict[str, str | int]) -> None:
    # Plain values are written directly (client._query_string), anything else by httpx2: the bytes sent are the same.
    assert _query_string(params) == str(httpx2.QueryParams(params))
