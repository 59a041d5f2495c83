"""Container images and their parts: only images are decided by the rules; every part follows what it belongs to.

A container package holds images (single-platform images and image indexes) and their parts:

- the platform images and attestation manifests an image index lists (docs/github-behaviour.md#multi-arch-images);
- the artifacts about an image (signatures, SBOMs, attestations), which name it as their manifest's `subject` or
  use cosign's tag scheme `sha256-<hex>`, `.sig`, `.att` or `.sbom`
  (docs/github-behaviour.md#signatures-and-attestations).

A part is not an image: it never counts toward keep_latest nor toward tag selection. It is kept while any image it
belongs to is kept ("protected") and deleted with them ("deleted_with"), so deleting an index deletes its platform
images and deleting an image deletes its signatures, and no kept image loses a part. Exclude patterns still keep a
part. A part whose image is not in the package is decided by the rules like an image.

The manifests say who belongs to whom. `plan_images` reads every manifest of the package once (ghcr.io has no
referrers API, so the manifests are the only source: docs/github-behaviour.md#referrers-api), from the registry
only when the manifest cache does not keep it (github/manifests.py: ghcr.io counts each read as a download).
When any manifest cannot be read, what depends on it is unknown, so no untagged version of the package is
deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Literal

from github_packages_mcp.github.errors import GitHubError
from github_packages_mcp.github.registry import Manifest, ManifestMismatch, Registry
from github_packages_mcp.github.tasks import gather
from github_packages_mcp.retention.rules import (
    Decision,
    Rules,
    VersionFacts,
    decide,
    exclusion,
    last_to_keep,
    short_digest,
)

__all__ = ["Part", "decide_images", "parts_by_tag", "parts_from_manifests", "plan_images"]

# Cosign and the OCI referrers tag schema tag artifacts about `sha256:<hex>` as `sha256-<hex>[.sig|.att|.sbom]`.
_COSIGN_TAG = re.compile(r"(sha256|sha512)-([0-9a-f]+)(?:\.(sig|att|sbom))?")
_COSIGN_KIND = {"sig": "signature", "att": "attestation", "sbom": "SBOM", None: "referrer"}


@dataclass(frozen=True)
class Part:
    """A version that belongs to others: what it is (`kind`), of which digests, and how that was found."""

    kind: str  # "platform image", "attestation", "signature", "SBOM" or "referrer"
    of: Literal["index", "image"]
    parents: tuple[str, ...]
    found_by: str = ""  # for people: ", by its tag 'sha256-….sig'"


def parts_by_tag(versions: Sequence[VersionFacts]) -> dict[str, Part]:
    """The artifacts cosign's tag scheme names, by digest, when the image they are about is in the package."""
    present = {version.name for version in versions}
    parts: dict[str, Part] = {}
    for version in versions:
        for tag in version.tags or ():
            match = _COSIGN_TAG.fullmatch(tag)
            if match and (subject := f"{match[1]}:{match[2]}") in present and subject != version.name:
                parts[version.name] = Part(_COSIGN_KIND[match[3]], "image", (subject,), f", by its tag {tag!r}")
                break
    return parts


def parts_from_manifests(manifests: Iterable[Manifest], present: set[str]) -> dict[str, Part]:
    """The children of image indexes and the artifacts naming a `subject`, by digest, among `present` digests."""
    parents: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    subjects: dict[str, Manifest] = {}
    for manifest in manifests:
        for child in manifest.children:
            if child in present and child != manifest.digest:
                parents.setdefault(child, []).append(manifest.digest)
                kinds.setdefault(child, "attestation" if child in manifest.attestations else "platform image")
        if manifest.subject in present and manifest.subject != manifest.digest:
            subjects[manifest.digest] = manifest
    parts = {child: Part(kinds[child], "index", tuple(of)) for child, of in parents.items()}
    for digest, artifact in subjects.items():
        if digest not in parts:  # an index that lists it says more than its subject does
            parts[digest] = Part(_artifact_kind(artifact.artifact_type), "image", (str(artifact.subject),))
    return parts


def _artifact_kind(artifact_type: str | None) -> str:
    text = (artifact_type or "").lower()
    for words, kind in ((("sigstore", "signature"), "signature"), (("sbom", "spdx", "cyclonedx"), "SBOM")):
        if any(word in text for word in words):
            return kind
    return "attestation" if "in-toto" in text or "attestation" in text else "referrer"


