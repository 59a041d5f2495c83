"""A sandbox world saved on disk is one world for every process using it: each sees the others' deletes and
restores, concurrent changes are all kept, a reset saves fresh demo data, and a file it cannot use means the demo
data, never a crash. Without a saved world nothing is written (every other sandbox test)."""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from github_packages_mcp.sandbox import (
    DEMO_LOGIN,
    DEMO_ORG,
    DEMO_TOKEN,
    SandboxError,
    SandboxServer,
    SandboxState,
    SavedWorld,
    build_demo_world,
)
from github_packages_mcp.sandbox.clock import demo_epoch
from github_packages_mcp.sandbox.model import OwnerRef, Token
from tests.sandbox.helpers import WEB_API

ORG = OwnerRef("org", DEMO_ORG)
ME = OwnerRef("user")
UNTAGGED = 3_000_000_000  # a web/api version without tags


def saved_state(directory: Path) -> SandboxState:
    return SandboxState(build_demo_world, saved=SavedWorld(directory))


def admin(state: SandboxState) -> Token:
    return state.authenticate(DEMO_TOKEN)


def is_active(state: SandboxState, version_id: int) -> bool:
    """Whether the web/api version is active in the world `state` holds now."""
    return any(
        v.id == version_id and v.deleted_at is None for v in state.package(DEMO_ORG, "container", "web/api").versions
    )


def saved_content(directory: Path) -> dict[str, Any]:
    content: dict[str, Any] = json.loads((directory / "world.json").read_text())
    return content


def test_a_change_saved_by_one_state_is_seen_by_another(tmp_path: Path) -> None:
    first, second = saved_state(tmp_path), saved_state(tmp_path)
    first.delete_version(admin(first), ORG, "container", "web/api", UNTAGGED)
    assert is_active(second, UNTAGGED)  # not yet looked
    second.sync()
    assert not is_active(second, UNTAGGED)
    _, deleted = second.list_versions(admin(second), ORG, "container", "web/api", "deleted")
    assert UNTAGGED in [v.id for v in deleted]
    second.restore_version(admin(second), ORG, "container", "web/api", UNTAGGED)
    first.sync()
    assert is_active(first, UNTAGGED)
    assert saved_content(tmp_path)["versions"] == {}  # restored: no difference from the demo data left
    # A third process, started now, builds the same world.
    first.delete_package(admin(first), ORG, "npm", "design-system")
    with pytest.raises(SandboxError):
        saved_state(tmp_path).get_package(admin(first), ORG, "npm", "design-system")


