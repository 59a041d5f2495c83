"""The sandbox over real HTTP: every operation, GitHub's rules, and GitHub's response shapes."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest

from github_packages_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_ORG,
    DEMO_OTHER_USER,
    DEMO_READ_TOKEN,
    DEMO_TOKEN,
    SandboxServer,
    SandboxState,
)
from tests.helpers import ACME_CONTAINERS
from tests.sandbox.helpers import HELLO, SPEC, WEB_API, assert_error, validate

TOOLS = f"/users/{DEMO_OTHER_USER}/packages/container/tools%2Fcli"


@pytest.fixture
def ids(state: SandboxState) -> dict[str, int]:
    def oldest_active(owner: str, type_: str, name: str) -> int:
        return min(state.package(owner, type_, name).active_versions(), key=lambda v: v.created_at).id

    def deleted(owner: str, type_: str, name: str) -> int:
        return next(v.id for v in state.package(owner, type_, name).versions if v.deleted_at is not None)

    return {
        "hello": oldest_active(DEMO_LOGIN, "container", "hello-world"),
        "hello_deleted": deleted(DEMO_LOGIN, "container", "hello-world"),
        "web": oldest_active(DEMO_ORG, "container", "web/api"),
        "web_deleted": deleted(DEMO_ORG, "container", "web/api"),
        "tools": oldest_active(DEMO_OTHER_USER, "container", "tools/cli"),
    }


_P = "/{package_type}/{package_name}"
_V = _P + "/versions/{package_version_id}"
# (spec path, method, concrete path, DELETE to run first)
OPERATIONS = [
    ("/user/docker/conflicts", "get", "/user/docker/conflicts", None),
    ("/user/packages", "get", "/user/packages?package_type=container", None),
    ("/user/packages" + _P, "get", HELLO, None),
    ("/user/packages" + _P, "delete", "/user/packages/npm/octo-utils", None),
    ("/user/packages" + _P + "/restore", "post", "/user/packages/npm/old-cli/restore", None),
    ("/user/packages" + _P + "/versions", "get", HELLO + "/versions", None),
    ("/user/packages" + _V, "get", HELLO + "/versions/{hello}", None),
    ("/user/packages" + _V, "delete", HELLO + "/versions/{hello}", None),
    ("/user/packages" + _V + "/restore", "post", HELLO + "/versions/{hello_deleted}/restore", None),
    ("/orgs/{org}/docker/conflicts", "get", "/orgs/acme-labs/docker/conflicts", None),
    ("/orgs/{org}/packages", "get", "/orgs/acme-labs/packages?package_type=container", None),
    ("/orgs/{org}/packages" + _P, "get", WEB_API, None),
    ("/orgs/{org}/packages" + _P, "delete", "/orgs/acme-labs/packages/maven/com.acme.billing", None),
    (
        "/orgs/{org}/packages" + _P + "/restore",
        "post",
        "/orgs/acme-labs/packages/maven/com.acme.billing/restore?token=anything",
        "/orgs/acme-labs/packages/maven/com.acme.billing",
    ),
    ("/orgs/{org}/packages" + _P + "/versions", "get", WEB_API + "/versions", None),
    ("/orgs/{org}/packages" + _V, "get", WEB_API + "/versions/{web}", None),
    ("/orgs/{org}/packages" + _V, "delete", WEB_API + "/versions/{web}", None),
    ("/orgs/{org}/packages" + _V + "/restore", "post", WEB_API + "/versions/{web_deleted}/restore", None),
    ("/users/{username}/docker/conflicts", "get", "/users/mona-demo/docker/conflicts", None),
    ("/users/{username}/packages", "get", "/users/mona-demo/packages?package_type=container", None),
    ("/users/{username}/packages" + _P, "get", TOOLS, None),
    ("/users/{username}/packages" + _P, "delete", "/users/octo-demo/packages/rubygems/octo_gem", None),
    ("/users/{username}/packages" + _P + "/restore", "post", "/users/octo-demo/packages/npm/old-cli/restore", None),
    ("/users/{username}/packages" + _P + "/versions", "get", TOOLS + "/versions", None),
    ("/users/{username}/packages" + _V, "get", TOOLS + "/versions/{tools}", None),
    (
        "/users/{username}/packages" + _V,
        "delete",
        "/users/octo-demo/packages/container/hello-world/versions/{hello}",
        None,
    ),
    (
        "/users/{username}/packages" + _V + "/restore",
        "post",
        "/users/octo-demo/packages/container/hello-world/versions/{hello_deleted}/restore",
        None,
    ),
]


def test_operations_cover_the_spec() -> None:
    spec_ops = {(path, method) for path, item in SPEC["paths"].items() for method in item if method != "parameters"}
    assert {(path, method) for path, method, _, _ in OPERATIONS} == spec_ops
    assert len(spec_ops) == 27


@pytest.mark.parametrize(("spec_path", "method", "path", "before"), OPERATIONS)
def test_every_operation_succeeds_with_githubs_shape(
    client: httpx2.Client, ids: dict[str, int], spec_path: str, method: str, path: str, before: str | None
) -> None:
    if before is not None:
        assert client.delete(before).status_code == 204
    response = client.request(method.upper(), path.format(**ids))
    responses = SPEC["paths"][spec_path][method]["responses"]
    if method != "get":
        assert response.status_code == 204, response.text
        assert response.content == b""
        return
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body  # a non-empty object or list, so the validation below means something
    validate(responses["200"]["content"]["application/json"]["schema"], body)


def test_objects_are_complete(client: httpx2.Client, sandbox: SandboxServer) -> None:
    package = client.get(WEB_API).json()
    assert package["url"] == f"{sandbox.url}{WEB_API}"
    assert package["html_url"] == "https://github.com/orgs/acme-labs/packages/container/package/web%2Fapi"
    assert package["owner"]["type"] == "Organization"
    assert package["repository"]["full_name"] == "acme-labs/web"
    assert package["repository"]["private"] is True
    assert package["version_count"] == 345
    version = client.get(HELLO + "/versions").json()[0]
    assert version["metadata"] == {"package_type": "container", "container": {"tags": ["latest", "v1.2.0"]}}
    assert version["url"].startswith(f"{sandbox.url}/users/octo-demo/packages/container/hello-world/versions/")
    docker = client.get("/user/packages/docker/legacy-image/versions").json()[0]
    assert docker["metadata"] == {"package_type": "docker", "docker": {"tags": ["latest"]}}
    gem = client.get("/user/packages/rubygems/octo_gem/versions").json()
    assert [v["name"] for v in gem] == ["0.3.0", "0.2.0", "0.1.0"]
    assert gem[0]["license"] == "MIT"
    assert gem[0]["created_at"].endswith("Z")
    assert len(gem[0]["created_at"]) == 20


def test_encoded_slash_is_one_segment(client: httpx2.Client) -> None:
    assert client.get(WEB_API).json()["name"] == "web/api"
    response = client.get("/orgs/acme-labs/packages/container/web/api")
    assert_error(response, 404, "Not Found")
    assert response.json()["documentation_url"] == "https://docs.github.com/rest"


def test_unknown_paths_methods_owners_and_types_are_404(client: httpx2.Client) -> None:
    assert_error(client.get("/user/nothing-here"), 404, "Not Found")
    assert_error(client.put(HELLO), 404, "Not Found")
    assert_error(client.get("/orgs/acme-labs/packages/bogus/web%2Fapi"), 404, "Not Found")
    assert_error(client.get(HELLO + "/versions/abc"), 404, "Not Found")
    assert_error(client.get("/orgs/no-such-org/packages?package_type=npm"), 404)
    assert_error(client.get("/orgs/octo-demo/packages?package_type=npm"), 404)  # a user is not an org
    assert_error(client.get("/users/nobody-here/packages/npm/x"), 404)
    assert_error(client.get("/user/packages/npm/no-such-package"), 404, "Package not found.")
    assert_error(client.get(HELLO + "/versions/1"), 404, "Package version not found.")


def test_an_owners_own_profile_is_read_as_on_github(client: httpx2.Client, state: SandboxState) -> None:
    """GitHub's REST docs, "Get an organization" (GET /orgs/{org}: 200, or 404 for no such organization) and "Get a
    user" (GET /users/{username}: 200 for a user or an organization, with its `type`, or 404)."""
    org = client.get("/orgs/ACME-Labs")
    assert org.status_code == 200
    assert (org.json()["login"], org.json()["type"], org.json()["id"]) == (DEMO_ORG, "Organization", 91_204_335)
    assert client.get("/users/mona-demo").json()["type"] == "User"
    assert client.get(f"/users/{DEMO_ORG}").json()["type"] == "Organization"
    assert_error(client.get("/orgs/no-such-org"), 404, "Not Found")
    assert_error(client.get("/orgs/octo-demo"), 404, "Not Found")  # a user is not an organization
    assert_error(client.get("/users/nobody-here"), 404, "Not Found")
    assert client.get("/orgs/no-such-org").json()["documentation_url"].endswith("/orgs/orgs#get-an-organization")
    assert_error(client.delete("/orgs/acme-labs"), 404, "Not Found")
    state.add_token("ghs_actionsLike", "octo-demo", (), kind="actions")
    assert client.get("/orgs/acme-labs", headers={"Authorization": "Bearer ghs_actionsLike"}).status_code == 200


