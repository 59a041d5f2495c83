"""Narrowing a saved plan, pure logic (retention/narrow.py): parts of parts, parts of two images, the same digest in
two packages, and what the narrowed plan keeps of the original."""

from __future__ import annotations

import pytest

from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.retention.narrow import followers, narrowed_plan, narrowed_result
from github_packages_mcp.retention.store import PlannedDeletion, SavedPlan


def item(id_: int, name: str, *parents: str, package: str = "app") -> PlannedDeletion:
    return PlannedDeletion(id=id_, name=name, tags=[], package_name=package, parents=list(parents) or None)


# An index (1) with a platform image (2) whose attestation (3) follows it, a signature (5) of both the index and
# another image (4), an orphan (6), and in another package the same digest as the index (7) with its part (8).
PLAN = SavedPlan(
    plan_id="original",
    created_at="2026-12-01T00:00:00Z",
    expires_at="2026-12-08T00:00:00Z",
    caller="me",
    owner_kind="org",
    owner_login="acme",
    package_type="container",
    rules={"keep_latest": 1},
    deletions=[
        item(1, "sha256:i"),
        item(4, "sha256:other"),
        item(6, "sha256:orphan"),
        item(3, "sha256:att", "sha256:p"),  # before its parent: parts of parts settle in later rounds
        item(2, "sha256:p", "sha256:i"),
        item(5, "sha256:sig", "sha256:i", "sha256:other"),
        item(7, "sha256:i", package="lib"),
        item(8, "sha256:q", "sha256:i", package="lib"),
    ],
)


def chosen(ids: list[int]) -> set[int]:
    return {d.id for d in narrowed_plan(PLAN, ids, "narrowed", "2026-12-02T00:00:00Z").deletions}


def test_parts_follow_every_image_they_belong_to_in_their_own_package() -> None:
    assert followers(PLAN) == {2, 3, 5, 8}
    assert chosen([1]) == {1, 2, 3}  # the signature of 1 and 4 stays while 4 does
    assert chosen([1, 4]) == {1, 2, 3, 4, 5}
    assert chosen([4, 6]) == {4, 6}
    assert chosen([7]) == {7, 8}  # lib's index, not app's, though the digest is the same


def test_naming_parts_is_allowed_with_their_images_and_refused_without() -> None:
    assert chosen([1, 2, 3]) == {1, 2, 3}
    with pytest.raises(InvalidArguments, match=r"delete_version_ids: 5 are parts .* nothing was narrowed"):
        chosen([1, 5])
    with pytest.raises(InvalidArguments, match="delete_version_ids: 99 not among the 8 version"):
        chosen([1, 99])
    with pytest.raises(InvalidArguments, match="nothing would be deleted"):
        chosen([])


def test_the_narrowed_plan_is_the_original_but_for_its_id_date_origin_and_deletions() -> None:
    narrowed = narrowed_plan(PLAN, [4, 6], "narrowed", "2026-12-02T00:00:00Z")
    assert narrowed.model_dump(exclude={"plan_id", "created_at", "narrowed_from", "deletions"}) == PLAN.model_dump(
        exclude={"plan_id", "created_at", "narrowed_from", "deletions"}
    )
    assert (narrowed.plan_id, narrowed.created_at, narrowed.narrowed_from) == (
        "narrowed",
        "2026-12-02T00:00:00Z",
        "original",
    )
    assert narrowed.expires_at == PLAN.expires_at  # its decisions are as old as the original's
    assert narrowed.digest() != PLAN.digest()
    assert "narrowed_from" not in PLAN.content()  # a plan as made is signed as before
    result = narrowed_result(PLAN, narrowed)
    assert (result.delete, result.keep, [p.package for p in result.packages]) == (2, 6, ["app", "lib"])
    assert result.packages[0].by_rule == {"not_chosen": 1, "chosen": 2, "kept_with": 3}
