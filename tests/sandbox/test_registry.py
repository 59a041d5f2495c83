"""The sandbox's container registry (/v2/), GET /user, GET /rate_limit and the three kinds of token, over HTTP."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from github_packages_mcp.sandbox import (
    DEMO_ACTIONS_TOKEN,
    DEMO_FINE_GRAINED_TOKEN,
    DEMO_LOGIN,
    DEMO_ORG,
    DEMO_OTHER_USER,
    DEMO_READ_TOKEN,
    DEMO_TOKEN,
    Fault,
    SandboxServer,
    SandboxState,
)
from github_packages_mcp.sandbox.demo import build_demo_world
from tests.helpers import ACME_CONTAINERS
from tests.sandbox.helpers import SPEC, WEB_API, assert_error, validate

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MULTI = f"/v2/{DEMO_ORG}/multi/app"
WEB = f"/v2/{DEMO_ORG}/web/api"
MULTI_API = f"/orgs/{DEMO_ORG}/packages/container/multi%2Fapp"
OLD = timedelta(days=60)
# multi/app, as demo.py builds it
V210, V200, V100 = 3_420_551_205, 3_412_870_313, 3_388_000_103
CHILDREN = {
    V210: [3_420_551_201, 3_420_551_202, 3_420_551_203, 3_420_551_204],  # amd64, arm64, their attestations
    V200: [3_412_870_311, 3_412_870_312],
    V100: [3_388_000_101, 3_388_000_102],
}
ORPHANS = [3_390_112_401, 3_391_540_077]
SIGNATURE, BUNDLE = 3_420_553_917, 3_420_553_918


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def registry_bearer(token: str) -> dict[str, str]:
    """What a registry client sends for a PAT on ghcr.io: the token in base64."""
    return bearer(base64.b64encode(token.encode()).decode())


def assert_oci_error(response: httpx2.Response, status: int, code: str, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message


def versions(state: SandboxState) -> dict[int, Any]:
    return {v.id: v for v in state.package(DEMO_ORG, "container", "multi/app").active_versions()}


def manifest(client: httpx2.Client, reference: str, repository: str = MULTI) -> Any:
    response = client.get(f"{repository}/manifests/{reference}")
    assert response.status_code == 200, response.text
    return response.json()


# --- registry: authentication -------------------------------------------------------------------------------------


def test_registry_authentication(sandbox: SandboxServer, client: httpx2.Client, state: SandboxState) -> None:
    with httpx2.Client(base_url=sandbox.url) as anonymous:
        for response in (anonymous.get("/v2/"), anonymous.get("/v2/", headers=bearer("nope"))):
            assert_oci_error(response, 401, "UNAUTHORIZED", "authentication required")
            assert response.headers["www-authenticate"] == f'Bearer realm="{sandbox.url}/token",service="ghcr.io"'
        scoped = anonymous.get(f"{MULTI}/manifests/latest")
        assert scoped.headers["www-authenticate"].endswith(',scope="repository:acme-labs/multi/app:pull"')
        for headers in (bearer(DEMO_TOKEN), registry_bearer(DEMO_TOKEN), registry_bearer(DEMO_READ_TOKEN)):
            response = anonymous.get("/v2/", headers=headers)
            assert (response.status_code, response.json()) == (200, {})
            assert response.headers["docker-distribution-api-version"] == "registry/2.0"
            assert anonymous.get(f"{MULTI}/manifests/latest", headers=headers).status_code == 200
        unpadded = base64.b64encode(DEMO_TOKEN.encode()).decode().rstrip("=")
        assert anonymous.get("/v2/", headers=bearer(unpadded)).status_code == 200
        assert_oci_error(anonymous.get("/v2/", headers={"Authorization": f"token {DEMO_TOKEN}"}), 401, "UNAUTHORIZED")
    state.add_token("ghp_noScopes", DEMO_LOGIN, ["write:packages"])
    for headers in (bearer("ghp_noScopes"), registry_bearer("ghp_noScopes")):
        assert_oci_error(client.get(f"{MULTI}/manifests/latest", headers=headers), 403, "DENIED", "denied")
    assert "x-ratelimit-limit" not in client.get("/v2/").headers


def test_registry_respects_visibility(client: httpx2.Client, state: SandboxState) -> None:
    state.add_package(DEMO_OTHER_USER, "container", "secret/image", versions=1, visibility="private")
    assert_oci_error(client.get(f"/v2/{DEMO_OTHER_USER}/secret/image/manifests/v1.0"), 403, "DENIED", "denied")
    assert_oci_error(client.get(f"/v2/{DEMO_OTHER_USER}/secret/image/referrers/sha256:{'0' * 64}"), 403, "DENIED")
    assert client.get(f"/v2/{DEMO_OTHER_USER}/tools/cli/manifests/latest").status_code == 200  # public
    actions = bearer(DEMO_ACTIONS_TOKEN)
    assert client.get(f"{WEB}/manifests/latest", headers=actions).status_code == 200  # private, its own org's
    assert_oci_error(client.get(f"/v2/{DEMO_OTHER_USER}/secret/image/manifests/v1.0", headers=actions), 403, "DENIED")
    fine_grained = client.get(f"{MULTI}/manifests/latest", headers=registry_bearer(DEMO_FINE_GRAINED_TOKEN))
    assert_oci_error(fine_grained, 403, "DENIED", "Resource not accessible by personal access token")


# --- registry: manifests ------------------------------------------------------------------------------------------


def test_every_container_version_has_its_manifest(client: httpx2.Client, state: SandboxState) -> None:
    served = 0
    for listing in ("/user/packages", f"/orgs/{DEMO_ORG}/packages", f"/users/{DEMO_OTHER_USER}/packages"):
        for package in client.get(listing, params={"package_type": "container"}).json():
            owner = package["owner"]["login"]
            for version in state.package(owner, "container", package["name"]).active_versions():
                response = client.get(f"/v2/{owner}/{package['name']}/manifests/{version.name}")
                assert response.status_code == 200, (package["name"], version.id)
                assert "sha256:" + hashlib.sha256(response.content).hexdigest() == version.name
                assert response.headers["docker-content-digest"] == version.name
                assert response.headers["content-type"] == version.media_type == response.json()["mediaType"]
                assert response.json()["schemaVersion"] == 2
                served += 1
    # hello-world (one deleted), web/api, base-image, multi/app, gateway (two deleted), tools/cli
    assert served == 12 - 1 + 345 + 3 + 15 + 19 + 6
    # Docker versions have manifests too, though ghcr.io does not serve the old registry's images.
    for owner, name in [
        (DEMO_LOGIN, "legacy-image"),
        (DEMO_ORG, "old-registry-image"),
        (DEMO_OTHER_USER, "mona-legacy"),
    ]:
        for version in state.package(owner, "docker", name).versions:
            assert version.manifest is not None
            assert "sha256:" + hashlib.sha256(version.manifest).hexdigest() == version.name


def test_plain_images_are_single_platform_oci_manifests(client: httpx2.Client) -> None:
    body = manifest(client, "latest", f"/v2/{DEMO_LOGIN}/hello-world")
    assert body["mediaType"] == MANIFEST
    assert body["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    [layer] = body["layers"]
    for descriptor in (body["config"], layer):
        assert descriptor["digest"].startswith("sha256:") and len(descriptor["digest"]) == 71
        assert descriptor["size"] > 0
    assert "subject" not in body and "manifests" not in body


def test_tags_digests_and_head(client: httpx2.Client, state: SandboxState) -> None:
    index = versions(state)[V210]
    by_tag = client.get(f"{MULTI}/manifests/latest")
    assert by_tag.content == client.get(f"{MULTI}/manifests/v2.1.0").content == index.manifest
    assert by_tag.headers["content-type"] == INDEX
    head = client.head(f"{MULTI}/manifests/{index.name}")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["docker-content-digest"] == index.name
    assert head.headers["content-length"] == str(len(index.manifest))
    assert_oci_error(client.get(f"{MULTI}/manifests/v9.9.9"), 404, "MANIFEST_UNKNOWN", "manifest unknown")
    assert_oci_error(client.get(f"{MULTI}/manifests/sha256:{'a' * 64}"), 404, "MANIFEST_UNKNOWN")
    assert client.head(f"{MULTI}/manifests/sha256:{'a' * 64}").status_code == 404
    assert_oci_error(client.get(f"{MULTI}/manifests/v1.0.0"), 404, "MANIFEST_UNKNOWN")  # that tag moved away
    assert_oci_error(client.get(f"/v2/{DEMO_ORG}/nothing/manifests/latest"), 404, "NAME_UNKNOWN")
    assert_oci_error(client.delete(f"{MULTI}/manifests/{index.name}"), 405, "UNSUPPORTED")
    assert_oci_error(client.get(f"{MULTI}/tags/list"), 404, "NOT_FOUND")


def test_names_keep_their_slashes(client: httpx2.Client, state: SandboxState) -> None:
    assert manifest(client, "latest", "/v2/ACME-Labs/web/api")["mediaType"] == MANIFEST  # the owner ignores case
    assert_oci_error(client.get(f"/v2/{DEMO_ORG}/Web/API/manifests/latest"), 404, "NAME_UNKNOWN")
    assert_oci_error(client.get(f"/v2/{DEMO_ORG}/web/manifests/latest"), 404, "NAME_UNKNOWN")
    # Only the last /manifests/ ends the name.
    state.add_package(DEMO_ORG, "container", "charts/manifests/app", versions=1, visibility="public")
    assert manifest(client, "v1.0", f"/v2/{DEMO_ORG}/charts/manifests/app")["schemaVersion"] == 2


def test_multi_arch_index_lists_its_untagged_children(client: httpx2.Client, state: SandboxState) -> None:
    package = versions(state)
    by_digest = {v.name: v for v in package.values()}
    for index_id, children in CHILDREN.items():
        index = package[index_id]
        body = manifest(client, index.name)
        assert body["mediaType"] == index.media_type == INDEX
        listed = [by_digest[d["digest"]] for d in body["manifests"]]  # every child is a version of the package
        assert [v.id for v in listed] == children
        assert all(v.tags == () for v in listed)
        assert all(index.created_at - timedelta(seconds=10) < v.created_at < index.created_at for v in listed)
        assert [d["size"] for d in body["manifests"]] == [len(v.manifest) for v in listed]
        platforms = [d["platform"] for d in body["manifests"][:2]]
        assert platforms == [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}]
    assert (package[V210].tags, package[V200].tags, package[V100].tags) == (("v2.1.0", "latest"), ("v2.0.0",), ())
    assert all(state.clock.now() - package[i].created_at > OLD for i in [V100, *CHILDREN[V100], *ORPHANS])
    assert all(state.clock.now() - package[i].created_at < OLD for i in [V210, V200, SIGNATURE, BUNDLE])
    referenced = {d["digest"] for i in CHILDREN for d in manifest(client, package[i].name)["manifests"]}
    assert all(package[i].name not in referenced and package[i].tags == () for i in ORPHANS)
    assert len(package) == 15


def test_attestations_point_at_their_platform_images(client: httpx2.Client, state: SandboxState) -> None:
    entries = manifest(client, "v2.1.0")["manifests"]
    images, attestations = entries[:2], entries[2:]
    for image, attestation in zip(images, attestations, strict=True):
        assert attestation["annotations"] == {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": image["digest"],
        }
        assert attestation["platform"] == {"architecture": "unknown", "os": "unknown"}
        assert "annotations" not in image
        layers = manifest(client, attestation["digest"])["layers"]
        assert [layer["mediaType"] for layer in layers] == ["application/vnd.in-toto+json"]
    assert all("annotations" not in d for d in manifest(client, "v2.0.0")["manifests"])


def test_cosign_signature_is_tagged_by_the_signed_digest(client: httpx2.Client, state: SandboxState) -> None:
    package = versions(state)
    signed = package[V210].name
    tag = signed.replace("sha256:", "sha256-") + ".sig"
    assert package[SIGNATURE].tags == (tag,)
    signature = manifest(client, tag)
    assert client.get(f"{MULTI}/manifests/{tag}").headers["docker-content-digest"] == package[SIGNATURE].name
    assert signature["mediaType"] == MANIFEST
    [layer] = signature["layers"]
    assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert "dev.cosignproject.cosign/signature" in layer["annotations"]


def test_referrers(client: httpx2.Client, state: SandboxState) -> None:
    state.set_switches(referrers="supported")  # ghcr.io has no referrers API (see test_evidence.py)
    package = versions(state)
    subject, bundle = package[V210], package[BUNDLE]
    response = client.get(f"{MULTI}/referrers/{subject.name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == INDEX
    assert response.json() == {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                "mediaType": MANIFEST,
                "digest": bundle.name,
                "size": len(bundle.manifest),
                "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                "annotations": {
                    "dev.sigstore.bundle.content": "dsse-envelope",
                    "dev.sigstore.bundle.predicateType": "https://slsa.dev/provenance/v1",
                },
            }
        ],
    }
    assert bundle.tags == ()
    artifact = manifest(client, bundle.name)
    assert artifact["subject"] == {"mediaType": INDEX, "digest": subject.name, "size": len(subject.manifest)}
    filtered = client.get(f"{MULTI}/referrers/{subject.name}", params={"artifactType": "application/spdx+json"})
    assert (filtered.json()["manifests"], filtered.headers["oci-filters-applied"]) == ([], "artifactType")
    for other in (package[V200].name, package[SIGNATURE].name, f"sha256:{'0' * 64}"):
        assert client.get(f"{MULTI}/referrers/{other}").json()["manifests"] == []
    assert_oci_error(client.get(f"{MULTI}/referrers/latest"), 400, "DIGEST_INVALID")
    assert client.delete(f"{MULTI_API}/versions/{BUNDLE}").status_code == 204
    assert client.get(f"{MULTI}/referrers/{subject.name}").json()["manifests"] == []


def test_deleted_versions_and_packages_are_unknown(client: httpx2.Client, state: SandboxState) -> None:
    child = versions(state)[CHILDREN[V200][0]]
    assert client.delete(f"{MULTI_API}/versions/{child.id}").status_code == 204
    assert_oci_error(client.get(f"{MULTI}/manifests/{child.name}"), 404, "MANIFEST_UNKNOWN", "manifest unknown")
    assert client.get(f"{MULTI}/manifests/v2.0.0").status_code == 200  # the index itself is still there
    assert client.post(f"{MULTI_API}/versions/{child.id}/restore").status_code == 204
    assert client.get(f"{MULTI}/manifests/{child.name}").status_code == 200
    assert client.delete(f"{MULTI_API}/versions/{V210}").status_code == 204
    assert_oci_error(client.get(f"{MULTI}/manifests/latest"), 404, "MANIFEST_UNKNOWN")
    assert client.delete(MULTI_API).status_code == 204
    assert_oci_error(client.get(f"{MULTI}/manifests/v2.0.0"), 404, "NAME_UNKNOWN")


# --- registry: availability, faults, recording --------------------------------------------------------------------


def test_registry_can_be_made_unavailable(sandbox: SandboxServer, client: httpx2.Client, state: SandboxState) -> None:
    state.set_registry_available(False)
    with httpx2.Client(base_url=sandbox.url) as anonymous:
        for response in (
            client.get(f"{MULTI}/manifests/latest"),
            client.head(f"{MULTI}/manifests/latest"),
            client.get(f"{MULTI}/referrers/sha256:{'0' * 64}"),
            anonymous.get("/v2/"),
        ):
            assert response.status_code == 503
        assert_oci_error(client.get("/v2/"), 503, "UNAVAILABLE", "registry unavailable")
        assert client.get(MULTI_API + "/versions").status_code == 200  # the Packages API is unaffected
        assert anonymous.get("/_sandbox/registry").json() == {"available": False}
        assert anonymous.post("/_sandbox/registry", json={"available": True}).json() == {"available": True}
        assert client.get(f"{MULTI}/manifests/latest").status_code == 200
        assert anonymous.post("/_sandbox/registry", json={"available": False}).json() == {"available": False}
        assert not state.registry_available
        for bad in ({"available": "no"}, {}, [False]):
            assert_error(anonymous.post("/_sandbox/registry", json=bad), 400)
        assert anonymous.post("/_sandbox/reset").status_code == 204
    assert state.registry_available
    assert client.get(f"{MULTI}/manifests/latest").status_code == 200


def test_faults_latency_and_recording_apply_to_the_registry(client: httpx2.Client, state: SandboxState) -> None:
    state.set_switches(referrers="supported")
    state.faults.script("GET", "/v2/*", [Fault(status=502), Fault(latency=0.1)])
    state.faults.script("GET", f"{MULTI}/referrers/*", [Fault(reset=True)])
    assert client.get(f"{MULTI}/manifests/latest").status_code == 502
    started = time.monotonic()
    assert client.get(f"{MULTI}/manifests/latest").status_code == 200
    assert time.monotonic() - started >= 0.1
    referrers = f"{MULTI}/referrers/sha256:{'0' * 64}"
    with pytest.raises(httpx2.TransportError):
        client.get(referrers)
    assert client.head(referrers).status_code == 200
    recorded = [(r.method, r.raw_path, r.status, r.broken) for r in state.requests]
    assert recorded == [
        ("GET", f"{MULTI}/manifests/latest", 502, False),
        ("GET", f"{MULTI}/manifests/latest", 200, False),
        ("GET", referrers, 0, True),
        ("HEAD", referrers, 200, False),
    ]
    assert state.requests[0].headers["authorization"] == "<redacted>"
    assert state.max_in_flight == 1


def test_registry_requests_do_not_count_against_the_api_quota(client: httpx2.Client) -> None:
    for _ in range(3):
        client.get(f"{MULTI}/manifests/latest")
    assert client.get("/rate_limit").json()["rate"]["used"] == 0


# --- GET /user ----------------------------------------------------------------------------------------------------


def test_user_for_a_classic_token(client: httpx2.Client, sandbox: SandboxServer) -> None:
    response = client.get("/user")
    assert response.status_code == 200
    user = response.json()
    validate(SPEC["components"]["schemas"]["simple-user"], user)
    assert (user["login"], user["id"], user["type"], user["name"]) == (DEMO_LOGIN, 58_391_207, "User", "Octo Demo")
    assert user["html_url"] == f"https://github.com/{DEMO_LOGIN}"
    assert user["url"] == f"{sandbox.url}/users/{DEMO_LOGIN}"
    assert user["created_at"].endswith("Z")
    assert response.headers["x-oauth-scopes"] == "read:packages, write:packages, delete:packages"
    assert response.headers["x-accepted-oauth-scopes"] == ""
    assert response.headers["x-ratelimit-used"] == "1"  # it counts like any request
    read_only = client.get("/user", headers=bearer(DEMO_READ_TOKEN))
    assert read_only.headers["x-oauth-scopes"] == "read:packages"
    with httpx2.Client(base_url=sandbox.url) as anonymous:
        assert_error(anonymous.get("/user"), 401, "Requires authentication")
    assert_error(client.post("/user"), 404, "Not Found")


def test_fine_grained_token_works_for_user_but_not_for_packages(client: httpx2.Client) -> None:
    token = bearer(DEMO_FINE_GRAINED_TOKEN)
    response = client.get("/user", headers=token)
    assert (response.status_code, response.json()["login"]) == (200, DEMO_LOGIN)
    assert "x-oauth-scopes" not in response.headers
    assert client.get("/rate_limit", headers=token).status_code == 200
    for method, path in [
        ("GET", "/user/packages?package_type=container"),
        ("GET", f"/users/{DEMO_LOGIN}/packages/container/hello-world"),
        ("GET", f"{WEB_API}/versions"),
        ("DELETE", WEB_API),
    ]:
        refused = client.request(method, path, headers=token)
        assert_error(refused, 403, "Resource not accessible by personal access token")
        assert refused.json()["documentation_url"].startswith("https://docs.github.com/rest/packages/packages#")
        assert "x-oauth-scopes" not in refused.headers
    assert client.get(WEB_API).status_code == 200  # nothing was deleted


def test_actions_token_manages_its_organizations_packages_only(client: httpx2.Client, state: SandboxState) -> None:
    state.set_switches(actions_token_lists_org_packages=True)  # GitHub refuses it by default (see test_evidence.py)
    token = bearer(DEMO_ACTIONS_TOKEN)
    user = client.get("/user", headers=token)
    assert_error(user, 403, "Resource not accessible by integration")
    assert user.json()["documentation_url"] == "https://docs.github.com/rest/users/users#get-the-authenticated-user"
    listing = client.get(f"/orgs/{DEMO_ORG}/packages?package_type=container", headers=token)
    assert [p["name"] for p in listing.json()] == ACME_CONTAINERS  # private too
    assert "x-oauth-scopes" not in listing.headers
    assert client.get(f"{WEB_API}/versions?per_page=1", headers=token).status_code == 200
    assert client.delete(f"{MULTI_API}/versions/{ORPHANS[0]}", headers=token).status_code == 204
    assert client.post(f"{MULTI_API}/versions/{ORPHANS[0]}/restore", headers=token).status_code == 204
    assert client.get(f"/users/{DEMO_OTHER_USER}/packages/container/tools%2Fcli", headers=token).status_code == 200
    for method, path in [
        ("GET", f"/users/{DEMO_OTHER_USER}/packages/npm/mona-private"),  # another owner's private package
        ("DELETE", f"/users/{DEMO_OTHER_USER}/packages/container/tools%2Fcli"),  # public, but not its owner's
        ("GET", "/user/packages?package_type=npm"),  # it is no user
    ]:
        assert_error(client.request(method, path, headers=token), 403, "Resource not accessible by integration")
    assert client.get(f"/users/{DEMO_OTHER_USER}/packages?package_type=npm", headers=token).json() == []
    rate = client.get("/rate_limit", headers=token).json()["rate"]
    assert (rate["limit"], rate["used"]) == (1000, 10)
    assert state.package(DEMO_OTHER_USER, "container", "tools/cli").deleted_at is None


# --- GET /rate_limit ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "limit", "scoped"),
    [(DEMO_TOKEN, 5000, True), (DEMO_FINE_GRAINED_TOKEN, 5000, False), (DEMO_ACTIONS_TOKEN, 1000, False)],
)
def test_rate_limit_reflects_the_quota_without_consuming_it(
    client: httpx2.Client, token: str, limit: int, scoped: bool
) -> None:
    headers = bearer(token)
    first = client.get("/rate_limit", headers=headers)
    assert first.status_code == 200
    body = first.json()
    core = body["resources"]["core"]
    assert body["rate"] == core
    assert (core["limit"], core["remaining"], core["used"], core["resource"]) == (limit, limit, 0, "core")
    assert {"search", "graphql"} <= set(body["resources"])
    assert ("x-oauth-scopes" in first.headers) is scoped
    assert first.headers["x-ratelimit-used"] == "0"
    client.get("/user", headers=headers)
    again = client.get("/rate_limit", headers=headers).json()["rate"]
    assert (again["used"], again["remaining"], again["reset"]) == (1, limit - 1, core["reset"])
    assert client.get("/rate_limit", headers=headers).json()["rate"]["used"] == 1


def test_rate_limit_answers_when_the_quota_is_spent(client: httpx2.Client, state: SandboxState) -> None:
    state.set_rate_limit(DEMO_TOKEN, remaining=0, reset_in=600)
    assert client.get("/user").status_code == 403
    response = client.get("/rate_limit")
    assert response.status_code == 200
    assert (response.json()["rate"]["remaining"], response.headers["x-ratelimit-remaining"]) == (0, "0")
    with pytest.raises(ValueError, match="between 0 and 1000"):
        state.set_rate_limit(DEMO_ACTIONS_TOKEN, remaining=5000, reset_in=60)
    state.set_rate_limit(DEMO_ACTIONS_TOKEN, remaining=3, reset_in=60)
    assert client.get("/rate_limit", headers=bearer(DEMO_ACTIONS_TOKEN)).json()["rate"]["used"] == 997


def test_demo_manifests_do_not_depend_on_the_time() -> None:
    def images(now: datetime) -> list[tuple[int, str, tuple[str, ...]]]:
        world = build_demo_world(now)
        return [(v.id, v.name, v.tags) for p in world.packages if p.package_type == "container" for v in p.versions]

    assert images(datetime(2026, 1, 1, tzinfo=UTC)) == images(datetime(2031, 7, 4, 12, 30, tzinfo=UTC))
