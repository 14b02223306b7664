"""Which credential to use for a profile, in one place.

The order encodes who knows best: a secret an operator handed this process for the
profile (``HOISTER_PASSWORD_<PROFILE>`` or a mounted file, see
:mod:`hoister.credentials.envsecrets`) is the most deliberate choice, and on a server it
is the only one, since there is no keyring there; a user name saved on the profile plus
the profile's own password in Hoister's keyring (see :mod:`hoister.credentials.secrets`)
is an explicit choice; ``docker login`` is a convenient
default; no credential at all means anonymous access, which many registries allow for
pulls.
"""

from __future__ import annotations

from collections.abc import Mapping

from hoister.credentials import Credential
from hoister.credentials.dockerconfig import DockerConfig
from hoister.credentials.envsecrets import env_credential
from hoister.credentials.secrets import SecretStore
from hoister.profiles import Profile


def resolve_credential(
    profile: Profile,
    secrets: SecretStore,
    docker: DockerConfig | None,
    environ: Mapping[str, str] | None = None,
) -> Credential | None:
    """The credential for ``profile``, or None for anonymous access.

    ``environ`` defaults to the process environment, read at each call. A secret
    variable that is set but unusable raises rather than falling through to the keyring.

    A docker login is only borrowed for a profile with a user name when it is for that
    same user: sending another account's password would at best fail and at worst act
    as the wrong person. Errors from a broken Docker credential helper propagate, since
    silently going anonymous would hide why pushes are refused.
    """
    from_env = env_credential(profile, environ)
    if from_env is not None:
        return from_env
    host = profile.host
    if profile.username:
        secret = secrets.get(profile)
        if secret:
            source = "keyring" if secrets.persistent else "session"
            return Credential(profile.username, secret, source=source)
        if docker is None:
            return None
        borrowed = docker.lookup(host)
        if borrowed is not None and borrowed.username == profile.username:
            return borrowed
        return None
    if docker is None:
        return None
    return docker.lookup(host)
