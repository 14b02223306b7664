"""``--database URL`` on every command: where it may stand, what it outranks, its errors."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hoister.cli.database_flag import FlagError, take_database_flag
from hoister.store.location import ENV_URL
from tests.support.httpserver import free_port

SECRET = "pa55-in-the-url"


@pytest.mark.parametrize(
    ("argv", "rest", "value"),
    [
        (["--database", "U", "policy", "list"], ["policy", "list"], "U"),
        (["policy", "list", "--database", "U"], ["policy", "list"], "U"),
        (["policy", "--database=U", "list", "--json"], ["policy", "list", "--json"], "U"),
        (["-v", "history"], ["-v", "history"], None),
        (["promote", "--", "--database", "U"], ["promote", "--", "--database", "U"], None),
    ],
)
def test_the_flag_is_taken_from_anywhere(argv: list[str], rest: list[str], value: str) -> None:
    assert take_database_flag(argv) == (rest, value)


@pytest.mark.parametrize(
    "argv",
    [["policy", "list", "--database"], ["--database=", "history"], ["--database", "--json"]],
)
def test_a_flag_without_a_url_is_refused(argv: list[str]) -> None:
    with pytest.raises(FlagError, match="needs a URL"):
        take_database_flag(argv)


def test_a_flag_given_twice_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FlagError, match="twice"):
        take_database_flag(["--database", "a", "history", "--database=b"])
    with pytest.raises(SystemExit) as exited:
        cli("--database", "a", "history", "--database=b")
    assert exited.value.code == 2


def _policy(cli, *flag: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli(*flag, "profile", "add", "local", "--url", "localhost:5000", "--no-verify")
    assert code == 0, err
    code, _, err = cli(
        "policy",
        "add",
        "--profile",
        "local",
        "--source",
        "dev/a",
        "--target",
        "qa/a",
        "--template",
        "%n",
        *flag,
    )
    assert code == 0, err


def test_every_position_reaches_the_same_store(cli, database_url: str) -> None:  # type: ignore[no-untyped-def]
    _policy(cli, "--database", database_url)
    for argv in (
        ["--database", database_url, "policy", "list", "--json"],
        ["policy", "list", "--json", "--database", database_url],
        ["policy", "list", f"--database={database_url}", "--json"],
    ):
        code, out, err = cli(*argv)
        assert code == 0, err
        assert [p["sourceRepository"] for p in json.loads(out)] == ["dev/a"], argv
    code, out, _ = cli("store", "info", "--json", "--database", database_url)
    assert code == 0
    info = json.loads(out)
    assert info["origin"] == "--database" and info["policies"] == 1
    assert info["backend"] == urlsplit(database_url).scheme
    assert SECRET not in out
    code, out, _ = cli("policy", "list", "--json")  # without it: this machine's own file
    assert (code, json.loads(out)) == (0, [])


def test_the_flag_outranks_the_environment(
    cli,  # type: ignore[no-untyped-def]
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_URL, postgres_url)
    _policy(cli)
    code, out, _ = cli("store", "info", "--json")
    assert code == 0 and json.loads(out)["origin"] == ENV_URL
    other = f"sqlite:///{tmp_path / 'other.db'}"
    code, out, _ = cli("--database", other, "store", "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert (info["origin"], info["policies"], info["backend"]) == ("--database", 0, "sqlite")


def test_a_url_that_is_no_database_is_bad_usage(
    cli,  # type: ignore[no-untyped-def]
    hoister_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = cli("--database", f"mysql://bob:{SECRET}@db/x", "policy", "list")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "not a database Hoister can use" in err
    assert "(given by --database)" in err
    monkeypatch.setenv(ENV_URL, f"oracle://bob:{SECRET}@db/x")
    code, _, err = cli("history")
    assert code == 2 and f"(given by {ENV_URL})" in err
    assert SECRET not in err
    assert SECRET not in _log(hoister_home)


def _log(home: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in (home / "logs").glob("*.log*"))


def test_an_unreachable_server_is_one_line_without_the_password(
    cli,  # type: ignore[no-untyped-def]
    hoister_home: Path,
) -> None:
    url = f"postgresql://bob:{SECRET}@127.0.0.1:{free_port()}/team"
    code, out, err = cli("-v", "policy", "list", "--database", url)
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("hoister:")]
    assert len(lines) == 1 and "cannot reach the team database at" in lines[0]
    assert "127.0.0.1" in lines[0]
    assert SECRET not in err
    assert SECRET not in _log(hoister_home)


def test_a_wrong_password_is_one_line_without_either_password(
    cli,  # type: ignore[no-untyped-def]
    postgres_url: str,
    hoister_home: Path,
) -> None:
    parts = urlsplit(postgres_url)
    right = parts.password
    assert right
    wrong = postgres_url.replace(f":{right}@", f":{SECRET}@")
    code, out, err = cli("-v", "run", "--once", "--database", wrong)
    assert code == 1 and out == ""
    assert "cannot reach the team database" in err and "password authentication failed" in err
    assert SECRET not in err and right not in err
    log = _log(hoister_home)
    assert SECRET not in log and right not in log


def test_the_agent_runs_on_the_database_it_is_given(cli, postgres_url: str) -> None:  # type: ignore[no-untyped-def]
    _policy(cli, "--database", postgres_url)
    code, _, err = cli("run", "--once", "--database", postgres_url)
    # The policy's registry is not there: the cycle reports it, on the team's policy.
    assert code == 1 and "localhost:5000" in err
    code, out, _ = cli("policy", "list", "--json")
    assert json.loads(out) == []  # nothing of it on this machine's file


def test_the_app_is_given_the_flag_and_a_store_it_cannot_open_is_one_line(
    cli,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hoister.ui.app
    from hoister.errors import HoisterError

    seen: list[str | None] = []

    def run_gui(paths: object, *, smoke_test: bool = False, database_flag: str | None) -> int:
        seen.append(database_flag)
        raise HoisterError("cannot reach the team database at postgresql://bob@db/team")

    monkeypatch.setattr(hoister.ui.app, "run_gui", run_gui)
    code, out, err = cli("--database", "postgresql://bob@db/team")
    assert seen == ["postgresql://bob@db/team"]
    assert (code, out) == (1, "")
    assert err == "hoister: cannot reach the team database at postgresql://bob@db/team\n"


def test_the_apps_context_says_the_flag_chose_its_store(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hoister.paths import default_paths
    from hoister.ui.context import AppContext

    monkeypatch.delenv(ENV_URL, raising=False)
    context = AppContext.create(default_paths(), database_flag=postgres_url)
    try:
        assert context.database.shared
        assert context.store_location.origin == "--database"
    finally:
        context.close()


def test_connections_alone_do_not_open_a_machines_own_database(cli) -> None:  # type: ignore[no-untyped-def]
    from hoister.paths import default_paths

    code, _, _ = cli("profile", "add", "local", "--url", "localhost:5000", "--no-verify")
    assert code == 0 and cli("profile", "list")[0] == 0
    assert default_paths().profiles_file.exists()
    assert not default_paths().database.exists()
