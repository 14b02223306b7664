"""From a candidate to queue entries: gather facts, evaluate each policy, enqueue matches.

Every trigger (poll, notification, chain, facts arriving, Save & Apply) ends here, so
the rules that hold for all of them live here: the hop cap, undecided images remembered
for another look, and "once per (policy, source digest, source tag)" through the queue's
unique key. A candidate whose evaluation fails is remembered as undecided, so it is
evaluated again next cycle instead of being lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from hoister.engine import hops
from hoister.engine.clients import ClientPool
from hoister.engine.dryrun import platform_of
from hoister.engine.provenance import hop_of_promoted
from hoister.engine.referrers import REFERRER_LISTING_AGE
from hoister.engine.watcher import Candidate
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
from hoister.store import PolicyStore
from hoister.store.facts import FactsCache, Undecided, UndecidedStore
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.queue import QueueEntry, QueueStore

log = logging.getLogger(__name__)


def compile_or_skip(policy: Policy) -> CompiledPolicy | None:
    """A policy that no longer compiles (edited by hand, a newer field) is skipped, loudly."""
    try:
        return compile_policy(policy)
    except PolicyError as exc:
        log.warning("%s is not usable and is skipped: %s", policy.label, exc)
        return None


class Evaluator:
    def __init__(
        self,
        *,
        policies: PolicyStore,
        queue: QueueStore,
        history: HistoryStore,
        facts_cache: FactsCache,
        undecided: UndecidedStore,
        clients: ClientPool,
        clock: Callable[[], datetime],
        actor: str,
        agent: str = "",
    ) -> None:
        self.policies = policies
        self.queue = queue
        self.history = history
        self.facts_cache = facts_cache
        self.undecided = undecided
        self.clients = clients
        self.clock = clock
        self.actor = actor
        self.agent = agent

    def policies_for(self, candidate: Candidate) -> list[Policy]:
        return [
            p
            for p in self.policies.list(source=Route(candidate.profile, candidate.repository))
            if p.enabled and candidate.only_policy in (None, p.id)
        ]

    def handle(self, candidate: Candidate) -> int:
        """Evaluate a candidate against its repository's policies; enqueue the matches.

        Returns the promotions enqueued. Never raises for one candidate's sake: a failure
        is logged and the image is kept as undecided for every policy concerned.
        """
        policies = self.policies_for(candidate)
        if not policies:
            return 0
        try:
            return self._handle(candidate, policies)
        except Exception as exc:
            log.exception("evaluating %s:%s failed", candidate.repository, candidate.tag)
            reason = f"evaluation failed, tried again next cycle: {exc}"
            for policy in policies:
                self._remember(candidate, policy, reason)
            return 0

    def _handle(self, candidate: Candidate, policies: list[Policy]) -> int:
        candidate = replace(candidate, hop=self._arrival_hop(candidate))
        if not hops.hop_allowed(candidate.hop):
            self._refuse_hop(candidate, policies[0])
            return 0
        compiled = [c for c in (compile_or_skip(p) for p in policies) if c is not None]
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
            self._note_undecided(candidate, policy.policy, evaluation)
            if not evaluation.matched:
                log.debug(
                    "%s: %s:%s not promoted: %s",
                    policy.policy.label,
                    candidate.repository,
                    candidate.tag,
                    evaluation.summary(),
                )
                continue
            enqueued += self._enqueue(candidate, policy.policy, evaluation, now)
        return enqueued

    def _arrival_hop(self, candidate: Candidate) -> int:
        """Where in a chain this image stands. The engine that chained it knows; for an
        image found by polling, a notification or Save & Apply, its provenance record
        in this repository tells — whichever engine, on whichever machine, promoted it
        there. One referrers lookup per new image, not per tag seen; none where the
        registry has no referrers API and the poll's listing, just read, shows no
        fallback index for the image (a record attached since is the race a lookup a
        moment later would lose too)."""
        if candidate.trigger == "chain" or candidate.hop:
            return candidate.hop
        client = self.clients.get(candidate.profile)
        arrived = hop_of_promoted(
            client, candidate.repository, candidate.digest, listing_age=REFERRER_LISTING_AGE
        )
        return 0 if arrived is None else arrived + 1

    def _enqueue(
        self, candidate: Candidate, policy: Policy, evaluation: Evaluation, now: datetime
    ) -> int:
        entry = self.queue.enqueue(
            QueueEntry(
                id=None,
                policy_id=policy.id,
                source_profile=candidate.profile,
                source_repository=candidate.repository,
                source_tag=candidate.tag,
                source_digest=candidate.digest,
                target_profile=policy.effective_target_profile,
                target_repository=policy.target_repository,
                hop=candidate.hop,
            )
        )
        if entry is None:
            return 0  # this (policy, digest, tag) was promoted or queued before
        self.history.add(self._row(entry, policy, "matched", evaluation.summary(), now))
        return 1

    def _note_undecided(self, candidate: Candidate, policy: Policy, evaluation: Evaluation) -> None:
        """Remember images a policy could not decide yet; forget them once it could."""
        if policy.id is None:
            return
        if evaluation.outcome is Outcome.UNKNOWN:
            self._remember(candidate, policy, evaluation.summary())
        elif candidate.trigger == "facts":
            self.undecided.forget(policy.id, candidate.digest, candidate.tag)

    def _remember(self, candidate: Candidate, policy: Policy, reason: str) -> None:
        if policy.id is None:
            return
        try:
            self.undecided.remember(
                Undecided(
                    policy.id,
                    candidate.profile,
                    candidate.repository,
                    candidate.tag,
                    candidate.digest,
                    reason,
                    self.clock(),
                )
            )
        except Exception:
            log.exception("could not remember %s:%s for later", candidate.repository, candidate.tag)

    def _refuse_hop(self, candidate: Candidate, policy: Policy) -> None:
        now = self.clock()
        reason = hops.hop_refusal(candidate.repository)
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
            agent=self.agent,
        )
