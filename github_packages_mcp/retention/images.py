"""What kept container images need: `protect` decides (pure logic), `protect_images` reads the registry for it.

`protect` keeps what kept container images need, given the registry's links of the kept images:
the children of a kept image index (platform images, attestation manifests), the referrers of a kept image
(signatures, SBOMs, attestations), and versions tagged by the cosign convention `sha256-<hex>`, `sha256-<hex>.sig`,
`.att` or `.sbom` for a kept `sha256:<hex>`. It repeats until nothing changes, and reports the digests it newly
kept whose links the caller has not fetched yet, so the caller can fetch them and call it again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial

from github_packages_mcp.github.client import GitHubClient, gather
from github_packages_mcp.github.errors import GitHubError
from github_packages_mcp.github.registry import ImageLinks, read_image_links
from github_packages_mcp.retention.rules import Decision, VersionFacts, short_digest

__all__ = ["protect", "protect_images"]

# Cosign and the OCI referrers tag schema tag artifacts about `sha256:<hex>` as `sha256-<hex>[.sig|.att|.sbom]`.
_COSIGN_TAG = re.compile(r"(sha256|sha512)-([0-9a-f]+)(?:\.(sig|att|sbom))?")
_COSIGN_KIND = {"sig": "signature", "att": "attestation", "sbom": "SBOM", None: "referrer"}


def _described(decision: Decision) -> str:
    """A kept version for people: short digest and its tags."""
    tags = decision.version.tags
    if tags is None:
        return short_digest(decision.version.name)
    return f"{short_digest(decision.version.name)} ({', '.join(tags) if tags else 'untagged'})"


def _needed(decisions: Sequence[Decision], links: Mapping[str, ImageLinks]) -> dict[str, str]:
    """The digests that kept images with known links need, each with the rule text; first kept parent wins."""
    needed: dict[str, str] = {}
    for decision in decisions:
        image = links.get(decision.version.name)
        if decision.action != "keep" or image is None:
            continue
        parent = _described(decision)
        for child in image.children:
            kind = "attestation" if child in image.attestations else "platform image"
            needed.setdefault(child, f"kept: {kind} of kept index {parent}")
        for attestation in image.attestations:
            needed.setdefault(attestation, f"kept: attestation of kept index {parent}")
        for referrer in image.referrers:
            needed.setdefault(referrer, f"kept: referrer of kept image {parent}")
    return needed


def _cosign_reason(version: VersionFacts, kept: Mapping[str, Decision]) -> str | None:
    for tag in version.tags or ():
        match = _COSIGN_TAG.fullmatch(tag)
        subject = kept.get(f"{match[1]}:{match[2]}") if match else None
        if match and subject:
            kind = _COSIGN_KIND[match[3]]
            return f"kept: {kind} of kept image {_described(subject)}, by its tag {tag!r}"
    return None


def protect(decisions: Sequence[Decision], links: Mapping[str, ImageLinks]) -> tuple[list[Decision], set[str]]:
    """Keep every version a kept image needs; return the new decisions (same order) and the newly kept digests
    that have no entry in `links` yet (fetch their links and call again until that set is empty).

    Only deletes turn into keeps ("protected"); a keep is never changed. Idempotent.
    """
    result = list(decisions)
    newly_kept: set[str] = set()
    # Repeat while something changes: a version kept in one round may have links that protect others.
    changed = True
    while changed:
        changed = False
        needed = _needed(result, links)
        kept: dict[str, Decision] = {}
        for decision in result:
            if decision.action == "keep":
                kept.setdefault(decision.version.name, decision)
        for position, decision in enumerate(result):
            if decision.action != "delete":
                continue
            text = needed.get(decision.version.name) or _cosign_reason(decision.version, kept)
            if text is not None:
                result[position] = Decision(decision.version, "keep", text, "protected")
                newly_kept.add(decision.version.name)
                changed = True
    return result, {digest for digest in newly_kept if digest not in links}


async def protect_images(
    github: GitHubClient, registry_url: str, repository: str, decisions: list[Decision]
) -> tuple[list[Decision], str]:
    """Keep what kept images need, and say how the manifests were read; without readable manifests, delete no
    untagged version of the package."""
    links: dict[str, ImageLinks] = {}
    pending = {d.version.name for d in decisions if d.action == "keep" and d.version.name.startswith("sha256:")}
    try:
        while pending:
            fetched = await gather(
                [partial(read_image_links, github, registry_url, repository, d) for d in sorted(pending)]
            )
            links.update((found.digest, found) for found in fetched)
            decisions, newly_kept = protect(decisions, links)
            pending = newly_kept - set(links)
    except GitHubError as exc:
        reason = f"the registry's manifests could not be read ({exc.message})"
        kept_untagged = [
            Decision(d.version, "keep", f"kept: untagged, and {reason}", "protected")
            if d.action == "delete" and not d.version.tags
            else d
            for d in decisions
        ]
        return kept_untagged, f"unavailable: {reason}; no untagged version is deleted"
    return decisions, f"read {len(links)} manifest(s) of kept images"
