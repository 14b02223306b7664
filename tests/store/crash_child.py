"""The process the crash tests kill in the middle of a write transaction.

Usage: ``python crash_child.py DB MODE COUNT SIGNAL_AT BLOCK`` with MODE ``add`` (add
COUNT new policies in one ``add_many``) or ``update`` (rewrite the description of every
stored policy in one ``update_many``). The ``check`` callback, which the store calls
inside the transaction before each write, prints ``inserting`` once it has been called
SIGNAL_AT times, i.e. after BEGIN and SIGNAL_AT - 1 writes. With BLOCK ``1`` it then
waits on standard input (which the test never writes), so the kill is certain to land
inside the transaction; with ``0`` it carries on and the kill lands wherever it lands.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hoister.policies.model import Policy, Rule
from hoister.store import Database, PolicyStore

#: Big enough that the uncommitted pages overflow SQLite's page cache into the WAL file,
#: so recovery, not just an unwritten cache, is what the test exercises.
FILLER = "x" * 1000


def new_policy(n: int) -> Policy:
    return Policy(
        source_profile="local",
        source_repository=f"dev/app{n}",
        target_repository=f"qa/app{n}",
        tag_template="%n",
        rules=(Rule("tag", "ew", ("stable",)),),
        name=f"new {n}",
        description=f"new {n} {FILLER}",
    )


def main(argv: list[str]) -> None:
    path, mode, count, signal_at, block = argv
    calls = 0

    def check(policy: Policy, others: list[Policy]) -> None:
        nonlocal calls
        calls += 1
        if calls == int(signal_at):
            print("inserting", flush=True)
            if block == "1":
                sys.stdin.readline()

    with PolicyStore(Database.open(Path(path))) as store:
        if mode == "add":
            store.add_many((new_policy(n) for n in range(int(count))), check=check)
        else:
            changed = [p.with_changes(description=f"new {FILLER}") for p in store.list()]
            store.update_many(changed, check=check)
    print("committed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