def test_owners_are_case_insensitive(client: httpx2.Client) -> None:
    assert client.get("/orgs/ACME-Labs/packages/container/web%2Fapi").status_code == 200
    assert client.get("/users/Mona-Demo/packages/container/tools%2Fcli").status_code == 200
    assert client.delete("/users/OCTO-DEMO/packages/npm/octo-utils").status_code == 204


def test_authentication(sandbox: SandboxServer) -> None:
    with httpx2.Client(base_url=sandbox.url) as anonymous:
        assert_error(anonymous.get(HELLO), 401, "Requires authentication")
        assert_error(anonymous.get(HELLO, headers={"Authorization": "Bearer nope"}), 401, "Bad credentials")
        assert_error(anonymous.get(HELLO, headers={"Authorization": "Basic abc"}), 401, "Bad credentials")
        assert anonymous.get(HELLO, headers={"Authorization": f"token {DEMO_TOKEN}"}).status_code == 200


def test_scopes(client: httpx2.Client, state: SandboxState) -> None:
    read_only = {"Authorization": f"Bearer {DEMO_READ_TOKEN}"}
    response = client.delete("/user/packages/npm/octo-utils", headers=read_only)
    assert_error(response, 403, "You need at least delete:packages scope to delete packages.")
    assert response.headers["x-oauth-scopes"] == "read:packages"
    assert response.headers["x-accepted-oauth-scopes"] == "delete:packages, read:packages"
    response = client.post("/user/packages/npm/old-cli/restore", headers=read_only)
    assert_error(response, 403, "You need at least write:packages scope to restore packages.")
    assert response.headers["x-accepted-oauth-scopes"] == "read:packages, write:packages"
    ok = client.get(HELLO, headers=read_only)
    assert ok.status_code == 200
    assert ok.headers["x-accepted-oauth-scopes"] == "read:packages"
    full = client.get(HELLO)
    assert full.headers["x-oauth-scopes"] == "read:packages, write:packages, delete:packages"
    state.add_token("ghp_noScopes", DEMO_LOGIN, [])
    response = client.get("/user/packages?package_type=npm", headers={"Authorization": "Bearer ghp_noScopes"})
    assert_error(response, 403, "You need at least read:packages scope to list packages.")


