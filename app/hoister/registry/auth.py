"""Registry authentication: Basic, and the Bearer token challenge flow with scopes.

A registry says how it wants to be authenticated in the ``WWW-Authenticate`` header of a
401. For Bearer, the client asks the token server named there (``realm``) for a token
valid for the scopes an operation needs — a cross-repository mount needs two at once —
caches it until shortly before it expires, and asks for a fresh one when the registry
rejects it. Tokens and passwords never leave this module except in ``Authorization``
headers, and are never logged.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from hoister import jsonlimits
from hoister.credentials import Credential
from hoister.registry.errors import (
    ProtocolError,
    Unauthorized,
    Unreachable,
    describe_transport_error,
    registry_errors,
)

#: What a token may hold to travel in an ``Authorization`` header: visible ASCII, no spaces.
_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
_PARAM_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')


@dataclass(frozen=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> list[str]:
        return self.params.get("scope", "").split()


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse ``Bearer realm="...",service="...",scope="..."`` or ``Basic realm="..."``."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for key, raw in _PARAM_RE.findall(rest):
        value = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
        params[key.lower()] = value
    return Challenge(scheme.lower(), params)


def repository_scope(name: str, *actions: str) -> str:
    return f"repository:{name}:{','.join(actions)}"


CATALOG_SCOPE = "registry:catalog:*"


def merge_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Combine scopes on the same resource (``pull`` + ``push`` -> ``pull,push``), sorted."""
    merged: dict[tuple[str, str], list[str]] = {}
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        bucket = merged.setdefault((kind, name), [])
        for action in actions.split(","):
            if action and action not in bucket:
                bucket.append(action)
    return tuple(
        sorted(
            f"{kind}:{name}:{','.join(sorted(actions))}" for (kind, name), actions in merged.items()
        )
    )


