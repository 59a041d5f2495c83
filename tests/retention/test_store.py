"""The cleanup store: plans signed and bound to their caller, refused alike when they fail, expiring; everything
private on disk and pruned; and the server key that signs it all."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from github_packages_mcp.errors import InvalidArguments, StateUnavailable
from github_packages_mcp.retention.store import (
    CleanupStore,
    PlanExpired,
    PlannedDeletion,
    PlanNotFound,
    SavedPlan,
    StoreUnavailable,
)
from github_packages_mcp.state.local import LocalPlans, LocalState
from github_packages_mcp.toolkit.tokens import KEY_FILE, ServerKeys, derived_key
from tests.helpers import StoppedClock

pytestmark = pytest.mark.anyio
DAY = 86_400.0
START = StoppedClock.START  # 2026-12-02T12:00:00Z
KEY = b"k" * 32
ME, SOMEONE_ELSE = "a1b2c3d4e5f60718", "0000000000000000"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def a_plan(plan_id: str = "91605a01b3217976", versions: int = 3, caller: str = ME, **changes: Any) -> SavedPlan:
    return SavedPlan(
        plan_id=plan_id,
        created_at="2026-12-02T12:00:00Z",
        expires_at="2026-12-09T12:00:00Z",
        caller=caller,
        owner_kind="org",
        owner_login="acme-labs",
        package_type="container",
        rules={"tagged": "untagged", "keep_latest": 0},
        deletions=[
            PlannedDeletion(id=1000 + i, name=f"sha256:{i:064x}", tags=[], package_name="web/api")
            for i in range(versions)
        ],
        **changes,
    )


@pytest.fixture
def plans(tmp_path: Path, clock: StoppedClock) -> LocalPlans:
    return LocalState(tmp_path / "state", clock=clock).plans


@pytest.fixture
def store(plans: LocalPlans, clock: StoppedClock) -> CleanupStore:
    return CleanupStore(plans, lambda: KEY, clock=clock)


async def unknown_message(store: CleanupStore, plan_id: str) -> str:
    with pytest.raises(PlanNotFound) as refused:
        await store.load(plan_id, ME)
    return str(refused.value)


async def test_a_saved_plan_loads_back_for_its_caller_and_is_one_compact_signed_line(
    store: CleanupStore, plans: LocalPlans
) -> None:
    plan = a_plan()
    await store.save(plan)
    assert await store.load(plan.plan_id, ME) == plan
    text = plans.path(plan.plan_id).read_text()
    assert "\n" not in text
    assert ": " not in text
    stored = json.loads(text)
    assert stored["format"] == 2
    assert stored["caller"] == ME
    assert len(stored["mac"]) == 64


EDITS = {
    "a version id": lambda c: c["deletions"][0].update(id=4242),
    "a package name": lambda c: c["deletions"][1].update(package_name="base-image"),
    "a deletion added": lambda c: c["deletions"].append({"id": 7, "name": "v1", "package_name": "web/api"}),
    "the owner": lambda c: c.update(owner_login="someone-else"),
    "the caller": lambda c: c.update(caller=SOMEONE_ELSE),
    "the expiry": lambda c: c.update(expires_at="2099-01-01T00:00:00Z"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
async def test_an_edited_plan_is_refused_exactly_like_a_missing_one(
    store: CleanupStore, plans: LocalPlans, edit: Any
) -> None:
    plan = a_plan()
    await store.save(plan)
    path = plans.path(plan.plan_id)
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))
    missing = await unknown_message(store, "feedfacefeedface")
    assert await unknown_message(store, plan.plan_id) == missing.replace("feedfacefeedface", plan.plan_id)


async def test_unsigned_plans_of_older_versions_another_key_and_a_renamed_plan_are_refused(
    store: CleanupStore, plans: LocalPlans, tmp_path: Path, clock: StoppedClock
) -> None:
    old = a_plan("0ld0ld0ld0ld0ld0").model_dump(exclude={"caller", "expires_at", "format"})
    await store.save(a_plan())
    plans.path("0ld0ld0ld0ld0ld0").write_text(json.dumps(old, indent=1))
    message = await unknown_message(store, "0ld0ld0ld0ld0ld0")
    assert "an older version of this server saved it without a signature" in message
    assert "make one with plan_version_cleanup" in message
    await CleanupStore(LocalState(tmp_path / "state", clock=clock).plans, lambda: b"another key" * 3, clock=clock).save(
        a_plan("another0key0plan")
    )
    await unknown_message(store, "another0key0plan")
    os.replace(plans.path("91605a01b3217976"), plans.path("renamed0renamed0"))
    await unknown_message(store, "renamed0renamed0")
    plans.path("garbage0garbage0").write_text("{not json")
    await unknown_message(store, "garbage0garbage0")


async def test_another_callers_plan_is_refused_like_a_missing_one(store: CleanupStore) -> None:
    await store.save(a_plan())
    with pytest.raises(PlanNotFound) as refused:
        await store.load("91605a01b3217976", SOMEONE_ELSE)
    assert str(refused.value) == (await unknown_message(store, "feedfacefeedface")).replace(
        "feedfacefeedface", "91605a01b3217976"
    )


def test_the_digest_covers_the_whole_plan() -> None:
    plan = a_plan()
    assert plan.digest() == a_plan().digest()
    last = plan.deletions[-1].model_copy(update={"id": 1})
    assert plan.model_copy(update={"deletions": [*plan.deletions[:-1], last]}).digest() != plan.digest()
    assert plan.model_copy(update={"rules": {"tagged": "any"}}).digest() != plan.digest()


async def test_an_expired_plan_says_so_but_still_loads_for_a_restore(store: CleanupStore, clock: StoppedClock) -> None:
    await store.save(a_plan())
    clock.now = START + 7 * DAY
    with pytest.raises(PlanExpired, match=r"^plan 91605a01b3217976 expired on 2026-12-09T12:00:00Z .*make a new one"):
        await store.load("91605a01b3217976", ME)
    assert (await store.load("91605a01b3217976", ME, expired_ok=True)).plan_id == "91605a01b3217976"
    with pytest.raises(PlanNotFound):  # another caller learns nothing, not even that it expired
        await store.load("91605a01b3217976", SOMEONE_ELSE)


async def test_plans_are_pruned_35_days_after_they_were_made(
    store: CleanupStore, plans: LocalPlans, clock: StoppedClock
) -> None:
    await store.save(a_plan("old0000000000000"))
    clock.now = START + 35 * DAY  # as long as the journal keeps what it deleted, for a restore by plan id
    plans.prune()
    assert plans.path("old0000000000000").exists()
    clock.now = START + 35 * DAY + 1
    await store.save(a_plan("fresh00000000000"))  # saving prunes
    assert not plans.path("old0000000000000").exists()
    assert plans.path("fresh00000000000").exists()


async def test_a_new_store_prunes_on_first_use(
    tmp_path: Path, store: CleanupStore, plans: LocalPlans, clock: StoppedClock
) -> None:
    await store.save(a_plan("unapplied0000000"))
    clock.now = START + 36 * DAY
    reopened = CleanupStore(LocalState(tmp_path / "state", clock=clock).plans, lambda: KEY, clock=clock)
    with pytest.raises(PlanNotFound):
        await reopened.load("unapplied0000000", ME)
    assert not plans.path("unapplied0000000").exists()


async def test_directories_are_0700_and_files_0600_even_where_they_were_looser(
    tmp_path: Path, clock: StoppedClock
) -> None:
    directory = tmp_path / "state"
    (directory / "plans").mkdir(parents=True)
    for loose in (directory, directory / "plans"):
        loose.chmod(0o777)
    plans = LocalState(directory, clock=clock).plans
    await CleanupStore(plans, lambda: KEY, clock=clock).save(a_plan())
    assert mode(directory / "plans") == 0o700
    assert mode(plans.path("91605a01b3217976")) == 0o600
    fresh = CleanupStore(LocalState(tmp_path / "new" / "state", clock=clock).plans, lambda: KEY, clock=clock)
    await fresh.save(a_plan())
    assert mode(tmp_path / "new" / "state") == 0o700


@pytest.mark.parametrize("plan_id", ["a" * 300, "a" * 65, "../x", "", "a.b", "a/b"])
async def test_what_cannot_be_a_plan_id_is_a_clear_error(store: CleanupStore, plan_id: str) -> None:
    await store.save(a_plan())  # the plans directory exists: a long name would meet the file system's limit
    with pytest.raises(InvalidArguments, match="is not a plan id") as refused:
        await store.load(plan_id, ME)
    assert len(str(refused.value)) < 200


async def test_a_disk_failure_names_no_path(tmp_path: Path, clock: StoppedClock) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / "plans").write_text("a file where the plans directory goes")
    store = CleanupStore(LocalState(directory, clock=clock).plans, lambda: KEY, clock=clock)
    with pytest.raises(StoreUnavailable) as failed:
        await store.save(a_plan())
    assert str(tmp_path) not in str(failed.value)
    assert "could not save the cleanup plan" in str(failed.value)
    assert isinstance(failed.value, StateUnavailable)


# --- The server key ------------------------------------------------------------------------------------------


def test_the_key_is_made_once_private_and_read_back_after_a_restart(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    assert not directory.exists()
    first = ServerKeys(directory).key("plans")
    assert mode(directory) == 0o700
    assert mode(directory / KEY_FILE) == 0o600
    assert len((directory / KEY_FILE).read_bytes()) == 32
    assert ServerKeys(directory).key("plans") == first
    assert len({first, ServerKeys(directory).key("confirmation"), ServerKeys(directory).key("request-state")}) == 3


def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    directory, start, keys = tmp_path / "state", threading.Barrier(8), []

    def starting() -> None:
        start.wait()
        keys.append(ServerKeys(directory).key("plans"))

    threads = [threading.Thread(target=starting) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1


def test_separate_processes_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    directory, start = tmp_path / "state", time.time() + 0.5
    script = (
        "import sys, time; from pathlib import Path; from github_packages_mcp.toolkit.tokens import ServerKeys; "
        f"time.sleep(max(0, {start} - time.time())); print(ServerKeys(Path(sys.argv[1])).key('plans').hex())"
    )
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    starting = [
        subprocess.Popen([sys.executable, "-c", script, str(directory)], stdout=subprocess.PIPE, env=environment)
        for _ in range(6)
    ]
    keys = {process.communicate(timeout=30)[0].strip() for process in starting}
    assert len(keys) == 1
    assert bytes.fromhex(keys.pop().decode()) == ServerKeys(directory).key("plans")


def test_the_shared_secret_wins_and_touches_no_disk(tmp_path: Path) -> None:
    keys = ServerKeys(tmp_path / "state", "a shared secret of enough length")
    assert keys.key("confirmation") == derived_key("a shared secret of enough length", "confirmation")
    assert not (tmp_path / "state").exists()


def test_a_key_file_that_holds_no_key_gives_a_key_for_this_process_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / KEY_FILE).write_bytes(b"short")
    one, two = ServerKeys(tmp_path).key("plans"), ServerKeys(tmp_path).key("plans")
    assert one != two
    assert "using a key for this process only" in caplog.text
    assert (tmp_path / KEY_FILE).read_bytes() == b"short"  # never overwritten: what it signed fails closed


def test_a_journal_dir_others_could_write_to_is_made_private_one_they_can_read_is_left(tmp_path: Path) -> None:
    """Whoever may rename entries of journal_dir could swap the server's key for one they know."""
    writable, readable = tmp_path / "writable", tmp_path / "readable"
    for directory, loose in ((writable, 0o777), (readable, 0o755)):
        directory.mkdir()
        directory.chmod(loose)
        ServerKeys(directory).key("plans")
    assert (mode(writable), mode(readable)) == (0o700, 0o755)
