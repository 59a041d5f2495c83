"""Where the manifest cache keeps manifests: files under journal_dir, private, atomic, bounded (the least recently
used pruned first), ignored when damaged; or Redis, expiring."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from redis import Redis

from github_packages_mcp.github.manifests import ManifestCache
from github_packages_mcp.state.local import LocalState, ManifestFiles
from github_packages_mcp.state.opening import open_state
from github_packages_mcp.state.redis import KEPT_DAYS, RedisState
from tests.helpers import StoppedClock
from tests.state.redis_serving import RedisServer

pytestmark = pytest.mark.anyio
DAY = 86_400.0


def key(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


async def test_files_are_private_whatever_was_there(tmp_path: Path, clock: StoppedClock) -> None:
    directory = tmp_path / "state" / "manifests"
    directory.mkdir(parents=True, mode=0o755)
    directory.chmod(0o755)
    files = ManifestFiles(directory, clock=clock)
    await files.put(key(1), b"{}")
    assert await files.get(key(1)) == b"{}"
    assert await files.get(key(2)) is None
    assert mode(directory) == 0o700
    assert [(path.name, mode(path)) for path in directory.iterdir()] == [(key(1), 0o600)]


async def test_a_new_state_directory_is_made_private(tmp_path: Path, clock: StoppedClock) -> None:
    await LocalState(tmp_path / "state", clock=clock).manifests.put(key(1), b"{}")
    assert mode(tmp_path / "state") == mode(tmp_path / "state" / "manifests") == 0o700


async def test_at_most_max_entries_files_the_least_recently_used_go_first(tmp_path: Path, clock: StoppedClock) -> None:
    files = ManifestFiles(tmp_path / "manifests", clock=clock, max_entries=10)
    for n in range(10):
        clock.now += 1
        await files.put(key(n), b"{}")
    clock.now += 1
    assert await files.get(key(0)) == b"{}"  # used now: the last to go
    for n in range(10, 15):
        clock.now += 1
        await files.put(key(n), b"{}")
    # Past 10, down to 9: the oldest go, but not the one just used.
    assert {path.name for path in (tmp_path / "manifests").iterdir()} == {key(n) for n in (0, *range(7, 15))}


async def test_a_temporary_file_a_failed_write_left_goes_a_day_later(tmp_path: Path, clock: StoppedClock) -> None:
    directory = tmp_path / "manifests"
    directory.mkdir()
    left = directory / f".{key(1)}.0a1b2c3d.tmp"
    left.write_bytes(b"{")
    os.utime(left, (clock.now - 2 * DAY, clock.now - 2 * DAY))
    await ManifestFiles(directory, clock=clock).put(key(2), b"{}")
    assert [path.name for path in directory.iterdir()] == [key(2)]


async def test_a_garbage_file_is_a_miss_and_the_manifest_read_again_replaces_it(
    tmp_path: Path, clock: StoppedClock
) -> None:
    body = b'{"schemaVersion":2}'
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    url = f"https://ghcr.io/v2/acme-labs/web/api/manifests/{digest}"
    cache = ManifestCache(ManifestFiles(tmp_path / "manifests", clock=clock))
    await cache.put(url, digest, body)
    [path] = (tmp_path / "manifests").iterdir()
    path.write_bytes(b"\x00garbage")
    assert await cache.get(url, digest) is None
    await cache.put(url, digest, body)
    assert await cache.get(url, digest) == body


@pytest.mark.parametrize("name", ["../key", "A" * 64, key(1)[:63], f"{key(1)}/x", ""])
async def test_a_key_that_is_not_a_hex_digest_names_no_file(tmp_path: Path, name: str) -> None:
    files = ManifestFiles(tmp_path / "manifests")
    with pytest.raises(ValueError, match="not a manifest cache key"):
        await files.put(name, b"{}")
    shared = RedisState("redis://127.0.0.1:1/0")  # never reached: the key is refused first
    try:
        with pytest.raises(ValueError, match="not a manifest cache key"):
            await shared.manifests.get(name)
    finally:
        await shared.aclose()
    assert not (tmp_path / "manifests").exists()


async def test_manifests_in_redis_expire_90_days_after_they_were_written(
    tmp_path: Path, clock: StoppedClock, redis: RedisServer
) -> None:
    state = await open_state(tmp_path / "state", SecretStr(redis.url), prefix="deployment", clock=clock)
    try:
        await state.manifests.put(key(1), b"{}")
        assert await state.manifests.get(key(1)) == b"{}"
        assert await state.manifests.get(key(2)) is None
    finally:
        await state.aclose()
    with Redis(port=redis.port) as operator:
        assert operator.keys() == [f"deployment:manifest:{key(1)}".encode()]
        assert operator.pexpiretime(f"deployment:manifest:{key(1)}") == int((clock.now + KEPT_DAYS * DAY) * 1000)
    assert not (tmp_path / "state").exists()  # with Redis, nothing is written under journal_dir
