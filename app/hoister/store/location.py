"""Which database a Hoister process uses: a machine's own SQLite file, or a team's server.

The first of these that is set wins, the same for the app, the CLI and the agent:

1. ``--database URL`` on the command line;
2. ``HOISTER_DATABASE_URL`` in the environment (how an agent is pointed at the team);
3. the app's *Team database* setting (``team_database`` in settings.json, written by
   the app's settings dialog; a URL without its password);
4. the SQLite file under ``HOISTER_HOME`` (the default: nothing to set up).

A server database's password is never kept in a file: it comes from the URL itself when
someone typed it there (flag or environment), else ``HOISTER_DATABASE_PASSWORD``, else
the OS keyring (entry ``database:<user>@<host>:<port>/<name>``), else libpq's own
``~/.pgpass``. It never appears in logs or messages (see :attr:`Database.display`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hoister.credentials.secrets import SecretStore
from hoister.errors import InvalidInput
from hoister.paths import Paths
from hoister.settings import Settings
from hoister.store.db import Database, database_url, is_file_path

if TYPE_CHECKING:
    import sqlalchemy

ENV_URL = "HOISTER_DATABASE_URL"
ENV_PASSWORD = "HOISTER_DATABASE_PASSWORD"
SETTING = "team_database"


@dataclass(frozen=True)
class StoreLocation:
    """Where the store is and who said so (shown in ``hoister store info`` and the app)."""

    location: str
    origin: str  # "--database", ENV_URL, "the Team database setting", "default"

    @property
    def shared(self) -> bool:
        if is_file_path(self.location):
            return False
        return database_url(self.location).get_backend_name() == "postgresql"


def choose(
    paths: Paths,
    *,
    flag: str | None = None,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> StoreLocation:
    env = os.environ if environ is None else environ
    if flag:
        return StoreLocation(flag, "--database")
    if env.get(ENV_URL):
        return StoreLocation(env[ENV_URL], ENV_URL)
    team = settings.get(SETTING) if settings is not None else None
    if isinstance(team, str) and team.strip():
        return StoreLocation(team.strip(), "the Team database setting")
    return StoreLocation(str(paths.ensure().database), "default")


def password_key(url: sqlalchemy.URL) -> str:
    """The keyring entry of a server database's password."""
    port = url.port or 5432
    return f"database:{url.username}@{url.host}:{port}/{url.database}"


def with_password(
    location: str, secrets: SecretStore | None, environ: Mapping[str, str] | None = None
) -> str:
    """``location`` with the password filled in from the environment or the keyring."""
    if is_file_path(location):
        return location
    url = database_url(location)
    if url.get_backend_name() != "postgresql" or url.password or not url.username:
        return location
    env = os.environ if environ is None else environ
    password = env.get(ENV_PASSWORD) or (
        secrets.get_entry(password_key(url)) if secrets is not None else None
    )
    if not password:
        return location  # libpq may still find one in ~/.pgpass
    return url.set(password=password).render_as_string(hide_password=False)


def check_setting(text: str) -> str:
    """A *Team database* setting as it may be saved: a PostgreSQL URL, no password."""
    url = database_url(text.strip())
    if url.get_backend_name() != "postgresql":
        raise InvalidInput("a team database is a PostgreSQL URL: postgresql://user@host/db")
    if not url.host or not url.database:
        raise InvalidInput("the URL needs a host and a database: postgresql://user@host/db")
    if url.password:
        raise InvalidInput("leave the password out of the URL: it is kept in the keyring")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def open_store(
    paths: Paths,
    *,
    flag: str | None = None,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
    secrets: SecretStore | None = None,
) -> tuple[Database, StoreLocation]:
    """The database this process uses, created or migrated, and where it came from."""
    where = choose(paths, flag=flag, environ=environ, settings=settings)
    database = Database.open(with_password(where.location, secrets, environ))
    return database, where
