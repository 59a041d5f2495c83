"""Shared fixtures: one sandbox HTTP server on 127.0.0.1 for the session, reset before every test."""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx2
import pytest
from mcp import Client

from github_packages_mcp.config import Settings
from github_packages_mcp.sandbox import (
    DEMO_ACTIONS_TOKEN,
    DEMO_FINE_GRAINED_TOKEN,
    DEMO_READ_TOKEN,
    DEMO_TOKEN,
    SandboxServer,
    SandboxState,
)
from tests.helpers import COMMAND, STATE_HOME, StoppedClock, clean_env, free_port, wait_for_port
from tests.state.redis_serving import RedisServer

# Every state directory of the run is the tests' own, never the home directory of the machine running them: what a
# test builds without a journal_dir (Settings() defaults to the OS's state directory) and what it starts inherit it.
os.environ["XDG_STATE_HOME"] = STATE_HOME

ROOT = Path(__file__).parent.parent
SPEC_PATH = Path(__file__).parent / "data" / "github-packages.openapi.json"


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return json.loads(SPEC_PATH.read_text())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    # A request an earlier test gave up on (a timeout against injected latency) may still be running in the
    # sandbox: waited for, so that this test's counts of requests in flight are its own.
    deadline = time.monotonic() + 5
    while sandbox_server.state.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    sandbox_server.state.reset()
    return sandbox_server


@pytest.fixture
def state(sandbox: SandboxServer) -> SandboxState:
    """The freshly reset sandbox's world, for tests that arrange it directly."""
    return sandbox.state


@pytest.fixture(scope="session")
def sandbox_http(sandbox_server: SandboxServer) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=sandbox_server.url, headers={"Authorization": f"Bearer {DEMO_TOKEN}"}) as http:
        yield http


@pytest.fixture
def client(sandbox: SandboxServer, sandbox_http: httpx2.Client) -> httpx2.Client:
    """Plain HTTP to a freshly reset sandbox with the demo token, for tests of the sandbox itself."""
    return sandbox_http


@pytest.fixture
def settings(sandbox: SandboxServer, tmp_path: Path) -> Settings:
    # No pause between mutations and short backoffs keep the suite fast; tests of pacing set their own.
    return Settings(
        token=DEMO_TOKEN,
        api_url=sandbox.url,
        registry_url=sandbox.url,
        journal_dir=tmp_path / "state",
        mutation_interval_seconds=0,
        retry_backoff_seconds=0.01,
        hide_unusable_tools=False,  # its start-up request would show in every test's request log
    )


@pytest.fixture
def server_env(sandbox: SandboxServer, tmp_path: Path) -> dict[str, str]:
    """The environment that points `python -m github_packages_mcp` at this test's sandbox, configured like the
    `settings` fixture (no pause between deletes, short backoffs, a state directory of the test's own)."""
    config = tmp_path / "config.toml"
    config.write_text(
        "mutation_interval_seconds = 0\n"
        "retry_backoff_seconds = 0.01\n"
        "hide_unusable_tools = false\n"
        f"journal_dir = {json.dumps(str(tmp_path / 'state'))}\n"
    )
    return clean_env(
        GITHUB_API_URL=sandbox.url,
        GITHUB_REGISTRY_URL=sandbox.url,
        GITHUB_TOKEN=DEMO_TOKEN,
        GITHUB_PACKAGES_MCP_CONFIG=str(config),
    )


