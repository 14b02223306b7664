"""One poll cycle's looking: which repositories policies watch, what is new in each,
what waited for facts, and which registries are down.

A repository's new tags are queued (through the evaluator) *before* the watcher stores
what it saw, so a crash between the two finds them again; queueing is idempotent.
Each repository and each candidate is guarded on its own: one registry that answers
nonsense does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from hoister.engine.clients import ClientPool
from hoister.engine.evaluator import Evaluator, compile_or_skip
from hoister.engine.events import EngineCallbacks, RepositoryChange
from hoister.engine.watcher import Candidate, Watcher
from hoister.errors import HoisterError
from hoister.policies import CompiledPolicy, Route
from hoister.store import PolicyStore
from hoister.store.facts import UndecidedStore

log = logging.getLogger(__name__)


@dataclass
class PollTally:
    repositories: int = 0
    candidates: int = 0
    enqueued: int = 0
    problems: list[str] = field(default_factory=list)


class Poller:
    def __init__(
        self,
        *,
        policies: PolicyStore,
        watcher: Watcher,
        evaluator: Evaluator,
        undecided: UndecidedStore,
        clients: ClientPool,
        callbacks: EngineCallbacks,
        stopping: Callable[[], bool],
    ) -> None:
        self.policies = policies
        self.watcher = watcher
        self.evaluator = evaluator
        self.undecided = undecided
        self.clients = clients
        self.callbacks = callbacks
        self.stopping = stopping
        self._down: dict[str, str] = {}

    def watched_routes(self) -> dict[tuple[str, str], list[CompiledPolicy]]:
        routes: dict[tuple[str, str], list[CompiledPolicy]] = {}
        for policy in self.policies.list():
            if not policy.enabled:
                continue
            compiled = compile_or_skip(policy)
            if compiled is not None:
                key = (policy.source_profile, policy.source_repository)
                routes.setdefault(key, []).append(compiled)
        return routes

    def poll_all(self) -> PollTally:
        tally = PollTally()
        routes = self.watched_routes()
        tally.repositories = len(routes)
        for (profile, repository), policies in routes.items():
            if self.stopping():
                break
            try:
                found, enqueued = self.poll_route(profile, repository, policies)
            except HoisterError as exc:
                tally.problems.append(self.outage(profile, exc))
                continue
            except Exception as exc:
                log.exception("polling %s on %s failed", repository, profile)
                tally.problems.append(f"{profile}: polling {repository} failed: {exc}")
                continue
            self.recovered(profile)
            tally.candidates += found
            tally.enqueued += enqueued
        tally.enqueued += self.revisit_undecided()
        self.watcher.end_cycle()
        tally.problems = [p for p in tally.problems if p]
        return tally

    def first_look(self, profile: str, repository: str) -> int:
        """Poll one repository now (a notification for a repository not yet baselined)."""
        policies = [
            c
            for c in (
                compile_or_skip(p)
                for p in self.policies.list(source=Route(profile, repository))
                if p.enabled
            )
            if c is not None
        ]
        if not policies:
            return 0
        try:
            return self.poll_route(profile, repository, policies)[1]
        except HoisterError as exc:
            self.outage(profile, exc)
            return 0

    def poll_route(
        self, profile: str, repository: str, policies: list[CompiledPolicy]
    ) -> tuple[int, int]:
        """Poll one repository and queue what is new; returns (candidates, enqueued)."""
        client = self.clients.get(profile)
        ids = [p.policy.id for p in policies if p.policy.id is not None]
        unseen = set(self.watcher.watch.policies_without_baseline(ids))
        fresh = [p for p in policies if p.policy.id in unseen and p.policy.apply_existing]
        result = self.watcher.poll(client, profile, repository, policies, fresh)
        enqueued = 0
        for candidate in result.candidates:
            self.callbacks.emit("candidate", candidate)
            enqueued += self.evaluator.handle(candidate)
        result.commit()
        for policy_id in unseen:
            self.watcher.watch.mark_policy_baseline(policy_id)
        change = RepositoryChange(profile, repository, result.added, result.moved, result.removed)
        if change:
            self.callbacks.emit("changed", change)
        return len(result.candidates), enqueued

    def revisit_undecided(self) -> int:
        """Evaluate again what waited for facts (a scan report usually arrives after the
        image: MSR evaluated after scan completion too). Returns promotions enqueued."""
        enqueued = 0
        for item in self.undecided.due():
            if self.stopping():
                break
            try:
                current = self.clients.get(item.profile).head_manifest(item.repository, item.tag)
            except HoisterError:
                continue  # the outage is reported by polling; try again next cycle
            if current is None or current.digest != item.digest:
                # the tag moved on: its new digest is a candidate of its own
                self.undecided.forget(item.policy_id, item.digest, item.tag)
                continue
            enqueued += self.evaluator.handle(
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

    def outage(self, profile: str, exc: BaseException) -> str:
        message = f"{profile}: {exc}"
        if profile in self._down:
            return ""  # already reported: one message per outage, not one per cycle
        self._down[profile] = message
        log.warning("registry problem: %s", message)
        self.callbacks.emit("problem", message)
        return message

    def recovered(self, profile: str) -> None:
        if self._down.pop(profile, None) is not None:
            log.info("registry %s is reachable again", profile)
            self.callbacks.emit("recovered", profile)