def decide_images(
    versions: Sequence[VersionFacts], rules: Rules, now: datetime, parts: Mapping[str, Part]
) -> list[Decision]:
    """Decide the images with the rules, then let every part follow them; one decision per version, in input order.
    The last tagged version of the package is never deleted (GitHub refuses it).

    Raises:
        RulesError: If the rules cannot apply to these versions.
    """
    images = [version for version in versions if version.name not in parts]
    decided = {d.version.name: d for d in decide(images, rules, now)}
    result = _follow(versions, decided, parts, rules)
    if last_to_keep(result, tagged_only=True) is None:
        return result
    # Every tagged version would go: keep the newest tagged image (and so its parts), else the newest tagged part.
    image = last_to_keep([d for d in result if d.version.name in decided], tagged_only=True)
    if image is None:
        part = last_to_keep(result, tagged_only=True)
        return [part if part is not None and d.version.id == part.version.id else d for d in result]
    return _follow(versions, {**decided, image.version.name: image}, parts, rules)


def _follow(
    versions: Sequence[VersionFacts], decided: Mapping[str, Decision], parts: Mapping[str, Part], rules: Rules
) -> list[Decision]:
    """Every part kept while any of its parents is kept, deleted when all of them are; exclusions still keep."""
    patterns = rules.patterns()
    by_name = {version.name: version for version in versions}
    known = dict(decided)
    for name in parts.keys() & by_name.keys():
        if (excluded := exclusion(by_name[name], patterns)) is not None:
            known[name] = excluded
    pending = [name for name in parts if name in by_name and name not in known]
    while pending:  # parts of parts (nested indexes, signatures of attestations) settle in later rounds
        settled = [name for name in pending if _settle(by_name[name], parts[name], known)]
        if not settled:
            break
        pending = [name for name in pending if name not in settled]
    for name in pending:  # a cycle, which content addressing rules out; keep rather than guess
        known[name] = Decision(by_name[name], "keep", "kept: what it belongs to could not be decided", "protected")
    return [known[version.name] for version in versions]


def _settle(version: VersionFacts, part: Part, known: dict[str, Decision]) -> bool:
    """Decide one part if its parents are decided enough; whether it was."""
    parents = [known.get(parent) for parent in part.parents]
    parent = next((p for p in parents if p is not None and p.action == "keep"), None)
    if parent is None and any(p is None for p in parents):
        return False
    if parent is not None:
        text = f"kept: {part.kind} of kept {part.of} {_described(parent)}{part.found_by}"
        known[version.name] = Decision(version, "keep", text, "protected")
    else:
        deleted = parents[0]
        assert deleted is not None
        text = f"delete: {part.kind} of deleted {part.of} {_described(deleted)}{part.found_by}"
        known[version.name] = Decision(version, "delete", text, "deleted_with")
    return True


def _described(decision: Decision) -> str:
    """A version for people: short digest and its tags."""
    tags = decision.version.tags
    if tags is None:
        return short_digest(decision.version.name)
    return f"{short_digest(decision.version.name)} ({', '.join(tags) if tags else 'untagged'})"


async def plan_images(
    registry: Registry, versions: Sequence[VersionFacts], rules: Rules, now: datetime
) -> tuple[list[Decision], str]:
    """Read every manifest of the package, then decide the images and let their parts follow; with a note on how
    the manifests were read.

    Raises:
        RulesError: If the rules cannot apply to these versions.
    """
    by_tag = parts_by_tag(versions)
    digests = [v.name for v in versions if v.name.startswith(("sha256:", "sha512:")) and v.name not in by_tag]
    read = await gather([partial(_read, registry, digest) for digest in digests])
    manifests = [found for found in read if isinstance(found, Manifest)]
    unreadable = {digest: why for digest, why in zip(digests, read, strict=True) if isinstance(why, str)}
    if not unreadable:
        parts = by_tag | parts_from_manifests(manifests, {version.name for version in versions})
        return decide_images(versions, rules, now, parts), f"read {len(manifests)} manifest(s)"
    reason = f"the registry's manifests could not be read ({next(iter(unreadable.values()))})"
    decisions = [
        Decision(d.version, "keep", _unreadable_rule(d.version, unreadable, reason), "protected")
        if d.action == "delete" and not d.version.tags
        else d
        for d in decide_images(versions, rules, now, by_tag)
    ]
    return decisions, f"unavailable: {reason}; no untagged version is deleted"


def _unreadable_rule(version: VersionFacts, unreadable: Mapping[str, str], reason: str) -> str:
    if version.name in unreadable:
        return f"kept: its manifest could not be read ({unreadable[version.name]})"
    return f"kept: untagged, and {reason}"


async def _read(registry: Registry, digest: str) -> Manifest | str:
    """The manifest, or why it could not be read."""
    try:
        return await registry.manifest(digest)
    except GitHubError as exc:
        return exc.message
    except ManifestMismatch:
        return "the registry answered it with a manifest of another digest"
    except ValueError:
        return "the registry answered something that is not a manifest"
