"""The container registry (ghcr.io), read-only: what one image's manifest and referrers say it is linked to.

Cleanups need this to keep what a kept image needs: the platform images and attestation manifests an image
index lists, and the artifacts (signatures, SBOMs, attestations) whose subject is an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.errors import NotFound

__all__ = ["MANIFEST_TYPES", "ImageLinks", "read_image_links"]

# Accept headers for reading any manifest ghcr.io serves: OCI and Docker, single images and indexes.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_OCI_INDEX = MANIFEST_TYPES.split(",")[0]
# BuildKit marks the attestation manifests it lists in an index with this annotation value.
_ATTESTATION = "attestation-manifest"


@dataclass(frozen=True)
class ImageLinks:
    """What the registry says about one image."""

    digest: str
    children: tuple[str, ...] = ()  # digests listed by an image index (platform images, attestation manifests)
    referrers: tuple[str, ...] = ()  # digests of artifacts whose subject is this image (signatures, SBOMs, ...)
    attestations: tuple[str, ...] = ()  # the children known to be attestation manifests (from index annotations)


async def read_image_links(github: GitHubClient, registry_url: str, repository: str, digest: str) -> ImageLinks:
    """Read the manifest of `repository@digest` and its referrers.

    Raises:
        GitHubError: If the manifest cannot be read.
    """
    name = "/".join(quote(part, safe="") for part in repository.split("/"))  # registry names keep their "/"
    manifest = (await github.registry_get(f"{registry_url}/v2/{name}/manifests/{digest}", MANIFEST_TYPES)).json()
    entries = manifest.get("manifests") or []
    children = tuple(entry["digest"] for entry in entries)
    attestations = tuple(
        entry["digest"]
        for entry in entries
        if (entry.get("annotations") or {}).get("vnd.docker.reference.type") == _ATTESTATION
    )
    try:
        referrers_index = (await github.registry_get(f"{registry_url}/v2/{name}/referrers/{digest}", _OCI_INDEX)).json()
        referrers = tuple(entry["digest"] for entry in referrers_index.get("manifests") or [])
    except NotFound:  # a registry without the referrers API: signatures are then found by their tags
        referrers = ()
    return ImageLinks(digest=digest, children=children, referrers=referrers, attestations=attestations)
