"""copy_store on its own: what counts as already there, ids mapped, all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hoister.errors import HoisterError
from hoister.profiles import Profile
from hoister.store import Database, PolicyStore
from hoister.store.copy import CopyConflict, copy_store
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.profiles import SharedProfileStore
from tests.store.conftest import make_policy
from tests.support.postgres import PostgresServer

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LOCAL = Profile(name="local", url="localhost:5000")


@pytest.fixture
def team(postgres_server: PostgresServer) -> Iterator[Database]:
    name = postgres_server.create_database()
    with Database.open(postgres_server.url(name)) as database:
        yield database
    postgres_server.drop_database(name)


def _row(policy_id: int | None, tag: str, minutes: int, outcome: str = "promoted") -> HistoryRow:
    return HistoryRow(
        policy_id=policy_id,
        policy_name=f"policy {policy_id}",
        source_profile="local",
        source_repository="dev/app0",
        source_tag=tag,
        source_digest=None if outcome == "failed" else "sha256:" + "a" * 64,
        target_profile="local",
        target_repository="qa/app0",
        target_tag=None if outcome == "failed" else tag,
        outcome=outcome,
        reason="",
        started_at=T0 + timedelta(minutes=minutes),
        finished_at=T0 + timedelta(minutes=minutes, seconds=1),
    )


def test_only_what_is_new_is_copied(database: Database, team: Database) -> None:
    with PolicyStore(database) as store:
        first = store.add(make_policy(0))
    with PolicyStore(team) as theirs:
        theirs.add(make_policy(7))
        # Same name, another route: another policy, copied beside it.
        theirs.add(make_policy(0, target_repository="qa/elsewhere"))
    with HistoryStore(database) as history:
        history.add(_row(first.id, "1.0", 0))
        history.add(_row(first.id, "2.0", 1, outcome="failed"))  # NULL digest and tag
    report = copy_store(database, [LOCAL], team, author="ann@ws1")
    assert (report.policies, report.policies_there, report.history) == (1, 0, 2)
    assert first.id is not None and report.policy_ids[first.id] == 3
    with HistoryStore(database) as history:
        history.add(_row(first.id, "3.0", 2))
    again = copy_store(database, [LOCAL], team, author="ann@ws1")
    assert (again.policies, again.policies_there) == (0, 1)
    assert (again.history, again.history_there) == (1, 2)
    assert (again.connections, again.connections_there) == (0, 1)
    with HistoryStore(team) as history:
        rows = history.recent(10)
    assert [(r.source_tag, r.policy_id) for r in rows] == [("3.0", 3), ("2.0", 3), ("1.0", 3)]


def test_a_conflict_writes_nothing(database: Database, team: Database) -> None:
    with PolicyStore(database) as store:
        store.add(make_policy(0))
    SharedProfileStore(team).add(Profile(name="local", url="localhost:6000"))
    with pytest.raises(CopyConflict, match="'local'"):
        copy_store(database, [LOCAL], team, author="ann@ws1")
    with PolicyStore(team) as theirs:
        assert theirs.list() == []


def test_a_failing_check_writes_nothing(database: Database, team: Database) -> None:
    with PolicyStore(database) as store:
        store.add(make_policy(0))
        store.add(make_policy(1))

    def refuse_second(policy: object, others: list[object]) -> None:
        if others:
            raise HoisterError("refused")

    with pytest.raises(HoisterError, match="refused"):
        copy_store(database, [LOCAL], team, author="ann@ws1", check=refuse_second)
    assert SharedProfileStore(team).list() == []
    with PolicyStore(team) as theirs:
        assert theirs.list() == []


def test_a_failure_half_way_leaves_the_target_as_it_was(
    database: Database, team: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PolicyStore(database) as store:
        policy = store.add(make_policy(0))
    with HistoryStore(database) as history:
        history.add(_row(policy.id, "1.0", 0))

    def broken(*_args: object) -> None:  # the connection drops after policies were written
        raise HoisterError("the server went away")

    monkeypatch.setattr("hoister.store.copy._write_history", broken)
    with pytest.raises(HoisterError, match="went away"):
        copy_store(database, [LOCAL], team, author="ann@ws1")
    assert SharedProfileStore(team).list() == []
    with PolicyStore(team) as theirs, HistoryStore(team) as history:
        assert (theirs.list(), history.recent(10)) == ([], [])
