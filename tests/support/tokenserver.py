"""A Docker registry token server for tests, trusted by a real ``docker-registry``.

Hoister's token handling has to be proven against a registry that really verifies
JWTs, so this server signs ES256 tokens with a key whose self-signed certificate the
registry lists in ``rootcertbundle``. It speaks both the GET flow (``/token?scope=``
with optional Basic credentials) and the OAuth2 POST flow (password and refresh-token
grants), applies a small ACL, and records every request so tests can assert what a
client asked for. ``invalid_next`` makes it hand out tokens the registry will refuse,
to exercise "token rejected: fetch a fresh one".

It is written from the distribution token specification; nothing here imports
Hoister, so it can judge Hoister's client independently.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.support.httpserver import LoopbackHTTPServer, QuietHandler

#: (subject, fnmatch pattern, allowed actions). Subject is a user name, "*" for any
#: authenticated user, or "anonymous". For ``repository`` scopes the pattern matches the
#: repository name; for other scope types it matches "TYPE:NAME" (e.g.
#: "registry:catalog"). An allowed action "*" grants whatever was requested.
AclEntry = tuple[str, str, set[str]]

#: Every authenticated user may pull, push and delete anything and list the catalog.
DEFAULT_ACL: list[AclEntry] = [
    ("*", "*", {"pull", "push", "delete"}),
    ("*", "registry:catalog", {"*"}),
]

ANONYMOUS = "anonymous"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _now_iso(epoch: float) -> str:
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.UTC).replace(microsecond=0)
    return stamp.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class SigningKey:
    """An EC P-256 key with a self-signed certificate that is both leaf and root.

    distribution verifies the ``x5c`` chain with ``ExtKeyUsageAny`` against its root
    bundle; a self-signed certificate found in the bundle is a complete chain.
    """

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @classmethod
    def generate(cls, common_name: str) -> SigningKey:
        """Create a fresh key and a certificate valid from an hour ago for a day."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def pem(self) -> bytes:
        """Certificate as PEM, the format ``rootcertbundle`` expects."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        """Return a compact ES256 JWS; JOSE wants raw r||s, not the DER cryptography emits."""
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "ES256", "x5c": [base64.b64encode(der).decode("ascii")]}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
        )
        r, s = decode_dss_signature(
            self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@dataclass
class TokenRequest:
    """One request the token server answered, kept so tests can assert on client behaviour."""

    method: str
    username: str | None
    scopes: list[str]
    granted: list[dict[str, Any]]
    token: str | None
    service: str | None = None
    grant_type: str | None = None
    account: str | None = None
    status: int = 200


@dataclass
class _Grant:
    """What one request asked for, after authentication."""

    method: str
    username: str | None
    scopes: list[str]
    service: str | None
    grant_type: str | None = None
    account: str | None = None
    offline: bool = False


class _TokenHandler(QuietHandler):
    server: Any

    def do_GET(self) -> None:
        """Classic token flow: query parameters plus optional Basic credentials."""
        url = urlsplit(self.path)
        if url.path != "/token":
            self.send_body(404, b"not found\n", "text/plain")
            return
        self.server.owner._handle_get(self, parse_qs(url.query))

    def do_POST(self) -> None:
        """OAuth2 flow: form-encoded grant_type=password|refresh_token."""
        if urlsplit(self.path).path != "/token":
            self.send_body(404, b"not found\n", "text/plain")
            return
        form = parse_qs(self.read_body().decode("utf-8"), keep_blank_values=True)
        self.server.owner._handle_post(self, form)


class TokenServer(LoopbackHTTPServer):
    """Issues registry JWTs; see the module docstring for why it exists."""

    handler_class = _TokenHandler
    thread_name = "test-token-server"

    def __init__(
        self,
        users: dict[str, str] | None = None,
        acl: list[AclEntry] | None = None,
        *,
        allow_anonymous_pull: bool = False,
        token_ttl: int = 300,
        service: str = "hoister-test-registry",
        issuer: str = "hoister-test-issuer",
        workdir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.users = dict(users or {})
        self.acl: list[AclEntry] = list(DEFAULT_ACL if acl is None else acl)
        if allow_anonymous_pull:
            self.acl.append((ANONYMOUS, "*", {"pull"}))
        self.token_ttl = token_ttl
        self.service = service
        self.issuer = issuer
        self.clock = clock
        #: While > 0, tokens are signed by an untrusted key (decremented per token).
        self.invalid_next = 0
        self.requests: list[TokenRequest] = []
        self.issued: list[str] = []
        self.refresh_tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="tokenserver-")) if workdir is None else workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.key = SigningKey.generate(issuer)
        self.untrusted_key = SigningKey.generate(f"{issuer}-untrusted")
        self.bundle_path = self.workdir / "token-rootcerts.pem"
        self.bundle_path.write_bytes(self.key.pem)

    @property
    def realm(self) -> str:
        """The URL the registry sends clients to (needs the server started)."""
        if not self.port:
            raise RuntimeError("TokenServer.realm is only known after start()")
        return f"{self.url}/token"

    def stop(self) -> None:
        """Stop serving and remove the temporary directory if we created it."""
        super().stop()
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def clear(self) -> None:
        """Forget recorded requests and tokens (not users, ACL or knobs)."""
        with self._lock:
            self.requests.clear()
            self.issued.clear()

    # -- authorisation -------------------------------------------------------------

    def allowed_actions(self, username: str | None, resource_type: str, name: str) -> set[str]:
        """Union of the actions the ACL grants ``username`` (None = anonymous) on a resource."""
        target = name if resource_type == "repository" else f"{resource_type}:{name}"
        allowed: set[str] = set()
        for subject, pattern, actions in self.acl:
            applies = subject == ANONYMOUS if username is None else subject in ("*", username)
            if applies and fnmatch.fnmatchcase(target, pattern):
                allowed |= actions
        return allowed

    def grant(self, username: str | None, scopes: Iterable[str]) -> list[dict[str, Any]]:
        """Requested ∩ allowed per scope; scopes granting nothing are left out."""
        access: list[dict[str, Any]] = []
        for scope in scopes:
            resource_type, name, actions = parse_scope(scope)
            allowed = self.allowed_actions(username, resource_type, name)
            granted = actions if "*" in allowed else [a for a in actions if a in allowed]
            if granted:
                access.append({"type": resource_type, "name": name, "actions": granted})
        return access

    # -- request handling ----------------------------------------------------------

    def _handle_get(self, handler: _TokenHandler, query: dict[str, list[str]]) -> None:
        username: str | None = None
        header = handler.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user, password = "", ""
            if self.users.get(user) != password or not user:
                self._reject(handler, "GET", user or None, query.get("scope", []))
                return
            username = user
        request = _Grant(
            method="GET",
            username=username,
            scopes=[s for s in query.get("scope", []) if s],
            service=_first(query, "service"),
            account=_first(query, "account"),
            offline=(_first(query, "offline_token") or "").lower() == "true",
        )
        self._issue(handler, request)

    def _handle_post(self, handler: _TokenHandler, form: dict[str, list[str]]) -> None:
        def one(name: str) -> str | None:
            return _first(form, name)

        grant_type = one("grant_type")
        scopes = (one("scope") or "").split()
        username: str | None
        if grant_type == "password":
            username = one("username")
            if not username or self.users.get(username) != one("password"):
                self._reject(handler, "POST", username, scopes, grant_type)
                return
        elif grant_type == "refresh_token":
            with self._lock:
                username = self.refresh_tokens.get(one("refresh_token") or "")
            if username is None:
                self._reject(handler, "POST", None, scopes, grant_type)
                return
        else:
            body = json.dumps({"error": "unsupported_grant_type"}).encode()
            handler.send_body(400, body, "application/json")
            return
        request = _Grant(
            method="POST",
            username=username,
            scopes=scopes,
            service=one("service"),
            grant_type=grant_type,
            offline=grant_type == "password",
        )
        self._issue(handler, request)

    def _reject(
        self,
        handler: _TokenHandler,
        method: str,
        username: str | None,
        scopes: list[str],
        grant_type: str | None = None,
    ) -> None:
        """401 like Docker's token servers: JSON error body plus a Basic challenge."""
        with self._lock:
            self.requests.append(
                TokenRequest(method, username, list(scopes), [], None, None, grant_type, None, 401)
            )
        body = {
            "errors": [
                {"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}
            ]
        }
        handler.send_body(
            401,
            json.dumps(body).encode(),
            "application/json",
            {"WWW-Authenticate": 'Basic realm="hoister-test-token-server"'},
        )

    def _issue(self, handler: _TokenHandler, request: _Grant) -> None:
        try:
            access = self.grant(request.username, request.scopes)
        except ValueError as exc:
            body = json.dumps({"error": "invalid_scope", "error_description": str(exc)})
            handler.send_body(400, body.encode(), "application/json")
            return
        now = self.clock()
        claims = {
            "iss": self.issuer,
            "sub": request.username or "",
            "aud": request.service or self.service,
            "exp": int(now) + self.token_ttl,
            "nbf": int(now) - 1,
            "iat": int(now),
            "jti": secrets.token_hex(16),
            "access": access,
        }
        with self._lock:
            key = self.key
            if self.invalid_next > 0:
                self.invalid_next -= 1
                key = self.untrusted_key
            token = key.sign_jwt(claims)
            reply: dict[str, Any] = {
                "token": token,
                "access_token": token,
                "expires_in": self.token_ttl,
                "issued_at": _now_iso(now),
            }
            if request.offline and request.username is not None:
                refresh = secrets.token_urlsafe(24)
                self.refresh_tokens[refresh] = request.username
                reply["refresh_token"] = refresh
            self.issued.append(token)
            self.requests.append(
                TokenRequest(
                    method=request.method,
                    username=request.username,
                    scopes=list(request.scopes),
                    granted=access,
                    token=token,
                    service=request.service,
                    grant_type=request.grant_type,
                    account=request.account,
                )
            )
        handler.send_body(200, json.dumps(reply).encode(), "application/json")


def _first(values: dict[str, list[str]], name: str) -> str | None:
    """First value of a parsed query/form field, None when absent."""
    found = values.get(name)
    return found[0] if found else None


def parse_scope(scope: str) -> tuple[str, str, list[str]]:
    """Split ``type:name:actions``; the name may itself contain colons (``host:port/x``)."""
    resource_type, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep and sep2 and resource_type and name):
        raise ValueError(f"malformed scope {scope!r}")
    return resource_type, name, [a for a in actions.split(",") if a]


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """Claims of a JWT without verifying it: for assertions on what was issued."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_REPO_IN_PATH = re.compile(r"^/v2/(.+?)/(?:blobs|manifests|tags|referrers)/")


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split a WWW-Authenticate header into its scheme and quoted parameters."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(rest))


class TokenAuth(httpx.Auth):
    """Minimal independent client side of the token flow, for the push helpers.

    Tokens are cached per repository so thread-pooled pushes to many repositories do
    not keep evicting each other. A 401 Bearer challenge triggers one token fetch (all
    scopes of the challenge as separate ``scope`` parameters) and one retry; a Basic
    challenge is answered with the same credentials.
    """

    requires_response_body = True

    def __init__(self, username: str | None = None, password: str | None = None) -> None:
        self.username = username
        self.password = password
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def _key(self, request: httpx.Request) -> str:
        match = _REPO_IN_PATH.match(request.url.path)
        return match.group(1) if match else ""

    def _basic(self) -> str:
        raw = f"{self.username or ''}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send, and on a challenge authenticate and resend once."""
        key = self._key(request)
        with self._lock:
            cached = self._tokens.get(key)
        if cached:
            request.headers["Authorization"] = f"Bearer {cached}"
        response = yield request
        if response.status_code != 401:
            return
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic" and self.username is not None:
            request.headers["Authorization"] = self._basic()
            yield request
            return
        if scheme != "bearer" or "realm" not in params:
            return
        query: list[tuple[str, str | int | float | bool | None]] = []
        if "service" in params:
            query.append(("service", params["service"]))
        query.extend(("scope", s) for s in params.get("scope", "").split() if s)
        token_request = httpx.Request("GET", params["realm"], params=query)
        if self.username is not None:
            token_request.headers["Authorization"] = self._basic()
        token_response = yield token_request
        if token_response.status_code != 200:
            return
        body = token_response.json()
        token = body.get("token") or body.get("access_token")
        with self._lock:
            self._tokens[key] = token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request
