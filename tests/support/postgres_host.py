"""What the machine must provide for a test PostgreSQL: its binaries and, as root, a user.

Debian keeps ``initdb`` and ``pg_ctl`` off PATH, in ``/usr/lib/postgresql/<major>/bin``.
``initdb`` and ``pg_ctl`` refuse to run as root, and CI runs as root: there the server
runs as the ``postgres`` system user (Debian's package creates it) or, failing that, a
system user ``hoister-pg`` created once for the purpose, and its files live under a
directory that user can reach, not under pytest's root-only temporary folders.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The unprivileged account created when running as root on a machine without ``postgres``.
FALLBACK_USER = "hoister-pg"
_BINARIES = ("initdb", "pg_ctl", "postgres")
_DEBIAN_BINDIRS = Path("/usr/lib/postgresql")


def find_postgres_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres.

    PATH first (a packaged or self-built server the developer chose); otherwise the
    newest ``/usr/lib/postgresql/<major>/bin``, where Debian keeps them off PATH.
    """
    found = [shutil.which(name) for name in _BINARIES]
    if all(found):
        dirs = {Path(str(path)).resolve().parent for path in found}
        if len(dirs) == 1:
            return dirs.pop()
    candidates = []
    if _DEBIAN_BINDIRS.is_dir():
        for entry in _DEBIAN_BINDIRS.iterdir():
            bindir = entry / "bin"
            if re.fullmatch(r"\d+(\.\d+)?", entry.name) and all(
                (bindir / name).is_file() for name in _BINARIES
            ):
                candidates.append((tuple(int(p) for p in entry.name.split(".")), bindir))
    if candidates:
        return max(candidates)[1]
    raise RuntimeError(
        "No PostgreSQL server found (initdb, pg_ctl and postgres on PATH or in "
        f"{_DEBIAN_BINDIRS}/<version>/bin). The team-store tests need a real server: "
        "apt-get install postgresql (make sysdeps-test does this)."
    )


@dataclass(frozen=True)
class ServerUser:
    """The account initdb, pg_ctl and the server run as."""

    name: str
    uid: int
    gid: int

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid()

    def run_kwargs(self) -> dict[str, Any]:
        """subprocess arguments that drop root to this user (nothing when it is us)."""
        if self.is_self:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def server_user() -> ServerUser:
    """Ourselves, unless we are root: then ``postgres``, else a created ``hoister-pg``."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return ServerUser(me.pw_name, me.pw_uid, os.getegid())
    for name in ("postgres", FALLBACK_USER):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    result = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    try:  # another test process may have created it a moment ago (useradd then fails)
        entry = pwd.getpwnam(FALLBACK_USER)
    except KeyError:
        raise RuntimeError(
            f"Running as root, PostgreSQL needs an unprivileged user; 'useradd {FALLBACK_USER}'"
            f" failed: {result.stderr.strip() or result.returncode}"
        ) from None
    return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def traversable_tempdir() -> Path:
    """A temporary parent every user can enter (the server user must reach its data)."""
    for candidate in (Path(tempfile.gettempdir()), Path("/tmp")):
        path = candidate.resolve()
        if all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents)):
            return path
    raise RuntimeError("No temporary directory that an unprivileged user can enter")
