"""Keyrings for tests: an in-memory backend, and a real, private Secret Service.

The real one is a ``gnome-keyring-daemon`` on a private D-Bus session bus with fresh
data and runtime folders, so tests exercise the same code path as a desktop without
touching (or needing) the developer's own keyring. The bus gets a minimal config with
no service directories: the stock session config would let D-Bus *activate* the
system's ``org.freedesktop.secrets.service`` on the first request, starting a second,
unmanaged daemon that outlives the tests.

Import the fixtures into a test module with
``from tests.support_keyring import secret_service, real_keyring  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

SECRETS_BUS_NAME = "org.freedesktop.secrets"
KEYRING_PASSWORD = "hoister-test-login-password"
STARTUP_TIMEOUT = 30.0

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={folder}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps passwords in a dict, like a real one would.

    ``priority`` is negative so that defining this class (keyring registers every
    subclass) never makes ``keyring.get_keyring()`` pick it in other tests.
    """

    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError("No such password!") from None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End a process we started, and everything in its process group, then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def _keyring_daemons_of(runtime_dir: str) -> list[str]:
    """PIDs of gnome-keyring daemons started for ``runtime_dir`` (pgrep, then environ).

    Matching on the environment rather than "new since start" keeps the check right
    while other test runs on the machine start their own daemons.
    """
    found = subprocess.run(
        ["pgrep", "-x", "gnome-keyring-d"], capture_output=True, text=True, check=False
    )
    marker = f"XDG_RUNTIME_DIR={runtime_dir}".encode()
    ours = []
    for pid in found.stdout.split():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if marker in environ.split(b"\0"):
            ours.append(pid)
    return ours


def _group_members(pgid: int) -> list[str]:
    """Processes still in a process group (pgrep), to prove a fixture left nothing."""
    found = subprocess.run(
        ["pgrep", "-a", "-g", str(pgid)], capture_output=True, text=True, check=False
    )
    return found.stdout.splitlines()


@contextlib.contextmanager
def private_session_bus(folder: Path) -> Iterator[str]:
    """Run a D-Bus session bus that nothing else uses; yield its address."""
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "bus.conf"
    config.write_text(_BUS_CONFIG.format(folder=folder))
    log_path = folder / "dbus-daemon.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    try:
        assert process.stdout is not None
        # The address is printed once the bus listens, so this read is the readiness wait.
        address = process.stdout.readline().decode().strip()
        if not address:
            raise RuntimeError(f"dbus-daemon did not start: {log_path.read_text()}")
        yield address
    finally:
        _stop(process)
        leftovers = _group_members(process.pid)
        assert not leftovers, f"dbus-daemon left processes behind: {leftovers}"


def _wait_for_bus_name(address: str, name: str, process: subprocess.Popen[bytes]) -> None:
    """Block until ``name`` has an owner on the bus, without polling or sleeping.

    Subscribes to NameOwnerChanged first and only then asks NameHasOwner, so the
    moment the daemon claims the name cannot fall between the two.
    """
    from jeepney.bus_messages import MatchRule, message_bus
    from jeepney.io.blocking import open_dbus_connection

    rule = MatchRule(
        type="signal",
        sender=message_bus.bus_name,
        interface=message_bus.interface,
        member="NameOwnerChanged",
        path=message_bus.object_path,
    )
    rule.add_arg_condition(0, name)
    with open_dbus_connection(bus=address) as connection:
        connection.send_and_get_reply(message_bus.AddMatch(rule))
        with connection.filter(rule, bufsize=8) as queue:
            reply = connection.send_and_get_reply(message_bus.NameHasOwner(name))
            if reply.body[0]:
                return
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or process.poll() is not None:
                    raise RuntimeError(f"{name} did not appear on the private bus")
                try:
                    # Short waits so a daemon that died is noticed promptly.
                    signal_message = connection.recv_until_filtered(
                        queue, timeout=min(remaining, 0.5)
                    )
                except TimeoutError:
                    continue
                if signal_message.body[2]:  # the new owner
                    return


@pytest.fixture(scope="session")
def session_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private D-Bus session bus with no Secret Service on it."""
    with private_session_bus(tmp_path_factory.mktemp("bare-bus")) as address:
        yield address


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh, unlocked gnome-keyring Secret Service on a private bus.

    Yields the environment a client needs (``DBUS_SESSION_BUS_ADDRESS`` and the XDG
    folders the daemon uses); both daemons are stopped at the end of the session.
    """
    if shutil.which("gnome-keyring-daemon") is None:
        pytest.skip("gnome-keyring-daemon is not installed")
    root = tmp_path_factory.mktemp("secret-service")
    env = {
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_RUNTIME_DIR": str(root / "run"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_CACHE_HOME": str(root / "cache"),
    }
    for folder in env.values():
        Path(folder).mkdir(mode=0o700)
    with private_session_bus(root / "bus") as address:
        env["DBUS_SESSION_BUS_ADDRESS"] = address
        daemon_env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"GNOME_KEYRING_CONTROL", "SSH_AUTH_SOCK", "DISPLAY", "WAYLAND_DISPLAY"}
        }
        daemon_env.update(env, HOME=str(root))
        log_path = root / "gnome-keyring.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=daemon_env,
                start_new_session=True,
            )
        try:
            assert process.stdin is not None
            # --unlock reads the login password up to end of input; a new keyring is
            # created with it, unlocked, as the default collection.
            process.stdin.write(KEYRING_PASSWORD.encode())
            process.stdin.close()
            try:
                _wait_for_bus_name(address, SECRETS_BUS_NAME, process)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}: {log_path.read_text(errors='replace')}") from None
            yield env
        finally:
            _stop(process)
            leftovers = _group_members(process.pid)
            assert not leftovers, f"gnome-keyring-daemon left processes behind: {leftovers}"
            stray = _keyring_daemons_of(env["XDG_RUNTIME_DIR"])
            assert not stray, f"gnome-keyring-daemon still running: {stray}"


@pytest.fixture
def real_keyring(
    secret_service: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[KeyringBackend]:
    """keyring's Secret Service backend talking to the private daemon.

    Every item a test stored under the ``hoister`` service is deleted afterwards so
    tests sharing the session daemon do not see each other's secrets.
    """
    import secretstorage
    from keyring.backends import SecretService

    for key, value in secret_service.items():
        monkeypatch.setenv(key, value)
    yield SecretService.Keyring()
    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        for item in collection.search_items({"service": "hoister"}):
            item.delete()
