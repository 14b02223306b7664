"""Executing queued promotions: claim, copy, record provenance, finish, chain, notify.

Each entry was written to the queue before anything was copied, and is run by the one
engine that holds its claim (see :mod:`hoister.store.queue`). Its target tag is rendered
when it first runs and stored, so a retry after a crash writes the same tag; the copy
itself writes the tag last. The provenance record is part of the promotion: an entry is
finished only once it is attached, and a resumed entry first looks for the record an
earlier attempt may have written. The finish and its history row are one transaction.

An interrupted copy goes back to the queue; a failure that may pass (network, 5xx) is
retried with backoff for as long as :data:`GIVE_UP_AFTER`; one that will not
(permission, missing image, digest mismatch) fails at once with its reason. Nothing a
single entry raises stops the runner.

With ``parallel`` above 1, :meth:`Runner.run_due` hands entries to the workers of a
:class:`~hoister.engine.pipeline.Pipeline`, each running :meth:`Runner.execute` with
stores of its own; everything above holds for each entry as it does one at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from hoister.engine.clients import ClientPool
from hoister.engine.collisions import describe_holder, next_distinct_time, what_holds
from hoister.engine.events import EngineCallbacks
from hoister.engine.lease import Heartbeat
from hoister.engine.pipeline import DEFAULT_PARALLEL, Pipeline, Turn
from hoister.engine.promoter import Cancelled, Promoter, PromotionOutcome, PromotionRequest
from hoister.engine.provenance import ProvenanceRecord
from hoister.engine.record_once import record_once
from hoister.engine.routes import Route, is_transient, manual_route, route_of
from hoister.engine.watcher import Candidate, Watcher
from hoister.engine.webhook import send_webhook
from hoister.errors import HoisterError
from hoister.facts import ImageFacts
from hoister.policies import (
    PolicyNotFound,
    compile_policy,
    evaluate,
    target_tag,
)
from hoister.store import Database
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.policies import PolicyStore
from hoister.store.queue import DEFAULT_LEASE, LostClaim, QueueEntry, QueueStore

log = logging.getLogger(__name__)

#: A promotion that keeps failing for reasons that may pass is retried this long.
GIVE_UP_AFTER = timedelta(days=1)
#: The longest wait between two tries of one promotion.
MAX_BACKOFF = timedelta(minutes=15)


class TagTaken(Exception):
    """The rendered target tag belongs to another image (internal to the runner)."""

    def __init__(self, tag: str, digest: str | None, origin: str | None) -> None:
        super().__init__(tag)
        self.tag = tag
        self.digest = digest
        self.origin = origin


class Runner:
    def __init__(
        self,
        *,
        db: Database,
        policies: PolicyStore,
        queue: QueueStore,
        history: HistoryStore,
        clients: ClientPool,
        watcher: Watcher,
        clock: Callable[[], datetime],
        actor: str,
        owner: str,
        callbacks: EngineCallbacks,
        agent: str = "",
        between: Callable[[], object] | None = None,
        cancel: threading.Event,
        on_chain: Callable[[Candidate], object],
        lease: timedelta = DEFAULT_LEASE,
        retry_base: timedelta = timedelta(seconds=30),
        give_up_after: timedelta = GIVE_UP_AFTER,
        chunk_size: int = 8 * 1024 * 1024,
        parallel: int = DEFAULT_PARALLEL,
    ) -> None:
        self.db = db
        self.policies = policies
        self.queue = queue
        self.history = history
        self.clients = clients
        self.watcher = watcher
        self.clock = clock
        self.actor = actor
        self.owner = owner
        self.agent = agent
        self.between = between
        self.callbacks = callbacks
        self.cancel = cancel
        self.on_chain = on_chain
        self.lease = lease
        self.retry_base = retry_base
        self.give_up_after = give_up_after
        self.chunk_size = chunk_size
        self.parallel = parallel
        #: Several promotions at once (see :mod:`.pipeline`); None runs one at a time.
        self.pipeline: Pipeline | None = Pipeline(self, parallel) if parallel > 1 else None
        #: In a pipeline's worker: where finished promotions wait for the engine's thread
        #: to chain them (see :meth:`after_promotion`); None does it at once.
        self.deferred: list[tuple[QueueEntry, Route, ProvenanceRecord]] | None = None

    def close(self) -> None:
        """Stop the pipeline's workers (on the engine's thread, after the last run)."""
        if self.pipeline is not None:
            self.pipeline.close()

    def run_due(self) -> dict[str, int]:
        """Execute every entry that is due now; returns counts by outcome."""
        if self.pipeline is not None:
            return self.pipeline.run_due()
        counts = {"promoted": 0, "skipped": 0, "failed": 0, "retry": 0, "lost": 0}
        # On a team database, entries of registries this engine lacks are left to the
        # engines that have them. Alone, there is no one to leave them to: they run and
        # fail visibly ("not configured"), to be retried once the connection is back.
        known = self.clients.known() if self.queue.shared else None
        while not self.cancel.is_set():
            if self.between is not None:
                self.between()  # the engine's beat: a long queue must not hide it
            entry = self.queue.claim_next(self.owner, self.clock(), self.lease, known)
            if entry is None:
                break
            counts[self.execute(entry)] += 1
        return counts

    def claim(self, entry_id: int) -> QueueEntry | None:
        """Claim one pending entry for this runner (a manual promotion)."""
        return self.queue.claim(entry_id, self.owner, self.lease)

    def execute(
        self,
        entry: QueueEntry,
        route: Route | None = None,
        *,
        turn: Turn | None = None,
        tag: str | None = None,
    ) -> str:
        """Run one entry this runner claimed; ``route`` overrides the policy's (manual).

        In a pipeline, ``turn`` is waited for (under the entry's heartbeat) before the
        target tag is reserved, and ``tag`` is the tag the dispatcher rendered at the claim.

        Returns ``promoted``, ``skipped``, ``failed``, ``retry`` (back in the queue: a
        transient failure, an interruption, or a tag to wait for) or ``lost`` (another
        engine took the entry over).
        """
        assert entry.id is not None
        started = self.clock()
        try:
            with Heartbeat(self.db, entry, self.lease, self.cancel) as beat:
                return self._execute(entry, route, started, beat, turn, tag)
        except LostClaim as exc:
            log.warning("%s", exc)
            return "lost"
        except Exception:  # a broken database, a bug: the entry stays claimed, lapses, reruns
            log.exception("unexpected error around promotion %s", entry.id)
            return "retry"

    def _execute(
        self,
        entry: QueueEntry,
        route: Route | None,
        started: datetime,
        beat: Heartbeat,
        turn: Turn | None = None,
        tag: str | None = None,
    ) -> str:
        try:
            route = route or self._route(entry)
        except PolicyNotFound:
            # The entry went with its policy (ON DELETE CASCADE): nothing left to finish.
            log.info("promotion %s: its policy was deleted before it ran", entry.id)
            return "skipped"
        if route is None:
            self._finish(entry, None, "skipped", "the policy was disabled before it ran", started)
            return "skipped"
        if turn is not None and not turn.wait(beat.cancel.is_set):
            return self._interrupted(entry, beat)  # stopped while another had the tag
        self.callbacks.emit("started", entry)
        try:
            entry = self._ensure_target_tag(entry, tag)
            log.info(
                "promoting %s:%s -> %s:%s (attempt %d)",
                entry.source_repository,
                entry.source_tag,
                entry.target_repository,
                entry.target_tag,
                entry.attempts,
            )
            outcome = self._copy(entry, route, beat)
            if outcome.status == "skipped" and route.policy_id is not None:
                raise self._taken(entry)
            return self._succeeded(entry, route, outcome, started)
        except LostClaim:
            raise
        except TagTaken as taken:
            return self._collision(entry, route, taken, started)
        except Cancelled:
            return self._interrupted(entry, beat)
        except HoisterError as exc:
            return self._failed(entry, route, exc, started)
        except Exception as exc:  # a bug must not kill the engine thread
            log.exception("unexpected error promoting %s", entry)
            return self._failed(entry, route, exc, started)

    def _interrupted(self, entry: QueueEntry, beat: Heartbeat) -> str:
        """Stopped before the tag: the entry goes back, unless another engine has it."""
        if beat.lost.is_set():
            raise LostClaim(f"promotion {entry.id} was taken over by another engine")
        self.queue.retry_later(entry, "interrupted; resumes at the next start", self.clock())
        return "retry"

    # -- steps -------------------------------------------------------------------------

    def _route(self, entry: QueueEntry) -> Route | None:
        if entry.policy_id is None:
            return manual_route(entry.manual_options)
        policy = self.policies.get(entry.policy_id)
        return route_of(policy) if policy.enabled else None

    def _render(self, entry: QueueEntry) -> Callable[[datetime], str]:
        assert entry.policy_id is not None
        compiled = compile_policy(self.policies.get(entry.policy_id))
        facts = ImageFacts(entry.source_repository, entry.source_tag, digest=entry.source_digest)
        evaluation = evaluate(compiled, facts, self.clock())
        return lambda when: target_tag(compiled, facts, evaluation, when)

    def render_now(self, entry: QueueEntry) -> str:
        """The target tag the entry's policy gives it now."""
        return self._render(entry)(self.clock())

    def _ensure_target_tag(self, entry: QueueEntry, rendered: str | None = None) -> QueueEntry:
        """Render the tag now (time tokens say when the promotion was made) and reserve it.

        ``rendered``: the tag the pipeline's dispatcher rendered when it claimed the entry.
        """
        if entry.target_tag is not None:
            return entry
        tag = rendered or self.render_now(entry)
        holder = self.queue.reserve_target_tag(entry, tag)
        if holder is not None:
            origin = f"reserved by the promotion of {holder.source_repository}:{holder.source_tag}"
            raise TagTaken(tag, holder.source_digest, origin)
        return replace(entry, target_tag=tag)

    def _copy(self, entry: QueueEntry, route: Route, beat: Heartbeat) -> PromotionOutcome:
        assert entry.target_tag is not None

        def progress(event: object) -> None:
            done = getattr(event, "done_bytes", 0)
            total = getattr(event, "total_bytes", None)
            self.callbacks.emit("progress", entry, done, total)

        promoter = Promoter(
            chunk_size=self.chunk_size,
            cancel=beat.cancel,  # type: ignore[arg-type]
            progress=progress,
        )
        source = self.clients.get(entry.source_profile)
        target = self.clients.get(entry.target_profile)
        return promoter.promote(
            PromotionRequest(
                source=source,
                source_repository=entry.source_repository,
                source_reference=entry.source_digest,
                target=target,
                target_repository=entry.target_repository,
                target_tag=entry.target_tag,
                overwrite=route.overwrite,
                copy_referrers=route.copy_referrers,
            )
        )

    def _taken(self, entry: QueueEntry) -> TagTaken:
        """The target tag exists for another image: find out which, for the message."""
        assert entry.target_tag is not None
        target = self.clients.get(entry.target_profile)
        digest, origin = what_holds(target, entry.target_repository, entry.target_tag)
        return TagTaken(entry.target_tag, digest, origin)

    def _collision(
        self, entry: QueueEntry, route: Route, taken: TagTaken, started: datetime
    ) -> str:
        held = describe_holder(entry.target_repository, taken.tag, taken.digest, taken.origin)
        when = None
        if entry.policy_id is not None:
            now = self.clock()
            when = next_distinct_time(self._render(entry), now)
        if when is not None:
            self.queue.retry_later(
                entry,
                f"waiting: {held}; the template gives a new tag at {when.isoformat()}",
                when,
                rerender=True,
            )
            log.info("%s is taken; promotion %s renders again at %s", taken.tag, entry.id, when)
            return "retry"
        if entry.policy_id is None:
            reason = f"target tag {held}; skipped as asked"
            row = self._finish(entry, route, "skipped", reason, started)
            self.callbacks.emit("finished", entry, row)
            return "skipped"
        reason = (
            f"collides with {held}; this policy's template gives {entry.source_repository}:"
            f"{entry.source_tag} ({entry.source_digest}) the same tag. Change the template or "
            "the target, then retry"
        )
        row = self._finish(entry, route, "failed", reason, started)
        self.callbacks.emit("failed", entry, row)
        return "failed"

    def _succeeded(
        self, entry: QueueEntry, route: Route, outcome: PromotionOutcome, started: datetime
    ) -> str:
        assert entry.id is not None and entry.target_tag is not None
        now = self.clock()
        # "unchanged" on a retry means an earlier attempt of this very entry wrote the tag
        # before the process died: it is this promotion, completed.
        promoted = outcome.status == "promoted" or (
            outcome.status == "unchanged" and entry.attempts > 1
        )
        notes = [outcome.reason] if outcome.reason else []
        record = ProvenanceRecord(
            policy_id=route.policy_id,
            policy_name=route.policy_name,
            source_registry=self.clients.identity_of(entry.source_profile),
            source_repository=entry.source_repository,
            source_tag=entry.source_tag,
            source_digest=entry.source_digest,
            target_repository=entry.target_repository,
            target_tag=entry.target_tag,
            promoted_at=now,
            promoted_by=self.actor,
            hop=entry.hop,
        )
        if promoted and route.record_provenance:
            self.queue.check(entry)  # fencing: an owner taken over writes no record
            target = self.clients.get(entry.target_profile)
            resumed = entry.attempts > 1 or outcome.status == "unchanged"
            notes += record_once(target, entry.target_repository, outcome.digest, record, resumed)
        if promoted and route.webhook_url:
            # Before the finish: delivered at least once (a crash in between sends it
            # again on resume), and a failure shows in the history row.
            problem = _guarded_webhook(route.webhook_url, record)
            if problem:
                notes.append(problem)
        state = "promoted" if promoted else "skipped"
        row = self._finish(entry, route, state, "; ".join(notes), started, outcome)
        self.callbacks.emit("finished", entry, row)
        if promoted:
            if self.deferred is not None:
                self.deferred.append((entry, route, record))
            else:
                self.after_promotion(entry, route, record)
        return state

    def after_promotion(self, entry: QueueEntry, route: Route, record: ProvenanceRecord) -> None:
        """What follows a finished promotion; each step guarded, none can undo it.

        On the engine's thread (a pipeline's worker defers it there): the evaluator and
        the watch store are that thread's.

        The chain is enqueued before the target tag is noted as seen: a crash between the
        two leaves the tag for the next poll to find, never lost.
        """
        assert entry.target_tag is not None
        steps: list[tuple[str, Callable[[], object]]] = [
            ("chain", lambda: self.on_chain(self._chain_candidate(entry, record))),
            (
                "watch",
                lambda: self.watcher.note_pushed(
                    entry.target_profile,
                    entry.target_repository,
                    entry.target_tag or "",
                    entry.source_digest,
                ),
            ),
        ]
        if route.policy_id is not None:
            policy_id = route.policy_id
            steps.append(
                ("policy", lambda: self.policies.mark_promoted(policy_id, record.promoted_at))
            )
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("after promotion %s: %s step failed", entry.id, name)

    def _chain_candidate(self, entry: QueueEntry, record: ProvenanceRecord) -> Candidate:
        assert entry.target_tag is not None
        return Candidate(
            entry.target_profile,
            entry.target_repository,
            entry.target_tag,
            entry.source_digest,
            record.promoted_at,
            "chain",
            hop=entry.hop + 1,
        )

    def _failed(
        self, entry: QueueEntry, route: Route, exc: BaseException, started: datetime
    ) -> str:
        assert entry.id is not None
        message = str(exc) or type(exc).__name__
        now = self.clock()
        created = entry.created_at or now
        if is_transient(exc) and now - created < self.give_up_after:
            delay = min(self.retry_base * (2 ** min(entry.attempts - 1, 10)), MAX_BACKOFF)
            self.queue.retry_later(entry, message, now + delay)
            log.warning(
                "promotion %s failed (attempt %d), will retry: %s",
                entry.id,
                entry.attempts,
                message,
            )
            return "retry"
        row = self._finish(entry, route, "failed", message, started)
        self.callbacks.emit("failed", entry, row)
        return "failed"

    def _finish(
        self,
        entry: QueueEntry,
        route: Route | None,
        outcome: str,
        reason: str,
        started: datetime,
        result: PromotionOutcome | None = None,
    ) -> HistoryRow:
        """Finish the entry and write its history row in one transaction (fenced)."""
        stats = result.stats if result is not None else None
        row = HistoryRow.for_entry(
            entry,
            policy_name=route.policy_name if route else "",
            outcome=outcome,
            reason=reason,
            started=started,
            finished=self.clock(),
            actor=self.actor,
            agent=self.agent,
            bytes_moved=stats.bytes_moved if stats else 0,
            blobs_mounted=stats.blobs_mounted if stats else 0,
            blobs_uploaded=stats.blobs_uploaded if stats else 0,
        )
        state = {"promoted": "done"}.get(outcome, outcome)
        written = self.queue.finish(
            entry, state, None if outcome == "promoted" else reason, history=row
        )
        assert written is not None
        return written


def _guarded_webhook(url: str, record: ProvenanceRecord) -> str | None:
    try:
        return send_webhook(url, record)
    except Exception as exc:  # a receiver's fault must not undo the promotion
        log.exception("webhook %s failed", url)
        return f"webhook not delivered: {exc}"
