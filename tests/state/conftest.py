"""A real Redis for the tests of shared state: `redis-server` (or `valkey-server`) on a free loopback port, one
per session, emptied before each test; skipped, saying why, when no server binary is installed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.state.redis_serving import RedisServer

BINARY = shutil.which("redis-server") or shutil.which("valkey-server")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if BINARY is None:
        pytest.skip("no redis-server or valkey-server on PATH (apt-get install redis-server)")
    server = RedisServer(BINARY)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture
def redis(redis_server: RedisServer) -> RedisServer:
    """The session's Redis, running and empty."""
    if redis_server.process is None:  # a test stopped it
        redis_server.start()
    redis_server.flush()
    return redis_server
