"""The workers behind Add registry and the password prompt: probe, keep, forget.

Each runs in the pool (a ping is network, the keyring may be D-Bus); the dialogs only
submit them and read their results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from hoister.credentials import Credential
from hoister.credentials.secrets import profile_key, same_login
from hoister.profiles import Profile
from hoister.registry import ApiInfo, Unauthorized
from hoister.registry.scheme import detect_scheme
from hoister.ui.context import AppContext


@dataclass(frozen=True)
class ProbeResult:
    profile: Profile
    info: ApiInfo | None
    credential: Credential | None
    needs_login: str | None = None  # why the registry refused, when it did


def with_detected_scheme(profile: Profile) -> Profile:
    """Worker: the profile with ``https`` or ``http`` as its registry answers a TLS hello.

    Only for an address typed without a scheme (see :mod:`hoister.registry.scheme`).
    """
    parts = urlsplit(profile.url)
    scheme = detect_scheme(parts.hostname or "", parts.port)
    if scheme == parts.scheme:
        return profile
    return replace(
        profile, url=f"{scheme}://{parts.netloc}", repositories=list(profile.repositories)
    )


def probe(
    ctx: AppContext, profile: Profile, typed: Credential | None, detect: bool = False
) -> ProbeResult:
    """Worker: ping with the typed login, else the saved one, else anonymously.

    ``detect``: the address had no scheme, so first learn whether it speaks TLS.
    """
    if detect:
        profile = with_detected_scheme(profile)
    credential = typed or ctx.credential(profile)
    client = ctx.client_factory(profile, credential)
    try:
        info = client.ping()
    except Unauthorized as exc:
        return ProbeResult(profile, None, credential, needs_login=str(exc))
    finally:
        client.close()
    return ProbeResult(profile, info, credential)


def store_secret(ctx: AppContext, result: ProbeResult) -> ProbeResult:
    """Worker: put a typed password in the keyring (or keep it for the session)."""
    credential = result.credential
    if credential is not None and credential.source == "typed":
        ctx.secrets.set(result.profile, credential.secret)  # its own entry, see secrets.py
        if not ctx.secrets.persistent:
            ctx.session_secrets[profile_key(result.profile)] = credential.secret
    return result


def forget_replaced(ctx: AppContext, old: Profile, new: Profile) -> None:
    """Worker: an edit changed the registry or user, so the old password has no use."""
    if old.username and not (same_login(old, new) and old.name == new.name):
        ctx.session_secrets.pop(profile_key(old), None)
        ctx.secrets.delete(old, remaining=ctx.profiles.list())
