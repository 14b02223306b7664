"""The promotion engine in the app: one long-lived thread, talked to through signals.

The engine is the same plain-Python object the headless agent runs. Its callbacks fire on
its own thread; this controller re-emits them as Qt signals, which Qt queues to the GUI
thread, so no widget is ever touched from the engine's thread.

Stopping never waits on the GUI thread: :meth:`EngineController.request_stop` only asks,
and the thread ends by itself once its current request returns. The thread is a daemon:
if it is still inside a slow request when the app exits, the process does not wait for
it; the copy it abandoned (before its tag) is taken over by the next engine, as after a
crash (docs/architecture.md, Guarantees).

*Promote from this workstation* is decided here too: the ``promote_here`` setting holds
the user's choice (True or False), or nothing (automatic). Automatic means on when the
workstation is alone and off when team agents are promoting on the same store; that is
read from the engines table on the pool, never on the GUI thread, and until the answer
comes the engine only browses — it is never briefly a second promoter by mistake.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal, Slot

from hoister.engine.engine import Engine
from hoister.engine.events import CycleReport, EngineCallbacks
from hoister.engine.pipeline import SETTING as PARALLEL_SETTING
from hoister.engine.pipeline import parallel_from
from hoister.engine.routes import default_actor
from hoister.engine.watcher import Candidate
from hoister.errors import HoisterError
from hoister.store import Database
from hoister.store.engines import EngineRegistry, EngineRow
from hoister.store.history import HistoryRow
from hoister.store.queue import QueueEntry
from hoister.ui.context import AppContext
from hoister.ui.shared.workers import Requester

log = logging.getLogger(__name__)

#: Seconds between polls while the app is open (notifications, where set up, are instant).
POLL_INTERVAL = 30.0
#: The setting holding *Promote from this workstation*: None (automatic), True, False.
PROMOTE_HERE = "promote_here"


def team_agents(database: Database, own_id: str) -> list[EngineRow]:
    """Worker: the team's agents promoting on this store, other than this engine."""
    try:
        with EngineRegistry(database) as registry:
            return registry.promoting_elsewhere(own_id)
    except HoisterError:
        raise
    except Exception as exc:
        log.warning("could not read which engines are at work", exc_info=True)
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise HoisterError(f"the store did not say who is at work: {text}") from exc


def browsing_because(agents: list[EngineRow]) -> str:
    """Why an automatic workstation does not promote, and how to change that."""
    many = len(agents) != 1
    return (
        f"{len(agents)} team agent{'s' if many else ''} {'are' if many else 'is'} promoting;"
        " this workstation only browses. Promote from this workstation to join them."
    )


class EngineController(QObject):
    state_changed = Signal(str)  # running, paused, stopped
    cycle_done = Signal(object)  # CycleReport
    repository_changed = Signal(object)  # RepositoryChange: a poll saw tags come or go
    promotion_started = Signal(object)  # QueueEntry
    promotion_finished = Signal(object)  # HistoryRow (promoted or skipped)
    promotion_failed = Signal(object)  # HistoryRow
    problem = Signal(str)
    recovered = Signal(str)
    promoting_changed = Signal(bool, str)  # promotes from here; why, for the status bar

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
        #: Whether this workstation promotes; None while an automatic choice is pending.
        self.promoting: bool | None = None
        self._deciding = Requester(ctx.pool, self)
        self._deciding.ready.connect(self._decided)
        self._deciding.error.connect(self._undecided)

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
        chosen = self.ctx.settings.get(PROMOTE_HERE)
        self.promoting = chosen if isinstance(chosen, bool) else None
        self.engine = Engine(
            self.ctx.database,
            self.ctx.profiles,
            self.ctx.credential,
            actor=default_actor(agent=False),
            kind="app",
            promoting=bool(self.promoting),
            callbacks=self._callbacks(),
            client_factory=self.ctx.client_factory,
            parallel=parallel_from(self.ctx.settings.get(PARALLEL_SETTING)),
        )
        self._thread = threading.Thread(
            target=self._run, args=(self.engine,), name="hoister-engine", daemon=True
        )
        self._thread.start()
        if self.forget_client not in self.ctx.client_listeners:
            self.ctx.client_listeners.append(self.forget_client)
        self._set_state("running")
        if self.promoting is None:
            self._deciding.submit(team_agents, self.ctx.database, self.engine.owner)
        else:
            self.promoting_changed.emit(self.promoting, "")

    def choose_promoting(self, promoting: bool) -> None:
        """The user's choice: kept in the settings, applied now, automatic no more."""
        self._deciding.cancel()
        self.ctx.settings.set(PROMOTE_HERE, promoting)
        why = (
            "This workstation promotes, beside any team agents."
            if promoting
            else "This workstation no longer promotes; team agents do."
        )
        self._apply_promoting(promoting, why)

    @Slot(object)
    def _decided(self, agents: object) -> None:
        assert isinstance(agents, list)
        if agents:
            self._apply_promoting(False, browsing_because(agents))
        else:
            self._apply_promoting(True, "")

    @Slot(object)
    def _undecided(self, error: object) -> None:
        # Nobody seen is the default: a workstation alone must not stop promoting.
        self._apply_promoting(True, f"{error}; this workstation promotes.")

    def _apply_promoting(self, promoting: bool, why: str) -> None:
        self.promoting = promoting
        if self.engine is not None:
            self.engine.set_promoting(promoting)
        if why:
            log.info("%s", why)
        self.promoting_changed.emit(promoting, why)

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
        self._deciding.cancel()
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
