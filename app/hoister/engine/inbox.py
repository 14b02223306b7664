"""Registry notifications, turned into candidates on the engine's thread.

A notification says "a push happened", but the registry's current answer decides what:
distribution announces a push before it has written the tag, notifications arrive
unordered, and anyone who can reach the listener could replay an old one. So a notice
is honoured only for a tag whose current digest the watcher has not seen before — the
same baseline polling keeps — and a notice for a repository never looked at yet makes
that first look (the baseline) instead of promoting what was there before.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from datetime import datetime, timedelta

from hoister.engine.clients import ClientPool
from hoister.engine.listener import PushNotice
from hoister.engine.watcher import Candidate, Watcher
from hoister.errors import HoisterError
from hoister.registry.identity import registry_identity
from hoister.store import PolicyStore
from hoister.store.watch import UNRESOLVED

log = logging.getLogger(__name__)

#: Seconds after which a notice whose digest the tag does not show yet is checked again.
RECHECK_DELAYS = (0.2, 1.0, 3.0)


class Inbox:
    def __init__(
        self,
        *,
        policies: PolicyStore,
        watcher: Watcher,
        clients: ClientPool,
        clock: Callable[[], datetime],
        handle: Callable[[Candidate], int],
        first_look: Callable[[str, str], int],
        outage: Callable[[str, BaseException], object],
        notices: queue.SimpleQueue[PushNotice],
        requests: queue.SimpleQueue[Candidate],
    ) -> None:
        self.policies = policies
        self.watcher = watcher
        self.clients = clients
        self.clock = clock
        self.handle = handle
        self.first_look = first_look
        self.outage = outage
        self.notices = notices
        self.requests = requests
        self._rechecks: list[tuple[datetime, PushNotice, int]] = []

    def process(self) -> int:
        """Handle every notice that arrived or is due for another look, then every
        candidate submitted from elsewhere; returns promotions enqueued."""
        now = self.clock()
        due = [(notice, attempt) for when, notice, attempt in self._rechecks if when <= now]
        self._rechecks = [r for r in self._rechecks if r[0] > now]
        batch: list[tuple[PushNotice, int]] = []
        while True:
            try:
                batch.append((self.notices.get_nowait(), 0))
            except queue.Empty:
                break
        handled = 0
        for notice, attempt in [*batch, *due]:
            try:
                handled += self._handle_notice(notice, attempt, now)
            except Exception:
                log.exception("notification for %s:%s failed", notice.repository, notice.tag)
        while True:
            try:
                candidate = self.requests.get_nowait()
            except queue.Empty:
                return handled
            handled += self.handle(candidate)

    def _handle_notice(self, notice: PushNotice, attempt: int, now: datetime) -> int:
        profile = self._profile_for(notice)
        if profile is None:
            log.info(
                "notification for %s:%s matches no watched registry", notice.repository, notice.tag
            )
            return 0
        if not self.watcher.watch.is_baselined(profile, notice.repository):
            # The first look records what is there; a push it finds is promoted by it.
            return self.first_look(profile, notice.repository)
        try:
            current = self.clients.get(profile).head_manifest(notice.repository, notice.tag)
        except HoisterError as exc:
            self.outage(profile, exc)
            return 0
        if current is None or current.digest != notice.digest:
            if attempt < len(RECHECK_DELAYS):
                when = now + timedelta(seconds=RECHECK_DELAYS[attempt])
                self._rechecks.append((when, notice, attempt + 1))
            if current is None:
                return 0
        known = self.watcher.watch.tags(profile, notice.repository).get(notice.tag)
        if known is not None and known in (UNRESOLVED, current.digest):
            log.info(
                "notification for %s:%s: %s was seen before; not a new push",
                notice.repository,
                notice.tag,
                current.digest,
            )
            return 0
        enqueued = self.handle(
            Candidate(
                profile,
                notice.repository,
                notice.tag,
                current.digest,
                notice.timestamp or now,
                "notification",
            )
        )
        # Noted after the candidate is queued: a crash in between leaves it to polling.
        self.watcher.note_pushed(profile, notice.repository, notice.tag, current.digest)
        return enqueued

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
            if notice.registry_host
            and self.clients.identity_of(s) == registry_identity(notice.registry_host)
        ]
        return matching[0] if len(matching) == 1 else None
