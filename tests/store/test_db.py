"""The database file: connection settings, privacy, migrations and refusals."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
import sqlalchemy

from hoister.errors import HoisterError
from hoister.store import Database, schema, transaction
from hoister.store.schema import APPLICATION_ID, LATEST_VERSION, TABLES
from hoister.store.sql import Record

LEGACY_V4 = Path(__file__).with_name("legacy_v4.sql")


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    """Bytes, mtime and the folder listing: everything a refusal must leave as it was."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


def test_fresh_database_has_latest_schema_and_all_tables(sqlite_database: Database) -> None:
    with sqlite_database.connection() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION == 6
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("SELECT version_num FROM alembic_version").scalar() == "0006"
        names = {row["name"] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert set(TABLES) <= names
    assert {
        "policies_source",
        "policies_target",
        "history_finished",
        "history_source",
        "history_target",
        "queue_due",
        "policies_msr_id",
    } <= names


def test_connection_settings(sqlite_database: Database) -> None:
    with sqlite_database.connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert isinstance(conn.execute("SELECT 1 AS one").fetchone(), Record)


def test_each_connect_is_a_new_connection(sqlite_database: Database) -> None:
    with sqlite_database.connection() as first, sqlite_database.connection() as second:
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


def test_file_is_private(sqlite_database: Database, db_path: Path) -> None:
    with sqlite_database.connection() as conn:
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


BROKEN_REVISION = f"""
import sqlalchemy as sa
from alembic import op

revision = "{LATEST_VERSION + 1:04d}"
down_revision = "{LATEST_VERSION:04d}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("added_in_next", sa.Column("x", sa.Integer))
    op.execute("THIS IS NOT SQL")
"""


def test_failing_migration_leaves_the_previous_version(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    revisions = tmp_path / "revisions"
    shutil.copytree(schema.REVISIONS_DIR, revisions)
    (revisions / "versions" / f"{LATEST_VERSION + 1:04d}_broken.py").write_text(BROKEN_REVISION)
    monkeypatch.setattr(schema, "REVISIONS_DIR", revisions)

    with pytest.raises(sqlalchemy.exc.OperationalError):
        sqlite_database.migrate()

    with sqlite_database.connection() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert conn.execute("SELECT version_num FROM alembic_version").scalar() == "0006"
    assert "added_in_next" not in tables


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


def test_transaction_commits_or_rolls_back(sqlite_database: Database) -> None:
    insert = "INSERT INTO facts VALUES (?, 'labels', '{}', 'test', 'now')"
    with sqlite_database.connection() as conn:
        with transaction(conn):
            conn.execute(insert, ("sha256:kept",))
        with pytest.raises(RuntimeError), sqlite_database.transaction(conn):
            conn.execute(insert, ("sha256:dropped",))
            raise RuntimeError("crash in the middle")
        assert not conn.in_transaction
        digests = [row[0] for row in conn.execute("SELECT digest FROM facts")]
    assert digests == ["sha256:kept"]


def test_transaction_holds_the_write_lock_from_the_start(sqlite_database: Database) -> None:
    """BEGIN IMMEDIATE: another writer is kept out even before the first write."""
    with sqlite_database.connection() as conn, sqlite_database.connection() as other:
        other.execute("PRAGMA busy_timeout = 0")
        with transaction(conn), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO facts VALUES ('x', 'k', '{}', '', 'now')")


def _legacy_file(path: Path) -> None:
    """A file exactly as Hoister wrote it before Alembic: schema 4, no revision table."""
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(LEGACY_V4.read_text())
    conn.execute("PRAGMA user_version = 4")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.close()


def test_a_file_from_before_alembic_is_stamped_and_upgraded_keeping_its_rows(
    db_path: Path,
) -> None:
    _legacy_file(db_path)

    assert Database.open(db_path).schema_version() == LATEST_VERSION

    with Database(db_path).connection() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").scalar() == "0006"
        policy = conn.execute("SELECT name, version, updated_by FROM policies").fetchone()
        assert policy is not None
        assert (policy["name"], policy["version"], policy["updated_by"]) == ("stable to qa", 1, "")
        msr = conn.execute("SELECT msr_id, last_promoted_exact FROM policies").fetchone()
        assert msr is not None and tuple(msr) == (None, None)  # made here: no MSR identity
        row = conn.execute("SELECT target_tag, agent FROM history").fetchone()
        assert row is not None and (row["target_tag"], row["agent"]) == ("1.4-stable", "")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert set(TABLES) <= names


def test_an_older_hoister_would_refuse_the_upgraded_file(db_path: Path) -> None:
    """Schema 4 code refused user_version > 4; the upgraded file says 5, so it is safe
    from the Hoister that came before (which knew nothing of Alembic)."""
    _legacy_file(db_path)
    Database.open(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION > 4
    conn.close()


def test_an_unknown_revision_is_a_newer_hoister(db_path: Path) -> None:
    Database.open(db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("UPDATE alembic_version SET version_num = '0042'")
    conn.close()
    before = _snapshot(db_path)

    with pytest.raises(HoisterError, match=r"newer Hoister \(schema 42\)"):
        Database.open(db_path)
    assert _snapshot(db_path)[0] == before[0]


@pytest.mark.parametrize(
    "url",
    ["postgresql://bob:s3cret@no-such-host.invalid/team", "postgresql://bob:s3cret@127.0.0.1:1/t"],
    ids=["unresolvable", "refused"],
)
def test_an_unreachable_team_database_is_one_sentence_without_the_password(url: str) -> None:
    with pytest.raises(HoisterError, match="cannot reach the team database at") as caught:
        Database.open(url)
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)
