"""The promotion engine in the app: one long-lived thread, talked to through signals.

The engine is the same plain-Python object the headless agent runs. Its callbacks fire on
its own thread; this controller re-emits them as Qt signals, which Qt queues to the GUI
thread, so no widget is ever touched from the engine's thread.

Stopping never waits on the GUI thread: :meth:`EngineController.request_stop` only asks,
and the thread ends by itself once its current request returns. The thread is a daemon:
if it is still inside a slow request when the app exits, the process does not wait for
it; the copy it abandoned (before its tag) is taken over by the next engine, as after a
crash (docs/architecture.md, Guarantees).
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from hoister.engine.engine import Engine
from hoister.engine.events import CycleReport, EngineCallbacks
from hoister.engine.routes import default_actor
from hoister.engine.watcher import Candidate
from hoister.store.history import HistoryRow
from hoister.store.queue import QueueEntry
from hoister.ui.context import AppContext

log = logging.getLogger(__name__)

#: Seconds between polls while the app is open (notifications, where set up, are instant).
POLL_INTERVAL = 30.0


class EngineController(QObject):
    state_changed = Signal(str)  # running, paused, stopped
    cycle_done = Signal(object)  # CycleReport
    repository_changed = Signal(object)  # RepositoryChange: a poll saw tags come or go
    promotion_started = Signal(object)  # QueueEntry
    promotion_finished = Signal(object)  # HistoryRow (promoted or skipped)
    promotion_failed = Signal(object)  # HistoryRow
    problem = Signal(str)
    recovered = Signal(str)

    def __init__(
        self, ctx: AppContext, interval: float = POLL_INTERVAL, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.interval = interval
        self.engine: Engine | None = None
        self._thread: threading.Thread | None = None
        self._stopping: list[threading.Thread] = []  # asked to stop, maybe still running
        self.state = "stopped"

    def _callbacks(self) -> EngineCallbacks:
        # Called on the engine's thread: only signal emissions here, which Qt queues.
        def finished(_entry: QueueEntry, row: HistoryRow) -> None:
            self.promotion_finished.emit(row)

        def failed(_entry: QueueEntry, row: HistoryRow) -> None:
            self.promotion_failed.emit(row)

        def cycle(report: CycleReport) -> None:
            self.cycle_done.emit(report)

        return EngineCallbacks(
            started=self.promotion_started.emit,
            finished=finished,
            failed=failed,
            cycle_done=cycle,
            changed=self.repository_changed.emit,
            problem=self.problem.emit,
            recovered=self.recovered.emit,
        )

    def start(self) -> None:
        if self._thread is not None:
            return
        self.engine = Engine(
            self.ctx.database,
            self.ctx.profiles,
            self.ctx.credential,
            actor=default_actor(agent=False),
            callbacks=self._callbacks(),
            client_factory=self.ctx.client_factory,
        )
        self._thread = threading.Thread(
            target=self._run, args=(self.engine,), name="hoister-engine", daemon=True
        )
        self._thread.start()
        if self.forget_client not in self.ctx.client_listeners:
            self.ctx.client_listeners.append(self.forget_client)
        self._set_state("running")

    def forget_client(self, profile_name: str) -> None:
        """A password was entered or a connection edited in the app: the engine's own
        client of that profile is dropped too, or it would go on without the password."""
        if self.engine is not None:
            self.engine.forget_client(profile_name)

    def _run(self, engine: Engine) -> None:
        """Run the engine until it is stopped; if it ever ends with an error (its loop
        survives errors of its own, so this is a last resort), start it again."""
        restarts = 0
        while True:
            try:
                engine.run_forever(self.interval)
                return
            except Exception as exc:
                if engine.stopping:
                    return
                restarts += 1
                log.exception("the promotion engine stopped unexpectedly; restarting it")
                self.problem.emit(
                    f"The promotion engine stopped unexpectedly ({exc}) and was restarted"
                    f" ({restarts}×); see the log."
                )
                if engine.wait_stop(min(2.0**restarts, 60.0)):
                    return

    def request_stop(self) -> None:
        """Ask the engine to stop and return at once (closing the window): a copy in
        progress is abandoned before its tag and resumes later; the thread ends by itself."""
        if self.engine is not None:
            self.engine.stop()
        if self._thread is not None:
            self._stopping.append(self._thread)
        self._thread = None
        self.engine = None
        self._set_state("stopped")

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for stopped engines to end (the app's exit path,
        after its window is gone); True if none is left running."""
        self._stopping = [t for t in self._stopping if t.is_alive()]
        for thread in self._stopping:
            thread.join(timeout)
        self._stopping = [t for t in self._stopping if t.is_alive()]
        if self._stopping:
            log.warning(
                "the promotion engine did not stop within %.0f s; its copy resumes next time",
                timeout,
            )
        return not self._stopping

    @property
    def running_threads(self) -> int:
        """Engine threads still alive, stopping or not (for the exit path and tests)."""
        alive = [t for t in (self._thread, *self._stopping) if t is not None and t.is_alive()]
        return len(alive)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop and wait up to ``timeout`` seconds (tests, the exit path); never call it
        from a window's event handler, use :meth:`request_stop` there."""
        self.request_stop()
        return self.wait(timeout)

    def set_paused(self, paused: bool) -> None:
        if self.engine is None:
            return
        self.engine.set_paused(paused)
        self._set_state("paused" if paused else "running")

    def poll_now(self) -> None:
        if self.engine is not None:
            self.engine.poll_now()

    def submit(self, candidates: list[Candidate]) -> None:
        """Tags to evaluate now (Save & Apply, Run now); promoted exactly once, as any push."""
        if self.engine is not None:
            self.engine.submit(candidates)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)
