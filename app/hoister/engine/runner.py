"""Executing queued promotions: copy, record, attach provenance, notify, chain.

Each entry was written to the queue before anything was copied. Its target tag is
rendered at the first attempt and stored, so a retry after a crash writes the same tag;
the copy itself writes the tag last. An interrupted copy goes back to the queue; a
failure that may pass (network, 5xx) is retried with backoff, one that will not
(permission, missing image, digest mismatch) fails at once with its reason.
"""

from __future__ import annotations

import getpass
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hoister.engine.clients import ClientPool
from hoister.engine.events import EngineCallbacks
from hoister.engine.promoter import Cancelled, Promoter, PromotionOutcome, PromotionRequest
from hoister.engine.provenance import ProvenanceRecord, attach_provenance
from hoister.engine.watcher import Candidate, Watcher
from hoister.engine.webhook import send_webhook
from hoister.errors import HoisterError
from hoister.facts import ImageFacts
from hoister.policies import (
    OverwriteMode,
    Policy,
    PolicyNotFound,
    compile_policy,
    evaluate,
    target_tag,
)
from hoister.registry import ProtocolError, ServerError, TooManyRequests, Unreachable
from hoister.registry.errors import DigestMismatch, PaginationLoop
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.policies import PolicyStore
from hoister.store.queue import QueueEntry, QueueStore

log = logging.getLogger(__name__)


def default_actor(agent: bool) -> str:
    """Who promotes: recorded in provenance so QA knows which workstation or agent did."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{'hoister-agent' if agent else user}@{socket.gethostname()}"


def is_transient(exc: BaseException) -> bool:
    """Failures worth retrying later: the network, overload, a registry's bad moment."""
    if isinstance(exc, (DigestMismatch, PaginationLoop)):
        return False
    return isinstance(exc, (Unreachable, ServerError, TooManyRequests, ProtocolError))


@dataclass(frozen=True)
class Route:
    """What a promotion needs beyond the queue entry: from the policy, or a manual request."""

    policy_id: int | None
    policy_name: str
    overwrite: OverwriteMode
    copy_referrers: bool
    record_provenance: bool
    webhook_url: str | None


def route_of(policy: Policy) -> Route:
    return Route(
        policy.id,
        policy.name,
        policy.overwrite,
        policy.copy_referrers,
        policy.record_provenance,
        policy.webhook_url,
    )


