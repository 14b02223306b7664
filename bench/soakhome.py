"""A private ``HOISTER_HOME`` driven only through the ``hoister`` command line.

The soak measures Hoister from outside, as an operator sees it: profiles and policies
are added with ``hoister profile add`` and ``hoister policy add``, agents are real
``hoister run`` processes that can be killed, and history is read with ``hoister
history --json``. The processes run the code of the checkout this file is in
(``PYTHONPATH=<root>/app``), whatever ``hoister`` happens to be installed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import REPO_ROOT
from hoister.paths import default_paths

CLI_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
#: Rows the history is read with: far more than any soak promotes.
HISTORY_LIMIT = 1_000_000


class CliFailed(RuntimeError):
    """A set-up command (profile add, policy add) failed; the soak cannot go on."""


class HoisterHome:
    """One ``HOISTER_HOME`` and the processes that run in it.

    With ``database_url`` (a team's PostgreSQL) the home keeps only its own files and
    every process of it uses that database, as a workstation or agent of a team does.
    """

    def __init__(self, root: Path, database_url: str | None = None) -> None:
        self.root = root
        self.database_url = database_url
        self.database = default_paths({"HOISTER_HOME": str(root)}).database
        self.agents: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, Path] = {}  # pid -> that agent's output
        self.started = 0
        (root / "docker").mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        """Nothing of the caller's configuration leaks in: no keyring, no docker login."""
        env = {
            "HOISTER_HOME": str(self.root),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO_ROOT / "app"),
            "DOCKER_CONFIG": str(self.root / "docker"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "HOME": str(self.root),
        }
        if self.database_url:
            env["HOISTER_DATABASE_URL"] = self.database_url
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "hoister", *args]

    def cli(self, *args: str) -> str:
        """Run one command to completion; its standard output, or CliFailed."""
        done = subprocess.run(
            self.command(*args),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise CliFailed(f"hoister {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done.stdout

    def add_profile(self, name: str, url: str) -> None:
        self.cli("profile", "add", name, "--url", url, "--no-verify")

    def add_policy(
        self,
        source_profile: str,
        source: str,
        target: str,
        template: str,
        target_profile: str | None = None,
    ) -> int:
        """A ``tag ew stable`` policy; its id."""
        args = ["policy", "add", "--profile", source_profile, "--source", source]
        args += ["--target", target, "--rule", "tag ew stable", "--template", template]
        args += ["--name", f"soak {source} -> {target}"]
        if target_profile:
            args += ["--target-profile", target_profile]
        out = self.cli(*args)  # "added policy N: ..."
        return int(out.split()[2].rstrip(":"))

    def start_agent(self, *args: str, hostname: str | None = None) -> subprocess.Popen[bytes]:
        """``hoister run ARGS`` in the background; its output goes to ``agent-N.log``.

        ``hostname`` runs it in a UTS namespace of its own under that name (root only):
        to the queue it is then an agent on another machine, whose death only its lease
        reveals, not a process on this host whose pid is gone.
        """
        self.started += 1
        log_path = self.root / f"agent-{self.started}.log"
        command = self.command("run", *args)
        if hostname:
            command = [
                "unshare",
                "--uts",
                "sh",
                "-c",
                f'hostname {hostname} && exec "$@"',
                "sh",
                *command,
            ]
        with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                command,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.logs[process.pid] = log_path
        self.agents.append(process)
        return process

    def why_exited(self, process: subprocess.Popen[bytes]) -> str:
        """An agent that ended by itself: its exit status and last message, for the report."""
        lines = self.logs[process.pid].read_text(errors="replace").splitlines()
        said = [line for line in lines if line.startswith("hoister:")]
        last = said[-1] if said else (lines[-1] if lines else "(no output)")
        where = self.last_crash_site()
        return f"exit {process.returncode}: {last}" + (f" (raised at {where})" if where else "")

    def last_crash_site(self) -> str:
        """The innermost Hoister frame of the last traceback in Hoister's own log."""
        log = default_paths({"HOISTER_HOME": str(self.root)}).log_file
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return ""
        frames = [
            line.strip()
            for line in text.rsplit("Traceback (most recent call last):", 1)[-1].splitlines()
            if line.strip().startswith("File ") and "/hoister/" in line
        ]
        if not frames:
            return ""
        # 'File ".../app/hoister/x/y.py", line 12, in f' -> 'hoister/x/y.py:12 in f'
        path, _, rest = frames[-1].removeprefix('File "').partition('", line ')
        line, _, function = rest.partition(", in ")
        return f"hoister/{path.rsplit('/hoister/', 1)[-1]}:{line} in {function}"

    def stop_agent(self, process: subprocess.Popen[bytes], how: int = signal.SIGTERM) -> None:
        """Signal one agent and reap it (SIGKILL if SIGTERM is not heeded in time)."""
        if process.poll() is None:
            process.send_signal(how)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.agents:
            self.agents.remove(process)

    def close(self) -> None:
        """Stop every agent still running; safe to call twice."""
        for process in list(self.agents):
            self.stop_agent(process, signal.SIGKILL)

    # -- reading back ----------------------------------------------------------------------

    def history(self) -> list[dict[str, Any]]:
        """Every history row, as ``hoister history --json`` prints them."""
        rows = json.loads(self.cli("history", "--json", "--limit", str(HISTORY_LIMIT)))
        return list(rows)

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        """A read-only look at the database (agents may be writing to it meanwhile)."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as connection:
                return list(connection.execute(sql).fetchall())
        if not self.database.exists():
            return []
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30.0)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def unfinished(self) -> int:
        """Queue rows not yet done, skipped or failed for good (pending or running)."""
        rows = self._query("SELECT COUNT(*) FROM queue WHERE state IN ('pending', 'running')")
        return int(rows[0][0]) if rows else 0

    def integrity(self) -> str:
        """``PRAGMA integrity_check`` (PostgreSQL: amcheck of every index of Hoister's
        tables): ``ok``, or the first problem it names."""
        if self.database_url:
            return self._pg_integrity()
        rows = self._query("PRAGMA integrity_check")
        return str(rows[0][0]) if rows else "no database"

    def _pg_integrity(self) -> str:
        import psycopg

        try:
            with psycopg.connect(self.database_url or "", autocommit=True) as connection:
                connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
                indexes = connection.execute(
                    "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c"
                    " ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE a.amname = 'btree' AND n.nspname = 'public'"
                ).fetchall()
                for (index,) in indexes:
                    connection.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
        except psycopg.Error as exc:
            return f"amcheck: {str(exc).strip().splitlines()[0]}"
        return "ok"
