"""Many engines claiming from one queue at once: every entry is claimed by exactly one.

On PostgreSQL the claims run truly in parallel (``FOR UPDATE SKIP LOCKED`` passes over
rows another engine is taking); on SQLite they take turns on the write lock. Either way
no entry may be handed to two engines, and none may be left behind.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from hoister.store import Database, PolicyStore
from hoister.store.queue import QueueEntry, QueueStore

from .conftest import START, make_policy

ENTRIES = 60
ENGINES = 6


def _entry(policy_id: int, n: int) -> QueueEntry:
    return QueueEntry(
        id=None,
        policy_id=policy_id,
        source_profile="local",
        source_repository="dev/app",
        source_tag=f"1.{n}-stable",
        source_digest=f"sha256:{n:064x}",
        target_profile="local",
        target_repository="qa/app",
    )


def test_parallel_claims_hand_each_entry_to_exactly_one_engine(database: Database) -> None:
    with PolicyStore(database) as policies, QueueStore(database, clock=lambda: START) as queue:
        policy = policies.add(make_policy(1))
        assert policy.id is not None
        for n in range(ENTRIES):
            assert queue.enqueue(_entry(policy.id, n)) is not None
    claimed: list[tuple[str, int]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(ENGINES)
    lock = threading.Lock()

    def engine(number: int) -> None:
        owner = f"host-{number}:1:n{number}:agent"
        try:
            with QueueStore(database, clock=lambda: START) as store:
                barrier.wait()
                while (entry := store.claim_next(owner, START, timedelta(minutes=5))) is not None:
                    assert entry.id is not None and entry.owner == owner
                    with lock:
                        claimed.append((owner, entry.id))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=engine, args=(n,)) for n in range(ENGINES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    by_entry = Counter(entry_id for _, entry_id in claimed)
    assert len(by_entry) == ENTRIES, "an entry was left behind"
    assert set(by_entry.values()) == {1}, "an entry was claimed twice"
    with QueueStore(database) as queue:
        assert {e.claim for e in queue.entries()} == {1}
        assert {e.state for e in queue.entries()} == {"running"}


def test_a_lapsed_claim_is_taken_over_once_however_many_engines_try(database: Database) -> None:
    with PolicyStore(database) as policies, QueueStore(database, clock=lambda: START) as queue:
        policy = policies.add(make_policy(1))
        assert policy.id is not None
        queue.enqueue(_entry(policy.id, 1))
        first = queue.claim_next("dead-host:1:x:agent", START, timedelta(seconds=10))
        assert first is not None
    later = START + timedelta(seconds=11)
    winners: list[int] = []
    barrier = threading.Barrier(ENGINES)

    def engine(number: int) -> None:
        with QueueStore(database) as store:
            barrier.wait()
            taken = store.claim_next(f"host-{number}:1:n:agent", later, timedelta(minutes=5))
            if taken is not None:
                winners.append(taken.claim)

    threads = [threading.Thread(target=engine, args=(n,)) for n in range(ENGINES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert winners == [2]


def test_an_engine_leaves_entries_of_registries_it_does_not_know(database: Database) -> None:
    """A workstation that knows fewer registries than the agents must not claim (and
    fail) a promotion it cannot make: the entry waits for an engine that can."""
    with PolicyStore(database) as policies, QueueStore(database, clock=lambda: START) as queue:
        policy = policies.add(make_policy(1))
        assert policy.id is not None
        across = queue.enqueue(
            QueueEntry(**{**_entry(policy.id, 1).__dict__, "target_profile": "prod"})
        )
        within = queue.enqueue(_entry(policy.id, 2))
        assert across is not None and within is not None
        lease = timedelta(minutes=5)
        first = queue.claim_next("ws:1:a:app", START, lease, profiles={"local"})
        assert first is not None and first.id == within.id
        assert queue.claim_next("ws:1:a:app", START, lease, profiles={"local"}) is None
        assert queue.claim_next("ws:1:a:app", START, lease, profiles=set()) is None
        agent = queue.claim_next("srv:1:b:agent", START, lease, profiles={"local", "prod"})
        assert agent is not None and agent.id == across.id


def test_keeping_target_order_passes_over_a_later_entry_of_a_waiting_target(
    database: Database,
) -> None:
    """An engine leaving out a registry at its bound must not let a later promotion to
    the same target repository, from another source, run first."""
    with PolicyStore(database) as policies, QueueStore(database, clock=lambda: START) as queue:
        policy = policies.add(make_policy(1))
        assert policy.id is not None
        base = _entry(policy.id, 1).__dict__
        earlier = queue.enqueue(QueueEntry(**{**base, "source_profile": "busy"}))
        later = queue.enqueue(QueueEntry(**{**_entry(policy.id, 2).__dict__}))
        other = queue.enqueue(
            QueueEntry(**{**_entry(policy.id, 3).__dict__, "target_repository": "qa/other"})
        )
        assert earlier is not None and later is not None and other is not None
        lease, free = timedelta(minutes=5), {"local"}
        first = queue.claim_next("ws:1:a:app", START, lease, free, keep_target_order=True)
        assert first is not None and first.id == other.id  # qa/app waits for "busy"
        assert queue.claim_next("ws:1:a:app", START, lease, free, keep_target_order=True) is None
        unordered = queue.claim_next("ws:1:a:app", START, lease, free)
        assert unordered is not None and unordered.id == later.id
