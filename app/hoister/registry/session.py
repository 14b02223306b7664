"""One registry's HTTP session: URL building, authentication, retries, typed errors.

Everything above this module (catalog, manifests, blobs) states what it wants — method,
path, the scopes it needs, which statuses count as success — and gets back a response or
a :class:`~hoister.registry.errors.RegistryError` that says what went wrong in words.
Connection errors, 429 and 5xx are retried with exponential backoff that honours
``Retry-After``, but only for requests whose body can be sent again.
"""

from __future__ import annotations

import email.utils
import functools
import importlib.util
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from hoister import __version__, jsonlimits
from hoister.credentials import Credential
from hoister.errors import InvalidInput
from hoister.registry.auth import Authenticator
from hoister.registry.errors import (
    BeyondLimits,
    ProtocolError,
    RegistryError,
    Unauthorized,
    Unreachable,
    body_error,
    describe_transport_error,
    error_chain,
    error_for_response,
    speaks_no_tls,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=30.0)
#: Connections one client keeps to its registry, all kept alive between requests: enough
#: for the engine's promotions in flight at once, each copying a few blobs at a time
#: (see :mod:`hoister.engine.pipeline`), so no request waits for a free connection.
DEFAULT_MAX_CONNECTIONS = 32
#: Whether HTTP/2 can be asked for: the ``h2`` package is there (a dependency; a checkout
#: without it still works, over HTTP/1.1). It is negotiated by TLS (ALPN), so a registry
#: that does not offer it, and every plain-HTTP registry (httpx has no h2c), stays on
#: HTTP/1.1. It is off unless asked for (``http2=True``, ``hoister run --http2``):
#: measured against distribution 2.8 over TLS on loopback, httpx's HTTP/2 took twice as
#: long as kept-alive HTTP/1.1 connections for the same promotions (the framing is pure
#: Python, and every stream of a client shares one connection and its locks).
HTTP2_AVAILABLE = importlib.util.find_spec("h2") is not None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failed request."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    statuses: frozenset[int] = field(default=frozenset({429, 500, 502, 503, 504}))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        backoff = min(self.max_delay, self.base_delay * (2**attempt))
        if retry_after is not None:
            return min(self.max_delay, max(retry_after, 0.0))
        return backoff


def retry_after_seconds(
    response: httpx.Response, now: Callable[[], float] = time.time
) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


class _TrustOnFirstHandshake(ssl.SSLContext):
    """The trust httpx builds for ``verify=True`` (``SSL_CERT_FILE``, ``SSL_CERT_DIR``,
    else certifi's bundle), loaded at the first TLS handshake instead of with the client.

    httpx loads the bundle anew for every client, 25 ms on a quiet machine and well over
    100 under load; a plain-HTTP registry never needs it (unless it redirects to HTTPS
    storage, and then it is loaded there), and one process needs it once. A context is
    shared by every client of the process that asks for the same ALPN (httpcore sets the
    protocols on the context before each handshake, so HTTP/1.1-only clients and HTTP/2
    ones each have their own).
    """

    _loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        with _TRUST_LOCK:
            if self._loaded:
                return
            if os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
            elif os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
            else:
                import certifi

                self.load_verify_locations(cafile=certifi.where())
            self._loaded = True

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        self._load()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:  # type: ignore[override]
        self._load()
        return super().wrap_bio(*args, **kwargs)


_TRUST_LOCK = threading.Lock()


@functools.cache
def default_trust(http2: bool) -> ssl.SSLContext:
    """The process's one default TLS context for clients of this ALPN (see above)."""
    return _TrustOnFirstHandshake(ssl.PROTOCOL_TLS_CLIENT)


def _tls_context(verify: bool, ca_file: str | None, http2: bool) -> ssl.SSLContext | bool:
    if not verify:
        return False
    if ca_file:
        try:
            return ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidInput(f"the CA file {ca_file} cannot be used: {exc}") from exc
    return default_trust(http2)


def is_permanent(exc: httpx.TransportError) -> bool:
    """A failure that the same request will meet again at once: TLS spoken to a plain-HTTP
    server (or the reverse), a certificate that does not verify, a name that does not
    exist. Retrying those only makes a person wait seconds for the same sentence."""
    chain = error_chain(exc)
    if any(isinstance(error, ssl.SSLCertVerificationError) for error in chain):
        return True
    if any(isinstance(error, ssl.SSLError) for error in chain) and speaks_no_tls(exc):
        return True  # not an EOF mid-handshake, which a restarting server may cause
    return any(
        isinstance(error, socket.gaierror) and error.errno == socket.EAI_NONAME for error in chain
    )


