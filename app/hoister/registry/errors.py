"""Typed registry errors that carry the registry's own code and a sentence to act on.

Every failure names the host, the HTTP status and the registry's error code where there
is one, because "it didn't work" is useless to someone who has to fix a permission or a
URL; callers catch the subclass they can handle (``NotFound`` during browsing,
``Unauthorized`` to ask for a password) and show the rest as they are.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from typing import Any

import httpx

from hoister import jsonlimits
from hoister.errors import HoisterError


class RegistryError(HoisterError):
    """A registry answered with an error, or could not be talked to."""

    def __init__(
        self,
        message: str,
        *,
        host: str = "",
        status: int | None = None,
        code: str | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.host = host
        self.status = status
        self.code = code
        self.detail = detail


class Unreachable(RegistryError):
    """No HTTP answer at all: DNS, refused connection, TLS failure, timeout."""


class ProtocolError(RegistryError):
    """An answer that is not what the protocol promises (HTML, truncated JSON, bad link)."""


class Unauthorized(RegistryError):
    """401: no credentials, wrong credentials, or a token without the needed scope."""


class Denied(RegistryError):
    """403: the credentials are known but not allowed to do this."""


class NotFound(RegistryError):
    """404: the repository, manifest or blob does not exist."""


class Unsupported(RegistryError):
    """405 or UNSUPPORTED: the registry does not offer this operation (e.g. delete)."""


class TooManyRequests(RegistryError):
    """429 after every retry."""


class ServerError(RegistryError):
    """5xx after every retry."""


class DigestMismatch(RegistryError):
    """Bytes whose sha256 differs from the digest they were asked or announced for."""


class BeyondLimits(ProtocolError):
    """An answer Hoister refuses by its own limits (nesting, pages, index depth): the
    same answer will come again, so retrying is pointless."""


class PaginationLoop(BeyondLimits):
    """A ``Link`` header that leads back to a page already read."""


def content_length(response: httpx.Response) -> int | None:
    """The declared ``Content-Length``, or None when absent or not a plain number."""
    value = response.headers.get("content-length", "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def body_error(exc: httpx.HTTPError, message: str, host: str) -> RegistryError:
    """The typed error for a failure while reading an answer's body.

    A connection that drops or stalls mid-body is :class:`Unreachable` (a fresh attempt
    may succeed); a body that breaks HTTP itself (bad chunking, bad gzip) is a
    :class:`ProtocolError`.
    """
    cls = (
        Unreachable
        if isinstance(exc, httpx.TimeoutException | httpx.NetworkError)
        else ProtocolError
    )
    return cls(f"{message}: {exc or type(exc).__name__}", host=host)


_STATUS_CLASSES: dict[int, type[RegistryError]] = {
    401: Unauthorized,
    403: Denied,
    404: NotFound,
    405: Unsupported,
    429: TooManyRequests,
}


def registry_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``errors`` list of a registry error body, or [] when the body has none."""
    try:
        body = jsonlimits.loads(response.content or b"null", what="an error body")
    except (ValueError, httpx.HTTPError):  # not JSON, or a body that was never read
        return []
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [e for e in body["errors"] if isinstance(e, dict)]
    return []


def error_for_response(response: httpx.Response, what: str, host: str) -> RegistryError:
    """Build the typed error for a failed ``response`` to the operation ``what``.

    ``what`` completes the sentence "<status> from <host> while <what>", e.g.
    "listing tags of dev/website".
    """
    status = response.status_code
    errors = registry_errors(response)
    first = errors[0] if errors else {}
    code = str(first.get("code")) if first.get("code") else None
    reason = "; ".join(
        str(e.get("message") or e.get("code")) for e in errors if e.get("message") or e.get("code")
    )
    if not reason:
        reason = response.reason_phrase or "no reason given"
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else RegistryError
    if code == "UNSUPPORTED":
        cls = Unsupported
    label = f"{status} {code}" if code else str(status)
    message = f"{label} from {host} while {what}: {reason}"
    return cls(message, host=host, status=status, code=code, detail=first.get("detail"))


