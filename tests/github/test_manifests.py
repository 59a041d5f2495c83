"""The manifest cache: it answers only with the very manifest asked for (its digest checked both ways), keeps only
`sha256:` manifests of a bounded size, per URL, and turns a failing store into misses, logged once."""

from __future__ import annotations

import hashlib
import logging

import pytest

from github_packages_mcp.github.manifests import MAX_BODY, REST_SECONDS, ManifestCache, digest_matches
from github_packages_mcp.state.redis import SharedStateUnavailable

pytestmark = pytest.mark.anyio
REGISTRY = "https://ghcr.io/v2"
BODY = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
DIGEST = f"sha256:{hashlib.sha256(BODY).hexdigest()}"


def url(repository: str = "acme-labs/web/api", digest: str = DIGEST) -> str:
    return f"{REGISTRY}/{repository}/manifests/{digest}"


class MemoryStore:
    def __init__(self) -> None:
        self.entries: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.entries.get(key)

    async def put(self, key: str, body: bytes) -> None:
        self.entries[key] = body


class BrokenStore:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def get(self, key: str) -> bytes | None:
        self.calls += 1
        raise self.error

    async def put(self, key: str, body: bytes) -> None:
        self.calls += 1
        raise self.error


async def test_a_manifest_kept_for_one_repository_answers_for_no_other() -> None:
    cache = ManifestCache(store := MemoryStore())
    await cache.put(url(), DIGEST, BODY)
    assert await cache.get(url(), DIGEST) == BODY
    assert await cache.get(url("someone-else/web/api"), DIGEST) is None
    assert await cache.get(url(), f"sha256:{'0' * 64}") is None
    [key] = store.entries
    assert len(key) == 64 and "acme" not in key  # a hash of the URL: no name on disk or in Redis


async def test_a_body_that_is_not_its_digests_is_never_kept() -> None:
    cache = ManifestCache(store := MemoryStore())
    await cache.put(url(), DIGEST, BODY + b" ")
    await cache.put(url(), DIGEST.upper(), BODY)  # not a digest the cache keeps
    assert store.entries == {}


async def test_only_sha256_manifests_are_kept() -> None:
    cache = ManifestCache(store := MemoryStore())
    sha512 = f"sha512:{hashlib.sha512(BODY).hexdigest()}"
    await cache.put(url(digest=sha512), sha512, BODY)
    assert store.entries == {}
    assert digest_matches(sha512, BODY)
    assert not digest_matches(sha512, BODY + b" ")


async def test_bodies_over_the_cap_are_neither_kept_nor_answered() -> None:
    cache = ManifestCache(store := MemoryStore())
    big = b" " * MAX_BODY + BODY
    digest = f"sha256:{hashlib.sha256(big).hexdigest()}"
    await cache.put(url(digest=digest), digest, big)
    assert store.entries == {}
    store.entries[_key_of(url(digest=digest))] = big  # kept by something else
    assert await cache.get(url(digest=digest), digest) is None


@pytest.mark.parametrize("damaged", [b"", b"garbage \x00\xff", BODY[:-1], b'{"schemaVersion":2}'])
async def test_a_damaged_entry_is_a_miss(damaged: bytes) -> None:
    cache = ManifestCache(store := MemoryStore())
    store.entries[_key_of(url())] = damaged
    assert await cache.get(url(), DIGEST) is None


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), SharedStateUnavailable("Redis is down")])
async def test_a_failing_store_is_a_miss_logged_once_and_left_alone_for_a_while(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    cache = ManifestCache(store := BrokenStore(error), clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, "github_packages_mcp"):
        assert await cache.get(url(), DIGEST) is None
        await cache.put(url(), DIGEST, BODY)  # never raises
        assert await cache.get(url(), DIGEST) is None
        assert store.calls == 1  # resting: one failure costs one timeout, not one per manifest
        now[0] += REST_SECONDS + 1
        assert await cache.get(url(), DIGEST) is None
        await cache.put(url(), DIGEST, BODY)
    assert store.calls == 2
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "manifests are read from the registry meanwhile" in warnings[0].getMessage()


async def test_a_store_that_works_again_is_used_and_a_new_failure_logged_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    store = BrokenStore(OSError(5, "Input/output error"))
    cache = ManifestCache(store, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, "github_packages_mcp"):
        await cache.get(url(), DIGEST)
        now[0] += REST_SECONDS + 1
        working = MemoryStore()
        store.get = working.get  # type: ignore[method-assign]
        store.put = working.put  # type: ignore[method-assign]
        await cache.put(url(), DIGEST, BODY)
        assert await cache.get(url(), DIGEST) == BODY
        store.get = BrokenStore(OSError(5, "Input/output error")).get  # type: ignore[method-assign]
        assert await cache.get(url(), DIGEST) is None
    assert len([record for record in caplog.records if record.levelno == logging.WARNING]) == 2


def _key_of(manifest_url: str) -> str:
    return hashlib.sha256(manifest_url.encode()).hexdigest()
