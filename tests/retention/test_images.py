"""What kept container images need: platform images, attestations, referrers and cosign-tagged artifacts."""

from __future__ import annotations

from github_packages_mcp.github.registry import ImageLinks
from github_packages_mcp.retention.images import protect
from github_packages_mcp.retention.rules import Decision, VersionFacts
from tests.retention.helpers import actions, digest, image


def kept_and_deleted(*versions: VersionFacts, keep: tuple[int, ...]) -> list[Decision]:
    return [
        Decision(v, "keep", "kept: x", "exclude_tags") if v.id in keep else Decision(v, "delete", "delete: x", "delete")
        for v in versions
    ]


def test_platform_images_and_attestations_of_a_kept_index_are_kept() -> None:
    index, amd64, arm64, attestation, other = image(1, "v2.1.0", "latest"), image(2), image(3), image(4), image(5)
    decisions = kept_and_deleted(index, amd64, arm64, attestation, other, keep=(1,))
    links = {digest(1): ImageLinks(digest(1), children=(digest(2), digest(3), digest(4)), attestations=(digest(4),))}
    result, missing = protect(decisions, links)
    assert actions(result) == {1: "exclude_tags", 2: "protected", 3: "protected", 4: "protected", 5: "delete"}
    parent = "sha256:0001abababab… (v2.1.0, latest)"
    assert result[1].rule == f"kept: platform image of kept index {parent}"
    assert result[3].rule == f"kept: attestation of kept index {parent}"
    assert missing == {digest(2), digest(3), digest(4)}


def test_children_of_a_deleted_index_are_not_protected() -> None:
    decisions = kept_and_deleted(image(1), image(2), keep=())
    result, missing = protect(decisions, {digest(1): ImageLinks(digest(1), children=(digest(2),))})
    assert result == decisions
    assert missing == set()


def test_nested_index_is_protected_in_a_second_round_and_inside_one_call_when_links_are_known() -> None:
    outer, inner, leaf = image(1, "v1"), image(2), image(3)
    decisions = kept_and_deleted(outer, inner, leaf, keep=(1,))
    links = {digest(1): ImageLinks(digest(1), children=(digest(2),))}
    first, missing = protect(decisions, links)
    assert actions(first) == {1: "exclude_tags", 2: "protected", 3: "delete"}
    assert missing == {digest(2)}
    # The caller fetches the links of what became kept and calls again.
    links[digest(2)] = ImageLinks(digest(2), children=(digest(3),))
    second, missing = protect(first, links)
    assert actions(second) == {1: "exclude_tags", 2: "protected", 3: "protected"}
    assert second[2].rule == "kept: platform image of kept index sha256:0002abababab… (untagged)"
    assert missing == {digest(3)}
    # With all links known up front, one call reaches the fixpoint.
    once, _ = protect(decisions, links)
    assert once == second


def test_referrers_and_cosign_tags_of_kept_digests_are_kept() -> None:
    kept = image(1, "v1")
    hexdigits = digest(1).removeprefix("sha256:")
    signature, sbom, referrer = image(2, f"sha256-{hexdigits}.sig"), image(3, f"sha256-{hexdigits}.sbom"), image(4)
    stray = image(5, f"sha256-{digest(9).removeprefix('sha256:')}.sig")  # signs a version that is not kept
    decisions = kept_and_deleted(kept, signature, sbom, referrer, stray, image(9), keep=(1,))
    result, missing = protect(decisions, {digest(1): ImageLinks(digest(1), referrers=(digest(4),))})
    assert actions(result) == {
        1: "exclude_tags",
        2: "protected",
        3: "protected",
        4: "protected",
        5: "delete",
        9: "delete",
    }
    short = "sha256:0001abababab… (v1)"
    assert result[1].rule == f"kept: signature of kept image {short}, by its tag 'sha256-{hexdigits}.sig'"
    assert result[2].rule.startswith("kept: SBOM of kept image")
    assert result[3].rule == f"kept: referrer of kept image {short}"
    assert missing == {digest(2), digest(3), digest(4)}


def test_protect_never_deletes_is_idempotent_and_does_not_mutate() -> None:
    decisions = kept_and_deleted(image(1, "v1"), image(2), image(3), keep=(1, 2))
    snapshot = list(decisions)
    links = {digest(1): ImageLinks(digest(1), children=(digest(2), digest(3)))}
    once, missing = protect(decisions, links)
    assert once[1] == decisions[1]  # already kept: its own reason stays
    assert [d.action for d in once] == ["keep", "keep", "keep"]
    assert missing == {digest(3)}
    assert protect(once, links) == (once, set())
    assert decisions == snapshot
    assert protect(once, {}) == (once, set())  # no links: nothing to take back either


# ---- summarize ----