def test_github_headers_and_rate_limit(client: httpx2.Client) -> None:
    first, second = client.get(HELLO), client.get(HELLO)
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert first.headers["x-ratelimit-resource"] == "core"
    assert int(first.headers["x-ratelimit-remaining"]) == int(second.headers["x-ratelimit-remaining"]) + 1
    assert int(second.headers["x-ratelimit-used"]) == 2
    assert int(first.headers["x-ratelimit-reset"]) > 0
    assert first.headers["x-github-request-id"] != second.headers["x-github-request-id"]
    assert first.headers["x-github-api-version-selected"] == "2022-11-28"
    newer = client.get(HELLO, headers={"X-GitHub-Api-Version": "2026-03-10"})
    assert newer.headers["x-github-api-version-selected"] == "2026-03-10"
    assert_error(
        client.get(HELLO, headers={"X-GitHub-Api-Version": "1999-01-01"}), 400, "Invalid API version: 1999-01-01"
    )


def test_link_header_and_paging(client: httpx2.Client, sandbox: SandboxServer) -> None:
    response = client.get(WEB_API + "/versions?state=active&per_page=100&page=2")
    page = f"{sandbox.url}{WEB_API}/versions?state=active&per_page=100&page="
    assert response.headers["link"] == (
        f'<{page}1>; rel="prev", <{page}3>; rel="next", <{page}4>; rel="last", <{page}1>; rel="first"'
    )
    assert len(response.json()) == 100
    first = client.get(WEB_API + "/versions")
    plain = f"{sandbox.url}{WEB_API}/versions?page="
    assert first.headers["link"] == f'<{plain}2>; rel="next", <{plain}12>; rel="last"'
    assert len(first.json()) == 30
    capped = client.get(WEB_API + "/versions?per_page=1000&page=4")
    assert len(capped.json()) == 45  # 345 active versions, 100 per page at most
    assert 'rel="next"' not in capped.headers["link"]
    assert client.get(WEB_API + "/versions?per_page=100&page=9").json() == []
    assert len(client.get(WEB_API + "/versions?per_page=abc&page=-3").json()) == 30
    assert "link" not in client.get(HELLO + "/versions").headers
    # GitHub honours paging on the user-owned version list although the spec omits the parameters.
    assert len(client.get(TOOLS + "/versions?per_page=2").json()) == 2


