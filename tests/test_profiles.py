"""Profiles: URL rules, the file format, and that a bad file or a failed write loses nothing."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from hoister.errors import HoisterError, InvalidInput
from hoister.paths import default_paths
from hoister.profiles import (
    Profile,
    ProfileStore,
    parse_registry_url,
    validate_profile_name,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://registry.example.com", "https://registry.example.com"),
        ("https://registry.example.com/", "https://registry.example.com"),
        ("https://registry.example.com/v2/", "https://registry.example.com"),
        ("https://registry.example.com/v2", "https://registry.example.com"),
        ("https://Registry.Example.COM:5000", "https://registry.example.com:5000"),
        ("https://registry.example.com:443", "https://registry.example.com"),
        ("HTTPS://registry.example.com", "https://registry.example.com"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("http://localhost:5000/v2/", "http://localhost:5000"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("registry.example.com", "https://registry.example.com"),
        ("localhost:5000", "https://localhost:5000"),
        ("  registry.example.com:5000\n", "https://registry.example.com:5000"),
        ("https://[::1]:5000", "https://[::1]:5000"),
        ("[0:0::1]", "https://[::1]"),
        ("docker.io", "https://registry-1.docker.io"),
        ("index.docker.io", "https://registry-1.docker.io"),
        ("https://index.docker.io/v2/", "https://registry-1.docker.io"),
        ("registry-1.docker.io", "https://registry-1.docker.io"),
        ("my_registry.internal", "https://my_registry.internal"),
    ],
)
def test_parse_registry_url_accepts(text: str, expected: str) -> None:
    assert parse_registry_url(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the registry URL is empty"),
        ("   ", "the registry URL is empty"),
        ("registry example.com", "contains spaces"),
        ("https://registry.example.com /v2", "contains spaces"),
        ("ftp://registry.example.com", "unsupported URL scheme 'ftp://'"),
        ("file:///etc/passwd", "unsupported URL scheme 'file://'"),
        ("https://registry.example.com/team/app", "has the path '/team/app'"),
        ("https://registry.example.com/v1/", "has the path '/v1/'"),
        ("https://registry.example.com?insecure=1", "must not have a query"),
        ("https://registry.example.com/#top", "must not have a query ('?…') or fragment"),
        ("https://registry.example.com:70000", "the port 70000 is out of range"),
        ("https://registry.example.com:0", "the port 0 is out of range"),
        ("https://registry.example.com:https", "the port 'https' is not a number"),
        ("https://registry.example.com:", "the port after 'registry.example.com:' is empty"),
        ("https://", "has no host name"),
        ("https://:5000", "has no host name"),
        ("https://bad$host", "'bad$host' is not a valid host name"),
        ("https://-leading.example.com", "is not a valid host name"),
        ("https://[::1", "missing its closing ']'"),
        ("https://[nope]:5000", "'[nope]' is not a valid IPv6 address"),
        ("https://::1:5000", "put it in brackets"),
    ],
)
def test_parse_registry_url_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_registry_url(text)
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "text", ["https://alice:hunter2@registry.example.com", "alice:hunter2@localhost:5000"]
)
def test_credentials_in_url_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_registry_url(text)
    message = str(caught.value)
    assert "--username" in message
    assert "hunter2" not in message
    assert "alice" not in message


@pytest.mark.parametrize("name", ["prod", "a", "Team-1.reg_2", "9lives", "x" * 64])
def test_profile_names_accepted(name: str) -> None:
    assert validate_profile_name(name) == name


@pytest.mark.parametrize("name", ["", "-prod", ".hidden", "has space", "a/b", "x" * 65, "é"])
def test_profile_names_rejected(name: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid profile name"):
        validate_profile_name(name)


def test_profile_normalises_and_derives_host() -> None:
    profile = Profile("local", "localhost:5000/v2/", username="  alice ")
    assert profile.url == "https://localhost:5000"
    assert profile.host == "localhost:5000"
    assert profile.username == "alice"
    assert not profile.is_plain_http
    plain = Profile("plain", "http://localhost:5000", username="")
    assert plain.is_plain_http
    assert plain.username is None


def test_profile_rejects_bad_fields() -> None:
    with pytest.raises(InvalidInput, match="not a valid profile name"):
        Profile("no good", "https://r.example.com")
    with pytest.raises(InvalidInput, match="contains ':' or spaces"):
        Profile("p", "https://r.example.com", username="a:b")
    with pytest.raises(InvalidInput, match="'repositories' must be a list"):
        Profile("p", "https://r.example.com", repositories="app")  # type: ignore[arg-type]


def test_profile_json_round_trip_ignores_unknown_keys() -> None:
    profile = Profile(
        "prod",
        "https://registry.example.com:5000",
        username="alice",
        insecure=True,
        ca_file="/etc/ssl/private-ca.pem",
        repositories=["team/app", "team/db", "team/app"],
        scanner="trivy",
    )
    assert profile.repositories == ["team/app", "team/db"]
    data = profile.to_json()
    assert Profile.from_json(data) == profile
    assert Profile.from_json({**data, "colour": "blue", "future": {"x": 1}}) == profile
    minimal = Profile.from_json({"name": "m", "url": "https://m.example.com"})
    assert minimal == Profile("m", "https://m.example.com")


def _store(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "config" / "profiles.json")


def test_missing_file_is_an_empty_list(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.list() == []
    assert not store.path.exists()


def test_store_round_trip_sorted_and_file_shape(tmp_path: Path) -> None:
    store = _store(tmp_path)
    beta = Profile("beta", "https://b.example.com", username="bob", repositories=["x/y"])
    alpha = Profile("alpha", "http://localhost:5000", insecure=True)
    store.add(beta)
    store.add(alpha)
    assert [p.name for p in store.list()] == ["alpha", "beta"]
    assert store.get("beta") == beta
    assert ProfileStore(store.path).list() == [alpha, beta]
    document = json.loads(store.path.read_text())
    assert document["version"] == 1
    assert [entry["name"] for entry in document["profiles"]] == ["alpha", "beta"]


def test_file_mode_is_private(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(Profile("p", "https://r.example.com"))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    store.update(Profile("p", "https://r2.example.com"))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_store_under_hoister_home(tmp_path: Path) -> None:
    paths = default_paths({"HOISTER_HOME": str(tmp_path)})
    store = ProfileStore(paths.profiles_file)
    store.add(Profile("p", "https://r.example.com"))
    assert (tmp_path / "config" / "profiles.json").is_file()


def test_add_duplicate_is_refused_unless_replace(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(Profile("p", "https://one.example.com"))
    with pytest.raises(InvalidInput, match="a profile named 'p' already exists"):
        store.add(Profile("p", "https://two.example.com"))
    assert store.get("p").url == "https://one.example.com"
    store.add(Profile("p", "https://two.example.com"), replace=True)
    assert store.get("p").url == "https://two.example.com"


def test_update_and_remove(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(Profile("p", "https://r.example.com"))
    store.add(Profile("q", "https://q.example.com"))
    changed = store.get("p")
    changed.repositories.append("team/app")
    store.update(changed)
    assert store.get("p").repositories == ["team/app"]
    removed = store.remove("p")
    assert removed.name == "p"
    assert [p.name for p in store.list()] == ["q"]
    with pytest.raises(HoisterError, match="no profile named 'p'; `hoister profile list`"):
        store.get("p")
    with pytest.raises(HoisterError, match="no profile named 'p'"):
        store.remove("p")
    with pytest.raises(HoisterError, match="no profile named 'zzz'"):
        store.update(Profile("zzz", "https://r.example.com"))


def test_a_change_made_by_another_process_is_seen_at_once(tmp_path: Path) -> None:
    """Kept between calls, the store is still fresh: a CLI in another terminal (another
    store object on the same file) adds and edits; this one sees each change next call."""
    mine, theirs = _store(tmp_path), _store(tmp_path)
    mine.add(Profile("p", "https://r.example.com"))
    assert [p.name for p in mine.list()] == ["p"]
    theirs.add(Profile("q", "https://q.example.com"))
    assert [p.name for p in mine.list()] == ["p", "q"]
    edited = theirs.get("q")
    edited.username = "alice"
    theirs.update(edited)
    assert mine.get("q").username == "alice"


def test_changing_a_returned_profile_changes_nothing_until_it_is_saved(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(Profile("p", "https://r.example.com"))
    unsaved = store.get("p")
    unsaved.repositories.append("team/app")
    unsaved.username = "bob"
    again = store.get("p")
    assert (again.repositories, again.username) == ([], None)


def test_a_file_replaced_by_hand_is_read_again(tmp_path: Path) -> None:
    """An editor that writes the file in place (same inode) changes its size or time."""
    store = _store(tmp_path)
    store.add(Profile("p", "https://r.example.com"))
    assert store.get("p").url == "https://r.example.com"
    document = json.loads(store.path.read_text())
    document["profiles"][0]["url"] = "https://other.example.com"
    with store.path.open("w") as handle:
        json.dump(document, handle)
    assert store.get("p").url == "https://other.example.com"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe\x00", "is not UTF-8 text"),
        (b"[]", "does not hold a JSON object"),
        (b'{"version": 2, "profiles": []}', "was written by a newer Hoister"),
        (b'{"profiles": []}', "unknown format version None"),
        (b'{"version": 1}', "has no 'profiles' list"),
        (b'{"version": 1, "profiles": [42]}', "bad profile at position 1"),
        (b'{"version": 1, "profiles": [{"name": "p"}]}', "missing its 'url'"),
        (
            b'{"version": 1, "profiles": [{"name": "p", "url": "ftp://x"}]}',
            "unsupported URL scheme",
        ),
        (
            b'{"version": 1, "profiles": [{"name": "p", "url": "https://a.example.com"},'
            b' {"name": "p", "url": "https://b.example.com"}]}',
            "two profiles named 'p'",
        ),
    ],
)
def test_corrupt_file_is_reported_and_never_overwritten(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    store = _store(tmp_path)
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(content)
    with pytest.raises(HoisterError) as caught:
        store.list()
    message = str(caught.value)
    assert str(store.path) in message
    assert problem in message
    assert type(caught.value) is HoisterError  # exit status 1, not "bad usage"
    for action in (
        lambda: store.add(Profile("new", "https://n.example.com")),
        lambda: store.remove("p"),
        lambda: store.get("p"),
    ):
        with pytest.raises(HoisterError):
            action()
    assert store.path.read_bytes() == content


def test_failed_write_leaves_old_file_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    store.add(Profile("p", "https://r.example.com"))
    before = store.path.read_bytes()

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        store.add(Profile("q", "https://q.example.com"))
    monkeypatch.undo()
    assert store.path.read_bytes() == before
    assert sorted(path.name for path in store.path.parent.iterdir()) == ["profiles.json"]
    assert [p.name for p in store.list()] == ["p"]


def test_no_secret_field_in_file(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add(Profile("p", "https://r.example.com", username="alice"))
    entry = json.loads(store.path.read_text())["profiles"][0]
    assert set(entry) == {
        "name",
        "url",
        "username",
        "insecure",
        "ca_file",
        "repositories",
        "scanner",
    }
    for word in ("password", "secret", "token", "auth"):
        assert word not in store.path.read_text().lower()