@pytest.fixture
def http_url(server_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """The command serving streamable HTTP on a free loopback port (as `--transport http` serves it), for the test."""
    port = free_port()
    command = [*COMMAND, "--transport", "http", "--port", str(port)]
    with (tmp_path / "http-server.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=log, stderr=log)
        try:
            try:
                wait_for_port(port, process)
            except RuntimeError as exc:
                log.flush()
                raise RuntimeError(f"{exc}: {(tmp_path / 'http-server.log').read_text()}") from None
            yield f"http://127.0.0.1:{port}/mcp"
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
def clock() -> StoppedClock:
    """A clock that stands still (for the state's ages and expiries), until a test moves it."""
    return StoppedClock()


# A real Redis for the tests of shared state (tests/state, and the TypeScript client across replicas): one per
# session on a free loopback port, emptied before each test; skipped, saying why, without a server binary.
REDIS_BINARY = shutil.which("redis-server") or shutil.which("valkey-server")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if REDIS_BINARY is None:
        pytest.skip("no redis-server or valkey-server on PATH (apt-get install redis-server)")
    server = RedisServer(REDIS_BINARY)
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


# --- No secret anywhere: every tool result, log line and failure of the whole run is checked at the end. ---

SECRETS = (DEMO_TOKEN, DEMO_READ_TOKEN, DEMO_FINE_GRAINED_TOKEN, DEMO_ACTIONS_TOKEN)


def leak_spellings(secret: str) -> frozenset[str]:
    """Every way a token may be spelled where it leaks: as is; with a stray CR, LF or space, and as Python shows
    a header holding it (`b'Bearer <token>\\r'`); percent-encoded; in base64, alone (as `registry_get` sends it) or
    inside a longer value such as `Bearer <token>` or `user:<token>`.

    Base64 inside a longer value: the token starts at one of three offsets within a 3-byte group, and from its
    first group boundary on, its whole groups always encode to the same characters, which are looked for.
    """
    raw = secret.encode()
    spellings = {secret, quote(secret, safe=""), quote_plus(secret)}
    for stray in ("", "\r", "\n", " ", "\r\n"):
        spellings |= {secret + stray, repr(secret + stray), repr(f"Bearer {secret}{stray}".encode())}
        for value in (secret + stray, f"Bearer {secret}{stray}"):
            spellings |= {base64.b64encode(value.encode()).decode(), base64.urlsafe_b64encode(value.encode()).decode()}
    for start in range(3):
        whole = raw[start:][: len(raw[start:]) // 3 * 3]
        spellings |= {base64.b64encode(whole).decode(), base64.urlsafe_b64encode(whole).decode()}
    return frozenset(spellings)


LEAKS = frozenset(spelling for secret in SECRETS for spelling in leak_spellings(secret))
_produced: list[str] = []


class _Recorder(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _produced.append(self.format(record))


@pytest.fixture(autouse=True, scope="session")
def _record_everything_produced() -> Iterator[None]:
    root = logging.getLogger()
    recorder, level = _Recorder(logging.DEBUG), root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    original = Client.call_tool

    async def recording(self: Client, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        _produced.append(result.model_dump_json())
        return result

    Client.call_tool = recording  # type: ignore[method-assign]
    yield
    Client.call_tool = original  # type: ignore[method-assign]
    root.removeHandler(recorder)
    root.setLevel(level)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if call.excinfo is not None:
        _produced.append(str(call.excinfo.value))
    if report.longrepr is not None:  # a failure as pytest prints it: the traceback, with every chained exception
        _produced.append(str(report.longrepr))
    _produced.extend(text for _, text in report.sections)  # captured stdout, stderr and log of the test
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    leaks = [text for text in _produced if any(spelling in text for spelling in LEAKS)]
    if (worker := getattr(session.config, "workeroutput", None)) is not None:
        worker["token_leaks"] = leaks[:3]  # an xdist worker: the controller judges, with every worker's finds
        return
    leaks += _leaks_in_workers
    if leaks:
        # Shown from where the token starts (in one of its spellings), so the report names the place it leaked.
        where = min(i for spelling in LEAKS if (i := leaks[0].find(spelling)) >= 0)
        print(
            f"\nA token appeared in {len(leaks)} result(s), log line(s) or failure(s), e.g.: "
            f"{leaks[0][max(0, where - 150) : where + 50]!r}"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_leaks_in_workers: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist, on the controller: a worker is done; what it found leaked counts as if found here."""
    _leaks_in_workers.extend(getattr(node, "workeroutput", {}).get("token_leaks", []))


@pytest.fixture
def own_state_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A state directory of the test's own for every command it runs (`clean_env`): the sandbox's world persists
    there, so what one test deletes would be gone for the next."""
    monkeypatch.setattr("tests.helpers.STATE_HOME", str(tmp_path / "state"))


@pytest.fixture(scope="session")
def spelled() -> Callable[[str, str], bool]:
    """Whether a text holds a token in any of the spellings the leak guard looks for (`leak_spellings`)."""
    return lambda secret, text: any(spelling in text for spelling in leak_spellings(secret))
