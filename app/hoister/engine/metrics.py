"""What the headless agent tells operators: ``/healthz`` and Prometheus ``/metrics``.

A server that promotes images unattended needs to be watched from outside: a health
check that a supervisor (Docker's ``HEALTHCHECK``, a Kubernetes probe) can act on, and
counters a monitoring system can graph and alert on. Both are fed from the engine's
plain callbacks, so the engine itself knows nothing about them, and both are served by
the notification :class:`~hoister.engine.listener.Listener` as extra routes, so the agent
opens one port, not two.

The callbacks run on the engine's thread while scrapes arrive on the listener's handler
threads, hence one lock around every piece of state. Labels never carry repository or
profile names: those would make the series count grow with the registry, and metrics
are served without the notification token, so they must not describe what is inside.

Every sample carries ``agent="agent@host:pid"`` (the engine's name, as history rows and
the engines table have it), so several agents scraped into one Prometheus stay apart
whatever their ``instance`` label. With the store attached, ``/healthz`` also asks the
database (``SELECT 1`` with a short timeout, on the request's own thread: the listener
serves each request on a thread of its own) and ``/metrics`` adds
``hoister_database_up`` and the team's figure, ``hoister_team_promotions_last_hour``:
promotions in the shared history over the last hour by the engine that made them. Its
``agent`` label names that engine, not the one scraped — every agent of a store reports
the same numbers (aggregate with ``max by (agent)``) — and it is a gauge, since a count
over a sliding hour goes down as well as up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from hoister import __version__
from hoister.engine.events import CycleReport, EngineCallbacks, chain
from hoister.engine.exposition import CONTENT_TYPE, Exposition
from hoister.engine.outages import DEFAULT_UNHEALTHY_AFTER, Outages
from hoister.store.history import HistoryRow
from hoister.store.probe import StoreProbe, StoreUnreachable
from hoister.store.queue import QueueEntry

__all__ = ["CONTENT_TYPE", "HEALTH_GRACE", "AgentMetrics", "chain"]

log = logging.getLogger(__name__)
_TEXT = "text/plain; charset=utf-8"
#: Extra seconds allowed on top of three intervals before a silent engine is unhealthy:
#: one poll cycle can legitimately take a while (a large copy runs inside it).
HEALTH_GRACE = 60.0
OUTCOMES = ("promoted", "skipped", "failed")
#: Listener counter -> the ``reason`` label of hoister_notifications_rejected_total.
REJECTIONS = {
    "rejected_auth": "auth",
    "rejected_size": "size",
    "malformed": "malformed",
    "duplicates": "duplicate",
}

Response = tuple[int, str, bytes]
CounterSource = Callable[[], Mapping[str, int]]


class AgentMetrics:
    """Counters and gauges of one agent process, served as ``/healthz`` and ``/metrics``.

    ``interval`` is the agent's poll interval: the health check expects a finished poll
    cycle at least every ``3 * interval + HEALTH_GRACE`` seconds, and no registry
    unreachable for longer than ``unhealthy_after`` seconds. ``clock`` returns unix
    seconds; tests pass a fake one.
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.time,
        agent: str = "",
        store: StoreProbe | None = None,
        unhealthy_after: float = DEFAULT_UNHEALTHY_AFTER,
    ) -> None:
        if interval <= 0:
            raise ValueError("the poll interval must be positive")
        if unhealthy_after <= 0:
            raise ValueError("the unhealthy-after time must be positive")
        self.interval = interval
        self.unhealthy_after = unhealthy_after
        #: The engine's name, put on every sample (set before the listener starts).
        self.agent = agent
        self.store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._started = clock()
        self._outcomes = dict.fromkeys(OUTCOMES, 0)
        self._cycles = 0
        self._last_finished: float | None = None
        self._last_duration: float | None = None
        self._last_repositories = 0
        self._queue_length = 0
        self._problems = 0
        self._down = Outages()
        self._listener: CounterSource | None = None

    # -- feeding ---------------------------------------------------------------------------

    def watch_listener(self, counters: CounterSource) -> None:
        """Include a listener's counters (pass ``listener.counters``) in every scrape."""
        with self._lock:
            self._listener = counters

    def callbacks(self) -> EngineCallbacks:
        """Engine callbacks that update these metrics; combine with others via :func:`chain`."""
        return EngineCallbacks(
            finished=self.on_finished,
            failed=self.on_failed,
            cycle_done=self.on_cycle,
            problem=self.on_problem,
            recovered=self.on_recovered,
        )

    def on_finished(self, entry: QueueEntry, row: HistoryRow) -> None:
        """A promotion ended without error: promoted, or skipped (nothing to do)."""
        outcome = row.outcome if row.outcome in self._outcomes else "promoted"
        with self._lock:
            self._outcomes[outcome] += 1

    def on_failed(self, entry: QueueEntry, row: HistoryRow) -> None:
        with self._lock:
            self._outcomes["failed"] += 1

    def on_cycle(self, report: CycleReport) -> None:
        with self._lock:
            self._cycles += 1
            self._last_finished = report.finished_at.timestamp()
            self._last_duration = max(0.0, (report.finished_at - report.started_at).total_seconds())
            self._last_repositories = report.repositories
            self._queue_length = report.queue_length

    def on_problem(self, message: str) -> None:
        """A registry became unreachable; the engine reports each outage once.

        The message starts with ``"<profile>: "`` (profile names cannot hold ``:``),
        which is how the matching ``recovered`` callback is paired with it.
        """
        profile = message.partition(": ")[0]
        with self._lock:
            self._problems += 1
        self._down.began(profile, message, self._clock())

    def on_recovered(self, profile: str) -> None:
        self._down.ended(profile)

    # -- serving ---------------------------------------------------------------------------

    def healthz(self) -> Response:
        """200 while the store answers, the engine keeps finishing poll cycles and no
        registry has been unreachable for longer than ``unhealthy_after``, else 503 with
        the reasons (``unhealthy: reason; reason``).

        Before the first cycle finishes the agent is "starting" (200) for as long as a
        cycle may take; a first cycle that never ends is as unhealthy as a later one.
        """
        problem = self.store.problem() if self.store is not None else None
        if problem is not None:
            return 503, _TEXT, f"unhealthy: {problem}\n".encode()
        now = self._clock()
        limit = 3 * self.interval + HEALTH_GRACE
        with self._lock:
            last, started = self._last_finished, self._started
        reasons = self._down.overdue(now, self.unhealthy_after)
        if last is None:
            waited = now - started
            if waited > limit:
                reasons.insert(
                    0,
                    f"no poll cycle has finished in the {waited:.0f} s since the agent "
                    f"started (limit {limit:.0f} s)",
                )
        elif now - last > limit:
            age = now - last
            reasons.insert(0, f"the last poll cycle finished {age:.0f} s ago (limit {limit:.0f} s)")
        if reasons:
            return 503, _TEXT, f"unhealthy: {'; '.join(reasons)}\n".encode()
        return 200, _TEXT, b"starting\n" if last is None else b"ok\n"

    def metrics(self) -> Response:
        """The Prometheus text exposition of every counter and gauge."""
        listener_source = self._listener
        listener = dict(listener_source()) if listener_source is not None else {}
        with self._lock:
            outcomes = dict(self._outcomes)
            cycles, last, duration = self._cycles, self._last_finished, self._last_duration
            repositories, queue_length = self._last_repositories, self._queue_length
            problems, started = self._problems, self._started
        down = len(self._down)
        out = Exposition({"agent": self.agent} if self.agent else None)
        out.family("hoister_up", "gauge", "1 while the agent is running.", [({}, 1)])
        out.family(
            "hoister_info",
            "gauge",
            "The Hoister version, as a label.",
            [({"version": __version__}, 1)],
        )
        out.family(
            "hoister_start_time_seconds",
            "gauge",
            "When the agent started, in unix seconds.",
            [({}, started)],
        )
        out.family(
            "hoister_promotions_total",
            "counter",
            "Promotions finished since the agent started, by outcome.",
            [({"outcome": name}, outcomes[name]) for name in OUTCOMES],
        )
        out.family(
            "hoister_queue_length",
            "gauge",
            "Promotions waiting in the durable queue at the end of the last poll cycle.",
            [({}, queue_length)],
        )
        out.family(
            "hoister_poll_cycles_total",
            "counter",
            "Poll cycles finished since the agent started.",
            [({}, cycles)],
        )
        # No sample before the first cycle: a 0 would read as "last polled in 1970" and
        # fire every staleness alert at start; absent() tells the two cases apart.
        out.family(
            "hoister_last_poll_timestamp_seconds",
            "gauge",
            "When the last poll cycle finished, in unix seconds.",
            [] if last is None else [({}, last)],
        )
        out.family(
            "hoister_last_poll_duration_seconds",
            "gauge",
            "How long the last poll cycle took, promotions included.",
            [] if duration is None else [({}, duration)],
        )
        out.family(
            "hoister_watched_repositories",
            "gauge",
            "Source repositories polled in the last cycle.",
            [({}, repositories)],
        )
        out.family(
            "hoister_registry_problems_total",
            "counter",
            "Times a registry became unreachable or refused the agent.",
            [({}, problems)],
        )
        out.family(
            "hoister_registries_unreachable",
            "gauge",
            "Registries currently failing (an outage not yet recovered).",
            [({}, down)],
        )
        out.family(
            "hoister_notifications_received_total",
            "counter",
            "Registry notification deliveries (POSTs to the events path) received.",
            [({}, listener.get("received", 0))],
        )
        out.family(
            "hoister_notifications_accepted_total",
            "counter",
            "Push events handed to the engine.",
            [({}, listener.get("accepted", 0))],
        )
        out.family(
            "hoister_notifications_rejected_total",
            "counter",
            "Deliveries or events not acted on, by reason.",
            [({"reason": label}, listener.get(key, 0)) for key, label in REJECTIONS.items()],
        )
        if self.store is not None:
            self._team(out, self.store)
        return 200, CONTENT_TYPE, out.body()

    @staticmethod
    def _team(out: Exposition, store: StoreProbe) -> None:
        """The store's own figures; no team sample when the store does not answer."""
        try:
            counts: dict[str, int] | None = store.promotions_by_agent()
        except StoreUnreachable as exc:
            log.warning("metrics without the team's figures: %s", exc)
            counts = None
        out.family(
            "hoister_database_up",
            "gauge",
            "1 when the store answered this scrape, 0 when it did not.",
            [({}, 0 if counts is None else 1)],
        )
        out.family(
            "hoister_team_promotions_last_hour",
            "gauge",
            "Promotions in the shared history over the last hour, by the engine that made "
            "them (the same on every agent of one store).",
            [({"agent": name or "unknown"}, n) for name, n in (counts or {}).items()],
            shared=False,
        )
