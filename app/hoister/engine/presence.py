"""An engine's row in the store's engines table: registered at start, beating, stopped.

Other workstations read this table to learn that team agents are promoting (so
*Promote from this workstation* can default to off) and people read it to see who is at
work (:class:`~hoister.store.engines.EngineRegistry`). Nothing depends on it for
correctness — claims and leases keep promotions exactly-once — so every write here is
allowed to fail: it is logged, the engine carries on, and the next beat tries again on
a fresh connection.

Used on the engine's thread only, with a connection of its own. A beat happens between
the engine's steps and between queue entries; one copy that takes longer than
:data:`~hoister.store.engines.SEEN_WITHIN` leaves the engine unseen until it ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from hoister.store import Database
from hoister.store.engines import BEAT_EVERY, FORGET_AFTER, EngineRegistry

log = logging.getLogger(__name__)


class Presence:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        owner: str,
        kind: str,
        promoting: Callable[[], bool],
    ) -> None:
        self.db = db
        self.clock = clock
        self.owner = owner
        self.kind = kind
        self.promoting = promoting
        self.soon = threading.Event()  # set from any thread: beat at the next chance
        self._registry: EngineRegistry | None = None
        self._registered: bool | None = None  # None: not taking part (a one-off engine)
        self._next: datetime | None = None

    @property
    def registered(self) -> bool:
        return bool(self._registered)

    def register(self) -> bool:
        """Say this engine is at work; False if the store could not be written (the
        next :meth:`beat` tries again)."""
        self._registered = False
        self._next = self.clock() + BEAT_EVERY
        try:
            store = self._store()
            store.register(self.owner, self.kind, promoting=self.promoting())
            # Every start is a new row (a new owner id): rows of engines gone for
            # FORGET_AFTER go, so the table stays the size of the team, not its history.
            store.forget_older_than(FORGET_AFTER)
        except Exception:
            log.warning("could not register this engine in the store; retrying", exc_info=True)
            self._drop()
            return False
        self._registered = True
        return True

    def beat(self) -> None:
        """Renew the row if a beat is due (cheap when not); never raises."""
        if self._registered is None or self._next is None:
            return
        if self.clock() < self._next and not self.soon.is_set():
            return
        self.soon.clear()
        if not self._registered:
            self.register()
            return
        self._next = self.clock() + BEAT_EVERY
        try:
            self._store().beat(self.owner, promoting=self.promoting())
        except Exception:
            log.warning("this engine's heartbeat could not be written", exc_info=True)
            self._drop()

    def due_in(self) -> float | None:
        """Seconds until the next beat, if this engine takes part."""
        if self._registered is None or self._next is None:
            return None
        if self.soon.is_set():
            return 0.0
        return max(0.0, (self._next - self.clock()).total_seconds())

    def retire(self) -> None:
        """Mark the engine stopped (a clean stop); a crash simply stops beating."""
        registered, self._registered = self._registered, None
        if registered:
            try:
                self._store().stopped(self.owner)
            except Exception:
                log.warning("could not mark this engine stopped in the store", exc_info=True)

    def close(self) -> None:
        self._drop()

    def _store(self) -> EngineRegistry:
        if self._registry is None:
            self._registry = EngineRegistry(self.db, self.clock)
        return self._registry

    def _drop(self) -> None:
        registry, self._registry = self._registry, None
        if registry is not None:
            try:
                registry.close()
            except Exception:
                log.debug("closing the engines store failed", exc_info=True)
