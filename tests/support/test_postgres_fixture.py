"""Self-tests: the PostgreSQL fixture gives a real, password-protected, unprivileged server.

They share the session's one server (what the store's tests get), so a passing run also
shows that server is usable the way the team store will use it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.support import postgres_host
from tests.support.postgres import PostgresServer
from tests.support.postgres_host import find_postgres_bindir


def test_a_database_answers_select_1(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql://hoister:")
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        encoding = conn.execute("SHOW server_encoding").fetchone()
    assert encoding == ("UTF8",)


def test_each_url_is_its_own_empty_database(postgres_server: PostgresServer) -> None:
    first, second = postgres_server.create_database(), postgres_server.create_database()
    try:
        assert first != second
        with psycopg.connect(postgres_server.url(first), autocommit=True) as conn:
            conn.execute("CREATE TABLE only_here (n integer)")
            conn.execute("INSERT INTO only_here VALUES (1)")
        with psycopg.connect(postgres_server.url(second)) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert tables == (0,)
    finally:
        postgres_server.drop_database(first)
        postgres_server.drop_database(second)


def test_drop_database_cuts_off_open_connections(postgres_server: PostgresServer) -> None:
    # A killed agent's or a leaked pool's connections must not keep a test database alive.
    name = postgres_server.create_database()
    with psycopg.connect(postgres_server.url(name)) as left_open:
        postgres_server.drop_database(name)
        with pytest.raises(psycopg.OperationalError):
            left_open.execute("SELECT 1")
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        found = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,))
        assert found.fetchone() == (0,)


def test_the_server_does_not_run_as_root(postgres_server: PostgresServer) -> None:
    pid = postgres_server.postmaster_pid()
    owner = Path(f"/proc/{pid}").stat().st_uid
    assert owner != 0
    assert owner == postgres_server.user.uid
    assert Path(f"/proc/{pid}/exe").resolve().name == "postgres"


def test_a_wrong_password_is_refused(postgres_server: PostgresServer) -> None:
    wrong = postgres_server.url().replace(postgres_server.password, "not-the-password")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=10)
    with psycopg.connect(postgres_server.url()) as conn:
        method = conn.execute("SELECT current_setting('password_encryption')").fetchone()
    assert method == ("scram-sha-256",)


def test_the_server_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url()) as conn:
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('listen_addresses', 'max_connections', 'unix_socket_directories')"
            ).fetchall()
        )
    assert settings["listen_addresses"] == "127.0.0.1"
    assert int(settings["max_connections"]) >= 200
    # its socket is private to the run, not the machine's /var/run/postgresql
    assert settings["unix_socket_directories"] == str(postgres_server.socket_dir)


def test_database_url_covers_both_backends(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        assert database_url == f"sqlite:///{tmp_path / 'hoister.db'}"
        assert database_url.startswith("sqlite:////")
    else:
        with psycopg.connect(database_url) as conn:
            assert conn.execute("SELECT current_database()").fetchone()[0].startswith("t_")


@pytest.mark.postgres
def test_binaries_are_found_off_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Debian keeps initdb and pg_ctl in /usr/lib/postgresql/<major>/bin, not on PATH.
    monkeypatch.setenv("PATH", "/nonexistent")
    bindir = find_postgres_bindir()
    assert all((bindir / name).is_file() for name in ("initdb", "pg_ctl", "postgres"))


def _inner_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tests: str) -> None:
    """A suite with only this plugin, the way tests/conftest.py registers it."""
    # pytest-qt, hypothesis, ... are not needed and would cost a second per run
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest("pytest_plugins = ['tests.support.postgres_fixtures']\n")
    pytester.makeini(
        "[pytest]\nmarkers =\n    postgres: real PostgreSQL\naddopts = --strict-markers\n"
    )
    pytester.makepyfile(tests)


def test_marker_selects_postgres_tests_only(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-m "not postgres"`` keeps the SQLite case and every test that needs no server."""
    _inner_suite(
        pytester,
        monkeypatch,
        "def test_plain(): pass\n"
        "def test_server(postgres_server): pass\n"
        "def test_url(postgres_url): pass\n"
        "def test_both(database_url): pass\n",
    )
    result = pytester.runpytest("-m", "not postgres", "--collect-only", "-q")
    lines = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert lines == ["test_plain", "test_both[sqlite]"]
    result = pytester.runpytest("-m", "postgres", "--collect-only", "-q")
    lines = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert lines == ["test_server", "test_url", "test_both[postgresql]"]


def test_a_missing_server_fails_with_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No PostgreSQL must fail loudly (CI installs it), never skip the team store."""
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(postgres_host, "_DEBIAN_BINDIRS", Path("/nonexistent"))
    _inner_suite(pytester, monkeypatch, "def test_url(postgres_url): pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "No PostgreSQL server found" in output
    assert "apt-get install postgresql" in output
