"""Run the real CNCF ``distribution`` registry (``docker-registry``) for a test.

Hoister's registry client is only trusted once it has talked to the registry other
tools talk to, so tests start the real binary on a free loopback port with its own
storage, optionally behind htpasswd (bcrypt) or token authentication, optionally
posting notifications to a sink. The config is written as YAML text by hand to avoid
a PyYAML dependency for one small file.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, Self

import bcrypt
import httpx

from tests.support.httpserver import free_port
from tests.support.tls import TlsFiles
from tests.support.tokenserver import TokenServer

AuthMode = Literal[None, "basic", "token"]

STARTUP_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
_POLL_STEP = 0.05
_PORT_ATTEMPTS = 3


def find_registry_binary() -> str:
    """Upstream names the binary ``registry``; Debian ships it as ``docker-registry``."""
    for name in ("registry", "docker-registry"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(
        "No registry binary found (looked for 'registry' and 'docker-registry' on PATH). "
        "Install the CNCF distribution registry: apt-get install docker-registry"
    )


def _q(value: str) -> str:
    """Quote a YAML scalar; a JSON string is a valid YAML double-quoted scalar."""
    return json.dumps(value)


def htpasswd_lines(users: dict[str, str]) -> str:
    """bcrypt htpasswd entries; distribution's htpasswd accepts nothing else.

    Cost 4 (the minimum) because the registry re-checks the hash on every request: at
    bcrypt's default cost 12 each request would take a quarter of a second.
    """
    lines = []
    for user, password in users.items():
        hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=4))
        lines.append(f"{user}:{hashed.decode('ascii')}\n")
    return "".join(lines)


class RegistryServer:
    """One ``docker-registry serve`` process with its config, storage and log in workdir."""

    def __init__(
        self,
        workdir: Path,
        *,
        auth: AuthMode = None,
        users: dict[str, str] | None = None,
        token_server: TokenServer | None = None,
        notify_url: str | None = None,
        notify_token: str | None = None,
        delete_enabled: bool = True,
        maxentries: int | None = None,
        tls: TlsFiles | None = None,
    ) -> None:
        if auth == "basic" and not users:
            raise ValueError("basic auth needs users={name: password}")
        if auth == "token" and token_server is None:
            raise ValueError("token auth needs token_server=TokenServer(...)")
        self.binary = find_registry_binary()
        self.workdir = Path(workdir)
        self.auth: AuthMode = auth
        self.users = dict(users or {})
        self.token_server = token_server
        self.notify_url = notify_url
        self.notify_token = notify_token
        self.delete_enabled = delete_enabled
        self.maxentries = maxentries
        self.tls = tls
        self.storage = self.workdir / "storage"
        self.config_path = self.workdir / "config.yml"
        self.htpasswd_path = self.workdir / "htpasswd"
        self.log_path = self.workdir / "registry.log"
        self.secret = secrets.token_hex(16)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._htpasswd_users: dict[str, str] | None = None

    # -- addresses -------------------------------------------------------------------

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the form image references and skopeo use."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Base URL without a trailing slash."""
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    # -- config ----------------------------------------------------------------------

    def config_text(self) -> str:
        """The YAML the registry is started with (public so failing tests can print it)."""
        out = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {_q(str(self.storage))}",
            "  delete:",
            f"    enabled: {'true' if self.delete_enabled else 'false'}",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: {_q(self.host)}",
            f"  secret: {_q(self.secret)}",
        ]
        if self.tls is not None:
            out += [
                "  tls:",
                f"    certificate: {_q(str(self.tls.cert))}",
                f"    key: {_q(str(self.tls.key))}",
            ]
        if self.maxentries is not None:
            out += ["catalog:", f"  maxentries: {int(self.maxentries)}"]
        if self.auth == "basic":
            out += [
                "auth:",
                "  htpasswd:",
                f"    realm: {_q('hoister-test-registry')}",
                f"    path: {_q(str(self.htpasswd_path))}",
            ]
        elif self.auth == "token":
            tokens = self.token_server
            assert tokens is not None  # checked in __init__
            out += [
                "auth:",
                "  token:",
                f"    realm: {_q(tokens.realm)}",
                f"    service: {_q(tokens.service)}",
                f"    issuer: {_q(tokens.issuer)}",
                f"    rootcertbundle: {_q(str(tokens.bundle_path))}",
            ]
        if self.notify_url:
            out += [
                "notifications:",
                "  endpoints:",
                "    - name: hoister-test",
                f"      url: {_q(self.notify_url)}",
            ]
            if self.notify_token:
                out += [
                    "      headers:",
                    f"        Authorization: [{_q('Bearer ' + self.notify_token)}]",
                ]
            out += ["      timeout: 1s", "      threshold: 3", "      backoff: 1s"]
        return "\n".join(out) + "\n"

    def _write_files(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        # Rewrite htpasswd only when ``users`` changed, so a test may hand-edit the file
        # (e.g. other hash prefixes) and restart(): 2.8 reads it once at startup.
        if self.auth == "basic" and (
            self._htpasswd_users != self.users or not self.htpasswd_path.exists()
        ):
            self.htpasswd_path.write_text(htpasswd_lines(self.users))
            self._htpasswd_users = dict(self.users)
        self.config_path.write_text(self.config_text())

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Self:
        """Start on a fresh port (or the same one after stop) and wait until it answers."""
        if self.running:
            return self
        if self.auth == "token" and not (self.token_server and self.token_server.running):
            raise RuntimeError("start the TokenServer before a token-auth RegistryServer")
        keep_port = self.port != 0
        for attempt in range(1 if keep_port else _PORT_ATTEMPTS):
            if not keep_port:
                self.port = free_port()
            self._write_files()
            self._spawn()
            try:
                self._wait_ready()
                return self
            except RuntimeError:
                # Another process may have taken the probed port in the meantime.
                lost_port = "address already in use" in self.log_tail().lower()
                self._terminate()
                if keep_port or not lost_port or attempt == _PORT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        # REGISTRY_* variables override the config file; a developer's shell must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env=env,
        )

    def _wait_ready(self) -> None:
        """Readiness probe: a bounded poll is the only way to learn a child is listening."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        verify: ssl.SSLContext | bool = True
        if self.tls is not None:
            verify = ssl.create_default_context(cafile=str(self.tls.ca))
        with httpx.Client(timeout=1.0, verify=verify) as client:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"registry exited with status {self.process.returncode} during startup;"
                        f" log tail:\n{self.log_tail()}"
                    )
                try:
                    if client.get(f"{self.url}/v2/").status_code in (200, 401):
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"registry on {self.host} not ready after {STARTUP_TIMEOUT:.0f}s;"
                        f" log tail:\n{self.log_tail()}"
                    )
                time.sleep(_POLL_STEP)

    def _terminate(self) -> None:
        process, self.process = self.process, None
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

    def stop(self) -> None:
        """Terminate (SIGKILL after a grace period) and reap the process; idempotent."""
        self._terminate()

    def restart(self) -> Self:
        """Stop and start again on the same port with the same storage."""
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the registry's combined output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
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
        return f"RegistryServer({self.url}, auth={self.auth!r}, running={self.running})"
