"""Where public evidence says how GitHub and ghcr.io behave, the sandbox does the same by default; its switches
(switches.py) turn an alternative on. Each test names its row of docs/github-behaviour.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from github_packages_mcp.sandbox import (
    DEMO_ACTIONS_TOKEN,
    DEMO_LOGIN,
    DEMO_ORG,
    DEMO_OTHER_USER,
    DEMO_TOKEN,
    SandboxServer,
    SandboxState,
    Switches,
)
from github_packages_mcp.sandbox.demo import build_demo_world
from tests.helpers import ACME_CONTAINERS
from tests.sandbox.helpers import WEB_API, assert_error

INDEX = "application/vnd.oci.image.index.v1+json"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
MULTI = f"/v2/{DEMO_ORG}/multi/app"
MULTI_API = f"/orgs/{DEMO_ORG}/packages/container/multi%2Fapp"
MULTI_PAGE = f"https://github.com/orgs/{DEMO_ORG}/packages/container/package/multi%2Fapp"
ZERO = "sha256:" + "0" * 64
# multi/app, as demo.py builds it: the v2.1.0 index, its cosign signature (tagged) and its Sigstore bundle (not)
V210, SIGNATURE, BUNDLE = 3_420_551_205, 3_420_553_917, 3_420_553_918
ORPHAN = 3_390_112_401
DEFAULTS = {
    "referrers": "none",
    "list_packages_without_link": False,
    "actions_token_lists_org_packages": False,
    "delete_without_admin": "not_found",
    "last_version": "refuse",
}
LAST_TAGGED = "You cannot delete the last tagged version of a package. You must delete the package instead."
LAST_VERSION = "You cannot delete the last version of a package. You must delete the package instead."
ORG_LISTING_REFUSED = {
    "message": "Invalid argument.",
    "documentation_url": "https://docs.github.com/rest/packages/packages#list-packages-for-an-organization",
    "status": "400",
}


@pytest.fixture(scope="module")
def control(sandbox_server: SandboxServer) -> Iterator[httpx2.Client]:
    """No credentials: the /_sandbox/* endpoints need none."""
    with httpx2.Client(base_url=sandbox_server.url) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def multi_app(state: SandboxState) -> dict[int, Any]:
    return {v.id: v for v in state.package(DEMO_ORG, "container", "multi/app").active_versions()}


def referrers_of(client: httpx2.Client, state: SandboxState) -> httpx2.Response:
    return client.get(f"{MULTI}/referrers/{multi_app(state)[V210].name}")


def names(response: httpx2.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()]


# --- docs/github-behaviour.md#referrers-api -----------------------------------------------------------------------


def test_no_referrers_api_by_default(client: httpx2.Client, state: SandboxState) -> None:
    assert state.switches == Switches() and state.switches.referrers == "none"
    for reference in (multi_app(state)[V210].name, ZERO, "latest"):
        response = client.get(f"{MULTI}/referrers/{reference}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
        assert response.headers["docker-distribution-api-version"] == "registry/2.0"
    assert client.head(f"{MULTI}/referrers/{ZERO}").status_code == 404
    # Authentication and the repository are checked as for any registry request.
    with httpx2.Client(base_url=str(client.base_url)) as anonymous:
        assert anonymous.get(f"{MULTI}/referrers/{ZERO}").status_code == 401
    unknown = client.get(f"/v2/{DEMO_ORG}/nothing/referrers/{ZERO}")
    assert (unknown.status_code, unknown.json()["errors"][0]["code"]) == (404, "NAME_UNKNOWN")
    assert client.get(f"{MULTI}/manifests/latest").status_code == 200  # manifests are served as ever


def test_referrers_redirect_to_github(client: httpx2.Client, state: SandboxState) -> None:
    assert state.set_switches(referrers="redirect").referrers == "redirect"
    response = referrers_of(client, state)  # httpx2 does not follow redirects unless asked
    assert response.status_code == 303
    assert response.headers["location"] == MULTI_PAGE
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == f'<html><body>You are being <a href="{MULTI_PAGE}">redirected</a>.</body></html>'
    assert client.get(f"{MULTI}/referrers/{ZERO}").status_code == 303
    assert client.get(f"{MULTI}/manifests/latest").status_code == 200


def test_referrers_supported_lists_the_bundle(client: httpx2.Client, state: SandboxState) -> None:
    state.set_switches(referrers="supported")
    response = referrers_of(client, state)
    assert (response.status_code, response.headers["content-type"]) == (200, INDEX)
    [descriptor] = response.json()["manifests"]
    assert (descriptor["digest"], descriptor["artifactType"]) == (multi_app(state)[BUNDLE].name, SIGSTORE_BUNDLE)


def test_referrers_switch_through_the_control_api(
    control: httpx2.Client, client: httpx2.Client, state: SandboxState
) -> None:
    assert control.get("/_sandbox/switches").json() == DEFAULTS
    for mode, status in [("redirect", 303), ("supported", 200), ("none", 404), ("supported", 200)]:
        assert control.post("/_sandbox/switches", json={"referrers": mode}).json() == DEFAULTS | {"referrers": mode}
        assert state.switches.referrers == mode
        assert referrers_of(client, state).status_code == status
    assert control.post("/_sandbox/reset").status_code == 204
    assert control.get("/_sandbox/switches").json() == DEFAULTS
    assert referrers_of(client, state).status_code == 404


# --- docs/github-behaviour.md#signatures-and-attestations -------------------------------------------------------------


def test_a_signature_found_only_through_its_subject(client: httpx2.Client, state: SandboxState) -> None:
    package = multi_app(state)
    image, bundle, signature = package[V210], package[BUNDLE], package[SIGNATURE]
    assert image.tags == ("v2.1.0", "latest")
    assert bundle.tags == ()
    # No tag names the bundle's digest (cosign's sha256-<hex>.sig, .att, the referrers tag schema's sha256-<hex>),
    # and no index lists it: its own manifest's subject is all that links it to the image.
    tags = [tag for v in package.values() for tag in v.tags]
    assert not any(bundle.name.removeprefix("sha256:") in tag for tag in tags)
    assert signature.tags == (image.name.replace(":", "-") + ".sig",)  # the other signature is found by its tag
    indexes = [json.loads(v.manifest) for v in package.values() if v.media_type == INDEX]
    assert bundle.name not in {d["digest"] for index in indexes for d in index["manifests"]}
    # Served with its subject while ghcr.io's referrers API is missing (the default).
    response = client.get(f"{MULTI}/manifests/{bundle.name}")
    assert response.status_code == 200 and response.headers["docker-content-digest"] == bundle.name
    body = response.json()
    assert body["artifactType"] == SIGSTORE_BUNDLE
    assert body["subject"] == {"mediaType": INDEX, "digest": image.name, "size": len(image.manifest)}
    assert [layer["mediaType"] for layer in body["layers"]] == [SIGSTORE_BUNDLE]
    assert referrers_of(client, state).status_code == 404


# --- docs/github-behaviour.md#listing-without-link -----------------------------------------------------------

LISTINGS = ["/user/packages", f"/orgs/{DEMO_ORG}/packages", f"/users/{DEMO_OTHER_USER}/packages"]


@pytest.mark.parametrize("listing", LISTINGS)
def test_list_packages_without_link(client: httpx2.Client, state: SandboxState, listing: str) -> None:
    for owner in (DEMO_LOGIN, DEMO_ORG, DEMO_OTHER_USER):
        for n in range(3):
            state.add_package(owner, "nuget", f"Evidence.Pkg{n}", versions=1, visibility="public")

    def pages(**params: Any) -> list[httpx2.Response]:
        return [
            client.get(listing, params={"package_type": "nuget", "per_page": 2, "page": n} | params) for n in (1, 2, 3)
        ]

    linked = pages()
    assert 'rel="next"' in linked[0].headers["link"] and 'rel="prev"' in linked[1].headers["link"]
    state.set_switches(list_packages_without_link=True)
    unlinked = pages()
    assert all("link" not in response.headers for response in unlinked)
    # Paging itself still works, page by page.
    assert [names(r) for r in unlinked] == [names(r) for r in linked]
    assert len(names(unlinked[0])) == 2 and names(unlinked[2]) == []
    assert len(names(client.get(listing, params={"package_type": "nuget", "per_page": 100}))) >= 3
    # Only list-packages loses it: version lists keep their Link header.
    assert 'rel="next"' in client.get(WEB_API + "/versions").headers["link"]


def test_list_packages_link_switch_through_the_control_api(control: httpx2.Client, client: httpx2.Client) -> None:
    listing = f"/orgs/{DEMO_ORG}/packages?package_type=container&per_page=1"
    assert "link" in client.get(listing).headers
    switched = control.post("/_sandbox/switches", json={"list_packages_without_link": True}).json()
    assert switched == DEFAULTS | {"list_packages_without_link": True}
    assert "link" not in client.get(listing).headers
    assert names(client.get(listing + "&page=4")) == ["web/api"]
    assert control.post("/_sandbox/reset").status_code == 204
    assert "link" in client.get(listing).headers


# --- docs/github-behaviour.md#actions-tokens ----------------------------------------------------------


def test_actions_token_cannot_list_its_organizations_packages(client: httpx2.Client, state: SandboxState) -> None:
    token = bearer(DEMO_ACTIONS_TOKEN)
    for query in ("package_type=container", "package_type=npm&visibility=private", "package_type=maven&page=2"):
        response = client.get(f"/orgs/{DEMO_ORG}/packages?{query}", headers=token)
        assert_error(response, 400, "Invalid argument.")
        assert response.json() == ORG_LISTING_REFUSED
    # A classic token lists them as before.
    assert names(client.get(f"/orgs/{DEMO_ORG}/packages?package_type=container")) == ACME_CONTAINERS
    # The Actions token still manages its organization's packages one by one.
    assert client.get(WEB_API, headers=token).status_code == 200
    assert client.get(f"{WEB_API}/versions?per_page=1", headers=token).status_code == 200
    assert client.get(f"{MULTI_API}/versions/{ORPHAN}", headers=token).status_code == 200
    assert client.delete(f"{MULTI_API}/versions/{ORPHAN}", headers=token).status_code == 204
    assert client.post(f"{MULTI_API}/versions/{ORPHAN}/restore", headers=token).status_code == 204
    # Listing a user's packages is not what GitHub refuses.
    assert names(client.get(f"/users/{DEMO_OTHER_USER}/packages?package_type=container", headers=token)) == [
        "tools/cli"
    ]
    state.set_switches(actions_token_lists_org_packages=True)
    listing = client.get(f"/orgs/{DEMO_ORG}/packages?package_type=container", headers=token)
    assert names(listing) == ACME_CONTAINERS


def test_actions_token_switch_through_the_control_api(control: httpx2.Client, client: httpx2.Client) -> None:
    listing, token = f"/orgs/{DEMO_ORG}/packages?package_type=npm", bearer(DEMO_ACTIONS_TOKEN)
    assert client.get(listing, headers=token).status_code == 400
    switched = control.post("/_sandbox/switches", json={"actions_token_lists_org_packages": True}).json()
    assert switched == DEFAULTS | {"actions_token_lists_org_packages": True}
    assert names(client.get(listing, headers=token)) == ["design-system", "shared-config"]
    assert control.post("/_sandbox/reset").status_code == 204
    assert client.get(listing, headers=token).status_code == 400


# --- docs/github-behaviour.md#last-tagged-version and #last-version -----------------------------------------------


def test_a_container_package_keeps_its_last_tagged_version(client: httpx2.Client, state: SandboxState) -> None:
    package = state.add_package(DEMO_LOGIN, "container", "evidence/tagged", versions=12)  # versions 0 and 10 tagged
    path = "/user/packages/container/evidence%2Ftagged/versions/"
    tagged = [v.id for v in package.versions if v.tags]
    untagged = [v.id for v in package.versions if not v.tags]
    assert (len(tagged), len(untagged)) == (2, 10)
    assert client.delete(f"{path}{tagged[0]}").status_code == 204
    # Untagged versions do not count: ten of them are left, and still it is the last tagged one.
    assert_error(client.delete(f"{path}{tagged[1]}"), 400, LAST_TAGGED)
    for version_id in untagged:
        assert client.delete(f"{path}{version_id}").status_code == 204
    assert_error(client.delete(f"{path}{tagged[1]}"), 400, LAST_TAGGED)
    assert client.post(f"{path}{tagged[0]}/restore").status_code == 204
    assert client.delete(f"{path}{tagged[1]}").status_code == 204  # another tagged version is left
    assert client.get(path.removesuffix("/versions/")).json()["version_count"] == 1


def test_the_last_version_of_a_container_package_may_go_when_untagged(
    client: httpx2.Client, state: SandboxState
) -> None:
    package = state.add_package(DEMO_LOGIN, "container", "evidence/untagged", versions=2)
    with state.lock:
        package.versions[0].tags = ()  # add_package tags the first version; this package has none tagged
    path = "/user/packages/container/evidence%2Funtagged"
    for version in package.versions:
        assert client.delete(f"{path}/versions/{version.id}").status_code == 204
    assert client.get(path).json()["version_count"] == 0
    assert client.get(f"{path}/versions").json() == []


@pytest.mark.parametrize(
    ("path", "package_type", "owner", "name"),
    [
        (f"/orgs/{DEMO_ORG}/packages/npm/shared-config", "npm", DEMO_ORG, "shared-config"),
        (f"/orgs/{DEMO_ORG}/packages/maven/com.acme.billing", "maven", DEMO_ORG, "com.acme.billing"),
        ("/user/packages/nuget/Octo.Core", "nuget", DEMO_LOGIN, "Octo.Core"),
        ("/user/packages/docker/legacy-image", "docker", DEMO_LOGIN, "legacy-image"),
    ],
)
def test_other_packages_keep_their_last_version(
    client: httpx2.Client, state: SandboxState, path: str, package_type: str, owner: str, name: str
) -> None:
    *others, last = (v.id for v in state.package(owner, package_type, name).active_versions())
    for version_id in others:
        assert client.delete(f"{path}/versions/{version_id}").status_code == 204
    assert_error(client.delete(f"{path}/versions/{last}"), 400, LAST_VERSION)
    assert client.delete(path).status_code == 204  # what the message says to do instead


def test_the_last_version_may_take_its_package_with_it(
    control: httpx2.Client, client: httpx2.Client, state: SandboxState
) -> None:
    path = f"/orgs/{DEMO_ORG}/packages/npm/shared-config"
    [only] = (v.id for v in state.package(DEMO_ORG, "npm", "shared-config").active_versions())
    switched = control.post("/_sandbox/switches", json={"last_version": "delete_package"}).json()
    assert switched == DEFAULTS | {"last_version": "delete_package"}
    assert client.delete(f"{path}/versions/{only}").status_code == 204
    assert_error(client.get(path), 404, "Package not found.")  # the package went with its last version
    assert client.post(f"{path}/restore").status_code == 204
    assert client.get(path).json()["version_count"] == 0  # the version was deleted with it, and is restored apart
    assert client.post(f"{path}/versions/{only}/restore").status_code == 204
    assert client.get(path).json()["version_count"] == 1
    # Container packages keep their own rule: the last tagged version is refused whatever the switch.
    package = state.add_package(DEMO_LOGIN, "container", "evidence/one", versions=1)
    one = f"/user/packages/container/evidence%2Fone/versions/{package.versions[0].id}"
    assert_error(client.delete(one), 400, LAST_TAGGED)


# --- docs/github-behaviour.md#delete-without-admin ----------------------------------------------------------------

TOOLS = f"/users/{DEMO_OTHER_USER}/packages/container/tools%2Fcli"


def test_a_delete_without_admin_rights_is_answered_404_though_the_package_exists(
    control: httpx2.Client, client: httpx2.Client, state: SandboxState
) -> None:
    versions = [v.id for v in state.package(DEMO_OTHER_USER, "container", "tools/cli").active_versions()]
    assert client.get(TOOLS).status_code == 200  # public: seen, not administered
    assert_error(client.delete(f"{TOOLS}/versions/{versions[-1]}"), 404, "Package not found.")
    assert_error(client.delete(TOOLS), 404, "Package not found.")
    assert client.get(f"{TOOLS}/versions/{versions[-1]}").status_code == 200  # nothing was deleted
    # An Actions token is refused as before: its kind of token has its own 403.
    refused = client.delete(f"{TOOLS}/versions/{versions[-1]}", headers=bearer(DEMO_ACTIONS_TOKEN))
    assert_error(refused, 403, "Resource not accessible by integration")
    switched = control.post("/_sandbox/switches", json={"delete_without_admin": "forbidden"}).json()
    assert switched == DEFAULTS | {"delete_without_admin": "forbidden"}
    admin_access = "You do not have admin access to this package."
    assert_error(client.delete(f"{TOOLS}/versions/{versions[-1]}"), 403, admin_access)
    assert_error(client.delete(TOOLS), 403, admin_access)
    # Restores and the deleted listing need admin rights whatever the switch: 403, as before.
    assert control.post("/_sandbox/reset").status_code == 204
    assert_error(client.get(f"{TOOLS}/versions?state=deleted"), 403, admin_access)
    assert len(state.package(DEMO_OTHER_USER, "container", "tools/cli").active_versions()) == len(versions)


# --- the switches as such -----------------------------------------------------------------------------------------


def test_switches_endpoint_refuses_what_it_cannot_apply(control: httpx2.Client, state: SandboxState) -> None:
    state.set_switches(referrers="redirect")
    for bad in (
        {"referrers": "sometimes"},
        {"referrers": None},
        {"list_packages_without_link": "yes"},
        {"actions_token_lists_org_packages": 1},
        {"delete_without_admin": "teapot"},
        {"last_version": True},
        {"referrers": "supported", "colour": "blue"},
        ["referrers"],
        "supported",
    ):
        assert_error(control.post("/_sandbox/switches", json=bad), 400)
    assert_error(control.post("/_sandbox/switches", content=b"{not json"), 400)
    assert state.switches == Switches(referrers="redirect")  # nothing was applied
    assert control.post("/_sandbox/switches", json={}).json() == DEFAULTS | {"referrers": "redirect"}
    assert_error(control.delete("/_sandbox/switches"), 404)
    state.reset()
    assert state.switches == Switches()


def test_switches_as_python_options() -> None:
    state = SandboxState(build_demo_world, switches=Switches(referrers="supported"))
    changed = state.set_switches(list_packages_without_link=True, actions_token_lists_org_packages=True)
    assert changed == state.switches == Switches("supported", True, True)
    assert state.set_switches(referrers="none") == Switches("none", True, True)
    state.reset()
    assert state.switches == Switches(referrers="supported")  # a reset restores the state's own defaults
    with pytest.raises(ValueError, match="referrers must be one of: none, redirect, supported"):
        state.set_switches(referrers="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="list_packages_without_link must be true or false"):
        Switches(list_packages_without_link="yes")  # type: ignore[arg-type]
    assert state.switches == Switches(referrers="supported")


def test_sandbox_server_takes_switches() -> None:
    with (
        SandboxServer(switches=Switches(referrers="supported")) as server,
        httpx2.Client(base_url=server.url, headers=bearer(DEMO_TOKEN)) as http,
    ):
        assert http.get(f"{MULTI}/referrers/{ZERO}").json()["manifests"] == []
        assert http.post("/_sandbox/reset").status_code == 204
        assert http.get(f"{MULTI}/referrers/{ZERO}").status_code == 200  # still its own default
        assert http.get("/_sandbox/switches").json() == DEFAULTS | {"referrers": "supported"}
    with pytest.raises(ValueError, match="give the switches to the SandboxState"):
        SandboxServer(SandboxState(build_demo_world), switches=Switches())
