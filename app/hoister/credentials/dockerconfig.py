"""Reuse the logins ``docker login`` already left on this machine.

People have usually logged in with Docker before they try Hoister; asking for those
passwords again is friction, so Hoister reads ``~/.docker/config.json`` (or
``$DOCKER_CONFIG/config.json``) read-only, the way the Docker CLI does: a per-registry
``credHelpers`` entry wins over the global ``credsStore``, which wins over the inline
``auths`` entry. Helpers are separate programs (``docker-credential-NAME``) that may
prompt, hang on a locked keychain or be uninstalled, so each call has a timeout and
every failure becomes a :class:`HoisterError` that names the helper but never the
secret.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hoister import jsonlimits
from hoister.credentials import Credential, SecretKind
from hoister.errors import HoisterError

DOCKER_HUB = "docker.io"
DOCKER_HUB_SERVER = "https://index.docker.io/v1/"
_HUB_NAMES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
TOKEN_USERNAME = "<token>"
FILE_SOURCE = "docker config.json"
DEFAULT_HELPER_TIMEOUT = 10.0


@dataclass(frozen=True)
class HelperResult:
    """What a credential helper process returned."""

    returncode: int
    stdout: str
    stderr: str


# runner(argv, stdin_text, timeout, env) -> HelperResult; raises subprocess.TimeoutExpired
# on timeout and OSError when the program cannot be started.
HelperRunner = Callable[[Sequence[str], str, float, Mapping[str, str] | None], HelperResult]


def run_helper(
    argv: Sequence[str], stdin_text: str, timeout: float, env: Mapping[str, str] | None
) -> HelperResult:
    """Run a helper in its own process group and kill the whole group on timeout.

    Helpers are often wrappers (``pass`` calls ``gpg`` which may start ``pinentry``);
    killing only the direct child would leave those running and holding our pipes.
    A new process group (not a new session) keeps the terminal for helpers that prompt.
    """
    with subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
        process_group=0,
    ) as process:
        try:
            stdout, stderr = process.communicate(stdin_text, timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        return HelperResult(process.returncode, stdout, stderr)


def registry_key(text: str) -> str:
    """Reduce any spelling Docker uses for a registry to ``host[:port]``.

    ``auths`` keys appear as ``host``, ``https://host``, ``http://host`` and
    ``https://host/v1/``; Docker Hub has several names, all mapped to ``docker.io``.
    """
    key = text.strip().lower()
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    key = key.split("/", 1)[0]
    return DOCKER_HUB if key in _HUB_NAMES else key


class DockerConfig:
    """Read-only view of Docker's ``config.json``; read fresh on every lookup.

    Reading each time means a ``docker login`` done while Hoister runs is picked up.
    """

    def __init__(
        self,
        path: Path | None = None,
        environ: Mapping[str, str] | None = None,
        runner: HelperRunner | None = None,
        helper_timeout: float = DEFAULT_HELPER_TIMEOUT,
    ) -> None:
        self._environ = environ
        env = self._env()
        if path is None:
            folder = env.get("DOCKER_CONFIG")
            if folder:
                path = Path(folder).expanduser() / "config.json"
            else:
                home = env.get("HOME")
                base = Path(home) if home else Path.home()
                path = base / ".docker" / "config.json"
        self.path = Path(path)
        self._runner = runner or run_helper
        self.helper_timeout = helper_timeout

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _broken(self, problem: str) -> HoisterError:
        return HoisterError(
            f"the Docker config file {self.path} {problem}; fix it, or log in again with "
            "`docker login`"
        )

    def _read(self) -> dict[str, Any] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise HoisterError(
                f"cannot read the Docker config file {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            document = jsonlimits.loads(raw, what="the file") if raw.strip() else {}
        except jsonlimits.InvalidJSON:
            # No position or excerpt: the text around the error may be a password.
            raise self._broken("is not valid JSON") from None
        if not isinstance(document, dict):
            raise self._broken("does not hold a JSON object at the top")
        for section in ("auths", "credHelpers"):
            if not isinstance(document.get(section, {}), dict):
                raise self._broken(f"has a {section!r} that is not a JSON object")
        if not isinstance(document.get("credsStore", ""), str):
            raise self._broken("has a 'credsStore' that is not text")
        return document

    def hosts(self) -> list[str]:
        """Registries with a login here, as ``host[:port]`` (Docker Hub as ``docker.io``).

        Entries under ``auths`` are listed even when empty, because with a
        ``credsStore`` Docker keeps the secret in the store and leaves only ``{}`` here.
        """
        document = self._read()
        if document is None:
            return []
        keys = [*document.get("auths", {}), *document.get("credHelpers", {})]
        return sorted({registry_key(key) for key in keys if registry_key(key)})

    def lookup(self, host: str) -> Credential | None:
        """The login Docker would use for ``host`` (``host[:port]`` or a URL), or None."""
        document = self._read()
        if document is None:
            return None
        wanted = registry_key(host)
        auths: dict[str, Any] = document.get("auths", {})
        auth_keys = [key for key in auths if registry_key(key) == wanted]
        helper = self._helper_for(document, wanted)
        if helper is not None:
            for server in self._server_candidates(wanted, auth_keys):
                credential = self._ask_helper(helper, server)
                if credential is not None:
                    return credential
        for key in auth_keys:
            credential = self._inline(key, auths[key])
            if credential is not None:
                return credential
        return None

    @staticmethod
    def _helper_for(document: Mapping[str, Any], wanted: str) -> str | None:
        for key, name in document.get("credHelpers", {}).items():
            if registry_key(key) == wanted and isinstance(name, str) and name:
                return name
        store = document.get("credsStore")
        return store or None

    @staticmethod
    def _server_candidates(wanted: str, auth_keys: Sequence[str]) -> list[str]:
        """Server URLs to ask a helper for, most likely first.

        Helpers key entries by the exact string ``docker login`` used, which is the
        ``auths`` key when there is one, else the bare host (the Hub's legacy URL).
        """
        hub = wanted == DOCKER_HUB
        fallbacks = [DOCKER_HUB_SERVER] if hub else [wanted, f"https://{wanted}"]
        return list(dict.fromkeys([*auth_keys, *fallbacks]))

    def _ask_helper(self, name: str, server: str) -> Credential | None:
        program = f"docker-credential-{name}"
        env = self._env()
        executable = shutil.which(program, path=env.get("PATH", os.defpath))
        if executable is None:
            raise HoisterError(
                f"{self.path} says to use the credential helper {program!r}, but it is not "
                "installed (not found on PATH); install it, or remove it from 'credsStore' / "
                "'credHelpers' and run `docker login` again"
            )
        child_env = None if self._environ is None else env
        try:
            result = self._runner([executable, "get"], server, self.helper_timeout, child_env)
        except subprocess.TimeoutExpired:
            raise HoisterError(
                f"the credential helper {program} did not answer within "
                f"{self.helper_timeout:g} seconds (is it waiting for a locked keychain or "
                f"a password prompt?); try `{program} list` in a terminal"
            ) from None
        except OSError as exc:
            raise HoisterError(
                f"the credential helper {program} could not be started: {exc.strerror or exc}"
            ) from None
        said = f"{result.stdout}\n{result.stderr}"
        if "credentials not found" in said.lower():
            return None
        if result.returncode != 0:
            first = next((line.strip() for line in said.splitlines() if line.strip()), "")
            detail = f": {first[:200]}" if first else ""
            raise HoisterError(
                f"the credential helper {program} failed for {server} "
                f"(exit status {result.returncode}){detail}"
            )
        try:
            answer = jsonlimits.loads(result.stdout, what="the helper's answer")
        except jsonlimits.InvalidJSON:
            answer = None
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("Username"), str)
            or not isinstance(answer.get("Secret"), str)
        ):
            # Never quote the output: a half-broken helper may have printed the secret.
            raise HoisterError(
                f"the credential helper {program} gave an answer Hoister cannot read for "
                f"{server} (expected JSON with 'Username' and 'Secret')"
            )
        if not answer["Secret"]:
            return None
        username = answer["Username"] or TOKEN_USERNAME
        kind: SecretKind = "identitytoken" if username == TOKEN_USERNAME else "password"
        return Credential(username, answer["Secret"], kind=kind, source=program)

    def _inline(self, key: str, entry: Any) -> Credential | None:
        if not isinstance(entry, dict):
            raise self._broken(f"has an 'auths' entry for {key!r} that is not a JSON object")
        username = entry.get("username") or None
        password = entry.get("password") or None
        encoded = entry.get("auth")
        if encoded:
            try:
                decoded = base64.b64decode(str(encoded), validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                decoded = ""
            user, colon, secret = decoded.partition(":")
            if not colon or not user:
                raise self._broken(
                    f"has an 'auth' value for {key!r} that is not base64 of 'user:password'"
                )
            username, password = user, secret
        token = entry.get("identitytoken")
        if isinstance(token, str) and token:
            return Credential(
                str(username or TOKEN_USERNAME), token, kind="identitytoken", source=FILE_SOURCE
            )
        if isinstance(username, str) and isinstance(password, str) and password:
            kind: SecretKind = "identitytoken" if username == TOKEN_USERNAME else "password"
            return Credential(username, password, kind=kind, source=FILE_SOURCE)
        return None
