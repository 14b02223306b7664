"""Several promotions in flight at once: a bounded pool of workers fed by the engine.

A promotion is mostly waiting — a few dozen round trips, each a fraction of a
millisecond of the registry's work — so running them one after the other makes wall
time the sum of those waits. Here the engine's thread stays the *dispatcher*: it claims
due entries from the queue (the claim is what makes one engine the owner, see
:mod:`hoister.store.queue`) and hands each to a worker thread, which executes it exactly
as the one-at-a-time runner does — heartbeat, fenced writes, tag last, finish and
history row in one transaction. Exactly-once therefore rests on the same data as before:
a claim per entry, fencing by claim number, the target tag reserved in the queue.

What parallelism adds, and how it is kept safe:

- **Bounds.** At most ``parallel`` promotions in flight per registry (source and target
  both count; one registry counts once), and ``2 × parallel`` in all, so one slow
  registry never takes every slot. Entries of a registry at its bound are left in the
  queue, unclaimed, for the next free slot — and so is any later entry of the same
  target repository, so one from another source registry cannot overtake them.
  ``parallel=1`` is the sequential runner.
- **Stores per thread.** A worker opens its own queue and policy stores (connections
  never cross threads: sqlite3 refuses it, and a PostgreSQL connection is one session)
  on its own thread and closes them there.
- **The engine's thread keeps what it owned.** Callbacks (``started``, ``progress``,
  ``finished``, ``failed``) are forwarded to the dispatcher and emitted on the engine's
  thread, as :mod:`hoister.engine.events` promises; what follows a finished promotion
  (enqueue the chain, note the target tag as seen, the policy's last promotion) runs
  there too, in the same order as before, so the evaluator and the watch store stay
  single-threaded.
- **One target tag, one promotion at a time, in claim order.** The dispatcher renders an
  entry's target tag when it claims it (that is when the promotion is made) and gives it
  a turn in a :class:`TurnGate`: two entries that would write the same tag of the same
  target repository take turns in the order they were claimed, so a skip, an overwrite
  or a collision comes out as it would one at a time. An entry whose tag cannot be
  rendered waits for every earlier entry of its target repository.
- **Cancel.** The engine's stop flag is every worker's cancel flag: each copy stops
  before its tag, gives its entry back ("interrupted") and the dispatcher returns only
  once every worker has answered.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hoister.engine.events import EngineCallbacks
from hoister.store.policies import PolicyStore
from hoister.store.queue import QueueEntry, QueueStore

if TYPE_CHECKING:
    from hoister.engine.runner import Runner

log = logging.getLogger(__name__)

#: Promotions in flight at once per registry, by default (``hoister run --parallel``).
DEFAULT_PARALLEL = 4
#: The largest ``--parallel`` accepted: beyond it a registry is being hammered, not used.
MAX_PARALLEL = 64
#: The app's setting for the same number (``settings.json``; absent: the default).
SETTING = "parallel_promotions"
#: Seconds between two looks at the stop flag (and the engine's beat) while waiting.
_LOOK_EVERY = 0.25

#: Which target tag an entry will write: (registry, repository, tag or None if unknown).
TagKey = tuple[str, str, str | None]


def total_slots(parallel: int) -> int:
    """Promotions in flight in all: twice the per-registry bound (1 stays 1)."""
    return 1 if parallel <= 1 else 2 * parallel


def parallel_from(value: object) -> int:
    """A ``parallel`` setting as the engine uses it: the default unless a whole number
    from 1 to :data:`MAX_PARALLEL` (a hand-edited settings file may hold anything)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return DEFAULT_PARALLEL
    return value if 1 <= value <= MAX_PARALLEL else DEFAULT_PARALLEL


def _conflict(a: TagKey, b: TagKey) -> bool:
    return a[:2] == b[:2] and (a[2] is None or b[2] is None or a[2] == b[2])


