"""The heartbeat of a claimed promotion: it renews the lease from its own thread (its
connection opened at the first renewal) and raises the cancel flag once another engine
has taken the entry over. Both backends; real time, waited on, never slept."""

from __future__ import annotations

import threading
from datetime import timedelta

from hoister.engine.lease import Heartbeat
from hoister.store import Database, PolicyStore
from hoister.store.queue import QueueEntry, QueueStore
from hoister.store.times import now_utc
from tests.store.conftest import make_policy

LEASE = timedelta(seconds=3)  # renewed every second


def test_the_heartbeat_renews_the_claim_and_notices_a_takeover(database_url: str) -> None:
    location = database_url.removeprefix("sqlite:///")
    with Database.open(location) as db, PolicyStore(db) as policies, QueueStore(db) as queue:
        policy = policies.add(make_policy(1))
        assert policy.id is not None
        queued = queue.enqueue(
            QueueEntry(
                None, policy.id, "local", "dev/app", "1-stable", "sha256:" + "1" * 64,
                "local", "qa/app",
            )
        )  # fmt: skip
        assert queued is not None and queued.id is not None
        claimed = queue.claim_next("host-a:1:a:agent", now_utc(), LEASE)
        assert claimed is not None and claimed.lease_until is not None
        first_lease = claimed.lease_until
        stop, renewed = threading.Event(), threading.Event()
        with Heartbeat(db, claimed, LEASE, stop) as beat:
            for _ in range(100):  # renewed within a beat or two
                lease_until = queue.get(queued.id).lease_until
                if lease_until is not None and lease_until > first_lease:
                    break
                renewed.wait(0.1)
            assert (queue.get(queued.id).lease_until or first_lease) > first_lease
            assert not beat.lost.is_set() and not beat.cancel.is_set()
            later = now_utc() + timedelta(hours=1)  # another engine, once the lease lapsed
            taken = queue.claim_next("host-b:1:b:agent", later, timedelta(hours=2))
            assert taken is not None and taken.claim == claimed.claim + 1
            assert beat.lost.wait(10)
            assert beat.cancel.is_set()
        assert queue.get(queued.id).owner == "host-b:1:b:agent"
