"""One key per registry, however a profile spells its address.

Two profiles may name one registry: ``https://localhost:5000`` and
``http://127.0.0.1:5000/``, or ``docker.io`` and ``registry-1.docker.io``. Whatever has
to know "is this the same storage?" (loop detection, the hop count of a chain,
provenance) compares :func:`registry_identity` keys, never profile names or URLs.

The key is ``host`` or ``host:port``:

* the scheme is dropped, so ``http://h:5000`` and ``https://h:5000`` are one registry,
  and the web ports 80 and 443 (written or implied) are dropped too, so ``http://h`` and
  ``https://h`` are one registry as well. One server answering plain HTTP next to TLS
  (often only to redirect) is the usual reason both spellings exist; two unrelated
  registries on ports 80 and 443 of one host would be odd. Counting them the same errs
  on the side loops need: a false "same" refuses a policy with a message naming both
  profiles, a false "different" lets images go round until the hop cap stops them.
  Registries that share a host and are *meant* to differ use other ports, which stay;
* the host is lower case, IDNA-encoded (``bücher.example`` → ``xn--bcher-kva.example``),
  without a trailing dot; IPv6 addresses are compressed and bracketed;
* every loopback name (``localhost``, ``127.0.0.0/8``, ``::1``, an IPv4-mapped
  loopback) becomes ``localhost``: profiles live on one machine, so they all reach it;
* Docker Hub's names (``docker.io``, ``index.docker.io``, ``registry-1.docker.io``)
  become ``docker.io``;
* paths, queries, fragments and ``user@`` parts are dropped: a registry has one root.

The function never raises: it is a key, not a validator (:func:`hoister.profiles.
parse_registry_url` refuses bad input with a message). Applying it to its own result
changes nothing, so keys can be stored (provenance) and normalised again when read.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hoister.profiles import Profile

LOOPBACK = "localhost"
DOCKER_HUB = "docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_WEB_PORTS = frozenset({80, 443})
_PLAIN_NAME = re.compile(r"[a-z0-9._-]+")


def _netloc(url: str) -> str:
    """``host[:port]`` of ``url``: scheme, ``user@``, path, query and fragment removed."""
    text = url.strip()
    _, sep, rest = text.partition("://")
    if sep:
        text = rest
    for stop in "/?#":
        text = text.partition(stop)[0]
    return text.rpartition("@")[2].strip()


def _split(netloc: str) -> tuple[str, str | None]:
    """Host and port text; a bracketed or bare IPv6 address keeps its colons."""
    if netloc.startswith("["):
        end = netloc.find("]")
        if end < 0:
            return netloc, None
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        return host, rest[1:] if rest.startswith(":") else (rest or None)
    if netloc.count(":") == 1:
        host, _, port = netloc.partition(":")
        return host, port
    return netloc, None


def _trim(text: str) -> str:
    """Without surrounding spaces and trailing dots, however they are interleaved."""
    while (trimmed := text.strip().rstrip(".")) != text:
        text = trimmed
    return text


def _name(text: str) -> str:
    """Lower case, IDNA for non-ASCII names, no trailing dot.

    IDNA's answer is taken only when it is a plain host name: its mapping step would turn
    a full-width ``：`` into ``:`` and so change where the port starts on a second pass.
    """
    host = _trim(text.lower())
    if not host.isascii():
        try:
            encoded = host.encode("idna").decode("ascii")
        except UnicodeError:
            encoded = ""  # not a name IDNA can spell; the lower-case text is still one key
        if _PLAIN_NAME.fullmatch(encoded):
            host = encoded
    return _trim(host)


def _host(text: str) -> str:
    """The canonical spelling of one host: name rules, IP forms, loopback, Docker Hub."""
    host = _name(text)
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return LOOPBACK if host == LOOPBACK else host
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return LOOPBACK
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _port(text: str | None) -> str | None:
    """The port as digits, or None for none or a web port (see the module docstring)."""
    if text is None:
        return None
    text = text.strip().lower()
    if text.isdecimal():
        number = int(text)
        return None if number in _WEB_PORTS else str(number)
    return text or None


def registry_identity(url: str) -> str:
    """The key of the registry ``url`` names; equal keys mean the same storage."""
    host_text, port_text = _split(_netloc(url))
    host, port = _host(host_text), _port(port_text)
    if port is None:
        return DOCKER_HUB if host in _DOCKER_HUB_ALIASES else host
    return f"{host}:{port}"


def profile_identities(profiles: Iterable[Profile]) -> dict[str, str]:
    """Profile name -> registry identity, for the checks that must see through names."""
    return {profile.name: registry_identity(profile.url) for profile in profiles}
