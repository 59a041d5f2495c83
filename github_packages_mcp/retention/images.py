"""Deciding a container package: the rules decide only the images; every part follows what it belongs to.

Who belongs to whom is in `parts.py`. A part is not an image: it never counts toward keep_latest nor toward tag
selection. It is kept while any image it belongs to is kept ("protected") and deleted with them ("deleted_with"),
so deleting an index deletes its platform images and deleting an image its signatures, and no kept image loses a
part. Exclude patterns still keep a part. Three kinds of part are decided on their own:

- an orphan (what it is about is gone) is kept ("orphaned") unless `delete_orphans`, and is never counted by
  keep_latest nor the reason an image is kept or deleted (docs/github-behaviour.md#orphaned-parts);
- a superseded referrers index of a kept image is decided as a lone untagged version by the rules, keep_latest
  aside ("superseded"); what it lists follows its own subject;
- a broken image index (docs/github-behaviour.md#broken-images) is decided by the rules like any image, unless
  `delete_ghost_images` or `delete_partial_images` opts in to deleting it ("broken").

`plan_images` reads the manifests (ghcr.io has no referrers API, so they are the only source:
docs/github-behaviour.md#referrers-api), from the registry only when the manifest cache does not keep them
(github/manifests.py: ghcr.io counts each read as a download). When any cannot be read, nothing in the package
is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial

from github_packages_mcp.github.errors import GitHubError
from github_packages_mcp.github.registry import Manifest, ManifestMismatch, Registry
from github_packages_mcp.github.tasks import gather
from github_packages_mcp.retention.parts import Broken, Part, broken_images, find_parts, parts_by_tag
from github_packages_mcp.retention.rules import (
    Decision,
    Rules,
    VersionFacts,
    decide,
    exclusion,
    last_to_keep,
    short_digest,
)

__all__ = ["decide_images", "plan_images", "read_manifests"]

_NO_KEEP_LATEST = {"keep_latest": 0, "keep_latest_tagged": 0, "keep_latest_untagged": 0}
# ghcr.io counts every manifest read as a download: none is read when the rules could delete nothing.
NOT_READ = "not read: these rules delete nothing here, so parts are only known by their tags (cosign's)"
CHECK_REGISTRY = "check registry_url (GITHUB_REGISTRY_URL) and that the token has read:packages for this package"


def decide_images(
    versions: Sequence[VersionFacts],
    rules: Rules,
    now: datetime,
    parts: Mapping[str, Part],
    broken: Mapping[str, Broken] | None = None,
) -> list[Decision]:
    """Decide the images with the rules, then let every part follow them; one decision per version, in input order.
    The last tagged version of the package is never deleted (GitHub refuses it).

    Raises:
        RulesError: If the rules cannot apply to these versions.
    """
    patterns = rules.patterns()
    opted = {
        name: found
        for name, found in (broken or {}).items()
        if (rules.delete_ghost_images if found.ghost else rules.delete_partial_images)
    }
    images = [version for version in versions if version.name not in parts and version.name not in opted]
    decided = {d.version.name: d for d in decide(images, rules, now)}
    for version in versions:
        if (found := opted.get(version.name)) is not None:
            decided[version.name] = exclusion(version, patterns) or _broken(version, found)
    result = _follow(versions, decided, parts, rules, now)
    if last_to_keep(result, tagged_only=True) is None:
        return result
    # Every tagged version would go: keep the newest tagged image (and so its parts), else the newest tagged part.
    image = last_to_keep([d for d in result if d.version.name in decided], tagged_only=True)
    if image is None:
        part = last_to_keep(result, tagged_only=True)
        return [part if part is not None and d.version.id == part.version.id else d for d in result]
    return _follow(versions, {**decided, image.version.name: image}, parts, rules, now)


def _broken(version: VersionFacts, found: Broken) -> Decision:
    what, option = ("ghost", "delete_ghost_images") if found.ghost else ("partial", "delete_partial_images")
    gone = ", ".join(short_digest(digest) for digest in found.missing[:3]) + (", …" if len(found.missing) > 3 else "")
    text = f"delete: {what} image ({option}): {len(found.missing)} of the entries it lists are gone ({gone})"
    return Decision(version, "delete", text, "broken")


def _follow(
    versions: Sequence[VersionFacts],
    decided: Mapping[str, Decision],
    parts: Mapping[str, Part],
    rules: Rules,
    now: datetime,
) -> list[Decision]:
    """Every part kept while any of its parents is kept, deleted when all of them are; exclusions still keep."""
    patterns = rules.patterns()
    by_name = {version.name: version for version in versions}
    known = dict(decided)
    for name in parts.keys() & by_name.keys():
        if (excluded := exclusion(by_name[name], patterns)) is not None:
            known[name] = excluded
        elif parts[name].orphaned:
            known[name] = _orphan(by_name[name], parts[name], rules, now)
    pending = [name for name in parts if name in by_name and name not in known]
    while pending:  # parts of parts (nested indexes, signatures of attestations) settle in later rounds
        settled = [name for name in pending if _settle(by_name[name], parts[name], known, rules, now)]
        if not settled:
            break
        pending = [name for name in pending if name not in settled]
    for name in pending:  # a cycle, which content addressing rules out; keep rather than guess
        known[name] = Decision(by_name[name], "keep", "kept: what it belongs to could not be decided", "protected")
    # What each version is, for people reviewing the plan (docs/apps.md): an image listing platform images is an index.
    indexes = {parent for part in parts.values() if part.of == "index" for parent in part.parents}
    return [
        replace(
            known[v.name], kind=parts[v.name].kind if v.name in parts else "index" if v.name in indexes else "image"
        )
        for v in versions
    ]


def _settle(version: VersionFacts, part: Part, known: dict[str, Decision], rules: Rules, now: datetime) -> bool:
    """Decide one part if its parents are decided enough; whether it was."""
    parents = [known.get(parent) for parent in part.parents]
    parent = next((p for p in parents if p is not None and p.action == "keep"), None)
    if parent is None and any(p is None for p in parents):
        return False
    if parent is not None and part.superseded:
        lone = _lone(version, rules, now)
        if lone.action == "delete":
            text = f"delete: superseded {part.kind} of kept image {_described(parent)} (a newer one took its tag)"
            lone = Decision(version, "delete", text + _older(lone), "superseded")
        known[version.name] = Decision(version, lone.action, lone.rule, lone.rule_id, part.parents)
    elif parent is not None:
        text = f"kept: {part.kind} of kept {part.of} {_described(parent)}{part.found_by}"
        known[version.name] = Decision(version, "keep", text, "protected", part.parents)
    else:
        deleted = parents[0]
        assert deleted is not None
        text = f"delete: {part.kind} of deleted {part.of} {_described(deleted)}{part.found_by}"
        known[version.name] = Decision(version, "delete", text, "deleted_with", part.parents)
    return True


def _lone(version: VersionFacts, rules: Rules, now: datetime) -> Decision:
    """The rules' decision on one version alone: keep_latest cannot apply to what is not an image."""
    return decide([version], rules.model_copy(update=_NO_KEEP_LATEST), now)[0]


