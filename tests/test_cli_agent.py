"""``hoister run``, ``promote``, ``history`` and ``policy test``, in process and as processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoister.registry import RegistryClient
from tests.support.fixtures import RegistryFactory
from tests.support.images import Blob, Image, build_image, push_image, skopeo_inspect
from tests.support.registry import RegistryServer

ROOT = Path(__file__).resolve().parents[1]


def _seed(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    assert cli("profile", "add", "local", "--url", registry.url)[0] == 0
    code, _, err = cli(
        "policy",
        "add",
        "--profile",
        "local",
        "--source",
        "dev/website",
        "--target",
        "qa/website",
        "--rule",
        "tag ew stable",
        "--template",
        "%n-qa",
        "--name",
        "stable to QA",
    )
    assert code == 0, err


def test_run_once_promotes_and_history_shows_it(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    _seed(cli, registry)
    assert cli("run", "--once")[0] == 0  # baseline of an empty repository
    image = build_image(seed=30)
    push_image(registry.url, "dev/website", "1.1-stable", image)
    push_image(registry.url, "dev/website", "1.0", build_image(seed=31))
    code, _, err = cli("run", "--once")
    assert code == 0, err
    assert "promoted dev/website:1.1-stable -> qa/website:1.1-stable-qa" in err
    info = skopeo_inspect(registry.host, "qa/website", "1.1-stable-qa")
    assert isinstance(info, dict) and info["Digest"] == image.digest
    code, out, _ = cli("history", "--json")
    rows = json.loads(out)
    assert [r["outcome"] for r in rows] == ["promoted", "matched"]
    assert rows[0]["source_digest"] == image.digest
    code, out, _ = cli("history")
    assert "dev/website:1.1-stable -> qa/website:1.1-stable-qa" in out
    header, promoted = out.splitlines()[:2]
    assert "BY" in header.split()
    assert rows[0]["agent"] and rows[0]["agent"] in promoted.split()  # the engine that ran it


def test_run_once_with_parallel_and_http2_promotes_each_push_once(
    cli, registry: RegistryServer
) -> None:  # type: ignore[no-untyped-def]
    _seed(cli, registry)
    assert cli("run", "--once")[0] == 0
    images = {f"2.{n}-stable": build_image(seed=60 + n) for n in range(5)}
    for tag, image in images.items():
        push_image(registry.url, "dev/website", tag, image)
    code, _, err = cli("run", "--once", "--parallel", "2", "--http2")
    assert code == 0, err
    for tag, image in images.items():
        assert f"promoted dev/website:{tag} -> qa/website:{tag}-qa" in err
        info = skopeo_inspect(registry.host, "qa/website", f"{tag}-qa")
        assert isinstance(info, dict) and info["Digest"] == image.digest
    rows = json.loads(cli("history", "--json")[1])
    assert sum(1 for row in rows if row["outcome"] == "promoted") == 5


def test_policy_test_is_a_dry_run(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    _seed(cli, registry)
    push_image(registry.url, "dev/website", "1.0", build_image(seed=32))
    push_image(registry.url, "dev/website", "1.1-stable", build_image(seed=33))
    assert cli("policy", "test", "1", "--json")[0] == 0
    _, out, _ = cli("policy", "test", "1", "--json")
    rows = {row["tag"]: row for row in json.loads(out)}
    assert rows["1.1-stable"]["verdict"] == "held"
    assert rows["1.1-stable"]["targetTag"] == "1.1-stable-qa"
    assert rows["1.0"]["verdict"] == "failed"
    assert rows["1.0"]["rules"][0]["reason"] == "Tag name: '1.0', which does not end with 'stable'"
    _, out, err = cli("policy", "test", "1")
    assert "1.1-stable  promote  qa/website:1.1-stable-qa" in out
    assert "1 of 2 tags would be promoted (nothing was written)" in err
    with RegistryClient(registry.url) as client:
        assert "qa/website" not in list(client.catalog())


def test_policy_test_does_not_count_what_the_policy_promoted_before(
    cli, registry: RegistryServer
) -> None:  # type: ignore[no-untyped-def]
    _seed(cli, registry)
    assert cli("run", "--once")[0] == 0  # baseline of an empty repository
    push_image(registry.url, "dev/website", "1.1-stable", build_image(seed=36))
    assert cli("run", "--once")[0] == 0  # promoted once
    push_image(registry.url, "dev/website", "1.2-stable", build_image(seed=37))
    _, out, _ = cli("policy", "test", "1", "--json")
    rows = {row["tag"]: row for row in json.loads(out)}
    assert rows["1.1-stable"]["earlier"] == {
        "state": "done",
        "targetRepository": "qa/website",
        "targetTag": "1.1-stable-qa",
    }
    assert rows["1.2-stable"]["earlier"] is None
    _, out, err = cli("policy", "test", "1")
    assert "already promoted → qa/website:1.1-stable-qa" in out
    assert "1.2-stable  promote  qa/website:1.2-stable-qa" in out
    assert "1 of 2 tags would be promoted; 1 matched before, not promoted again" in err


def test_manual_promotion(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    _seed(cli, registry)
    image = build_image(seed=34)
    push_image(registry.url, "dev/website", "1.2", image)
    code, out, err = cli("promote", "dev/website:1.2", "qa/website", "--profile", "local")
    assert code == 0, err
    assert (
        out.strip() == f"promoted dev/website:1.2 -> qa/website:1.2-qa ({image.digest})"
    )  # the policy's template
    code, out, _ = cli("promote", "dev/website:1.2", "qa/website:hotfix", "--profile", "local")
    assert code == 0
    code, _, err = cli("promote", "dev/website:1.2", "qa/website:hotfix", "--profile", "local")
    assert code == 0  # the same digest is already there: nothing to do
    push_image(registry.url, "qa/website", "taken", build_image(seed=35))
    code, _, err = cli("promote", "dev/website:1.2", "qa/website:taken", "--profile", "local")
    assert code == 1 and "exists" in err
    code, _, err = cli("promote", "dev/website:nope", "qa/website", "--profile", "local")
    assert code == 1 and "does not exist" in err
    code, _, err = cli("promote", "dev/website", "qa/website", "--profile", "local")
    assert code == 2


def _agent_env(home: Path) -> dict[str, str]:
    return {
        "HOISTER_HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "app"),
        "DOCKER_CONFIG": str(home / "docker"),
    }


def _big_image(size: int) -> Image:
    """One large incompressible layer, so a copy takes long enough to be interrupted."""
    layer = Blob(os.urandom(size), "application/vnd.oci.image.layer.v1.tar+gzip")
    config = Blob(
        json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode(),
        "application/vnd.oci.image.config.v1+json",
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    return Image(json.dumps(manifest).encode(), manifest["mediaType"], [config, layer], {}, [])


@pytest.fixture
def agent_home(
    tmp_path: Path, registry_factory: RegistryFactory, cli
) -> Iterator[tuple[Path, RegistryServer, RegistryServer]]:  # type: ignore[no-untyped-def]
    source, target = registry_factory(), registry_factory()
    home = Path(os.environ["HOISTER_HOME"])
    assert cli("profile", "add", "build", "--url", source.url)[0] == 0
    assert cli("profile", "add", "release", "--url", target.url)[0] == 0
    code, _, err = cli(
        "policy",
        "add",
        "--profile",
        "build",
        "--source",
        "dev/app",
        "--target",
        "app",
        "--target-profile",
        "release",
        "--rule",
        "tag ew stable",
        "--template",
        "%n",
    )
    assert code == 0, err
    assert cli("run", "--once")[0] == 0
    yield home, source, target


def _start_agent(home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hoister", "run", *args],
        env=_agent_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_line(process: subprocess.Popen[str], needle: str) -> list[str]:
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"the agent exited without printing {needle!r}: {''.join(lines)}")


def test_agent_killed_mid_copy_resumes_and_promotes_once(agent_home) -> None:  # type: ignore[no-untyped-def]
    home, source, target = agent_home
    image = _big_image(96 * 1024 * 1024)
    push_image(source.url, "dev/app", "7.0-stable", image)
    agent = _start_agent(home, "--once")
    _wait_for_line(agent, "promoting dev/app:7.0-stable -> app:7.0-stable")
    agent.send_signal(signal.SIGKILL)
    agent.communicate(timeout=60)
    assert agent.returncode == -signal.SIGKILL
    with RegistryClient(target.url) as client:
        assert client.head_manifest("app", "7.0-stable") is None  # the tag is written last
    with sqlite3.connect(home / "data" / "hoister.db") as db:
        assert db.execute("select state from queue").fetchall() == [("running",)]
    db.close()

    again = subprocess.run(
        [sys.executable, "-m", "hoister", "run", "--once"],
        env=_agent_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    assert "resuming 1 interrupted promotion" in again.stderr
    info = skopeo_inspect(target.host, "app", "7.0-stable")
    assert isinstance(info, dict) and info["Digest"] == image.digest
    with sqlite3.connect(home / "data" / "hoister.db") as db:
        outcomes = db.execute("select outcome from history order by id").fetchall()
        states = db.execute("select state, attempts from queue").fetchall()
    db.close()
    assert outcomes == [("matched",), ("promoted",)]
    assert states == [("done", 2)]
    third = subprocess.run(
        [sys.executable, "-m", "hoister", "run", "--once"],
        env=_agent_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert third.returncode == 0 and "promoted" not in third.stderr.replace("0 promoted", "")


def test_agent_killed_with_several_copies_in_flight_resumes_each_once(agent_home) -> None:  # type: ignore[no-untyped-def]
    home, source, target = agent_home
    images = {f"8.{n}-stable": _big_image(32 * 1024 * 1024) for n in range(3)}
    for tag, image in images.items():
        push_image(source.url, "dev/app", tag, image)
    agent = _start_agent(home, "--once", "--parallel", "3")
    lines: list[str] = []
    for _ in images:  # all three started side by side before the kill
        lines += _wait_for_line(agent, "promoting dev/app:8.")
    agent.send_signal(signal.SIGKILL)
    agent.communicate(timeout=60)
    assert agent.returncode == -signal.SIGKILL
    started = {line.split("promoting ")[1].split()[0] for line in lines if "promoting dev" in line}
    assert len(started) == 3

    again = subprocess.run(
        [sys.executable, "-m", "hoister", "run", "--once", "--parallel", "3"],
        env=_agent_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    with RegistryClient(target.url) as client:
        for tag, image in images.items():
            assert client.head_manifest("app", tag).digest == image.digest
    with sqlite3.connect(home / "data" / "hoister.db") as db:
        promoted = db.execute(
            "select source_tag from history where outcome = 'promoted' order by source_tag"
        ).fetchall()
        states = db.execute("select distinct state from queue").fetchall()
    db.close()
    assert promoted == [(tag,) for tag in sorted(images)]  # each once, none lost
    assert states == [("done",)]


def test_agent_stops_cleanly_on_sigterm(agent_home) -> None:  # type: ignore[no-untyped-def]
    home, _, _ = agent_home
    agent = _start_agent(home, "--interval", "3600", "--listen", "127.0.0.1:0")
    _wait_for_line(agent, "poll cycle:")
    agent.send_signal(signal.SIGTERM)
    _, rest = agent.communicate(timeout=60)
    assert agent.returncode == 0, rest
    assert "received SIGTERM; stopping" in rest


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--listen", "nowhere"], "must be HOST:PORT"),
        (["run", "--listen", "0.0.0.0:0"], "without a shared secret"),
        (["run", "--interval", "0"], "positive"),
        (["run", "--parallel", "0"], "from 1 to 64"),
        (["run", "--parallel", "65"], "from 1 to 64"),
        (["history", "--limit", "0"], "positive"),
    ],
)
def test_agent_usage_errors(cli, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(*argv)
    assert code == 2
    assert message in err
