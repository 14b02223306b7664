"""Which already-known tags a poll reads again, so a steady cycle costs about one
request per watched repository however many tags they hold.

A registry's tag list says which tags exist, not where they point: finding a re-push
under an existing name (``1.4-stable`` pushed again) takes a HEAD of that tag. Reading
every matching tag every cycle made 1,000 watched repositories cost 2,000 requests a
cycle with nothing new. Instead each cycle re-reads a budget of
``max(MIN_RECHECKS, RECHECKS_PER_REPOSITORY × repositories)`` known tags, shared out
by how many each repository holds, oldest-read first. So every known matching tag is
read again at least every :attr:`RecheckPlan.bound_cycles` cycles (``ceil(tags ÷
budget)``): that is how late polling can find a re-push. New tags are not part of the
budget (they are read at once), and notifications stay the way to be immediate. The
first cycle after a start reads everything, since anything may have moved while the
engine was stopped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection

log = logging.getLogger(__name__)

#: Re-reads per watched repository and cycle (1,000 repositories: 50 HEADs a cycle).
RECHECKS_PER_REPOSITORY = 0.05
#: Re-reads a cycle however few repositories are watched.
MIN_RECHECKS = 8

Key = tuple[str, str]  # (profile, repository)


class RecheckPlan:
    """The re-read budget of the current cycle and when each known tag was last read."""

    def __init__(
        self, per_repository: float = RECHECKS_PER_REPOSITORY, minimum: int = MIN_RECHECKS
    ) -> None:
        self.per_repository = per_repository
        self.minimum = minimum
        self.rate = 1.0  # share of each repository's known tags read this cycle
        self._bound = 1
        self._cycle = 0
        self._credit: dict[Key, float] = {}
        self._read: dict[Key, dict[str, int]] = {}  # tag -> cycle it was last read
        self._repositories = 0
        self._known = 0

    @property
    def bound_cycles(self) -> int:
        """Cycles within which every known matching tag is read again."""
        return self._bound

    def choose(self, key: Key, tags: list[str], read_now: Collection[str] = ()) -> list[str]:
        """Of one repository's matching ``tags``, the known ones to read again in this
        cycle; ``read_now`` are read anyway (new ones), so their clock restarts."""
        read = self._read.setdefault(key, {})
        for tag in set(read).difference(tags):
            del read[tag]  # deleted since: nothing to remember
        for tag in read_now:
            read[tag] = self._cycle
        known = [tag for tag in tags if tag not in read_now]
        self._repositories += 1
        self._known += len(known)
        credit = self._credit.get(key, 0.0) + self.rate * len(known)
        count = min(len(known), int(credit + 1e-9))
        # Credit left over carries to the next cycle, but never more than one read's
        # worth: a repository that shrank must not save up a burst.
        self._credit[key] = min(credit - count, 1.0)
        chosen = sorted(known, key=lambda tag: (read.get(tag, -1), tag))[:count]
        for tag in chosen:
            read[tag] = self._cycle
        return chosen

    def read_all(self, key: Key, tags: list[str]) -> None:
        """Every matching tag of a repository is read this cycle (its first look)."""
        self._repositories += 1
        self._known += len(tags)
        self._read[key] = dict.fromkeys(tags, self._cycle)

    def end_cycle(self) -> None:
        """Size the next cycle's budget from what this one watched."""
        if self._repositories:
            budget = max(self.minimum, math.ceil(self._repositories * self.per_repository))
            self.rate = min(1.0, budget / self._known) if self._known else 1.0
            bound = max(1, -(-self._known // budget))  # whole numbers: no rounding
            if bound != self._bound:
                log.info(
                    "polling reads each of %d known matching tags again within %d cycles "
                    "(%d a cycle); a re-push under an existing name is found that late at most",
                    self._known,
                    bound,
                    budget,
                )
            self._bound = bound
        self._cycle += 1
        self._repositories = self._known = 0
