"""Blob uploads: whole or chunked uploads of data Hoister has, and the session primitives
that :mod:`hoister.engine.transfer` streams through.

Two ways in. :meth:`UploadOps.upload_blob` takes bytes or chunks it can read again and
starts a failed upload over in a fresh session. The primitives (:meth:`start_upload`,
:meth:`send_part`, :meth:`upload_offset`, :meth:`cancel_upload_session`) let a caller
send a body it is still downloading and, when a part breaks, ask the session where it
stands and carry on from there. A streamed part has a known length, so it goes with
``Content-Length`` (and ``Content-Range`` on a PATCH) like any spec upload: registries
that refuse ``Transfer-Encoding: chunked`` take it too.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, cast

import httpx

from hoister.registry.auth import repository_scope
from hoister.registry.errors import (
    DigestMismatch,
    NotFound,
    ProtocolError,
    RegistryError,
    ServerError,
    TooManyRequests,
    Unreachable,
)

if TYPE_CHECKING:
    from hoister.registry.session import RegistrySession

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
Progress = Callable[[int], None]
_RANGE = re.compile(r"^\s*(?:bytes=)?0-(\d+)\s*$")


def cancel_upload(session: RegistrySession, repository: str, location: str, what: str) -> None:
    """Best effort: an abandoned session is garbage-collected by the registry anyway."""
    with contextlib.suppress(RegistryError):
        session.send(
            "DELETE",
            location,
            scopes=[repository_scope(repository, "pull", "push")],
            what=what,
            ok=(200, 202, 204, 404),
        )


class BodySpent(Exception):
    """A streamed body was asked for a second time.

    The session retries a request whose connection broke or whose answer was a 5xx or a
    401 challenge by sending the same body again; a streamed body cannot be, because its
    bytes were read from a download and are gone. Raised from inside the send, it ends
    the request and tells the caller to ask the upload session where it stands.
    """


class OnceBody:
    """An upload body that can be iterated once (see :class:`BodySpent`)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._used = False

    def __iter__(self) -> Iterator[bytes]:
        if self._used:
            raise BodySpent("the streamed part cannot be sent twice")
        self._used = True
        return iter(self._chunks)