class Turn:
    """An entry's place in the :class:`TurnGate`."""

    def __init__(self, gate: TurnGate, key: TagKey) -> None:
        self.gate = gate
        self.key = key

    def wait(self, cancelled: Callable[[], bool]) -> bool:
        """Block until no earlier entry with the same target tag is in flight; False if
        ``cancelled`` became true first."""
        return self.gate.wait(self, cancelled)

    def leave(self) -> None:
        self.gate.leave(self)


class TurnGate:
    """Entries that would write one target tag run one after the other, in claim order."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active: list[Turn] = []

    def enter(self, key: TagKey) -> Turn:
        with self._changed:
            turn = Turn(self, key)
            self._active.append(turn)
            return turn

    def leave(self, turn: Turn) -> None:
        with self._changed:
            if turn in self._active:
                self._active.remove(turn)
                self._changed.notify_all()

    def wait(self, turn: Turn, cancelled: Callable[[], bool]) -> bool:
        with self._changed:
            while self._blocked(turn):
                if cancelled():
                    return False
                self._changed.wait(_LOOK_EVERY)
            return True

    def _blocked(self, turn: Turn) -> bool:
        for other in self._active:
            if other is turn:
                return False
            if _conflict(other.key, turn.key):
                return True
        return False


class _Forward(EngineCallbacks):
    """Callbacks of a worker: each one is posted to the dispatcher, which emits it."""

    def __init__(self, post: Callable[[tuple[Any, ...]], None]) -> None:
        super().__init__()
        self._post = post

    def emit(self, name: str, *args: object) -> None:
        self._post(("emit", name, args))


@dataclass
class _Job:
    entry: QueueEntry
    registries: frozenset[str]
    tag: str | None
    turn: Turn
    #: (entry, route, record) of finished promotions, for the dispatcher to follow up
    after: list[tuple[Any, ...]] = field(default_factory=list)


class Pipeline:
    """The dispatcher and its workers, for one :class:`~hoister.engine.runner.Runner`."""

    def __init__(self, runner: Runner, parallel: int) -> None:
        self.runner = runner
        self.per_registry = max(1, parallel)
        self.total = total_slots(parallel)
        self.gate = TurnGate()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        #: The most promotions seen in flight at once (status and tests).
        self.peak = 0

    # -- the dispatcher (the engine's thread) ----------------------------------------------

    def run_due(self) -> dict[str, int]:
        """Execute every entry that is due now, several at once; counts by outcome."""
        runner = self.runner
        counts = {"promoted": 0, "skipped": 0, "failed": 0, "retry": 0, "lost": 0}
        in_flight: list[_Job] = []
        identities: dict[str, str] = {}
        # On a team database, entries of registries this engine lacks are left to the
        # engines that have them (see Runner.run_due); read once, as there.
        known = runner.clients.known() if runner.queue.shared else None
        try:
            while True:
                while not runner.cancel.is_set() and len(in_flight) < self.total:
                    job = self._claim(in_flight, identities, known)
                    if job is None:
                        break
                    in_flight.append(job)
                    self.peak = max(self.peak, len(in_flight))
                    self._start(job, len(in_flight))
                if not in_flight:
                    break
                self._wait_one(in_flight, counts)
        except KeyboardInterrupt:
            runner.cancel.set()  # Ctrl-C without a handler: every copy stops before its tag
            raise
        finally:
            while in_flight:  # an error above: the workers still answer, and are counted
                self._wait_one(in_flight, counts)
        return counts

    def _claim(
        self, in_flight: list[_Job], identities: dict[str, str], known: set[str] | None
    ) -> _Job | None:
        runner = self.runner
        if runner.between is not None:
            runner.between()  # the engine's beat: a long queue must not hide it
        busy = Counter(registry for job in in_flight for registry in job.registries)
        full = {registry for registry, n in busy.items() if n >= self.per_registry}
        profiles = known
        if full:  # entries touching a registry at its bound wait for a later slot
            names = known if known is not None else runner.clients.known()
            profiles = {n for n in names if self._identity(n, identities) not in full}
        entry = runner.queue.claim_next(
            runner.owner, runner.clock(), runner.lease, profiles, keep_target_order=bool(full)
        )
        if entry is None:
            return None
        source = self._identity(entry.source_profile, identities)
        target = self._identity(entry.target_profile, identities)
        tag = self._tag_of(entry)
        turn = self.gate.enter((target, entry.target_repository, tag))
        return _Job(entry, frozenset({source, target}), tag, turn)

    def _identity(self, profile: str, identities: dict[str, str]) -> str:
        if profile not in identities:
            try:
                identities[profile] = self.runner.clients.identity_of(profile)
            except Exception:  # not configured: the entry fails visibly in its worker
                identities[profile] = f"profile {profile}"
        return identities[profile]

    def _tag_of(self, entry: QueueEntry) -> str | None:
        """The tag the entry will write: stored, or rendered now (None if it cannot be)."""
        if entry.target_tag is not None or entry.policy_id is None:
            return entry.target_tag
        try:
            return self.runner.render_now(entry)
        except Exception:  # the worker meets the same problem and reports it
            return None

    def _start(self, job: _Job, wanted: int) -> None:
        """Hand the job over; a worker is started while fewer than the jobs in flight, so
        every job has a thread and an earlier entry never waits for a later one."""
        self._jobs.put(job)
        if len(self._workers) < min(wanted, self.total):
            worker = threading.Thread(
                target=self._work, name=f"hoister-promote-{len(self._workers) + 1}", daemon=True
            )
            worker.start()
            self._workers.append(worker)

    def _wait_one(self, in_flight: list[_Job], counts: dict[str, int]) -> None:
        """Emit forwarded callbacks until one job is done; follow it up and count it."""
        runner = self.runner
        while True:
            try:
                event = self._events.get(timeout=_LOOK_EVERY)
            except queue.Empty:
                if runner.between is not None:
                    runner.between()
                continue
            if event[0] == "emit":
                _, name, args = event
                runner.callbacks.emit(name, *args)
                continue
            _, job, state, crash = event
            in_flight.remove(job)
            if crash is not None:
                raise crash  # as it would have from a promotion run on this thread
            counts[state] += 1
            for entry, route, record in job.after:
                runner.after_promotion(entry, route, record)
            return

    # -- the workers --------------------------------------------------------------------

    def _work(self) -> None:
        runner = self.runner
        stores: tuple[QueueStore, PolicyStore] | None = None
        mine: Runner | None = None
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                state, crash = "retry", None
                try:
                    if mine is None:
                        stores = (
                            QueueStore(runner.db, runner.clock),
                            PolicyStore(runner.db, runner.clock),
                        )
                        mine = self._worker_runner(*stores)
                    mine.deferred = job.after
                    state = mine.execute(job.entry, turn=job.turn, tag=job.tag)
                except Exception:  # the store cannot be opened: the claim lapses, reruns
                    log.exception("promotion %s could not start", job.entry.id)
                except BaseException as exc:  # the process is going down: say so to run_due
                    crash = exc
                finally:
                    job.turn.leave()
                    self._events.put(("done", job, state, crash))
        finally:
            if stores is not None:
                for store in stores:
                    store.close()

    def _worker_runner(self, queue_store: QueueStore, policies: PolicyStore) -> Runner:
        """The runner as a worker uses it: its own stores, callbacks sent to the engine."""
        mine = copy.copy(self.runner)
        mine.queue = queue_store
        mine.policies = policies
        mine.callbacks = _Forward(self._events.put)
        mine.pipeline = None
        return mine

    def close(self) -> None:
        """Stop the workers (idle: :meth:`run_due` returns only when all answered)."""
        for _ in self._workers:
            self._jobs.put(None)
        for worker in self._workers:
            worker.join()
        self._workers.clear()
