"""The command line says what happened: promotion outcomes, closed pipes, no "None".

Against real registries; the one fault a registry cannot produce on demand, a target
that does not answer, is a profile whose URL is a loopback port nobody listens on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hoister.engine.routes import manual_route
from hoister.paths import default_paths
from hoister.policies import OverwriteMode
from hoister.registry.identity import registry_identity
from hoister.store import Database
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.queue import QueueStore
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def database() -> Iterator[Database]:
    db = Database.open(default_paths().ensure().database)
    yield db
    db.close()


def _local(cli, server: RegistryServer, name: str = "local") -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("profile", "add", name, "--url", server.url)
    assert code == 0, err


# -- promote -----------------------------------------------------------------------------


def test_promote_to_an_unreachable_target_is_queued_for_retry(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer, database: Database
) -> None:
    _local(cli, registry)
    port = _closed_port()
    code, _, err = cli("profile", "add", "gone", "--url", f"http://127.0.0.1:{port}", "--no-verify")
    assert code == 0, err
    image = build_image(seed=70)
    push_image(registry.url, "dev/website", "1.2", image)

    code, out, err = cli(
        "promote", "dev/website:1.2", "qa/website:1.2", "--profile", "local",
        "--target-profile", "gone",
    )  # fmt: skip

    assert code == 75, err
    assert out == ""
    assert err.startswith("hoister: queued for retry: ")
    assert f"127.0.0.1:{port}" in err
    assert "the agent (`hoister run`) retries it" in err
    assert "promoted" not in err and "internal error" not in err
    with QueueStore(database) as queue:
        [entry] = queue.entries()
    assert entry.state == "pending"
    assert (entry.target_profile, entry.target_tag, entry.attempts) == ("gone", "1.2", 1)
    assert entry.last_error and f"127.0.0.1:{port}" in entry.last_error
    code, out, _ = cli("history", "--json")
    assert (code, json.loads(out)) == (0, [])

    code, _, err = cli(
        "promote", "dev/website:1.2", "qa/website:1.3", "--profile", "local",
        "--target-profile", "gone", "--overwrite", "backup", "--no-provenance",
    )  # fmt: skip
    assert code == 75
    assert "retries it with backoff, with the same options" in err
    with QueueStore(database) as queue:
        retry = queue.entries()[-1]
    route = manual_route(retry.manual_options)  # what the agent's retry will do
    assert (route.overwrite, route.copy_referrers, route.record_provenance) == (
        OverwriteMode.BACKUP,
        True,
        False,
    )


def test_promote_failure_for_good_says_why(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer, basic_registry: RegistryServer, database: Database
) -> None:
    _local(cli, registry)
    code, _, err = cli(
        "profile", "add", "locked", "--url", basic_registry.url, "--username", "alice",
        "--password-stdin", "--no-verify", stdin="not-the-password",
    )  # fmt: skip
    assert code == 0, err
    push_image(registry.url, "dev/website", "1.2", build_image(seed=71))

    code, out, err = cli(
        "promote", "dev/website:1.2", "qa/website:1.2", "--profile", "local",
        "--target-profile", "locked",
    )  # fmt: skip

    assert code == 1
    assert out == ""
    assert err.startswith("hoister: promotion of dev/website:1.2 to qa/website:1.2 failed: ")
    assert "alice" in err
    with QueueStore(database) as queue:
        assert [e.state for e in queue.entries()] == ["failed"]
    _, out, _ = cli("history", "--json")
    assert [row["outcome"] for row in json.loads(out)] == ["failed"]


def test_promote_outcomes_read_this_entry_not_the_newest_row(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer, database: Database
) -> None:
    _local(cli, registry)
    image = build_image(seed=72)
    push_image(registry.url, "dev/website", "1.2", image)
    push_image(registry.url, "qa/website", "taken", build_image(seed=73))
    with HistoryStore(database) as history:  # an agent's row, newer than nothing of ours
        history.add(_row(outcome="failed", reason="an unrelated failure"))

    code, out, err = cli("promote", "dev/website:1.2", "qa/website:new", "--profile", "local")
    assert code == 0, err
    assert out == f"promoted dev/website:1.2 -> qa/website:new ({image.digest})\n"

    code, out, err = cli("promote", "dev/website:1.2", "qa/website:new", "--profile", "local")
    assert (code, out) == (0, f"qa/website:new already is {image.digest}; nothing to do\n")

    code, out, err = cli("promote", "dev/website:1.2", "qa/website:taken", "--profile", "local")
    assert (code, out) == (1, "")
    assert err.startswith("hoister: skipped: target tag qa/website:taken exists")
    assert "unrelated" not in err


def test_promote_help_text(capsys: pytest.CaptureFixture[str]) -> None:
    from hoister.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["promote", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    for line in ("0   promoted", "1   skipped", "2   bad usage", "75  queued for retry"):
        assert line in out


# -- history -----------------------------------------------------------------------------


def _row(**changes: object) -> HistoryRow:
    when = datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)
    values: dict[str, object] = {
        "policy_id": None,
        "policy_name": "stable to QA",
        "source_profile": "local",
        "source_repository": "dev/website",
        "source_tag": "1.4-stable",
        "source_digest": "sha256:" + "a" * 64,
        "target_profile": "local",
        "target_repository": "qa/website",
        "target_tag": "1.4-stable-qa",
        "outcome": "promoted",
        "reason": "promoted",
        "started_at": when,
        "finished_at": when,
    }
    values.update(changes)
    return HistoryRow(**values)  # type: ignore[arg-type]


def test_history_never_prints_none(cli, database: Database) -> None:  # type: ignore[no-untyped-def]
    with HistoryStore(database) as history:
        history.add(
            _row(outcome="matched", reason="", target_tag=None, source_digest=None, source_tag=None)
        )
    code, out, _ = cli("history")
    assert code == 0
    assert "None" not in out
    [_, line] = out.splitlines()
    assert "dev/website -> qa/website " in line
    assert line.split()[:3] == ["2026-11-30T09:05:03+00:00", "matched", "stable"]
    code, out, _ = cli("history", "--json")
    [row] = json.loads(out)
    assert (row["target_tag"], row["source_digest"], row["source_tag"]) == (None, None, None)


# -- closed pipes ------------------------------------------------------------------------


def _env(home: Path) -> dict[str, str]:
    return {
        "HOISTER_HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "app"),
        "DOCKER_CONFIG": str(home / "docker"),
    }


def test_history_into_head_is_silent(  # type: ignore[no-untyped-def]
    database: Database, hoister_home: Path
) -> None:
    # More than a pipe holds (64 KiB), so hoister is still writing when head exits.
    with HistoryStore(database) as history:
        for n in range(1500):
            history.add(_row(reason=f"promoted build {n} " + "x" * 60))
    hoister = f"{sys.executable} -m hoister"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{hoister} history --limit 1500 | head -1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(hoister_home),
    )
    assert result.stdout.startswith("TIME")
    assert len(result.stdout.splitlines()) == 1
    assert result.stderr == ""
    assert result.returncode == 141  # 128 + SIGPIPE, as for any tool stopped by the pipe


@pytest.mark.parametrize("json_output", [False, True])
def test_tags_into_a_closed_pipe_is_silent(  # type: ignore[no-untyped-def]
    cli, registry: RegistryServer, hoister_home: Path, json_output: bool
) -> None:
    _local(cli, registry)
    push_image(registry.url, "dev/website", "1.0", build_image(seed=74))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write fails
    try:
        result = subprocess.run(
            [sys.executable, "-m", "hoister", "tags", "dev/website", "--profile", "local"]
            + (["--json"] if json_output else []),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=_env(hoister_home),
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141


# -- profile list, tags, inspect ---------------------------------------------------------


def test_profile_list_says_how_each_connection_is_protected(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ca = tmp_path / "lab-ca.pem"
    for argv in (
        ["plain", "--url", "http://127.0.0.1:5000"],
        ["public", "--url", "https://registry.example.com"],
        ["test", "--url", "https://test.example.com", "--insecure"],
        ["lab", "--url", "https://lab.example.com", "--ca-file", str(ca)],
    ):
        assert cli("profile", "add", *argv, "--no-verify")[0] == 0
    code, out, _ = cli("profile", "list")
    assert code == 0
    tls = {line.split()[0]: line.split(maxsplit=3)[3] for line in out.splitlines()[1:]}
    assert tls == {
        "lab": f"TLS verified with CA {ca}",
        "plain": "plain HTTP",
        "public": "TLS verified",
        "test": "TLS not verified (--insecure)",
    }


def test_tags_hide_internal_tags_unless_all(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    _local(cli, registry)
    image = build_image(seed=75)
    push_image(registry.url, "dev/website", "1.2", image)
    # Provenance on a registry without the referrers API adds a sha256-<hex> index tag.
    assert cli("promote", "dev/website:1.2", "qa/website:1.2", "--profile", "local")[0] == 0
    fallback = "sha256-" + image.digest.removeprefix("sha256:")

    code, out, err = cli("tags", "qa/website", "--profile", "local")
    assert (code, out.split()) == (0, ["1.2"])
    assert "1 internal tag (referrers, signatures, backups) not shown; --all lists them" in err
    code, out, _ = cli("tags", "qa/website", "--profile", "local", "--json")
    assert json.loads(out) == ["1.2"]
    code, out, err = cli("tags", "qa/website", "--profile", "local", "--all")
    assert sorted(out.split()) == ["1.2", fallback]
    assert err == ""
    code, out, _ = cli("tags", "qa/website", "--profile", "local", "--all", "--json")
    assert sorted(json.loads(out)) == ["1.2", fallback]


def test_inspect_says_where_a_promoted_image_came_from(cli, registry: RegistryServer) -> None:  # type: ignore[no-untyped-def]
    _local(cli, registry)
    image = build_image(seed=76)
    push_image(registry.url, "dev/website", "1.2", image)
    assert cli("promote", "dev/website:1.2", "qa/website:1.2-qa", "--profile", "local")[0] == 0

    code, out, _ = cli("inspect", "qa/website:1.2-qa", "--profile", "local", "--json")
    assert code == 0
    [record] = json.loads(out)["provenance"]
    # The registry by its identity: every loopback name is one ("localhost").
    assert record["sourceRegistry"] == registry_identity(registry.url)
    assert (record["sourceRepository"], record["sourceTag"]) == ("dev/website", "1.2")
    assert (record["sourceDigest"], record["targetTag"]) == (image.digest, "1.2-qa")
    assert record["policyName"] == "manual promotion" and record["policyId"] is None

    code, out, _ = cli("inspect", "qa/website:1.2-qa", "--profile", "local")
    [line] = [line.strip() for line in out.splitlines() if "promoted from" in line]
    when = record["promotedAt"][:19].replace("T", " ")
    assert line == (
        f"promoted from {registry_identity(registry.url)}/dev/website:1.2 ({image.digest}) "
        "by hand "
        f"on {when} UTC by {record['promotedBy']}"
    )

    code, out, _ = cli("inspect", "dev/website:1.2", "--profile", "local")
    assert code == 0 and "promoted from" not in out
    code, out, _ = cli("inspect", "dev/website:1.2", "--profile", "local", "--json")
    assert json.loads(out)["provenance"] == []