def test_a_server_answers_from_what_another_server_saved(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {DEMO_TOKEN}"}
    with SandboxServer(saved_state(tmp_path)) as first, SandboxServer(saved_state(tmp_path)) as second:
        version = f"{WEB_API}/versions/{UNTAGGED}"
        assert httpx2.get(second.url + version, headers=headers).status_code == 200
        assert httpx2.delete(first.url + version, headers=headers).status_code == 204
        assert httpx2.get(second.url + version, headers=headers).status_code == 404
        assert httpx2.post(second.url + "/_sandbox/reset").status_code == 204
        assert httpx2.get(first.url + version, headers=headers).status_code == 200


def test_concurrent_deletes_from_two_states_are_all_kept(tmp_path: Path) -> None:
    states = [saved_state(tmp_path), saved_state(tmp_path)]
    _, versions = states[0].list_versions(admin(states[0]), ORG, "container", "web/api", None)
    untagged = [v.id for v in versions if not v.tags][:60]
    shares = [untagged[0::2], untagged[1::2]]

    def delete(state: SandboxState, ids: list[int]) -> None:
        for version_id in ids:
            state.delete_version(admin(state), ORG, "container", "web/api", version_id)

    threads = [threading.Thread(target=delete, args=pair) for pair in zip(states, shares, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(int, saved_content(tmp_path)["versions"])) == sorted(untagged)
    fresh = saved_state(tmp_path)
    assert not any(is_active(fresh, version_id) for version_id in untagged)


def test_a_change_is_made_on_the_latest_saved_world(tmp_path: Path) -> None:
    first, second = saved_state(tmp_path), saved_state(tmp_path)
    first.delete_package(admin(first), ORG, "npm", "design-system")
    # `second` has not synced: it still sees the package, yet deleting it again is refused as GitHub would.
    with pytest.raises(SandboxError) as refused:
        second.delete_package(admin(second), ORG, "npm", "design-system")
    assert refused.value.status == 404


@pytest.mark.parametrize(
    "content",
    [
        b"not json at all",
        b"\xff\xfe\x00",
        b'{"format": "something else", "version": 1}',
        b'{"format": "github-packages-mcp sandbox world", "version": 99, "epoch": "2026-01-01T00:00:00+00:00"}',
        b'{"format": "github-packages-mcp sandbox world", "version": 1, "epoch": "yesterday", "packages": {},'
        b' "versions": {}}',
        b'{"format": "github-packages-mcp sandbox world", "version": 1, "epoch": "2026-01-01T00:00:00",'
        b' "packages": {}, "versions": {}}',
        b'{"format": "github-packages-mcp sandbox world", "version": 1, "epoch": "2026-01-01T00:00:00+00:00",'
        b' "packages": [], "versions": {"x": null}}',
    ],
)
def test_a_file_it_cannot_use_means_fresh_demo_data(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "world.json").write_bytes(content)
    with caplog.at_level(logging.WARNING):
        state = saved_state(tmp_path)
    assert "is not usable" in caplog.text
    assert is_active(state, UNTAGGED)
    assert saved_content(tmp_path)["epoch"] == demo_epoch(datetime.now(UTC)).isoformat()  # replaced by a good one
    state.delete_version(admin(state), ORG, "container", "web/api", UNTAGGED)
    assert not is_active(saved_state(tmp_path), UNTAGGED)


def test_a_saved_world_keeps_its_epoch_until_a_reset(tmp_path: Path) -> None:
    epoch = demo_epoch(datetime.now(UTC) - timedelta(days=3))
    deleted = epoch + timedelta(hours=1)
    (tmp_path / "world.json").write_text(
        json.dumps(
            {
                "format": "github-packages-mcp sandbox world",
                "version": 1,
                "epoch": epoch.isoformat(),
                "packages": {},
                "versions": {str(UNTAGGED): deleted.isoformat()},
            }
        )
    )
    state = saved_state(tmp_path)
    package = state.package(DEMO_ORG, "container", "web/api")
    built = next(p for p in build_demo_world(epoch).packages if p.name == "web/api" and p.owner.login == DEMO_ORG)
    assert [v.created_at for v in package.versions] == [v.created_at for v in built.versions]
    assert next(v for v in package.versions if v.id == UNTAGGED).deleted_at == deleted
    state.reset()
    assert saved_content(tmp_path) == {
        "format": "github-packages-mcp sandbox world",
        "version": 1,
        "epoch": demo_epoch(datetime.now(UTC)).isoformat(),
        "packages": {},
        "versions": {},
    }
    assert is_active(state, UNTAGGED)


def test_restoring_a_package_the_demo_data_holds_deleted_is_saved(tmp_path: Path) -> None:
    state = saved_state(tmp_path)
    state.restore_package(admin(state), ME, "npm", "old-cli")
    assert saved_content(tmp_path)["packages"] == {str(state.package(DEMO_LOGIN, "npm", "old-cli").id): None}
    assert saved_state(tmp_path).package(DEMO_LOGIN, "npm", "old-cli").deleted_at is None


def test_what_the_control_api_adds_stays_in_memory(tmp_path: Path) -> None:
    state = saved_state(tmp_path)
    package = state.add_package(DEMO_ORG, "npm", "added", versions=3)
    state.delete_version(admin(state), ORG, "npm", "added", package.versions[0].id)
    assert saved_content(tmp_path)["versions"] == {}
    state.delete_version(admin(state), ORG, "container", "web/api", UNTAGGED)  # a saved change keeps it here
    assert state.package(DEMO_ORG, "npm", "added").versions[0].deleted_at is not None
    with pytest.raises(KeyError):
        saved_state(tmp_path).package(DEMO_ORG, "npm", "added")


def test_the_file_is_private_and_written_whole(tmp_path: Path) -> None:
    directory = tmp_path / "sandbox"
    state = saved_state(directory)
    state.delete_version(admin(state), ORG, "container", "web/api", UNTAGGED)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "world.json").stat().st_mode) == 0o600
    assert sorted(path.name for path in directory.iterdir()) == ["world.json", "world.lock"]  # no temporary left


def test_a_change_that_cannot_be_saved_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = saved_state(tmp_path)

    def full_disk(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        state.delete_version(admin(state), ORG, "container", "web/api", UNTAGGED)
    assert is_active(state, UNTAGGED)
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []
