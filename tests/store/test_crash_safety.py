"""A process killed in the middle of a write leaves the old state or the new one, never half.

Each test seeds a database, starts ``crash_child.py`` in a child process, waits (reading
its standard output, no sleeps) for the line it prints from inside the transaction, kills
it with SIGKILL, and then reopens the database as the next start of Hoister would.

Two flavours: *blocked*, where the child waits inside the transaction so the kill is
certain to land mid-write (the state must then be exactly the old one), and *racing*,
where it keeps writing and the kill lands wherever it does (old or new, nothing between).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hoister.policies.model import Policy
from hoister.store import Database, PolicyStore

from .conftest import make_policy

CHILD = Path(__file__).with_name("crash_child.py")
APP = Path(__file__).resolve().parents[2] / "app"

ADD_COUNT = 20_000
UPDATE_COUNT = 4_000
OLD_DESCRIPTION = "old " + "o" * 1000

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _kill_inside_transaction(
    db_path: Path, mode: str, count: int, signal_at: int, block: bool
) -> int:
    """Run the child until it signals from inside its transaction, kill it, return its status."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(APP), env.get("PYTHONPATH")) if p)
    args = [sys.executable, str(CHILD), str(db_path), mode, str(count), str(signal_at)]
    with subprocess.Popen(
        [*args, "1" if block else "0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as child:
        assert child.stdout is not None
        line = child.stdout.readline()
        if line != "inserting\n":
            child.kill()
            _, err = child.communicate(timeout=60)
            pytest.fail(f"the child never reached its transaction: {line!r}\n{err}")
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)
    return child.returncode


def _reopen(db_path: Path) -> list[Policy]:
    """Open as the next start would (migrate included), check the file, return the policies."""
    database = Database.open(db_path)
    with database.connection() as conn:
        assert [tuple(row) for row in conn.execute("PRAGMA integrity_check")] == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    with PolicyStore(database) as store:
        return store.list()


def _wal_size(db_path: Path) -> int:
    wal = db_path.with_name(db_path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.mark.parametrize("block", [True, False], ids=["blocked", "racing"])
def test_killed_add_many_stores_all_or_nothing(db_path: Path, block: bool) -> None:
    with PolicyStore(Database.open(db_path)) as store:
        old = store.add_many([make_policy(n) for n in range(3)])

    status = _kill_inside_transaction(db_path, "add", ADD_COUNT, 5_000 if block else 50, block)

    if block:
        assert status == -signal.SIGKILL
        # The uncommitted pages did reach the WAL: recovery is what is being tested.
        assert _wal_size(db_path) > 0
    after = _reopen(db_path)
    assert len(after) in (len(old), len(old) + ADD_COUNT)
    assert after[: len(old)] == old
    if block:
        assert after == old
    with PolicyStore(Database(db_path)) as store:  # and the store goes on working
        assert store.add(make_policy(99)).id is not None


@pytest.mark.parametrize("block", [True, False], ids=["blocked", "racing"])
def test_killed_update_many_keeps_all_old_or_all_new(db_path: Path, block: bool) -> None:
    seed = [make_policy(n, description=OLD_DESCRIPTION) for n in range(UPDATE_COUNT)]
    with PolicyStore(Database.open(db_path)) as store:
        old = store.add_many(seed)

    status = _kill_inside_transaction(db_path, "update", 0, 3_000 if block else 50, block)

    if block:
        assert status == -signal.SIGKILL
        assert _wal_size(db_path) > 0
    after = _reopen(db_path)
    assert [p.id for p in after] == [p.id for p in old]
    descriptions = {p.description for p in after}
    stamps = {p.updated_at for p in after}
    assert len(descriptions) == 1 and len(stamps) == 1, "a mix of old and new values"
    if block:
        assert after == old
    else:
        assert descriptions <= {OLD_DESCRIPTION, "new " + "x" * 1000}
