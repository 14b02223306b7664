"""``hoister store info`` and ``hoister store copy`` against real databases.

The source is this workstation's store on each backend in turn (its own SQLite file,
or a database named with ``--database``); the target is always a team database, a
second PostgreSQL database on the session's server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from hoister.paths import default_paths
from hoister.store import Database
from hoister.store.engines import EngineRegistry
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.queue import QueueEntry, QueueStore
from tests.support.postgres import PostgresServer

SECRET = "robot-pa55word"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def team(postgres_server: PostgresServer) -> Iterator[str]:
    """The team database: empty, not even migrated."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


class Source:
    """This workstation's store: the flag that names it (none for the default file)."""

    def __init__(self, database_url: str) -> None:
        self.sqlite = database_url.startswith("sqlite")
        self.flag = [] if self.sqlite else ["--database", database_url]
        self.location = str(default_paths().database) if self.sqlite else database_url

    def open(self) -> Database:
        return Database.open(self.location)


@pytest.fixture
def source(database_url: str) -> Source:
    return Source(database_url)


def _ok(cli: Cli, *argv: str, stdin: str | None = None) -> str:
    code, out, err = cli(*argv, stdin=stdin)
    assert code == 0, err
    return out


def _add_policy(cli: Cli, flag: list[str], source: str, target: str, name: str) -> None:
    _ok(
        cli,
        *flag,
        "policy",
        "add",
        "--profile",
        "local",
        "--source",
        source,
        "--target",
        target,
        "--template",
        "%n",
        "--name",
        name,
    )


def _row(policy_id: int | None, name: str, tag: str, minutes: int) -> HistoryRow:
    return HistoryRow(
        policy_id=policy_id,
        policy_name=name,
        source_profile="local",
        source_repository="dev/a",
        source_tag=tag,
        source_digest="sha256:" + tag.encode().hex().ljust(64, "0"),
        target_profile="local",
        target_repository="qa/a",
        target_tag=tag,
        outcome="promoted",
        reason="",
        started_at=T0 + timedelta(minutes=minutes),
        finished_at=T0 + timedelta(minutes=minutes, seconds=3),
        actor="ann",
    )


def _seed(cli: Cli, source: Source) -> None:
    """Two connections (one with a password in the keyring), two policies, three rows."""
    _ok(cli, *source.flag, "profile", "add", "local", "--url", "localhost:5000", "--no-verify")
    _ok(
        cli,
        *source.flag,
        "profile",
        "add",
        "mirror",
        "--url",
        "mirror.example.com",
        "--username",
        "robot",
        "--password-stdin",
        "--no-verify",
        stdin=SECRET,
    )
    _add_policy(cli, source.flag, "dev/a", "qa/a", "same")  # id 1: also on the team's
    _add_policy(cli, source.flag, "dev/b", "qa/b", "mine")  # id 2: only here
    with source.open() as database, HistoryStore(database) as history:
        history.add(_row(1, "same", "1.0", 0))
        history.add(_row(2, "mine", "2.0", 1))
        history.add(_row(None, "", "manual", 2))  # a manual promotion
        with database.connection() as conn:
            conn.execute(
                "INSERT INTO policy_baselines (policy_id, applied_at) VALUES (2, ?)",
                ("2026-12-01T08:00:00.000000+00:00",),
            )


def _seed_team(cli: Cli, team: str) -> None:
    """The team's store already has ``local`` (the same) and the policy ``same``, at id 2."""
    flag = ["--database", team]
    _ok(cli, *flag, "profile", "add", "local", "--url", "localhost:5000", "--no-verify")
    _add_policy(cli, flag, "dev/z", "qa/z", "theirs")
    _add_policy(cli, flag, "dev/a", "qa/a", "same")


def _rows(url: str, sql: str) -> list[dict[str, Any]]:
    with Database(url) as database, database.connection() as conn:
        return [r.as_dict() for r in conn.execute(sql)]


