"""DockerConfig: every way `docker login` records a login, with real credential helpers.

The helpers are real executables on PATH speaking Docker's protocol (server URL on
standard input, JSON on standard output), so the process handling - lookup on PATH,
timeouts, killing a hung helper and its children - is exercised for real.
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hoister.credentials import Credential, DockerConfig
from hoister.credentials.dockerconfig import DEFAULT_HELPER_TIMEOUT, HelperResult
from hoister.errors import HoisterError

SECRET = "pa55:w0rd-Secret"
HOST = "registry.example.com:5000"

_STORE_HELPER = """#!{python}
import json, os, sys
server = sys.stdin.read().strip()
with open({log!r}, "a") as log:
    log.write(os.path.basename(sys.argv[0]) + " " + " ".join(sys.argv[1:]) + " " + server + "\\n")
if sys.argv[1:] != ["get"]:
    sys.exit(2)
entry = json.loads(open({store!r}).read()).get(server)
if entry is None:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps({{"ServerURL": server, "Username": entry[0], "Secret": entry[1]}}))
"""


@dataclass
class Helpers:
    """Installs docker-credential-* programs into a folder at the front of PATH."""

    folder: Path

    def _write(self, name: str, text: str) -> Path:
        program = self.folder / f"docker-credential-{name}"
        program.write_text(text)
        program.chmod(0o755)
        return program

    def store(self, name: str, entries: Mapping[str, tuple[str, str]]) -> None:
        """A helper that answers from ``entries`` (server URL -> (user, secret))."""
        data = self.folder / f"{name}.json"
        data.write_text(json.dumps(dict(entries)))
        log = self.folder / "calls.log"
        self._write(
            name, _STORE_HELPER.format(python=sys.executable, log=str(log), store=str(data))
        )

    def script(self, name: str, body: str) -> None:
        self._write(name, "#!/bin/sh\n" + body)

    def calls(self) -> list[str]:
        log = self.folder / "calls.log"
        return log.read_text().splitlines() if log.exists() else []


@pytest.fixture
def helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Helpers:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', os.defpath)}")
    return Helpers(folder)


def _config(tmp_path: Path, document: Any, **kwargs: Any) -> DockerConfig:
    path = tmp_path / "docker" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return DockerConfig(path, **kwargs)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- file locations and file problems ------------------------------------------------


def test_default_path_follows_docker_config_then_home(tmp_path: Path) -> None:
    assert DockerConfig(environ={"DOCKER_CONFIG": str(tmp_path)}).path == tmp_path / "config.json"
    expected = tmp_path / ".docker" / "config.json"
    assert DockerConfig(environ={"HOME": str(tmp_path)}).path == expected
    assert DockerConfig().helper_timeout == DEFAULT_HELPER_TIMEOUT == 10


def test_default_path_uses_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", "/somewhere/docker")
    assert DockerConfig().path == Path("/somewhere/docker/config.json")


def test_missing_file_means_no_login(tmp_path: Path) -> None:
    config = DockerConfig(tmp_path / "absent" / "config.json")
    assert config.lookup(HOST) is None
    assert config.hosts() == []


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ('{"auths": {"r.example.com": {"password": "' + SECRET + '"', "is not valid JSON"),
        ("[1, 2]", "does not hold a JSON object"),
        ({"auths": ["r.example.com"]}, "'auths' that is not a JSON object"),
        ({"credHelpers": "ecr-login"}, "'credHelpers' that is not a JSON object"),
        ({"credsStore": 7}, "'credsStore' that is not text"),
        ({"auths": {HOST: "x"}}, f"entry for '{HOST}' that is not a JSON object"),
        ({"auths": {HOST: {"auth": "!!not base64!!"}}}, "not base64 of 'user:password'"),
        ({"auths": {HOST: {"auth": _b64("no-colon-here")}}}, "not base64 of 'user:password'"),
    ],
)
def test_malformed_file_names_the_file(tmp_path: Path, document: Any, problem: str) -> None:
    config = _config(tmp_path, document)
    with pytest.raises(HoisterError) as caught:
        config.lookup(HOST)
    message = str(caught.value)
    assert str(config.path) in message
    assert problem in message
    assert SECRET not in message


def test_empty_file_has_no_logins(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    assert config.lookup(HOST) is None
    assert config.hosts() == []


# -- inline auths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        HOST,
        f"https://{HOST}",
        f"http://{HOST}",
        f"https://{HOST}/v1/",
        f"https://{HOST}/v2/",
        "Registry.Example.com:5000",
    ],
)
@pytest.mark.parametrize("asked", [HOST, f"https://{HOST}"])
def test_auths_key_forms(tmp_path: Path, key: str, asked: str) -> None:
    config = _config(tmp_path, {"auths": {key: {"auth": _b64(f"alice:{SECRET}")}}})
    assert config.lookup(asked) == Credential("alice", SECRET, source="docker config.json")
    assert config.lookup("registry.example.com") is None  # the port is part of the identity
    assert config.lookup("other.example.com:5000") is None


@pytest.mark.parametrize(
    "key", ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"]
)
@pytest.mark.parametrize("asked", ["registry-1.docker.io", "docker.io", "index.docker.io"])
def test_docker_hub_names(tmp_path: Path, key: str, asked: str) -> None:
    config = _config(tmp_path, {"auths": {key: {"auth": _b64(f"hubuser:{SECRET}")}}})
    credential = config.lookup(asked)
    assert credential is not None
    assert (credential.username, credential.secret) == ("hubuser", SECRET)


def test_auth_splits_at_the_first_colon(tmp_path: Path) -> None:
    config = _config(tmp_path, {"auths": {HOST: {"auth": _b64(f"alice:{SECRET}")}}})
    credential = config.lookup(HOST)
    assert credential is not None
    assert credential.secret == SECRET  # the secret itself contains ':'
    assert credential.kind == "password"


def test_username_and_password_fields(tmp_path: Path) -> None:
    config = _config(tmp_path, {"auths": {HOST: {"username": "bob", "password": SECRET}}})
    assert config.lookup(HOST) == Credential("bob", SECRET, source="docker config.json")


@pytest.mark.parametrize(
    ("entry", "username"),
    [
        ({"identitytoken": "tok-123"}, "<token>"),
        ({"auth": _b64("<token>:"), "identitytoken": "tok-123"}, "<token>"),
        ({"username": "carol", "identitytoken": "tok-123"}, "carol"),
        ({"auth": _b64("carol:old-password"), "identitytoken": "tok-123"}, "carol"),
    ],
)
def test_identity_token(tmp_path: Path, entry: dict[str, str], username: str) -> None:
    config = _config(tmp_path, {"auths": {HOST: entry}})
    credential = config.lookup(HOST)
    expected = Credential(username, "tok-123", kind="identitytoken", source="docker config.json")
    assert credential == expected


def test_entries_without_a_secret_are_no_login(tmp_path: Path) -> None:
    config = _config(tmp_path, {"auths": {HOST: {}, "b.example.com": {"username": "x"}}})
    assert config.lookup(HOST) is None
    assert config.lookup("b.example.com") is None


def test_hosts_lists_every_registry_once(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {},
                f"https://{HOST}": {"auth": _b64("a:b")},
                f"http://{HOST}": {},
                "ghcr.io": {},
            },
            "credHelpers": {"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login", "ghcr.io": "gh"},
        },
    )
    assert config.hosts() == ["123.dkr.ecr.eu-west-1.amazonaws.com", "docker.io", "ghcr.io", HOST]


# -- credential helpers ---------------------------------------------------------------


def test_creds_store_helper(tmp_path: Path, helpers: Helpers) -> None:
    helpers.store("hoistertest", {HOST: ("alice", SECRET)})
    config = _config(tmp_path, {"auths": {HOST: {}}, "credsStore": "hoistertest"})
    credential = config.lookup(HOST)
    assert credential == Credential("alice", SECRET, source="docker-credential-hoistertest")
    assert helpers.calls() == [f"docker-credential-hoistertest get {HOST}"]


def test_helper_is_asked_with_the_auths_key_first(tmp_path: Path, helpers: Helpers) -> None:
    helpers.store("hoistertest", {f"https://{HOST}": ("alice", SECRET)})
    config = _config(tmp_path, {"auths": {f"https://{HOST}": {}}, "credsStore": "hoistertest"})
    assert config.lookup(HOST) is not None
    assert helpers.calls() == [f"docker-credential-hoistertest get https://{HOST}"]


def test_helper_for_docker_hub_gets_the_legacy_url(tmp_path: Path, helpers: Helpers) -> None:
    helpers.store("hoistertest", {"https://index.docker.io/v1/": ("hubuser", SECRET)})
    config = _config(tmp_path, {"credsStore": "hoistertest"})
    credential = config.lookup("registry-1.docker.io")
    assert credential is not None and credential.username == "hubuser"
    assert helpers.calls() == ["docker-credential-hoistertest get https://index.docker.io/v1/"]


def test_helper_not_found_falls_back_to_inline_then_none(tmp_path: Path, helpers: Helpers) -> None:
    helpers.store("hoistertest", {})
    config = _config(
        tmp_path,
        {"auths": {"old.example.com": {"auth": _b64("dave:pw")}}, "credsStore": "hoistertest"},
    )
    assert config.lookup(HOST) is None
    assert helpers.calls() == [
        f"docker-credential-hoistertest get {HOST}",
        f"docker-credential-hoistertest get https://{HOST}",
    ]
    credential = config.lookup("old.example.com")
    assert credential is not None and credential.source == "docker config.json"


def test_cred_helpers_beat_creds_store(tmp_path: Path, helpers: Helpers) -> None:
    helpers.store("hoistertest", {HOST: ("store-user", "store-secret")})
    helpers.store("hoisterother", {HOST: ("helper-user", SECRET)})
    config = _config(
        tmp_path,
        {
            "auths": {HOST: {"auth": _b64("inline-user:inline")}},
            "credsStore": "hoistertest",
            "credHelpers": {HOST: "hoisterother"},
        },
    )
    credential = config.lookup(HOST)
    assert credential == Credential("helper-user", SECRET, source="docker-credential-hoisterother")
    assert helpers.calls() == [f"docker-credential-hoisterother get {HOST}"]


def test_helper_token_username_means_identity_token(tmp_path: Path, helpers: Helpers) -> None:
    helpers.store("hoistertest", {HOST: ("<token>", "refresh-token")})
    config = _config(tmp_path, {"credHelpers": {HOST: "hoistertest"}})
    credential = config.lookup(HOST)
    assert credential is not None
    assert (credential.username, credential.kind) == ("<token>", "identitytoken")


def test_missing_helper(tmp_path: Path, helpers: Helpers) -> None:
    config = _config(tmp_path, {"credsStore": "hoistermissing"})
    with pytest.raises(HoisterError) as caught:
        config.lookup(HOST)
    message = str(caught.value)
    assert "docker-credential-hoistermissing" in message
    assert "not installed" in message
    assert str(config.path) in message


def _ends_soon(pid: int) -> bool:
    """True if ``pid`` has exited or exits within seconds (waits on a pidfd, no polling).

    A SIGKILLed grandchild closes its pipes a moment before it is fully gone, so
    checking "is it still there?" right away would race with the kernel.
    """
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([handle], [], [], 10)
        return bool(readable)
    finally:
        os.close(handle)


def test_hanging_helper_times_out_and_is_killed_with_its_children(
    tmp_path: Path, helpers: Helpers
) -> None:
    pids = tmp_path / "hang.pids"
    # The helper starts a child, as wrappers like `pass` -> gpg do, and waits forever.
    helpers.script("hoisterhang", f"sleep 86399 &\necho $$ $! > {pids}\nwait\n")
    config = _config(tmp_path, {"credsStore": "hoisterhang"}, helper_timeout=1.0)
    with pytest.raises(HoisterError) as caught:
        config.lookup(HOST)
    message = str(caught.value)
    assert "docker-credential-hoisterhang did not answer within 1 seconds" in message
    started = [int(pid) for pid in pids.read_text().split()]
    assert len(started) == 2
    assert all(_ends_soon(pid) for pid in started)


def test_garbage_output(tmp_path: Path, helpers: Helpers) -> None:
    helpers.script("hoistergarbage", "cat >/dev/null\necho 'this is not json {'\n")
    config = _config(tmp_path, {"credsStore": "hoistergarbage"})
    with pytest.raises(HoisterError) as caught:
        config.lookup(HOST)
    message = str(caught.value)
    assert "docker-credential-hoistergarbage" in message
    assert "cannot read" in message
    assert "this is not json" not in message


@pytest.mark.parametrize(
    "output",
    [
        '{"ServerURL": "x", "Username": "alice", "Secret": "' + SECRET,
        '{"ServerURL": "x", "Username": "alice"}',
        '["alice", "' + SECRET + '"]',
    ],
)
def test_half_broken_output_never_leaks_the_secret(
    tmp_path: Path, helpers: Helpers, output: str
) -> None:
    (tmp_path / "out.txt").write_text(output)
    helpers.script("hoisterbroken", f"cat >/dev/null\ncat {tmp_path / 'out.txt'}\n")
    config = _config(tmp_path, {"credsStore": "hoisterbroken"})
    with pytest.raises(HoisterError) as caught:
        config.lookup(HOST)
    assert "docker-credential-hoisterbroken" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_failing_helper_reports_its_message(tmp_path: Path, helpers: Helpers) -> None:
    helpers.script(
        "hoisterfail", "cat >/dev/null\necho 'gpg: decryption failed: No secret key' >&2\nexit 3\n"
    )
    config = _config(tmp_path, {"credHelpers": {HOST: "hoisterfail"}})
    with pytest.raises(HoisterError) as caught:
        config.lookup(HOST)
    message = str(caught.value)
    assert "docker-credential-hoisterfail failed" in message
    assert "exit status 3" in message
    assert "decryption failed" in message


def test_injected_runner_gets_argv_stdin_timeout_and_env(tmp_path: Path, helpers: Helpers) -> None:
    helpers.script("hoisterfake", "exit 99\n")  # must exist on PATH; never run
    seen: list[tuple[list[str], str, float, Mapping[str, str] | None]] = []

    def runner(
        argv: Sequence[str], stdin_text: str, timeout: float, env: Mapping[str, str] | None
    ) -> HelperResult:
        seen.append((list(argv), stdin_text, timeout, env))
        answer = {"ServerURL": stdin_text, "Username": "eve", "Secret": SECRET}
        return HelperResult(0, json.dumps(answer), "")

    environ = {"PATH": str(helpers.folder), "HOME": str(tmp_path)}
    config = _config(
        tmp_path, {"credsStore": "hoisterfake"}, environ=environ, runner=runner, helper_timeout=3
    )
    assert config.lookup(HOST) == Credential("eve", SECRET, source="docker-credential-hoisterfake")
    [(argv, stdin_text, timeout, env)] = seen
    assert argv == [str(helpers.folder / "docker-credential-hoisterfake"), "get"]
    assert (stdin_text, timeout, env) == (HOST, 3, environ)


def test_no_helper_process_is_left_running(tmp_path: Path, helpers: Helpers) -> None:
    helpers.store("hoistertest", {HOST: ("alice", SECRET)})
    config = _config(tmp_path, {"credsStore": "hoistertest"})
    config.lookup(HOST)
    found = subprocess.run(
        ["pgrep", "-f", str(helpers.folder)], capture_output=True, text=True, check=False
    )
    assert found.stdout == ""
