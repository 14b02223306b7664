"""What a short command loads: start-up is paid before every promotion run.

``hoister run --once`` against a plain-HTTP registry with a password-less profile and a
SQLite store needs neither SQLAlchemy nor the keyring nor a CA bundle (see "What
starting costs" in docs/architecture.md); this keeps them from creeping back in through
a module-level import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.registry import RegistryServer

APP = Path(__file__).resolve().parents[1] / "app"

PROBE = """
import sys
from hoister.cli import main
status = main(sys.argv[1:])
from hoister.registry.session import default_trust
print("status", status)
print("loaded", *sorted(m for m in ("sqlalchemy", "keyring", "alembic") if m in sys.modules))
print("CAs", default_trust(False).cert_store_stats()["x509_ca"])
"""


def _hoister(home: Path, *args: str, probe: bool = False) -> str:
    command = [sys.executable, "-c", PROBE] if probe else [sys.executable, "-m", "hoister"]
    done = subprocess.run(
        [*command, *args],
        env={**os.environ, "HOISTER_HOME": str(home), "PYTHONPATH": str(APP)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_run_on_a_laptop_loads_no_sqlalchemy_keyring_or_ca_bundle(
    registry: RegistryServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _hoister(home, "profile", "add", "local", "--url", registry.url, "--no-verify")
    _hoister(home, "run", "--once")  # creates and migrates the store: SQLAlchemy's turn
    lines = _hoister(home, "run", "--once", probe=True).splitlines()
    assert lines[-3:] == ["status 0", "loaded", "CAs 0"]