def test_versions_are_newest_first_with_big_ids(client: httpx2.Client) -> None:
    versions = client.get(WEB_API + "/versions?per_page=100").json()
    assert versions[0]["metadata"]["container"]["tags"][:2] == ["latest", "v3.4.1"]
    assert [v["created_at"] for v in versions] == sorted((v["created_at"] for v in versions), reverse=True)
    assert all(v["id"] > 2**31 for v in versions)
    big = versions[-1]["id"]
    assert client.get(f"{WEB_API}/versions/{big}").json()["id"] == big
    assert client.delete(f"{WEB_API}/versions/{big}").status_code == 204


def test_list_packages_parameters(client: httpx2.Client) -> None:
    assert_error(
        client.get("/orgs/acme-labs/packages?package_type=npm&per_page=100&page=101"),
        400,
        "The value of per_page multiplied by page cannot be greater than 10000.",
    )
    assert client.get("/orgs/acme-labs/packages?package_type=npm&per_page=100&page=100").json() == []
    assert_error(client.get("/orgs/acme-labs/packages?package_type=npm&per_page=500&page=101"), 400)
    assert_error(
        client.get("/orgs/acme-labs/packages"),
        400,
        "The package_type parameter must be one of: npm, maven, rubygems, docker, nuget, container.",
    )
    assert_error(client.get("/user/packages?package_type=pypi"), 400)
    assert_error(
        client.get("/user/packages?package_type=npm&visibility=secret"),
        400,
        "The visibility parameter must be one of: public, private, internal.",
    )


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("package_type=npm", ["design-system", "shared-config"]),
        ("package_type=npm&visibility=private", ["design-system", "shared-config"]),
        ("package_type=npm&visibility=internal", ["design-system"]),
        ("package_type=npm&visibility=public", []),
        ("package_type=maven&visibility=internal", ["com.acme.billing"]),  # internal means private for maven
        ("package_type=container", ACME_CONTAINERS),
        ("package_type=container&visibility=public", ["base-image", "multi/app"]),
    ],
)
def test_visibility_filter(client: httpx2.Client, query: str, names: list[str]) -> None:
    packages = client.get(f"/orgs/acme-labs/packages?{query}").json()
    assert [p["name"] for p in packages] == names
    assert {p["visibility"] for p in packages} <= {"public", "private"}


