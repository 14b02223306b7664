"""Saved registry connections ("profiles") and the file that keeps them.

A profile says *where* a registry is and *who* to log in as, never the password: that
lives in the OS keyring (see :mod:`hoister.credentials`). The file is shared by the
GUI, the command line and the headless agent, so it is plain JSON written atomically,
and a file Hoister cannot read is reported and left alone rather than silently replaced
by an empty one (that would lose every saved connection).
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hoister import jsonlimits
from hoister.errors import HoisterError, InvalidInput
from hoister.fsutil import write_json_atomic

FILE_VERSION = 1

DOCKER_HUB_URL = "https://registry-1.docker.io"
# Names people use for Docker Hub; the API itself only answers on registry-1.docker.io.
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HOST_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_URL_EXAMPLE = "e.g. https://registry.example.com or localhost:5000"


def validate_profile_name(name: str) -> str:
    """Return ``name`` if it can be a profile name, else raise :class:`InvalidInput`.

    Names are typed on command lines and shown in menus, so they are kept to characters
    that need no quoting in a shell.
    """
    if not isinstance(name, str) or not _PROFILE_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a valid profile name: use 1 to 64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return name


def _check_host(host: str) -> str:
    """Validate and lower-case a host name or IP address; IPv6 comes back in brackets."""
    if host.startswith("["):
        if not host.endswith("]"):
            raise InvalidInput(f"the IPv6 address {host!r} is missing its closing ']'")
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise InvalidInput(f"{host!r} is not a valid IPv6 address") from None
        return f"[{address.compressed}]"
    lowered = host.lower().rstrip(".")
    labels = lowered.split(".")
    if len(lowered) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise InvalidInput(f"{host!r} is not a valid host name ({_URL_EXAMPLE})")
    return lowered


def _split_port(netloc: str) -> tuple[str, int | None]:
    """Split ``host[:port]`` (IPv6 in brackets) and check the port is a usable number."""
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = (netloc, "") if end < 0 else (netloc[: end + 1], netloc[end + 1 :])
        if rest and not rest.startswith(":"):
            raise InvalidInput(f"unexpected text {rest!r} after the IPv6 address {host}")
        port_text = rest[1:] if rest else None
    elif ":" in netloc:
        host, _, port_text = netloc.rpartition(":")
        if ":" in host:
            raise InvalidInput(
                f"{netloc!r} looks like an IPv6 address: put it in brackets, e.g. [::1]:5000"
            )
    else:
        host, port_text = netloc, None
    if not host:
        raise InvalidInput(f"the registry URL has no host name ({_URL_EXAMPLE})")
    if port_text is None:
        return host, None
    if not port_text:
        raise InvalidInput(f"the port after '{host}:' is empty; give a number from 1 to 65535")
    if not port_text.isascii() or not port_text.isdigit():
        raise InvalidInput(f"the port {port_text!r} is not a number; give one from 1 to 65535")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise InvalidInput(f"the port {port} is out of range; give a number from 1 to 65535")
    return host, port


def parse_registry_url(text: str) -> str:
    """Normalise what a person typed into ``scheme://host[:port]``.

    One registry must have one spelling: its host is part of the keyring key and is matched
    against ``docker login`` entries, so ``Registry.example.com/v2/`` and
    ``https://registry.example.com:443`` both become ``https://registry.example.com``.
    Credentials in the URL are refused because the URL is saved in a plain file.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"the registry URL is empty; give one like {_URL_EXAMPLE}")
    text = text.strip()
    if any(char.isspace() for char in text):
        raise InvalidInput("the registry URL contains spaces; give one like " + _URL_EXAMPLE)
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "https", text
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidInput(
            f"unsupported URL scheme {scheme + '://'!r}; use https:// "
            "(or http:// for a registry that only speaks plain HTTP)"
        )
    netloc, slash, path = rest.partition("/")
    path = slash + path
    if "@" in netloc:
        # Never echo the text back: it holds a password.
        raise InvalidInput(
            "the registry URL contains a user name or password; remove the 'user:password@' "
            "part and give the user with --username (the password is kept in the keyring)"
        )
    if "?" in text or "#" in text:
        raise InvalidInput(
            "the registry URL must not have a query ('?…') or fragment ('#…'); "
            f"give only scheme, host and port ({_URL_EXAMPLE})"
        )
    if path not in ("", "/", "/v2", "/v2/"):
        raise InvalidInput(
            f"the registry URL has the path {path!r}; give only scheme, host and port "
            f"({_URL_EXAMPLE}); repositories are chosen after connecting"
        )
    raw_host, port = _split_port(netloc)
    host = _check_host(raw_host)
    default_port = port is None or port == _DEFAULT_PORTS[scheme]
    if host in _DOCKER_HUB_ALIASES and default_port:
        return DOCKER_HUB_URL
    if default_port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _clean_username(username: str | None) -> str | None:
    """An empty user name means anonymous; a ':' could never work in Basic auth."""
    if username is None:
        return None
    if not isinstance(username, str):
        raise InvalidInput("the user name must be text")
    username = username.strip()
    if not username:
        return None
    if ":" in username or any(char.isspace() for char in username):
        raise InvalidInput(
            f"the user name {username!r} contains ':' or spaces, which registries do not accept"
        )
    return username


