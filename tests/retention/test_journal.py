"""The journal on disk: signed lines in month files, read as they grow, shared by processes, private, pruned; and
the times a query accepts."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from github_packages_mcp.errors import InvalidArguments
from github_packages_mcp.retention.history import JournalQuery, history, parse_moment
from github_packages_mcp.retention.journal import Actor, Journal, Subject
from github_packages_mcp.state.local import LocalJournal, LocalState
from tests.helpers import StoppedClock

pytestmark = pytest.mark.anyio
DAY = 86_400.0
START = StoppedClock.START  # 2026-12-02T12:00:00Z
KEY = b"k" * 32
ME = Actor("a1b2c3d4e5f60718", "delete_org_package_version", "claude-ai 0.1")


def version(version_id: int, package: str = "web/api") -> Subject:
    return Subject(
        owner_kind="org", owner_login="acme-labs", package_type="container", package_name=package, version_id=version_id
    )


@pytest.fixture
def lines(tmp_path: Path, clock: StoppedClock) -> LocalJournal:
    return LocalState(tmp_path / "state", clock=clock).journal


@pytest.fixture
def journal(lines: LocalJournal, clock: StoppedClock) -> Journal:
    return Journal(lines, lambda: KEY, clock=clock)


async def test_a_line_is_signed_private_and_read_back(journal: Journal, tmp_path: Path) -> None:
    await journal.record(ME, version(1000), "deleted")
    path = tmp_path / "state" / "journal" / "2026-12.jsonl"
    assert journal.file_name() == "journal/2026-12.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert '"mac":' in path.read_text()
    [entry] = (await journal.read()).entries
    assert (entry.version_id, entry.result, entry.time, entry.client) == (
        1000,
        "deleted",
        "2026-12-02T12:00:00Z",
        ME.client,
    )


async def test_changed_foreign_and_broken_lines_are_ignored_and_counted(journal: Journal, tmp_path: Path) -> None:
    await journal.record(ME, version(1000), "deleted")
    path = tmp_path / "state" / "journal" / "2026-12.jsonl"
    line = path.read_text()
    other_key = Journal(LocalState(tmp_path / "other").journal, lambda: b"x" * 32)
    await other_key.record(ME, version(1001), "deleted")
    with path.open("a") as file:
        file.write(line.replace("1000", "1002"))  # changed
        file.write((tmp_path / "other" / "journal" / "2026-12.jsonl").read_text())  # another server's
        file.write('not json\n{"version_id": 1}\n\n')
    read = await journal.read()
    assert [e.version_id for e in read.entries] == [1000]
    assert read.unverified == 4


async def test_a_growing_file_is_read_from_where_the_last_read_stopped(journal: Journal, tmp_path: Path) -> None:
    other_process = Journal(
        LocalState(tmp_path / "state", clock=lambda: START).journal, lambda: KEY, clock=lambda: START
    )
    await journal.record(ME, version(1000), "deleted")
    assert len((await other_process.read()).entries) == 1
    path = tmp_path / "state" / "journal" / "2026-12.jsonl"
    await journal.record(ME, version(1001), "deleted")
    complete = path.read_bytes()
    half = complete.splitlines(keepends=True)[-1][:40]
    path.write_bytes(complete + half)  # a line another process is still writing
    assert [e.version_id for e in (await other_process.read()).entries] == [1000, 1001]
    path.write_bytes(complete)
    await journal.record(ME, version(1002), "deleted")
    read = await other_process.read()
    assert [e.version_id for e in read.entries] == [1000, 1001, 1002]
    assert read.unverified == 0


async def test_month_files_go_35_days_after_their_month_ends(
    journal: Journal, lines: LocalJournal, clock: StoppedClock, tmp_path: Path
) -> None:
    await journal.record(ME, version(1000), "deleted")
    clock.now = datetime(2027, 1, 10, tzinfo=UTC).timestamp()
    await journal.record(ME, version(1001), "deleted")
    old_format = tmp_path / "state" / "journal" / "91605a01b3217976.jsonl"
    old_format.write_text("")
    clock.now = (datetime(2027, 1, 1, tzinfo=UTC) + timedelta(days=35)).timestamp()
    lines.prune()
    assert [e.version_id for e in (await journal.read()).entries] == [1000, 1001]
    clock.now += 1
    lines.prune()
    assert [e.version_id for e in (await journal.read()).entries] == [1001]
    assert not old_format.exists()


async def test_what_can_be_restored_is_the_last_deletion_within_thirty_days(
    journal: Journal, clock: StoppedClock
) -> None:
    await journal.record(ME, version(1000), "deleted")
    await journal.record(ME, version(1001), "deleted")
    await journal.record(ME, version(1001), "restored")
    await journal.record(ME, version(1002), "deleted")
    await journal.record(ME, version(1002), "restore_failed", "403: no")
    await journal.record(ME, version(1003), "failed", "400: no")
    restorable = {e.version_id for e in (await history(journal, JournalQuery())).entries if e.restorable}
    assert restorable == {1000, 1002}
    clock.now += 30 * DAY
    assert (await history(journal, JournalQuery())).restorable == 0


async def test_a_query_selects_by_time_name_plan_ids_and_caller(journal: Journal, clock: StoppedClock) -> None:
    await journal.record(ME, version(1000), "deleted", plan_id="p1")
    clock.now += DAY
    await journal.record(ME, version(1001, "multi/app"), "deleted")
    await journal.record(Actor("0000000000000000", "restore_from_journal"), version(1002), "deleted")
    now = datetime.fromtimestamp(clock.now, UTC)

    async def ids(query: JournalQuery) -> list[int | None]:
        return [e.version_id for e in (await history(journal, query)).entries]

    assert await ids(JournalQuery()) == [1002, 1001, 1000]  # newest first
    assert await ids(JournalQuery(since=now - timedelta(hours=1))) == [1002, 1001]
    assert await ids(JournalQuery(until=now - timedelta(hours=1))) == [1000]
    assert await ids(JournalQuery(package_name="multi/*")) == [1001]
    assert await ids(JournalQuery(plan_id="p1")) == [1000]
    assert await ids(JournalQuery(version_ids=frozenset({1000, 1002}))) == [1002, 1000]
    assert await ids(JournalQuery(caller=ME.caller)) == [1001, 1000]


def test_moments_are_iso_dates_times_or_ages() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert parse_moment("since", "36h", now) == now - timedelta(hours=36)
    assert parse_moment("since", "7d", now) == now - timedelta(days=7)
    assert parse_moment("since", "2w", now) == now - timedelta(weeks=2)
    assert parse_moment("since", "2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_moment("until", "2026-12-01T09:00:00Z", now) == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert parse_moment("until", "2026-12-01T11:00:00+02:00", now) == datetime(2026, 12, 1, 9, tzinfo=UTC)
    with pytest.raises(InvalidArguments, match=r"sent: until: an ISO 8601 date or time .* got 'yesterday'"):
        parse_moment("until", "yesterday", now)


async def test_a_delete_whose_outcome_was_never_journaled_counts_as_deleted(journal: Journal) -> None:
    await journal.record(ME, version(1000), "deleting")
    await journal.record(ME, version(1000), "deleted")
    await journal.record(ME, version(1001), "deleting")
    await journal.record(ME, version(1001), "failed", "400: no")
    await journal.record(ME, version(1002), "deleting")  # sent; then the journal could not be written
    listed = await history(journal, JournalQuery())
    assert [(e.version_id, e.result, e.restorable) for e in listed.entries] == [
        (1002, "deleting", True),
        (1001, "failed", False),
        (1000, "deleted", True),
    ]