def test_copy_moves_everything_once(cli: Cli, source: Source, team: str) -> None:
    _seed(cli, source)
    _seed_team(cli, team)
    where = Database(team).display
    out = _ok(cli, *source.flag, "store", "copy", "--to", team)
    assert out.strip() == (
        "copied 1 policy (1 already there), 1 connection (1 already there), "
        f"3 history rows (0 already there) to {where}"
    )
    policies = _rows(team, "SELECT id, name, source_repository FROM policies ORDER BY id")
    assert [(p["name"], p["source_repository"]) for p in policies] == [
        ("theirs", "dev/z"),
        ("same", "dev/a"),
        ("mine", "dev/b"),
    ]
    ids = {p["name"]: p["id"] for p in policies}
    history = _rows(team, "SELECT policy_id, policy_name, entry_id FROM history ORDER BY id")
    assert [(h["policy_id"], h["policy_name"]) for h in history] == [
        (ids["same"], "same"),  # mapped to the team's own copy of the policy
        (ids["mine"], "mine"),  # to the new id
        (None, ""),
    ]
    assert all(h["entry_id"] is None for h in history)
    baselines = _rows(team, "SELECT policy_id FROM policy_baselines")
    assert [b["policy_id"] for b in baselines] == [ids["mine"]]
    profiles = _rows(team, "SELECT name, data, updated_by FROM profiles ORDER BY name")
    assert [p["name"] for p in profiles] == ["local", "mirror"]
    assert json.loads(profiles[1]["data"])["username"] == "robot"
    assert SECRET not in json.dumps(profiles)
    # The other workstation sees the copied connection and policy.
    listed = json.loads(_ok(cli, "--database", team, "profile", "list", "--json"))
    assert [p["name"] for p in listed] == ["local", "mirror"]

    again = _ok(cli, *source.flag, "store", "copy", "--to", team)
    assert again.strip() == (
        "copied 0 policies (2 already there), 0 connections (2 already there), "
        f"0 history rows (3 already there) to {where}"
    )
    assert len(_rows(team, "SELECT id FROM policies")) == 3
    assert len(_rows(team, "SELECT id FROM history")) == 3


