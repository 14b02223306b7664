"""``hoister queue`` and ``hoister queue retry``: the work that waits, and a second chance.

``queue`` lists, each with its reason: images a policy could not decide yet (*waiting*
for facts, such as a scan report), promotions that failed an attempt and wait for the
next (*retrying*), pending, running (and who holds it), and failed for good. A failed
promotion (a tag collision, a permission) stays until someone retries it: once its cause
is fixed, ``hoister queue retry ID`` (or ``--failed`` for all of them; ``hoister retry
ID`` is the same) puts it back and the next engine to look runs it, with its tag
rendered anew. The rows come from :mod:`hoister.engine.waiting`, as the app's Queue view.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import print_json, print_table
from hoister.engine.waiting import DEFAULT_STATUSES, STATUSES, WaitingRow, load, retry
from hoister.errors import HoisterError, InvalidInput
from hoister.store.times import to_db_time


def register(commands: Any) -> None:
    queue = commands.add_parser(
        "queue", help="show what waits (for facts, a retry), runs or failed"
    )
    queue.add_argument(
        "--state",
        choices=[*STATUSES, "all"],
        action="append",
        help="only rows in this state (repeatable; default: "
        f"{', '.join(DEFAULT_STATUSES)}; pending includes retrying)",
    )
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=show_queue)
    actions = queue.add_subparsers(dest="queue_action", metavar="{retry}")
    _retry_parser(actions.add_parser("retry", help="run failed promotions again"))
    # The older spelling, kept: scripts use it.
    _retry_parser(commands.add_parser("retry", help="run failed promotions again (= queue retry)"))


def _retry_parser(retry_parser: argparse.ArgumentParser) -> None:
    retry_parser.add_argument("ids", metavar="ID", type=int, nargs="*", help="queue entry id")
    retry_parser.add_argument("--failed", action="store_true", help="every failed promotion")
    retry_parser.set_defaults(handler=retry_entries)


def _json(row: WaitingRow) -> dict[str, Any]:
    entry = row.entry
    if entry is None:
        return {
            "id": None,
            "state": "waiting",
            "policyId": row.policy_id,
            "policyName": row.policy_name or None,
            "source": row.source,
            "sourceDigest": row.digest,
            "target": row.target or None,
            "since": to_db_time(row.when),
            "reason": row.reason,
        }
    return {
        "id": entry.id,
        "state": entry.state,
        "retrying": row.status == "retrying",
        "policyId": entry.policy_id,
        "policyName": row.policy_name or None,
        "source": row.source,
        "sourceDigest": entry.source_digest,
        "sourceProfile": entry.source_profile,
        "target": row.target,
        "targetProfile": entry.target_profile,
        "attempts": entry.attempts,
        "nextAttemptAt": to_db_time(entry.next_attempt_at),
        "owner": entry.owner,
        "leaseUntil": to_db_time(entry.lease_until),
        "lastError": entry.last_error,
    }


def _statuses(asked: list[str] | None) -> set[str]:
    states = asked or list(DEFAULT_STATUSES)
    if "all" in states:
        return set(STATUSES)
    wanted = set(states)
    if "pending" in wanted:
        wanted.add("retrying")  # a retrying entry is pending, waiting for its time
    return wanted


def show_queue(args: argparse.Namespace, ctx: Context) -> int:
    rows = load(ctx.database, _statuses(args.state))
    if args.json:
        print_json([_json(row) for row in rows])
        return 0
    if not rows:
        print("nothing waiting, running or failed", file=sys.stderr)
        return 0
    print_table(
        ("ID", "STATE", "POLICY", "PROMOTION", "TRIES", "WHEN", "REASON"),
        [
            (
                row.entry_id if row.entry_id is not None else "-",
                row.status,
                row.policy_name or (str(row.policy_id) if row.policy_id else "-"),
                f"{row.source} -> {row.target or '?'}",
                row.attempts if row.entry is not None else "-",
                _when(row),
                row.reason or "-",
            )
            for row in rows
        ],
    )
    return 0


def _when(row: WaitingRow) -> str:
    if row.status == "running":
        return f"held by {row.holder or '-'}"
    if row.when is None or row.status not in ("waiting", "retrying", "pending"):
        return "-"
    stamp = row.when.astimezone().isoformat(timespec="seconds")
    return f"since {stamp}" if row.status == "waiting" else f"next {stamp}"


def retry_entries(args: argparse.Namespace, ctx: Context) -> int:
    if args.failed and args.ids:
        raise InvalidInput("give entry ids or --failed, not both")
    if not args.failed and not args.ids:
        raise InvalidInput("which entries? give their ids (see hoister queue) or --failed")
    result = retry(ctx.database, None if args.failed else args.ids)
    for entry in result.requeued:
        print(
            f"entry {entry.id} queued again: {entry.source_repository}:{entry.source_tag}"
            f" -> {entry.target_repository}"
        )
    if args.failed and not result.requeued and not result.problems:
        print("no failed promotions to retry", file=sys.stderr)
    unknown = [p for p in result.problems if p.startswith("there is no queue entry")]
    if unknown and len(unknown) == len(result.problems):
        raise InvalidInput("; ".join(unknown))
    if result.problems:
        raise HoisterError("; ".join(result.problems))
    return 0
