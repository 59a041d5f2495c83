"""Who belongs to whom in a container package: images, their parts, orphans and broken images. Pure logic.

A container package holds images (single-platform images and image indexes) and their parts:

- the platform images and attestation manifests an image index lists (docs/github-behaviour.md#multi-arch-images);
- the artifacts about an image (signatures, SBOMs, attestations, Sigstore bundles), which name it as their
  manifest's `subject` or carry cosign's tag `sha256-<hex>.sig`, `.att` or `.sbom`
  (docs/github-behaviour.md#signatures-and-attestations);
- referrers indexes: clients without a referrers API (ghcr.io has none) tag an index of an image's artifacts
  `sha256-<hex>` and push a new one for every new artifact, leaving the one it replaces untagged
  (docs/github-behaviour.md#referrers-tag-schema). An index lists its artifacts but does not own them: each follows
  its own subject, whatever lists it. An untagged referrers index is superseded: no client finds it any more.

A part follows its parents (the digests it belongs to). A part whose parents are all gone from the package (an
image deleted by another tool or the web UI) is an orphan: its `parents` are empty and `about` names what it was
about. An image index some of whose entries are gone is broken: a ghost when all are gone, partial otherwise
(docs/github-behaviour.md#broken-images).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from github_packages_mcp.github.registry import Manifest
from github_packages_mcp.retention.rules import VersionFacts

__all__ = ["Broken", "Part", "broken_images", "find_parts", "parts_by_tag"]

# Cosign and the OCI referrers tag schema tag what is about `sha256:<hex>` as `sha256-<hex>[.sig|.att|.sbom]`.
_COSIGN_TAG = re.compile(r"(sha256|sha512)-([0-9a-f]+)(?:\.(sig|att|sbom))?")
_COSIGN_KIND = {"sig": "signature", "att": "attestation", "sbom": "SBOM", None: "referrers index"}
REFERRERS_INDEX = "referrers index"


@dataclass(frozen=True)
class Part:
    """A version that belongs to others: what it is (`kind`), of which digests, and how that was found."""

    kind: str  # "platform image", "attestation", "signature", "Sigstore bundle", "SBOM", "referrer", "referrers index"
    of: Literal["index", "image"]
    parents: tuple[str, ...]  # present digests it follows; () for an orphan
    found_by: str = ""  # for people: ", by its tag 'sha256-….sig'"
    about: str | None = None  # the digest it names as its subject, present or gone
    superseded: bool = False  # an untagged referrers index: a newer one replaced it

    @property
    def orphaned(self) -> bool:
        return not self.parents


@dataclass(frozen=True)
class Broken:
    """An image index whose entries are not all in the package: a ghost when none is, partial otherwise."""

    missing: tuple[str, ...]
    ghost: bool


@dataclass
class _Role:
    kind: str
    of: Literal["index", "image"]
    parents: set[str] = field(default_factory=set)
    found_by: str = ""
    about: str | None = None
    superseded: bool = False


def parts_by_tag(versions: Sequence[VersionFacts]) -> dict[str, Part]:
    """The parts cosign's tag scheme names, by digest; known without reading a manifest."""
    present = {version.name for version in versions}
    roles: dict[str, _Role] = {}
    _by_tag(versions, roles)
    return _parts(roles, present)


def find_parts(versions: Sequence[VersionFacts], manifests: Iterable[Manifest]) -> dict[str, Part]:
    """Every part of the package, by digest: by tag, by subject, by the image indexes listing them, and the
    referrers indexes; orphans among them."""
    present = {version.name for version in versions}
    by_digest = {manifest.digest: manifest for manifest in manifests}
    roles: dict[str, _Role] = {}
    for digest, manifest in by_digest.items():  # artifacts first: a subject says most about what a version is
        if manifest.subject is not None and manifest.subject != digest:
            role = roles.setdefault(digest, _Role(_artifact_kind(manifest.artifact_type), "image"))
            role.parents.add(manifest.subject)
            role.about, role.found_by = manifest.subject, ", by its subject"
    _by_tag(versions, roles)
    tagged = {version.name for version in versions if version.tags}
    for digest, manifest in by_digest.items():
        if manifest.referrers_index or roles.get(digest, _Role("", "image")).kind == REFERRERS_INDEX:
            _referrers_index(digest, manifest, by_digest, roles, tagged=digest in tagged)
            continue
        for child in manifest.children:  # an image index's platform images and attestation manifests
            if child in present and child != digest:
                kind = "attestation" if child in manifest.attestations else "platform image"
                roles.setdefault(child, _Role(kind, "index")).parents.add(digest)
    return _parts(roles, present)


def _by_tag(versions: Sequence[VersionFacts], roles: dict[str, _Role]) -> None:
    for version in versions:
        for tag in version.tags or ():
            match = _COSIGN_TAG.fullmatch(tag)
            if match and (about := f"{match[1]}:{match[2]}") != version.name:
                role = roles.setdefault(version.name, _Role(_COSIGN_KIND[match[3]], "image"))
                role.parents.add(about)
                role.about, role.found_by = about, f", by its tag {tag!r}"
                break


def _referrers_index(
    digest: str, manifest: Manifest, manifests: Mapping[str, Manifest], roles: dict[str, _Role], *, tagged: bool
) -> None:
    """A referrers index belongs to the subject of what it lists (or its tag names); untagged, it is superseded."""
    role = roles.setdefault(digest, _Role(REFERRERS_INDEX, "image"))
    role.kind = REFERRERS_INDEX
    subjects = {listed.subject for child in manifest.children if (listed := manifests.get(child)) and listed.subject}
    if role.about is None and len(subjects) == 1:
        role.about = subjects.pop()
        role.parents.add(role.about)
        role.found_by = ", by what it lists"
    role.superseded = not tagged


def _parts(roles: Mapping[str, _Role], present: set[str]) -> dict[str, Part]:
    return {
        name: Part(
            role.kind,
            role.of,
            tuple(sorted(parent for parent in role.parents if parent in present and parent != name)),
            role.found_by,
            role.about,
            role.superseded,
        )
        for name, role in roles.items()
        if name in present
    }


def _artifact_kind(artifact_type: str | None) -> str:
    text = (artifact_type or "").lower()
    kinds = (("sigstore",), "Sigstore bundle"), (("signature",), "signature"), (("sbom", "spdx", "cyclonedx"), "SBOM")
    for words, kind in kinds:
        if any(word in text for word in words):
            return kind
    return "attestation" if "in-toto" in text or "attestation" in text else "referrer"


def broken_images(
    versions: Sequence[VersionFacts], manifests: Iterable[Manifest], parts: Mapping[str, Part]
) -> dict[str, Broken]:
    """The image indexes (not parts, not referrers indexes) that list entries the package no longer has."""
    present = {version.name for version in versions}
    broken: dict[str, Broken] = {}
    for manifest in manifests:
        if manifest.digest in parts or manifest.referrers_index or not manifest.children:
            continue
        missing = tuple(child for child in manifest.children if child not in present)
        if missing:
            broken[manifest.digest] = Broken(missing, ghost=len(missing) == len(manifest.children))
    return broken
