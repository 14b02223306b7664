"""A private registry on this computer, so a newcomer can try Hoister without an account.

The CNCF ``distribution`` registry (Debian's ``docker-registry``, upstream's
``registry``) is started on a loopback port with its storage in Hoister's data dir. It
only ever listens on 127.0.0.1: a sandbox has no authentication, so it must not be
reachable from the network. The port is remembered next to the storage because saved
profiles point at the sandbox by URL; it changes only when another program took it.

Starting waits up to :data:`STARTUP_TIMEOUT` seconds for the registry to answer, so the
GUI calls :meth:`SandboxRegistry.start` from a worker, never on its own thread.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx

from hoister.errors import HoisterError
from hoister.fsutil import write_json_atomic
from hoister.profiles import Profile, ProfileStore

log = logging.getLogger(__name__)

BINARY_NAMES = ("registry", "docker-registry")
INSTALL_HINT = "sudo apt-get install docker-registry"
HOST = "127.0.0.1"
FOLDER = "sandbox-registry"
STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
#: A log over this size is moved aside at start, so a sandbox used for months stays small.
MAX_LOG_BYTES = 1024 * 1024
_POLL_STEP = 0.05
_PORT_ATTEMPTS = 3


def find_binary() -> str | None:
    """The registry program on PATH: upstream's name first, then Debian's."""
    for name in BINARY_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _q(value: str) -> str:
    """A JSON string is a valid YAML double-quoted scalar (no PyYAML for one small file)."""
    return json.dumps(value)


def port_is_free(port: int) -> bool:
    """Whether the registry could bind ``127.0.0.1:port`` now.

    SO_REUSEADDR mirrors what the registry (Go) sets, so connections of the previous run
    lingering in TIME_WAIT do not make the remembered port look taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback port free a moment ago (the child binds it, so a tiny race remains)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class SandboxRegistry:
    """One registry process owned by Hoister, with config, storage, log and state on disk."""

    def __init__(
        self, data_dir: Path, *, binary: str | None = None, port: int | None = None
    ) -> None:
        # Absolute: the registry runs in this folder and is given the config's path.
        self.folder = Path(data_dir).absolute() / FOLDER
        self.storage = self.folder / "storage"
        self.config_path = self.folder / "config.yml"
        self.log_path = self.folder / "registry.log"
        self.state_path = self.folder / "sandbox.json"
        self._binary = binary
        self._fixed_port = port
        self._port: int | None = port
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    # -- what is known before starting ---------------------------------------------------

    @staticmethod
    def find_binary() -> str | None:
        """See the module-level :func:`find_binary` (looked up at call time, patchable)."""
        return find_binary()

    @property
    def binary(self) -> str | None:
        """Full path of the program to run, or None when it is not installed."""
        if self._binary is not None:
            return shutil.which(self._binary)
        return find_binary()

    @property
    def available(self) -> bool:
        return self.binary is not None

    @property
    def port(self) -> int | None:
        """The port in use, else the one remembered from the last run."""
        return self._port if self._port is not None else self._state().get("port")

    @property
    def configured(self) -> bool:
        """Whether this sandbox ran before (its connection may point at it)."""
        return self.state_path.exists()

    @property
    def url(self) -> str:
        port = self.port
        if port is None:
            raise HoisterError("the sandbox registry has never been started, so it has no address")
        return f"http://{HOST}:{port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        """Start (or keep running) and return once ``GET /v2/`` answers; blocks for seconds."""
        if self.running:
            return self
        binary = self.binary
        if binary is None:
            looked = self._binary or " or ".join(repr(name) for name in BINARY_NAMES)
            raise HoisterError(
                f"no registry program found (looked for {looked} on PATH); install the "
                f"CNCF distribution registry with: {INSTALL_HINT}"
            )
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.storage.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._stop_orphan()
        for attempt in range(_PORT_ATTEMPTS):
            port = self._choose_port(first_try=attempt == 0)
            self._spawn(binary, port)
            try:
                self._wait_ready()
            except HoisterError:
                lost_port = "address already in use" in self.log_tail().lower()
                self.stop()
                # Another program may have taken the probed port in between: try another.
                if not lost_port or self._fixed_port is not None or attempt + 1 == _PORT_ATTEMPTS:
                    raise
                continue
            self._save_state(port, self.process.pid if self.process else None)
            atexit.register(self.stop)
            log.info("sandbox registry running at %s (storage %s)", self.url, self.storage)
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Terminate, wait, kill after :data:`STOP_TIMEOUT`; idempotent, safe at exit."""
        process, self.process = self.process, None
        atexit.unregister(self.stop)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        if process is not None:
            state = self._state()
            if state.get("pid") == process.pid:
                self._save_state(state.get("port"), None)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the registry wrote in this run, for error messages."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self._log_offset)
                text = handle.read().decode(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(nothing in the log)"

    def ensure_profile(self, store: ProfileStore, name: str = "sandbox") -> Profile:
        """Save (or point again) a profile at the sandbox, keeping the rest of it as it was."""
        url = self.url
        existing = next((p for p in store.list() if p.name == name), None)
        if existing is None:
            profile = Profile(name=name, url=url)
            store.add(profile)
            return profile
        if existing.url == url and existing.username is None:
            return existing
        # Keep remembered repositories and settings; the sandbox has no accounts.
        updated = Profile.from_json({**existing.to_json(), "url": url, "username": None})
        store.update(updated)
        return updated

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
        return f"SandboxRegistry({self.folder}, port={self.port}, running={self.running})"

    # -- inside ------------------------------------------------------------------------

    def _choose_port(self, first_try: bool) -> int:
        """The fixed port, else the remembered one if free, else a new free one."""
        if self._fixed_port is not None:
            port = self._fixed_port
        else:
            remembered = self._state().get("port")
            if first_try and isinstance(remembered, int) and port_is_free(remembered):
                port = remembered
            else:
                port = free_port()
        self._port = port
        return port

    def config_text(self, port: int) -> str:
        """The registry's YAML; public so a failing start can be diagnosed."""
        return "\n".join(
            [
                "version: 0.1",
                "log:",
                "  level: warn",
                "  accesslog:",
                "    disabled: true",
                "storage:",
                "  filesystem:",
                f"    rootdirectory: {_q(str(self.storage))}",
                "  delete:",
                "    enabled: true",
                "http:",
                f"  addr: {_q(f'{HOST}:{port}')}",
                f"  secret: {_q(secrets.token_hex(16))}",
                "",
            ]
        )

    def _spawn(self, binary: str, port: int) -> None:
        self.config_path.write_text(self.config_text(port), encoding="utf-8")
        self.config_path.chmod(0o600)
        with contextlib.suppress(FileNotFoundError):
            if self.log_path.stat().st_size > MAX_LOG_BYTES:
                self.log_path.replace(self.log_path.with_suffix(".log.1"))
        # REGISTRY_* variables override the config file (an address on 0.0.0.0, another
        # storage...); a developer's shell must not leak into the sandbox.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self._log = self.log_path.open("ab")
        self._log_offset = self._log.tell()  # earlier runs' lines must not explain this one
        self.process = subprocess.Popen(
            [binary, "serve", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env=env,
        )

    def _wait_ready(self) -> None:
        """Poll ``/v2/``: the only way to learn a child process is listening."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(timeout=1.0, trust_env=False) as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise HoisterError(
                        f"the sandbox registry stopped at once (exit status "
                        f"{self.process.returncode}); its log ends with:\n{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/v2/").status_code in (200, 401):
                        return
                if time.monotonic() > deadline:
                    raise HoisterError(
                        f"the sandbox registry did not answer on {self.url} within "
                        f"{STARTUP_TIMEOUT:.0f} s; its log ends with:\n{self.log_tail()}"
                    )
                time.sleep(_POLL_STEP)

    def _state(self) -> dict[str, Any]:
        """The remembered port and pid; a missing or damaged file just means 'none'."""
        try:
            value = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if k in ("port", "pid") and isinstance(v, int)}

    def _save_state(self, port: int | None, pid: int | None) -> None:
        state = {"port": port} if pid is None else {"port": port, "pid": pid}
        write_json_atomic(self.state_path, state)

    def _stop_orphan(self) -> None:
        """Stop a sandbox left running by a Hoister that crashed, so its port is free again.

        Only a process whose command line names *this* config file is touched: a pid
        recorded long ago may belong to an unrelated program by now.
        """
        pid = self._state().get("pid")
        if pid is None:
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return
        if os.fsencode(str(self.config_path)) not in cmdline:
            return
        log.warning("stopping a sandbox registry left over from an earlier run (pid %s)", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(_POLL_STEP)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """True while any thread of ``pid`` runs.

    The main thread turns zombie before the others have let go of the process's sockets,
    so "not a zombie" is checked for every thread, or the port may still be held.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            state = (task / "stat").read_text().rpartition(")")[2].split()[:1]
        except OSError:
            continue  # this thread has just gone
        if state != ["Z"]:
            return True
    return False
