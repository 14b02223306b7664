"""What became of a tag a policy matched before: the dry run's "already promoted" rows.

The queue's ``UNIQUE(policy_id, source_digest, source_tag)`` key makes "promote once"
true, so a match the policy queued before will not be queued again: the dry run shows
such a tag with the fate of its entry instead of counting it among the promotions.
"""

from __future__ import annotations

from collections.abc import Mapping

from hoister.engine.dryrun import DryRunRow
from hoister.policies import Policy
from hoister.store import Database
from hoister.store.queue import QueueEntry, QueueStore

#: What the verdict column says of an earlier match, by the state of its queue entry.
EARLIER_WORDS = {
    "done": "already promoted",
    "pending": "already queued",
    "running": "being promoted",
    "skipped": "skipped before",
    "failed": "failed before",
}
#: (source digest, source tag) -> this policy's queue entry for that match.
Earlier = Mapping[tuple[str, str], QueueEntry]


def earlier_matches(database: Database, policy: Policy) -> Earlier:
    """(digest, tag) -> this policy's queue entry; a policy not saved yet has none.

    Reads the store: the app calls it from a worker, the CLI before printing."""
    if policy.id is None:
        return {}
    with QueueStore(database) as queue:
        entries = queue.for_policy(policy.id)
    return {(entry.source_digest, entry.source_tag): entry for entry in entries}


def earlier_entry(row: DryRunRow, earlier: Earlier) -> QueueEntry | None:
    """This policy's queue entry for the tag's match, if it matched the same image before."""
    if row.digest is None or not row.evaluation.matched:
        return None
    return earlier.get((row.digest, row.tag))


def earlier_text(entry: QueueEntry, fallback_tag: str | None) -> str:
    """What became of the earlier match, with where it went."""
    where = f"{entry.target_repository}:{entry.target_tag or fallback_tag or '…'}"
    if entry.state == "done":
        return f"already promoted → {where}"
    if entry.state in ("pending", "running"):
        return f"already queued → {where}"
    why = f": {entry.last_error}" if entry.last_error else ""
    return f"{EARLIER_WORDS[entry.state]}{why} (History can retry it)"