def test_version_state_filter(client: httpx2.Client) -> None:
    deleted = client.get(WEB_API + "/versions?state=deleted").json()
    assert len(deleted) == 5
    assert all("deleted_at" in v for v in deleted)
    assert_error(
        client.get(WEB_API + "/versions?state=gone"), 400, "The state parameter must be one of: active, deleted."
    )


def test_delete_rules(client: httpx2.Client, state: SandboxState, ids: dict[str, int]) -> None:
    base_image = "/orgs/acme-labs/packages/container/base-image"
    assert_error(
        client.delete(base_image),
        400,
        "Publicly visible packages with more than 5000 downloads cannot be deleted. "
        "Contact GitHub support for further assistance.",
    )
    popular = state.package(DEMO_ORG, "container", "base-image").versions[0].id
    assert_error(
        client.delete(f"{base_image}/versions/{popular}"),
        400,
        "Publicly visible package versions with more than 5000 downloads cannot be deleted. "
        "Contact GitHub support for further assistance.",
    )
    only = state.package(DEMO_ORG, "rubygems", "acme-ruby").versions[0].id
    assert_error(
        client.delete(f"/orgs/acme-labs/packages/rubygems/acme-ruby/versions/{only}"),
        400,
        "You cannot delete the last version of a package. You must delete the package instead.",
    )
    version = f"{WEB_API}/versions/{ids['web']}"
    assert client.delete(version).status_code == 204
    assert_error(client.delete(version), 404)
    assert_error(client.get(version), 404)
    assert client.get(WEB_API).json()["version_count"] == 344
    assert client.delete(WEB_API).status_code == 204
    assert_error(client.delete(WEB_API), 404)
    assert_error(client.get(WEB_API), 404)
    assert_error(client.get(WEB_API + "/versions"), 404)
    assert "web/api" not in [p["name"] for p in client.get("/orgs/acme-labs/packages?package_type=container").json()]


def test_restore_rules(client: httpx2.Client, state: SandboxState, ids: dict[str, int]) -> None:
    assert_error(client.get("/user/packages/npm/old-cli"), 404)
    assert client.post("/user/packages/npm/old-cli/restore").status_code == 204
    assert client.get("/user/packages/npm/old-cli").json()["version_count"] == 2
    assert_error(client.post("/user/packages/npm/old-cli/restore"), 404)  # no longer deleted
    assert_error(client.post("/user/packages/npm/ancient-tool/restore"), 404)  # deleted 45 days ago
    assert_error(
        client.post("/orgs/acme-labs/packages/npm/shared-config/restore"),
        403,
        "The package namespace has been reused by a new package; it cannot be restored.",
    )
    design = "/orgs/acme-labs/packages/npm/design-system"
    old = next(v.id for v in state.package(DEMO_ORG, "npm", "design-system").versions if v.deleted_at is not None)
    assert_error(
        client.post(f"{design}/versions/{old}/restore"),
        403,
        "A version with this name was published after the deletion; it cannot be restored.",
    )
    # Versions of a deleted package cannot be restored on their own.
    assert client.delete(WEB_API).status_code == 204
    assert_error(client.post(f"{WEB_API}/versions/{ids['web_deleted']}/restore"), 404)