class Runner:
    def __init__(
        self,
        *,
        policies: PolicyStore,
        queue: QueueStore,
        history: HistoryStore,
        clients: ClientPool,
        watcher: Watcher,
        clock: Callable[[], datetime],
        actor: str,
        callbacks: EngineCallbacks,
        cancel: threading.Event,
        on_chain: Callable[[Candidate], object],
        max_attempts: int = 5,
        retry_base: timedelta = timedelta(seconds=30),
        chunk_size: int = 8 * 1024 * 1024,
    ) -> None:
        self.policies = policies
        self.queue = queue
        self.history = history
        self.clients = clients
        self.watcher = watcher
        self.clock = clock
        self.actor = actor
        self.callbacks = callbacks
        self.cancel = cancel
        self.on_chain = on_chain
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.chunk_size = chunk_size

    def run_due(self) -> dict[str, int]:
        """Execute every entry that is due now; returns counts by outcome."""
        counts = {"promoted": 0, "skipped": 0, "failed": 0, "retry": 0}
        while not self.cancel.is_set():
            entry = self.queue.claim_next(self.clock())
            if entry is None:
                break
            counts[self.execute(entry)] += 1
        return counts

    def execute(self, entry: QueueEntry, route: Route | None = None) -> str:
        """Run one claimed entry; ``route`` overrides the policy's (manual promotions)."""
        assert entry.id is not None
        started = self.clock()
        try:
            route = route or self._route(entry)
        except PolicyNotFound:
            self.queue.finish(entry.id, "skipped", "the policy was deleted")
            return "skipped"
        if route is None:
            self.queue.finish(entry.id, "skipped", "the policy was disabled")
            self._record(entry, None, "skipped", "the policy was disabled before it ran", started)
            return "skipped"
        self.callbacks.emit("started", entry)
        try:
            entry = self._ensure_target_tag(entry)
            log.info(
                "promoting %s:%s -> %s:%s (attempt %d)",
                entry.source_repository,
                entry.source_tag,
                entry.target_repository,
                entry.target_tag,
                entry.attempts,
            )
            outcome = self._copy(entry, route)
        except Cancelled:
            self.queue.retry_later(entry.id, "interrupted; resumes at the next start", self.clock())
            return "retry"
        except HoisterError as exc:
            return self._failed(entry, route, exc, started)
        except Exception as exc:  # a bug must not kill the engine thread
            log.exception("unexpected error promoting %s", entry)
            return self._failed(entry, route, exc, started)
        return self._succeeded(entry, route, outcome, started)

    # -- steps -------------------------------------------------------------------------

    def _route(self, entry: QueueEntry) -> Route | None:
        if entry.policy_id is None:
            return Route(None, "manual promotion", OverwriteMode.SKIP, True, True, None)
        policy = self.policies.get(entry.policy_id)
        return route_of(policy) if policy.enabled else None

    def _ensure_target_tag(self, entry: QueueEntry) -> QueueEntry:
        if entry.target_tag is not None:
            return entry
        assert entry.policy_id is not None and entry.id is not None
        compiled = compile_policy(self.policies.get(entry.policy_id))
        facts = ImageFacts(entry.source_repository, entry.source_tag, digest=entry.source_digest)
        now = self.clock()
        tag = target_tag(compiled, facts, evaluate(compiled, facts, now), now)
        self.queue.set_target_tag(entry.id, tag)
        return replace(entry, target_tag=tag)

    def _copy(self, entry: QueueEntry, route: Route) -> PromotionOutcome:
        assert entry.target_tag is not None

        def progress(event: object) -> None:
            done = getattr(event, "done_bytes", 0)
            total = getattr(event, "total_bytes", None)
            self.callbacks.emit("progress", entry, done, total)

        promoter = Promoter(chunk_size=self.chunk_size, cancel=self.cancel, progress=progress)
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
        if promoted:
            record = ProvenanceRecord(
                policy_id=route.policy_id,
                policy_name=route.policy_name,
                source_registry=self.clients.host_of(entry.source_profile),
                source_repository=entry.source_repository,
                source_tag=entry.source_tag,
                source_digest=entry.source_digest,
                target_repository=entry.target_repository,
                target_tag=entry.target_tag,
                promoted_at=now,
                promoted_by=self.actor,
            )
            notes += self._after_promotion(entry, route, outcome, record)
        state = "done" if promoted else "skipped"
        self.queue.finish(entry.id, state, None if promoted else outcome.reason)
        row = self._record(
            entry, route, "promoted" if promoted else "skipped", "; ".join(notes), started, outcome
        )
        self.callbacks.emit("finished", entry, row)
        if promoted:
            self.watcher.note_pushed(
                entry.target_profile, entry.target_repository, entry.target_tag, entry.source_digest
            )
            self.on_chain(
                Candidate(
                    entry.target_profile,
                    entry.target_repository,
                    entry.target_tag,
                    entry.source_digest,
                    now,
                    "chain",
                    hop=entry.hop + 1,
                )
            )
        return "promoted" if promoted else "skipped"

    def _after_promotion(
        self, entry: QueueEntry, route: Route, outcome: PromotionOutcome, record: ProvenanceRecord
    ) -> list[str]:
        notes = []
        if route.record_provenance:
            target = self.clients.get(entry.target_profile)
            try:
                subject = target.head_manifest(entry.target_repository, outcome.digest)
                if subject is None:
                    raise HoisterError(f"{outcome.digest} is not in {entry.target_repository}")
                attach_provenance(target, entry.target_repository, subject, record)
            except HoisterError as exc:
                log.warning("provenance for %s not recorded: %s", entry.target_repository, exc)
                notes.append(f"provenance not recorded: {exc}")
        if route.policy_id is not None:
            self.policies.mark_promoted(route.policy_id, record.promoted_at)
        if route.webhook_url:
            problem = send_webhook(route.webhook_url, record)
            if problem:
                notes.append(problem)
        return notes

    def _failed(
        self, entry: QueueEntry, route: Route, exc: BaseException, started: datetime
    ) -> str:
        assert entry.id is not None
        message = str(exc) or type(exc).__name__
        if is_transient(exc) and entry.attempts < self.max_attempts:
            delay = self.retry_base * (2 ** (entry.attempts - 1))
            self.queue.retry_later(
                entry.id, message, self.clock() + min(delay, timedelta(minutes=15))
            )
            log.warning(
                "promotion %s failed (attempt %d), will retry: %s",
                entry.id,
                entry.attempts,
                message,
            )
            return "retry"
        self.queue.finish(entry.id, "failed", message)
        row = self._record(entry, route, "failed", message, started)
        self.callbacks.emit("failed", entry, row)
        return "failed"

    def _record(
        self,
        entry: QueueEntry,
        route: Route | None,
        outcome: str,
        reason: str,
        started: datetime,
        result: PromotionOutcome | None = None,
    ) -> HistoryRow:
        stats = result.stats if result is not None else None
        return self.history.add(
            HistoryRow.for_entry(
                entry,
                policy_name=route.policy_name if route else "",
                outcome=outcome,
                reason=reason,
                started=started,
                finished=self.clock(),
                actor=self.actor,
                bytes_moved=stats.bytes_moved if stats else 0,
                blobs_mounted=stats.blobs_mounted if stats else 0,
                blobs_uploaded=stats.blobs_uploaded if stats else 0,
            )
        )
