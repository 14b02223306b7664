"""When two promotions of one policy would land on the same target tag.

The rule (stated in docs/architecture.md): one policy never gives two source digests the
same target tag, and no match is dropped because another one rendered that tag first.

- The tag is rendered when the promotion runs, and stored with the queue entry, which
  reserves it against every other active entry of that target repository.
- If the rendered tag is taken (reserved by another entry, or already in the target for
  another digest) and the template depends on the clock, the promotion *waits*: it goes
  back to the queue until the first moment at which the template renders a different
  tag (the next second for ``%Y%m%d-%H%M%S``, the next day for ``%Y%m%d``), and renders
  again then. Eight matches found in one cycle therefore land under eight tags a second
  apart, each with its own digest.
- If the template cannot produce another tag for this image (a constant, or only the
  tag name: ``%n`` for a re-pushed tag), the promotion *fails* with the reason — which
  tag, holding which digest, promoted from where — and stays retryable
  (``hoister retry``, or Retry in the app's history). It is never skipped silently.

Policies that overwrite or back up existing tags asked for the tag to move, so a taken
tag is no collision for them; the reservation still makes concurrent promotions to one
tag take turns.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from hoister.engine.provenance import read_provenance
from hoister.errors import HoisterError
from hoister.registry import RegistryClient

log = logging.getLogger(__name__)

#: Steps of the coarse search for the next moment a template renders differently, with
#: how many of each: every second for two minutes, every minute for two hours, every
#: quarter hour for two days, then every day for 400 days (a yearly template).
_STEPS = (
    (timedelta(seconds=1), 120),
    (timedelta(minutes=1), 120),
    (timedelta(minutes=15), 192),
    (timedelta(days=1), 400),
)
_PRECISION = timedelta(milliseconds=1)


def next_distinct_time(render_at: Callable[[datetime], str], now: datetime) -> datetime | None:
    """The first moment after ``now`` at which ``render_at`` gives another tag, or None
    when it gives the same tag for more than a year (the template is not time-based).

    Coarse steps find an interval with a change; bisection narrows it to a millisecond,
    so a day-based template retries just after midnight, not a step later.
    """
    current = render_at(now)
    before = now
    probe = now
    for step, count in _STEPS:
        for _ in range(count):
            probe = probe + step
            if render_at(probe) != current:
                return _bisect(render_at, current, before, probe)
            before = probe
    return None


def _bisect(
    render_at: Callable[[datetime], str], current: str, same: datetime, different: datetime
) -> datetime:
    while different - same > _PRECISION:
        middle = same + (different - same) / 2
        if render_at(middle) == current:
            same = middle
        else:
            different = middle
    return different


def describe_holder(repository: str, tag: str, digest: str | None, origin: str | None) -> str:
    """``qa/website:20261201-101010, which holds sha256:… promoted from dev/website:1.4``."""
    held = f"{repository}:{tag}"
    if digest:
        held += f", which holds {digest}"
    if origin:
        held += f" {origin}"
    return held


def what_holds(target: RegistryClient, repository: str, tag: str) -> tuple[str | None, str | None]:
    """(digest, "promoted from REPO:TAG") of what a taken tag holds, as far as known.

    Only for the message: a registry that cannot say makes it less precise, no more.
    """
    try:
        current = target.head_manifest(repository, tag)
        if current is None:
            return None, None
        records = read_provenance(target, repository, current.digest)
    except HoisterError as exc:
        log.info("could not tell what holds %s:%s: %s", repository, tag, exc)
        return None, None
    if not records:
        return current.digest, None
    return current.digest, f"promoted from {records[0].source_repository}:{records[0].source_tag}"