def test_restore_window_follows_the_clock(client: httpx2.Client, state: SandboxState) -> None:
    billing = "/orgs/acme-labs/packages/maven/com.acme.billing"
    assert client.delete(billing).status_code == 204
    state.clock.advance(timedelta(days=29))
    assert client.post(billing + "/restore").status_code == 204
    assert client.delete(billing).status_code == 204
    state.clock.advance(timedelta(days=31))
    assert_error(client.post(billing + "/restore"), 404)
    assert client.get(WEB_API + "/versions?state=deleted").json() == []  # those were deleted 2+31 days ago


def test_other_users_packages(client: httpx2.Client) -> None:
    assert_error(client.get("/users/mona-demo/packages/npm/mona-private"), 404)
    assert client.get("/users/mona-demo/packages?package_type=npm").json() == []
    # Seen, not administered: a delete is answered as if the package did not exist (see test_evidence.py).
    assert_error(client.delete(TOOLS), 404, "Package not found.")
    version = client.get(TOOLS + "/versions").json()[0]["id"]
    assert_error(client.delete(f"{TOOLS}/versions/{version}"), 404, "Package not found.")
    assert client.get(f"{TOOLS}/versions/{version}").status_code == 200  # still there
    assert client.get("/users/octo-demo/packages/npm/octo-utils").status_code == 200  # like /user for its owner


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/user/docker/conflicts", ["legacy-image"]),
        ("/orgs/acme-labs/docker/conflicts", ["old-registry-image"]),
        ("/users/mona-demo/docker/conflicts", ["mona-legacy"]),
    ],
)
def test_docker_conflicts(client: httpx2.Client, path: str, names: list[str]) -> None:
    packages = client.get(path).json()
    assert [p["name"] for p in packages] == names
    assert {p["package_type"] for p in packages} == {"docker"}


def test_control_endpoints(sandbox: SandboxServer, client: httpx2.Client) -> None:
    with httpx2.Client(base_url=sandbox.url) as anonymous:
        before = anonymous.get("/_sandbox/clock").json()["now"]
        after = anonymous.post("/_sandbox/clock", json={"advance_seconds": 86_400}).json()["now"]
        assert after[:10] > before[:10]
        assert_error(anonymous.post("/_sandbox/clock", json={"advance": 1}), 400)
        assert client.delete(WEB_API).status_code == 204
        assert anonymous.post("/_sandbox/reset").status_code == 204
        assert anonymous.get("/_sandbox/clock").json()["now"][:10] == before[:10]
    assert client.get(WEB_API).status_code == 200


def test_two_servers_at_once(sandbox: SandboxServer) -> None:
    with SandboxServer() as other, httpx2.Client(headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as http:
        assert other.url != sandbox.url
        assert other.state is not sandbox.state
        assert http.delete(other.url + WEB_API).status_code == 204
        assert http.get(other.url + WEB_API).status_code == 404
        assert http.get(sandbox.url + WEB_API).status_code == 200


def test_requests_are_recorded_without_the_token(sandbox: SandboxServer, client: httpx2.Client) -> None:
    client.get(WEB_API + "/versions?per_page=2")
    with httpx2.Client(base_url=sandbox.url) as anonymous:
        anonymous.get(WEB_API)
    first, second = sandbox.state.requests
    assert (first.method, first.raw_path, first.query, first.status) == (
        "GET",
        WEB_API + "/versions",
        "per_page=2",
        200,
    )
    assert first.headers["authorization"] == "<redacted>"
    assert (second.raw_path, second.status) == (WEB_API, 401)
    assert "authorization" not in second.headers
    assert DEMO_TOKEN not in repr(sandbox.state.requests)


def test_deleted_versions_are_listed_for_package_admins_only(client: httpx2.Client) -> None:
    own = client.get(f"/orgs/{DEMO_ORG}/packages/container/web%2Fapi/versions", params={"state": "deleted"})
    others = client.get(TOOLS + "/versions", params={"state": "deleted"})
    assert own.status_code == 200
    assert own.json()
    assert others.status_code == 403
