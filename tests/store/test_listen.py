"""ChangeListener: what one machine writes to a team database, another hears at once."""

from __future__ import annotations

import queue
from datetime import UTC, datetime

import psycopg

from hoister.store import Database, PolicyStore
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.listen import APPLICATION_NAME, PAYLOADS, ChangeListener
from tests.support.httpserver import free_port

from .conftest import make_policy

WAIT_S = 15


def _row() -> HistoryRow:
    now = datetime(2026, 12, 1, 10, 4, tzinfo=UTC)
    return HistoryRow(
        policy_id=None,
        policy_name="manual",
        source_profile="local",
        source_repository="dev/app",
        source_tag="1.0",
        source_digest="sha256:" + "a" * 64,
        target_profile="local",
        target_repository="qa/app",
        target_tag="1.0",
        outcome="promoted",
        reason="",
        started_at=now,
        finished_at=now,
    )


def test_policies_and_history_written_elsewhere_are_heard(postgres_url: str) -> None:
    heard: queue.Queue[str] = queue.Queue()
    with Database.open(postgres_url) as mine, Database.open(postgres_url) as theirs:
        listener = ChangeListener(mine, heard.put)
        listener.start()
        try:
            assert listener.listening.wait(WAIT_S)
            with PolicyStore(theirs, author="alice@ws2") as store:
                store.add(make_policy(1))
            assert heard.get(timeout=WAIT_S) == "policies"
            with HistoryStore(theirs) as history:
                history.add(_row())
            assert heard.get(timeout=WAIT_S) == "history"
        finally:
            assert listener.stop()
        assert not listener.active


def test_a_dropped_connection_is_made_again_and_what_was_missed_is_read(
    postgres_url: str,
) -> None:
    """The server ends the listener's session (a restart, a failover): it reconnects,
    says every payload once (what changed meanwhile was not heard), then hears again."""
    heard: queue.Queue[str] = queue.Queue()
    with Database.open(postgres_url) as database:
        listener = ChangeListener(database, heard.put, first_delay=0.05)
        listener.start()
        try:
            assert listener.listening.wait(WAIT_S)
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                ended = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = %s AND datname = current_database()",
                    (APPLICATION_NAME,),
                ).fetchall()
            assert ended == [(True,)]
            caught_up = [heard.get(timeout=WAIT_S) for _ in PAYLOADS]
            assert sorted(caught_up) == sorted(PAYLOADS)
            assert listener.connections == 2
            with PolicyStore(database) as store:
                store.add(make_policy(2))
            assert heard.get(timeout=WAIT_S) == "policies"
        finally:
            assert listener.stop()


def test_a_server_that_is_not_there_is_tried_again_until_stopped(postgres_url: str) -> None:
    url = postgres_url.rsplit("@", 1)[0] + f"@127.0.0.1:{free_port()}/nowhere"
    database = Database(url)  # not opened: nothing listens on that port
    heard: queue.Queue[str] = queue.Queue()
    listener = ChangeListener(database, heard.put, first_delay=0.01, max_delay=0.02)
    listener.start()
    try:
        for _ in range(3):
            assert listener.failed.wait(WAIT_S)
            listener.failed.clear()
            assert listener.active and not listener.listening.is_set()
    finally:
        assert listener.stop()
    assert heard.empty() and listener.connections == 0


def test_on_sqlite_it_does_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Database.open(tmp_path / "hoister.db") as database:
        listener = ChangeListener(database, lambda _payload: None)
        listener.start()
        assert not listener.active
        assert listener.stop()