# -- failures below HTTP -------------------------------------------------------------------

_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\]\s*")
_SSL_NOISE = re.compile(r"\[SSL(: [A-Z_]+)?\]\s*|\s*\(_ssl\.c:\d+\)")


def error_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps (httpx → httpcore → the socket's own OSError)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _plain(text: str) -> str:
    """An OS or OpenSSL message without its codes ("[Errno 111]", "(_ssl.c:1000)")."""
    return _SSL_NOISE.sub("", _ERRNO_TEXT.sub("", text)).strip()


def describe_transport_error(exc: BaseException, host: str) -> str:
    """A sentence for a failure below HTTP that says what happened and what to try.

    People read these in the app's status line and in the CLI's one-line errors, so an
    errno ("[Errno 111]") or an OpenSSL code is turned into what it means: nothing
    listening, a name that does not resolve, a server that does not speak TLS. The
    cause is found in the chain httpx keeps (``ConnectError`` from httpcore from the
    socket's ``OSError``), not by parsing English, where possible.
    """
    chain = error_chain(exc)
    text = " ".join(str(error) for error in chain)
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if any(isinstance(error, httpx.TimeoutException | TimeoutError) for error in chain):
        return f"{host} did not answer in time; check the address and the network, or try again"
    if any(isinstance(error, ConnectionRefusedError) for error in chain):
        return f"Nothing is listening on {host}; is the registry running and the port right?"
    if any(isinstance(error, socket.gaierror) for error in chain):
        gai = next(error for error in chain if isinstance(error, socket.gaierror))
        if gai.errno == socket.EAI_AGAIN:
            return f"the host name {hostname} could not be looked up now; is the network up?"
        return f"{hostname}: host name not found; check the spelling of the registry address"
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        reason = text.partition("certificate verify failed:")[2].split("(_ssl")[0].strip()
        return (
            f"the TLS certificate of {host} could not be verified"
            + (f" ({reason})" if reason else "")
            + "; give the connection the registry's CA file (--ca-file), or turn off "
            "verification (--insecure) for a test registry"
        )
    if speaks_no_tls(exc):
        return (
            f"TLS handshake with {host} failed: the server may speak plain HTTP — try http://{host}"
        )
    if any(isinstance(error, ssl.SSLError) for error in chain):
        ssl_error = next(error for error in chain if isinstance(error, ssl.SSLError))
        return f"TLS handshake with {host} failed ({_plain(str(ssl_error)) or 'no reason given'})"
    for error in chain:
        if isinstance(error, OSError) and error.errno in _ERRNO_SENTENCES:
            return _ERRNO_SENTENCES[error.errno].format(host=host)
    if isinstance(exc, httpx.RemoteProtocolError) or "without sending a response" in text:
        return f"{host} closed the connection without answering; is it a registry?"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host} ({_plain(str(exc)) or type(exc).__name__})"
    return f"the connection to {host} failed ({_plain(str(exc)) or type(exc).__name__})"


def speaks_no_tls(exc: BaseException) -> bool:
    """Whether OpenSSL says the other side answered our TLS hello with something else."""
    text = " ".join(str(error) for error in error_chain(exc))
    return any(marker in text for marker in _NOT_TLS_MARKERS)


#: What OpenSSL says when the other side answered a TLS hello with something else.
_NOT_TLS_MARKERS = (
    "WRONG_VERSION_NUMBER",
    "wrong version number",
    "record layer failure",
    "http request",
    "HTTP_REQUEST",
    "packet length too long",
    "unknown protocol",
)

_ERRNO_SENTENCES = {
    errno.ENETUNREACH: "no route to {host}: the network is unreachable",
    errno.EHOSTUNREACH: "no route to {host}: the host is unreachable",
    errno.ECONNRESET: "{host} reset the connection; is it a registry, and is the scheme right?",
    errno.ECONNABORTED: "the connection to {host} was aborted; try again",
    errno.EPIPE: "{host} closed the connection; try again",
}