class RegistrySession:
    """HTTP plumbing for one registry; owns its ``httpx.Client``."""

    def __init__(
        self,
        url: str,
        credential: Credential | None = None,
        *,
        verify: bool = True,
        ca_file: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        http2: bool = False,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput(f"'{url}' is not a registry URL (use https://HOST[:PORT])")
        self.base_url = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._timeout = timeout
        http2 = http2 and HTTP2_AVAILABLE
        self._http = httpx.Client(
            transport=transport,
            verify=_tls_context(verify, ca_file, http2),
            timeout=timeout,
            headers={"User-Agent": f"hoister/{__version__}"},
            # Keep-alive for every connection the pool may open: promotions in flight
            # at once then reuse them instead of paying a new handshake each.
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            http2=http2,
        )
        self.auth = Authenticator(self.host, credential, self._http, clock)

    def close(self) -> None:
        self._http.close()

    def url(self, path: str) -> str:
        """Absolute URL for a registry path or a (possibly relative) Location/Link.

        A URL the registry sent (``Link``, ``Location``) may be malformed, e.g. an
        unclosed IPv6 bracket: that is the registry breaking the protocol.
        """
        try:
            url = urljoin(self.base_url + "/", path)
            urlsplit(url).port  # noqa: B018 - raises for a port that is not a number
        except ValueError as exc:
            raise ProtocolError(
                f"{self.host} sent a malformed URL {path[:200]!r} ({exc})", host=self.host
            ) from None
        return url

    def same_origin(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        return f"{parts.scheme}://{parts.netloc}" == self.base_url

    def send(
        self,
        method: str,
        url: str,
        *,
        scopes: Iterable[str],
        what: str,
        ok: Collection[int] = (200,),
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        content: bytes | None = None,
        stream: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send one request with auth and retries; return it if its status is in ``ok``.

        With ``stream=True`` the caller must close the returned response.
        """
        scopes = list(scopes)
        attempt = 0
        answered_challenge = False
        while True:
            request_headers = dict(headers or {})
            if not any(name.lower() == "authorization" for name in request_headers):
                # a caller's own Authorization (Harbor's API wants Basic) is kept
                request_headers.update(self.auth.headers(scopes))
            try:
                request = self._http.build_request(
                    method, self.url(url), params=params, headers=request_headers, content=content
                )
            except (httpx.InvalidURL, ValueError) as exc:  # UnicodeEncodeError included
                raise ProtocolError(
                    f"cannot send a request to {self.host} while {what}: the URL {url[:200]!r} "
                    f"is malformed ({exc})",
                    host=self.host,
                ) from exc
            try:
                response = self._http.send(
                    request, stream=stream, follow_redirects=follow_redirects
                )
            except (httpx.TooManyRedirects, httpx.DecodingError, httpx.InvalidURL) as exc:
                raise ProtocolError(
                    f"{self.host} answered in a way Hoister cannot follow while {what}: {exc}",
                    host=self.host,
                ) from exc
            except httpx.TransportError as exc:
                if attempt + 1 < self.retry.attempts and not is_permanent(exc):
                    delay = self.retry.delay(attempt)
                    log.info("%s %s failed (%s); retry in %.1fs", method, request.url, exc, delay)
                    self.sleep(delay)
                    attempt += 1
                    continue
                raise Unreachable(
                    describe_transport_error(exc, self.host) + f" (while {what})",
                    host=self.host,
                ) from exc
            log.debug("%s %s -> %s", method, request.url, response.status_code)
            status = response.status_code
            # answer() reads only the headers; the body stays for the error message
            if status == 401 and not answered_challenge and self.auth.answer(response, scopes):
                response.close()
                answered_challenge = True
                continue
            if status in self.retry.statuses and attempt + 1 < self.retry.attempts:
                delay = self.retry.delay(attempt, retry_after_seconds(response))
                response.close()
                log.info("%s %s answered %s; retry in %.1fs", method, request.url, status, delay)
                self.sleep(delay)
                attempt += 1
                continue
            if status in ok:
                return response
            if stream:
                try:
                    response.read()
                except httpx.HTTPError as exc:
                    response.close()
                    raise body_error(
                        exc,
                        f"the {status} answer of {self.host} was cut off while {what}",
                        self.host,
                    ) from exc
            raise self._error(response, what, scopes)

    def _error(self, response: httpx.Response, what: str, scopes: list[str]) -> RegistryError:
        error = error_for_response(response, what, self.host)
        status = response.status_code
        if status in (401, 403) and self.auth.scheme == "bearer":
            refusal = self.auth.explain_refusal(scopes)
            if refusal:
                error = type(error)(
                    f"{status} from {self.host} while {what}: {refusal}",
                    host=self.host,
                    status=status,
                    code=error.code,
                )
        elif status == 401:
            if self.auth.credential is None:
                # The profile may have a user whose password is nowhere to be found
                # (no keyring): say what is missing without claiming there is no user.
                hint = (
                    "the registry needs a login and no password was found for this "
                    "connection; give it a username and password"
                )
            else:
                hint = (
                    f"the registry refused user {self.auth.user}; check the username and password"
                )
            error = Unauthorized(
                f"401 from {self.host} while {what}: {hint}",
                host=self.host,
                status=401,
                code=error.code,
            )
        return error

    def json(self, response: httpx.Response, what: str) -> Any:
        """Decode a JSON body, or say plainly that the answer was not JSON."""
        content_type = response.headers.get("content-type", "")
        try:
            return jsonlimits.loads(response.content, what=f"the answer of {self.host}")
        except jsonlimits.BeyondLimits as exc:
            raise BeyondLimits(
                f"{self.host} answered with JSON Hoister refuses while {what}: it {exc.reason}",
                host=self.host,
                status=response.status_code,
            ) from exc
        except jsonlimits.InvalidJSON as exc:
            if "html" in content_type:
                raise ProtocolError(
                    f"{self.host} answered with an HTML page instead of JSON while {what}; "
                    "is this the registry's API address rather than its web interface?",
                    host=self.host,
                    status=response.status_code,
                ) from exc
            raise ProtocolError(
                f"{self.host} answered with invalid or truncated JSON while {what}",
                host=self.host,
                status=response.status_code,
            ) from exc
