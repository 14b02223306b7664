"""Credentials: where secrets come from and where they are kept.

Secrets live only in the OS keyring (service ``hoister``) or come from the logins a
user already has in ``~/.docker/config.json``; they are never written to Hoister's own
files and never logged. :class:`Credential` redacts itself in ``repr`` so an accidental
log line or traceback cannot leak one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SecretKind = Literal["password", "identitytoken"]


@dataclass(frozen=True)
class Credential:
    """A username with its secret, and where it was found (for messages, not for logic)."""

    username: str
    secret: str = field(repr=False)
    kind: SecretKind = "password"
    source: str = "keyring"

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, secret=<redacted>, source={self.source!r})"


# Imported last: these modules import Credential from this package.
from hoister.credentials.dockerconfig import DockerConfig  # noqa: E402
from hoister.credentials.resolve import resolve_credential  # noqa: E402
from hoister.credentials.secrets import SecretStore  # noqa: E402

__all__ = ["Credential", "DockerConfig", "SecretKind", "SecretStore", "resolve_credential"]
