"""The sandbox's container registry: the read side of the OCI distribution API, as ghcr.io serves it under /v2/."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from github_packages_mcp.sandbox import oci
from github_packages_mcp.sandbox.model import Token
from github_packages_mcp.sandbox.oci import RegistryError
from github_packages_mcp.sandbox.render import package_html_url
from github_packages_mcp.sandbox.world import SandboxState

SERVICE: Final = "ghcr.io"
READ_SCOPE: Final = "read:packages"
DIGEST: Final = re.compile(r"sha256:[0-9a-f]{64}")
# Every answer says which API it speaks, like any distribution registry.
API_VERSION: Final = {"Docker-Distribution-API-Version": "registry/2.0"}

Endpoint = Literal["base", "manifests", "referrers"]
METHODS: Final = ("GET", "HEAD")  # the sandbox serves reads only: deleting goes through the Packages API


def handles(raw_path: str) -> bool:
    """Whether a request is for the registry rather than the REST API."""
    return raw_path == "/v2" or raw_path.startswith("/v2/")


@dataclass(frozen=True)
class Route:
    endpoint: Endpoint
    repository: str = ""  # "<owner>/<package name>", the name possibly containing "/"
    reference: str = ""  # a tag or a digest


def route(raw_path: str) -> Route | None:
    """Parse /v2/<name>/manifests/<reference> or /v2/<name>/referrers/<digest>; None when it is neither."""
    rest = raw_path.removeprefix("/v2").removeprefix("/")
    if not rest:
        return Route("base")
    # A repository name may contain "/" and even the word "manifests": the last marker ends it.
    at, endpoint = max((rest.rfind(f"/{e}/"), e) for e in ("manifests", "referrers"))
    reference = rest[at + len(endpoint) + 2 :]
    if at <= 0 or not reference or "/" in reference:
        return None
    return Route("manifests" if endpoint == "manifests" else "referrers", unquote(rest[:at]), unquote(reference))


def respond(state: SandboxState, request: Request, raw_path: str, base: str) -> Response:
    """Answer one registry request; the app has already recorded it and applied faults and latency."""
    found = route(raw_path)
    try:
        if not state.registry_available:
            raise RegistryError(503, "UNAVAILABLE", "registry unavailable")
        token = authenticate(state, request.headers.get("authorization"))
        if found is None:
            raise RegistryError(404, "NOT_FOUND", "not found")
        if request.method not in METHODS:
            raise RegistryError(405, "UNSUPPORTED", "The operation is unsupported.")
        return _answer(state, request, token, found)
    except RegistryError as error:
        response = error_response(error)
        if error.status == 401:
            scope = f',scope="repository:{found.repository}:pull"' if found is not None and found.repository else ""
            response.headers["WWW-Authenticate"] = f'Bearer realm="{base}/token",service="{SERVICE}"{scope}'
        return response


def authenticate(state: SandboxState, authorization: str | None) -> Token:
    """The token behind `Bearer <token>` or, as ghcr.io also takes a PAT, `Bearer <base64 of the token>`."""
    scheme, _, credential = (authorization or "").strip().partition(" ")
    credential = credential.strip()
    token = None
    if scheme.lower() == "bearer" and credential:
        token = state.lookup_token(credential)
        decoded = _base64_text(credential)
        if token is None and decoded is not None:
            token = state.lookup_token(decoded)
    if token is None:
        raise RegistryError(401, "UNAUTHORIZED", "authentication required")
    refusal = token.rules.refused.get("registry")
    if refusal is not None or not token.has_scope(READ_SCOPE):
        raise RegistryError(403, "DENIED", refusal or "denied")
    return token


def error_response(error: RegistryError) -> Response:
    body = {"errors": [{"code": error.code, "message": error.message}]}
    return Response(json.dumps(body), error.status, API_VERSION, media_type="application/json")


def _answer(state: SandboxState, request: Request, token: Token, found: Route) -> Response:
    if found.endpoint == "base":
        return Response(b"{}", 200, API_VERSION, media_type="application/json")
    if found.endpoint == "manifests":
        manifest = state.manifest(token, found.repository, found.reference)
        headers = API_VERSION | {"Docker-Content-Digest": manifest.digest}
        return Response(manifest.body, 200, headers, media_type=manifest.media_type)  # a HEAD loses only the body
    return _referrers(state, request, token, found)


def _referrers(state: SandboxState, request: Request, token: Token, found: Route) -> Response:
    """The referrers API as the `referrers` switch says ghcr.io answers it: docs/github-behaviour.md#referrers-api.

    Whatever the switch, the repository must exist and be visible to the token (404 NAME_UNKNOWN, 403 DENIED).
    """
    package = state.image(token, found.repository)
    mode = state.switches.referrers
    if mode == "none":  # ghcr.io has no referrers API: it answers as for an unknown manifest
        raise RegistryError(404, "MANIFEST_UNKNOWN", "manifest unknown")
    if mode == "redirect":  # also seen: a redirect to the package's page on github.com, with an HTML body
        location = package_html_url(package)
        body = f'<html><body>You are being <a href="{location}">redirected</a>.</body></html>'
        return Response(body, 303, {"Location": location}, media_type="text/html; charset=utf-8")
    if not DIGEST.fullmatch(found.reference):
        raise RegistryError(400, "DIGEST_INVALID", "invalid digest")
    descriptors = state.referrers(token, found.repository, found.reference)
    headers = dict(API_VERSION)
    wanted = request.query_params.get("artifactType")
    if wanted:
        descriptors = [d for d in descriptors if d["artifactType"] == wanted]
        headers["OCI-Filters-Applied"] = "artifactType"
    return Response(json.dumps(oci.image_index(descriptors)), 200, headers, media_type=oci.IMAGE_INDEX)


def _base64_text(value: str) -> str | None:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return None