def test_a_dry_run_writes_nothing_not_even_the_schema(cli: Cli, source: Source, team: str) -> None:
    _seed(cli, source)
    out = _ok(cli, *source.flag, "store", "copy", "--to", team, "--dry-run", "--json")
    assert json.loads(out) == {
        "target": Database(team).display,
        "dryRun": True,
        "policies": {"copied": 2, "alreadyThere": 0},
        "connections": {"copied": 2, "alreadyThere": 0},
        "history": {"copied": 3, "alreadyThere": 0},
    }
    assert _rows(team, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
    _seed_team(cli, team)
    out = _ok(cli, *source.flag, "store", "copy", "--to", team, "--dry-run")
    assert out.startswith("would copy 1 policy (1 already there), 1 connection (1 already")
    assert "nothing was written" in out
    assert len(_rows(team, "SELECT id FROM policies")) == 2
    assert _rows(team, "SELECT id FROM history") == []


def test_a_connection_of_the_same_name_with_other_settings_stops_the_copy(
    cli: Cli, source: Source, team: str
) -> None:
    _seed(cli, source)
    _ok(cli, "--database", team, "profile", "add", "local", "--url", "other:5000", "--no-verify")
    code, out, err = cli(*source.flag, "store", "copy", "--to", team)
    assert code == 1 and out == ""
    assert "a connection named 'local' with other settings; nothing was copied" in err
    assert "--replace" in err and "rename" in err
    assert _rows(team, "SELECT id FROM policies") == []
    assert _rows(team, "SELECT id FROM history") == []
    assert [p["name"] for p in _rows(team, "SELECT name FROM profiles")] == ["local"]


def test_a_copy_that_would_close_a_loop_writes_nothing(cli: Cli, source: Source, team: str) -> None:
    _seed(cli, source)
    flag = ["--database", team]
    _ok(cli, *flag, "profile", "add", "local", "--url", "localhost:5000", "--no-verify")
    _add_policy(cli, flag, "qa/b", "dev/b", "back")  # with the source's "mine": a loop
    code, _, err = cli(*source.flag, "store", "copy", "--to", team)
    assert code != 0 and "loop" in err.lower()
    assert [p["name"] for p in _rows(team, "SELECT name FROM policies")] == ["back"]
    assert _rows(team, "SELECT id FROM history") == []
    assert [p["name"] for p in _rows(team, "SELECT name FROM profiles")] == ["local"]


def test_pending_work_is_finished_here_first_unless_forced(
    cli: Cli, source: Source, team: str
) -> None:
    _seed(cli, source)
    with source.open() as database, QueueStore(database) as queue:
        queue.enqueue(
            QueueEntry(None, 1, "local", "dev/a", "1.1", "sha256:" + "1" * 64, "local", "qa/a")
        )
    code, _, err = cli(*source.flag, "store", "copy", "--to", team)
    assert code == 1
    assert "1 promotion is still pending or running" in err and "--force" in err
    assert _rows(team, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == []
    code, out, err = cli(*source.flag, "store", "copy", "--to", team, "--force")
    assert code == 0 and out.startswith("copied 2 policies")
    assert "1 pending or running promotion(s) stay in" in err
    assert _rows(team, "SELECT id FROM queue") == []  # the queue is not copied


def test_the_target_must_be_another_team_database(
    cli: Cli, postgres_url: str, tmp_path: Any
) -> None:
    code, _, err = cli("store", "copy", "--to", f"sqlite:///{tmp_path / 'x.db'}")
    assert code == 2 and "--to needs a team database" in err
    code, _, err = cli("--database", postgres_url, "store", "copy", "--to", postgres_url)
    assert code == 2 and "is the store this command reads from" in err
    password = urlsplit(postgres_url).password
    without = postgres_url.replace(f":{password}@", "@")  # the same, its password elsewhere
    code, _, err = cli("--database", postgres_url, "store", "copy", "--to", without)
    assert code == 2 and "is the store this command reads from" in err
    code, _, err = cli("store", "copy", "--to", "postgres ql://x")
    assert code == 2


def test_store_info_says_where_and_what(cli: Cli, source: Source) -> None:
    _seed(cli, source)
    with source.open() as database:
        with QueueStore(database) as queue:
            queue.enqueue(
                QueueEntry(None, 1, "local", "dev/a", "1.1", "sha256:" + "1" * 64, "local", "qa/a")
            )
        with EngineRegistry(database) as engines:
            engines.register("build-01:4242:abcd1234:agent", "agent")
            engines.register("ws:1:ef:app", "app", promoting=False)
        display = database.display
    info = json.loads(_ok(cli, *source.flag, "store", "info", "--json"))
    assert info["location"] == display
    assert info["origin"] == ("default" if source.sqlite else "--database")
    assert info["backend"] == ("sqlite" if source.sqlite else "postgresql")
    assert info["shared"] is (not source.sqlite)
    assert info["schemaVersion"] >= 5
    assert (info["policies"], info["history"], info["queue"]) == (2, 3, {"pending": 1})
    assert info["connections"]["count"] == 2
    where = info["connections"]["where"]
    assert where == (str(default_paths().profiles_file) if source.sqlite else "the team database")
    assert [(e["kind"], e["promoting"]) for e in info["engines"]] == [
        ("agent", True),
        ("app", False),
    ]
    text = _ok(cli, *source.flag, "store", "info")
    assert f"store        {display}" in text
    assert "queue        1 pending, 0 running, 0 failed, 0 done" in text
    assert "at work      2 engines" in text and "(not promoting)" in text
    assert SECRET not in text
