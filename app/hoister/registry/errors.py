"""Typed registry errors that carry the registry's own code and a sentence to act on.

Every failure names the host, the HTTP status and the registry's error code where there
is one, because "it didn't work" is useless to someone who has to fix a permission or a
URL; callers catch the subclass they can handle (``NotFound`` during browsing,
``Unauthorized`` to ask for a password) and show the rest as they are.
"""

from __future__ import annotations

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
