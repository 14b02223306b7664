"""The SQLite store: one database file, its schema, and the stores built on it.

Policies, history, watch state, the durable queue and the facts cache share one file
(see :mod:`hoister.store.migrations` for the schema). Open it with
:meth:`Database.open`, which creates or migrates it, then give each thread its own
store object.
"""

from __future__ import annotations

from hoister.store.db import Database, transaction
from hoister.store.policies import PolicyCheck, PolicyStore
from hoister.store.times import from_db_time, now_utc, to_db_time

__all__ = [
    "Database",
    "PolicyCheck",
    "PolicyStore",
    "from_db_time",
    "now_utc",
    "to_db_time",
    "transaction",
]
