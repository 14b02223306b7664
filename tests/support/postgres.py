"""Run a real PostgreSQL server (Debian ``postgresql``: initdb + pg_ctl) for the tests.

The team store is only trusted once it has run against the server teams run, so the
tests start the real binaries on a fresh data directory, a free loopback port and a
socket directory of their own, with password (SCRAM) authentication as in production.
Nothing of the machine's own clusters is used or touched.

As root (CI), the server runs as an unprivileged user: see ``postgres_host``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql

from tests.support.httpserver import free_port
from tests.support.postgres_host import (
    ServerUser,
    find_postgres_bindir,
    server_user,
    traversable_tempdir,
)

SUPERUSER = "hoister"
STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 15
_PORT_ATTEMPTS = 3

#: Appended to postgresql.conf. The port is given on pg_ctl's command line instead, so a
#: retry after losing the probed port only changes an argument.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    # Tests, not durability: a crash of the machine may lose the throw-away cluster, and
    # skipping the flushes makes CREATE DATABASE and every commit several times faster.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # Several engines and agents per test, each with a connection pool.
    "max_connections": "200",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] %q%u@%d ",
}


class PostgresServer:
    """One throw-away PostgreSQL cluster: data, socket and log in a private temp dir."""

    def __init__(self, bindir: Path | None = None, *, user: ServerUser | None = None) -> None:
        self.bindir = bindir or find_postgres_bindir()
        self.user = user or server_user()
        self.password = secrets.token_hex(16)
        self.port = 0
        self.workdir: Path | None = None
        self.start_seconds = 0.0

    # -- addresses -------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._workdir() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._workdir() / "socket"

    @property
    def log_path(self) -> Path:
        return self._workdir() / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://hoister:PW@127.0.0.1:PORT/DB``, the form a user writes.

        The password is hex, so it needs no quoting in a URL.
        """
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{dbname}"

    @property
    def running(self) -> bool:
        """Whether pg_ctl sees a live server on the data directory."""
        if self.workdir is None or not self.data_dir.exists():
            return False
        return self._pg_ctl("status", check=False).returncode == 0

    def postmaster_pid(self) -> int:
        """The server's process id, from the first line of ``postmaster.pid``."""
        return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])

    # -- databases -------------------------------------------------------------------

    def create_database(self) -> str:
        """A fresh, empty database; its name (``t_<hex>``)."""
        name = f"t_{secrets.token_hex(6)}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop it even while connections (a leaked pool, a killed agent's) are open."""
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def _admin(self, statement: sql.Composable) -> None:
        # CREATE/DROP DATABASE cannot run inside a transaction block: autocommit.
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        """initdb a fresh cluster and start it on a free port; wait until it accepts."""
        if self.workdir is not None:
            raise RuntimeError("PostgresServer is single-use: make a new one")
        began = time.monotonic()
        self._make_workdir()
        self._initdb()
        for attempt in range(_PORT_ATTEMPTS):
            self.port = free_port()
            result = self._pg_ctl(
                "start",
                "-w",
                "-t",
                str(STARTUP_TIMEOUT),
                "-l",
                str(self.log_path),
                "-o",
                f"-p {self.port}",
                check=False,
            )
            if result.returncode == 0:
                self.start_seconds = time.monotonic() - began
                return self
            # Another process may have taken the probed port in the meantime.
            lost_port = "could not bind" in self.log_tail().lower()
            self._pg_ctl("stop", "-m", "immediate", check=False)
            if not lost_port or attempt == _PORT_ATTEMPTS - 1:
                message = (
                    f"PostgreSQL ({self.bindir}) did not start on 127.0.0.1:{self.port} as "
                    f"{self.user.name}: {_output(result)}\nserver log tail:\n{self.log_tail()}"
                )
                self._remove_workdir()
                raise RuntimeError(message)
        raise AssertionError("unreachable")

    def pause(self) -> None:
        """Shut the server down but keep its data: a restart or failover, as clients see it."""
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(STOP_TIMEOUT))

    def resume(self) -> None:
        """Start a paused server again, on the same port with the same data."""
        self._pg_ctl(
            "start",
            "-w",
            "-t",
            str(STARTUP_TIMEOUT),
            "-l",
            str(self.log_path),
            "-o",
            f"-p {self.port}",
        )

    def stop(self) -> None:
        """Fast shutdown (running sessions are cut off) and remove everything; idempotent."""
        if self.workdir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", str(STOP_TIMEOUT), check=False)
        self._remove_workdir()

    def _make_workdir(self) -> None:
        # mkdtemp makes it 0700 and ours; hand it to the server user, whose data, socket,
        # log and password file all live inside.
        self.workdir = Path(tempfile.mkdtemp(prefix="hoister-pg-", dir=traversable_tempdir()))
        for sub in (self.data_dir, self.socket_dir):
            sub.mkdir(mode=0o700)
        if not self.user.is_self:
            for path in (self.workdir, self.data_dir, self.socket_dir):
                os.chown(path, self.user.uid, self.user.gid)

    def _initdb(self) -> None:
        pwfile = self._workdir() / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if not self.user.is_self:
            os.chown(pwfile, self.user.uid, self.user.gid)
        try:
            self._run(
                self.bindir / "initdb",
                "--pgdata",
                str(self.data_dir),
                "--username",
                SUPERUSER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                # C collation: the same on every machine, and no locale package needed.
                "--locale=C",
                # nothing to flush: a crash mid-run loses a throw-away cluster
                "--no-sync",
            )
        finally:
            pwfile.unlink()
        settings = {**SERVER_SETTINGS, "unix_socket_directories": str(self.socket_dir)}
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# tests/support/postgres.py\n")
            conf.writelines(f"{key} = '{value}'\n" for key, value in settings.items())

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run(self.bindir / "pg_ctl", *args, "-D", str(self.data_dir), check=check)

    def _run(
        self, program: Path, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        # PG* variables (PGDATA, PGPORT, PGUSER...) from a developer's shell must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(HOME=str(self._workdir()), LC_ALL="C")
        result = subprocess.run(
            [str(program), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            cwd=self._workdir(),
            env=env,
            check=False,
            timeout=STARTUP_TIMEOUT + 30,
            **self.user.run_kwargs(),
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{program.name} {' '.join(args[:1])} failed as {self.user.name} "
                f"(status {result.returncode}): {_output(result)}"
            )
        return result

    def _workdir(self) -> Path:
        if self.workdir is None:
            raise RuntimeError("PostgresServer not started")
        return self.workdir

    def _remove_workdir(self) -> None:
        workdir, self.workdir = self.workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the server log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except (FileNotFoundError, RuntimeError):
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"PostgresServer(127.0.0.1:{self.port}, user={self.user.name!r})"


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr or result.stdout or f"status {result.returncode}").strip()
