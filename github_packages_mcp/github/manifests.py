"""Manifests read once: what the container registry served for a digest, kept for every later plan.

ghcr.io counts a manifest GET as a download, and GitHub refuses to delete a public version past 5,000 downloads,
so a plan that read every manifest of a package again would inflate its counts and could make versions
undeletable. A manifest is addressed by its digest and never changes: once read, it need not be read again.

`ManifestCache` keeps a manifest's bytes as the registry served them (they are parsed on every use, so what
`parse_manifest` reads may change without migrating anything). Entries are keyed by a hash of the manifest's URL
(registry, repository and digest), so an entry never answers for a repository other than the one it was read
from; a plan lists a package's versions, which GitHub authorizes, before it reads any manifest. Only `sha256:`
digests are kept, and only a body whose SHA-256 is that digest, checked before storing and again on loading: a
damaged or foreign entry is a miss, never an answer. Bodies over `MAX_BODY` are not kept.

Where the bytes live is a `ManifestStore`: files under journal_dir, or Redis with state_url (their peers are in
state/local.py and state/redis.py). A store that fails never stops a plan: the manifest is read from the registry, the
failure is logged once (until the store works again), and the store is left alone for `REST_SECONDS`, so an
unreachable Redis costs one timeout, not one per manifest.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Final, Protocol

from github_packages_mcp.errors import StateUnavailable

__all__ = ["MAX_BODY", "REST_SECONDS", "ManifestCache", "ManifestStore", "digest_matches"]

log = logging.getLogger("github_packages_mcp")

MAX_BODY: Final = 256 * 1024  # bytes; real manifests are a few KiB, large indexes a few dozen
REST_SECONDS: Final = 60.0  # after a store fails, how long it is left alone
CACHED: Final = "sha256:"  # the only algorithm entries are kept for
_ALGORITHMS: Final = {"sha256:": hashlib.sha256, "sha512:": hashlib.sha512}


class ManifestStore(Protocol):
    """Where a `ManifestCache` keeps bytes, by key (64 lowercase hex digits). It may raise OSError or an
    StateUnavailable when it cannot answer; the cache turns either into a miss."""

    async def get(self, key: str) -> bytes | None: ...

    async def put(self, key: str, body: bytes) -> None: ...


def digest_matches(digest: str, body: bytes) -> bool:
    """Whether `body` hashes to `digest` (`sha256:<hex>` or `sha512:<hex>`); True for algorithms that cannot be
    checked here."""
    algorithm, _, expected = digest.partition(":")
    hashing = _ALGORITHMS.get(f"{algorithm}:")
    if hashing is None:
        return True
    return hmac.compare_digest(hashing(body).hexdigest(), expected.lower())


class ManifestCache:
    """Manifests' bytes by URL and digest, in a `store`; never raises for the store's failures."""

    def __init__(self, store: ManifestStore, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        self._resting_until = 0.0
        self._failing = False  # the last use failed: a failure is logged once, until the store works again

    async def get(self, url: str, digest: str) -> bytes | None:
        """The manifest's bytes when kept and intact; else None (not kept, damaged, or the store failed)."""
        if not digest.startswith(CACHED) or self._clock() < self._resting_until:
            return None
        try:
            body = await self._store.get(_key(url))
        except (OSError, StateUnavailable) as exc:
            self._failed("read", exc)
            return None
        self._failing = False
        if body is None:
            return None
        if len(body) > MAX_BODY or not digest_matches(digest, body):
            log.debug("a cached manifest for %s is damaged; it is read from the registry again", digest)
            return None
        return body

    async def put(self, url: str, digest: str, body: bytes) -> None:
        """Keep `body`, the registry's answer for `url`, if it is `digest`'s (a `sha256:` one) and not too big."""
        if not digest.startswith(CACHED) or len(body) > MAX_BODY or not digest_matches(digest, body):
            return
        if self._clock() < self._resting_until:
            return
        try:
            await self._store.put(_key(url), body)
        except (OSError, StateUnavailable) as exc:
            self._failed("keep", exc)
            return
        self._failing = False

    def _failed(self, doing: str, exc: Exception) -> None:
        self._resting_until = self._clock() + REST_SECONDS
        if self._failing:
            log.debug("the manifest cache could not %s a manifest: %s", doing, exc)
            return
        self._failing = True
        # An OSError names its file, which the log may show; a StateUnavailable's message is for people.
        log.warning(
            "the manifest cache could not %s a manifest (%s); manifests are read from the registry meanwhile",
            doing,
            exc if isinstance(exc, OSError) else type(exc).__name__,
        )


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()