def _orphan(version: VersionFacts, part: Part, rules: Rules, now: datetime) -> Decision:
    """An orphan is kept unless delete_orphans; then only keep_younger_than_days keeps it."""
    about = f"of {short_digest(part.about)}, which" if part.about else "whose subject"
    text = f"orphaned {part.kind} {about} is gone from the package"
    if not rules.delete_orphans:
        return Decision(version, "keep", f"kept: {text} (delete_orphans deletes it)", "orphaned")
    age_rule = Rules(keep_younger_than_days=rules.keep_younger_than_days, age_basis=rules.age_basis)
    by_age = decide([version], age_rule, now)[0]
    if by_age.action == "keep":
        return by_age
    return Decision(version, "delete", f"delete: {text}{_older(by_age)}", "orphaned")


def _older(decision: Decision) -> str:
    """The age criterion of a delete decision, if the rules had one: ", older than 30 days (created …)"."""
    reasons = decision.rule.removeprefix("delete: ").split(", ")
    return "".join(f", {reason}" for reason in reasons if reason.startswith("older than "))


def _described(decision: Decision) -> str:
    """A version for people: short digest and its tags."""
    tags = decision.version.tags
    if tags is None:
        return short_digest(decision.version.name)
    return f"{short_digest(decision.version.name)} ({', '.join(tags) if tags else 'untagged'})"


async def read_manifests(
    registry: Registry, versions: Sequence[VersionFacts], by_tag: Mapping[str, Part]
) -> tuple[list[Manifest], str | None]:
    """The manifests of the package's versions that their tags do not already place (`by_tag`); and, when any
    could not be read, how many and why, for people (then what belongs to what is unknown)."""
    digests = [v.name for v in versions if v.name.startswith(("sha256:", "sha512:")) and v.name not in by_tag]
    read = await gather([partial(_read, registry, digest) for digest in digests])
    unreadable = [(digest, why) for digest, why in zip(digests, read, strict=True) if isinstance(why, str)]
    manifests = [found for found in read if isinstance(found, Manifest)]
    if not unreadable:
        return manifests, None
    (digest, why), count = unreadable[0], len(unreadable)
    return manifests, f"{count} manifest(s) could not be read (as {short_digest(digest)}: {why})"


async def plan_images(
    registry: Registry, versions: Sequence[VersionFacts], rules: Rules, now: datetime
) -> tuple[list[Decision], str]:
    """Read the package's manifests, then decide the images and let their parts follow; with a note on how the
    manifests were read (NOT_READ when nothing could be deleted).

    Raises:
        RulesError: If the rules cannot apply to these versions.
    """
    by_tag = parts_by_tag(versions)
    if _nothing_to_delete(versions, rules, now):
        return decide_images(versions, rules, now, by_tag), NOT_READ
    manifests, reason = await read_manifests(registry, versions, by_tag)
    if reason is not None:
        text = f"kept: {reason}, so nothing in this package is deleted"
        return [Decision(version, "keep", text, "unreadable") for version in versions], (
            f"unavailable: {reason}; nothing in this package is deleted: {CHECK_REGISTRY}"
        )
    parts = find_parts(versions, manifests)
    decisions = decide_images(versions, rules, now, parts, broken_images(versions, manifests, parts))
    return decisions, f"read {len(manifests)} manifest(s)"


def _nothing_to_delete(versions: Sequence[VersionFacts], rules: Rules, now: datetime) -> bool:
    """Whether no rule could delete anything, whatever the manifests say: then none needs reading. The rules without
    keep_latest delete the most; parts only follow what they delete; orphans and broken images are opt-ins."""
    if rules.delete_orphans or rules.delete_ghost_images or rules.delete_partial_images:
        return False
    return not any(d.action == "delete" for d in decide(versions, rules.model_copy(update=_NO_KEEP_LATEST), now))


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
