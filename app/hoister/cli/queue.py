"""``hoister queue`` and ``hoister retry``: the work that waits, and a second chance.

A promotion that failed for good (a tag collision, a permission) stays in the queue as
*failed*; once its cause is fixed, ``hoister retry ID`` puts it back, and the next
engine to look (the agent, the app) runs it, with its tag rendered anew. ``queue``
shows what is pending, running (and who holds it) and what failed, with the reason.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import print_json, print_table
from hoister.errors import HoisterError, InvalidInput
from hoister.store.queue import QueueEntry, QueueStore
from hoister.store.times import to_db_time

STATES = ("pending", "running", "failed", "done", "skipped")


def register(commands: Any) -> None:
    queue = commands.add_parser("queue", help="show promotions that wait, run or failed")
    queue.add_argument(
        "--state",
        choices=[*STATES, "all"],
        action="append",
        help="only entries in this state (repeatable; default: pending, running, failed)",
    )
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=show_queue)
    retry = commands.add_parser("retry", help="run a failed promotion again")
    retry.add_argument("ids", metavar="ID", type=int, nargs="+", help="queue entry id")
    retry.set_defaults(handler=retry_entries)


def _json(entry: QueueEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "state": entry.state,
        "policyId": entry.policy_id,
        "source": f"{entry.source_repository}:{entry.source_tag}",
        "sourceDigest": entry.source_digest,
        "sourceProfile": entry.source_profile,
        "target": entry.target_repository + (f":{entry.target_tag}" if entry.target_tag else ""),
        "targetProfile": entry.target_profile,
        "attempts": entry.attempts,
        "nextAttemptAt": to_db_time(entry.next_attempt_at),
        "owner": entry.owner,
        "leaseUntil": to_db_time(entry.lease_until),
        "lastError": entry.last_error,
    }


def show_queue(args: argparse.Namespace, ctx: Context) -> int:
    states = args.state or ["pending", "running", "failed"]
    wanted = set(STATES) if "all" in states else set(states)
    store = QueueStore(ctx.database)
    try:
        entries = [e for e in store.entries() if e.state in wanted]
    finally:
        store.close()
    if args.json:
        print_json([_json(e) for e in entries])
        return 0
    if not entries:
        print("nothing waiting, running or failed", file=sys.stderr)
        return 0
    print_table(
        ("ID", "STATE", "PROMOTION", "TRIES", "NEXT / HELD BY", "REASON"),
        [
            (
                e.id,
                e.state,
                f"{e.source_repository}:{e.source_tag} -> {_json(e)['target']}",
                e.attempts,
                _when(e),
                e.last_error or "-",
            )
            for e in entries
        ],
    )
    return 0


def _when(entry: QueueEntry) -> str:
    if entry.state == "running":
        return (entry.owner or "-").split(":")[-1]
    if entry.state == "pending" and entry.next_attempt_at is not None:
        return entry.next_attempt_at.astimezone().isoformat(timespec="seconds")
    return "-"


def retry_entries(args: argparse.Namespace, ctx: Context) -> int:
    store = QueueStore(ctx.database)
    try:
        problems = []
        for entry_id in args.ids:
            try:
                current = store.get(entry_id)
            except KeyError:
                raise InvalidInput(f"there is no queue entry {entry_id}") from None
            if store.retry(entry_id) is None:
                problems.append(
                    f"entry {entry_id} is {current.state}; only failed or skipped "
                    "promotions can be retried"
                )
                continue
            print(
                f"entry {entry_id} queued again: {current.source_repository}:"
                f"{current.source_tag} -> {current.target_repository}"
            )
    finally:
        store.close()
    if problems:
        raise HoisterError("; ".join(problems))
    return 0
