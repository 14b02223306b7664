"""``hoister store info`` and ``hoister store copy``: where the store is, and moving it.

``info`` answers "which database is this Hoister on, and who chose it?" — the question
everyone asks first when two machines disagree. ``copy`` moves a workstation's work
into a team database (see :mod:`hoister.store.copy` for what counts as already there).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import print_json
from hoister.errors import HoisterError, InvalidInput
from hoister.policies.validation import policy_check
from hoister.registry.identity import profile_identities
from hoister.store.base import default_author
from hoister.store.copy import active_entries, copy_store
from hoister.store.db import Database, database_url
from hoister.store.engines import EngineRegistry
from hoister.store.location import with_password
from hoister.store.profiles import SharedProfileStore
from hoister.store.queue import ACTIVE_STATES
from hoister.store.schema import LATEST_VERSION

COPY_HELP = """\
Copy this workstation's store (the one --database, $HOISTER_DATABASE_URL or the
default picks) into a team database: policies, registry connections (never a
password: each machine keeps its own in its keyring) and history. The target is
upgraded to this Hoister's schema first; everything is written in one transaction,
so it gets all of it or nothing. What is already there is recognised and not copied
again (a policy of the same name and route, a connection of the same name and
settings, a history row of the same route, tags, digest, outcome and time), so a
second run copies nothing. A connection of the same name with other settings stops
the copy: make the two the same, or rename yours, then copy again.

Watch state and the queue are not copied. The team's agents poll the repositories for
themselves (a repository they see for the first time is taken as it is, nothing is
promoted from what is already there), and a queue entry belongs to the engine that
took it: finish or retry this workstation's pending and running promotions here first
(`hoister run --once`, `hoister queue`). While there are some, the copy is refused;
--force copies anyway and leaves them here, where only this workstation will run them.
"""


def register(commands: Any) -> None:
    store = commands.add_parser("store", help="where the store is; copy it to a team database")
    actions = store.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="which database this Hoister uses, and what is in it")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(handler=store_info)
    copy = actions.add_parser(
        "copy",
        help="copy policies, connections and history into a team database",
        description=COPY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    copy.add_argument(
        "--to", required=True, metavar="URL", help="the team database: postgresql://user@host/db"
    )
    copy.add_argument(
        "--dry-run", action="store_true", help="say what would be copied, write nothing"
    )
    copy.add_argument(
        "--force",
        action="store_true",
        help="copy although promotions are still pending or running here (they stay here)",
    )
    copy.add_argument("--json", action="store_true", help="print the counts as JSON")
    copy.set_defaults(handler=copy_to)


def _counts(database: Database) -> dict[str, Any]:
    with database.connection() as conn:
        policies = int(conn.execute("SELECT count(*) FROM policies").scalar() or 0)
        history = int(conn.execute("SELECT count(*) FROM history").scalar() or 0)
        queue = {
            r["state"]: int(r["n"])
            for r in conn.execute("SELECT state, count(*) AS n FROM queue GROUP BY state")
        }
    return {"policies": policies, "history": history, "queue": queue}


def store_info(args: argparse.Namespace, ctx: Context) -> int:
    database, where = ctx.database, ctx.location
    counts = _counts(database)
    with EngineRegistry(database) as registry:
        engines = registry.at_work()
    connections = (
        "the team database"
        if isinstance(ctx.profiles, SharedProfileStore)
        else str(ctx.paths.profiles_file)
    )
    info = {
        "location": database.display,
        "origin": where.origin,
        "backend": database.dialect,
        "shared": database.shared,
        "schemaVersion": database.schema_version(),
        "connections": {"where": connections, "count": len(ctx.profiles.list())},
        **counts,
        "engines": [
            {
                "name": e.name,
                "kind": e.kind,
                "host": e.host,
                "pid": e.pid,
                "promoting": e.promoting,
                "startedAt": e.started_at.isoformat(timespec="seconds"),
                "seenAt": e.seen_at.isoformat(timespec="seconds"),
            }
            for e in engines
        ],
    }
    if args.json:
        print_json(info)
        return 0
    queue = counts["queue"]
    states = ", ".join(f"{queue.get(s, 0)} {s}" for s in (*ACTIVE_STATES, "failed", "done"))
    lines = [
        f"store        {info['location']}",
        f"chosen by    {where.origin}",
        f"backend      {database.dialect}{' (shared by the team)' if database.shared else ''}",
        f"schema       version {info['schemaVersion']}",
        f"connections  {info['connections']['count']} (in {connections})",
        f"policies     {counts['policies']}",
        f"queue        {states}",
        f"history      {counts['history']} rows",
    ]
    if engines:
        lines.append(f"at work      {len(engines)} engine{'s' if len(engines) != 1 else ''}")
        lines += [
            f"  {e.name}{'' if e.promoting else ' (not promoting)'}, seen {e.seen_at:%H:%M:%S}"
            for e in engines
        ]
    else:
        lines.append("at work      no engine")
    print("\n".join(lines))
    return 0


def _target(url: str, ctx: Context) -> str:
    """The target's location with its password filled in; only a team database."""
    try:
        parsed = database_url(url)
    except HoisterError as exc:
        raise InvalidInput(str(exc)) from None
    if parsed.get_backend_name() != "postgresql":
        raise InvalidInput("--to needs a team database: postgresql://user@host/db")
    return with_password(url, ctx.secrets)


def _same_place(one: Database, other: Database) -> bool:
    """Two locations of one database, whether or not a password was written in them."""

    def plain(database: Database) -> tuple[object, ...]:
        url = database.url
        return (url.host, url.port or 5432, url.database, url.username)

    return plain(one) == plain(other)


def copy_to(args: argparse.Namespace, ctx: Context) -> int:
    location = _target(args.to, ctx)
    source = ctx.database
    pending = active_entries(source)
    if pending and not args.force:
        raise HoisterError(
            f"{pending} promotion{'s are' if pending != 1 else ' is'} still pending or running "
            f"in {source.display}; the queue is not copied (the team's agents would not run "
            "them). Let them finish here (`hoister run --once`, `hoister queue`), then copy "
            "again, or add --force to copy without them"
        )
    if _same_place(Database(location), source):
        raise InvalidInput(f"{source.display} is the store this command reads from")
    mine = ctx.profiles.list()
    target = Database(location) if args.dry_run else Database.open(location)
    try:
        current = target.schema_version() == LATEST_VERSION
        theirs = SharedProfileStore(target).list() if current else []
        report = copy_store(
            source,
            mine,
            target,
            author=default_author(),
            check=policy_check(profile_identities([*theirs, *mine])),
            dry_run=args.dry_run,
        )
    finally:
        target.close()
    if args.json:
        print_json(report.to_json())
    else:
        print(report.summary())
    if pending:
        print(
            f"note: {pending} pending or running promotion(s) stay in {source.display}",
            file=sys.stderr,
        )
    return 0
