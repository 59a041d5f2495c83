"""The container registry (ghcr.io), read-only: what a version's manifest says it is linked to.

Cleanups need this to keep what a kept image needs: the platform images and attestation manifests an image
index lists, and the artifacts (signatures, SBOMs, attestations) whose manifest names an image as its `subject`.
The OCI referrers API would list those artifacts too, but ghcr.io has none (it answers 404, or a 303 to an HTML
page: docs/github-behaviour.md#referrers-api), so every artifact is found through its own manifest instead.
Manifests are immutable: each digest is read at most once per `Registry`, and once at all while the app's
`ManifestCache` (manifests.py) keeps it. What the registry serves for a digest must hash to it, or it is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github_packages_mcp.github.catalogue import encode_segment
from github_packages_mcp.github.client import GitHubClient
from github_packages_mcp.github.manifests import ManifestCache, digest_matches

__all__ = ["MANIFEST_TYPES", "Manifest", "ManifestMismatch", "Registry", "parse_manifest"]

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


class ManifestMismatch(ValueError):
    """The registry answered a digest with a body that does not hash to it: not that manifest."""


class Registry:
    """One repository on the container registry, read with the client's token, pacing and retries, through the
    app's manifest cache."""

    def __init__(self, github: GitHubClient, registry_url: str, repository: str, cache: ManifestCache) -> None:
        self._github = github
        self._cache = cache
        # Registry names keep their "/" (`acme-labs/web/api`); each part is encoded on its own, `..` too.
        self._base = f"{registry_url}/v2/{'/'.join(map(encode_segment, repository.split('/')))}"
        self._manifests: dict[str, Manifest] = {}

    async def manifest(self, digest: str) -> Manifest:
        """The manifest of `digest`: from the cache when it keeps it, else read from the registry (and kept).

        Raises:
            GitHubError: If the registry does not serve it.
            ManifestMismatch: If what it serves does not hash to `digest`.
            ValueError: If what it serves is not a JSON manifest.
        """
        if (known := self._manifests.get(digest)) is not None:
            return known
        url = f"{self._base}/manifests/{quote(digest, safe=':')}"
        body = await self._cache.get(url, digest)
        if body is not None:
            manifest = parse_manifest(digest, json.loads(body))
        else:
            body = (await self._github.registry_get(url, MANIFEST_TYPES)).content
            if not digest_matches(digest, body):
                raise ManifestMismatch(f"the registry answered {digest} with another manifest")
            manifest = parse_manifest(digest, json.loads(body))  # only a manifest is kept
            await self._cache.put(url, digest, body)
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
