"""The demo world's container images: versions named by their manifests' digests, as pushes leave them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from github_packages_mcp.sandbox import oci
from github_packages_mcp.sandbox.model import Version, image_version

__all__ = ["gateway", "images", "multi_arch", "web_api_tags"]


def images(
    now: datetime,
    first_id: int,
    seed: str,
    tags: Sequence[tuple[str, ...]],
    *,
    hours_apart: float,
    id_step: int = 1_117,
    downloads: int = 0,
) -> list[Version]:
    """Single-platform container/docker images named by their manifests' digests; `tags` is given newest first."""
    versions = []
    for age, version_tags in enumerate(tags):
        index = len(tags) - 1 - age  # ids grow with time
        created = now - timedelta(hours=1 + hours_apart * age)
        manifest = oci.image(f"{seed}:{index}")
        versions.append(
            image_version(first_id + index * id_step, manifest, created, version_tags, download_count=downloads)
        )
    return versions


def multi_arch(now: datetime) -> list[Version]:
    """multi/app as `docker buildx` and cosign leave it: indexes, their untagged children, signatures, orphans.

    Its 15 versions (ids; names are the manifests' digests, the same at any clock):
      3388000101, 3388000102  v1.0.0's linux/amd64 and linux/arm64 images (untagged, 90 days old)
      3388000103              v1.0.0's image index, untagged: its tag moved on
      3390112401, 3391540077  orphans: untagged images no index lists (80 and 75 days old)
      3412870311, 3412870312  v2.0.0's platform images (untagged)
      3412870313              v2.0.0's image index, tagged "v2.0.0"
      3420551201, 3420551202  v2.1.0's platform images (untagged)
      3420551203, 3420551204  their BuildKit provenance attestations (untagged, listed by the index)
      3420551205              v2.1.0's image index, tagged "v2.1.0" and "latest"
      3420553917              a cosign signature of 3420551205, found by its tag "sha256-<hex of 3420551205>.sig"
      3420553918              a Sigstore bundle (artifactType application/vnd.dev.sigstore.bundle.v0.3+json) whose
                              manifest's `subject` names 3420551205; untagged, and no tag names its digest, so only
                              its subject (or a registry's referrers API, which ghcr.io lacks by default) links it to
                              the image it signs: docs/github-behaviour.md#signatures-and-attestations
    """
    seconds, days = timedelta(seconds=1), timedelta(days=1)
    versions: list[Version] = []

    def push(version_id: int, manifest: oci.Manifest, created: datetime, tags: tuple[str, ...] = ()) -> None:
        versions.append(image_version(version_id, manifest, created, tags))

    def build(first_id: int, release: str, pushed: datetime, tags: tuple[str, ...], attest: bool) -> oci.Manifest:
        """Push the platform images (and their attestations) a few seconds before the index naming them."""
        platforms = [(oci.image(f"multi/app:{release}:{p}"), p) for p in ("linux/amd64", "linux/arm64")]
        attestations = [(oci.attestation(f"multi/app:{release}:{p}"), m) for m, p in platforms] if attest else []
        children = [m for m, _ in platforms] + [a for a, _ in attestations]
        for n, child in enumerate(children):
            push(first_id + n, child, pushed - (len(children) - n) * seconds)
        index = oci.index(platforms, attestations)
        push(first_id + len(children), index, pushed, tags)
        return index

    build(3_388_000_101, "v1.0.0", now - 90 * days, (), attest=False)  # its tag moved on to newer releases
    push(3_390_112_401, oci.image("multi/app:orphan:1"), now - 80 * days)
    push(3_391_540_077, oci.image("multi/app:orphan:2"), now - 75 * days)
    build(3_412_870_311, "v2.0.0", now - 10 * days, ("v2.0.0",), attest=False)
    released = now - timedelta(hours=2)
    current = build(3_420_551_201, "v2.1.0", released, ("v2.1.0", "latest"), attest=True)
    # Signed right after the push: a cosign signature under its tag, and a Sigstore bundle referring to the index.
    push(3_420_553_917, oci.cosign_signature(current), released + 40 * seconds, (oci.signature_tag(current.digest),))
    push(3_420_553_918, oci.sigstore_bundle(current), released + 41 * seconds)
    return versions


