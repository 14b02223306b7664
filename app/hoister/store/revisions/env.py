"""Alembic's entry point: run the migrations on the connection Hoister hands it.

Hoister never runs Alembic from a command line or an ``alembic.ini``: the store calls
:func:`hoister.store.schema.upgrade`, which opens the transaction (and takes the lock
that keeps two processes from migrating at once) and passes its connection here.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
