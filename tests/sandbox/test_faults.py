"""The sandbox under stress over real HTTP: scripted faults, broken connections, rate limits, ETags and latency."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx2
import pytest

from github_packages_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_ORG,
    DEMO_READ_TOKEN,
    DEMO_TOKEN,
    Fault,
    SandboxServer,
    SandboxState,
)
from tests.sandbox.helpers import HELLO, WEB_API

SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {}."
)


@pytest.fixture(scope="module")
def control(sandbox_server: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=sandbox_server.url) as http:
        yield http


def oldest(state: SandboxState, owner: str, package_type: str, name: str) -> int:
    return min(state.package(owner, package_type, name).active_versions(), key=lambda v: v.created_at).id


def settled(state: SandboxState) -> int:
    """`in_flight` once the server has finished up (it counts a request until after its last byte is sent)."""
    deadline = time.monotonic() + 1
    while state.in_flight and time.monotonic() < deadline:
        time.sleep(0.001)
    return state.in_flight


def is_active(state: SandboxState, version_id: int) -> bool:
    return any(v.id == version_id for v in state.package(DEMO_ORG, "container", "web/api").active_versions())


def test_scripted_statuses_then_normal(client: httpx2.Client, state: SandboxState) -> None:
    path = WEB_API + "/versions"
    state.faults.script("GET", path, [Fault(status=502), Fault(status=503, headers={"x-extra": "yes"})])
    first, second, third = (client.get(path) for _ in range(3))
    assert first.status_code == 502
    assert first.json() == {
        "message": "Bad Gateway",
        "documentation_url": "https://docs.github.com/rest",
        "status": "502",
    }
    assert first.headers["x-ratelimit-remaining"] == "5000"  # rate-limit headers as usual; a fault does not count
    assert (second.status_code, second.json()["message"], second.headers["x-extra"]) == (
        503,
        "Service Unavailable",
        "yes",
    )
    assert third.status_code == 200
    assert [r.status for r in state.requests] == [502, 503, 200]
    custom = Fault(status=500, body={"message": "boom {request_id}"})
    state.faults.script("GET", path, [custom, Fault(status=204)])
    response = client.get(path)
    assert response.json() == {"message": f"boom {response.headers['x-github-request-id']}"}
    assert (client.get(path).status_code, client.get(path).status_code) == (204, 200)


def test_patterns_and_methods(client: httpx2.Client, state: SandboxState) -> None:
    state.faults.script("DELETE", "/orgs/*/packages/container/*", [Fault(status=500)])
    state.faults.script("GET", "/orgs/*/packages/container/web/api", [Fault(status=501)])  # raw paths keep %2F
    state.faults.script("*", WEB_API, [Fault(status=502)])
    state.faults.script("get", WEB_API, [Fault(status=503)])
    assert client.get(HELLO).status_code == 200
    assert client.get(WEB_API).status_code == 502  # first matching script that still has faults
    assert client.get(WEB_API).status_code == 503
    assert client.get(WEB_API).status_code == 200
    assert client.delete(f"{WEB_API}/versions/{oldest(state, DEMO_ORG, 'container', 'web/api')}").status_code == 500
    assert client.delete(WEB_API).status_code == 204  # that script is used up
    assert client.get(WEB_API).status_code == 404  # the 501 script never matched
    assert state.faults.to_json()["scripts"] == [
        {"method": "GET", "path": "/orgs/*/packages/container/web/api", "faults": [{"status": 501}]}
    ]


def test_reset_before_handling_changes_nothing(
    client: httpx2.Client, state: SandboxState, caplog: pytest.LogCaptureFixture
) -> None:
    version = oldest(state, DEMO_ORG, "container", "web/api")
    path = f"{WEB_API}/versions/{version}"
    state.faults.script("DELETE", path, [Fault(reset=True)])
    with caplog.at_level(logging.DEBUG), pytest.raises(httpx2.RemoteProtocolError):
        client.delete(path)
    assert is_active(state, version)
    assert (state.requests[-1].status, state.requests[-1].broken) == (0, True)
    assert not [r for r in caplog.records if r.name.startswith("uvicorn")]  # no traceback for a deliberate break
    assert client.delete(path).status_code == 204
    assert settled(state) == 0


def test_reset_after_handling_loses_the_response(client: httpx2.Client, state: SandboxState) -> None:
    version = oldest(state, DEMO_ORG, "container", "web/api")
    path = f"{WEB_API}/versions/{version}"
    state.faults.script("DELETE", path, [Fault(reset=True, after=True)])
    with pytest.raises(httpx2.TransportError):
        client.delete(path)
    assert not is_active(state, version)  # the delete really happened
    assert (state.requests[-1].status, state.requests[-1].broken) == (204, True)
    assert client.delete(path).status_code == 404
    state.faults.script("GET", WEB_API, [Fault(reset=True, after=True)])
    with pytest.raises(httpx2.TransportError), client.stream("GET", WEB_API) as response:
        response.read()  # even a streaming reader never gets a complete body


def test_secondary_rate_limit(client: httpx2.Client, state: SandboxState) -> None:
    state.faults.script("DELETE", WEB_API, [Fault.secondary_rate_limit(), Fault.secondary_rate_limit(None)])
    response = client.delete(WEB_API)
    assert response.status_code == 403
    assert response.headers["retry-after"] == "1"
    assert response.json()["message"] == SECONDARY.format(response.headers["x-github-request-id"])
    assert response.json()["status"] == "403"
    assert int(response.headers["x-ratelimit-remaining"]) > 0
    assert "retry-after" not in client.delete(WEB_API).headers
    assert client.get(WEB_API).status_code == 200  # neither 403 deleted anything


def test_too_many_requests(client: httpx2.Client, state: SandboxState) -> None:
    state.faults.script("GET", "/user/*", [Fault.too_many_requests(7)])
    response = client.get(HELLO)
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.json()["message"] == SECONDARY.format(response.headers["x-github-request-id"])
    assert client.get(HELLO).status_code == 200


def test_primary_rate_limit(client: httpx2.Client, state: SandboxState) -> None:
    state.set_rate_limit(DEMO_TOKEN, remaining=2, reset_in=600)
    assert [client.get(HELLO).headers["x-ratelimit-remaining"] for _ in range(2)] == ["1", "0"]
    limited = client.get(HELLO)
    assert limited.status_code == 403
    assert limited.json() == {
        "message": "API rate limit exceeded for user ID 58391207. If you reach out to GitHub Support for help, "
        f"please include the request ID {limited.headers['x-github-request-id']}.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        "status": "403",
    }
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.headers["x-ratelimit-limit"] == limited.headers["x-ratelimit-used"] == "5000"
    reset = int(limited.headers["x-ratelimit-reset"])
    assert abs(reset - (state.clock.now() + timedelta(seconds=600)).timestamp()) < 5
    assert client.delete(WEB_API).status_code == 403  # nothing is handled while the quota is out...
    assert state.package(DEMO_ORG, "container", "web/api").deleted_at is None
    assert client.get(HELLO).headers["x-ratelimit-used"] == "5000"  # ...and a limited request costs nothing
    other = client.get(HELLO, headers={"Authorization": f"Bearer {DEMO_READ_TOKEN}"})
    assert other.status_code == 200  # quotas are per token
    state.clock.advance(timedelta(seconds=601))
    fresh = client.get(HELLO)
    assert (fresh.status_code, fresh.headers["x-ratelimit-remaining"]) == (200, "4999")
    assert int(fresh.headers["x-ratelimit-reset"]) > reset


def test_etag_and_conditional_requests(client: httpx2.Client, state: SandboxState) -> None:
    first = client.get(WEB_API)
    etag = first.headers["etag"]
    assert etag == f'W/"{hashlib.sha256(first.content).hexdigest()}"'
    for header in (etag, f'"nope", {etag}', etag.removeprefix("W/"), "*"):
        cached = client.get(WEB_API, headers={"If-None-Match": header})
        assert cached.status_code == 304, header
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]  # 304s are free
    assert state.requests[-1].status == 304
    assert client.get(WEB_API, headers={"If-None-Match": '"other"'}).status_code == 200
    listing = client.get(WEB_API + "/versions?per_page=10")
    assert (
        client.get(WEB_API + "/versions?per_page=10", headers={"If-None-Match": listing.headers["etag"]}).status_code
        == 304
    )
    assert listing.headers["etag"] != etag
    assert "etag" not in client.get(WEB_API + "/versions/1").headers  # only 200s carry one
    assert client.delete(f"{WEB_API}/versions/{oldest(state, DEMO_ORG, 'container', 'web/api')}").status_code == 204
    changed = client.get(WEB_API, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert int(changed.headers["x-ratelimit-remaining"]) < int(first.headers["x-ratelimit-remaining"])


def test_latency_makes_concurrent_requests_overlap(
    sandbox: SandboxServer, client: httpx2.Client, control: httpx2.Client, state: SandboxState
) -> None:
    # A long latency leaves the control request time to land while all eight wait, even on a busy
    # machine; the overlap itself is proved by the peak, not by a stopwatch.
    latency = 1.5
    state.faults.latency = latency
    clients = 8
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(client.get, WEB_API) for _ in range(clients)]
        deadline = time.monotonic() + latency
        while state.in_flight < clients and time.monotonic() < deadline:
            time.sleep(0.005)
        assert control.get("/_sandbox/stats").json()["in_flight"] == clients  # control endpoints skip the latency
        assert all(f.result().status_code == 200 for f in futures)
    assert time.monotonic() - started >= latency
    assert (settled(state), state.max_in_flight) == (0, clients)
    state.faults.latency = 0
    state.faults.script("GET", HELLO, [Fault(latency=0.15)])
    started = time.monotonic()
    assert client.get(HELLO).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_add_package_with_thousands_of_versions(
    client: httpx2.Client, state: SandboxState, sandbox: SandboxServer
) -> None:
    package = state.add_package(DEMO_ORG, "container", "load/test", versions=5000)
    assert package is state.package(DEMO_ORG, "container", "load/test")
    path = f"/orgs/{DEMO_ORG}/packages/container/load%2Ftest"
    assert client.get(path).json()["version_count"] == 5000
    first = client.get(path + "/versions?per_page=100")
    assert f'<{sandbox.url}{path}/versions?per_page=100&page=50>; rel="last"' in first.headers["link"]
    seen = []
    for page in range(1, 51):
        versions = client.get(path + f"/versions?per_page=100&page={page}").json()
        assert len(versions) == 100
        seen += versions
    assert client.get(path + "/versions?per_page=100&page=51").json() == []
    ids = [v["id"] for v in seen]
    assert len(set(ids)) == 5000
    assert min(ids) > 2**31
    assert ids == sorted(ids, reverse=True)  # newest first, ids grow with time
    newest, oldest_version = package.versions[-1], package.versions[0]
    assert abs(newest.created_at - state.clock.now()) < timedelta(seconds=5)
    assert newest.created_at - oldest_version.created_at == timedelta(hours=4999)
    assert all(v["name"].startswith("sha256:") and len(v["name"]) == 71 for v in seen)
    tagged = [v["metadata"]["container"]["tags"] for v in seen if v["metadata"]["container"]["tags"]]
    assert len(tagged) == 500
    assert tagged[-1] == ["v1.0"]
    npm = state.add_package(DEMO_LOGIN, "npm", "many", versions=3, visibility="public")
    assert [v.name for v in npm.versions] == ["1.0.0", "1.0.1", "1.0.2"]
    assert npm.versions[2].created_at - npm.versions[0].created_at == timedelta(hours=2)
    assert [p["name"] for p in client.get("/user/packages?package_type=npm&visibility=public").json()] == ["many"]
    with pytest.raises(ValueError, match="already has"):
        state.add_package(DEMO_ORG, "container", "load/test", versions=1)


def test_fault_control_endpoints(control: httpx2.Client, client: httpx2.Client, state: SandboxState) -> None:
    config = {
        "latency": 0.05,
        "scripts": [
            {
                "method": "GET",
                "path": "/orgs/*/packages",
                "faults": [
                    {"status": 502},
                    {"reset": True, "after": True},
                    {"secondary_rate_limit": {"retry_after": 1}},
                ],
            }
        ],
    }
    echoed = control.post("/_sandbox/faults", json=config)
    assert echoed.status_code == 200
    faults = echoed.json()["scripts"][0]["faults"]
    assert echoed.json()["latency"] == 0.05
    assert faults[:2] == [{"status": 502}, {"reset": True, "after": True}]
    assert faults[2]["status"] == 403
    assert faults[2]["headers"] == {"retry-after": "1"}
    assert control.post("/_sandbox/faults", json=echoed.json()).json() == echoed.json()  # the echo round-trips
    assert state.faults.latency == 0.05
    listing = f"/orgs/{DEMO_ORG}/packages?package_type=npm"
    assert client.get(listing).status_code == 502
    with pytest.raises(httpx2.TransportError):
        client.get(listing)
    assert client.get(listing).headers["retry-after"] == "1"
    assert client.get(listing).status_code == 200
    assert control.get("/_sandbox/faults").json() == {"latency": 0.05, "scripts": []}
    for bad in (
        b"not json",
        b"[]",
        b'{"latency": -1}',
        b'{"scripts": {}}',
        b'{"scripts": [{"method": "GET", "path": "/x"}]}',
        b'{"scripts": [{"method": "GET", "path": "/x", "faults": [{"status": 99}]}]}',
        b'{"scripts": [{"method": "GET", "path": "/x", "faults": [{"status": 500, "reset": true}]}]}',
        b'{"scripts": [{"method": "GET", "path": "/x", "faults": [{"explode": true}]}]}',
        b'{"scripts": [{"method": "GET", "path": "/x", "faults": [{"too_many_requests": {"retry_after": null}}]}]}',
    ):
        response = control.post("/_sandbox/faults", content=bad)
        assert response.status_code == 400, bad
        assert response.json()["message"].startswith("Bad fault configuration: ")
    assert state.faults.latency == 0.05  # a rejected configuration changes nothing
    assert control.delete("/_sandbox/faults").status_code == 204
    assert state.faults.to_json() == {"latency": 0.0, "scripts": []}


def test_rate_limit_and_stats_endpoints(control: httpx2.Client, client: httpx2.Client, state: SandboxState) -> None:
    response = control.post("/_sandbox/rate-limit", json={"token": DEMO_TOKEN, "remaining": 0, "reset_in": 3600})
    assert response.status_code == 200
    assert response.json()["remaining"] == 0
    assert client.get(HELLO).status_code == 403
    for bad in ({"token": DEMO_TOKEN}, {"token": DEMO_TOKEN, "remaining": -1, "reset_in": 1}, [1]):
        assert control.post("/_sandbox/rate-limit", json=bad).status_code == 400
    settled(state)
    stats = control.get("/_sandbox/stats").json()
    assert stats == {"requests": 5, "in_flight": 0, "max_in_flight": 1}  # control requests are recorded too
    assert len(state.requests) == 6


def test_reset_clears_faults(control: httpx2.Client, client: httpx2.Client, state: SandboxState) -> None:
    state.faults.latency = 0.01
    state.faults.script("GET", "*", [Fault(status=500)])
    state.set_rate_limit(DEMO_TOKEN, remaining=0, reset_in=60)
    assert client.get(HELLO).status_code == 500
    assert (settled(state), state.max_in_flight) == (0, 1)
    assert control.post("/_sandbox/reset").status_code == 204
    assert state.faults.to_json() == {"latency": 0.0, "scripts": []}
    assert state.max_in_flight == 0
    assert client.get(HELLO).status_code == 200


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="not both"):
        Fault(status=502, reset=True)
    with pytest.raises(ValueError, match="reset=True"):
        Fault(after=True)
    with pytest.raises(ValueError, match="200-599"):
        Fault(status=101)
    with pytest.raises(ValueError, match="need a status"):
        Fault(body={"message": "x"})
    with pytest.raises(TypeError):
        Fault(status=500, body=object())
    assert Fault.secondary_rate_limit(None).headers == {}
    assert Fault(status=500, headers={"a": "b"}) == Fault(status=500, headers={"a": "b"})
    assert len({Fault.too_many_requests(), Fault.too_many_requests()}) == 1  # frozen and hashable


def test_the_control_api_refuses_what_a_web_page_could_send(
    control: httpx2.Client, sandbox_server: SandboxServer
) -> None:
    """A page the person visits could POST /_sandbox/reset cross-site, or reach it under its own host name (DNS
    rebinding); tests and curl send neither an Origin nor a foreign host."""
    port = sandbox_server.url.rsplit(":", 1)[1]
    refused = [
        control.post("/_sandbox/reset", headers={"Origin": "https://evil.example"}),
        control.post("/_sandbox/reset", headers={"Sec-Fetch-Site": "cross-site"}),
        control.post("/_sandbox/reset", headers={"Host": f"rebound.evil.example:{port}"}),
    ]
    assert [response.status_code for response in refused] == [403, 403, 403]
    assert (
        "another site" in refused[0].json()["message"] and "by IP address or localhost" in refused[2].json()["message"]
    )
    same_site = {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    assert control.post("/_sandbox/reset", headers=same_site).status_code == 204
    assert control.post("/_sandbox/reset", headers={"Host": f"localhost:{port}"}).status_code == 204
    assert control.post("/_sandbox/reset").status_code == 204