def web_api_tags() -> list[tuple[str, ...]]:
    """350 tag lists, newest first: 40 recent tagged builds, then mostly untagged history."""
    releases = ["v3.4.1", "v3.4.0"] + [
        f"v3.{minor}.{patch}" for minor in range(3, -1, -1) for patch in range(3, -1, -1)
    ]
    tags: list[tuple[str, ...]] = []
    for age in range(350):
        if age < 40:
            latest = ("latest",) if age == 0 else ()
            release = (releases[age // 2],) if age % 2 == 0 and age // 2 < len(releases) else ()
            commit = hashlib.sha256(f"acme-labs/web:{age}".encode()).hexdigest()[:7]
            tags.append((*latest, *release, f"sha-{commit}"))
        else:
            tags.append((f"v2.{(350 - age) // 50}.0",) if age % 50 == 0 else ())
    return tags


def gateway(now: datetime) -> list[Version]:
    """acme-labs/gateway after a year on ghcr.io: what months of pushes, signing and other tools' cleanups leave.

    Its 21 versions (19 active), oldest first (ids grow with time; every name is its manifest's digest):
      3430000101-3430000104  v3: linux/amd64 and linux/arm64 images (untagged), the index tagged "v3", and its
                             cosign signature (tag "sha256-<hex of the index>.sig"), 120 days old
      3430000151-3430000153  v2, 100 days old: a partial image, since another tool deleted its linux/arm64 image
                             (3430000152) 10 days ago; its index, tagged "v2", still lists it
      3430000201             an image the web UI deleted 50 days ago (past the 30-day restore window)
      3430000202-3430000205  what it left behind: its cosign signature (".sig") and attestation (".att"), a
                             Sigstore bundle naming it as `subject` (untagged), and the referrers index listing
                             that bundle under its "sha256-<hex>" tag: orphans
      3430000301             a CI build tagged only "sha-aaaaaaa", 45 days old
      3430000401-3430000404  v4, pushed 20 days ago the way many pipelines do: each platform image with its own
                             tag ("v4-amd64", "v4-arm64"), then the index joining them, tagged "latest", "v4" and
                             "sha-bbbbbbb", then its cosign signature
      3430000501-3430000502  19 days ago, a provenance bundle about v4's index, and the referrers index a client
                             without a referrers API pushed under "sha256-<hex of the index>" to list it; that index
                             is untagged now: superseded by 3430000602
      3430000601-3430000602  2 days ago, an SBOM bundle about v4's index, and the new referrers index listing both
                             bundles, which took over the "sha256-<hex>" tag
    docs/github-behaviour.md#referrers-tag-schema, #orphaned-parts, #broken-images
    """
    day, second = timedelta(days=1), timedelta(seconds=1)
    versions: list[Version] = []

    def push(version_id: int, manifest: oci.Manifest, days_ago: float, *tags: str) -> oci.Manifest:
        versions.append(image_version(version_id, manifest, now - days_ago * day + version_id % 100 * second, tags))
        return manifest

    def release(first_id: int, name: str, days_ago: float, tags: tuple[str, ...], own_tags: bool) -> oci.Manifest:
        platforms = [(oci.image(f"gateway:{name}:{p}"), p) for p in ("linux/amd64", "linux/arm64")]
        for n, (manifest, platform) in enumerate(platforms):
            push(first_id + n, manifest, days_ago, *((f"{name}-{platform.split('/')[1]}",) if own_tags else ()))
        index = push(first_id + 2, oci.index(platforms), days_ago, *tags)
        push(first_id + 3, oci.cosign_signature(index), days_ago, oci.signature_tag(index.digest))
        return index

    release(3_430_000_101, "v3", 120, ("v3",), own_tags=False)
    v2 = [(oci.image(f"gateway:v2:{p}"), p) for p in ("linux/amd64", "linux/arm64")]
    push(3_430_000_151, v2[0][0], 100)
    push(3_430_000_152, v2[1][0], 100)
    versions[-1].deleted_at = now - 10 * day  # by another tool: v2 no longer runs on arm64
    push(3_430_000_153, oci.index(v2), 100, "v2")
    gone = push(3_430_000_201, oci.image("gateway:gone"), 90)
    versions[-1].deleted_at = now - 50 * day
    push(3_430_000_202, oci.cosign_signature(gone), 90, oci.signature_tag(gone.digest))
    push(3_430_000_203, oci.attestation("gateway:gone"), 90, oci.referrers_tag(gone.digest) + ".att")
    left = push(3_430_000_204, oci.sigstore_bundle(gone), 90)
    push(3_430_000_205, oci.referrers_tag_index(gone, [left]), 90, oci.referrers_tag(gone.digest))
    push(3_430_000_301, oci.image("gateway:sha-aaaaaaa"), 45, "sha-aaaaaaa")
    current = release(3_430_000_401, "v4", 20, ("latest", "v4", "sha-bbbbbbb"), own_tags=True)
    provenance = push(3_430_000_501, oci.sigstore_bundle(current), 19)
    push(3_430_000_502, oci.referrers_tag_index(current, [provenance]), 19)  # its tag moved to 3430000602
    sbom = push(3_430_000_601, oci.sigstore_bundle(current, oci.SPDX), 2)
    push(3_430_000_602, oci.referrers_tag_index(current, [provenance, sbom]), 2, oci.referrers_tag(current.digest))
    return versions
