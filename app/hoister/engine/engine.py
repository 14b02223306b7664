"""The engine: poll, evaluate, enqueue, promote — the same code in the app and the agent.

One engine runs on one thread (the GUI's worker or the agent's main thread). Its stores
and registry clients are created on that thread and closed there; promotions run on a
pool of workers that thread feeds (:mod:`.pipeline`: ``parallel`` in flight per
registry, each worker with stores of its own), and their callbacks are emitted back on
the engine's thread. Other threads talk to
it only through :meth:`Engine.notice`, :meth:`Engine.submit`, :meth:`Engine.poll_now`,
:meth:`Engine.set_paused`, :meth:`Engine.set_promoting` and :meth:`Engine.stop`, all
thread-safe.

The parts, in the order work flows through them: :class:`~hoister.engine.polling.Poller`
(what is new), :class:`~hoister.engine.inbox.Inbox` (notifications and submitted tags),
:class:`~hoister.engine.evaluator.Evaluator` (policies decide, matches are queued) and
:class:`~hoister.engine.runner.Runner` (claimed entries are promoted). This class owns
them and the loop; the loop never ends on an error, only on :meth:`stop`.

A running engine registers in the store's engines table, beats while it runs and says
it stopped on a clean stop (:mod:`.presence`), and every history row it writes names it
(:attr:`Engine.name`, ``agent@host:pid``).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property, partial

from hoister.engine.clients import (
    ClientFactory,
    ClientPool,
    CredentialResolver,
    connections_for,
    default_factory,
)
from hoister.engine.evaluator import Evaluator
from hoister.engine.events import CycleReport, EngineCallbacks
from hoister.engine.inbox import Inbox
from hoister.engine.listener import PushNotice
from hoister.engine.pipeline import DEFAULT_PARALLEL
from hoister.engine.polling import Poller
from hoister.engine.presence import Presence
from hoister.engine.routes import default_actor
from hoister.engine.runner import GIVE_UP_AFTER, Runner
from hoister.engine.waker import Waker
from hoister.engine.watcher import Candidate, Watcher
from hoister.profiles import ProfileStore
from hoister.store import Database, PolicyStore
from hoister.store.engines import KINDS, engine_name
from hoister.store.facts import FactsCache, UndecidedStore
from hoister.store.history import HistoryStore
from hoister.store.queue import DEFAULT_LEASE, QueueStore, new_owner
from hoister.store.times import now_utc
from hoister.store.watch import WatchStore

log = logging.getLogger(__name__)

#: After an unexpected error in the loop, wait this long (doubling, up to a minute)
#: before the next round, so a persistent fault does not spin.
ERROR_PAUSE = 1.0
_STORES = ("policies", "queue", "history", "undecided", "facts_cache")


def kind_of(actor: str) -> str:
    """The engine kind an actor implies (see :func:`default_actor`): ``agent`` for
    ``hoister run``, else ``app``; one-off CLI runs say ``cli`` themselves."""
    return "agent" if actor.startswith("hoister-agent@") else "app"


class Engine:
    def __init__(
        self,
        db: Database,
        profiles: ProfileStore,
        credentials: CredentialResolver,
        *,
        clock: Callable[[], datetime] = now_utc,
        actor: str | None = None,
        kind: str | None = None,
        promoting: bool = True,
        callbacks: EngineCallbacks | None = None,
        client_factory: ClientFactory = default_factory,
        lease: timedelta = DEFAULT_LEASE,
        retry_base: timedelta = timedelta(seconds=30),
        give_up_after: timedelta = GIVE_UP_AFTER,
        chunk_size: int = 8 * 1024 * 1024,
        parallel: int = DEFAULT_PARALLEL,
        http2: bool = False,
    ) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor or default_actor(agent=False)
        self.owner = new_owner(self.actor)
        self.kind = kind or kind_of(self.actor)
        if self.kind not in KINDS:
            raise ValueError(f"unknown engine kind {self.kind!r}; one of {', '.join(KINDS)}")
        #: How people, history rows and metrics name this engine: ``agent@host:pid``.
        self.name = engine_name(self.owner, self.kind)
        self.callbacks = callbacks or EngineCallbacks()
        if client_factory is default_factory:
            # room on each registry's connection pool for every promotion in flight
            client_factory = partial(
                default_factory, max_connections=connections_for(parallel), http2=http2
            )
        self.clients = ClientPool(profiles, credentials, client_factory)
        self._options = {
            "parallel": parallel,
            "lease": lease,
            "retry_base": retry_base,
            "give_up_after": give_up_after,
            "chunk_size": chunk_size,
        }
        self._stop = threading.Event()
        self._wake = Waker()  # set from threads and signal handlers alike
        self._paused = threading.Event()
        self._poll_now = threading.Event()
        self._promoting = threading.Event()
        if promoting:
            self._promoting.set()
        self.presence = Presence(db, clock, self.owner, self.kind, self._promoting.is_set)
        # Owned here, not by the inbox, so nothing waiting is lost when the parts are
        # rebuilt after an error.
        self._notices: queue.SimpleQueue[PushNotice] = queue.SimpleQueue()
        self._requests: queue.SimpleQueue[Candidate] = queue.SimpleQueue()
        self.errors = 0  # unexpected errors the loop survived, for status and tests

    # -- thread-owned resources ------------------------------------------------------------

    @cached_property
    def policies(self) -> PolicyStore:
        return PolicyStore(self.db, self.clock)

    @cached_property
    def queue(self) -> QueueStore:
        return QueueStore(self.db, self.clock)

    @cached_property
    def history(self) -> HistoryStore:
        return HistoryStore(self.db, self.clock)

    @cached_property
    def facts_cache(self) -> FactsCache:
        return FactsCache(self.db, self.clock)

    @cached_property
    def undecided(self) -> UndecidedStore:
        return UndecidedStore(self.db, self.clock)

    @cached_property
    def watcher(self) -> Watcher:
        return Watcher(WatchStore(self.db, self.clock), self.clock)

    @cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(
            policies=self.policies,
            queue=self.queue,
            history=self.history,
            facts_cache=self.facts_cache,
            undecided=self.undecided,
            clients=self.clients,
            clock=self.clock,
            actor=self.actor,
            agent=self.name,
        )

    @cached_property
    def poller(self) -> Poller:
        return Poller(
            policies=self.policies,
            watcher=self.watcher,
            evaluator=self.evaluator,
            undecided=self.undecided,
            clients=self.clients,
            callbacks=self.callbacks,
            stopping=self._stop.is_set,
        )

    @cached_property
    def inbox(self) -> Inbox:
        return Inbox(
            policies=self.policies,
            watcher=self.watcher,
            clients=self.clients,
            clock=self.clock,
            handle=self.handle_candidate,
            first_look=self.poller.first_look,
            outage=self.poller.outage,
            notices=self._notices,
            requests=self._requests,
        )

    @cached_property
    def runner(self) -> Runner:
        return Runner(
            db=self.db,
            policies=self.policies,
            queue=self.queue,
            history=self.history,
            clients=self.clients,
            watcher=self.watcher,
            clock=self.clock,
            actor=self.actor,
            owner=self.owner,
            callbacks=self.callbacks,
            agent=self.name,
            between=self.presence.beat,
            cancel=self._stop,
            on_chain=self.handle_candidate,
            **self._options,  # type: ignore[arg-type]
        )

    def close(self) -> None:
        """Release connections and clients; call on the engine's thread."""
        if "runner" in self.__dict__:
            self.__dict__["runner"].close()  # its workers first: they use both
        self.clients.close()
        self.presence.close()
        for name in _STORES:
            if name in self.__dict__:
                self.__dict__.pop(name).close()
        if "watcher" in self.__dict__:
            self.__dict__.pop("watcher").watch.close()
        for name in ("runner", "evaluator", "poller", "inbox"):
            self.__dict__.pop(name, None)

    # -- control from other threads --------------------------------------------------------

    def stop(self) -> None:
        """Ask the engine to stop; a copy in progress is abandoned before its tag is written."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_stop(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for :meth:`stop`; True if it was asked."""
        return self._stop.wait(seconds)

    def notice(self, notice: PushNotice) -> None:
        """A registry notification: handled on the engine's thread as soon as it wakes."""
        self._notices.put(notice)
        self._wake.set()

    def submit(self, candidates: list[Candidate]) -> None:
        """Candidates from elsewhere (Save & Apply, run now): evaluated on the engine's thread."""
        for candidate in candidates:
            self._requests.put(candidate)
        self._wake.set()

    def poll_now(self) -> None:
        """Run a poll cycle as soon as possible (thread-safe): after a policy was saved, so
        its repository's baseline is taken before the next push rather than after."""
        self._poll_now.set()
        self._wake.set()

    def forget_client(self, profile_name: str) -> None:
        """The profile's password changed (thread-safe): the next request uses it, and a
        repository that failed for want of it is polled again now."""
        self.clients.forget(profile_name)
        self.poll_now()

    def set_paused(self, paused: bool) -> None:
        """Pause or resume polling and promoting (thread-safe); a copy under way finishes."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def set_promoting(self, promoting: bool) -> None:
        """Promote from here or not (thread-safe). Off, the engine neither polls nor
        claims queue entries — the team's agents do — yet still registers and beats (as
        not promoting) so others see it; promotions a person starts by hand still run,
        and tags handed over with :meth:`submit` are still evaluated and queued."""
        if promoting:
            self._promoting.set()
        else:
            self._promoting.clear()
        self.presence.soon.set()  # tell the others at the next chance
        self._wake.set()

    @property
    def promoting(self) -> bool:
        return self._promoting.is_set()

    def register(self) -> bool:
        """Say in the store that this engine is at work (on the engine's thread; the
        loop does it, one-off runs call it); from then on it beats and, on
        :meth:`retire`, says it stopped."""
        return self.presence.register()

    def retire(self) -> None:
        """Mark this engine stopped in the store (a clean stop; on the engine's thread)."""
        self.presence.retire()

    # -- the work ------------------------------------------------------------------------

    def run_forever(self, interval: float) -> None:
        """Poll every ``interval`` seconds, react to notices at once, until :meth:`stop`.

        Runs on the engine's own thread and closes the engine's stores and clients there
        when it returns (sqlite3 connections must be closed by the thread that made them).
        An unexpected error is logged, reported through the ``problem`` callback, and the
        loop carries on after a short pause: only :meth:`stop` ends it.
        """
        try:
            self._run_forever(interval)
            self.retire()  # only a clean stop says so; a crash simply stops beating
        finally:
            self.close()

    def _run_forever(self, interval: float) -> None:
        next_cycle = self.clock()
        pause = ERROR_PAUSE
        resumed = False
        while not self._stop.is_set():
            try:
                if not resumed:
                    self.register()
                    self.resume()
                    resumed = True
                self.presence.beat()
                next_cycle = self._step(interval, next_cycle)
                timeout = self._timeout(interval, next_cycle)
                pause = ERROR_PAUSE
            except Exception as exc:
                self.errors += 1
                log.exception("the promotion engine hit an unexpected error; carrying on")
                self.callbacks.emit("problem", f"unexpected error, the engine carries on: {exc}")
                self._reopen()
                timeout, pause = pause, min(pause * 2, 60.0)
            if timeout > 0:
                self._wake.wait(timeout)

    def _step(self, interval: float, next_cycle: datetime) -> datetime:
        if self._paused.is_set():
            return next_cycle
        if not self._promoting.is_set():
            # Browsing only: tags handed over are evaluated and queued for the team's
            # agents; nothing is polled or claimed here. The next cycle stays due, so
            # promoting again starts with a poll at once.
            self._poll_now.clear()
            self.inbox.process()
            return next_cycle
        if self._poll_now.is_set() or self.clock() >= next_cycle:
            self._poll_now.clear()
            self.run_cycle()
            return self.clock() + timedelta(seconds=interval)
        self.inbox.process()
        self.runner.run_due()
        return next_cycle

    def _timeout(self, interval: float, next_cycle: datetime) -> float:
        """Sleep until the next cycle, a notice to look at again, or a queued retry."""
        beat = self.presence.due_in()
        if beat is not None:
            interval = min(interval, beat)
        if self._paused.is_set() or not self._promoting.is_set():
            # woken by set_paused(False), set_promoting(True), submit() or stop()
            return interval
        now = self.clock()
        timeout = min((next_cycle - now).total_seconds(), interval)
        recheck = self.inbox.next_recheck()
        if recheck is not None:
            timeout = min(timeout, recheck)
        due = self.queue.next_due()
        if due is not None:
            timeout = min(timeout, max(0.05, (due - now).total_seconds()))
        return timeout

    def _reopen(self) -> None:
        """After an unexpected error, start the next round with fresh connections."""
        try:
            self.close()
        except Exception:
            log.exception("closing the engine's stores after an error failed")

    def resume(self) -> int:
        """Say how many promotions a previous process left claimed; they are taken over
        as their claims lapse (at once when their owner process on this host is gone)."""
        lapsed = self.queue.lapsed(self.clock())
        if lapsed:
            log.info("resuming %d interrupted promotion(s)", lapsed)
        return lapsed

    def handle_candidate(self, candidate: Candidate) -> int:
        """Evaluate a candidate against its repository's policies; enqueue the matches."""
        return self.evaluator.handle(candidate)

    def process_notices(self) -> int:
        """Turn notifications and submitted tags into candidates (see :mod:`.inbox`)."""
        return self.inbox.process()

    def run_soon_due(self, horizon: float) -> int:
        """Run queued promotions that become due within ``horizon`` seconds (waiting for a
        rendered tag to come free), waiting for them; returns how many failed."""
        failed = 0
        while not self._stop.is_set():
            due = self.queue.next_due()
            if due is None:
                return failed
            wait = (due - self.clock()).total_seconds()
            if wait > horizon:
                return failed
            if wait > 0 and self._wake.wait(wait) and self._stop.is_set():
                return failed
            counts = self.runner.run_due()
            failed += counts["failed"]
            if not any(counts.values()) and wait <= 0:
                return failed  # due but not claimable here (another engine holds it)
        return failed

    def next_recheck(self) -> float | None:
        """Seconds until a notification is due to be looked at again, if any."""
        return self.inbox.next_recheck()

    def run_cycle(self) -> CycleReport:
        started = self.clock()
        tally = self.poller.poll_all()
        self.inbox.process()
        counts = self.runner.run_due()
        report = CycleReport(
            started_at=started,
            finished_at=self.clock(),
            repositories=tally.repositories,
            candidates=tally.candidates,
            enqueued=tally.enqueued,
            promoted=counts["promoted"],
            skipped=counts["skipped"],
            failed=counts["failed"],
            problems=tuple(tally.problems),
            queue_length=self.queue.pending_count(),
        )
        self.callbacks.emit("cycle_done", report)
        return report
