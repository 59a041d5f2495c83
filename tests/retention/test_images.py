"""Container images and their parts: platform images, attestations and signatures follow their image; only images
are decided by the rules; the last tagged version is never deleted."""

from __future__ import annotations

from github_packages_mcp.github.registry import Manifest, parse_manifest
from github_packages_mcp.retention.images import decide_images
from github_packages_mcp.retention.parts import Part, find_parts
from github_packages_mcp.retention.rules import Rules, VersionFacts
from tests.retention.helpers import NOW, actions, digest, image

INDEX = "sha256:0001abababab… (v2.1.0, latest)"


def index(n: int, *children: int, attestations: tuple[int, ...] = ()) -> Manifest:
    return Manifest(digest(n), tuple(digest(c) for c in children), tuple(digest(a) for a in attestations))


def artifact(n: int, subject: int, artifact_type: str) -> Manifest:
    return Manifest(digest(n), subject=digest(subject), artifact_type=artifact_type)


def parts(versions: list[VersionFacts], *manifests: Manifest) -> dict[str, Part]:
    return find_parts(versions, manifests)


def test_platform_images_and_attestations_of_a_kept_index_are_kept() -> None:
    versions = [image(1, "v2.1.0", "latest"), image(2), image(3), image(4), image(5)]
    found = parts(versions, index(1, 2, 3, 4, attestations=(4,)))
    result = decide_images(versions, Rules(tagged="untagged"), NOW, found)
    assert actions(result) == {1: "not_selected", 2: "protected", 3: "protected", 4: "protected", 5: "delete"}
    assert result[1].rule == f"kept: platform image of kept index {INDEX}"
    assert result[3].rule == f"kept: attestation of kept index {INDEX}"


def test_deleting_an_index_deletes_its_children_unless_a_kept_index_needs_them() -> None:
    old, shared, own, new = image(1), image(2), image(3), image(4, "v2")
    found = parts([old, shared, own, new], index(1, 2, 3), index(4, 2))
    result = decide_images([old, shared, own, new], Rules(tagged="untagged"), NOW, found)
    assert actions(result) == {1: "delete", 2: "protected", 3: "deleted_with", 4: "not_selected"}
    assert result[2].rule == "delete: platform image of deleted index sha256:0001abababab… (untagged)"
    assert result[1].rule == "kept: platform image of kept index sha256:0004abababab… (v2)"


def test_nested_indexes_pass_their_fate_down() -> None:
    versions = [image(1, "v1"), image(2), image(3), image(4), image(5), image(6)]
    found = parts(versions, index(1, 2), index(2, 3), index(4, 5), index(5, 6))
    result = decide_images(versions, Rules(tagged="untagged"), NOW, found)
    assert actions(result) == {
        1: "not_selected",
        2: "protected",
        3: "protected",
        4: "delete",
        5: "deleted_with",
        6: "deleted_with",
    }


def test_signatures_never_count_toward_keep_latest_and_follow_their_image() -> None:
    # Signed after the push: the signature (by tag) and the bundle (by subject) are newer than every image.
    hexdigits = digest(2).removeprefix("sha256:")
    old, current = image(1, "v1", age=30), image(2, "v2", "latest", age=2)
    signature, bundle = image(3, f"sha256-{hexdigits}.sig", age=1), image(4, age=1)
    stale_signature = image(5, f"sha256-{digest(1).removeprefix('sha256:')}.sig", age=29)
    versions = [old, current, signature, bundle, stale_signature]
    found = parts(versions, artifact(4, 2, "application/vnd.dev.sigstore.bundle.v0.3+json"))
    result = decide_images(versions, Rules(tagged="tagged", keep_latest=1), NOW, found)
    assert actions(result) == {1: "delete", 2: "keep_latest", 3: "protected", 4: "protected", 5: "deleted_with"}
    assert (
        result[2].rule
        == f"kept: signature of kept image sha256:0002abababab… (v2, latest), by its tag 'sha256-{hexdigits}.sig'"
    )
    assert result[3].rule == "kept: Sigstore bundle of kept image sha256:0002abababab… (v2, latest), by its subject"
    assert result[4].rule.startswith("delete: signature of deleted image sha256:0001abababab… (v1)")


def test_an_artifact_is_named_by_its_type() -> None:
    versions = [image(1, "v1"), image(2), image(3), image(4), image(5)]
    manifests = [
        artifact(2, 1, "application/spdx+json"),
        artifact(3, 1, "application/vnd.in-toto+json"),
        artifact(4, 1, "application/vnd.example.custom"),
        artifact(5, 9, "application/spdx+json"),  # about an image that is not in the package: an orphan
    ]
    found = parts(versions, *manifests)
    assert {name: (part.kind, part.orphaned) for name, part in found.items()} == {
        digest(2): ("SBOM", False),
        digest(3): ("attestation", False),
        digest(4): ("referrer", False),
        digest(5): ("SBOM", True),
    }


def test_exclude_patterns_still_keep_a_part_of_a_deleted_image() -> None:
    hexdigits = digest(1).removeprefix("sha256:")
    versions = [image(1, "v1"), image(2, f"sha256-{hexdigits}.sig"), image(3, "v2", age=1)]
    result = decide_images(versions, Rules(exclude_tags=["*.sig"], keep_latest=1), NOW, parts(versions))
    assert actions(result) == {1: "delete", 2: "exclude_tags", 3: "keep_latest"}


def test_the_last_tagged_version_is_kept_with_its_parts_as_github_requires() -> None:
    versions = [image(1, "v1", age=20), image(2, "v2", age=10), image(3, age=10), image(4, age=5)]
    found = parts(versions, index(2, 3))
    result = decide_images(versions, Rules(keep_younger_than_days=1), NOW, found)
    assert actions(result) == {1: "delete", 2: "github_refuses", 3: "protected", 4: "delete"}
    assert result[1].rule.startswith("kept: GitHub refuses to delete the last tagged version of a package")


def test_untagged_versions_alone_may_all_be_deleted() -> None:
    versions = [image(1), image(2)]
    assert actions(decide_images(versions, Rules(), NOW, {})) == {1: "delete", 2: "delete"}


def test_manifests_are_read_as_ghcr_serves_them() -> None:
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"digest": digest(2), "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": digest(3), "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
            {"no": "digest"},
        ],
    }
    assert parse_manifest(digest(1), document) == index(1, 2, 3, attestations=(3,))
    bundle = {"subject": {"digest": digest(1)}, "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json"}
    assert parse_manifest(digest(4), bundle).subject == digest(1)
    assert parse_manifest(digest(5), {"config": {"mediaType": "application/spdx+json"}}).artifact_type == (
        "application/spdx+json"
    )