def _granted_scopes(token: str) -> set[str] | None:
    """What a JWT token grants, as single-action scopes; None if it is opaque."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = jsonlimits.loads(base64.urlsafe_b64decode(payload), what="a token's claims")
        access = claims.get("access")
    except (ValueError, TypeError, AttributeError):
        return None
    if not isinstance(access, list):
        return None
    granted = set()
    for entry in access:
        if isinstance(entry, dict):
            for action in entry.get("actions") or []:
                granted.add(f"{entry.get('type')}:{entry.get('name')}:{action}")
    return granted


@dataclass
class _Token:
    value: str = field(repr=False)
    expires_at: float
    granted: set[str] | None


class Authenticator:
    """Adds ``Authorization`` headers and answers 401 challenges for one registry.

    Thread-safe: browse workers share a client, so the token cache is locked.
    """

    #: Seconds before a token's expiry at which it is no longer used.
    EXPIRY_MARGIN = 10.0

    def __init__(
        self,
        host: str,
        credential: Credential | None,
        http: httpx.Client,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.credential = credential
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._scheme: str | None = None
        self._challenge: Challenge | None = None
        self._tokens: dict[tuple[str, ...], _Token] = {}
        #: How many tokens were fetched from the token server (tests and metrics).
        self.token_requests = 0

    @property
    def user(self) -> str:
        return self.credential.username if self.credential else "anonymous"

    @property
    def scheme(self) -> str | None:
        """'basic', 'bearer' or None until the registry has asked for credentials."""
        return self._scheme

    def headers(self, scopes: Iterable[str]) -> dict[str, str]:
        """Headers to send before the registry asks, from what earlier challenges taught."""
        if self._scheme == "basic" and self.credential is not None:
            return {"Authorization": self._basic_value()}
        if self._scheme == "bearer":
            token = self._cached(merge_scopes(scopes))
            if token is None:
                token = self._fetch(merge_scopes(scopes))
            return {"Authorization": f"Bearer {token.value}"}
        return {}

    def answer(self, response: httpx.Response, scopes: Iterable[str]) -> bool:
        """Learn from a 401; True when retrying with fresh credentials may succeed."""
        challenge = parse_challenge(response.headers.get("www-authenticate"))
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            if self.credential is None or self._scheme == "basic":
                return False
            self._scheme = "basic"
            return True
        if challenge.scheme != "bearer" or not challenge.realm:
            return False
        with self._lock:
            self._scheme = "bearer"
            self._challenge = challenge
        scopes = list(scopes)
        token = self._fetch(merge_scopes([*scopes, *challenge.scopes]))
        # The retry asks for the operation's own scopes: the broader token serves them.
        with self._lock:
            self._tokens[merge_scopes(scopes)] = token
        return True

    def explain_refusal(self, scopes: Iterable[str]) -> str | None:
        """Say which requested scopes the token server did not grant, if it tells."""
        wanted = merge_scopes(scopes)
        with self._lock:
            token = self._tokens.get(wanted)
        if token is None or token.granted is None:
            return None
        missing = []
        for scope in wanted:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            lacking = [a for a in actions.split(",") if f"{kind}:{name}:{a}" not in token.granted]
            if lacking:
                missing.append(f"{kind}:{name}:{','.join(lacking)}")
        if not missing:
            return None
        return f"the token server refused user {self.user} for {' and '.join(missing)}"

    def granted(self, scopes: Iterable[str]) -> set[str] | None:
        """What the token server grants for ``scopes``, as single-action scopes.

        A token server answers a request for more than a user may do with a token for
        the part it allows (it does not refuse), and a JWT lists that part in its
        ``access`` claim: so the grant can be read without touching the registry.
        None when it cannot tell: Basic or anonymous registries, opaque tokens, or no
        bearer challenge seen yet.
        """
        if self._scheme != "bearer" or self._challenge is None:
            return None
        wanted = merge_scopes(scopes)
        token = self._cached(wanted) or self._fetch(wanted)
        return None if token.granted is None else set(token.granted)

    def forget(self) -> None:
        """Drop cached tokens (after the credential changed)."""
        with self._lock:
            self._tokens.clear()

    # -- internals -------------------------------------------------------------------

    def _basic_value(self) -> str:
        assert self.credential is not None
        pair = f"{self.credential.username}:{self.credential.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def _cached(self, scopes: tuple[str, ...]) -> _Token | None:
        with self._lock:
            token = self._tokens.get(scopes)
            if token is not None and self._clock() < token.expires_at:
                return token
        return None

    def _fetch(self, scopes: tuple[str, ...]) -> _Token:
        challenge = self._challenge
        assert challenge is not None
        try:
            realm_host = urlsplit(challenge.realm).netloc or challenge.realm
        except ValueError:  # e.g. an unclosed IPv6 bracket
            realm_host = challenge.realm[:200]
        params: list[tuple[str, str]] = []
        if challenge.service:
            params.append(("service", challenge.service))
        cred = self.credential
        try:
            if cred is not None and cred.kind == "identitytoken":
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": cred.secret,
                    "client_id": "hoister",
                    "scope": " ".join(scopes),
                    **dict(params),
                }
                response = self._http.post(challenge.realm, data=form)
            else:
                params.extend(("scope", s) for s in scopes)
                if cred is not None:
                    params.append(("account", cred.username))
                headers = {"Authorization": self._basic_value()} if cred is not None else {}
                response = self._http.get(challenge.realm, params=params, headers=headers)
        except httpx.TransportError as exc:
            raise Unreachable(
                f"the token server of {self.host} could not be reached: "
                + describe_transport_error(exc, realm_host),
                host=realm_host,
            ) from exc
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            # A realm that is no URL, redirects without end, a body that cannot be decoded.
            raise ProtocolError(
                f"the token server {realm_host} named by {self.host} cannot be used: {exc}",
                host=self.host,
            ) from exc
        self.token_requests += 1
        if response.status_code in (401, 403):
            reasons = "; ".join(
                str(e.get("message") or e.get("code")) for e in registry_errors(response)
            )
            raise Unauthorized(
                f"{response.status_code} from {self.host}: the token server {realm_host} refused "
                f"the login of user {self.user}"
                + (f" ({reasons})" if reasons else "")
                + " — check the username and password",
                host=self.host,
                status=response.status_code,
                code="UNAUTHORIZED",
            )
        if response.status_code != 200:
            raise ProtocolError(
                f"the token server {realm_host} of {self.host} answered {response.status_code} "
                f"{response.reason_phrase}",
                host=realm_host,
                status=response.status_code,
            )
        try:
            body = jsonlimits.loads(response.content, what="the token answer")
            value = body.get("token") or body.get("access_token")
            expires_in = float(body.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as exc:
            raise ProtocolError(
                f"the token server {realm_host} of {self.host} answered something that is not "
                "a token (invalid JSON)",
                host=realm_host,
            ) from exc
        if not isinstance(value, str) or not value:
            raise ProtocolError(
                f"the token server {realm_host} of {self.host} answered without a token",
                host=realm_host,
            )
        if _TOKEN_RE.fullmatch(value) is None:
            # It goes into an HTTP header: control characters or non-ASCII cannot be sent.
            raise ProtocolError(
                f"the token server {realm_host} of {self.host} answered a token with characters "
                "an HTTP header cannot carry",
                host=realm_host,
            )
        lifetime = max(expires_in - self.EXPIRY_MARGIN, expires_in / 2)
        token = _Token(value, self._clock() + lifetime, _granted_scopes(value))
        with self._lock:
            self._tokens[scopes] = token
        return token
