"""An Engine that is created, run and closed on one thread of its own, as in the app.

The engine's stores hold sqlite3 connections that must stay on the thread that opened
them, and its clients are its own; building the Engine object itself on that thread
as well leaves no doubt about which thread owns what. Other threads only call
:meth:`EngineThread.notice` and :meth:`EngineThread.stop`, the engine's thread-safe entry
points. Per-tag outcomes are reported through :class:`Arrivals`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from hoister.engine.engine import Engine
from hoister.engine.events import EngineCallbacks
from hoister.engine.listener import PushNotice
from hoister.profiles import ProfileStore
from hoister.store import Database

JOIN_TIMEOUT = 60.0


class Arrivals:
    """One :class:`threading.Event` per expected tag, stamped when it fires.

    The time is taken on the thread that reports (the engine's, or the listener's) the
    moment it reports, and written before the event is set, so a waiter that wakes up
    reads the stamp safely. A second report for the same tag is ignored.
    """

    def __init__(self, tags: list[str]) -> None:
        self._events = {tag: threading.Event() for tag in tags}
        self._lock = threading.Lock()
        self.times: dict[str, float] = {}
        self.outcomes: dict[str, str] = {}

    def record(self, tag: str, outcome: str) -> None:
        stamp = time.perf_counter()
        event = self._events.get(tag)
        if event is None:  # a tag nobody waits for (a promotion's own push, say)
            return
        with self._lock:
            if event.is_set():
                return
            self.times[tag] = stamp
            self.outcomes[tag] = outcome
            event.set()

    def wait(self, tag: str, timeout: float) -> bool:
        return self._events[tag].wait(timeout)


class EngineThread:
    """``Engine.run_forever(interval)`` on a thread that also builds and closes the engine."""

    def __init__(
        self, database: Database, profiles_path: Path, callbacks: EngineCallbacks, interval: float
    ) -> None:
        self._database = database
        self._profiles_path = profiles_path
        self._callbacks = callbacks
        self._interval = interval
        self._engine: Engine | None = None
        self._stopping = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name="hoister-bench-engine")

    def start(self) -> EngineThread:
        self.thread.start()
        return self

    def _main(self) -> None:
        try:
            engine = Engine(
                self._database,
                ProfileStore(self._profiles_path),
                lambda _profile: None,
                callbacks=self._callbacks,
                actor="bench@hoister",
            )
            self._engine = engine
            if self._stopping.is_set():  # stop() came before the engine existed
                engine.stop()
            engine.run_forever(self._interval)
        except BaseException as exc:  # reported by stop(), never lost with the thread
            self.error = exc

    def notice(self, notice: PushNotice) -> None:
        """Hand a registry notification to the engine (called on the listener's thread)."""
        engine = self._engine
        if engine is not None:
            engine.notice(notice)

    def stop(self) -> None:
        """Stop cooperatively and join; raise what the engine thread died of, if anything."""
        self._stopping.set()
        engine = self._engine
        if engine is not None:
            engine.stop()
        if self.thread.is_alive():
            self.thread.join(JOIN_TIMEOUT)
        if self.thread.is_alive():
            raise RuntimeError(f"the engine thread did not stop within {JOIN_TIMEOUT:.0f} s")
        if self.error is not None:
            error, self.error = self.error, None
            raise RuntimeError(f"the engine thread failed: {error!r}") from error