@dataclass
class Profile:
    """One saved registry connection; constructing one validates and normalises it.

    Validation lives here (not only in the CLI) so the GUI, an import and a hand-edited
    file all get the same rules and the same messages.
    """

    name: str
    url: str
    username: str | None = None
    insecure: bool = False
    ca_file: str | None = None
    repositories: list[str] = field(default_factory=list)
    scanner: str | None = None

    def __post_init__(self) -> None:
        validate_profile_name(self.name)
        self.url = parse_registry_url(self.url)
        self.username = _clean_username(self.username)
        if not isinstance(self.insecure, bool):
            raise InvalidInput("'insecure' must be true or false")
        if self.ca_file is not None and (not isinstance(self.ca_file, str) or not self.ca_file):
            raise InvalidInput("'ca_file' must be a file path or left out")
        if not isinstance(self.repositories, list) or not all(
            isinstance(repo, str) and repo for repo in self.repositories
        ):
            raise InvalidInput("'repositories' must be a list of repository names")
        # Remembered repositories are a set in spirit; keep the first-seen order.
        self.repositories = list(dict.fromkeys(self.repositories))
        if self.scanner is not None and not isinstance(self.scanner, str):
            raise InvalidInput("'scanner' must be text or left out")

    @property
    def host(self) -> str:
        """``host[:port]``: what keys credentials, both in the keyring and in Docker's file."""
        return self.url.partition("://")[2]

    @property
    def is_plain_http(self) -> bool:
        """True when traffic (including the password) would go unencrypted."""
        return self.url.startswith("http://")

    def to_json(self) -> dict[str, Any]:
        """The file form; there is deliberately no secret to write."""
        return {
            "name": self.name,
            "url": self.url,
            "username": self.username,
            "insecure": self.insecure,
            "ca_file": self.ca_file,
            "repositories": list(self.repositories),
            "scanner": self.scanner,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        """Build from the file form; unknown keys (from a newer Hoister) are ignored."""
        if not isinstance(data, Mapping):
            raise InvalidInput("a profile must be a JSON object")
        for key in ("name", "url"):
            if not isinstance(data.get(key), str):
                raise InvalidInput(f"a profile is missing its {key!r} (text)")
        return cls(
            name=data["name"],
            url=data["url"],
            username=data.get("username"),
            insecure=data.get("insecure", False),
            ca_file=data.get("ca_file"),
            repositories=data.get("repositories") or [],
            scanner=data.get("scanner"),
        )


def _copies(profiles: dict[str, Profile]) -> dict[str, Profile]:
    """Profiles a caller may change (the app edits one, then saves it) without changing
    the ones :class:`ProfileStore` keeps from its last read. Made without validating
    again: they are copies of validated ones."""
    copied: dict[str, Profile] = {}
    for name, profile in profiles.items():
        twin = copy.copy(profile)
        twin.repositories = list(profile.repositories)
        copied[name] = twin
    return copied


class ProfileStore:
    """The profiles file: fresh on every call, written whole and atomically.

    Being fresh on every call keeps the GUI and a CLI run in another terminal in step
    without a cache anyone must invalidate. Fresh means one ``stat`` per call: the file is
    read and checked again only when its identity, size or modification time changed
    (every write replaces it, so a new inode; an editor's in-place save changes the time).
    The engine asks for a profile before each request batch, and reading and validating
    the file every time was a tenth of a promotion's CPU.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._read: tuple[tuple[int, int, int, int], dict[str, Profile]] | None = None

    def _broken(self, problem: str) -> HoisterError:
        return HoisterError(
            f"the profiles file {self.path} {problem}; fix it or move it away "
            "(Hoister leaves it untouched)"
        )

    def _load(self) -> dict[str, Profile]:
        """The profiles by name: a new dict (callers change it), the file read only if
        it changed since the last call (see the class docstring)."""
        try:
            found = self.path.stat()
        except FileNotFoundError:
            return {}
        except OSError:
            found = None  # read_bytes below says what is wrong
        if found is not None:
            key = (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)
            read = self._read
            if read is not None and read[0] == key:
                return _copies(read[1])
        profiles = self._parse()
        if found is not None:
            self._read = (key, profiles)
        return _copies(profiles)

    def _parse(self) -> dict[str, Profile]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise HoisterError(
                f"cannot read the profiles file {self.path}: {exc.strerror or exc}"
            ) from None
        try:
            document = jsonlimits.loads(raw, what="the file")
        except jsonlimits.InvalidJSON as exc:
            raise self._broken(exc.reason) from None
        if not isinstance(document, dict):
            raise self._broken("does not hold a JSON object at the top")
        version = document.get("version")
        if version != FILE_VERSION:
            if isinstance(version, int) and version > FILE_VERSION:
                raise self._broken(f"was written by a newer Hoister (format version {version})")
            raise self._broken(f"has an unknown format version {version!r} (expected 1)")
        entries = document.get("profiles")
        if not isinstance(entries, list):
            raise self._broken("has no 'profiles' list")
        profiles: dict[str, Profile] = {}
        for index, entry in enumerate(entries):
            try:
                profile = Profile.from_json(entry)
            except InvalidInput as exc:
                raise self._broken(f"has a bad profile at position {index + 1}: {exc}") from None
            if profile.name in profiles:
                raise self._broken(f"has two profiles named {profile.name!r}")
            profiles[profile.name] = profile
        return profiles

    def _save(self, profiles: dict[str, Profile]) -> None:
        ordered = [profiles[name].to_json() for name in sorted(profiles)]
        write_json_atomic(self.path, {"version": FILE_VERSION, "profiles": ordered})

    def list(self) -> list[Profile]:
        """All profiles, sorted by name so menus and `profile list` are stable."""
        profiles = self._load()
        return [profiles[name] for name in sorted(profiles)]

    def identities(self) -> dict[str, str]:
        """Profile name -> registry identity: which profiles name one registry.

        The policy checks use it to see a loop through two spellings of one registry.
        """
        # Imported here: hoister.registry reaches hoister.credentials, which needs Profile.
        from hoister.registry.identity import profile_identities

        return profile_identities(self._load().values())

    def get(self, name: str) -> Profile:
        profile = self._load().get(name)
        if profile is None:
            raise HoisterError(
                f"no profile named {name!r}; `hoister profile list` shows the saved ones"
            )
        return profile

    def add(self, profile: Profile, replace: bool = False) -> None:
        """Save a new profile; refusing to clobber by default protects a typo'd name."""
        profiles = self._load()
        if profile.name in profiles and not replace:
            raise InvalidInput(
                f"a profile named {profile.name!r} already exists; choose another name "
                "or remove it first"
            )
        profiles[profile.name] = profile
        self._save(profiles)

    def update(self, profile: Profile) -> None:
        """Replace an existing profile (e.g. a repository was remembered)."""
        profiles = self._load()
        if profile.name not in profiles:
            raise HoisterError(
                f"no profile named {profile.name!r}; `hoister profile list` shows the saved ones"
            )
        profiles[profile.name] = profile
        self._save(profiles)

    def remove(self, name: str) -> Profile:
        """Delete a profile and return it, so the caller can also drop its keyring entry."""
        profiles = self._load()
        profile = profiles.pop(name, None)
        if profile is None:
            raise HoisterError(
                f"no profile named {name!r}; `hoister profile list` shows the saved ones"
            )
        self._save(profiles)
        return profile
