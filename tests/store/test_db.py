"""The database file: connection settings, privacy, migrations and refusals."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from hoister.errors import HoisterError
from hoister.store import Database, transaction
from hoister.store import db as db_module
from hoister.store.migrations import APPLICATION_ID, LATEST_VERSION, MIGRATIONS, TABLES


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """Bytes, mtime and the folder listing: everything a refusal must leave as it was."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def test_fresh_database_has_latest_schema_and_all_tables(database: Database) -> None:
    with database.connection() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION == 4
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        names = {row["name"] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert set(TABLES) <= names
    assert {
        "policies_source",
        "policies_target",
        "history_finished",
        "history_source",
        "history_target",
        "queue_due",
    } <= names


def test_connection_settings(database: Database) -> None:
    with database.connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.isolation_level is None
        assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), sqlite3.Row)


def test_each_connect_is_a_new_connection(database: Database) -> None:
    with database.connection() as first, database.connection() as second:
        assert first is not second


def test_reopen_is_a_no_op(db_path: Path) -> None:
    Database.open(db_path)
    with Database(db_path).connection() as conn:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        conn.execute("INSERT INTO facts VALUES ('sha256:a', 'labels', '{}', 'test', 'now')")
    assert Database.open(db_path).migrate() == LATEST_VERSION
    with Database(db_path).connection() as conn:
        again = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        assert [tuple(r) for r in again] == [tuple(r) for r in schema]
        assert conn.execute("SELECT count(*) FROM facts").fetchone()[0] == 1


def test_file_is_private(database: Database, db_path: Path) -> None:
    with database.connection() as conn:
        conn.execute("INSERT INTO facts VALUES ('sha256:a', 'labels', '{}', 'test', 'now')")
        wal = db_path.with_name(db_path.name + "-wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_empty_file_is_a_new_database(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch()
    assert Database.open(db_path).schema_version() == LATEST_VERSION


def test_newer_database_is_refused_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE policies (id INTEGER PRIMARY KEY, future TEXT)")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 6}")
    conn.commit()
    conn.close()
    before = _snapshot(db_path)

    with pytest.raises(HoisterError) as caught:
        Database.open(db_path)

    assert str(caught.value).startswith(
        f"the database at {db_path} was written by a newer Hoister "
        f"(schema {LATEST_VERSION + 6}); this version knows up to {LATEST_VERSION}"
    )
    assert caught.value.exit_code == 1
    assert _snapshot(db_path) == before


@pytest.mark.parametrize(
    "content",
    [b"this is my shopping list, not a database\n" * 50, bytes(range(256)) * 16],
    ids=["text", "binary"],
)
def test_garbage_file_is_refused_untouched(db_path: Path, content: bytes) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(content)
    before = _snapshot(db_path)

    with pytest.raises(HoisterError, match="not a SQLite database") as caught:
        Database.open(db_path)

    assert str(db_path) in str(caught.value)
    assert _snapshot(db_path) == before


def test_connect_on_garbage_names_the_file(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"garbage" * 100)
    with pytest.raises(HoisterError, match=str(db_path)):
        Database(db_path).connect()
    assert db_path.read_bytes() == b"garbage" * 100


def test_other_programs_database_is_refused_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.commit()
    conn.close()
    before = _snapshot(db_path)

    with pytest.raises(HoisterError, match="another program"):
        Database.open(db_path)
    assert _snapshot(db_path) == before


def test_failing_migration_leaves_the_previous_version(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ("CREATE TABLE added_in_two (x)", "THIS IS NOT SQL")
    monkeypatch.setattr(db_module, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(db_module, "LATEST_VERSION", LATEST_VERSION + 1)

    with pytest.raises(sqlite3.OperationalError):
        database.migrate()

    with database.connection() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "added_in_two" not in tables


def test_two_threads_opening_a_new_database_migrate_once(db_path: Path) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        try:
            barrier.wait()
            Database.open(db_path)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Database(db_path).schema_version() == LATEST_VERSION


def test_transaction_commits_or_rolls_back(database: Database) -> None:
    insert = "INSERT INTO facts VALUES (?, 'labels', '{}', 'test', 'now')"
    with database.connection() as conn:
        with transaction(conn):
            conn.execute(insert, ("sha256:kept",))
        with pytest.raises(RuntimeError), database.transaction(conn):
            conn.execute(insert, ("sha256:dropped",))
            raise RuntimeError("crash in the middle")
        assert not conn.in_transaction
        digests = [row[0] for row in conn.execute("SELECT digest FROM facts")]
    assert digests == ["sha256:kept"]


def test_transaction_holds_the_write_lock_from_the_start(database: Database) -> None:
    """BEGIN IMMEDIATE: another writer is kept out even before the first write."""
    with database.connection() as conn, database.connection() as other:
        other.execute("PRAGMA busy_timeout = 0")
        with transaction(conn), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO facts VALUES ('x', 'k', '{}', '', 'now')")
