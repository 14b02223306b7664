"""The command-line contract against real registries: output, exit status, no secrets."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hoister import __version__
from tests.conftest import MemoryKeyring
from tests.support.fixtures import TokenRegistry
from tests.support.images import build_image, build_index, push_image
from tests.support.registry import RegistryServer

ROOT = Path(__file__).resolve().parents[1]


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        cli("--version")
    assert exited.value.code == 0


def test_profile_add_verifies_and_keeps_the_password_in_the_keyring(
    cli, basic_registry: RegistryServer, memory_keyring: MemoryKeyring, hoister_home: Path
) -> None:
    password = basic_registry.users["alice"]
    code, out, err = cli(
        "profile",
        "add",
        "local",
        "--url",
        basic_registry.url,
        "--username",
        "alice",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert code == 0, err
    assert f"connected to {basic_registry.host} as alice" in err
    key = f"profile:local/{basic_registry.host}/alice"
    assert memory_keyring.entries == {("hoister", key): password}
    code, out, _ = cli("profile", "list", "--json")
    assert json.loads(out) == [
        {
            "name": "local",
            "url": basic_registry.url,
            "username": "alice",
            "insecure": False,
            "caFile": None,
            "repositories": [],
        }
    ]
    saved = (hoister_home / "config" / "profiles.json").read_text()
    assert password not in saved
    code, out, _ = cli("profile", "remove", "local")
    assert code == 0
    assert memory_keyring.entries == {}


def test_profile_add_with_a_wrong_password_saves_nothing(
    cli, basic_registry: RegistryServer, memory_keyring: MemoryKeyring, hoister_home: Path
) -> None:
    code, _, err = cli(
        "profile",
        "add",
        "local",
        "--url",
        basic_registry.url,
        "--username",
        "alice",
        "--password-stdin",
        stdin="nope",
    )
    assert code == 1
    assert "refused user alice" in err
    assert not (hoister_home / "config" / "profiles.json").exists()
    assert memory_keyring.entries == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "ftp://registry.example.com"], "ftp"),
        (["--url", "https://alice:pw@registry.example.com"], "--username"),
        (["--url", "https://registry.example.com", "--password-stdin"], "needs --username"),
        (["--url", "https://registry.example.com:99999"], "port"),
    ],
)
def test_profile_add_rejects_bad_input(cli, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("profile", "add", "x", *argv, stdin="pw")
    assert code == 2
    assert message in err


def test_unreachable_registry_is_one_clear_line(cli) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("profile", "add", "gone", "--url", "http://127.0.0.1:9")
    assert code == 1
    assert "Nothing is listening on 127.0.0.1:9" in err
    assert "Errno" not in err
    assert len(err.strip().splitlines()) == 1


def _add_anonymous(cli, server: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("profile", "add", "local", "--url", server.url)
    assert code == 0, err


def test_repos_tags_and_inspect(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    amd = build_image(seed=50, labels={"org.opencontainers.image.title": "website"})
    arm = build_image(seed=51, platform=("linux", "arm64"))
    index = build_index([amd, arm])
    push_image(registry.url, "dev/website", "1.4-stable", index)
    push_image(registry.url, "dev/website", "1.3", amd)
    push_image(registry.url, "qa/website", "20261130", amd)
    _add_anonymous(cli, registry)

    code, out, _ = cli("repos", "--profile", "local", "--json")
    assert (code, json.loads(out)) == (0, ["dev/website", "qa/website"])
    code, out, _ = cli("tags", "dev/website", "--profile", "local")
    assert (code, out.split()) == (0, ["1.3", "1.4-stable"])

    code, out, _ = cli("inspect", "dev/website:1.4-stable", "--profile", "local", "--json")
    info = json.loads(out)
    assert info["digest"] == index.digest
    assert [m["platform"] for m in info["manifests"]] == ["linux/amd64", "linux/arm64"]
    assert info["manifests"][0]["labels"] == {"org.opencontainers.image.title": "website"}
    assert info["referrers"] == []

    code, out, _ = cli("inspect", "dev/website:1.3", "--profile", "local")
    assert code == 0
    assert f"digest      {amd.digest}" in out
    assert "label       org.opencontainers.image.title=website" in out


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["tags", "dev/nothing", "--profile", "local"], 1, "NAME_UNKNOWN"),
        (["inspect", "Dev/Website:1", "--profile", "local"], 2, "lower case"),
        (["inspect", "dev/website:bad tag", "--profile", "local"], 2, "' ' at position 4"),
        (["tags", "dev/website", "--profile", "nope"], 1, "no profile named 'nope'"),
    ],
)
def test_errors_have_status_and_message(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer, argv: list[str], status: int, message: str
) -> None:
    _add_anonymous(cli, registry)
    code, _, err = cli(*argv)
    assert code == status
    assert message in err


def test_docker_login_is_used_without_typing_anything(  # type: ignore[no-untyped-def]
    cli, basic_registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docker = tmp_path / "docker"
    docker.mkdir()
    auth = base64.b64encode(f"alice:{basic_registry.users['alice']}".encode()).decode()
    (docker / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": auth}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(docker))
    code, _, err = cli("profile", "add", "local", "--url", basic_registry.url)
    assert code == 0, err
    assert "as alice" in err
    push_image(
        basic_registry.url,
        "dev/app",
        "1",
        build_image(seed=52),
        auth=("alice", basic_registry.users["alice"]),
    )
    code, out, _ = cli("repos", "--profile", "local")
    assert out.split() == ["dev/app"]


def test_no_secret_reaches_logs_or_files(  # type: ignore[no-untyped-def]
    cli, token_registry: TokenRegistry, hoister_home: Path
) -> None:
    reg, tokens = token_registry.registry, token_registry.tokens
    password = token_registry.users["alice"]
    code, _, err = cli(
        "-v",
        "profile",
        "add",
        "corp",
        "--url",
        reg.url,
        "--username",
        "alice",
        "--password-stdin",
        stdin=password,
    )
    assert code == 0, err
    cli("-v", "repos", "--profile", "corp")
    cli("-v", "tags", "dev/none", "--profile", "corp")
    code, _, err = cli(
        "-v",
        "profile",
        "add",
        "bad",
        "--url",
        reg.url,
        "--username",
        "alice",
        "--password-stdin",
        stdin="wrong-" + password,
    )
    assert code == 1
    assert tokens.issued, "the token flow was exercised"
    secrets = [password, "wrong-" + password, *tokens.issued]
    basic = base64.b64encode(f"alice:{password}".encode()).decode()
    secrets.append(basic)
    files = [p for p in hoister_home.rglob("*") if p.is_file()]
    assert any(p.name == "hoister.log" for p in files)
    assert (hoister_home / "logs" / "hoister.log").read_text().count("GET") > 0
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, f"a secret leaked into {path}"
    assert not any(s in err for s in secrets)


def test_entry_point_runs_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hoister", "tags", "dev/website", "--profile", "nope"],
        capture_output=True,
        text=True,
        cwd=ROOT / "app",
        timeout=60,
        env={"HOISTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert result.stderr.startswith("hoister: no profile named 'nope'")
    assert "Traceback" not in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "hoister", "tags"],
        capture_output=True,
        text=True,
        cwd=ROOT / "app",
        timeout=60,
        env={"HOISTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert bad.returncode == 2
    assert "the following arguments are required" in bad.stderr
    version = subprocess.run(
        [sys.executable, "-m", "hoister", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT / "app",
        timeout=60,
        env={"HOISTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert version.stdout.strip() == f"hoister {__version__}"
