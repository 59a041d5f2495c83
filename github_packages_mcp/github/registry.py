"""The container registry (ghcr.io), read-only: what a version's manifest says it is linked to.

Cleanups need this to keep what a kept image needs: the platform images and attestation manifests an image
index lists, and the artifacts (signatures, SBOMs, attestations) whose manifest names an image as its `subject`.
The OCI referrers API would list those artifacts too, but ghcr.io has none (it answers 404, or a 303 to an HTML
page: docs/github-behaviour.md#referrers-api), so every artifact is found through its own manifest instead.
Manifests are immutable, so each digest is read at most once per `Registry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github_packages_mcp.github.client import GitHubClient

__all__ = ["MANIFEST_TYPES", "Manifest", "Registry", "parse_manifest"]

# Accept headers for reading any manifest ghcr.io serves: OCI and Docker, single images and indexes.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
# BuildKit marks the attestation manifests it lists in an index with this annotation value.
_ATTESTATION = "attestation-manifest"


@dataclass(frozen=True)
class Manifest:
    """What one manifest links to."""

    digest: str
    children: tuple[str, ...] = ()  # what an image index lists: platform images, attestation manifests
    attestations: tuple[str, ...] = ()  # the children annotated as attestation manifests
    subject: str | None = None  # for an artifact (signature, SBOM, attestation): the digest it is about
    artifact_type: str | None = None  # the artifact's type, or its config's media type
    # An index of artifacts (every entry has an artifactType), as the OCI referrers tag schema pushes them,
    # rather than an image index of platform images.
    referrers_index: bool = False


class Registry:
    """One repository on the container registry, read with the client's token, pacing and retries."""

    def __init__(self, github: GitHubClient, registry_url: str, repository: str) -> None:
        self._github = github
        # Registry names keep their "/" (`acme-labs/web/api`); each part is encoded on its own.
        self._base = f"{registry_url}/v2/{'/'.join(quote(part, safe='') for part in repository.split('/'))}"
        self._manifests: dict[str, Manifest] = {}

    async def manifest(self, digest: str) -> Manifest:
        """The manifest of `digest`.

        Raises:
            GitHubError: If the registry does not serve it.
            ValueError: If what it serves is not a JSON manifest.
        """
        if (known := self._manifests.get(digest)) is not None:
            return known
        response = await self._github.registry_get(f"{self._base}/manifests/{quote(digest, safe=':')}", MANIFEST_TYPES)
        manifest = parse_manifest(digest, response.json())
        self._manifests[digest] = manifest
        return manifest


def parse_manifest(digest: str, document: Any) -> Manifest:
    """A manifest's links, from its JSON document.

    Raises:
        ValueError: If the document is not a manifest.
    """
    if not isinstance(document, dict):
        raise ValueError("not a manifest")
    entries = [entry for entry in document.get("manifests") or [] if isinstance(entry, dict) and "digest" in entry]
    subject = document.get("subject")
    return Manifest(
        digest=digest,
        children=tuple(entry["digest"] for entry in entries),
        attestations=tuple(
            entry["digest"]
            for entry in entries
            if (entry.get("annotations") or {}).get("vnd.docker.reference.type") == _ATTESTATION
        ),
        subject=subject.get("digest") if isinstance(subject, dict) else None,
        artifact_type=document.get("artifactType") or (document.get("config") or {}).get("mediaType"),
        referrers_index=bool(entries) and all(entry.get("artifactType") for entry in entries),
    )
