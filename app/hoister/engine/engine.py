"""The engine: poll, evaluate, enqueue, promote — the same code in the app and the agent.

One engine runs on one thread (the GUI's worker or the agent's main thread). Its stores
and registry clients are created on that thread and closed there. Other threads talk to
it only through :meth:`Engine.notice` (a registry notification arrived) and
:meth:`Engine.stop`, both thread-safe.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cached_property

from hoister.engine.clients import ClientFactory, ClientPool, CredentialResolver, default_factory
from hoister.engine.dryrun import platform_of
from hoister.engine.events import CycleReport, EngineCallbacks
from hoister.engine.listener import PushNotice
from hoister.engine.runner import Runner, default_actor
from hoister.engine.watcher import Candidate, Watcher
from hoister.errors import HoisterError
from hoister.facts.gather import FactsGatherer
from hoister.policies import (
    CompiledPolicy,
    Evaluation,
    Outcome,
    Policy,
    PolicyError,
    Route,
    compile_policy,
    evaluate,
    needed_facts,
)
from hoister.profiles import ProfileStore
from hoister.registry import RegistryError
from hoister.store import Database, PolicyStore
from hoister.store.facts import FactsCache, Undecided, UndecidedStore
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.queue import QueueEntry, QueueStore
from hoister.store.times import now_utc
from hoister.store.watch import WatchStore

log = logging.getLogger(__name__)

#: A promotion into a repository with policies of its own triggers them; this many
#: links at most, so a misconfiguration cannot run away.
HOP_LIMIT = 8
#: Seconds after which a notice whose digest the tag does not show yet is checked again.
RECHECK_DELAYS = (0.2, 1.0, 3.0)


class Engine:
    def __init__(
        self,
        db: Database,
        profiles: ProfileStore,
        credentials: CredentialResolver,
        *,
        clock: Callable[[], datetime] = now_utc,
        actor: str | None = None,
        callbacks: EngineCallbacks | None = None,
        client_factory: ClientFactory = default_factory,
        max_attempts: int = 5,
        retry_base: timedelta = timedelta(seconds=30),
        chunk_size: int = 8 * 1024 * 1024,
    ) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor or default_actor(agent=False)
        self.callbacks = callbacks or EngineCallbacks()
        self.clients = ClientPool(profiles, credentials, client_factory)
        self._options = {
            "max_attempts": max_attempts,
            "retry_base": retry_base,
            "chunk_size": chunk_size,
        }
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._inbox: queue.SimpleQueue[PushNotice] = queue.SimpleQueue()
        self._down: dict[str, str] = {}
        self._rechecks: list[tuple[datetime, PushNotice, int]] = []
        self._requests: queue.SimpleQueue[Candidate] = queue.SimpleQueue()
        self._paused = threading.Event()
        self._poll_now = threading.Event()

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
    def runner(self) -> Runner:
        return Runner(
            policies=self.policies,
            queue=self.queue,
            history=self.history,
            clients=self.clients,
            watcher=self.watcher,
            clock=self.clock,
            actor=self.actor,
            callbacks=self.callbacks,
            cancel=self._stop,
            on_chain=self.handle_candidate,
            **self._options,  # type: ignore[arg-type]
        )

    def close(self) -> None:
        """Release connections and clients; call on the engine's thread."""
        self.clients.close()
        for name in ("policies", "queue", "history", "undecided", "facts_cache"):
            if name in self.__dict__:
                self.__dict__.pop(name).close()
        if "watcher" in self.__dict__:
            self.__dict__.pop("watcher").watch.close()
        self.__dict__.pop("runner", None)

    # -- control from other threads --------------------------------------------------------

    def stop(self) -> None:
        """Ask the engine to stop; a copy in progress is abandoned before its tag is written."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def notice(self, notice: PushNotice) -> None:
        """A registry notification: handled on the engine's thread as soon as it wakes."""
        self._inbox.put(notice)
        self._wake.set()

    # -- the work ------------------------------------------------------------------------

    def run_forever(self, interval: float) -> None:
        """Poll every ``interval`` seconds, react to notices at once, until :meth:`stop`.

        Runs on the engine's own thread and closes the engine's stores and clients there
        when it returns (sqlite3 connections must be closed by the thread that made them).
        """
        try:
            self._run_forever(interval)
        finally:
            self.close()

    def _run_forever(self, interval: float) -> None:
        self.resume()
        next_cycle = self.clock()
        while not self._stop.is_set():
            if not self._paused.is_set():
                if self._poll_now.is_set() or self.clock() >= next_cycle:
                    self._poll_now.clear()
                    self.run_cycle()
                    next_cycle = self.clock() + timedelta(seconds=interval)
                elif self.process_notices():
                    self.runner.run_due()
            if self._paused.is_set():
                timeout = interval  # woken by set_paused(False) or stop()
            else:
                timeout = (next_cycle - self.clock()).total_seconds()
                recheck = self.next_recheck()
                if recheck is not None:
                    timeout = min(timeout, recheck)
            if timeout > 0 and self._wake.wait(timeout):
                self._wake.clear()

    def poll_now(self) -> None:
        """Run a poll cycle as soon as possible (thread-safe): after a policy was saved, so
        its repository's baseline is taken before the next push rather than after."""
        self._poll_now.set()
        self._wake.set()

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

    def submit(self, candidates: list[Candidate]) -> None:
        """Candidates from elsewhere (Save & Apply, run now): evaluated on the engine's thread."""
        for candidate in candidates:
            self._requests.put(candidate)
        self._wake.set()

    def resume(self) -> int:
        """Put back promotions a previous process left half-done; they run again."""
        resumed = self.queue.resume_interrupted()
        if resumed:
            log.info("resuming %d interrupted promotion(s)", resumed)
        return resumed

    def run_cycle(self) -> CycleReport:
        started = self.clock()
        problems: list[str] = []
        routes = self._watched_routes()
        candidates = 0
        enqueued = 0
        for (profile, repository), policies in routes.items():
            if self._stop.is_set():
                break
            try:
                found = self._poll(profile, repository, policies)
            except (RegistryError, HoisterError) as exc:
                problems.append(self._outage(profile, exc))
                continue
            self._recovered(profile)
            candidates += len(found)
            for candidate in found:
                enqueued += self.handle_candidate(candidate)
        enqueued += self.revisit_undecided()
        self.process_notices()
        counts = self.runner.run_due()
        report = CycleReport(
            started_at=started,
            finished_at=self.clock(),
            repositories=len(routes),
            candidates=candidates,
            enqueued=enqueued,
            promoted=counts["promoted"],
            skipped=counts["skipped"],
            failed=counts["failed"],
            problems=tuple(p for p in problems if p),
            queue_length=self.queue.pending_count(),
        )
        self.callbacks.emit("cycle_done", report)
        return report

    def _watched_routes(self) -> dict[tuple[str, str], list[CompiledPolicy]]:
        routes: dict[tuple[str, str], list[CompiledPolicy]] = {}
        for policy in self.policies.list():
            if not policy.enabled:
                continue
            compiled = self._compile(policy)
            if compiled is not None:
                routes.setdefault((policy.source_profile, policy.source_repository), []).append(
                    compiled
                )
        return routes

    def _compile(self, policy: Policy) -> CompiledPolicy | None:
        try:
            return compile_policy(policy)
        except PolicyError as exc:
            log.warning("%s is not usable and is skipped: %s", policy.label, exc)
            return None

    def _poll(
        self, profile: str, repository: str, policies: list[CompiledPolicy]
    ) -> list[Candidate]:
        client = self.clients.get(profile)
        ids = [p.policy.id for p in policies if p.policy.id is not None]
        unseen = set(self.watcher.watch.policies_without_baseline(ids))
        fresh = [p for p in policies if p.policy.id in unseen and p.policy.apply_existing]
        result = self.watcher.poll(client, profile, repository, policies, fresh)
        for policy_id in unseen:
            self.watcher.watch.mark_policy_baseline(policy_id)
        for candidate in result.candidates:
            self.callbacks.emit("candidate", candidate)
        return result.candidates

    def _outage(self, profile: str, exc: BaseException) -> str:
        message = f"{profile}: {exc}"
        if profile in self._down:
            return ""  # already reported: one message per outage, not one per cycle
        self._down[profile] = message
        log.warning("registry problem: %s", message)
        self.callbacks.emit("problem", message)
        return message

    def _recovered(self, profile: str) -> None:
        if self._down.pop(profile, None) is not None:
            log.info("registry %s is reachable again", profile)
            self.callbacks.emit("recovered", profile)

    def handle_candidate(self, candidate: Candidate) -> int:
        """Evaluate a candidate against its repository's policies; enqueue the matches."""
        policies = [
            p
            for p in self.policies.list(source=Route(candidate.profile, candidate.repository))
            if p.enabled and candidate.only_policy in (None, p.id)
        ]
        if not policies:
            return 0
        if candidate.hop > HOP_LIMIT:
            self._refuse_hop(candidate, policies[0])
            return 0
        compiled = [c for c in (self._compile(p) for p in policies) if c is not None]
        needed = set().union(*(needed_facts(c) for c in compiled)) if compiled else set()
        gatherer = FactsGatherer(
            self.clients.get(candidate.profile),
            self.facts_cache,
            scanner=self.clients.profile(candidate.profile).scanner,
        )
        facts = gatherer.gather(
            candidate.repository,
            candidate.tag,
            candidate.digest,
            needed,
            updated_at=candidate.seen_at,
            platform=platform_of(compiled),
        )
        now = self.clock()
        enqueued = 0
        for policy in compiled:
            evaluation = evaluate(policy, facts, now)
            self._note_undecided(candidate, policy.policy, evaluation, now)
            if not evaluation.matched:
                log.debug(
                    "%s: %s:%s not promoted: %s",
                    policy.policy.label,
                    candidate.repository,
                    candidate.tag,
                    evaluation.summary(),
                )
                continue
            entry = self.queue.enqueue(
                QueueEntry(
                    id=None,
                    policy_id=policy.policy.id,
                    source_profile=candidate.profile,
                    source_repository=candidate.repository,
                    source_tag=candidate.tag,
                    source_digest=candidate.digest,
                    target_profile=policy.policy.effective_target_profile,
                    target_repository=policy.policy.target_repository,
                    hop=candidate.hop,
                )
            )
            if entry is None:
                continue  # this (policy, digest, tag) was promoted or queued before
            enqueued += 1
            self.history.add(self._row(entry, policy.policy, "matched", evaluation.summary(), now))
        return enqueued

    def _note_undecided(
        self, candidate: Candidate, policy: Policy, evaluation: Evaluation, now: datetime
    ) -> None:
        """Remember images a policy could not decide yet; forget them once it could."""
        if policy.id is None:
            return
        if evaluation.outcome is Outcome.UNKNOWN:
            self.undecided.remember(
                Undecided(
                    policy.id,
                    candidate.profile,
                    candidate.repository,
                    candidate.tag,
                    candidate.digest,
                    evaluation.summary(),
                    now,
                )
            )
        elif candidate.trigger == "facts":
            self.undecided.forget(policy.id, candidate.digest, candidate.tag)

    def revisit_undecided(self) -> int:
        """Evaluate again what waited for facts (a scan report usually arrives after the
        image: MSR evaluated after scan completion too). Returns promotions enqueued."""
        enqueued = 0
        for item in self.undecided.due():
            try:
                current = self.clients.get(item.profile).head_manifest(item.repository, item.tag)
            except (RegistryError, HoisterError):
                continue  # the outage is reported by polling; try again next cycle
            if current is None or current.digest != item.digest:
                # the tag moved on: its new digest is a candidate of its own
                self.undecided.forget(item.policy_id, item.digest, item.tag)
                continue
            enqueued += self.handle_candidate(
                Candidate(
                    item.profile,
                    item.repository,
                    item.tag,
                    item.digest,
                    item.first_seen,
                    "facts",
                    only_policy=item.policy_id,
                )
            )
        return enqueued

    def _refuse_hop(self, candidate: Candidate, policy: Policy) -> None:
        now = self.clock()
        reason = (
            f"a chain of promotions reached {HOP_LIMIT} links at {candidate.repository}; "
            "stopped there"
        )
        entry = QueueEntry(
            None,
            policy.id,
            candidate.profile,
            candidate.repository,
            candidate.tag,
            candidate.digest,
            policy.effective_target_profile,
            policy.target_repository,
            hop=candidate.hop,
        )
        log.warning(reason)
        self.history.add(self._row(entry, policy, "failed", reason, now))

    def _row(
        self, entry: QueueEntry, policy: Policy, outcome: str, reason: str, now: datetime
    ) -> HistoryRow:
        return HistoryRow.for_entry(
            entry,
            policy_name=policy.name,
            outcome=outcome,
            reason=reason,
            started=now,
            finished=now,
            actor=self.actor,
        )

    def process_notices(self) -> int:
        """Turn notifications into candidates, checking each tag's current digest.

        distribution announces a push before it has written the tag, and notifications
        arrive unordered, so the registry's current answer decides: a notice whose digest
        the tag does not (yet) show is looked at again a few times, then left to polling.
        """
        now = self.clock()
        due = [(notice, attempt) for when, notice, attempt in self._rechecks if when <= now]
        self._rechecks = [r for r in self._rechecks if r[0] > now]
        batch: list[tuple[PushNotice, int]] = []
        while True:
            try:
                batch.append((self._inbox.get_nowait(), 0))
            except queue.Empty:
                break
        handled = 0
        for notice, attempt in [*batch, *due]:
            handled += self._handle_notice(notice, attempt, now)
        while True:
            try:
                handled += self.handle_candidate(self._requests.get_nowait())
            except queue.Empty:
                return handled

    def _handle_notice(self, notice: PushNotice, attempt: int, now: datetime) -> int:
        profile = self._profile_for(notice)
        if profile is None:
            log.info(
                "notification for %s:%s matches no watched registry", notice.repository, notice.tag
            )
            return 0
        try:
            current = self.clients.get(profile).head_manifest(notice.repository, notice.tag)
        except (RegistryError, HoisterError) as exc:
            self._outage(profile, exc)
            return 0
        if current is None or current.digest != notice.digest:
            if attempt < len(RECHECK_DELAYS):
                when = now + timedelta(seconds=RECHECK_DELAYS[attempt])
                self._rechecks.append((when, notice, attempt + 1))
            if current is None:
                return 0
        self.watcher.note_pushed(profile, notice.repository, notice.tag, current.digest)
        return self.handle_candidate(
            Candidate(
                profile,
                notice.repository,
                notice.tag,
                current.digest,
                notice.timestamp or now,
                "notification",
            )
        )

    def next_recheck(self) -> float | None:
        """Seconds until a notification is due to be looked at again, if any."""
        if not self._rechecks:
            return None
        soonest = min(when for when, _, _ in self._rechecks)
        return max(0.0, (soonest - self.clock()).total_seconds())

    def _profile_for(self, notice: PushNotice) -> str | None:
        sources = {
            p.source_profile
            for p in self.policies.list()
            if p.enabled and p.source_repository == notice.repository
        }
        if len(sources) == 1:
            return sources.pop()
        matching = [
            s
            for s in sources
            if notice.registry_host and self.clients.host_of(s) == notice.registry_host
        ]
        return matching[0] if len(matching) == 1 else None
