"""Finding new pushes by polling: new tags, and tags that now point to another digest.

Polling is the baseline trigger (a desktop is rarely reachable by a registry's
notifications). It stays cheap by asking for the digest only of tags that some policy's
tag rules could accept, with a few requests in flight per registry: a new tag at once
(its manifest read whole, so the promotion that follows need not read it again), a
known one only within the cycle's re-read budget (:mod:`hoister.engine.rechecks`).
The first sight of a repository records what is there instead of promoting it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from hoister.engine.rechecks import RecheckPlan
from hoister.engine.tags import is_internal_tag
from hoister.facts import ImageFacts
from hoister.policies import CompiledPolicy, Outcome
from hoister.registry import NotFound, ProtocolError, RegistryClient
from hoister.store.watch import UNRESOLVED, WatchStore

log = logging.getLogger(__name__)

#: Requests in flight per registry while resolving digests.
CONCURRENCY = 4


@dataclass(frozen=True)
class Candidate:
    """A (repository, tag, digest) some policy may want to promote."""

    profile: str
    repository: str
    tag: str
    digest: str
    seen_at: datetime
    trigger: str  # poll, notification, chain, existing, manual
    hop: int = 0
    only_policy: int | None = None  # apply-to-existing evaluates one policy only


def could_match(policy: CompiledPolicy, repository: str, tag: str) -> bool:
    """Whether the tag rules of ``policy`` leave ``tag`` possible (other rules unknown yet)."""
    facts = ImageFacts(repository=repository, tag=tag)
    return all(
        rule.evaluate(facts, datetime.min).outcome is not Outcome.FAILED
        for rule in policy.rules
        if rule.rule.field == "tag"
    )


@dataclass(frozen=True)
class PollResult:
    """What one poll found. ``commit`` stores what it saw: call it only once the
    candidates are safely queued, so a crash in between means they are found again
    (queueing is idempotent) rather than never."""

    candidates: list[Candidate]
    baseline: bool  # this poll was the first sight of the repository
    tags: int
    commit: Callable[[], None] = field(default=lambda: None, compare=False)
    added: tuple[str, ...] = ()  # since the last poll (nothing on a baseline)
    moved: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class Watcher:
    def __init__(
        self,
        watch: WatchStore,
        clock: Callable[[], datetime],
        rechecks: RecheckPlan | None = None,
    ) -> None:
        self.watch = watch
        self.clock = clock
        self.rechecks = rechecks or RecheckPlan()

    def end_cycle(self) -> None:
        """A poll of every watched repository is over: size the next re-read budget."""
        self.rechecks.end_cycle()

    def poll(
        self,
        client: RegistryClient,
        profile: str,
        repository: str,
        policies: Sequence[CompiledPolicy],
        fresh_policies: Sequence[CompiledPolicy] = (),
    ) -> PollResult:
        """Compare the registry with what was seen; ``fresh_policies`` apply to existing tags."""
        now = self.clock()
        try:
            tags = [t for t in client.tags(repository) if not is_internal_tag(t)]
        except NotFound:
            tags = []  # not pushed to yet: an empty repository, whose first push is new
        known = self.watch.tags(profile, repository)
        first = not self.watch.is_baselined(profile, repository)
        everyone = [*policies, *fresh_policies]
        relevant = [t for t in tags if any(could_match(p, repository, t) for p in everyone)]
        digests = self._resolve(
            client,
            repository,
            *self._to_read(profile, repository, relevant, known, first, fresh_policies),
        )
        seen: dict[str, str] = {t: UNRESOLVED for t in tags if t not in known and t not in digests}
        candidates = []
        for tag, digest in digests.items():
            old = known.get(tag)
            if old != digest:
                seen[tag] = digest
            # new since the last poll, or moved to another digest; an unresolved old tag is
            # being looked at for the first time, which is a baseline, not a push
            pushed = not first and (old is None or old not in (UNRESOLVED, digest))
            if pushed and any(could_match(p, repository, tag) for p in policies):
                candidates.append(Candidate(profile, repository, tag, digest, now, "poll"))
        for policy in fresh_policies:
            for tag, digest in digests.items():
                if could_match(policy, repository, tag):
                    candidates.append(
                        Candidate(
                            profile,
                            repository,
                            tag,
                            digest,
                            now,
                            "existing",
                            only_policy=policy.policy.id,
                        )
                    )
        gone = set(known) - set(tags)

        def commit() -> None:
            self.watch.record(profile, repository, seen, gone, baseline=first, when=now)
            if first:
                log.info("baseline of %s:%s: %d tags recorded", profile, repository, len(tags))

        if first:
            return PollResult(candidates, first, len(tags), commit)
        moved = [t for t, d in digests.items() if known.get(t) not in (None, UNRESOLVED, d)]
        return PollResult(
            candidates,
            first,
            len(tags),
            commit,
            added=tuple(t for t in tags if t not in known),
            moved=tuple(sorted(moved)),
            removed=tuple(sorted(gone)),
        )

    def _to_read(
        self,
        profile: str,
        repository: str,
        relevant: list[str],
        known: dict[str, str],
        first: bool,
        fresh_policies: Sequence[CompiledPolicy],
    ) -> tuple[list[str], set[str]]:
        """``(tags whose digest to read, those of them to read whole)``.

        Everything on a baseline and for a policy seeing existing tags for the first
        time; otherwise tags new since the last poll (read whole: they are what gets
        promoted) and the known tags the re-read budget picks.
        """
        key = (profile, repository)
        if first or fresh_policies:
            self.rechecks.read_all(key, relevant)
            return relevant, set()
        new = [t for t in relevant if known.get(t, UNRESOLVED) == UNRESOLVED]
        old = self.rechecks.choose(key, relevant, set(new))
        return [*new, *old], {t for t in new if t not in known}

    def _resolve(
        self,
        client: RegistryClient,
        repository: str,
        tags: list[str],
        whole: Collection[str] = (),
    ) -> dict[str, str]:
        """Current digests of ``tags`` (a tag deleted meanwhile is left out); those in
        ``whole`` by reading the manifest, which the client keeps for the promotion."""

        def read(tag: str) -> tuple[str, str | None]:
            if tag in whole:
                try:
                    return tag, client.get_manifest(repository, tag).digest
                except NotFound:
                    return tag, None
                except ProtocolError:
                    pass  # a body Hoister cannot parse still has a digest to watch
            descriptor = client.head_manifest(repository, tag)
            return tag, descriptor.digest if descriptor else None

        if not tags:
            return {}
        with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="hoister-poll") as pool:
            results = list(pool.map(read, tags))
        return {tag: digest for tag, digest in results if digest is not None}

    def note_pushed(self, profile: str, repository: str, tag: str, digest: str) -> None:
        """Remember a tag Hoister itself wrote (a promotion), so polling won't rediscover it."""
        if self.watch.is_baselined(profile, repository):
            self.watch.record(profile, repository, {tag: digest}, when=self.clock())
