"""The GUI thread and the engine thread write the same file through their own stores."""

from __future__ import annotations

import threading

from hoister.policies.model import Policy
from hoister.store import Database, PolicyStore

from .conftest import make_policy

PER_THREAD = 150


def test_two_writers_and_a_reader_on_one_file(database: Database) -> None:
    """Every row arrives and nobody sees "database is locked" (busy_timeout, WAL)."""
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []
    added: dict[str, list[Policy]] = {}
    reads: list[int] = []
    writers_done = threading.Event()

    def write(name: str) -> None:
        try:
            with PolicyStore(database) as store:
                barrier.wait()
                added[name] = [
                    store.add(make_policy(n, name=f"{name} {n}")) for n in range(PER_THREAD)
                ]
        except BaseException as exc:
            errors.append(exc)

    def read() -> None:
        # WAL: a reader is never blocked by the writers, and sees only whole commits.
        try:
            with PolicyStore(database) as store:
                barrier.wait()
                while not writers_done.is_set():
                    reads.append(len(store.list()))
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(name,)) for name in ("gui", "engine")]
    reader = threading.Thread(target=read)
    for thread in (*writers, reader):
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    reader.join()

    assert errors == []
    with PolicyStore(database) as store:
        stored = store.list()
    assert len(stored) == 2 * PER_THREAD
    assert sorted(stored, key=lambda p: p.id or 0) == sorted(
        added["gui"] + added["engine"], key=lambda p: p.id or 0
    )
    assert reads == sorted(reads)  # counts only grow: no half-visible writes