class UploadOps:
    """Upload operations, mixed into :class:`~hoister.registry.client.RegistryClient`."""

    session: RegistrySession

    def upload_blob(
        self,
        repository: str,
        digest: str,
        data: bytes | Iterable[bytes] | Callable[[], Iterable[bytes]],
        *,
        chunk_size: int | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Upload a blob and return its digest as the registry stored it.

        ``bytes`` go up in one PUT unless ``chunk_size`` is given; chunks go up in
        PATCHes of ``chunk_size``. A failed upload is started again from the first byte,
        which needs ``bytes`` or a callable that reopens the stream; a plain iterator is
        tried once. (Streaming from another registry, with resume, is
        :func:`hoister.engine.transfer.stream_blob`.)
        """
        restartable = isinstance(data, bytes) or callable(data)
        attempts = self.session.retry.attempts if restartable else 1
        for attempt in range(attempts):
            source = data() if callable(data) else data
            try:
                return self._upload_once(repository, digest, source, chunk_size, progress)
            except RegistryError as exc:
                if attempt + 1 >= attempts or not restart_helps(exc):
                    raise
                delay = self.session.retry.delay(attempt)
                log.info(
                    "upload of %s to %s failed (%s); again in %.1fs", digest, repository, exc, delay
                )
                self.session.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _upload_once(
        self,
        repository: str,
        digest: str,
        data: bytes | Iterable[bytes],
        chunk_size: int | None,
        progress: Progress | None,
    ) -> str:
        location = self.start_upload(repository, digest)
        try:
            if isinstance(data, bytes) and chunk_size is None:
                stored = self.send_part(repository, location, data, 0, len(data), digest)
                if progress:
                    progress(len(data))
                return stored
            pieces = [data] if isinstance(data, bytes) else data
            offset = 0
            for chunk in _rechunk(pieces, chunk_size or DEFAULT_CHUNK_SIZE):
                location = self.send_part(repository, location, chunk, offset, len(chunk))
                offset += len(chunk)
                if progress:
                    progress(offset)
            return self.send_part(repository, location, b"", offset, 0, digest)
        except BaseException:
            self._cancel_upload(repository, location)
            raise

    # -- session primitives ----------------------------------------------------------

    def start_upload(self, repository: str, digest: str) -> str:
        """Open an upload session; return its absolute Location."""
        response = self.session.send(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=[repository_scope(repository, "pull", "push")],
            what=f"starting the upload of {digest} to {repository}",
            ok=(202,),
        )
        return self._location(response)

    def _location(self, response: httpx.Response) -> str:
        """The absolute Location of the upload session a 202 opened."""
        location = response.headers.get("location")
        if not location:
            raise ProtocolError(
                f"{self.session.host} started an upload without a Location header",
                host=self.session.host,
            )
        return self.session.url(location)

    def send_part(
        self,
        repository: str,
        location: str,
        body: bytes | Iterable[bytes],
        start: int,
        length: int,
        digest: str | None = None,
    ) -> str:
        """Send ``length`` bytes at ``start``; a PATCH, or with ``digest`` the closing PUT.

        Returns the Location for the next request (PATCH) or the digest the registry
        stored (PUT). ``body`` may be an iterable of chunks fed by a download: pass a
        :class:`OnceBody` so that a retry inside the session ends in :class:`BodySpent`
        instead of an empty resend.
        """
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        if digest is None and length:
            headers["Content-Range"] = f"{start}-{start + length - 1}"
        url = location
        if digest is not None:
            url = str(httpx.URL(location).copy_merge_params({"digest": digest}))
        # The session's hint says bytes; httpx sends any iterable of bytes, as it comes.
        content = cast("bytes", body)
        response = self.session.send(
            "PUT" if digest is not None else "PATCH",
            url,
            scopes=[repository_scope(repository, "pull", "push")],
            what=(
                f"finishing the upload of {digest} to {repository}"
                if digest is not None
                else f"uploading to {repository}"
            ),
            ok=(201, 204) if digest is not None else (202, 204),
            headers=headers,
            content=content,
        )
        if digest is None:
            return self.session.url(response.headers.get("location") or location)
        stored = response.headers.get("docker-content-digest") or digest
        if stored != digest:
            raise DigestMismatch(
                f"{self.session.host} stored the upload as {stored}, not {digest}",
                host=self.session.host,
            )
        return stored

    def upload_offset(self, repository: str, location: str) -> tuple[int, str] | None:
        """How many bytes the session holds, and its Location now; None if it is gone.

        ``Range: 0-N`` means N+1 bytes. distribution writes ``0-0`` for an empty session
        as well as for one byte; that answer is read as "nothing usable" (None), because
        resuming at the wrong one of the two would only fail at the final digest check.
        distribution also cancels a session whose bytes differ from what its Location
        says (a part that arrived halfway), which is the None of a session gone.
        """
        try:
            response = self.session.send(
                "GET",
                location,
                scopes=[repository_scope(repository, "pull", "push")],
                what=f"asking where the upload to {repository} stands",
                ok=(204, 200),
            )
        except NotFound:
            return None
        except RegistryError as exc:
            if exc.code in ("BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN") or exc.status == 416:
                return None
            raise
        match = _RANGE.match(response.headers.get("range", ""))
        if match is None or match.group(1) == "0":
            return None
        new_location = self.session.url(response.headers.get("location") or location)
        return int(match.group(1)) + 1, new_location

    def cancel_upload_session(self, repository: str, location: str) -> None:
        """Drop a session that will not be finished (best effort)."""
        self._cancel_upload(repository, location)

    def _cancel_upload(self, repository: str, location: str) -> None:
        cancel_upload(self.session, repository, location, f"cancelling an upload to {repository}")


def restart_helps(exc: RegistryError) -> bool:
    """Failures a fresh upload session can get past (not a wrong digest or a refusal)."""
    return (
        isinstance(exc, (Unreachable, ServerError, TooManyRequests))
        or exc.code in ("BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN")
        or exc.status == 416
    )


def _rechunk(parts: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup arbitrary pieces into chunks of ``size`` (the last one may be shorter)."""
    buffer = bytearray()
    for part in parts:
        buffer.extend(part)
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
