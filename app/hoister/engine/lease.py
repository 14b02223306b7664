"""Keeping a claim alive while a promotion runs, and noticing when it was lost.

A copy can take minutes; the claim on its queue entry must not lapse meanwhile, or
another engine would take the entry over. :class:`Heartbeat` renews the lease from a
thread of its own (with its own database connection, opened at the first renewal:
sqlite3 connections stay on their thread) every third of the lease. If a renewal finds
the claim taken over — this process stalled longer than the lease, say — it raises the
cancel flag, so the copy
stops before it writes the tag and the new owner finishes the entry alone.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from types import TracebackType

from hoister.store import Database
from hoister.store.queue import QueueEntry, QueueStore, lease_seconds

log = logging.getLogger(__name__)


class CancelFlag:
    """Set when the engine stops or the claim is lost: what the promoter checks."""

    def __init__(self, *events: threading.Event) -> None:
        self._events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self._events)


class Heartbeat:
    def __init__(
        self,
        db: Database,
        entry: QueueEntry,
        lease: timedelta,
        stop: threading.Event,
    ) -> None:
        self._db = db
        self._entry = entry
        self._lease = lease
        self._done = threading.Event()
        self.lost = threading.Event()
        self.cancel = CancelFlag(stop, self.lost)
        self._thread = threading.Thread(
            target=self._run, name=f"hoister-lease-{entry.id}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        interval = lease_seconds(self._lease)
        # Opened at the first renewal, not before: most promotions end sooner, and with
        # several in flight a connection per entry that is never used is pure cost.
        queue: QueueStore | None = None
        try:
            while not self._done.wait(interval):
                try:
                    if queue is None:
                        queue = QueueStore(self._db)
                    if not queue.renew(self._entry, self._lease):
                        log.warning(
                            "claim of promotion %s was taken over; stopping this copy",
                            self._entry.id,
                        )
                        self.lost.set()
                        return
                except Exception as exc:  # a busy database: try again at the next beat
                    log.warning(
                        "could not renew the claim of promotion %s: %s", self._entry.id, exc
                    )
        finally:
            if queue is not None:
                queue.close()
