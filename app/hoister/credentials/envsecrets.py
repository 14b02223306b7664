"""Secrets from the environment or a mounted file, for servers that have no keyring.

The headless agent runs under systemd or in a container, where there is no desktop
session and so no Secret Service. Operators already have two ways to hand a process a
secret: an environment variable (systemd ``EnvironmentFile=``, ``docker run -e``) and a
file mounted from a secret store (Docker/Kubernetes secrets under ``/run/secrets``).
Both are supported per profile:

``HOISTER_PASSWORD_<PROFILE>``
    the password or token itself;
``HOISTER_PASSWORD_FILE_<PROFILE>``
    the path of a file holding it (a trailing newline is dropped, because ``echo`` and
    most secret tools add one);
``HOISTER_USERNAME_<PROFILE>``
    the user name, for a profile saved without one.

``<PROFILE>`` is the profile name upper-cased with every character other than a letter
or digit replaced by ``_`` (``team-a`` → ``TEAM_A``), since environment variable names
cannot hold ``-`` or ``.`` portably. Profiles that differ only in those characters
share the variables, and a profile whose name starts with ``file_`` would read the file
variable of another; name profiles so that does not happen.

An operator who set one of these meant it, so a variable that cannot be used (both
forms set, an unreadable or empty file) is an error naming the variable, never a silent
fall-back to another credential. Messages name variables and paths, never contents.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from hoister.credentials import Credential, SecretKind
from hoister.credentials.dockerconfig import TOKEN_USERNAME
from hoister.errors import HoisterError
from hoister.profiles import Profile

PASSWORD_PREFIX = "HOISTER_PASSWORD_"
PASSWORD_FILE_PREFIX = "HOISTER_PASSWORD_FILE_"
USERNAME_PREFIX = "HOISTER_USERNAME_"
#: A secret file larger than this is surely the wrong file (a key ring, a log).
MAX_SECRET_BYTES = 64 * 1024

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def variable_suffix(profile_name: str) -> str:
    """The ``<PROFILE>`` part of the variable names for ``profile_name``."""
    return _NOT_ALNUM.sub("_", profile_name.upper())


def variable_names(profile_name: str) -> tuple[str, str, str]:
    """(password, password file, user name) variables for a profile, for docs and errors."""
    suffix = variable_suffix(profile_name)
    return (
        f"{PASSWORD_PREFIX}{suffix}",
        f"{PASSWORD_FILE_PREFIX}{suffix}",
        f"{USERNAME_PREFIX}{suffix}",
    )


def _read_secret_file(variable: str, path_text: str) -> str:
    path = os.path.expanduser(path_text)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise HoisterError(
            f"cannot read the password file {path} named by {variable}: {exc.strerror or exc}"
        ) from None
    if len(raw) > MAX_SECRET_BYTES:
        raise HoisterError(
            f"the password file {path} named by {variable} is larger than "
            f"{MAX_SECRET_BYTES // 1024} KiB; is it the right file?"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HoisterError(
            f"the password file {path} named by {variable} is not UTF-8 text"
        ) from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise HoisterError(f"the password file {path} named by {variable} is empty")
    return secret


def env_credential(profile: Profile, environ: Mapping[str, str] | None = None) -> Credential | None:
    """The credential the environment gives for ``profile``, or None if it gives none.

    An empty ``HOISTER_PASSWORD_<PROFILE>`` counts as unset, so a placeholder line in an
    ``EnvironmentFile`` does not turn into an empty password.
    """
    env = os.environ if environ is None else environ
    password_var, file_var, username_var = variable_names(profile.name)
    inline = env.get(password_var) or None
    file_path = env.get(file_var) or None
    if inline is not None and file_path is not None:
        raise HoisterError(
            f"both {password_var} and {file_var} are set for profile '{profile.name}'; "
            "keep only one"
        )
    if inline is not None:
        secret, source = inline, f"environment ({password_var})"
    elif file_path is not None:
        secret, source = _read_secret_file(file_var, file_path), f"file ({file_var})"
    else:
        return None
    username = profile.username or env.get(username_var) or None
    if username is None:
        given = password_var if inline is not None else file_var
        raise HoisterError(
            f"{given} gives a password for profile '{profile.name}', which has no user "
            f"name; set {username_var}, or save the profile with --username"
        )
    # The same convention as docker login: the user name "<token>" marks an identity token.
    kind: SecretKind = "identitytoken" if username == TOKEN_USERNAME else "password"
    return Credential(username, secret, kind=kind, source=source)
